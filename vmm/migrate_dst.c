/* migrate_dst.c - the destination: accept one connection, load the stream
 * under an overall deadline and a stall deadline (both interruptible by a
 * stop signal), answer READY, and run the guest only after GO.
 *
 * A destination that does not get GO exits without ever starting the vCPU:
 * the source still has the guest (docs/migration.md). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/migrate.h"
#include "vmm/units.h"
#include "vmm/migrate_priv.h"

/* Why an incoming stream stopped early, besides what libssm says. */
enum in_stop { IN_OK, IN_DEADLINE, IN_STALL, IN_SIGNAL, IN_CLOSED };

/* The socket as an SSM stream whose reads wait at most until the next
 * deadline and give way to a stop signal. */
struct in_stream {
	struct mig_link *l;
	int sig_fd;
	uint64_t deadline;         /* whole stream, host ns */
	uint64_t stall_ns;
	enum in_stop stop;
	int signo;
};

/* A stop signal pending on sig_fd?  SIGUSR1/SIGUSR2 mean nothing here. */
static int take_stop_signal(int sig_fd)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGUSR1 && si.ssi_signo != MIGRATE_RESUME_SIGNAL)
			return (int)si.ssi_signo;
	return 0;
}

static int in_read(void *user, void *buf, size_t n, size_t *got)
{
	struct in_stream *is = user;

	*got = 0;
	while (*got < n) {
		uint64_t now = host_now_ns(), until = now + is->stall_ns;
		struct pollfd p[2] = { { .fd = is->l->fd, .events = POLLIN },
				       { .fd = is->sig_fd, .events = POLLIN } };
		ssize_t r;
		int pr;

		if (until > is->deadline)
			until = is->deadline;
		pr = mig_link_poll(is->l, p, mig_ms_left(until));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return SSM_ERR_IO;
		if (p[1].revents && (is->signo = take_stop_signal(is->sig_fd))) {
			is->stop = IN_SIGNAL;
			return SSM_ERR_CANCELLED;
		}
		if (pr == 0 || (!p[0].revents && host_now_ns() >= until)) {
			is->stop = host_now_ns() >= is->deadline ? IN_DEADLINE : IN_STALL;
			return SSM_ERR_TIMEOUT;
		}
		if (!p[0].revents)
			continue;
		r = mig_link_recv(is->l, (char *)buf + *got, n - *got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			is->stop = IN_CLOSED;
			return SSM_ERR_CONN_LOST;
		}
		if (r == 0) {
			is->stop = IN_CLOSED;
			return SSM_OK;          /* short: end of stream */
		}
		*got += (size_t)r;
	}
	return SSM_OK;
}

static int in_close(void *user, bool ok)
{
	(void)user;
	(void)ok;
	return SSM_OK;                  /* the socket outlives the stream */
}

static const ssm_stream_ops in_ops = { .read = in_read, .close = in_close };

/* Wait for the connection; the accepted fd, or -1 with *status set. */
static int wait_connection(struct machine *m, const char *spec, int *status)
{
	struct pollfd p[2];
	char why[700];
	int lfd, fd, sig;

	lfd = mig_tcp_open(spec, true, -1, 0, why, sizeof(why));
	if (lfd < 0) {
		fprintf(stderr, "vmm: --incoming %s\n", why);
		*status = MACHINE_EXIT_ERROR;
		return -1;
	}
	fprintf(stderr, "vmm: waiting for a migration on %s\n", spec);
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = m->signal_fd, .events = POLLIN };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "vmm: poll: %s\n", strerror(errno));
			close(lfd);
			*status = MACHINE_EXIT_ERROR;
			return -1;
		}
		if (p[1].revents && (sig = take_stop_signal(m->signal_fd))) {
			fprintf(stderr, "vmm: %s while waiting for a migration\n", strsignal(sig));
			close(lfd);
			*status = 128 + sig;
			return -1;
		}
		if (p[0].revents)
			break;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		fprintf(stderr, "vmm: accept: %s\n", strerror(errno));
		*status = MACHINE_EXIT_ERROR;
	}
	return fd;
}

/* tls: the TLS handshake, under the stream's deadlines and stop signals,
 * before a byte of state is read.  0, or the exit status (printed). */
static int secure(struct machine *m, struct mig_link *l, const char *spec, uint64_t deadline)
{
	const struct migrate_opts *o = &m->mig.o;
	uint64_t stall = host_now_ns() + o->stall_timeout_ns;
	char why[400];
	int r, sig = 0;

	if (stall < deadline)
		deadline = stall;
	do {
		r = mig_link_secure(l, spec, true, &o->tls, m->signal_fd, deadline, why,
				    sizeof(why));
	} while (r == TLS_HS_WOKEN && !(sig = take_stop_signal(m->signal_fd)));
	if (r == TLS_HS_DONE)
		return 0;
	mig_link_close(l);
	if (sig) {
		fprintf(stderr, "vmm: %s during the TLS handshake; the guest did not run "
			"here\n", strsignal(sig));
		return 128 + sig;
	}
	fprintf(stderr, "vmm: incoming migration refused: %s%s; the guest did not run here\n",
		why, r == TLS_HS_TIMEOUT ? " (--stall-timeout / --incoming-timeout)" : "");
	return MACHINE_EXIT_ERROR;
}

