/* fuzz_restore.c - libFuzzer harness for a whole-file restore, the way
 * `vmm --restore FILE --serial none` does it, on the fake KVM: read the
 * machine unit (units_read_config), build that machine (machine_create),
 * load every unit (snapshot_restore: ssm_load and the post-load checks),
 * tear it down.  The input is the state file, put in a memfd and opened
 * by its /proc path, so the file stream code runs too.
 *
 * A restore that succeeds starts the machine as vmm does (clock, timer,
 * vCPU, which halts at once on the fake) and pauses it; then it is saved
 * and the result must pass ssm_validate and load into a new machine:
 * otherwise the restore kept state it cannot write back, and the harness
 * aborts.
 *
 * One limit is the harness's own: a file asking for more than 64 MiB of
 * guest RAM is skipped, to keep each run fast; the loaders themselves see
 * the same paths at 4 MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_common.h"
#include "vmm/snapshot.h"
#include "vmm/units.h"

#define RAM_CAP (64ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int build(struct machine *m, const struct saved_config *sc)
{
	struct machine_config cfg = {
		.kernel = sc->kernel,
		.ram_size = sc->ram_size,
		.cmdline = sc->cmdline,
		.serial = "none",               /* --serial none */
		.ncpus = sc->ncpus,             /* as main.c: the file's count */
	};

	return machine_create(m, &cfg);
}

/* What a restore left, once it ran, must save, validate and restore again
 * into a new machine (a machine that ran takes no load). */
static void round_trip(struct machine *m, const struct saved_config *sc)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE };
	struct machine again;
	char msg[256];
	ssm_stream st;
	void *file = NULL;
	size_t len = 0;
	int rc;

	if (ssm_stream_mem_sink(&st, &file, &len) || ssm_save(m->ssm, st, &o)) {
		fprintf(stderr, "fuzz: a restored state cannot be saved: %s\n",
			ssm_last_error(m->ssm));
		abort();
	}
	if (ssm_stream_mem_reader(&st, file, len) || ssm_validate(st, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz: a restored state saves as an invalid file: %s\n", msg);
		abort();
	}
	rc = build(&again, sc);
	fz_unblock_signals();
	if (rc) {
		fprintf(stderr, "fuzz: cannot build the machine a second time\n");
		abort();
	}
	machine_pause(&again);
	if (ssm_stream_mem_reader(&st, file, len) || ssm_load(again.ssm, st, NULL)) {
		fprintf(stderr, "fuzz: a restored state, saved again, does not restore: %s\n",
			ssm_last_error(again.ssm));
		abort();
	}
	machine_destroy(&again);
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct saved_config *sc;
	struct machine m;
	char msg[700];
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz-restore", MFD_CLOEXEC);
		if (fd < 0) {
			perror("fuzz: memfd_create");
			exit(1);
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz: writing the input");
		exit(1);
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc || units_read_config(path, sc, msg, sizeof(msg)) || sc->ram_size > RAM_CAP) {
		free(sc);
		return 0;
	}
	rc = build(&m, sc);
	fz_unblock_signals();
	if (rc == 0) {
		rc = snapshot_restore(&m, path, msg, sizeof(msg));
		fz_verbose(rc, msg);
		if (rc == 0) {
			fz_start_stop(&m);
			round_trip(&m, sc);
		}
	}
	machine_destroy(&m);
	free(sc);
	return 0;
}
