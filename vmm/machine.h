/* machine.h - the whole VM: KVM, RAM, devices, bus, clock, vCPU thread and
 * the main thread's event loop.
 *
 * Lifecycle:
 *   machine_create()  build a powered-off machine from a config: KVM VM
 *                     with RAM, devices at reset, bus wired, host fds; the
 *                     vCPU thread exists but is parked, the clock stopped
 *   machine_boot()    fresh start: load the kernel, set entry registers
 *                     (a restore loads saved state here instead)
 *   machine_start()   start the virtual clock and let the vCPU run
 *   machine_run()     main-thread loop until power-off, a stop signal or an
 *                     error; returns the VMM's exit status
 *   machine_destroy() release everything (safe after a failed create)
 *
 * Threads: the main thread runs machine_run(); the vCPU thread (cpu_run.c)
 * calls machine_pio() and machine_irq_ack().  `lock` (the VM lock) guards
 * everything under "guarded by lock" below; both threads take it around
 * device calls.  Host-side fds are owned by the main thread.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "ssm/ssm.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/cpu_run.h"
#include "vmm/kvm.h"
#include "vmm/migrate.h"
#include "vmm/ram.h"
#include "vmm/serial_backend.h"

#define MACHINE_EXIT_ERROR 1            /* exit status after a VM failure */

struct machine_config {
	const char *kernel;             /* ELF64 kernel path */
	uint64_t ram_size;              /* bytes, KVM_RAM_MIN..KVM_RAM_MAX */
	const char *cmdline;            /* kernel command line */
	const char *serial;             /* --serial spec (serial_backend.h) */
	bool serial_append;             /* restore: continue a file: log */
};

struct machine {
	struct machine_config cfg;

	/* Host resources (never saved). */
	struct kvm_vm kvm;
	struct vcpu vcpu;
	struct serial_backend backend;
	int signal_fd;                  /* SIGINT/SIGTERM/SIGHUP/SIGQUIT */
	int timer_fd;                   /* next PIT event, CLOCK_MONOTONIC */
	int event_fd;                   /* vCPU thread -> main loop wake-ups */
	bool lock_ready;

	/* Guarded by lock. */
	pthread_mutex_t lock;           /* the VM lock */
	struct vclock clock;
	struct bus bus;
	struct pic pic;
	struct pit pit;
	struct serial serial;
	bool rx_blocked;                /* input waits for room in the UART */
	bool tick_deferred;             /* PIT edge held until IRQ 0 is acked */
	uint64_t timer_armed_ns;        /* virtual deadline in timer_fd, or 0 */
	bool devices_frozen;            /* a save callback reads the devices
					   off the main thread: hands off */

	/* Set once by whoever ends the VM; -1 while it runs. */
	atomic_int exit_status;

	/* Save/restore (main thread only). */
	bool built;                     /* machine_build() done: KVM VM exists */
	ssm *ssm;                       /* registry of the VM's units (units.c) */
	struct saved_config *loaded_cfg; /* config a load built the VM from */
	const char *serial_override;    /* --serial given with restore/incoming */
	struct ram_live ram_live;       /* ram unit's live-save state (ram.c) */
	struct migration mig;           /* --migrate / --live (migrate.c) */
	uint64_t kernel_size;           /* facts of the booted kernel file */
	uint32_t kernel_crc;
	const char *save_path;          /* --save: where a stop request saves */
	bool save_continue;             /* --continue: keep running after it */
	uint64_t save_after_ns;         /* --save-after, 0 = none */
	int save_timer_fd;
	bool save_requested;
	bool save_failed;               /* the last save attempt failed */
};

/* Build the machine (see above).  Prints one line and returns -1 on
 * failure; call machine_destroy() either way. */
int machine_create(struct machine *m, const struct machine_config *cfg);
/* machine_create() in two steps, for a VM whose configuration arrives in
 * a state stream: init sets up the host side, the devices at reset and the
 * SSM registry; build (cfg copied by reference: strings must outlive m)
 * creates the KVM VM, RAM, bus, console and the parked vCPU thread. */
int machine_init(struct machine *m);
int machine_build(struct machine *m, const struct machine_config *cfg);
/* Load cfg->kernel and set the boot entry state.  -1 on failure (printed). */
int machine_boot(struct machine *m);
/* Start the clock and the vCPU. */
void machine_start(struct machine *m);
/* Stop the vCPU (parked, I/O completed) and the clock; for save. */
void machine_pause(struct machine *m);
/* Undo machine_pause(). */
void machine_resume(struct machine *m);
/* Paused VM, any thread: while frozen the main loop touches no device (it
 * holds input back and lets timer events pass), so a save callback on
 * another thread may read them without the VM lock. */
void machine_freeze_devices(struct machine *m, bool frozen);
/* Virtual time now, frozen while paused: what a save records. */
uint64_t machine_clock_ns(struct machine *m);
/* Before machine_start(): make the stopped clock read ns (restore), so
 * guest timers continue from where the saved VM left them. */
void machine_clock_restore(struct machine *m, uint64_t ns);
/* Run the event loop until the VM ends; returns the exit status: the
 * power-off byte, 128 + signal number, or MACHINE_EXIT_ERROR.  With
 * save_path set, SIGINT/SIGTERM and the --save-after timer suspend the VM
 * to that file (exit 0); if the save fails the VM keeps running. */
int machine_run(struct machine *m);
/* Stop the vCPU and release everything. */
void machine_destroy(struct machine *m);

/* ---- Called from the vCPU thread (cpu_run.c) ---- */

/* Port I/O exit: count accesses of size bytes at data (in: filled in).
 * Returns -1 to keep running or the exit status when the guest powered
 * the machine off. */
int machine_pio(struct machine *m, uint16_t port, bool out, unsigned size,
		unsigned count, uint8_t *data);
/* Interrupt acknowledge: the vector to inject, or -1 if none is pending. */
int machine_irq_ack(struct machine *m);
/* The vCPU thread ended on its own (power-off or error) with status. */
void machine_vcpu_exited(struct machine *m, int status);

#endif
