/* make_seeds.c - seed corpora for the fuzz harnesses, from real saves.
 *
 *   make_seeds KERNEL OUTDIR [STATE_FILE...]
 *
 * Boots KERNEL (loaded into RAM, entry registers set: what a fresh VM
 * holds before its first instruction) on the fake KVM and saves it with
 * the VMM's own save path, plain and live (passes with identity records),
 * into OUTDIR/restore/.  Each STATE_FILE (e.g. a save by the real vmm on
 * /dev/kvm: the golden files) goes there too, its RAM cut to a few pages
 * if it is big.  Every unit's payload of each of these files goes to
 * OUTDIR/<unit>/, the per-unit harnesses' input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_common.h"
#include "vmm/snapshot.h"

static const char *outdir;

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) && access(path, F_OK)) {
		perror(path);
		exit(1);
	}
}

/* The ram harness takes small inputs: a full image (kind 0) becomes a
 * page-run record (kind 1) of its first few non-zero pages. */
static size_t ram_as_runs(const uint8_t *img, size_t len, uint8_t *out, size_t max)
{
	const size_t page = 4096, keep = 4;
	size_t o = 1, kept = 0;

	out[0] = 1;
	for (size_t p = 0; len >= 9 && img[0] == 0 && kept < keep &&
	     9 + (p + 1) * page <= len && o + 12 + page + 12 <= max; p++) {
		const uint8_t *pg = img + 9 + p * page;
		uint64_t first = p;
		uint32_t one = 1;
		size_t i = 0;

		while (i < page && !pg[i])
			i++;
		if (i == page)
			continue;
		memcpy(out + o, &first, 8);
		memcpy(out + o + 8, &one, 4);
		memcpy(out + o + 12, pg, page);
		o += 12 + page;
		kept++;
	}
	memset(out + o, 0, 12);
	return o + 12;
}

/* file as a restore seed and its units as unit seeds, named tag. */
static void emit(const char *tag, const void *file, size_t len)
{
	static uint8_t runs[5 * 4120];
	struct fz_unit u[FZ_MAX_UNITS];
	char path[4096];
	size_t n = fz_split(file, len, u, FZ_MAX_UNITS), small_len;
	void *small;

	if (!n) {
		fprintf(stderr, "make_seeds: %s is not a state file\n", tag);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", outdir, u[i].name);
		mkdir_p(path);
		snprintf(path, sizeof(path), "%s/%s/%s", outdir, u[i].name, tag);
		if (!strcmp(u[i].name, "ram") && u[i].len > 65536) {
			u[i].len = ram_as_runs(u[i].data, u[i].len, runs, sizeof(runs));
			u[i].data = runs;
		}
		fz_write_file(path, u[i].data, u[i].len);
	}
	/* A big file (most of it RAM) would slow every restore run down: the
	 * restore seed is the same units with RAM cut to a few pages. */
	snprintf(path, sizeof(path), "%s/restore/%s", outdir, tag);
	if (len > (256u << 10) && fz_join(u, n, &small, &small_len) == SSM_OK) {
		fz_write_file(path, small, small_len);
		free(small);
	} else {
		fz_write_file(path, file, len);
	}
	fz_units_free(u, n);
}

static void save_plain(struct machine *m, const char *tag)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE };
	ssm_stream st;
	void *file;
	size_t len;

	if (ssm_stream_mem_sink(&st, &file, &len) || ssm_save(m->ssm, st, &o)) {
		fprintf(stderr, "make_seeds: save: %s\n", ssm_last_error(m->ssm));
		exit(1);
	}
	emit(tag, file, len);
	free(file);
}

/* A live snapshot's passes, as `--save F --live` writes them. */
static void save_live(struct machine *m, const char *tag)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE, .max_downtime_ms = 300 };
	ssm_handle *h;
	ssm_stream st;
	void *file;
	size_t len;
	int rc, end;

	if (ssm_stream_mem_sink(&st, &file, &len) || ssm_live_begin(m->ssm, st, &o, &h)) {
		fprintf(stderr, "make_seeds: live save: %s\n", ssm_last_error(m->ssm));
		exit(1);
	}
	rc = ssm_live_step1(h);
	if (rc == SSM_OK || rc == SSM_ERR_LIVE_GAVE_UP || rc == SSM_ERR_TOO_MANY_PASSES)
		rc = ssm_live_step2(h);
	end = ssm_live_end(h);
	if (rc || end) {
		fprintf(stderr, "make_seeds: live save: %s\n", ssm_last_error(m->ssm));
		exit(1);
	}
	emit(tag, file, len);
	free(file);
}

int main(int argc, char **argv)
{
	struct machine m;
	char path[4096];

	if (argc < 3) {
		fprintf(stderr, "usage: make_seeds KERNEL OUTDIR [STATE_FILE...]\n");
		return 2;
	}
	outdir = argv[2];
	mkdir_p(outdir);
	snprintf(path, sizeof(path), "%s/restore", outdir);
	mkdir_p(path);

	fz_machine_up(&m, argv[1]);
	save_plain(&m, "reset");
	if (machine_boot(&m)) {
		fprintf(stderr, "make_seeds: cannot boot %s\n", argv[1]);
		return 1;
	}
	save_plain(&m, "boot");
	save_live(&m, "boot-live");
	machine_destroy(&m);
	/* The kernel irqchip's units come from a machine of that mode. */
	fz_machine_up_irqchip(&m, argv[1], IRQCHIP_KERNEL);
	save_plain(&m, "kernel-reset");
	if (machine_boot(&m)) {
		fprintf(stderr, "make_seeds: cannot boot %s\n", argv[1]);
		return 1;
	}
	save_plain(&m, "kernel-boot");
	machine_destroy(&m);

	for (int i = 3; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[64 << 20];
		size_t len;
		const char *base = strrchr(argv[i], '/');

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		snprintf(path, sizeof(path), "file-%s", base ? base + 1 : argv[i]);
		emit(path, buf, len);
	}
	return 0;
}
