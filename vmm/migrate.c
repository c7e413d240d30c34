/* migrate.c - what both ends of a migration share (TCP, control lines) and
 * the main thread's side of the source: start, finish, abort, and the
 * operator's decision when a migration is in doubt. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/migrate.h"
#include "vmm/migrate_priv.h"

void *migrate_src_thread(void *arg);   /* migrate_src.c */

int mig_ms_left(uint64_t deadline_ns)
{
	uint64_t now = host_now_ns();

	if (now >= deadline_ns)
		return 0;
	if (deadline_ns - now > 3600ull * 1000000000)
		return 3600 * 1000;
	return (int)((deadline_ns - now + 999999) / 1000000);
}

void mig_sockopts(int fd, uint64_t stall_ns)
{
	struct timeval tv = { .tv_sec = (time_t)(stall_ns / 1000000000u),
			      .tv_usec = (suseconds_t)(stall_ns % 1000000000u / 1000) };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Non-blocking connect, so that an abort or the deadline ends the wait. */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t salen, int wake_fd,
			uint64_t timeout_ns)
{
	uint64_t deadline = host_now_ns() + timeout_ns;
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (connect(fd, sa, salen) < 0) {
		if (errno != EINPROGRESS)
			return -1;
		for (;;) {
			struct pollfd p[2] = { { .fd = fd, .events = POLLOUT },
					       { .fd = wake_fd, .events = POLLIN } };
			int pr = poll(p, 2, mig_ms_left(deadline));

			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return -1;
			if (pr == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (p[1].revents) {
				errno = ECANCELED;
				return -1;
			}
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -1;
		if (err) {
			errno = err;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, fl);
}

int mig_tcp_open(const char *spec, bool listening, int wake_fd, uint64_t timeout_ns,
		 char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	const char *host, *port;
	char *buf;
	int fd = -1, err, one = 1;

	if (migrate_parse_addr(spec, &buf, &host, &port)) {
		snprintf(why, len, "%s: expected tcp:HOST:PORT or tls:HOST:PORT", spec);
		return -1;
	}
	hints.ai_flags = listening ? AI_PASSIVE : 0;
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		snprintf(why, len, "%s: %s", spec, gai_strerror(err));
		free(buf);
		return -1;
	}
	snprintf(why, len, "%s: no usable address", spec);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 1))
				break;
		} else if (!connect_wait(fd, ai->ai_addr, ai->ai_addrlen, wake_fd, timeout_ns)) {
			break;
		}
		snprintf(why, len, "%s: %s", spec, errno == ECANCELED ?
			 "cancelled while connecting" : strerror(errno));
		close(fd);
		fd = -1;
		if (errno == ECANCELED)
			break;
	}
	freeaddrinfo(res);
	free(buf);
	if (fd >= 0)
		why[0] = 0;     /* a later failure must not read as this one */
	return fd;
}

int mig_read_line(const struct mig_link *l, int wake_fd, uint64_t deadline_ns, char *line,
		  size_t len)
{
	size_t n = 0;

	while (n < len - 1) {
		struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN },
				       { .fd = wake_fd, .events = POLLIN } };
		ssize_t r;
		int pr = mig_link_poll(l, p, mig_ms_left(deadline_ns));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return MIG_LINE_BAD;
		if (pr == 0)
			return MIG_LINE_TIMEOUT;
		if (p[1].revents)
			return MIG_LINE_WOKEN;
		/* One byte at a time: nothing after the line is consumed. */
		r = mig_link_recv(l, line + n, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return MIG_LINE_BAD;
		if (r == 0)
			return MIG_LINE_EOF;
		if (line[n] == '\n') {
			line[n] = 0;
			return 1;
		}
		n++;
	}
	line[n] = 0;
	return MIG_LINE_BAD;
}

