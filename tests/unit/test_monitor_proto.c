/* test_monitor_proto.c - the control socket's protocol without a socket or
 * a VM (vmm/monitor_proto.c, vmm/monitor_ctl.c): line framing with its
 * bound, the bounded output queue, request parsing and dispatch against a
 * fake command table, and vmm ctl's argument words. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/monitor_ctl.h"
#include "vmm/monitor_proto.h"

/* ---- a fake command table ---- */

static int calls;
static json_t *last_args;

static int fake_echo(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)ctx, (void)e;
	calls++;
	json_decref(last_args);
	last_args = json_deep_copy(args);
	*ret = json_pack("{s:O}", "args", args);
	return 0;
}

static int fake_fail(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)ctx, (void)args, (void)ret;
	calls++;
	return mon_fail(e, MON_ERR_STATE, "not now: %d", 42);
}

static int fake_ctx(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)args, (void)e;
	*ret = json_integer(*(int *)ctx);
	return 0;
}

static const struct mon_arg echo_args[] = {
	{ "file", MON_T_STRING, true },
	{ "continue", MON_T_BOOL, false },
	{ "n", MON_T_INT, false },
	{ "opts", MON_T_OBJECT, false },
	{ NULL, 0, false },
};

static const struct mon_cmd cmds[] = {
	{ "echo", echo_args, fake_echo, "echo" },
	{ "fail", NULL, fake_fail, "fail" },
	{ "ctx", NULL, fake_ctx, NULL },
	{ NULL, NULL, NULL, NULL },
};

static json_t *run(const char *line)
{
	int ctx = 7;
	json_t *r = mon_dispatch(cmds, &ctx, line, strlen(line));

	cr_assert_not_null(r, "no reply to %s", line);
	return r;
}

/* The reply is an error of class cls whose desc contains what. */
static void expect_error(const char *line, const char *cls, const char *what)
{
	json_t *r = run(line);
	json_t *e = json_object_get(r, "error");

	cr_assert(json_is_object(e), "no error for %s", line);
	cr_assert_str_eq(json_string_value(json_object_get(e, "class")), cls, "%s", line);
	cr_assert(strstr(json_string_value(json_object_get(e, "desc")), what),
		  "%s: desc '%s' lacks '%s'", line,
		  json_string_value(json_object_get(e, "desc")), what);
	cr_assert_null(json_object_get(r, "return"));
	json_decref(r);
}

Test(monitor_dispatch, runs_the_named_command_with_its_arguments_and_id)
{
	json_t *r = run("{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\",\"n\":3},"
			"\"id\":[1,\"x\"]}");
	json_t *id = json_pack("[i,s]", 1, "x");

	cr_assert_eq(calls, 1);
	cr_assert_str_eq(json_string_value(json_object_get(last_args, "file")), "a");
	cr_assert_eq(json_integer_value(json_object_get(last_args, "n")), 3);
	cr_assert(json_equal(json_object_get(r, "id"), id));
	cr_assert(json_is_object(json_object_get(json_object_get(r, "return"), "args")));
	json_decref(id);
	json_decref(r);
}

Test(monitor_dispatch, passes_its_context_and_defaults_return_to_an_object)
{
	json_t *r = run("{\"execute\":\"ctx\"}");

	cr_assert_eq(json_integer_value(json_object_get(r, "return")), 7);
	cr_assert_null(json_object_get(r, "id"));
	json_decref(r);
}

Test(monitor_dispatch, a_failing_command_reports_its_class_and_keeps_the_id)
{
	json_t *r = run("{\"execute\":\"fail\",\"id\":5}");

	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"),
							    "class")), MON_ERR_STATE);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"),
							    "desc")), "not now: 42");
	cr_assert_eq(json_integer_value(json_object_get(r, "id")), 5);
	json_decref(r);
}

