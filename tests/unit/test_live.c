/* test_live.c - live save in steps: passes driven by votes, done-don't-call-
 * again, giving up, the pass limit, and loading the passes back in order. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

#define VERSION 3
#define MAXREC 64

enum vote_mode {
	V_AGAIN_K,        /* ANOTHER_PASS while pass < k, then DONE */
	V_DONT_CALL_AT,   /* DONE_DONT_CALL_AGAIN at pass k, ANOTHER_PASS before */
	V_GIVE_UP_AT,     /* GIVE_UP at pass k, ANOTHER_PASS before */
	V_ALWAYS,         /* ANOTHER_PASS forever */
	V_RETURN,         /* return `ret` at pass k */
};

struct lunit {
	const char *name;
	enum vote_mode mode;
	uint32_t k;
	int ret;
	int fail_exec_pass;       /* live_exec fails at this pass (-1 never) */
	int fail_prep;            /* live_prep returns this */
	int exec_calls, vote_calls, done_calls;
	int done_status;
	uint32_t downtime, max_passes;
	bool downtime_ok;
	/* Load side: (version, pass) of every load_exec, in order. */
	uint32_t ld_version[MAXREC], ld_pass[MAXREC];
	int nld;
	int ld_bad;
};

static struct tu_log trace_log;

static void trace_fn(void *user, const char *unit, uint32_t instance, ssm_flavour fl,
		     ssm_cb_kind kind, uint32_t pass)
{
	(void)user;
	(void)instance;
	(void)fl;
	if (pass == SSM_PASS_FINAL)
		tu_logf(&trace_log, "%s:%s", ssm_cb_kind_name(kind), unit);
	else
		tu_logf(&trace_log, "%s:%s@%u", ssm_cb_kind_name(kind), unit, pass);
}

/* Unit data of one pass: pass, name, then a pass-sized pattern in which
 * pass 1 carries a zero page. */
static size_t pass_len(uint32_t pass)
{
	return pass == SSM_PASS_FINAL ? 777 : (size_t)(pass % 4 + 1) * 3000;
}

static void pass_data(const struct lunit *u, uint32_t pass, uint8_t *buf)
{
	size_t n = pass_len(pass);

	tu_fill(buf, n, (uint64_t)pass * 131 + (uint8_t)u->name[0]);
	if (pass == 1)
		memset(buf + 1000, 0, 4096 < n - 1000 ? 4096 : n - 1000);
}

static int put_pass(struct lunit *u, ssm_handle *h, uint32_t pass)
{
	uint8_t buf[12000];
	int rc = ssm_put_u32(h, pass);

	rc = rc ? rc : ssm_put_str(h, u->name);
	pass_data(u, pass, buf);
	return rc ? rc : ssm_put_mem(h, buf, pass_len(pass));
}

static void seen_opts(struct lunit *u, ssm_handle *h)
{
	if (ssm_handle_max_downtime_ms(h) != u->downtime ||
	    ssm_handle_max_passes(h) != u->max_passes)
		u->downtime_ok = false;
}

static int l_live_prep(void *ctx, ssm_handle *h)
{
	struct lunit *u = ctx;

	u->downtime = ssm_handle_max_downtime_ms(h);
	u->max_passes = ssm_handle_max_passes(h);
	u->downtime_ok = true;
	return u->fail_prep;
}

static int l_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	struct lunit *u = ctx;

	u->exec_calls++;
	seen_opts(u, h);
	if (u->fail_exec_pass >= 0 && pass == (uint32_t)u->fail_exec_pass)
		return SSM_ERR_IO;
	return put_pass(u, h, pass);
}

