/* bgsave.c - point-in-time snapshots by a forked writer (bgsave.h).
 *
 * fork() gives the child a copy-on-write image of the whole process at the
 * instant of the request: guest RAM, the device models, the clock, the
 * console's queue.  The child runs the registry's normal save on it
 * (snapshot_write), so every unit's format comes along unchanged.  Only the
 * vCPU cannot be read there: KVM refuses ioctls from another mm, so the
 * parent reads it first (cpu_state_read) and the cpu unit takes that copy
 * (bgsave_frozen_cpu).  Guest RAM is mapped with transparent huge pages
 * (kvm.c), so fork copies one page-table entry per 2 MiB, not per 4 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bgsave.h"
#include "vmm/clock.h"
#include "vmm/cpu_state.h"
#include "vmm/machine.h"
#include "vmm/snapshot.h"

void bgsave_init(struct bgsave *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

bool bgsave_running(const struct machine *m)
{
	return m->bg.pid > 0;
}

int bgsave_poll_fd(const struct machine *m)
{
	return m->bg.fd;
}

const struct cpu_snapshot *bgsave_frozen_cpu(const struct machine *m)
{
	return m->bg.in_child ? &m->bg.cpu : NULL;
}

/* Test hook (docs/architecture.md): the writer waits this long before it
 * writes, so a test can let the guest run well past the request first. */
static void test_delay(void)
{
	const char *s = getenv("VMM_TEST_BGSAVE_DELAY_MS");
	long ms = s ? strtol(s, NULL, 10) : 0;

	if (ms > 0 && ms <= 60000)
		nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000 }, NULL);
}

/* The child: save the frozen copy, say how it went on wfd, exit.  Only
 * this thread exists here; it never returns to the VMM's code. */
static void writer_main(struct machine *m, int wfd, pid_t parent, const char *path)
{
	char msg[560], line[580];
	int rc, n;

	/* A VMM that dies takes its writer with it (the temp file goes). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* The console belongs to the running VM: the copy never writes it. */
	serial_backend_detach_output(&m->backend);
	test_delay();
	rc = snapshot_write(m, path, msg, sizeof(msg));
	n = snprintf(line, sizeof(line), "%s", rc ? msg : "ok");
	if (n > 0)
		(void)!write(wfd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	_exit(rc ? 1 : 0);
}

/* While the writer ran, every guest write to a 2 MiB page split it into
 * 4 KiB entries, and the next fork would copy all of them (37 ms at 1 GiB
 * instead of 1).  A thread puts the huge pages back meanwhile. */
static void *collapse_main(void *arg)
{
	kvm_ram_collapse(arg);
	return NULL;
}

static void start_collapse(struct machine *m)
{
	struct bgsave *b = &m->bg;

	b->collapsing = pthread_create(&b->collapse, NULL, collapse_main, &m->kvm) == 0;
}

static void join_collapse(struct bgsave *b)
{
	if (b->collapsing)
		pthread_join(b->collapse, NULL);
	b->collapsing = false;
}

/* With the VM paused, before the fork: refuse a protected path, and for a
 * link of a chain read the child's dirty log (or start it for a base) at
 * this instant, so the writer needs no KVM call. */
static int chain_prepare(struct machine *m, const char *path, bool incr, char *err,
			 size_t errlen)
{
	int rc = chain_save_begin(m, path, incr, err, errlen);

	if (rc || !incr)
		return rc;
	if (chain_save_is_child(m) ? ram_incr_prefetch(m) : ram_incr_begin(m)) {
		snprintf(err, errlen, "cannot read or start the dirty log");
		ram_incr_settle(m, false);
		chain_save_detach(m);
		return SSM_ERR_CALLBACK;
	}
	return SSM_OK;
}

/* The writer's outcome for the chain (rc 0: the file is durable). */
static void chain_outcome(struct machine *m, int rc, char *info, size_t infolen)
{
	struct bgsave *b = &m->bg;

	if (b->incr && b->child)
		ram_incr_settle(m, rc == 0);
	chain_save_commit(m, b->path, b->incr, b->child, b->log_started, rc, info, infolen);
	b->incr = b->child = b->log_started = false;
}

int bgsave_start(struct machine *m, const char *path, bool incr, char *msg, size_t msglen)
{
	struct bgsave *b = &m->bg;
	char err[200];
	int p[2], rc;
	pid_t parent = getpid(), pid;
	uint64_t t0, t_stop, t_read, t_fork;
	bool running;

	msg[0] = 0;
	if (b->pid) {
		snprintf(msg, msglen, "a snapshot to %s is still being written", b->path);
		return SSM_ERR_BAD_STATE;
	}
	if (m->mig.running) {
		snprintf(msg, msglen, "a migration or live save is running");
		return SSM_ERR_BAD_STATE;
	}
	if (strlen(path) >= sizeof(b->path)) {
		snprintf(msg, msglen, "the file name is longer than %zu bytes", sizeof(b->path) - 1);
		return SSM_ERR_INVALID_ARG;
	}
	/* Before the pause: forking during the rebuild would wait for it. */
	join_collapse(b);
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return SSM_ERR_IO;
	}
	t0 = host_now_ns();
	/* A VM stopped by its owner (e.g. a monitor's stop) stays stopped. */
	running = atomic_load(&m->vcpu_may_run);
	machine_pause(m);
	t_stop = host_now_ns();
	/* What the guest wrote before the request reaches the console now;
	 * the child never writes it. */
	machine_lock(m);
	serial_backend_flush(&m->backend);
	machine_unlock(m);
	rc = cpu_state_read(&m->kvm, &b->cpu, err, sizeof(err));
	/* KVM's chips too: the writer cannot ask KVM for them either. */
	if (!rc && (rc = irqchip_units_capture(m, err, sizeof(err))) != 0)
		cpu_snapshot_free(&b->cpu);
	if (!rc) {
		rc = chain_prepare(m, path, incr, err, sizeof(err));
		if (rc)
			cpu_snapshot_free(&b->cpu);
	}
	if (rc) {
		if (running)
			machine_resume(m);
		close(p[0]);
		close(p[1]);
		snprintf(msg, msglen, "%s", err);
		return rc;
	}
	t_read = host_now_ns();
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		b->in_child = true;
		writer_main(m, p[1], parent, path);
	}
	t_fork = host_now_ns();
	cpu_snapshot_free(&b->cpu);
	b->incr = incr;
	b->child = chain_save_detach(m);
	b->log_started = incr && !b->child;
	if (running)
		machine_resume(m);
	b->pause_ns = host_now_ns() - t0;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		snprintf(b->path, sizeof(b->path), "%s", path);
		chain_outcome(m, SSM_ERR_NOMEM, err, sizeof(err));
		return SSM_ERR_NOMEM;
	}
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	b->pid = pid;
	b->fd = p[0];
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->t0_ns = t0;
	b->len = 0;
	fprintf(stderr, "%svmm: point-in-time snapshot for %s taken: guest paused %.3f ms "
		"(vCPU stop %.3f, CPU read %.3f, fork %.3f); writing it in the background\n",
		isatty(STDERR_FILENO) ? "\r\n" : "", path, (double)b->pause_ns / 1e6,
		(double)(t_stop - t0) / 1e6, (double)(t_read - t_stop) / 1e6,
		(double)(t_fork - t_read) / 1e6);
	return SSM_OK;
}

