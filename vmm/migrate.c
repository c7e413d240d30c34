/* migrate.c - live migration (source and destination) and live snapshots. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/units.h"
#include "vmm/migrate.h"

#define IO_TIMEOUT_S 30            /* a silent peer fails the migration */
#define ACK_TIMEOUT_MS 30000

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Connect or listen on spec; returns the fd or -1 with why filled in. */
static int tcp_open(const char *spec, bool listening, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	const char *host, *port;
	char *buf;
	int fd = -1, err, one = 1;

	if (migrate_parse_addr(spec, &buf, &host, &port)) {
		snprintf(why, len, "%s: expected tcp:HOST:PORT", spec);
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
		} else if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			break;
		}
		snprintf(why, len, "%s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(buf);
	if (fd >= 0)
		why[0] = 0;     /* a later failure must not read as this one */
	return fd;
}

/* ---- source ---------------------------------------------------------------- */

/* Read the destination's line ("RUNNING" or "ERROR reason"), waiting up to
 * timeout_ms.  Returns 1 for RUNNING, 0 for anything else (why filled). */
static int read_reply(int fd, int timeout_ms, char *why, size_t len)
{
	char line[512];
	size_t n = 0;

	while (n < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr = poll(&p, 1, timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			snprintf(why, len, "the destination did not confirm within %d s",
				 timeout_ms / 1000);
			return 0;
		}
		r = recv(fd, line + n, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, len, "the destination closed the connection before "
				 "running the guest");
			return 0;
		}
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	if (!strcmp(line, "RUNNING"))
		return 1;
	snprintf(why, len, "the destination refused the stream: %s",
		 strncmp(line, "ERROR ", 6) ? line : line + 6);
	return 0;
}

/* Timestamps of one migration or live snapshot (host monotonic ns). */
struct mig_times {
	uint64_t start;            /* thread started */
	uint64_t pause;            /* vCPU paused for the final pass */
	uint64_t sent;             /* final pass written, stream closed */
	uint64_t running;          /* guest runs again: destination confirmed,
				      or resumed here (--continue) */
	uint64_t end;              /* all done */
};

/* Summary: passes, pages and bytes per pass, total time, downtime. */
static void print_summary(struct machine *m, const struct mig_times *t, uint64_t bytes_total,
			  const char *what)
{
	const struct ram_live *rl = &m->ram_live;
	char buf[2048], down[160];
	size_t o = 0;

	for (uint32_t i = 0; i < rl->nstats && o < sizeof(buf) - 100; i++) {
		const struct ram_pass_stat *st = &rl->stats[i];
		char pass[16];

		if (st->pass == SSM_PASS_FINAL)
			snprintf(pass, sizeof(pass), "final");
		else
			snprintf(pass, sizeof(pass), "%u", st->pass);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s: %llu pages %.1f MB",
				      i ? ", " : "", pass, (unsigned long long)st->pages,
				      (double)st->bytes / 1e6);
	}
	if (t->running)
		snprintf(down, sizeof(down), "downtime %.2f ms (final pass %.2f ms, "
			 "confirmation %.2f ms)", (double)(t->running - t->pause) / 1e6,
			 (double)(t->sent - t->pause) / 1e6, (double)(t->running - t->sent) / 1e6);
	else
		snprintf(down, sizeof(down), "guest stopped for the final pass %.2f ms",
			 (double)(t->sent - t->pause) / 1e6);
	fprintf(stderr, "vmm: %s: %u live passes + final [%s]; %.1f MB total; total time "
		"%.3f s; %s; max-downtime %u ms; dirty log %.2f ms in %u fetch+clear%s%s\n",
		what, rl->passes, buf, (double)bytes_total / 1e6,
		(double)(t->end - t->start) / 1e9, down, m->mig.o.max_downtime_ms,
		(double)rl->log_ns / 1e6, rl->log_calls, rl->gave_up ? "; " : "",
		rl->gave_up ? rl->why : "");
}

