/* monitor_proto.c - framing, output queue and request dispatch of the
 * control socket (see monitor_proto.h). */
#include "vmm/monitor_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Input ---- */

void mon_in_reset(struct mon_in *in)
{
	in->len = in->used = 0;
	in->discarding = false;
}

char *mon_in_space(struct mon_in *in, size_t *room)
{
	if (in->used) {
		memmove(in->buf, in->buf + in->used, in->len - in->used);
		in->len -= in->used;
		in->used = 0;
	}
	/* mon_in_next never leaves a full buffer without a '\n' behind. */
	*room = sizeof(in->buf) - in->len;
	return in->buf + in->len;
}

void mon_in_commit(struct mon_in *in, size_t n)
{
	in->len += n;
}

enum mon_line mon_in_next(struct mon_in *in, const char **line, size_t *len)
{
	for (;;) {
		char *start = in->buf + in->used;
		size_t avail = in->len - in->used;
		char *nl = memchr(start, '\n', avail);

		if (in->discarding) {
			/* Drop what is held; the line ends at its '\n'. */
			in->used = nl ? (size_t)(nl + 1 - in->buf) : in->len;
			if (!nl)
				return MON_LINE_NONE;
			in->discarding = false;
			continue;
		}
		if (nl) {
			size_t n = (size_t)(nl - start);

			in->used += n + 1;
			if (n > MON_LINE_MAX)
				return MON_LINE_TOO_LONG;
			/* A CR before the LF (telnet, socat crlf) is not part of it. */
			if (n && start[n - 1] == '\r')
				n--;
			*line = start;
			*len = n;
			return MON_LINE_OK;
		}
		if (avail > MON_LINE_MAX) {
			/* A full buffer and no end: this line is too long. */
			in->used = in->len;
			in->discarding = true;
			return MON_LINE_TOO_LONG;
		}
		return MON_LINE_NONE;
	}
}

/* ---- Output ---- */

void mon_out_init(struct mon_out *o)
{
	memset(o, 0, sizeof(*o));
}

void mon_out_free(struct mon_out *o)
{
	free(o->buf);
	mon_out_init(o);
}

int mon_out_json(struct mon_out *o, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(9));
	size_t n, need;

	if (!s)
		return -1;
	n = strlen(s);
	if (o->off) {
		memmove(o->buf, o->buf + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
	}
	need = o->len + n + 1;
	if (need > MON_OUT_MAX) {
		free(s);
		return -1;
	}
	if (need > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(o->buf, cap);
		if (!nb) {
			free(s);
			return -1;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->buf[o->len + n] = '\n';
	o->len += n + 1;
	free(s);
	return 0;
}

size_t mon_out_pending(const struct mon_out *o)
{
	return o->len - o->off;
}

const char *mon_out_data(const struct mon_out *o)
{
	return o->buf + o->off;
}

void mon_out_consume(struct mon_out *o, size_t n)
{
	o->off += n;
	if (o->off >= o->len)
		o->off = o->len = 0;
}

/* ---- Messages ---- */

int mon_fail(struct mon_error *e, const char *cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return -1;
}

json_t *mon_error_reply(const char *cls, const char *desc)
{
	return json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);
}

json_t *mon_greeting(const char *vmm_version)
{
	return json_pack("{s:{s:{s:s,s:i},s:[]}}", "QMP", "version", "vmm", vmm_version,
			 "protocol", MON_PROTOCOL_VERSION, "capabilities");
}

json_t *mon_event(const char *name, json_t *data)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return json_pack("{s:s,s:o,s:{s:I,s:I}}", "event", name, "data",
			 data ? data : json_object(), "timestamp", "seconds",
			 (json_int_t)ts.tv_sec, "microseconds", (json_int_t)(ts.tv_nsec / 1000));
}

json_t *mon_command_list(const struct mon_cmd *cmds)
{
	json_t *a = json_array();

	for (const struct mon_cmd *c = cmds; a && c->name; c++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "name", c->name, "help",
						   c->help ? c->help : ""));
	return a;
}

