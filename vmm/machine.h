/* machine.h - the whole VM: KVM, RAM, devices, bus, clock, vCPU threads and
 * the main thread's event loop.
 *
 * Lifecycle:
 *   machine_create()  build a powered-off machine from a config: KVM VM
 *                     with RAM, devices at reset, bus wired, host fds; the
 *                     vCPU threads exist but are parked, the clock stopped
 *   machine_boot()    fresh start: load the kernel, set the BSP's entry
 *                     registers, APs wait for INIT/SIPI (a restore loads
 *                     saved state here instead)
 *   machine_start()   start the virtual clock and let every vCPU run
 *   machine_run()     main-thread loop until power-off, a stop signal or an
 *                     error; returns the VMM's exit status
 *   machine_destroy() release everything (safe after a failed create)
 *
 * Threads: the main thread runs machine_run(); each vCPU thread (cpu_run.c)
 * calls machine_pio() and machine_irq_ack() (the PIC drives vCPU 0 only).  The VM lock guards everything
 * under "guarded by the VM lock" below; it is taken only through
 * machine_lock() / machine_unlock(), which record the holder, and the
 * functions that need it check that their caller holds it (they abort
 * naming themselves otherwise).  The devices' callbacks into the machine
 * (interrupt lines) also accept the main thread while no vCPU runs:
 * building, restoring or receiving a VM.  Host-side fds are owned by the
 * main thread.  Other modules change machine fields only through the
 * functions below.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/debug_exit.h"
#include "devices/fw_cfg.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "ssm/ssm.h"
#include "vmm/bgsave.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/chain.h"
#include "vmm/clock.h"
#include "vmm/cpu_run.h"
#include "vmm/irqchip.h"
#include "vmm/irqchip_units.h"
#include "vmm/kvm.h"
#include "vmm/migrate.h"
#include "vmm/ram.h"
#include "vmm/serial_backend.h"
#include "vmm/smp.h"
#include "vmm/vmlock.h"

#define MACHINE_EXIT_ERROR 1            /* exit status after a VM failure */

struct monitor;

struct machine_config {
	const char *kernel;             /* ELF64 or multiboot kernel path */
	uint64_t ram_size;              /* bytes, KVM_RAM_MIN..KVM_RAM_MAX */
	const char *cmdline;            /* kernel command line */
	const char *serial;             /* --serial spec (serial_backend.h) */
	bool serial_append;             /* restore: continue a file: log */
	const char *modules[MB_MODULES_MAX]; /* multiboot "FILE[,ARGS]" */
	unsigned nmodules;
	const char *cpu;                /* --cpu spec (cpu_model.h), NULL: host */
	enum irqchip_mode irqchip;      /* --irqchip (irqchip.h) */
	unsigned ncpus;                 /* vCPUs, 1..KVM_VCPUS_MAX (0 means 1) */
};

struct machine {
	struct machine_config cfg;

	/* Host resources (never saved). */
	struct kvm_vm kvm;
	struct vcpu vcpu[KVM_VCPUS_MAX]; /* 0 .. cfg.ncpus-1; 0 is the BSP */
	struct serial_backend backend;
	int signal_fd;                  /* SIGINT/SIGTERM/SIGHUP/SIGQUIT */
	int timer_fd;                   /* next PIT event, CLOCK_MONOTONIC */
	int event_fd;                   /* vCPU threads -> main loop wake-ups */

	/* Guarded by the VM lock. */
	struct vm_lock vm_lock;         /* machine_lock(), never directly */
	struct vclock clock;
	struct bus bus;
	struct pic pic;
	struct pit pit;
	struct serial serial;
	struct fw_cfg fw_cfg;
	struct debug_exit debug_exit;
	bool rx_blocked;                /* input waits for room in the UART */
	bool tick_deferred;             /* PIT edge held until IRQ 0 is acked */
	uint64_t timer_armed_ns;        /* virtual deadline in timer_fd, or 0 */
	bool devices_frozen;            /* a save callback reads the devices
					   off the main thread: hands off */

