/* monitor.c - the control socket: listening, one client, non-blocking I/O,
 * and the events of state changes (see monitor.h, docs/monitor.md). */
#include "vmm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/clock.h"
#include "vmm/machine.h"

#define MONITOR_READ_MAX (256u * 1024)   /* bytes read per wake-up, at most */
#define MONITOR_CLOSE_WAIT_MS 200        /* for the client to take its output */

struct monitor {
	struct machine *m;
	char *path;
	dev_t dev;                 /* of the socket file we bound */
	ino_t ino;
	int listen_fd;
	int client_fd;             /* -1: nobody connected */
	struct mon_in *in;         /* the client's input, while connected */
	struct mon_out out;
	char *kept;                /* monitor_keep_string */

	/* Last state reported in events. */
	bool seen_running;
	bool seen_mig_running;
	uint64_t seen_mig_seq;
	uint64_t mig_start_ns;     /* when the running one was first seen */
};

/* ---- Socket set-up ---- */

/* Whether something accepts connections on the socket file path. */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true;    /* cannot tell: do not remove it */
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	       (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

static int bind_socket(struct monitor *mon, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmm: --monitor unix:%s: the path is longer than %zu bytes\n",
			path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "vmm: --monitor unix:%s: exists and is not a socket; "
				"not replaced\n", path);
			return -1;
		}
		if (socket_is_live(&sa)) {
			fprintf(stderr, "vmm: --monitor unix:%s: another process (a running "
				"vmm?) listens there\n", path);
			return -1;
		}
		/* Stale: left by a vmm that died. */
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "vmm: --monitor unix:%s: cannot remove the stale "
				"socket: %s\n", path, strerror(errno));
			return -1;
		}
	}
	mon->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (mon->listen_fd < 0) {
		fprintf(stderr, "vmm: --monitor: socket: %s\n", strerror(errno));
		return -1;
	}
	/* The file gets 0600 at birth: no window in which others may connect.
	 * Only the main thread runs yet, so the umask change races nobody. */
	old = umask(0177);
	rc = bind(mon->listen_fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		fprintf(stderr, "vmm: --monitor unix:%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (lstat(path, &st) < 0 || listen(mon->listen_fd, 4) < 0) {
		fprintf(stderr, "vmm: --monitor unix:%s: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	mon->dev = st.st_dev;
	mon->ino = st.st_ino;
	return 0;
}

struct monitor *monitor_open(const char *spec)
{
	struct monitor *mon;

	if (strncmp(spec, "unix:", 5) || !spec[5]) {
		fprintf(stderr, "vmm: --monitor %s: expected unix:PATH\n", spec);
		return NULL;
	}
	mon = calloc(1, sizeof(*mon));
	if (!mon || !(mon->path = strdup(spec + 5))) {
		fprintf(stderr, "vmm: out of memory\n");
		free(mon);
		return NULL;
	}
	mon->listen_fd = mon->client_fd = -1;
	mon_out_init(&mon->out);
	if (bind_socket(mon, mon->path)) {
		if (mon->listen_fd >= 0)
			close(mon->listen_fd);
		free(mon->path);
		free(mon);
		return NULL;
	}
	return mon;
}

void monitor_attach(struct monitor *mon, struct machine *m)
{
	bool running;

	mon->m = m;
	monitor_vm_status(mon, &running);
	mon->seen_running = running;
	mon->seen_mig_running = m->mig.running;
	mon->seen_mig_seq = m->mig.seq;
}

struct machine *monitor_machine(struct monitor *mon)
{
	return mon->m;
}

uint64_t monitor_migration_start(const struct monitor *mon)
{
	return mon->mig_start_ns;
}

const char *monitor_keep_string(struct monitor *mon, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return NULL;
	free(mon->kept);
	mon->kept = copy;
	return copy;
}

/* ---- The client ---- */

static void drop_client(struct monitor *mon, const char *why)
{
	if (mon->client_fd < 0)
		return;
	if (why)
		fprintf(stderr, "%svmm: monitor: client dropped: %s\n",
			isatty(STDERR_FILENO) ? "\r\n" : "", why);
	close(mon->client_fd);
	mon->client_fd = -1;
	free(mon->in);
	mon->in = NULL;
	mon_out_free(&mon->out);
}

/* Queue v (consumed) for the client; a client too far behind is dropped. */
static void send_json(struct monitor *mon, json_t *v)
{
	if (mon->client_fd >= 0 && (!v || mon_out_json(&mon->out, v)))
		drop_client(mon, v ? "it does not read its replies (output queue full)" :
			    "out of memory");
	json_decref(v);
}

void monitor_emit(struct monitor *mon, const char *name, json_t *data)
{
	if (mon->client_fd < 0) {
		json_decref(data);
		return;
	}
	send_json(mon, mon_event(name, data));
}

/* One connection attempt: the new client, or a refusal if one is served. */
static void on_accept(struct monitor *mon)
{
	int fd = accept4(mon->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;         /* EAGAIN, or the peer left already */
	if (mon->client_fd >= 0) {
		json_t *e = mon_error_reply(MON_ERR_BUSY, "another client is connected; "
					    "the monitor serves one at a time");
		char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;

		/* Best effort into an empty socket buffer: it never blocks. */
		if (s) {
			(void)!send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)!send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		free(s);
		json_decref(e);
		close(fd);
		return;
	}
	mon->in = malloc(sizeof(*mon->in));
	if (!mon->in) {
		close(fd);
		return;
	}
	mon_in_reset(mon->in);
	mon_out_init(&mon->out);
	mon->client_fd = fd;
	send_json(mon, mon_greeting(VMM_VERSION));
}

/* Run every complete line held, while the output has room; true if lines
 * may be left for when it drains. */
static bool run_lines(struct monitor *mon)
{
	const char *line;
	size_t len;

	while (mon->client_fd >= 0) {
		enum mon_line r;

		if (mon_out_pending(&mon->out) >= MON_OUT_PAUSE)
			return true;
		/* After a quit (or a save that ended the VM) nothing more runs. */
		if (atomic_load(&mon->m->exit_status) >= 0)
			return false;
		r = mon_in_next(mon->in, &line, &len);
		if (r == MON_LINE_NONE)
			return false;
		if (r == MON_LINE_TOO_LONG) {
			char desc[80];

			snprintf(desc, sizeof(desc), "request line longer than %u bytes; dropped",
				 MON_LINE_MAX);
			send_json(mon, mon_error_reply(MON_ERR_PARSE, desc));
			continue;
		}
		/* An empty line is no request (a client's keep-alive). */
		if (len)
			send_json(mon, mon_dispatch(monitor_commands, mon, line, len));
	}
	return false;
}

static void flush_out(struct monitor *mon);

static void on_readable(struct monitor *mon)
{
	size_t total = 0;

	while (mon->client_fd >= 0 && total < MONITOR_READ_MAX &&
	       mon_out_pending(&mon->out) < MON_OUT_PAUSE) {
		size_t room;
		char *p = mon_in_space(mon->in, &room);
		ssize_t n;

		if (!room)
			break;  /* lines held until the output drains */
		n = recv(mon->client_fd, p, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* Gone, or only done sending (a half-close): what it sent
			 * whole is run and answered as far as the socket takes it
			 * now; a partial last line is never run. */
			while (n == 0 && mon->client_fd >= 0 && run_lines(mon)) {
				size_t before = mon_out_pending(&mon->out);

				flush_out(mon);
				if (mon_out_pending(&mon->out) == before)
					break;  /* it reads no more */
			}
			flush_out(mon);
			drop_client(mon, NULL);
			return;
		}
		mon_in_commit(mon->in, (size_t)n);
		total += (size_t)n;
		run_lines(mon);
	}
}

static void flush_out(struct monitor *mon)
{
	while (mon->client_fd >= 0 && mon_out_pending(&mon->out)) {
		ssize_t n = send(mon->client_fd, mon_out_data(&mon->out),
				 mon_out_pending(&mon->out), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop_client(mon, NULL);
			return;
		}
		mon_out_consume(&mon->out, (size_t)n);
	}
}

int monitor_poll_fds(struct monitor *mon, struct pollfd *p)
{
	if (!mon)
		return 0;
	p[0] = (struct pollfd){ .fd = mon->listen_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = mon->client_fd, .events = 0 };
	if (mon->client_fd >= 0) {
		/* No more requests while the replies pile up: back-pressure. */
		if (mon_out_pending(&mon->out) < MON_OUT_PAUSE)
			p[1].events |= POLLIN;
		if (mon_out_pending(&mon->out))
			p[1].events |= POLLOUT;
	}
	return 2;
}

/* ---- Events ---- */

static json_t *migration_result(struct monitor *mon)
{
	const struct migration *mg = &mon->m->mig;
	const char *st = mg->in_doubt ? "unconfirmed" : mg->result == 0 ? "completed" :
			 atomic_load(&mg->cancel) ? "cancelled" : "failed";

	return json_pack("{s:s,s:s?}", "status", st, "error",
			 mg->result == 0 ? NULL : mg->last.why);
}

/* What changed since the last call, as events. */
static void state_events(struct monitor *mon)
{
	struct migration *mg = &mon->m->mig;
	bool running;
	const char *st = monitor_vm_status(mon, &running);

	if (mg->seq != mon->seen_mig_seq) {
		if (mg->o.target)
			monitor_emit(mon, "MIGRATION", json_pack("{s:s,s:s}", "status",
								 "active", "uri", mg->o.target));
		mon->seen_mig_seq = mg->seq;
		mon->seen_mig_running = true;
		mon->mig_start_ns = host_now_ns();
	}
	if (!mg->running && mon->seen_mig_running) {
		json_t *r = migration_result(mon);

		mon->seen_mig_running = false;
		if (mg->o.target) {
			json_object_set_new(r, "uri", json_string(mg->o.target));
			monitor_emit(mon, "MIGRATION", r);
		} else {
			json_t *d = json_pack("{s:s,s:s,s:b}", "file", mg->o.live_file,
					      "mode", "live", "ok", mg->result == 0);

			if (mg->result)
				json_object_set(d, "error", json_object_get(r, "error"));
			json_decref(r);
			monitor_emit(mon, "SAVE_COMPLETED", d);
		}
	}
	if (running != mon->seen_running) {
		mon->seen_running = running;
		monitor_emit(mon, running ? "RESUME" : "STOP", json_pack("{s:s}", "status", st));
	}
}

const char *monitor_vm_status(struct monitor *mon, bool *running)
{
	struct machine *m = mon->m;

	*running = false;
	if (atomic_load(&m->exit_status) >= 0)
		return "shutdown";
	if (m->mig.running) {
		*running = true;
		return m->mig.o.target ? "migrating" : "saving";
	}
	if (m->mig.in_doubt)
		return "in-doubt";
	if (machine_is_stopped(m))
		return "paused";
	*running = true;
	return "running";
}

void monitor_service(struct monitor *mon, const struct pollfd *p, int n)
{
	if (!mon || n < 2)
		return;
	if (p[1].revents & (POLLERR | POLLNVAL))
		drop_client(mon, NULL);
	else if (mon->client_fd >= 0 && p[1].revents & POLLHUP &&
		 mon_out_pending(&mon->out) >= MON_OUT_PAUSE)
		drop_client(mon, NULL);         /* gone without reading its replies */
	else if (mon->client_fd >= 0 && p[1].revents & (POLLIN | POLLHUP))
		on_readable(mon);
	state_events(mon);
	/* Lines held back by a full output queue run as it drains. */
	flush_out(mon);
	while (mon->client_fd >= 0 && mon_out_pending(&mon->out) < MON_OUT_PAUSE &&
	       run_lines(mon))
		flush_out(mon);
	/* Last: a client that left and the next one that connected in the
	 * same wake-up are served in turn, not refused as a second client. */
	if (p[0].revents & POLLIN)
		on_accept(mon);
	flush_out(mon);
}

/* ---- Teardown ---- */

void monitor_close(struct monitor *mon, int status)
{
	struct stat st;

	if (!mon)
		return;
	if (mon->m)
		state_events(mon);
	monitor_emit(mon, "SHUTDOWN", json_pack("{s:i}", "status", status));
	flush_out(mon);
	if (mon->client_fd >= 0 && mon_out_pending(&mon->out)) {
		struct timespec t0, now;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct pollfd pf = { .fd = mon->client_fd, .events = POLLOUT };
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = MONITOR_CLOSE_WAIT_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
						      (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (ms <= 0 || poll(&pf, 1, (int)ms) <= 0)
				break;
			flush_out(mon);
			if (mon->client_fd < 0 || !mon_out_pending(&mon->out))
				break;
		}
	}
	drop_client(mon, NULL);
	if (mon->listen_fd >= 0)
		close(mon->listen_fd);
	/* Another vmm may have replaced a file it saw as stale: not ours then. */
	if (lstat(mon->path, &st) == 0 && st.st_dev == mon->dev && st.st_ino == mon->ino)
		unlink(mon->path);
	free(mon->kept);
	free(mon->path);
	free(mon);
}
