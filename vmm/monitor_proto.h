/* monitor_proto.h - the control socket's protocol, without the socket or
 * the VM: line framing with a bounded line, a bounded output buffer, and
 * the request parser / dispatcher that turns one line into one reply
 * object (docs/monitor.md is normative).  KVM-free, for unit tests.
 *
 * Every JSON value is read and written with jansson; nothing here builds
 * or parses JSON by hand.
 */
#ifndef VMM_MONITOR_PROTO_H
#define VMM_MONITOR_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MON_PROTOCOL_VERSION 1
#define MON_LINE_MAX (64u * 1024)       /* longest request line, '\n' excluded */
#define MON_OUT_MAX (1024u * 1024)      /* a client this far behind is dropped */
#define MON_OUT_PAUSE (64u * 1024)      /* no more requests read past this */

/* Error classes of {"error": {"class": ...}} (docs/monitor.md). */
#define MON_ERR_PARSE "ParseError"          /* not JSON, not a request, too long */
#define MON_ERR_NOT_FOUND "CommandNotFound"
#define MON_ERR_ARG "InvalidArgument"       /* missing, unknown or mistyped */
#define MON_ERR_STATE "WrongState"          /* not now: the VM's state forbids it */
#define MON_ERR_UNSUPPORTED "NotSupported"
#define MON_ERR_BUSY "Busy"                 /* another client holds the socket */
#define MON_ERR_FAILED "GenericError"       /* tried, and it failed */

/* ---- Input: one line at a time, never more than MON_LINE_MAX ---- */

struct mon_in {
	char buf[MON_LINE_MAX + 1];
	size_t len;                /* bytes held */
	size_t used;               /* of those, consumed by returned lines */
	bool discarding;           /* inside an over-long line: drop to '\n' */
};

enum mon_line {
	MON_LINE_NONE,             /* no complete line held: read more */
	MON_LINE_OK,               /* *line / *len is one line, '\n' stripped */
	MON_LINE_TOO_LONG,         /* a line passed MON_LINE_MAX: it is dropped
				      up to its '\n', and said once */
};

void mon_in_reset(struct mon_in *in);
/* Room to read into, held lines compacted away: at least one byte once
 * mon_in_next has returned MON_LINE_NONE, maybe 0 while lines are held. */
char *mon_in_space(struct mon_in *in, size_t *room);
/* n bytes were read into the room mon_in_space gave. */
void mon_in_commit(struct mon_in *in, size_t n);
/* The next line; valid until the next mon_in_space call. */
enum mon_line mon_in_next(struct mon_in *in, const char **line, size_t *len);

/* ---- Output: queued lines, bounded ---- */

struct mon_out {
	char *buf;
	size_t len;                /* bytes queued */
	size_t off;                /* of those, already written */
	size_t cap;
};

void mon_out_init(struct mon_out *o);
void mon_out_free(struct mon_out *o);
/* Queue v as one compact line (v not consumed).  -1 if it would take the
 * queue past MON_OUT_MAX or memory ran out: the client is to be dropped. */
int mon_out_json(struct mon_out *o, const json_t *v);
/* Bytes waiting to be written. */
size_t mon_out_pending(const struct mon_out *o);
const char *mon_out_data(const struct mon_out *o);
/* n bytes of mon_out_data() were written. */
void mon_out_consume(struct mon_out *o, size_t n);

/* ---- Requests ---- */

/* What a failing command reports. */
struct mon_error {
	const char *cls;           /* one of MON_ERR_* */
	char desc[512];
};

/* Fill e (printf-style desc) and return -1, for `return mon_fail(...)`. */
int mon_fail(struct mon_error *e, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum mon_type { MON_T_STRING, MON_T_BOOL, MON_T_INT, MON_T_OBJECT };

struct mon_arg {
	const char *name;
	enum mon_type type;
	bool required;
};

/* A command: its arguments (NULL-name terminated, or NULL for none) are
 * checked before fn runs, so fn sees only known names of the right type.
 * fn returns 0 with *ret set (a new reference; NULL means {}) or -1 with
 * e filled in. */
struct mon_cmd {
	const char *name;
	const struct mon_arg *args;
	int (*fn)(void *ctx, json_t *args, json_t **ret, struct mon_error *e);
	const char *help;          /* one line, for query-commands */
};

/* Parse one request line and run it from cmds (NULL-name terminated).
 * Returns the reply object, {"return": ...} or {"error": ...}, with the
 * request's "id" if it had one; NULL only when out of memory. */
json_t *mon_dispatch(const struct mon_cmd *cmds, void *ctx, const char *line, size_t len);
/* {"error": {"class": cls, "desc": desc}} without an id. */
json_t *mon_error_reply(const char *cls, const char *desc);
/* The greeting sent on connect. */
json_t *mon_greeting(const char *vmm_version);
/* {"event": name, "data": data (stolen; NULL: {}), "timestamp": now}. */
json_t *mon_event(const char *name, json_t *data);
/* The list of cmds' names, for query-commands. */
json_t *mon_command_list(const struct mon_cmd *cmds);

#endif