	/* Set once by whoever ends the VM (machine_end); -1 while it runs. */
	atomic_int exit_status;
	/* machine_start() ran since the last machine_pause(): vCPUs may be
	 * executing.  started_once: machine_start() ever ran. */
	atomic_bool vcpu_may_run;
	atomic_bool started_once;

	/* Save/restore (main thread only). */
	bool built;                     /* machine_build() done: KVM VM exists */
	ssm *ssm;                       /* registry of the VM's units (units.c) */
	struct saved_config *loaded_cfg; /* config a load built the VM from */
	const char *serial_override;    /* --serial given with restore/incoming */
	struct ram_live ram_live;       /* ram unit's live-save state (ram.c) */
	struct smp_seen cpus_seen;      /* cpu instances a load met (units.c) */
	struct migration mig;           /* --migrate / --live (migrate.c) */
	uint64_t kernel_size;           /* facts of the booted kernel file */
	uint32_t kernel_crc;
	struct boot_facts boot;         /* protocol and module facts (the
					   kernel's are the two above) */
	const char *save_path;          /* --save: where a stop request saves */
	bool save_continue;             /* --continue: keep running after it */
	uint64_t save_after_ns;         /* --save-after, 0 = none */
	int save_timer_fd;
	bool save_requested;
	bool save_failed;               /* the last save attempt failed */
	struct migrate_opts stop_mig;   /* the stop action's migration / live
					   save (mig.o is the running one's) */
	bool stopped;                   /* paused by the monitor's stop */
	struct monitor *monitor;        /* --monitor (monitor.c), or NULL */
	bool save_background;           /* --background: point-in-time saves */
	struct bgsave bg;               /* the point-in-time writer (bgsave.c) */
	struct chain chain;             /* incremental snapshots (chain.c) */
	struct irqchip_units kirq;      /* KVM's chips as saved (irqchip_units.c) */
	bool irqchip_settled;           /* the other mode's units are dropped */
	int irqchip_required;           /* --irqchip with --incoming, or -1 */
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
/* Start the clock and every vCPU. */
void machine_start(struct machine *m);
/* Stop every vCPU (all asked first, then each waited for: parked, I/O
 * completed) and the clock; for save. */
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
/* Stop the vCPUs and release everything. */
void machine_destroy(struct machine *m);
/* ---- vCPU group (machine_vcpus.c), for machine.c's lifecycle ---- */

/* The machine's vCPU count (1 before it is built). */
unsigned machine_ncpus(const struct machine *m);
/* Refuse more than one vCPU without the kernel irqchip (one line), create
 * the KVM VM with m->cfg's RAM and vCPUs, set each vcpu up (no thread). */
int machine_vcpus_init(struct machine *m);
/* One thread per vCPU, parked.  -1 on failure (printed). */
int machine_vcpus_start_threads(struct machine *m);
/* Every AP (vCPU 1 and up) waits for INIT/SIPI.  -1 on failure (printed). */
int machine_vcpus_await_sipi(struct machine *m);
/* Let every vCPU run / park every vCPU (all asked, then each waited for). */
void machine_vcpus_resume(struct machine *m);
void machine_vcpus_pause(struct machine *m);
/* The VM ended: every vCPU thread leaves its loop (no join). */
void machine_vcpus_end(struct machine *m);
/* Join every vCPU thread, then release every vcpu. */
void machine_vcpus_release(struct machine *m);

/* ---- The VM lock and the machine's state, for the other modules ---- */

/* Take / release the VM lock (not recursive: taking it twice aborts). */
void machine_lock(struct machine *m);
void machine_unlock(struct machine *m);
/* Abort, naming the calling function, unless this thread holds the lock. */
#define machine_assert_locked(m) vm_lock_assert(&(m)->vm_lock, __func__)
/* Abort unless this thread may touch device state: it holds the VM lock,
 * or it is the main thread and no vCPU runs (build, restore, incoming). */
#define machine_assert_devices(m) machine_check_devices((m), __func__)
void machine_check_devices(struct machine *m, const char *fn);

/* End the VM with status unless it has ended already; true if this call
 * decided the status.  Any thread. */
bool machine_end(struct machine *m, int status);
/* machine_start() has run at least once: guest RAM is no longer as built. */
bool machine_has_started(struct machine *m);
/* The facts (size, CRC32) of the kernel the machine booted, as the machine
 * unit records them. */
void machine_set_kernel_facts(struct machine *m, uint64_t size, uint32_t crc);
/* The boot protocol and module facts the machine unit records. */
void machine_set_boot_facts(struct machine *m, const struct boot_facts *f);
/* The VMM's own interrupt state that the cpu unit saves (vCPU 0's
 * record): the PIC output level the BSP's thread mirrors and the PIT edge
 * held until IRQ 0 is acknowledged.  Take the VM lock unless the caller
 * holds it. */
void machine_get_irq_state(struct machine *m, bool *line, bool *tick_deferred);
void machine_set_irq_state(struct machine *m, bool line, bool tick_deferred);
/* What a stop request does (main.c): suspend to save_path (NULL: none),
 * keep running after it (cont), request it after after_ns (0: never), and
 * the migration / live-save options. */
void machine_set_stop_action(struct machine *m, const char *save_path, bool cont,
			     uint64_t after_ns, const struct migrate_opts *mig);
/* Save the running (or stopped) VM to path now, as a stop request with
 * --save does: on success it ends (exit 0) unless cont; on failure it runs
 * on (stays stopped).  Main thread; 0 or an ssm_err with one line in msg. */
int machine_save_now(struct machine *m, const char *path, bool cont, char *msg,
		     size_t msglen);
/* machine_save_now(m, path, true, ...) as a link of an incremental chain
 * (chain.h): a child of the chain's newest file, or a full save that
 * starts one. */
int machine_save_incremental(struct machine *m, const char *path, char *msg, size_t msglen);
/* Start a migration or live save with options o (strings must outlive
 * it), as a stop request with --migrate does.  -1 (printed) if the VM is
 * stopped, one runs, the last is unconfirmed, or it cannot start. */
int machine_migrate_now(struct machine *m, const struct migrate_opts *o);
/* --irqchip given with --incoming: the received VM must use mode. */
void machine_require_irqchip(struct machine *m, enum irqchip_mode mode);
/* The monitor's stop / cont: pause the VM until cont (idempotent).  -1 while
 * a migration runs or waits for the operator's decision. */
int machine_stop(struct machine *m);
int machine_cont(struct machine *m);
bool machine_is_stopped(const struct machine *m);
/* The control socket machine_run() serves (NULL: none). */
void machine_set_monitor(struct machine *m, struct monitor *mon);
/* --background: a --continue save is a point-in-time snapshot written by
 * a child while the guest runs (snapshot_point_in_time). */
void machine_set_save_background(struct machine *m, bool on);
/* Keep a copy of the configuration a stream describes (m->loaded_cfg, freed
 * with m), for a VM built from it.  -1 when out of memory. */
int machine_keep_config(struct machine *m, const struct saved_config *c);
/* --serial given with --incoming: the console the received VM uses. */
void machine_set_serial_override(struct machine *m, const char *spec);
/* Outcome of the last save or migration attempt: a failed one makes the
 * VMM exit 1 even when the guest later powers off with 0. */
void machine_note_save_result(struct machine *m, bool ok);

/* The devices guests written elsewhere expect (machine_devs.c):
 * isa-debug-exit and fw_cfg.  init: at reset, from machine_init; wire:
 * their port ranges on m->bus (-1 after one printed line). */
void machine_init_guest_devices(struct machine *m);
int machine_wire_guest_devices(struct machine *m);

/* ---- Called from the vCPU threads (cpu_run.c) ---- */

/* Port I/O exit: count accesses of size bytes at data (in: filled in).
 * Returns -1 to keep running or the exit status when the guest powered
 * the machine off. */
int machine_pio(struct machine *m, uint16_t port, bool out, unsigned size,
		unsigned count, uint8_t *data);
/* Interrupt acknowledge: the vector to inject, or -1 if none is pending. */
int machine_irq_ack(struct machine *m);
/* A vCPU thread ended on its own (power-off or error) with status: the
 * VM ends, every other vCPU with it. */
void machine_vcpu_exited(struct machine *m, int status);

#endif