static void *mig_thread(void *arg)
{
	struct machine *m = arg;
	struct migration *mg = &m->mig;
	const char *target = mg->o.target;
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT,
		.after = target ? SSM_AFTER_TELEPORT :
			 mg->o.cont ? SSM_AFTER_CONTINUE : SSM_AFTER_DESTROY,
		.max_downtime_ms = mg->o.max_downtime_ms,
		.max_passes = mg->o.max_passes,
	};
	struct mig_times t = { .start = host_now_ns() };
	uint64_t bytes = 0;
	ssm_handle *h = NULL;
	bool paused = false;
	char why[700] = "";
	ssm_stream st;
	int fd = -1, rc, rc2;
	uint64_t one = 1;

	if (target) {
		fd = tcp_open(target, false, why, sizeof(why));
		rc = fd < 0 ? SSM_ERR_IO : SSM_OK;
		if (!rc) {
			set_timeouts(fd);
			rc = ssm_stream_socket(&st, fd, false);
		}
	} else {
		rc = ssm_stream_file_create(&st, mg->o.live_file);
		if (rc)
			snprintf(why, sizeof(why), "cannot create %s: %s", mg->o.live_file,
				 strerror(errno));
	}
	if (!rc)
		rc = ssm_live_begin(m->ssm, st, &o, &h);
	if (!rc) {
		rc = ssm_live_step1(h);
		if ((rc == SSM_ERR_LIVE_GAVE_UP || rc == SSM_ERR_TOO_MANY_PASSES) &&
		    !mg->o.giveup_abort) {
			/* Finish anyway, with the downtime it takes. */
			rc = SSM_OK;
		} else if (rc == SSM_ERR_LIVE_GAVE_UP || rc == SSM_ERR_TOO_MANY_PASSES) {
			snprintf(why, sizeof(why), "%s (--on-giveup abort)",
				 m->ram_live.why[0] ? m->ram_live.why : ssm_strerror(rc));
		}
	}
	if (!rc) {
		t.pause = host_now_ns();
		machine_pause(m);
		paused = true;
		rc = ssm_live_step2(h);
		bytes = ssm_handle_offset(h);
		/* A live snapshot with --continue has all it needs once the
		 * final pass is written: the guest need not wait for the
		 * done callbacks and the file's fsync. */
		if (!rc && !target && mg->o.cont) {
			machine_resume(m);
			paused = false;
			t.running = host_now_ns();
		}
	}
	if (h) {
		rc2 = ssm_live_end(h);
		if (!rc)
			rc = rc2;
	}
	t.sent = host_now_ns();
	if (rc && !why[0])
		snprintf(why, sizeof(why), "%s", ssm_last_error(m->ssm)[0] ?
			 ssm_last_error(m->ssm) : ssm_strerror(rc));
	/* A destination that refused the stream says why before it closes. */
	if (rc && fd >= 0) {
		char reply[600];

		if (!read_reply(fd, 500, reply, sizeof(reply)) && strstr(reply, "refused"))
			snprintf(why, sizeof(why), "%s", reply);
	}
	if (!rc && fd >= 0) {
		if (read_reply(fd, ACK_TIMEOUT_MS, why, sizeof(why)))
			t.running = host_now_ns();
		else
			rc = SSM_ERR_CONN_LOST;
	}
	if (t.running && t.running < t.sent)
		t.sent = t.running;
	t.end = host_now_ns();
	if (fd >= 0)
		close(fd);

	if (!rc) {
		print_summary(m, &t, bytes, target ? "migrated" : "live-saved");
		mg->vm_gone = target || !mg->o.cont;
		if (!mg->vm_gone)
			ram_live_reset(m);
	} else {
		fprintf(stderr, "vmm: %s %s failed: %s; the VM keeps running here\n",
			target ? "migration to" : "live save to", target ? target : mg->o.live_file,
			why);
		if (paused)
			machine_resume(m);
		/* The guest runs on here: stop dirty logging (slow, so only
		 * after it runs again). */
		ram_live_reset(m);
	}
	mg->result = rc;
	(void)!write(mg->done_fd, &one, sizeof(one));
	return NULL;
}

int migrate_start(struct machine *m)
{
	struct migration *mg = &m->mig;
	int err;

	if (mg->running)
		return -1;
	if (mg->done_fd < 0) {
		mg->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (mg->done_fd < 0) {
			fprintf(stderr, "vmm: eventfd: %s\n", strerror(errno));
			return -1;
		}
	}
	fprintf(stderr, "%svmm: %s %s (max downtime %u ms)\n",
		isatty(STDERR_FILENO) ? "\r\n" : "",
		mg->o.target ? "migrating to" : "live-saving to",
		mg->o.target ? mg->o.target : mg->o.live_file, mg->o.max_downtime_ms);
	err = pthread_create(&mg->thread, NULL, mig_thread, m);
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
	/* The last attempt decides: one that succeeds clears an earlier failure. */
	machine_note_save_result(m, mg->result == 0);
	if (mg->result == 0 && mg->vm_gone)
		machine_end(m, 0);
}