/* The load failed or stopped: tell the source (best effort), say why here. */
static int refuse(struct machine *m, struct mig_link *l, const struct in_stream *is, int rc,
		  const char *why)
{
	const struct migrate_opts *o = &m->mig.o;
	char msg[600];

	if (is->stop == IN_SIGNAL)
		snprintf(msg, sizeof(msg), "the destination was stopped (%s)",
			 strsignal(is->signo));
	else if (is->stop == IN_DEADLINE)
		snprintf(msg, sizeof(msg), "the stream did not arrive within %g s "
			 "(--incoming-timeout)", (double)o->incoming_timeout_ns / 1e9);
	else if (is->stop == IN_STALL)
		snprintf(msg, sizeof(msg), "the source sent nothing for %g s (--stall-timeout)",
			 (double)o->stall_timeout_ns / 1e9);
	else if (why)
		snprintf(msg, sizeof(msg), "%s", why);
	else
		snprintf(msg, sizeof(msg), "%s", ssm_last_error(m->ssm)[0] ?
			 ssm_last_error(m->ssm) : ssm_strerror(rc ? rc : SSM_ERR_FORMAT));
	mig_send_line(l, "ERROR", msg);
	mig_link_close(l);
	/* A stream cut short means the source stopped: it aborted (it says
	 * why on its side) or died. */
	fprintf(stderr, "vmm: incoming migration failed: %s%s; the guest did not run here\n",
		is->stop == IN_CLOSED || rc == SSM_ERR_TRUNCATED ? "the source stopped sending: " :
		"", msg);
	return is->stop == IN_SIGNAL ? 128 + is->signo : MACHINE_EXIT_ERROR;
}

/* After READY: 0 on GO, else the exit status (printed). */
static int wait_go(struct machine *m, const struct mig_link *l)
{
	uint64_t deadline = host_now_ns() + m->mig.o.stall_timeout_ns;
	char line[MIG_LINE_MAX];
	const char *what;
	int r, sig;

	for (;;) {
		r = mig_read_line(l, m->signal_fd, deadline, line, sizeof(line));
		if (r != MIG_LINE_WOKEN)
			break;
		sig = take_stop_signal(m->signal_fd);
		if (sig) {
			fprintf(stderr, "vmm: %s while waiting for the source's GO; the guest "
				"did not run here\n", strsignal(sig));
			return 128 + sig;
		}
	}
	if (r == 1 && !strcmp(line, "GO"))
		return 0;
	what = r == 1 ? "an unexpected line instead" : r == MIG_LINE_EOF ? "the connection closed" :
	       r == MIG_LINE_TIMEOUT ? "none within --stall-timeout" : "a receive error";
	fprintf(stderr, "vmm: incoming migration: no GO from the source (%s); the guest did "
		"not run here, the source keeps it\n", what);
	return MACHINE_EXIT_ERROR;
}

int migrate_incoming(struct machine *m, const char *spec)
{
	struct migrate_opts *o = &m->mig.o;
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .after = SSM_AFTER_RESUME };
	struct in_stream is = { .sig_fd = m->signal_fd };
	ssm_stream st = { .ops = &in_ops, .user = &is };
	struct mig_link l = { .fd = -1 };
	char why[400];
	uint64_t t0;
	int rc, status = 0;

	if (!o->incoming_timeout_ns)
		o->incoming_timeout_ns = MIGRATE_DEFAULT_INCOMING_TIMEOUT_NS;
	if (!o->stall_timeout_ns)
		o->stall_timeout_ns = MIGRATE_DEFAULT_STALL_TIMEOUT_NS;
	l.fd = wait_connection(m, spec, &status);
	if (l.fd < 0)
		return status;
	mig_sockopts(l.fd, o->stall_timeout_ns);
	t0 = host_now_ns();
	is.l = &l;
	is.deadline = t0 + o->incoming_timeout_ns;
	is.stall_ns = o->stall_timeout_ns;
	status = secure(m, &l, spec, is.deadline);
	if (status)
		return status;
	rc = ssm_load(m->ssm, st, &lo);
	if (rc || !m->built)
		return refuse(m, &l, &is, rc, NULL);
	/* A stream lacking a mandatory unit is refused before READY; the
	 * irqchip mode came with it, and so which units later saves hold. */
	if (units_check_complete(m, why, sizeof(why)) || units_select_irqchip(m))
		return refuse(m, &l, &is, SSM_ERR_FORMAT, why);
	/* Everything is loaded and checked; the vCPU has not run.  Only GO
	 * may start it: without GO the source keeps (or resumes) the guest. */
	if (!mig_send_line(&l, "READY", NULL)) {
		fprintf(stderr, "vmm: incoming migration: the source went away before the "
			"handshake (%s); the guest did not run here\n", strerror(errno));
		mig_link_close(&l);
		return MACHINE_EXIT_ERROR;
	}
	status = wait_go(m, &l);
	if (status) {
		mig_link_close(&l);
		return status;
	}
	machine_start(m);
	/* The guest runs here now, whatever becomes of this line: a source
	 * that misses it stays paused until its operator decides. */
	if (!mig_send_line(&l, "RUNNING", NULL))
		fprintf(stderr, "vmm: incoming migration: could not confirm RUNNING to the "
			"source (%s); it stays paused there\n", strerror(errno));
	mig_link_close(&l);
	fprintf(stderr, "vmm: migration received in %.3f s; the guest runs here\n",
		(double)(host_now_ns() - t0) / 1e9);
	return 0;
}