static void reap(struct machine *m, int st)
{
	struct bgsave *b = &m->bg;
	const char *nl = isatty(STDERR_FILENO) ? "\r\n" : "";
	/* After a power-off the VMM only waited for this write. */
	const char *runs = atomic_load(&m->exit_status) < 0 ? " and the VM keeps running" : "";
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && b->len == 2 &&
		  !memcmp(b->report, "ok", 2);
	char info[600];

	b->report[b->len] = 0;
	chain_outcome(m, ok ? 0 : SSM_ERR_IO, info, sizeof(info));
	if (ok)
		fprintf(stderr, "%svmm: saved to %s in %.3f s (point-in-time, guest paused "
			"%.3f ms, written in the background)%s; resume with: vmm --restore %s\n",
			nl, b->path, (double)(host_now_ns() - b->t0_ns) / 1e9,
			(double)b->pause_ns / 1e6, info, b->path);
	else if (WIFSIGNALED(st))
		fprintf(stderr, "%svmm: saving to %s failed: the background writer died of "
			"signal %d (%s); %s is unchanged%s\n", nl, b->path, WTERMSIG(st),
			strsignal(WTERMSIG(st)), b->path, runs);
	else
		fprintf(stderr, "%svmm: saving to %s failed: %s; %s is unchanged%s\n", nl,
			b->path, b->len ? b->report : "the background writer exited without "
			"a report", b->path, runs);
	machine_note_save_result(m, ok);
	b->pid = 0;
	b->len = 0;
	start_collapse(m);
}

void bgsave_collect(struct machine *m)
{
	struct bgsave *b = &m->bg;
	ssize_t n;
	int st;

	if (b->fd < 0)
		return;
	n = read(b->fd, b->report + b->len, sizeof(b->report) - 1 - b->len);
	if (n > 0) {
		b->len += (size_t)n;
		if (b->len < sizeof(b->report) - 1)
			return;
	} else if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	/* End of the report: the writer has exited or is about to. */
	close(b->fd);
	b->fd = -1;
	while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
		;
	reap(m, st);
}

void bgsave_abandon(struct machine *m)
{
	struct bgsave *b = &m->bg;
	int st;

	join_collapse(b);
	if (!b->pid)
		return;
	kill(b->pid, SIGKILL);
	while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
		;
	{
		char info[600];

		chain_outcome(m, SSM_ERR_CANCELLED, info, sizeof(info));
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->pid = 0;
	fprintf(stderr, "%svmm: point-in-time snapshot to %s abandoned; %s is unchanged\n",
		isatty(STDERR_FILENO) ? "\r\n" : "", b->path, b->path);
	machine_note_save_result(m, false);
}

void bgsave_wait(struct machine *m)
{
	while (m->bg.pid) {
		struct pollfd pfd[2] = {
			{ .fd = m->bg.fd, .events = POLLIN },
			{ .fd = m->signal_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			bgsave_abandon(m);
			return;
		}
		if (pfd[0].revents)
			bgsave_collect(m);
		while (m->bg.pid && read(m->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
			    si.ssi_signo == SIGQUIT || si.ssi_signo == SIGHUP)
				bgsave_abandon(m);
	}
}
