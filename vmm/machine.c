/* machine.c - device wiring, IRQ routing, PIT timer and the main loop. */
#include "vmm/machine.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/board.h"
#include "vmm/boot.h"
#include "vmm/irqchip.h"
#include "vmm/monitor.h"
#include "vmm/snapshot.h"
#include "vmm/units.h"

/* Signals that stop the VM cleanly; read from a signalfd. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				     MIGRATE_RESUME_SIGNAL };

/* ---- The VM lock ---- */

void machine_lock(struct machine *m)
{
	vm_lock_take(&m->vm_lock, __func__);
}

void machine_unlock(struct machine *m)
{
	vm_lock_release(&m->vm_lock, __func__);
}

/* For the accessors the SSM callbacks use: whether a flow runs them under
 * the VM lock or not, they read and write under it, and never deadlock. */
static bool lock_unless_held(struct machine *m)
{
	if (vm_lock_held(&m->vm_lock))
		return false;
	machine_lock(m);
	return true;
}

static void unlock_if(struct machine *m, bool taken)
{
	if (taken)
		machine_unlock(m);
}

void machine_check_devices(struct machine *m, const char *fn)
{
	if (vm_lock_held(&m->vm_lock))
		return;
	if (!vm_lock_at_home(&m->vm_lock) || atomic_load(&m->vcpu_may_run))
		vm_lock_violation(fn, "touches device state without the VM lock");
}

/* ---- IRQ routing (VM lock held, or the VM is being built or loaded) ---- */

static void pic_output(void *opaque, int level)
{
	struct machine *m = opaque;

	machine_assert_devices(m);
	/* The PIC's INT pin goes to the BSP (with --cpus > 1 the in-kernel
	 * irqchip routes interrupts instead). */
	vcpu_set_irq_line(&m->vcpu[0], level != 0);
}

static void pit_irq(void *opaque, int level)
{
	struct machine *m = opaque;

	machine_assert_devices(m);
	pic_set_irq(&m->pic, BOARD_PIT_IRQ, level);
}

static void serial_irq(void *opaque, int level)
{
	struct machine *m = opaque;

	machine_assert_devices(m);
	if (m->cfg.irqchip == IRQCHIP_KERNEL)
		(void)irqchip_set_line(m->kvm.vm_fd, BOARD_COM1_IRQ, level != 0);
	else
		pic_set_irq(&m->pic, BOARD_COM1_IRQ, level);
}

/* For the PIT's SSM callbacks, which run with the VM paused. */
static uint64_t machine_clock(void *opaque)
{
	struct machine *m = opaque;

	return vclock_now(&m->clock);
}

static void serial_tx(void *opaque, uint8_t byte)
{
	struct machine *m = opaque;

	machine_assert_locked(m);
	serial_backend_put(&m->backend, byte);
}

/* ---- Timer ---- */

static void wake_main(struct machine *m)
{
	uint64_t one = 1;

	/* Cannot fail short of a counter overflow; the loop drains it. */
	(void)!write(m->event_fd, &one, sizeof(one));
}

/* Point timer_fd at the PIT's next event (lock held). */
static void rearm_timer(struct machine *m)
{
	struct itimerspec its;
	uint64_t next = 0, host;

	machine_assert_locked(m);
	if (m->clock.running && m->cfg.irqchip == IRQCHIP_USER)
		next = pit_next_event_ns(&m->pit, vclock_now(&m->clock));
	if (next == UINT64_MAX)
		next = 0;
	if (next == m->timer_armed_ns)
		return;
	m->timer_armed_ns = next;
	memset(&its, 0, sizeof(its));
	if (next) {
		host = vclock_to_host(&m->clock, next);
		/* it_value 0 would disarm; an overdue deadline fires at once. */
		if (!host)
			host = 1;
		its.it_value.tv_sec = (time_t)(host / 1000000000u);
		its.it_value.tv_nsec = (long)(host % 1000000000u);
	}
	if (timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		fprintf(stderr, "vmm: timerfd_settime: %s\n", strerror(errno));
		m->timer_armed_ns = 0;
	}
}