/* ---- Dispatch ---- */

static const char *type_name(enum mon_type t)
{
	switch (t) {
	case MON_T_STRING: return "a string";
	case MON_T_BOOL: return "a boolean";
	case MON_T_INT: return "an integer";
	case MON_T_OBJECT: return "an object";
	}
	return "?";
}

static bool type_ok(enum mon_type t, const json_t *v)
{
	switch (t) {
	case MON_T_STRING: return json_is_string(v);
	case MON_T_BOOL: return json_is_boolean(v);
	case MON_T_INT: return json_is_integer(v);
	case MON_T_OBJECT: return json_is_object(v);
	}
	return false;
}

/* Every argument is known and of its type, every required one present. */
static int check_args(const struct mon_cmd *c, json_t *args, struct mon_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		const struct mon_arg *a = c->args;

		while (a && a->name && strcmp(a->name, key))
			a++;
		if (!a || !a->name)
			return mon_fail(e, MON_ERR_ARG, "%s: unknown argument '%.64s'", c->name,
					key);
		if (!type_ok(a->type, v))
			return mon_fail(e, MON_ERR_ARG, "%s: argument '%s' must be %s", c->name,
					a->name, type_name(a->type));
	}
	for (const struct mon_arg *a = c->args; a && a->name; a++)
		if (a->required && !json_object_get(args, a->name))
			return mon_fail(e, MON_ERR_ARG, "%s: missing argument '%s'", c->name,
					a->name);
	return 0;
}

/* The request's fields; -1 with e filled if it is not a request. */
static int parse_request(json_t *req, const char **name, json_t **args, struct mon_error *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(req))
		return mon_fail(e, MON_ERR_PARSE, "a request is a JSON object");
	json_object_foreach(req, key, v)
		if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id"))
			return mon_fail(e, MON_ERR_PARSE, "unknown request member '%.64s'", key);
	v = json_object_get(req, "execute");
	if (!v)
		return mon_fail(e, MON_ERR_PARSE, "the request has no \"execute\"");
	if (!json_is_string(v))
		return mon_fail(e, MON_ERR_PARSE, "\"execute\" must be a string");
	*name = json_string_value(v);
	*args = json_object_get(req, "arguments");
	if (*args && !json_is_object(*args))
		return mon_fail(e, MON_ERR_PARSE, "\"arguments\" must be an object");
	return 0;
}

json_t *mon_dispatch(const struct mon_cmd *cmds, void *ctx, const char *line, size_t len)
{
	struct mon_error e = { NULL, "" };
	json_error_t jerr;
	json_t *req, *reply = NULL, *ret = NULL, *args = NULL, *empty = NULL, *id = NULL;
	const char *name = NULL;
	const struct mon_cmd *c = NULL;
	int rc = -1;

	/* JSON_REJECT_DUPLICATES: {"execute": "stop", "execute": "quit"} is
	 * refused rather than read one way or the other. */
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!req) {
		mon_fail(&e, MON_ERR_PARSE, "invalid JSON at byte %d: %s", jerr.position,
			 jerr.text);
	} else {
		id = json_object_get(req, "id");   /* NULL for a non-object */
		if (!parse_request(req, &name, &args, &e)) {
			for (c = cmds; c->name && strcmp(c->name, name); c++)
				;
			if (!c->name)
				mon_fail(&e, MON_ERR_NOT_FOUND, "unknown command '%.64s' "
					 "(query-commands lists them)", name);
			else if (!args && !(args = empty = json_object()))
				mon_fail(&e, MON_ERR_FAILED, "out of memory");
			else if (!check_args(c, args, &e))
				rc = c->fn(ctx, args, &ret, &e);
		}
	}
	if (rc == 0)
		reply = json_pack("{s:o}", "return", ret ? ret : json_object());
	else
		reply = mon_error_reply(e.cls ? e.cls : MON_ERR_FAILED,
					e.desc[0] ? e.desc : "command failed");
	if (reply && id)
		json_object_set(reply, "id", id);
	json_decref(empty);
	json_decref(req);
	return reply;
}