static int l_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	struct lunit *u = ctx;

	u->vote_calls++;
	seen_opts(u, h);
	switch (u->mode) {
	case V_AGAIN_K:
		return pass < u->k ? SSM_VOTE_ANOTHER_PASS : SSM_VOTE_DONE;
	case V_DONT_CALL_AT:
		return pass < u->k ? SSM_VOTE_ANOTHER_PASS : SSM_VOTE_DONE_DONT_CALL_AGAIN;
	case V_GIVE_UP_AT:
		return pass < u->k ? SSM_VOTE_ANOTHER_PASS : SSM_VOTE_GIVE_UP;
	case V_RETURN:
		return pass < u->k ? SSM_VOTE_ANOTHER_PASS : u->ret;
	default:
		return SSM_VOTE_ANOTHER_PASS;
	}
}

static int l_save_exec(void *ctx, ssm_handle *h)
{
	struct lunit *u = ctx;

	seen_opts(u, h);
	return put_pass(u, h, SSM_PASS_FINAL);
}

static int l_save_done(void *ctx, ssm_handle *h)
{
	struct lunit *u = ctx;

	u->done_calls++;
	u->done_status = ssm_handle_status(h);
	return SSM_OK;
}

static int l_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct lunit *u = ctx;
	uint8_t want[12000], got[12000];
	char name[SSM_NAME_MAX + 1];
	uint32_t p = 0;
	int rc;

	if (u->nld < MAXREC) {
		u->ld_version[u->nld] = version;
		u->ld_pass[u->nld] = pass;
	}
	u->nld++;
	rc = ssm_get_u32(h, &p);
	rc = rc ? rc : ssm_get_str(h, name, sizeof(name), NULL);
	rc = rc ? rc : ssm_get_mem(h, got, pass_len(pass));
	if (rc)
		return rc;
	pass_data(u, pass, want);
	if (p != pass || strcmp(name, u->name) || memcmp(got, want, pass_len(pass)))
		u->ld_bad++;
	return SSM_OK;
}

static const ssm_callbacks live_cb = {
	.live_prep = l_live_prep, .live_exec = l_live_exec, .live_vote = l_live_vote,
	.save_exec = l_save_exec, .save_done = l_save_done, .load_exec = l_load_exec,
};

/* A unit that only takes part in the final pass. */
static const ssm_callbacks final_cb = {
	.save_exec = l_save_exec, .save_done = l_save_done, .load_exec = l_load_exec,
};

static void lunit_init(struct lunit *u, const char *name, enum vote_mode mode, uint32_t k)
{
	memset(u, 0, sizeof(*u));
	u->name = name;
	u->mode = mode;
	u->k = k;
	u->fail_exec_pass = -1;
}

static ssm *new_reg(struct lunit **units, size_t n, const ssm_callbacks *const *cbs)
{
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ssm_register_external(s, units[i]->name, 0, VERSION, 1000, NULL, 0,
						   cbs ? cbs[i] : &live_cb, units[i]), SSM_OK);
	tu_log_reset(&trace_log);
	ssm_set_trace(s, trace_fn, NULL);
	return s;
}

/* Expect exactly the passes listed (SSM_PASS_FINAL last) at VERSION. */
static void check_loaded(const struct lunit *u, const uint32_t *passes, int n)
{
	cr_assert_eq(u->nld, n, "%s: %d load_exec calls, want %d", u->name, u->nld, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(u->ld_version[i], VERSION, "%s call %d: version %u", u->name, i,
			     u->ld_version[i]);
		cr_assert_eq(u->ld_pass[i], passes[i], "%s call %d: pass %u, want %u", u->name,
			     i, u->ld_pass[i], passes[i]);
	}
	cr_assert_eq(u->ld_bad, 0, "%s loaded wrong data", u->name);
}

static void reset_load(struct lunit **units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		units[i]->nld = 0;
		units[i]->ld_bad = 0;
	}
}

#define F SSM_PASS_FINAL

/* ---- Passes and votes ------------------------------------------------------- */