/* IRQ 0 is still waiting in the master's IRR: another edge now would merge
 * with it and the guest would lose a tick. */
static bool tick_unacked(const struct machine *m)
{
	machine_assert_locked(m);
	return m->pic.st.chip[0].irr & (1u << BOARD_PIT_IRQ);
}

/* Deliver the PIT's next edge, or hold it until the CPU has taken the
 * previous one (lock held).  A late host or a guest sitting with IF=0 thus
 * gets its owed ticks one per acknowledge instead of silently merged; the
 * PIT itself drops what is more than PIT_MAX_LAG_NS late. */
static void timer_tick(struct machine *m)
{
	machine_assert_locked(m);
	if (tick_unacked(m)) {
		m->tick_deferred = true;
		return;         /* timer stays disarmed until the acknowledge */
	}
	m->tick_deferred = false;
	pit_update(&m->pit, vclock_now(&m->clock));
	rearm_timer(m);
}

/* ---- Port I/O handlers: devices see offsets, the board has the ports ---- */

/* Every handler runs from bus_io() under the VM lock (machine_pio). */
static struct machine *locked(void *dev)
{
	struct machine *m = dev;

	machine_assert_locked(m);
	return m;
}

static uint8_t pic_master_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);

	return pic_read(&m->pic, 0, off);
}

static void pic_master_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	pic_write(&m->pic, 0, off, val);
}

static uint8_t pic_slave_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);

	return pic_read(&m->pic, 1, off);
}

static void pic_slave_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	pic_write(&m->pic, 1, off, val);
}

static uint8_t elcr_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);

	return pic_elcr_read(&m->pic, off);
}

static void elcr_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	pic_elcr_write(&m->pic, off, val);
}

static uint8_t pit_port_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);

	return pit_read(&m->pit, off, vclock_now(&m->clock));
}

static void pit_port_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	pit_write(&m->pit, off, val, vclock_now(&m->clock));
	rearm_timer(m);
}

static uint8_t port61_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);

	(void)off;
	return pit_speaker_read(&m->pit, vclock_now(&m->clock));
}

static void port61_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	(void)off;
	pit_speaker_write(&m->pit, val, vclock_now(&m->clock));
	rearm_timer(m);
}

static uint8_t com1_read(void *dev, uint16_t off)
{
	struct machine *m = locked(dev);
	uint8_t v;

	v = serial_read(&m->serial, off);
	/* Reading RBR may have made room for input the main loop holds back. */
	if (m->rx_blocked && serial_can_receive(&m->serial)) {
		m->rx_blocked = false;
		wake_main(m);
	}
	return v;
}

static void com1_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	serial_write(&m->serial, off, val);
	/* An FCR write can reset the RX FIFO. */
	if (m->rx_blocked && serial_can_receive(&m->serial)) {
		m->rx_blocked = false;
		wake_main(m);
	}
}

static void poweroff_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = locked(dev);

	(void)off;
	machine_end(m, (int)val);
}

static int wire_bus(struct machine *m)
{
	struct bus *b = &m->bus;

	bus_init(b);
	/* The kernel irqchip answers these ports itself (irqchip.h). */
	if (m->cfg.irqchip == IRQCHIP_USER &&
	    (bus_register(b, BOARD_PIC_MASTER_BASE, BOARD_PIC_MASTER_LEN, "pic-master", m,
			  pic_master_read, pic_master_write) ||
	     bus_register(b, BOARD_PIC_SLAVE_BASE, BOARD_PIC_SLAVE_LEN, "pic-slave", m,
			  pic_slave_read, pic_slave_write) ||
	     bus_register(b, BOARD_ELCR_BASE, BOARD_ELCR_LEN, "elcr", m,
			  elcr_read, elcr_write) ||
	     bus_register(b, BOARD_PIT_BASE, BOARD_PIT_LEN, "pit", m,
			  pit_port_read, pit_port_write) ||
	     bus_register(b, BOARD_PORT61, 1, "port61", m, port61_read, port61_write)))
		return -1;
	if (bus_register(b, BOARD_COM1_BASE, BOARD_COM1_LEN, "com1", m,
			 com1_read, com1_write) ||
	    bus_register(b, BOARD_POWEROFF_PORT, 1, "poweroff", m, NULL, poweroff_write) ||
	    machine_wire_guest_devices(m))
		return -1;
	return 0;
}

