/* cpu_run.c - the vCPU thread. */
#include "vmm/cpu_run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm.h"
#include "vmm/machine.h"

static void kick_handler(int sig)
{
	(void)sig;      /* only there so the signal interrupts KVM_RUN */
}

int vcpu_setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
		fprintf(stderr, "vmm: sigaction: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void set_immediate_exit(struct vcpu *v, uint8_t on)
{
	__atomic_store_n(&v->run->immediate_exit, on, __ATOMIC_SEQ_CST);
}

static void kick(struct vcpu *v)
{
	/* Devices come up before the vCPU exists; its first KVM_RUN sees the
	 * line anyway. */
	if (!v->inited)
		return;
	set_immediate_exit(v, 1);
	if (v->started && !pthread_equal(pthread_self(), v->thread))
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	pthread_mutex_lock(&v->mu);
	pthread_cond_broadcast(&v->cond);       /* wakes a halted vCPU */
	pthread_mutex_unlock(&v->mu);
}

void vcpu_set_irq_line(struct vcpu *v, bool level)
{
	bool was = atomic_exchange(&v->irq_line, level);

	if (level && !was)
		kick(v);
}

/* Re-enter KVM_RUN without running guest code: KVM finishes the last I/O
 * instruction (an IN's result lands in RAX) only on the next KVM_RUN. */
static int complete_pending_io(struct vcpu *v)
{
	set_immediate_exit(v, 1);
	if (ioctl(v->fd, KVM_RUN, 0) == 0 || errno == EINTR || errno == EAGAIN)
		return 0;
	fprintf(stderr, "vmm: KVM_RUN (completing I/O): %s\n", strerror(errno));
	return -1;
}

static void set_exited(struct vcpu *v)
{
	pthread_mutex_lock(&v->mu);
	v->exited = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->mu);
}

/* Returns false when the thread must leave. */
static bool handle_request(struct vcpu *v)
{
	if (complete_pending_io(v))
		return false;
	pthread_mutex_lock(&v->mu);
	if (atomic_load(&v->req) == VCPU_REQ_PAUSE) {
		v->parked = true;
		pthread_cond_broadcast(&v->cond);
		while (atomic_load(&v->req) == VCPU_REQ_PAUSE)
			pthread_cond_wait(&v->cond, &v->mu);
		v->parked = false;
	}
	pthread_mutex_unlock(&v->mu);
	return atomic_load(&v->req) != VCPU_REQ_EXIT;
}

static int inject_interrupt(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_interrupt irq;
	int vec;

	if (!atomic_load(&v->irq_line)) {
		run->request_interrupt_window = 0;
		return 0;
	}
	if (!run->ready_for_interrupt_injection || !run->if_flag) {
		run->request_interrupt_window = 1;
		return 0;
	}
	vec = machine_irq_ack(v->m);
	if (vec < 0) {
		/* The line dropped between the check and the acknowledge. */
		run->request_interrupt_window = 0;
		return 0;
	}
	irq.irq = (uint32_t)vec;
	if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0) {
		fprintf(stderr, "vmm: KVM_INTERRUPT vector 0x%x: %s\n", vec, strerror(errno));
		return -1;
	}
	run->request_interrupt_window = 0;
	return 0;
}

static void report_exit(struct vcpu *v, const char *what)
{
	struct kvm_run *run = v->run;
	struct kvm_regs r;
	char extra[96] = "";

	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(extra, sizeof(extra), " suberror %u", run->internal.suberror);
	else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(extra, sizeof(extra), " reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		snprintf(extra, sizeof(extra), " at 0x%llx",
			 (unsigned long long)run->mmio.phys_addr);
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		memset(&r, 0, sizeof(r));
	fprintf(stderr, "vmm: %s: KVM exit %s%s, guest rip 0x%llx\n", what,
		kvm_exit_name(run->exit_reason), extra, (unsigned long long)r.rip);
}

static void wait_while_halted(struct vcpu *v)
{
	pthread_mutex_lock(&v->mu);
	/* With IF clear an interrupt cannot end the halt; only a request can. */
	while ((!atomic_load(&v->irq_line) || !v->run->if_flag) &&
	       atomic_load(&v->req) == VCPU_REQ_RUN)
		pthread_cond_wait(&v->cond, &v->mu);
	pthread_mutex_unlock(&v->mu);
}

/* Returns the exit status the VM ends with, or -1 to keep running. */
static int handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return machine_pio(v->m, run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
				   run->io.size, run->io.count,
				   (uint8_t *)run + run->io.data_offset);
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return -1;
	case KVM_EXIT_HLT:
		/* KVM keeps a halt with its own LAPIC; never seen then. */
		if (!v->kernel_irqchip)
			wait_while_halted(v);
		return -1;
	case KVM_EXIT_SHUTDOWN:
		report_exit(v, "guest reset the CPU");
		return MACHINE_EXIT_ERROR;
	default:
		report_exit(v, "guest stopped");
		return MACHINE_EXIT_ERROR;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;
	int status = -1;

	/* Every other signal stays blocked (the main thread reads them from a
	 * signalfd); the kick must get through. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (status < 0) {
		set_immediate_exit(v, 0);
		if (atomic_load(&v->req) != VCPU_REQ_RUN) {
			if (!handle_request(v))
				break;
			continue;
		}
		if (!v->kernel_irqchip && inject_interrupt(v)) {
			status = MACHINE_EXIT_ERROR;
			break;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "vmm: KVM_RUN: %s\n", strerror(errno));
			status = MACHINE_EXIT_ERROR;
			break;
		}
		status = handle_exit(v);
	}
	if (status >= 0)
		(void)complete_pending_io(v);
	set_exited(v);
	if (status >= 0)
		machine_vcpu_exited(v->m, status);
	return NULL;
}

void vcpu_init(struct vcpu *v, struct machine *m, int fd, struct kvm_run *run)
{
	v->m = m;
	v->fd = fd;
	v->run = run;
	v->started = v->parked = v->exited = false;
	/* irq_line keeps what the devices drove while the VM was built. */
	atomic_init(&v->req, VCPU_REQ_PAUSE);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->inited = true;
}

void vcpu_use_kernel_irqchip(struct vcpu *v)
{
	v->kernel_irqchip = true;
}

int vcpu_start(struct vcpu *v)
{
	int err;

	err = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (err) {
		fprintf(stderr, "vmm: cannot create the vCPU thread: %s\n", strerror(err));
		return -1;
	}
	v->started = true;
	return 0;
}

void vcpu_pause(struct vcpu *v)
{
	if (!v->started)
		return;
	atomic_store(&v->req, VCPU_REQ_PAUSE);
	kick(v);
	pthread_mutex_lock(&v->mu);
	while (!v->parked && !v->exited)
		pthread_cond_wait(&v->cond, &v->mu);
	pthread_mutex_unlock(&v->mu);
}

bool vcpu_is_parked(struct vcpu *v)
{
	bool parked;

	if (!v->inited)
		return false;
	pthread_mutex_lock(&v->mu);
	parked = v->parked;
	pthread_mutex_unlock(&v->mu);
	return parked;
}

void vcpu_resume(struct vcpu *v)
{
	if (!v->started)
		return;
	pthread_mutex_lock(&v->mu);
	atomic_store(&v->req, VCPU_REQ_RUN);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->mu);
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->inited)
		return;
	if (v->started) {
		pthread_mutex_lock(&v->mu);
		atomic_store(&v->req, VCPU_REQ_EXIT);
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->mu);
		kick(v);
		pthread_join(v->thread, NULL);
		v->started = false;
	}
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cond);
	v->inited = false;
}