static void multi_pass(bool seekable)
{
	struct lunit a, b, c, d;
	struct lunit *units[] = { &a, &b, &c, &d };
	static const ssm_callbacks *const cbs[] = { &live_cb, &live_cb, &live_cb, &final_cb };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .max_downtime_ms = 250, .max_passes = 10, .compression = 1 };
	struct tu_cap cap;
	ssm_handle *h = NULL;
	char msg[256];
	ssm *s;

	lunit_init(&a, "A", V_AGAIN_K, 2);
	lunit_init(&b, "B", V_AGAIN_K, 0);
	lunit_init(&c, "C", V_DONT_CALL_AT, 0);
	lunit_init(&d, "D", V_AGAIN_K, 0);
	s = new_reg(units, 4, cbs);
	for (int i = 0; i < 4; i++) {
		units[i]->downtime = 250;
		units[i]->max_passes = 10;
		units[i]->downtime_ok = true;
	}
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, seekable), &so, &h), SSM_OK);
	cr_assert_not_null(h);
	cr_assert_eq(ssm_live_step1(h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_live_step2(h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_live_end(h), SSM_OK, "%s", ssm_last_error(s));

	cr_assert_str_eq(trace_log.s,
		"live_prep:A live_prep:B live_prep:C "
		"live_exec:A@0 live_exec:B@0 live_exec:C@0 "
		"live_vote:A@0 live_vote:B@0 live_vote:C@0 "
		"live_exec:A@1 live_exec:B@1 live_vote:A@1 live_vote:B@1 "
		"live_exec:A@2 live_exec:B@2 live_vote:A@2 live_vote:B@2 "
		"save_exec:A save_exec:B save_exec:C save_exec:D "
		"save_done:A save_done:B save_done:C save_done:D");
	cr_assert_eq(a.exec_calls, 3);
	cr_assert_eq(b.exec_calls, 3, "a unit voting DONE runs again while others continue");
	cr_assert_eq(c.exec_calls, 1, "DONE_DONT_CALL_AGAIN unit was called again");
	cr_assert_eq(c.vote_calls, 1);
	for (int i = 0; i < 4; i++) {
		cr_assert(units[i]->downtime_ok, "%s saw other max_downtime/max_passes",
			  units[i]->name);
		cr_assert_eq(units[i]->done_calls, 1);
		cr_assert_eq(units[i]->done_status, SSM_OK);
	}
	cr_assert_eq(a.downtime, 250);
	cr_assert_eq(a.max_passes, 10);

	cr_assert_eq(tu_validate(cap.buf, cap.len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	tu_log_reset(&trace_log);
	cr_assert_eq(tu_load(s, cap.buf, cap.len, NULL), SSM_OK, "%s", ssm_last_error(s));
	{
		static const uint32_t pa[] = { 0, 1, 2, F }, pc[] = { 0, F }, pd[] = { F };

		check_loaded(&a, pa, 4);
		check_loaded(&b, pa, 4);
		check_loaded(&c, pc, 2);
		check_loaded(&d, pd, 1);
	}
	cr_assert_str_eq(trace_log.s,
		"load_exec:A@0 load_exec:B@0 load_exec:C@0 load_exec:A@1 load_exec:B@1 "
		"load_exec:A@2 load_exec:B@2 load_exec:A load_exec:B load_exec:C load_exec:D");

	/* Random access: the directory lists every pass, seek picks the last. */
	{
		static const char *names = "ABCABABABCD";
		static const uint32_t passes[] = { 0, 0, 0, 1, 1, 2, 2, F, F, F, F };
		ssm_handle *oh;
		ssm_unit_info ui;
		uint32_t ver = 0;

		cr_assert_eq(ssm_open(tu_reader(cap.buf, cap.len, true), &oh), SSM_OK);
		for (uint32_t i = 0; i < 11; i++) {
			cr_assert_eq(ssm_unit_info_get(oh, i, &ui), SSM_OK);
			cr_assert_eq(ui.name[0], names[i]);
			cr_assert_eq(ui.pass, passes[i], "entry %u: pass %u", i, ui.pass);
			cr_assert_eq(ui.version, VERSION);
		}
		cr_assert_eq(ssm_unit_info_get(oh, 11, &ui), SSM_ERR_INVALID_ARG);
		reset_load(units, 4);
		cr_assert_eq(ssm_seek(oh, "A", 0, &ver), SSM_OK, "%s", ssm_handle_error(oh));
		cr_assert_eq(ver, VERSION);
		cr_assert_eq(l_load_exec(&a, oh, ver, F), SSM_OK);
		cr_assert_eq(a.ld_bad, 0, "seek did not land on the final pass");
		ssm_close(oh);
	}
	free(cap.buf);
	ssm_destroy(s);
}

Test(live, passes_until_all_vote_done)
{
	multi_pass(true);
}

Test(live, passes_until_all_vote_done_non_seekable)
{
	multi_pass(false);
}

/* ---- Giving up ---------------------------------------------------------------- */

Test(live, give_up_then_step2_finishes_loadable_file)
{
	struct lunit a, b;
	struct lunit *units[] = { &a, &b };
	struct tu_cap cap;
	ssm_handle *h;
	char msg[256];
	ssm *s;

	lunit_init(&a, "A", V_ALWAYS, 0);
	lunit_init(&b, "B", V_GIVE_UP_AT, 1);
	s = new_reg(units, 2, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_LIVE_GAVE_UP);
	cr_assert_not_null(strstr(ssm_handle_error(h), "'B'"), "'%s'", ssm_handle_error(h));
	cr_assert_eq(a.exec_calls, 2);
	cr_assert_eq(ssm_live_step2(h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_live_end(h), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_eq(a.done_status, SSM_OK);
	cr_assert_eq(b.done_status, SSM_OK);
	cr_assert_not_null(cap.buf);
	cr_assert_eq(tu_validate(cap.buf, cap.len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(tu_load(s, cap.buf, cap.len, NULL), SSM_OK, "%s", ssm_last_error(s));
	{
		static const uint32_t p[] = { 0, 1, F };

		check_loaded(&a, p, 3);
		check_loaded(&b, p, 3);
	}
	free(cap.buf);
	ssm_destroy(s);
}

Test(live, give_up_then_end_without_step2_fails)
{
	struct lunit a, b;
	struct lunit *units[] = { &a, &b };
	struct tu_cap cap;
	ssm_handle *h;
	int rc;
	ssm *s;

	lunit_init(&a, "A", V_GIVE_UP_AT, 0);
	lunit_init(&b, "B", V_ALWAYS, 0);
	s = new_reg(units, 2, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_LIVE_GAVE_UP);
	rc = ssm_live_end(h);
	cr_assert_lt(rc, 0, "end without step2 returned %d", rc);
	cr_assert_eq(a.done_calls, 1);
	cr_assert_eq(b.done_calls, 1);
	cr_assert_neq(a.done_status, SSM_OK);
	cr_assert_neq(b.done_status, SSM_OK);
	cr_assert_eq(cap.closes, 1);
	cr_assert(!cap.closed_ok, "an unfinished live save was committed");
	cr_assert_null(cap.buf);
	cr_assert_str_neq(ssm_last_error(s), "");
	ssm_destroy(s);
}

/* Temporary directory of the running test; removed by its .fini even when
 * an assertion ends the test early. */
static char dir[64];

static void rm_dir(void)
{
	if (dir[0])
		tu_rmdir(dir);
}

Test(live, give_up_then_end_leaves_no_file, .fini = rm_dir)
{
	struct lunit a;
	struct lunit *units[] = { &a };
	char path[128];
	ssm_stream st;
	ssm_handle *h;
	ssm *s;

	tu_mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/live.sav", dir);
	lunit_init(&a, "A", V_GIVE_UP_AT, 2);
	s = new_reg(units, 1, NULL);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_live_begin(s, st, NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_LIVE_GAVE_UP);
	cr_assert_neq(ssm_live_end(h), SSM_OK);
	cr_assert_neq(a.done_status, SSM_OK);
	cr_assert_eq(access(path, F_OK), -1, "file exists after an abandoned live save");
	cr_assert_eq(tu_dir_entries(dir), 0, "temporary file left behind");

	/* The same with step2 commits the file. */
	a.done_status = -1;
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_live_begin(s, st, NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_LIVE_GAVE_UP);
	cr_assert_eq(ssm_live_step2(h), SSM_OK);
	cr_assert_eq(ssm_live_end(h), SSM_OK);
	cr_assert_eq(a.done_status, SSM_OK);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	cr_assert_eq(ssm_load(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	{
		static const uint32_t p[] = { 0, 1, 2, F };

		check_loaded(&a, p, 4);
	}
	ssm_destroy(s);
}

/* ---- Pass limit ------------------------------------------------------------------- */

Test(live, max_passes_stops_with_too_many_passes)
{
	struct lunit a, b;
	struct lunit *units[] = { &a, &b };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .max_passes = 4 };
	struct tu_cap cap;
	ssm_handle *h;
	ssm *s;

	lunit_init(&a, "A", V_ALWAYS, 0);
	lunit_init(&b, "B", V_AGAIN_K, 0);
	s = new_reg(units, 2, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), &so, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_TOO_MANY_PASSES);
	cr_assert_eq(a.exec_calls, 4, "%d passes run with max_passes 4", a.exec_calls);
	cr_assert_eq(a.max_passes, 4);
	cr_assert_eq(ssm_live_step2(h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_live_end(h), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_eq(tu_load(s, cap.buf, cap.len, NULL), SSM_OK, "%s", ssm_last_error(s));
	{
		static const uint32_t p[] = { 0, 1, 2, 3, F };

		check_loaded(&a, p, 5);
		check_loaded(&b, p, 5);
	}
	free(cap.buf);

	/* Ending right after the limit is an error seen by save_done. */
	lunit_init(&a, "A", V_ALWAYS, 0);
	so.max_passes = 1;
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), &so, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_TOO_MANY_PASSES);
	cr_assert_eq(a.exec_calls, 1);
	cr_assert_lt(ssm_live_end(h), 0);
	cr_assert_neq(a.done_status, SSM_OK);
	cr_assert_null(cap.buf);
	ssm_destroy(s);
}

/* ---- Errors and the step state machine --------------------------------------------- */

Test(live, steps_out_of_order_are_refused)
{
	struct lunit a;
	struct lunit *units[] = { &a };
	struct tu_cap cap;
	ssm_handle *h;
	ssm *s;

	lunit_init(&a, "A", V_AGAIN_K, 0);
	s = new_reg(units, 1, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(cap.closes, 1, "begin must consume the stream even on failure");
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step2(h), SSM_ERR_BAD_STATE);
	/* The registry is busy while the live save is open. */
	{
		struct tu_cap c2;
		void *buf = NULL;

		cr_assert_eq(ssm_save(s, tu_cap_stream(&c2, true), NULL), SSM_ERR_BAD_STATE);
		cr_assert_eq(c2.closes, 1);
		cr_assert_eq(ssm_load(s, tu_reader(&buf, 0, true), NULL), SSM_ERR_BAD_STATE);
		cr_assert_eq(ssm_deregister_external(s, "A", 0), SSM_ERR_BAD_STATE);
	}
	cr_assert_eq(ssm_live_step1(h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_BAD_STATE);
	cr_assert_eq(ssm_live_step2(h), SSM_OK);
	cr_assert_eq(ssm_live_step2(h), SSM_ERR_BAD_STATE);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_BAD_STATE);
	cr_assert_eq(ssm_live_end(h), SSM_OK);
	cr_assert_eq(ssm_live_end(NULL), SSM_ERR_INVALID_ARG);
	free(cap.buf);
	/* Free again afterwards. */
	cr_assert_eq(ssm_deregister_external(s, "A", 0), SSM_OK);
	ssm_destroy(s);
}

Test(live, failing_live_exec_fails_the_save)
{
	struct lunit a, b;
	struct lunit *units[] = { &a, &b };
	struct tu_cap cap;
	ssm_handle *h;
	ssm *s;

	lunit_init(&a, "A", V_AGAIN_K, 3);
	lunit_init(&b, "B", V_AGAIN_K, 3);
	b.fail_exec_pass = 1;
	s = new_reg(units, 2, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_ERR_IO);
	cr_assert_eq(ssm_live_end(h), SSM_ERR_IO);
	cr_assert_eq(a.done_status, SSM_ERR_IO);
	cr_assert_eq(b.done_status, SSM_ERR_IO);
	cr_assert_null(cap.buf);
	cr_assert_not_null(strstr(ssm_last_error(s), "'B'"), "'%s'", ssm_last_error(s));
	cr_assert_not_null(strstr(ssm_last_error(s), "live_exec"), "'%s'", ssm_last_error(s));
	ssm_destroy(s);
}

Test(live, failing_live_prep_fails_begin)
{
	struct lunit a, b;
	struct lunit *units[] = { &a, &b };
	struct tu_cap cap;
	ssm_handle *h = NULL;
	ssm *s;

	lunit_init(&a, "A", V_AGAIN_K, 0);
	lunit_init(&b, "B", V_AGAIN_K, 0);
	a.fail_prep = SSM_ERR_NOMEM;
	s = new_reg(units, 2, NULL);
	cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_ERR_NOMEM);
	cr_assert_not_null(h, "begin must hand out the handle so that end can run");
	cr_assert_eq(ssm_live_end(h), SSM_ERR_NOMEM);
	cr_assert_eq(a.done_calls, 1);
	cr_assert_eq(b.done_calls, 1);
	cr_assert_eq(b.done_status, SSM_ERR_NOMEM);
	cr_assert_eq(a.exec_calls + b.exec_calls, 0);
	cr_assert_null(cap.buf);
	ssm_destroy(s);
}

Test(live, bad_votes_are_errors)
{
	static const struct { int ret, want; } cases[] = {
		{ 42, SSM_ERR_CALLBACK }, { SSM_ERR_NOMEM, SSM_ERR_NOMEM },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lunit a;
		struct lunit *units[] = { &a };
		struct tu_cap cap;
		ssm_handle *h;
		ssm *s;

		lunit_init(&a, "A", V_RETURN, 1);
		a.ret = cases[i].ret;
		s = new_reg(units, 1, NULL);
		cr_assert_eq(ssm_live_begin(s, tu_cap_stream(&cap, true), NULL, &h), SSM_OK);
		cr_assert_eq(ssm_live_step1(h), cases[i].want, "vote %d", cases[i].ret);
		cr_assert_eq(ssm_live_end(h), cases[i].want);
		cr_assert_eq(a.done_status, cases[i].want);
		cr_assert_null(cap.buf);
		ssm_destroy(s);
	}
}

/* Plain ssm_save of live-capable units runs only the final pass. */
Test(live, plain_save_runs_final_pass_only)
{
	struct lunit a;
	struct lunit *units[] = { &a };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .max_downtime_ms = 1234 };
	void *buf;
	size_t len;
	ssm *s;

	lunit_init(&a, "A", V_ALWAYS, 0);
	a.downtime = 1234;
	a.downtime_ok = true;
	s = new_reg(units, 1, NULL);
	cr_assert_eq(tu_save(s, &so, true, &buf, &len), SSM_OK);
	cr_assert_str_eq(trace_log.s, "save_exec:A save_done:A");
	cr_assert(a.downtime_ok, "save_exec saw another max_downtime");
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_OK);
	{
		static const uint32_t p[] = { F };

		check_loaded(&a, p, 1);
	}
	free(buf);
	ssm_destroy(s);
}