Test(monitor_dispatch, refuses_what_is_not_a_request)
{
	expect_error("{\"execute\":", MON_ERR_PARSE, "invalid JSON");
	expect_error("not json", MON_ERR_PARSE, "invalid JSON");
	expect_error("[\"echo\"]", MON_ERR_PARSE, "JSON object");
	expect_error("\"echo\"", MON_ERR_PARSE, "JSON object");
	expect_error("{}", MON_ERR_PARSE, "no \"execute\"");
	expect_error("{\"execute\":1}", MON_ERR_PARSE, "must be a string");
	expect_error("{\"execute\":\"echo\",\"arguments\":[]}", MON_ERR_PARSE, "must be an object");
	expect_error("{\"execute\":\"echo\",\"extra\":1}", MON_ERR_PARSE, "unknown request member");
	expect_error("{\"execute\":\"ctx\",\"execute\":\"fail\"}", MON_ERR_PARSE, "invalid JSON");
	expect_error("{\"execute\":\"ctx\"} {}", MON_ERR_PARSE, "invalid JSON");
	cr_assert_eq(calls, 0, "a command ran for a bad request");
}

Test(monitor_dispatch, refuses_unknown_commands)
{
	expect_error("{\"execute\":\"rm -rf\"}", MON_ERR_NOT_FOUND, "unknown command 'rm -rf'");
	expect_error("{\"execute\":\"\"}", MON_ERR_NOT_FOUND, "unknown command");
	cr_assert_eq(calls, 0);
}

Test(monitor_dispatch, checks_arguments_before_the_command_runs)
{
	expect_error("{\"execute\":\"echo\"}", MON_ERR_ARG, "missing argument 'file'");
	expect_error("{\"execute\":\"echo\",\"arguments\":{\"file\":1}}", MON_ERR_ARG,
		     "'file' must be a string");
	expect_error("{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\",\"continue\":1}}",
		     MON_ERR_ARG, "'continue' must be a boolean");
	expect_error("{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\",\"n\":1.5}}",
		     MON_ERR_ARG, "'n' must be an integer");
	expect_error("{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\",\"opts\":[]}}",
		     MON_ERR_ARG, "'opts' must be an object");
	expect_error("{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\",\"mode\":\"x\"}}",
		     MON_ERR_ARG, "unknown argument 'mode'");
	expect_error("{\"execute\":\"fail\",\"arguments\":{\"x\":1}}", MON_ERR_ARG,
		     "unknown argument 'x'");
	cr_assert_eq(calls, 0);
}

Test(monitor_dispatch, survives_deep_nesting_and_nul_bytes)
{
	char deep[8192];
	const char nul[] = "{\"execute\":\"ctx\"\0}";
	json_t *r;
	int ctx = 1;

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0;
	expect_error(deep, MON_ERR_PARSE, "invalid JSON");
	r = mon_dispatch(cmds, &ctx, nul, sizeof(nul) - 1);
	cr_assert(json_is_object(json_object_get(r, "error")));
	json_decref(r);
	expect_error("{\"execute\":\"ctx\\u0000\"}", MON_ERR_PARSE, "invalid JSON");
}

Test(monitor_messages, greeting_event_and_command_list)
{
	json_t *g = mon_greeting("9.9");
	json_t *ev = mon_event("STOP", json_pack("{s:s}", "status", "paused"));
	json_t *l = mon_command_list(cmds);

	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
		json_object_get(g, "QMP"), "version"), "vmm")), "9.9");
	cr_assert(json_is_array(json_object_get(json_object_get(g, "QMP"), "capabilities")));
	cr_assert_str_eq(json_string_value(json_object_get(ev, "event")), "STOP");
	cr_assert(json_integer_value(json_object_get(json_object_get(ev, "timestamp"),
						     "seconds")) > 1000000000);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "data"),
							    "status")), "paused");
	cr_assert_eq(json_array_size(l), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 1), "name")),
			 "fail");
	json_decref(g);
	json_decref(ev);
	json_decref(l);
}

/* ---- framing ---- */

static struct mon_in in;

static void feed(const char *s, size_t n)
{
	size_t room;
	char *p = mon_in_space(&in, &room);

	cr_assert_geq(room, n);
	memcpy(p, s, n);
	mon_in_commit(&in, n);
}