/* ---- vCPU thread entry points ---- */

int machine_pio(struct machine *m, uint16_t port, bool out, unsigned size,
		unsigned count, uint8_t *data)
{
	if (size != 1 && size != 2 && size != 4) {
		fprintf(stderr, "vmm: port 0x%x: %u-byte access\n", port, size);
		return MACHINE_EXIT_ERROR;
	}
	machine_lock(m);
	for (unsigned i = 0; i < count; i++, data += size) {
		uint32_t val = 0;

		if (out)
			memcpy(&val, data, size);
		bus_io(&m->bus, port, out, size, &val);
		if (!out)
			memcpy(data, &val, size);
	}
	/* One host write per exit, not per byte. */
	serial_backend_flush(&m->backend);
	machine_unlock(m);
	return atomic_load(&m->exit_status);
}

int machine_irq_ack(struct machine *m)
{
	int vec = -1;

	machine_lock(m);
	if (atomic_load(&m->vcpu[0].irq_line))
		vec = pic_ack(&m->pic);
	if (m->tick_deferred && m->clock.running && !tick_unacked(m))
		timer_tick(m);
	machine_unlock(m);
	return vec;
}

void machine_vcpu_exited(struct machine *m, int status)
{
	machine_end(m, status);
	wake_main(m);
}

bool machine_end(struct machine *m, int status)
{
	int expected = -1;

	return atomic_compare_exchange_strong(&m->exit_status, &expected, status);
}

bool machine_has_started(struct machine *m)
{
	return atomic_load(&m->started_once);
}

void machine_set_kernel_facts(struct machine *m, uint64_t size, uint32_t crc)
{
	m->kernel_size = size;
	m->kernel_crc = crc;
}

void machine_set_boot_facts(struct machine *m, const struct boot_facts *f)
{
	m->boot = *f;
}

/* The cpu unit's callbacks run with the vCPU parked, with or without the
 * VM lock depending on the flow; either way the state is read under it. */
void machine_get_irq_state(struct machine *m, bool *line, bool *tick_deferred)
{
	bool take = lock_unless_held(m);

	*line = atomic_load(&m->vcpu[0].irq_line);
	*tick_deferred = m->tick_deferred;
	unlock_if(m, take);
}

void machine_set_irq_state(struct machine *m, bool line, bool tick_deferred)
{
	bool take = lock_unless_held(m);

	vcpu_set_irq_line(&m->vcpu[0], line);
	m->tick_deferred = tick_deferred;
	unlock_if(m, take);
}

void machine_set_stop_action(struct machine *m, const char *save_path, bool cont,
			     uint64_t after_ns, const struct migrate_opts *mig)
{
	m->save_path = save_path;
	m->save_continue = cont;
	m->save_after_ns = after_ns;
	m->stop_mig = *mig;
	migrate_set_opts(&m->mig, mig);
}

/* ---- Lifecycle ---- */