void migrate_abort(struct machine *m)
{
	struct migration *mg = &m->mig;

	if (!mg->running)
		return;
	ssm_cancel(m->ssm);
	pthread_join(mg->thread, NULL);
	mg->running = false;
}

void migrate_init(struct migration *mg)
{
	memset(mg, 0, sizeof(*mg));
	mg->done_fd = -1;
}

void migrate_set_opts(struct migration *mg, const struct migrate_opts *o)
{
	mg->o = *o;
}

void migrate_destroy(struct machine *m)
{
	migrate_abort(m);
	if (m->mig.done_fd >= 0)
		close(m->mig.done_fd);
	m->mig.done_fd = -1;
}

/* ---- destination ----------------------------------------------------------- */

/* Send one line; false if the source cannot have received it. */
static bool reply(int fd, const char *word, const char *msg)
{
	char line[700];
	int n = snprintf(line, sizeof(line), "%s%s%s\n", word, msg ? " " : "", msg ? msg : "");

	if (n < 0 || n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	/* One line: a message must not smuggle in a second one. */
	for (int i = 0; i < n - 1; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n - 1] = '\n';
	return send(fd, line, (size_t)n, MSG_NOSIGNAL) == n;
}

int migrate_incoming(struct machine *m, const char *spec)
{
	struct pollfd p[2];
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .after = SSM_AFTER_RESUME };
	char why[700];
	ssm_stream st;
	uint64_t t0;
	int lfd, fd, rc;

	lfd = tcp_open(spec, true, why, sizeof(why));
	if (lfd < 0) {
		fprintf(stderr, "vmm: --incoming %s\n", why);
		return MACHINE_EXIT_ERROR;
	}
	fprintf(stderr, "vmm: waiting for a migration on %s\n", spec);
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = m->signal_fd, .events = POLLIN };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "vmm: poll: %s\n", strerror(errno));
			close(lfd);
			return MACHINE_EXIT_ERROR;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(m->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    si.ssi_signo != SIGUSR1) {
				fprintf(stderr, "vmm: %s while waiting for a migration\n",
					strsignal((int)si.ssi_signo));
				close(lfd);
				return 128 + (int)si.ssi_signo;
			}
		}
		if (p[0].revents)
			break;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		fprintf(stderr, "vmm: accept: %s\n", strerror(errno));
		return MACHINE_EXIT_ERROR;
	}
	set_timeouts(fd);
	t0 = host_now_ns();
	rc = ssm_stream_socket(&st, fd, false);
	if (!rc)
		rc = ssm_load(m->ssm, st, &lo);
	why[0] = 0;     /* a stream lacking a unit is refused before RUNNING */
	if (!rc && m->built)
		rc = units_check_complete(m, why, sizeof(why));
	if (rc || !m->built) {
		const char *msg = why[0] ? why :
				  ssm_last_error(m->ssm)[0] ? ssm_last_error(m->ssm) :
				  ssm_strerror(rc ? rc : SSM_ERR_FORMAT);

		reply(fd, "ERROR", msg);
		close(fd);
		/* A stream cut short means the source stopped: it aborted (it
		 * says why on its side) or died. */
		fprintf(stderr, "vmm: incoming migration failed: %s%s\n",
			rc == SSM_ERR_TRUNCATED || rc == SSM_ERR_CONN_LOST || rc == SSM_ERR_TIMEOUT ?
			"the source stopped sending: " : "", msg);
		return MACHINE_EXIT_ERROR;
	}
	/* Confirm before running: if the source cannot hear it, it keeps its
	 * guest and this one must not run (exactly one of the two runs). */
	if (!reply(fd, "RUNNING", NULL)) {
		fprintf(stderr, "vmm: incoming migration: the source went away before the "
			"guest started\n");
		close(fd);
		return MACHINE_EXIT_ERROR;
	}
	machine_start(m);
	close(fd);
	fprintf(stderr, "vmm: migration received in %.3f s; the guest runs here\n",
		(double)(host_now_ns() - t0) / 1e9);
	return 0;
}