bool mig_send_line(const struct mig_link *l, const char *word, const char *msg)
{
	char line[MIG_LINE_MAX];
	int n = snprintf(line, sizeof(line), "%s%s%s\n", word, msg ? " " : "", msg ? msg : "");

	if (n < 0 || n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	/* One line: a message must not smuggle in a second one. */
	for (int i = 0; i < n - 1; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n - 1] = '\n';
	if (l->tls)
		return tls_session_send(l->tls, line, (size_t)n) == SSM_OK;
	return send(l->fd, line, (size_t)n, MSG_NOSIGNAL) == n;
}

/* ---- source, main thread ---------------------------------------------------- */

int migrate_start(struct machine *m)
{
	struct migration *mg = &m->mig;
	uint64_t v;
	int err;

	if (mg->running)
		return -1;
	if (mg->in_doubt) {
		fprintf(stderr, "vmm: no new migration: the last one is unconfirmed and the "
			"guest may run on its destination (SIGUSR2 resumes it here, SIGTERM "
			"quits)\n");
		return -1;
	}
	if (!mg->sock_mu_ready) {
		pthread_mutex_init(&mg->sock_mu, NULL);
		mg->sock_mu_ready = true;
		mg->sock = -1;
	}
	if (mg->done_fd < 0)
		mg->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mg->abort_fd < 0)
		mg->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mg->done_fd < 0 || mg->abort_fd < 0) {
		fprintf(stderr, "vmm: eventfd: %s\n", strerror(errno));
		return -1;
	}
	(void)!read(mg->abort_fd, &v, sizeof(v));   /* an old abort does not count */
	ssm_cancel_arm(m->ssm, false);
	if (!mg->o.stall_timeout_ns)
		mg->o.stall_timeout_ns = MIGRATE_DEFAULT_STALL_TIMEOUT_NS;
	fprintf(stderr, "%svmm: %s %s (max downtime %u ms)\n",
		isatty(STDERR_FILENO) ? "\r\n" : "",
		mg->o.target ? "migrating to" : "live-saving to",
		mg->o.target ? mg->o.target : mg->o.live_file, mg->o.max_downtime_ms);
	err = pthread_create(&mg->thread, NULL, migrate_src_thread, m);
	if (err) {
		fprintf(stderr, "vmm: cannot start the migration thread: %s\n", strerror(err));
		return -1;
	}
	mg->running = true;
	return 0;
}

void migrate_finish(struct machine *m)
{
	struct migration *mg = &m->mig;
	uint64_t v;

	(void)!read(mg->done_fd, &v, sizeof(v));
	if (!mg->running)
		return;
	pthread_join(mg->thread, NULL);
	mg->running = false;
	mg->in_doubt = mg->result_doubt;
	/* The last attempt decides: one that succeeds clears an earlier failure. */
	machine_note_save_result(m, mg->result == 0);
	if (mg->result == 0 && mg->vm_gone)
		machine_end(m, 0);
}

void migrate_abort(struct machine *m)
{
	struct migration *mg = &m->mig;
	uint64_t one = 1;

	if (!mg->running)
		return;
	/* Armed rather than a plain cancel: the thread may not have begun
	 * its save yet.  The eventfd ends a connect or a wait for a reply;
	 * shutdown ends a send or receive blocked in the kernel. */
	ssm_cancel_arm(m->ssm, true);
	(void)!write(mg->abort_fd, &one, sizeof(one));
	pthread_mutex_lock(&mg->sock_mu);
	if (mg->sock >= 0)
		shutdown(mg->sock, SHUT_RDWR);
	pthread_mutex_unlock(&mg->sock_mu);
	pthread_join(mg->thread, NULL);
	mg->running = false;
	mg->in_doubt = mg->result_doubt;
	ssm_cancel_arm(m->ssm, false);
}

bool migrate_signal(struct machine *m, int signo)
{
	struct migration *mg = &m->mig;

	if (signo == MIGRATE_RESUME_SIGNAL) {
		if (!mg->in_doubt) {
			fprintf(stderr, "vmm: SIGUSR2 ignored: no unconfirmed migration "
				"waits for a decision\n");
			return true;
		}
		mg->in_doubt = false;
		fprintf(stderr, "vmm: SIGUSR2: resuming the guest here, as the operator "
			"decided after the unconfirmed migration\n");
		machine_resume(m);
		ram_live_reset(m);
		machine_note_save_result(m, false);
		return true;
	}
	if (!mg->in_doubt)
		return false;
	if (signo == SIGUSR1) {
		fprintf(stderr, "vmm: SIGUSR1 refused: the last migration is unconfirmed "
			"(SIGUSR2 resumes the guest here, SIGTERM quits)\n");
		return true;
	}
	if (signo == SIGINT || signo == SIGTERM) {
		if (machine_end(m, 128 + signo))
			fprintf(stderr, "vmm: %s: quitting; the guest was not resumed here\n",
				strsignal(signo));
		return true;
	}
	return false;
}

void migrate_init(struct migration *mg)
{
	memset(mg, 0, sizeof(*mg));
	mg->done_fd = mg->abort_fd = mg->sock = -1;
}

void migrate_set_opts(struct migration *mg, const struct migrate_opts *o)
{
	mg->o = *o;
}

void migrate_destroy(struct machine *m)
{
	struct migration *mg = &m->mig;

	migrate_abort(m);
	if (mg->done_fd >= 0)
		close(mg->done_fd);
	if (mg->abort_fd >= 0)
		close(mg->abort_fd);
	mg->done_fd = mg->abort_fd = -1;
	if (mg->sock_mu_ready)
		pthread_mutex_destroy(&mg->sock_mu);
	mg->sock_mu_ready = false;
}
