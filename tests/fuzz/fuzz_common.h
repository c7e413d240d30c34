/* fuzz_common.h - what the fuzz harnesses and the seed generator share:
 * a machine built on the fake KVM, state files taken apart into unit
 * payloads and put together again. */
#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/machine.h"

#define FZ_RAM (4ull << 20)             /* KVM_RAM_MIN: the harnesses' guest */
#define FZ_MAX_UNITS 16

/* One unit record: its payload (the decoded data a loader reads). */
struct fz_unit {
	char name[SSM_NAME_MAX + 1];
	uint32_t instance, version;
	const uint8_t *data;
	size_t len;
	uint8_t *owned;                 /* data, when malloc'd by fz_split */
};

/* machine_create() with FZ_RAM, console "none", the vCPU thread parked
 * (the way a restore finds it).  kernel may be NULL.  Exits on failure. */
void fz_machine_up(struct machine *m, const char *kernel);
/* The same with the interrupt controllers of mode (--irqchip). */
void fz_machine_up_irqchip(struct machine *m, const char *kernel, enum irqchip_mode mode);

/* What follows a restore: machine_start() (clock, timer, vCPU), then
 * machine_pause() so the machine can be saved or loaded again. */
void fz_start_stop(struct machine *m);

/* machine_init() blocks the stop signals for its signalfd, which nobody
 * reads here: give them back to libFuzzer (Ctrl-C, timeouts). */
void fz_unblock_signals(void);

/* Take a state file apart: the final record of every unit, in file order.
 * Returns the unit count, 0 if the file does not open. */
size_t fz_split(const void *file, size_t len, struct fz_unit *u, size_t max);
void fz_units_free(struct fz_unit *u, size_t n);

/* Write a state file holding exactly these unit payloads (non-live save,
 * each with its name, instance and version).  SSM_OK or an error. */
int fz_join(const struct fz_unit *u, size_t n, void **file, size_t *len);

/* With FUZZ_VERBOSE=1 in the environment, print how a load ended (for
 * triage: `FUZZ_VERBOSE=1 build-fuzz/fuzz-cpu INPUT`). */
void fz_verbose(int rc, const char *msg);

/* Write len bytes to path; exits on failure. */
void fz_write_file(const char *path, const void *buf, size_t len);

#endif
