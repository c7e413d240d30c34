/* fuzz_common.c - see fuzz_common.h. */
#include "tests/fuzz/fuzz_common.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fz_machine_up(struct machine *m, const char *kernel)
{
	fz_machine_up_irqchip(m, kernel, IRQCHIP_USER);
}

void fz_machine_up_irqchip(struct machine *m, const char *kernel, enum irqchip_mode mode)
{
	struct machine_config cfg = {
		.kernel = kernel ? kernel : "",
		.ram_size = FZ_RAM,
		.cmdline = "",
		.serial = "none",
		.irqchip = mode,
	};

	/* Every run allocates and frees 1 MiB record buffers: keep them in
	 * the heap instead of a fresh mmap each time (no effect under ASan). */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (machine_create(m, &cfg)) {
		fprintf(stderr, "fuzz: cannot build the machine on the fake KVM\n");
		exit(1);
	}
	fz_unblock_signals();
	machine_pause(m);
}

void fz_start_stop(struct machine *m)
{
	machine_start(m);
	machine_pause(m);
}

void fz_unblock_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

size_t fz_split(const void *file, size_t len, struct fz_unit *u, size_t max)
{
	ssm_handle *h = NULL;
	ssm_file_info fi;
	ssm_stream st;
	size_t n = 0;

	if (ssm_stream_mem_reader(&st, file, len) || ssm_open(st, &h) ||
	    ssm_file_info_get(h, &fi)) {
		ssm_close(h);
		return 0;
	}
	for (uint32_t i = 0; i < fi.unit_count && n < max; i++) {
		ssm_unit_info ui;
		bool dup = false;

		if (ssm_unit_info_get(h, i, &ui))
			break;
		/* Live files hold a unit once per pass; seek finds the last. */
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(u[j].name, ui.name) && u[j].instance == ui.instance;
		if (dup)
			continue;
		memset(&u[n], 0, sizeof(u[n]));
		snprintf(u[n].name, sizeof(u[n].name), "%s", ui.name);
		u[n].instance = ui.instance;
		if (ssm_seek(h, ui.name, ui.instance, &u[n].version))
			break;
		for (uint32_t k = i + 1; k < fi.unit_count; k++) {
			ssm_unit_info later;

			if (!ssm_unit_info_get(h, k, &later) && !strcmp(later.name, ui.name) &&
			    later.instance == ui.instance)
				ui = later;
		}
		u[n].owned = malloc(ui.data_len ? ui.data_len : 1);
		if (!u[n].owned || ssm_get_mem(h, u[n].owned, ui.data_len)) {
			free(u[n].owned);
			break;
		}
		u[n].data = u[n].owned;
		u[n].len = ui.data_len;
		n++;
	}
	ssm_close(h);
	return n;
}

void fz_units_free(struct fz_unit *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].owned);
		u[i].owned = NULL;
	}
}

static int put_payload(void *ctx, ssm_handle *h)
{
	const struct fz_unit *u = ctx;

	return ssm_put_mem(h, u->data, u->len);
}

int fz_join(const struct fz_unit *u, size_t n, void **file, size_t *len)
{
	static const ssm_callbacks cb = { .save_exec = put_payload };
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE };
	ssm_stream st;
	ssm *s = ssm_create(NULL);
	int rc = s ? SSM_OK : SSM_ERR_NOMEM;

	*file = NULL;
	for (size_t i = 0; !rc && i < n; i++)
		rc = ssm_register_external(s, u[i].name, u[i].instance, u[i].version, u[i].len,
					   NULL, 0, &cb, (void *)&u[i]);
	if (!rc)
		rc = ssm_stream_mem_sink(&st, file, len);
	if (!rc)
		rc = ssm_save(s, st, &o);
	ssm_destroy(s);
	return rc;
}

void fz_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "fuzz: cannot write %s\n", path);
		exit(1);
	}
}

void fz_verbose(int rc, const char *msg)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_VERBOSE") && !strcmp(getenv("FUZZ_VERBOSE"), "1");
	if (on)
		fprintf(stderr, "fuzz: load %s%s%s\n", rc ? "refused: " : "succeeded",
			rc ? msg : "", "");
}
