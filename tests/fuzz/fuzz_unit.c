/* fuzz_unit.c - libFuzzer harness for one unit's loader (FUZZ_UNIT, set
 * at build time: "machine", "cpu", "ram", "pic", "pit", "serial",
 * "serial-backend" or "fw-cfg"; with FUZZ_KERNEL_IRQCHIP, on a machine with
 * --irqchip kernel: "lapic", "kvm-pic", "ioapic" or "kvm-pit").
 *
 * The input is the unit's payload: the bytes its load_exec reads.  It is
 * wrapped in a valid state file with every other unit of the VM (their
 * payloads from a save of the same machine; ram as an empty page-run
 * record, so it loads nothing) and loaded with ssm_load into one machine
 * on the fake KVM, built once.  Mutations thus reach the loader without
 * having to get past the framing, and the mandatory units are all there.
 *
 * After a load that succeeds the unit is saved again and that payload
 * loaded once more: a loader that accepted a value it cannot save back in
 * a loadable form kept illegal state, and the harness aborts.  (The save
 * goes through a second registry of the same machine without the ram
 * unit, except in the ram harness: 4 MiB per run would dominate.)  The
 * machine never starts here, so that it can take load after load; what a
 * loaded state does once running is the restore harness's part. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"
#include "vmm/units.h"

#ifndef FUZZ_UNIT
#error "build with -DFUZZ_UNIT='\"unit name\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct machine m;
static ssm *resave;                     /* m's units again, for round_trip */
static struct fz_unit units[FZ_MAX_UNITS];
static size_t nunits, target = FZ_MAX_UNITS;

/* ram: kind 1 (page runs), then the terminating run { u64 0, u32 0 }. */
static const uint8_t ram_empty[13] = { 1 };

static void setup(void)
{
	void *file;
	size_t len;

	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE };
	ssm_stream st;

#ifdef FUZZ_KERNEL_IRQCHIP
	fz_machine_up_irqchip(&m, NULL, IRQCHIP_KERNEL);
#else
	fz_machine_up(&m, NULL);
#endif
	if (ssm_stream_mem_sink(&st, &file, &len) || ssm_save(m.ssm, st, &o)) {
		fprintf(stderr, "fuzz: saving the template machine failed: %s\n",
			ssm_last_error(m.ssm));
		exit(1);
	}
	nunits = fz_split(file, len, units, FZ_MAX_UNITS);
	free(file);
	for (size_t i = 0; i < nunits; i++) {
		if (!strcmp(units[i].name, "ram")) {
			units[i].data = ram_empty;
			units[i].len = sizeof(ram_empty);
		}
		if (!strcmp(units[i].name, FUZZ_UNIT))
			target = i;
	}
	if (target == FZ_MAX_UNITS) {
		fprintf(stderr, "fuzz: the machine has no unit '%s'\n", FUZZ_UNIT);
		exit(1);
	}
	resave = ssm_create(&m);
	if (!resave || units_register(&m, resave) || units_select_irqchip_in(&m, resave) ||
	    (strcmp(FUZZ_UNIT, "ram") && ssm_deregister_internal(resave, "ram", 0))) {
		fprintf(stderr, "fuzz: cannot register the units a second time\n");
		exit(1);
	}
	units_fit_cpus_in(&m, resave);
}

static int load(const void *file, size_t len)
{
	ssm_stream st;

	if (ssm_stream_mem_reader(&st, file, len))
		return SSM_ERR_NOMEM;
	return ssm_load(m.ssm, st, NULL);
}

/* Saved again, the unit's state must load again. */
static void round_trip(void)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = SSM_AFTER_CONTINUE };
	struct fz_unit u[FZ_MAX_UNITS], saved[FZ_MAX_UNITS];
	size_t n = 0, len = 0, i;
	ssm_stream st;
	void *file = NULL;
	int rc;

	if (ssm_stream_mem_sink(&st, &file, &len) || ssm_save(resave, st, &o)) {
		fprintf(stderr, "fuzz: %s: a state that loaded cannot be saved: %s\n",
			FUZZ_UNIT, ssm_last_error(resave));
		abort();
	}
	n = fz_split(file, len, saved, FZ_MAX_UNITS);
	free(file);
	for (i = 0; i < n && strcmp(saved[i].name, FUZZ_UNIT); i++)
		;
	if (i == n) {
		fprintf(stderr, "fuzz: %s: the unit is missing from its own save\n", FUZZ_UNIT);
		abort();
	}
	memcpy(u, units, nunits * sizeof(u[0]));
	u[target].data = saved[i].data;
	u[target].len = saved[i].len;
	rc = fz_join(u, nunits, &file, &len);
	if (!rc)
		rc = load(file, len);
	if (rc) {
		fprintf(stderr, "fuzz: %s: a state that loaded does not load once saved "
			"again: %s\n", FUZZ_UNIT, ssm_last_error(m.ssm));
		abort();
	}
	free(file);
	fz_units_free(saved, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_unit u[FZ_MAX_UNITS];
	void *file;
	size_t len;
	int rc;

	if (!nunits)
		setup();
	memcpy(u, units, nunits * sizeof(u[0]));
	u[target].data = data;
	u[target].len = size;
	if (fz_join(u, nunits, &file, &len))
		return 0;
	rc = load(file, len);
	fz_verbose(rc, ssm_last_error(m.ssm));
	if (rc == SSM_OK)
		round_trip();
	free(file);
	return 0;
}