static enum mon_line next(char *out, size_t outlen)
{
	const char *line;
	size_t len;
	enum mon_line r = mon_in_next(&in, &line, &len);

	if (r == MON_LINE_OK) {
		cr_assert_lt(len, outlen);
		memcpy(out, line, len);
		out[len] = 0;
	}
	return r;
}

Test(monitor_framing, splits_lines_across_reads_and_strips_cr)
{
	char l[64];

	mon_in_reset(&in);
	feed("{\"a\"", 4);
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_NONE);
	feed(":1}\r\n{}\nxy", 10);
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_OK);
	cr_assert_str_eq(l, "{\"a\":1}");
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_OK);
	cr_assert_str_eq(l, "{}");
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_NONE);
	feed("z\n", 2);
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_OK);
	cr_assert_str_eq(l, "xyz");
}

Test(monitor_framing, a_line_of_exactly_the_limit_passes)
{
	static char big[MON_LINE_MAX + 1];
	const char *line;
	size_t len;

	mon_in_reset(&in);
	memset(big, 'a', MON_LINE_MAX);
	big[MON_LINE_MAX] = '\n';
	feed(big, sizeof(big));
	cr_assert_eq(mon_in_next(&in, &line, &len), MON_LINE_OK);
	cr_assert_eq(len, MON_LINE_MAX);
}

Test(monitor_framing, an_over_long_line_is_dropped_once_up_to_its_end)
{
	static char chunk[4096];
	char l[64];
	size_t fed = 0, room;
	int too_long = 0;

	mon_in_reset(&in);
	memset(chunk, 'x', sizeof(chunk));
	/* 3 * MON_LINE_MAX bytes of one line, fed as a socket would. */
	while (fed < 3 * MON_LINE_MAX) {
		enum mon_line r;

		mon_in_space(&in, &room);
		cr_assert_gt(room, 0, "no room while a long line is dropped");
		feed(chunk, room < sizeof(chunk) ? room : sizeof(chunk));
		fed += room < sizeof(chunk) ? room : sizeof(chunk);
		while ((r = next(l, sizeof(l))) != MON_LINE_NONE) {
			cr_assert_eq(r, MON_LINE_TOO_LONG);
			too_long++;
		}
	}
	cr_assert_eq(too_long, 1);
	feed("tail\n{\"ok\":1}\n", 14);
	cr_assert_eq(next(l, sizeof(l)), MON_LINE_OK);
	cr_assert_str_eq(l, "{\"ok\":1}", "the rest of the long line leaked: %s", l);
}

/* ---- output queue ---- */

Test(monitor_out, queues_lines_and_refuses_past_its_bound)
{
	struct mon_out o;
	json_t *v = json_pack("{s:i}", "a", 1);
	json_t *big;
	char *pad = malloc(MON_OUT_MAX / 4);
	int queued = 0;

	mon_out_init(&o);
	cr_assert_eq(mon_out_json(&o, v), 0);
	cr_assert_eq(mon_out_pending(&o), 8);
	cr_assert_eq(memcmp(mon_out_data(&o), "{\"a\":1}\n", 8), 0);
	mon_out_consume(&o, 3);
	cr_assert_eq(memcmp(mon_out_data(&o), "\":1}\n", 5), 0);
	mon_out_consume(&o, 5);
	cr_assert_eq(mon_out_pending(&o), 0);

	memset(pad, 'p', MON_OUT_MAX / 4 - 1);
	pad[MON_OUT_MAX / 4 - 1] = 0;
	big = json_pack("{s:s}", "pad", pad);
	while (mon_out_json(&o, big) == 0)
		queued++;
	cr_assert_eq(queued, 3, "%d quarter-size lines fit", queued);
	cr_assert_leq(mon_out_pending(&o), MON_OUT_MAX);
	/* Written out, the room comes back. */
	mon_out_consume(&o, mon_out_pending(&o));
	cr_assert_eq(mon_out_json(&o, big), 0);
	json_decref(big);
	json_decref(v);
	free(pad);
	mon_out_free(&o);
}