static int open_host_fds(struct machine *m)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	/* Blocked in this thread and, inherited, in the vCPU thread, which
	 * unblocks only the kick for itself. */
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->signal_fd < 0) {
		fprintf(stderr, "vmm: signalfd: %s\n", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);       /* a closed stdout is an EPIPE, not death */
	if (vcpu_setup_signals())
		return -1;

	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->timer_fd < 0) {
		fprintf(stderr, "vmm: timerfd_create: %s\n", strerror(errno));
		return -1;
	}
	m->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->event_fd < 0) {
		fprintf(stderr, "vmm: eventfd: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int machine_init(struct machine *m)
{
	memset(m, 0, sizeof(*m));
	m->signal_fd = m->timer_fd = m->event_fd = m->save_timer_fd = -1;
	migrate_init(&m->mig);
	bgsave_init(&m->bg);
	serial_backend_init(&m->backend);
	kvm_vm_init(&m->kvm);
	atomic_init(&m->exit_status, -1);
	m->irqchip_required = -1;

	vm_lock_init(&m->vm_lock);
	atomic_init(&m->vcpu_may_run, false);
	atomic_init(&m->started_once, false);
	if (open_host_fds(m))
		return -1;
	vclock_init(&m->clock, 0);
	pic_init(&m->pic, pic_output, m);
	pit_init(&m->pit, pit_irq, machine_clock, m, vclock_now(&m->clock));
	serial_init(&m->serial, serial_tx, serial_irq, m);
	machine_init_guest_devices(m);
	m->ssm = ssm_create(m);
	if (!m->ssm) {
		fprintf(stderr, "vmm: out of memory\n");
		return -1;
	}
	if (units_register(m, m->ssm)) {
		fprintf(stderr, "vmm: registering state units: %s\n", ssm_last_error(m->ssm));
		return -1;
	}
	return 0;
}

int machine_build(struct machine *m, const struct machine_config *cfg)
{
	m->cfg = *cfg;
	m->cfg.ncpus = machine_ncpus(m);
	if (machine_vcpus_init(m))
		return -1;
	if (m->cfg.cpu && kvm_use_cpu_model(&m->kvm, m->cfg.cpu))
		return -1;
	/* Busy only when an incoming load builds the VM: migrate_dst.c
	 * selects after the load. */
	(void)units_select_irqchip(m);
	/* Before any state is loaded: fw_cfg at reset with this RAM size and
	 * vCPU count. */
	fw_cfg_init(&m->fw_cfg, cfg->ram_size, m->cfg.ncpus);
	if (wire_bus(m))
		return -1;
	/* The console opens last: raw mode is in force only once nothing
	 * else can fail before the loop runs. */
	if (serial_backend_open(&m->backend, cfg->serial, cfg->serial_append))
		return -1;
	if (machine_vcpus_start_threads(m))
		return -1;
	m->built = true;
	return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg)
{
	if (machine_init(m) || machine_build(m, cfg))
		return -1;
	units_fit_cpus(m);
	return 0;
}

int machine_boot(struct machine *m)
{
	struct boot_facts f;

	if (boot_setup(&m->kvm, m->cfg.kernel, m->cfg.cmdline, m->cfg.modules,
		       m->cfg.nmodules, &f))
		return -1;
	machine_set_kernel_facts(m, f.kernel.size, f.kernel.crc);
	machine_set_boot_facts(m, &f);
	/* Only the BSP got the entry state; the APs wait for the guest's
	 * INIT/SIPI. */
	return machine_vcpus_await_sipi(m);
}

void machine_start(struct machine *m)
{
	machine_lock(m);
	vclock_start(&m->clock);
	rearm_timer(m);
	atomic_store(&m->started_once, true);
	atomic_store(&m->vcpu_may_run, true);
	machine_unlock(m);
	machine_vcpus_resume(m);
}

void machine_pause(struct machine *m)
{
	machine_vcpus_pause(m);
	atomic_store(&m->vcpu_may_run, false);
	machine_lock(m);
	vclock_stop(&m->clock);
	rearm_timer(m);         /* a stopped clock disarms it */
	machine_unlock(m);
}

void machine_resume(struct machine *m)
{
	machine_start(m);
}

void machine_freeze_devices(struct machine *m, bool frozen)
{
	machine_lock(m);
	m->devices_frozen = frozen;
	/* Input held back by the freeze is looked at again. */
	if (!frozen && m->rx_blocked) {
		m->rx_blocked = false;
		wake_main(m);
	}
	machine_unlock(m);
}

uint64_t machine_clock_ns(struct machine *m)
{
	bool take = lock_unless_held(m);
	uint64_t ns = vclock_now(&m->clock);

	unlock_if(m, take);
	return ns;
}

void machine_clock_restore(struct machine *m, uint64_t ns)
{
	bool take = lock_unless_held(m);

	vclock_init(&m->clock, ns);
	unlock_if(m, take);
}

/* ---- Main loop ---- */

static bool has_stop_action(const struct machine *m)
{
	return m->save_path || m->stop_mig.target || m->stop_mig.live_file;
}

static void on_signal(struct machine *m)
{
	struct signalfd_siginfo si;

	while (read(m->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (migrate_signal(m, (int)si.ssi_signo))
			continue;
		/* With --save or --migrate, Ctrl-C and SIGTERM (and SIGUSR1)
		 * mean "suspend / migrate now"; SIGQUIT and SIGHUP still just
		 * stop. */
		if (si.ssi_signo == SIGUSR1 && !has_stop_action(m)) {
			fprintf(stderr, "vmm: SIGUSR1 ignored: no --migrate or --save given\n");
			continue;
		}
		if (has_stop_action(m) && (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
					   si.ssi_signo == SIGUSR1)) {
			m->save_requested = true;
			continue;
		}
		bgsave_abandon(m);      /* quitting: no waiting for a writer */
		if (machine_end(m, 128 + (int)si.ssi_signo))
			/* On a console the guest's line may be half written. */
			fprintf(stderr, "%svmm: %s, stopping\n",
				isatty(STDERR_FILENO) ? "\r\n" : "",
				strsignal((int)si.ssi_signo));
	}
}

static void on_timer(struct machine *m)
{
	uint64_t expirations;

	if (read(m->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;         /* EAGAIN: re-armed since it fired */
	machine_lock(m);
	m->timer_armed_ns = 0;  /* one-shot: it is disarmed now */
	if (m->clock.running && !m->devices_frozen)
		timer_tick(m);
	machine_unlock(m);
}

static void on_input(struct machine *m)
{
	uint8_t buf[SERIAL_FIFO_SIZE];
	size_t room;
	ssize_t n;

	/* Read no more than the UART takes: the rest stays in the host's
	 * buffer, which is the back-pressure. */
	machine_lock(m);
	/* Frozen: the migration thread is saving the UART; the input waits
	 * (rx_blocked takes the fd out of the poll set until the thaw). */
	room = m->devices_frozen ? 0 : serial_can_receive(&m->serial);
	if (!room)
		m->rx_blocked = true;
	machine_unlock(m);
	if (!room)
		return;
	n = serial_backend_read(&m->backend, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n <= 0)
		return;
	machine_lock(m);
	serial_receive(&m->serial, buf, (size_t)n);
	serial_rx_idle(&m->serial);
	machine_unlock(m);
}

/* Suspend to save_path: on success the VM ends (exit 0); on failure it
 * keeps running and says so. */
static void do_save(struct machine *m)
{
	char msg[600];

	m->save_requested = false;
	if (m->save_background && m->save_continue) {
		const char *path = chain_enabled(m) ? chain_next_path(m, m->save_path) :
				   m->save_path;

		if (snapshot_point_in_time(m, path, chain_enabled(m), msg, sizeof(msg)))
			fprintf(stderr, "%svmm: no snapshot to %s: %s; the VM keeps running\n",
				isatty(STDERR_FILENO) ? "\r\n" : "", path, msg);
		return;
	}
	if (chain_enabled(m) && m->save_continue)
		(void)machine_save_incremental(m, chain_next_path(m, m->save_path), msg,
					       sizeof(msg));
	else
		(void)machine_save_now(m, m->save_path, m->save_continue, msg, sizeof(msg));
}

static int arm_save_timer(struct machine *m)
{
	struct itimerspec its;

	if (!m->save_after_ns)
		return 0;
	m->save_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->save_timer_fd < 0) {
		fprintf(stderr, "vmm: timerfd_create: %s\n", strerror(errno));
		return -1;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(m->save_after_ns / 1000000000u);
	its.it_value.tv_nsec = (long)(m->save_after_ns % 1000000000u);
	if (timerfd_settime(m->save_timer_fd, 0, &its, NULL) < 0) {
		fprintf(stderr, "vmm: timerfd_settime: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int machine_run(struct machine *m)
{
	if (arm_save_timer(m))
		return MACHINE_EXIT_ERROR;
	while (atomic_load(&m->exit_status) < 0) {
		struct pollfd pfd[7 + MONITOR_POLL_FDS] = {
			{ .fd = m->signal_fd, .events = POLLIN },
			{ .fd = m->timer_fd, .events = POLLIN },
			{ .fd = m->event_fd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
			{ .fd = m->save_timer_fd, .events = POLLIN },
			{ .fd = m->mig.done_fd, .events = POLLIN },
			{ .fd = bgsave_poll_fd(m), .events = POLLIN },
		};
		uint64_t ev;
		bool blocked;
		int nmon = monitor_poll_fds(m->monitor, &pfd[7]);

		machine_lock(m);
		blocked = m->rx_blocked;
		machine_unlock(m);
		if (!blocked)
			pfd[3].fd = serial_backend_input_fd(&m->backend);

		if (poll(pfd, (nfds_t)(7 + nmon), -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmm: poll: %s\n", strerror(errno));
			return MACHINE_EXIT_ERROR;
		}
		if (pfd[0].revents)
			on_signal(m);
		if (pfd[1].revents)
			on_timer(m);
		if (pfd[2].revents)
			(void)!read(m->event_fd, &ev, sizeof(ev));
		if (pfd[3].revents)
			on_input(m);
		if (pfd[4].revents) {
			uint64_t exp;

			(void)!read(m->save_timer_fd, &exp, sizeof(exp));
			m->save_requested = true;
		}
		if (pfd[5].revents)
			migrate_finish(m);
		if (pfd[6].revents)
			bgsave_collect(m);
		if (m->save_requested && atomic_load(&m->exit_status) < 0) {
			m->save_requested = false;
			if (m->stop_mig.target || m->stop_mig.live_file)
				(void)machine_migrate_now(m, &m->stop_mig);
			else
				do_save(m);
		}
		monitor_service(m->monitor, &pfd[7], nmon);
	}
	/* The VM has ended: no vCPU runs guest code any more, whichever of
	 * them (or which signal) ended it. */
	machine_vcpus_end(m);
	/* The guest may power off while a migration copies it. */
	migrate_abort(m);
	/* ... or while a snapshot of it is written: that file was asked for. */
	bgsave_wait(m);
	return atomic_load(&m->exit_status);
}

void machine_destroy(struct machine *m)
{
	bgsave_abandon(m);
	machine_vcpus_release(m);
	if (m->vm_lock.ready) {
		machine_lock(m);
		serial_backend_close(&m->backend);
		machine_unlock(m);
		vm_lock_destroy(&m->vm_lock);
	}
	kvm_vm_destroy(&m->kvm);
	migrate_destroy(m);
	ram_live_free(m);
	chain_free(m);
	ssm_destroy(m->ssm);
	m->ssm = NULL;
	free(m->loaded_cfg);
	m->loaded_cfg = NULL;
	if (m->save_timer_fd >= 0)
		close(m->save_timer_fd);
	if (m->event_fd >= 0)
		close(m->event_fd);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	m->event_fd = m->timer_fd = m->signal_fd = m->save_timer_fd = -1;
}
