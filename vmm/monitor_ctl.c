/* monitor_ctl.c - the control socket's shell client (see monitor_ctl.h). */
#include "vmm/monitor_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/monitor_proto.h"

#define CTL_TIMEOUT_MS (10 * 60 * 1000)  /* a plain save of 64G takes a while */

static bool parse_int(const char *s, json_int_t *out)
{
	char *end;
	long long v;

	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = (json_int_t)v;
	return true;
}

json_t *ctl_build_args(int n, char **words, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;

	if (n == 1 && words[0][0] == '{') {
		o = json_loads(words[0], JSON_REJECT_DUPLICATES, &jerr);
		if (!o || !json_is_object(o)) {
			snprintf(err, errlen, "arguments: %s", o ? "not a JSON object" : jerr.text);
			json_decref(o);
			return NULL;
		}
		return o;
	}
	o = json_object();
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(words[i], '=');
		const char *val = eq ? eq + 1 : NULL;
		json_int_t iv;
		json_t *v;
		char *key;

		if (!eq || eq == words[i]) {
			snprintf(err, errlen, "argument '%s': expected KEY=VALUE or one JSON "
				 "object", words[i]);
			json_decref(o);
			return NULL;
		}
		key = strndup(words[i], (size_t)(eq - words[i]));
		if (!key || json_object_get(o, key)) {
			snprintf(err, errlen, "argument '%s': %s", words[i],
				 key ? "given twice" : "out of memory");
			free(key);
			json_decref(o);
			return NULL;
		}
		if (!strcmp(val, "true") || !strcmp(val, "false"))
			v = json_boolean(!strcmp(val, "true"));
		else if (parse_int(val, &iv))
			v = json_integer(iv);
		else
			v = json_string(val);   /* NULL if not UTF-8 */
		/* set_new takes v, also when it fails. */
		if (!v || json_object_set_new(o, key, v)) {
			snprintf(err, errlen, "argument '%s': %s", words[i],
				 v ? "out of memory" : "not valid UTF-8");
			free(key);
			json_decref(o);
			return NULL;
		}
		free(key);
	}
	return o;
}

static int ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The next JSON line from fd (a new reference), or NULL with err set. */
static json_t *read_msg(int fd, struct mon_in *in, const struct timespec *t0, char *err,
			size_t errlen)
{
	for (;;) {
		const char *line;
		size_t len, room;
		enum mon_line r = mon_in_next(in, &line, &len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		json_error_t jerr;
		char *space;
		ssize_t n;
		int left;

		if (r == MON_LINE_OK) {
			json_t *v = json_loadb(line, len, 0, &jerr);

			if (!v || !json_is_object(v)) {
				snprintf(err, errlen, "the vmm sent a line that is not a JSON "
					 "object");
				json_decref(v);
				return NULL;
			}
			return v;
		}
		if (r == MON_LINE_TOO_LONG) {
			snprintf(err, errlen, "the vmm sent a line longer than %u bytes",
				 MON_LINE_MAX);
			return NULL;
		}
		left = CTL_TIMEOUT_MS - ms_since(t0);
		if (left <= 0 || poll(&p, 1, left) == 0) {
			snprintf(err, errlen, "no reply within %d s", CTL_TIMEOUT_MS / 1000);
			return NULL;
		}
		space = mon_in_space(in, &room);
		n = recv(fd, space, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s", n ? strerror(errno) :
				 "the vmm closed the connection before replying");
			return NULL;
		}
		mon_in_commit(in, (size_t)n);
	}
}

static int connect_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: the path is too long for a socket", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Send req, wait for the reply with its id; print it.  The exit status. */
static int exchange(int fd, json_t *req, struct mon_in *in, char *err, size_t errlen)
{
	struct timespec t0;
	json_t *msg, *ret, *e;
	char *s;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	msg = read_msg(fd, in, &t0, err, errlen);
	if (!msg)
		return 1;
	if (!json_object_get(msg, "QMP")) {
		e = json_object_get(msg, "error");
		snprintf(err, errlen, "%s", e ? json_string_value(json_object_get(e, "desc")) ?
			 json_string_value(json_object_get(e, "desc")) : "refused" :
			 "no QMP greeting: not a vmm monitor?");
		json_decref(msg);
		return 1;
	}
	json_decref(msg);
	s = json_dumps(req, JSON_COMPACT);
	ok = s && send_all(fd, s, strlen(s)) && send_all(fd, "\n", 1);
	free(s);
	if (!ok) {
		snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		msg = read_msg(fd, in, &t0, err, errlen);
		if (!msg)
			return 1;
		/* Events come and go; the reply carries our id. */
		if (json_equal(json_object_get(msg, "id"), json_object_get(req, "id")))
			break;
		json_decref(msg);
	}
	ret = json_object_get(msg, "return");
	e = json_object_get(msg, "error");
	if (ret) {
		s = json_dumps(ret, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(msg);
		return s ? 0 : 1;
	}
	snprintf(err, errlen, "%s: %s",
		 json_string_value(json_object_get(e, "class")) ?
		 json_string_value(json_object_get(e, "class")) : "error",
		 json_string_value(json_object_get(e, "desc")) ?
		 json_string_value(json_object_get(e, "desc")) : "(no description)");
	json_decref(msg);
	return 1;
}

int ctl_main(int argc, char **argv)
{
	const char *path;
	char err[700] = "";
	struct mon_in *in;
	json_t *args, *req;
	int fd, rc;

	bool help = argc > 1 && !strcmp(argv[1], "--help");

	if (argc < 3 || help) {
		fprintf(help ? stdout : stderr,
			"Usage: vmm ctl [unix:]PATH COMMAND [KEY=VALUE...|JSON-OBJECT]\n"
			"Send one command to the control socket of a vmm --monitor and print\n"
			"its return value as JSON (exit 0), or the error on stderr (exit 1).\n"
			"Example: vmm ctl vm.sock save file=vm.sav mode=live continue=true\n");
		return help ? 0 : 2;
	}
	path = strncmp(argv[1], "unix:", 5) ? argv[1] : argv[1] + 5;
	args = ctl_build_args(argc - 3, argv + 3, err, sizeof(err));
	if (!args) {
		fprintf(stderr, "vmm ctl: %s\n", err);
		return 2;
	}
	req = json_pack("{s:s,s:o,s:s}", "execute", argv[2], "arguments", args, "id", "ctl");
	in = malloc(sizeof(*in));
	if (!req || !in) {
		fprintf(stderr, "vmm ctl: out of memory\n");
		json_decref(req);
		free(in);
		return 1;
	}
	mon_in_reset(in);
	fd = connect_path(path, err, sizeof(err));
	rc = fd < 0 ? 1 : exchange(fd, req, in, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (rc)
		fprintf(stderr, "vmm ctl: %s\n", err);
	json_decref(req);
	free(in);
	return rc;
}