/* ---- vmm ctl's argument words ---- */

Test(monitor_ctl, key_value_words_become_typed_members)
{
	char *w[] = { "file=a b.sav", "continue=true", "live=false", "n=-12", "uri=tcp:h:1",
		      "empty=" };
	char err[200];
	json_t *o = ctl_build_args(6, w, err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	cr_assert_str_eq(json_string_value(json_object_get(o, "file")), "a b.sav");
	cr_assert(json_is_true(json_object_get(o, "continue")));
	cr_assert(json_is_false(json_object_get(o, "live")));
	cr_assert_eq(json_integer_value(json_object_get(o, "n")), -12);
	cr_assert_str_eq(json_string_value(json_object_get(o, "uri")), "tcp:h:1");
	cr_assert_str_eq(json_string_value(json_object_get(o, "empty")), "");
	json_decref(o);
	o = ctl_build_args(0, w, err, sizeof(err));
	cr_assert_eq(json_object_size(o), 0);
	json_decref(o);
}

Test(monitor_ctl, a_json_object_word_is_taken_as_is)
{
	char *w[] = { "{\"file\":\"x\",\"continue\":true}" };
	char err[200];
	json_t *o = ctl_build_args(1, w, err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	cr_assert_str_eq(json_string_value(json_object_get(o, "file")), "x");
	json_decref(o);
}

Test(monitor_ctl, malformed_words_are_refused_with_a_reason)
{
	char *noeq[] = { "file" }, *nokey[] = { "=x" }, *twice[] = { "a=1", "a=2" };
	char *badjson[] = { "{\"a\":" }, *notobj[] = { "{}", "b=1" }, *bad8[] = { "f=\xff" };
	char err[200];

	cr_assert_null(ctl_build_args(1, noeq, err, sizeof(err)));
	cr_assert(strstr(err, "KEY=VALUE"), "%s", err);
	cr_assert_null(ctl_build_args(1, nokey, err, sizeof(err)));
	cr_assert_null(ctl_build_args(2, twice, err, sizeof(err)));
	cr_assert(strstr(err, "twice"), "%s", err);
	cr_assert_null(ctl_build_args(1, badjson, err, sizeof(err)));
	cr_assert_null(ctl_build_args(2, notobj, err, sizeof(err)));
	cr_assert_null(ctl_build_args(1, bad8, err, sizeof(err)));
	cr_assert(strstr(err, "UTF-8"), "%s", err);
}

/* Mutated requests (bytes replaced, cut short) always get one reply, a
 * return or an error, never a crash; the fake commands run only for a
 * request that parses. */
Test(monitor_dispatch, mutated_requests_always_get_one_reply)
{
	static const char seed[] = "{\"execute\":\"echo\",\"arguments\":{\"file\":\"a\","
				   "\"continue\":true,\"n\":-3,\"opts\":{}},\"id\":[1]}";
	unsigned x = 12345;
	char buf[sizeof(seed)];
	int ctx = 0, returns = 0, errors = 0;

	for (int i = 0; i < 20000; i++) {
		size_t len = sizeof(seed) - 1;
		json_t *r;

		memcpy(buf, seed, len);
		for (int k = 0; k < 1 + i % 4; k++) {
			x = x * 1103515245u + 12345u;
			buf[(x >> 8) % len] = (char)(x >> 20);
		}
		if (i % 3 == 0)
			len = (x >> 4) % len;
		r = mon_dispatch(cmds, &ctx, buf, len);
		cr_assert_not_null(r);
		cr_assert(json_is_object(json_object_get(r, "return")) !=
			  json_is_object(json_object_get(r, "error")), "reply is neither or both");
		returns += json_object_get(r, "return") != NULL;
		errors += json_object_get(r, "error") != NULL;
		json_decref(r);
	}
	cr_assert_gt(errors, 10000);
	cr_assert_gt(returns, 0, "no mutation kept the request valid");
}
