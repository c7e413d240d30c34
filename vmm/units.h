/* units.h - the VM's SSM data units and the machine configuration record.
 *
 * Units, in save order, with their flavour:
 *   machine        external  configuration (RAM size, command line, kernel
 *                            facts, serial backend) and the virtual clock
 *   pic, pit, serial, fw-cfg
 *                  device    the device models (devices/); before RAM so a
 *                            migration refuses a foreign model early; fw-cfg
 *                            is optional (files from before it load with
 *                            the device at reset)
 *   ram            internal  guest RAM, zero pages elided (ram.c)
 *   cpu            internal  one instance per vCPU, the instance being its
 *                            index (cpu_state.c) + the VMM's IRQ state
 *   lapic, kvm-pic, ioapic, kvm-pit
 *                  external  KVM's interrupt controllers (irqchip_units.h),
 *                            only in a VM with --irqchip kernel, which has
 *                            no pic and pit units
 *   serial-backend driver    host side of COM1: settings, unwritten output
 */
#ifndef VMM_UNITS_H
#define VMM_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/boot.h"
#include "vmm/irqchip.h"

struct machine;
struct pit;

/* Each unit loads saved versions _MIN.._VERSION (docs/compat.md). */
#define MACHINE_VERSION 3
#define MACHINE_VERSION_MIN 1
/* The first machine unit version that records the vCPU count. */
#define MACHINE_VERSION_NCPUS 3
#define BACKEND_VERSION 1
#define BACKEND_VERSION_MIN 1

/* The whole command line boot accepts (BOOT_CMDLINE_MAX) is kept. */
#define UNITS_CMDLINE_MAX (BOOT_CMDLINE_MAX + 1)
#define UNITS_PATH_MAX 4096
/* A --module spec, as long as the string the guest gets from it. */
#define UNITS_MODSPEC_MAX (MB_MODSTR_MAX + 1)

/* What the machine unit records. */
struct saved_config {
	uint64_t ram_size;
	char cmdline[UNITS_CMDLINE_MAX];
	char kernel[UNITS_PATH_MAX];      /* path at boot, for information */
	uint64_t kernel_size;
	uint32_t kernel_crc;              /* CRC32 of the kernel file at boot */
	char serial[UNITS_PATH_MAX];      /* --serial spec at save, information
					     only: never opened */
	uint8_t multiboot;                /* 1: booted by multiboot (version 2) */
	uint32_t nmodules;                /* multiboot modules, for information */
	struct saved_module {
		char spec[UNITS_MODSPEC_MAX]; /* "FILE[,ARGS]" at boot: never opened */
		uint64_t size;
		uint32_t crc;
	} module[MB_MODULES_MAX];
	uint8_t irqchip;                  /* enum irqchip_mode (version 3;
					     older files: user) */
	uint32_t ncpus;                   /* vCPUs, 1..KVM_VCPUS_MAX (version 3;
					     1 before) */
	uint64_t clock_ns;                /* virtual clock at save, checked
					     <= VCLOCK_MAX_NS */
};

/* Register every unit of m with reg (m->ssm).  SSM_OK or the first error. */
int units_register(struct machine *m, ssm *reg);
/* Register the serial-backend unit alone, over sb (vmm verify loads into a
 * backend with nothing open). */
struct serial_backend;
int units_register_backend(ssm *reg, struct serial_backend *sb);

/* Read a machine record of unit version `version` from h (positioned at its
 * data) into cfg and check each value, naming the field it refuses. */
int units_get_config(ssm_handle *h, uint32_t version, struct saved_config *cfg);

/* The machine unit's load_done checks, once every unit has loaded (and
 * only if the load has not failed): a machine record was loaded, no
 * running PIT channel of pit started after the restored virtual clock now
 * (ns), and seen holds a cpu record for each of the ncpus vCPUs; else
 * records and returns SSM_ERR_LOAD_VALUE. */
struct smp_seen;
int units_machine_done(ssm_handle *h, const struct pit *pit, uint64_t now,
		       const struct smp_seen *seen, unsigned ncpus);
/* A cpu record of instance i arrives: refuse an instance beyond ncpus or
 * one met twice (SSM_ERR_LOAD_VALUE, recorded in h), else note it. */
int units_cpu_arrives(ssm_handle *h, struct smp_seen *seen, unsigned ncpus, uint32_t i);
/* The two interrupt-state bools that end a cpu record of instance i:
 * read (naming each field) and, for an AP, refused unless both are 0. */
int units_cpu_irq_state(ssm_handle *h, uint32_t i, bool *line, bool *deferred);
/* Drop the cpu unit instances beyond the machine's vCPU count (all
 * KVM_VCPUS_MAX are registered until the count is known); outside any
 * save or load. */
void units_fit_cpus(struct machine *m);
/* The same for a second registry of m's units (units_register(m, reg)). */
void units_fit_cpus_in(struct machine *m, ssm *reg);

/* Open the state file at path for reading (a regular file only); on
 * failure an ssm_err and one line in msg (errno's text where it has one). */
int units_open_file(const char *path, ssm_stream *st, char *msg, size_t msglen);

/* Read the machine unit of the state file at path without loading
 * anything else.  On failure returns an ssm_err and fills msg. */
int units_read_config(const char *path, struct saved_config *cfg, char *msg, size_t msglen);

/* After a successful ssm_load into m->ssm: SSM_OK if every mandatory unit
 * (machine, serial, ram, cpu, serial-backend, and pic, pit with --irqchip
 * user or lapic per vCPU, kvm-pic, ioapic, kvm-pit with kernel) got its
 * final-pass record (a live pass 0 identity alone leaves a device at
 * reset) and none of the other mode's pic, pit did, else SSM_ERR_FORMAT
 * with one line naming the unit in msg.  Call it before the guest runs
 * (restore) or is confirmed (incoming migration). */
int units_check_complete(struct machine *m, char *msg, size_t msglen);
/* The same for a registry reg that has just loaded a stream of mode, the
 * kernel chips' units aside. */
int units_check_complete_reg(ssm *reg, enum irqchip_mode mode, char *msg, size_t msglen);
/* Drop the units of the irqchip mode m->cfg does not use (once m is
 * built; idempotent).  SSM_ERR_BAD_STATE while the registry is busy (an
 * incoming load builds the VM): call it again after the load. */
int units_select_irqchip(struct machine *m);
/* The same for another registry reg holding m's units (units_register). */
int units_select_irqchip_in(struct machine *m, ssm *reg);

#endif
