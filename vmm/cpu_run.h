/* cpu_run.h - the vCPU thread: KVM_RUN loop, port I/O dispatch, interrupt
 * injection, pause/resume for save and restore.
 *
 * Interrupts (user irqchip): the PIC's INT output is mirrored in
 * irq_line.  Before each KVM_RUN the thread injects the PIC's vector with
 * KVM_INTERRUPT if the guest can take it now, otherwise it asks KVM for an
 * exit as soon as it can (request_interrupt_window).  With the kernel
 * irqchip KVM does all of that, and a HLT waits inside KVM_RUN (the kick's
 * signal ends that wait too).  Other threads get the
 * thread's attention by setting run->immediate_exit and sending it
 * VCPU_KICK_SIGNAL, which covers both "about to enter" and "inside" KVM_RUN.
 *
 * Lock order: the VM lock (machine.h) before vcpu.mu; the vCPU thread never
 * holds mu while taking the VM lock or while in KVM_RUN.
 */
#ifndef VMM_CPU_RUN_H
#define VMM_CPU_RUN_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <linux/kvm.h>

/* SIGUSR1 starts a migration, SIGUSR2 resumes an unconfirmed one. */
#define VCPU_KICK_SIGNAL SIGRTMIN

struct machine;

enum vcpu_request {
	VCPU_REQ_RUN,
	VCPU_REQ_PAUSE,                 /* park outside KVM_RUN until resumed */
	VCPU_REQ_EXIT,                  /* leave the thread */
};

struct vcpu {
	struct machine *m;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool inited;                    /* vcpu_init() ran */
	bool started;                   /* thread exists (needs a join) */
	atomic_bool irq_line;           /* PIC INT output level */
	bool kernel_irqchip;            /* KVM delivers interrupts and HLT */
	atomic_int req;                 /* enum vcpu_request */
	pthread_mutex_t mu;             /* guards parked/exited, HLT sleep */
	pthread_cond_t cond;
	bool parked;
	bool exited;
};

/* Install the kick signal's (empty) handler; once per process, before any
 * thread is created, with the signal blocked in the caller so only the
 * vCPU thread ever takes it. */
int vcpu_setup_signals(void);
/* Set up v for vCPU fd with its run area; no thread yet, but
 * vcpu_set_irq_line() may already be called. */
void vcpu_init(struct vcpu *v, struct machine *m, int fd, struct kvm_run *run);
/* Before vcpu_start: the VM has KVM's interrupt controllers (irqchip.h),
 * so the thread injects nothing and never waits out a HLT itself. */
void vcpu_use_kernel_irqchip(struct vcpu *v);
/* Create the thread, parked (vcpu_resume() lets it run).  Prints and
 * returns -1 on failure. */
int vcpu_start(struct vcpu *v);
/* Mirror the interrupt controller's output; a rising level kicks the
 * thread.  Callable from any thread (callers hold the VM lock). */
void vcpu_set_irq_line(struct vcpu *v, bool level);
/* Park the thread outside KVM_RUN with every I/O exit completed, so the
 * vCPU state read with KVM_GET_* is consistent.  Returns once parked (or
 * if the thread already exited). */
void vcpu_pause(struct vcpu *v);
/* The thread is parked (vcpu_pause() returned and no resume since). */
bool vcpu_is_parked(struct vcpu *v);
/* Let a parked thread run again. */
void vcpu_resume(struct vcpu *v);
/* Ask the thread to exit, join it, release v; safe on a zeroed v. */
void vcpu_stop(struct vcpu *v);

#endif
