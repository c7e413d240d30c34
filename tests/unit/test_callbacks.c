/* test_callbacks.c - registration and the order, context and view of unit
 * callbacks, for all four flavours: save, load, failures, 'after', progress,
 * duplicate and deregistration. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

#define TAG_UNIT 0x554e4954
#define TAG_VM 0x564d5f5f

struct env;

struct tunit {
	int tag;                  /* TAG_UNIT */
	const char *name;
	uint32_t instance;
	ssm_flavour flavour;
	struct env *env;
	void *want_ctx;           /* what its callbacks must receive */
	int fail_kind;            /* callback kind that fails, -1 none */
	int fail_rc;
	int calls[SSM_CB__COUNT];
	int status[SSM_CB__COUNT];    /* ssm_handle_status() in the last call */
	ssm_after after[SSM_CB__COUNT];
	bool loaded_in_done;
	uint32_t put_bytes;       /* extra data save_exec writes, in 16 KiB puts */
};

/* The VM object internal units get as their context. */
struct vm {
	int tag;                  /* TAG_VM */
	struct tunit *internal;   /* the one internal unit of a test */
};

struct env {
	struct tu_log cb;         /* written by the callbacks */
	struct tu_log tr;         /* written by the trace hook */
	struct tunit *units[16];
	size_t n;
	struct tunit *expect;     /* unit the trace announced */
	int trace_mismatch;       /* trace named an unknown unit or wrong flavour */
	int ctx_mismatch;         /* a callback got another unit's context */
	unsigned pct[256];
	size_t npct;
};

static const char *const kname[SSM_CB__COUNT] = {
	"live_prep", "live_exec", "live_vote", "save_prep", "save_exec", "save_done",
	"load_prep", "load_exec", "load_done",
};

static void trace_fn(void *user, const char *unit, uint32_t instance, ssm_flavour fl,
		     ssm_cb_kind kind, uint32_t pass)
{
	struct env *e = user;

	if (pass == SSM_PASS_FINAL)
		tu_logf(&e->tr, "%s:%s", ssm_cb_kind_name(kind), unit);
	else
		tu_logf(&e->tr, "%s:%s@%u", ssm_cb_kind_name(kind), unit, pass);
	e->expect = NULL;
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->units[i]->name, unit) && e->units[i]->instance == instance)
			e->expect = e->units[i];
	if (!e->expect || e->expect->flavour != fl)
		e->trace_mismatch++;
}

static struct tunit *unit_of(void *ctx)
{
	int tag = *(int *)ctx;

	if (tag == TAG_VM)
		return ((struct vm *)ctx)->internal;
	cr_assert_eq(tag, TAG_UNIT, "callback got a context that is no test object");
	return ctx;
}

static int on_cb(void *ctx, ssm_handle *h, ssm_cb_kind kind, uint32_t pass)
{
	struct tunit *u = unit_of(ctx);
	struct env *e = u->env;

	if (pass == SSM_PASS_FINAL)
		tu_logf(&e->cb, "%s:%s", kname[kind], u->name);
	else
		tu_logf(&e->cb, "%s:%s@%u", kname[kind], u->name, pass);
	if (ctx != u->want_ctx || (e->expect && e->expect != u))
		e->ctx_mismatch++;
	u->calls[kind]++;
	u->status[kind] = ssm_handle_status(h);
	u->after[kind] = ssm_handle_after(h);
	if (kind == SSM_CB_LOAD_DONE)
		u->loaded_in_done = ssm_handle_unit_loaded(h);
	return u->fail_kind == (int)kind ? u->fail_rc : SSM_OK;
}

static int cb_live_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LIVE_PREP, SSM_PASS_FINAL);
}

static int cb_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	int rc = on_cb(ctx, h, SSM_CB_LIVE_EXEC, pass);

	return rc ? rc : ssm_put_u32(h, pass);
}

static int cb_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	return on_cb(ctx, h, SSM_CB_LIVE_VOTE, pass);
}

static int cb_save_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_SAVE_PREP, SSM_PASS_FINAL);
}

static int cb_save_exec(void *ctx, ssm_handle *h)
{
	struct tunit *u = unit_of(ctx);
	int rc = ssm_put_str(h, u->name);

	rc = rc ? rc : ssm_put_u32(h, u->instance);
	if (!rc && u->put_bytes) {
		uint8_t *chunk = tu_xmalloc(16384);

		tu_fill(chunk, 16384, u->instance + 1);
		for (uint32_t done = 0; !rc && done < u->put_bytes; done += 16384)
			rc = ssm_put_mem(h, chunk, 16384);
		free(chunk);
	}
	/* The data is written before a failure is reported, so the failure
	 * must discard a stream that already holds part of the unit. */
	if (!rc)
		rc = on_cb(ctx, h, SSM_CB_SAVE_EXEC, SSM_PASS_FINAL);
	return rc;
}

static int cb_save_done(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_SAVE_DONE, SSM_PASS_FINAL);
}

static int cb_load_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LOAD_PREP, SSM_PASS_FINAL);
}

static int cb_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct tunit *u = unit_of(ctx);
	char name[SSM_NAME_MAX + 1];
	uint32_t inst = UINT32_MAX, p;
	int rc = on_cb(ctx, h, SSM_CB_LOAD_EXEC, pass);

	cr_expect_eq(version, 5);
	if (rc)
		return rc;
	if (pass != SSM_PASS_FINAL) {
		rc = ssm_get_u32(h, &p);
		cr_expect(rc == SSM_OK && p == pass, "live data of %s", u->name);
		return rc;
	}
	rc = ssm_get_str(h, name, sizeof(name), NULL);
	rc = rc ? rc : ssm_get_u32(h, &inst);
	if (rc)
		return rc;
	cr_expect_str_eq(name, u->name);
	cr_expect_eq(inst, u->instance);
	if (u->put_bytes)
		rc = ssm_skip(h, u->put_bytes);
	return rc;
}

static int cb_load_done(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LOAD_DONE, SSM_PASS_FINAL);
}

static const ssm_callbacks all_cb = {
	.live_prep = cb_live_prep, .live_exec = cb_live_exec, .live_vote = cb_live_vote,
	.save_prep = cb_save_prep, .save_exec = cb_save_exec, .save_done = cb_save_done,
	.load_prep = cb_load_prep, .load_exec = cb_load_exec, .load_done = cb_load_done,
};

static void unit_init(struct env *e, struct tunit *u, const char *name, ssm_flavour fl,
		      uint32_t instance)
{
	memset(u, 0, sizeof(*u));
	u->tag = TAG_UNIT;
	u->name = name;
	u->instance = instance;
	u->flavour = fl;
	u->env = e;
	u->want_ctx = u;
	u->fail_kind = -1;
	cr_assert_lt(e->n, sizeof(e->units) / sizeof(e->units[0]));
	e->units[e->n++] = u;
}

/* Register u in s with its flavour's call; internal units need vm. */
static int reg(ssm *s, struct vm *vm, struct tunit *u, const char *before, uint32_t flags)
{
	switch (u->flavour) {
	case SSM_FLAVOUR_DEVICE:
		return ssm_register_device(s, u, u->name, u->instance, 5, 100, before, flags,
					   &all_cb);
	case SSM_FLAVOUR_DRIVER:
		return ssm_register_driver(s, u, u->name, u->instance, 5, 100, before, flags,
					   &all_cb);
	case SSM_FLAVOUR_INTERNAL:
		cr_assert_not_null(vm);
		vm->internal = u;
		u->want_ctx = vm;
		return ssm_register_internal(s, u->name, u->instance, 5, 100, before, flags,
					     &all_cb);
	default:
		return ssm_register_external(s, u->name, u->instance, 5, 100, before, flags,
					     &all_cb, u);
	}
}

static void env_reset_logs(struct env *e)
{
	tu_log_reset(&e->cb);
	tu_log_reset(&e->tr);
	e->npct = 0;
	for (size_t i = 0; i < e->n; i++) {
		memset(e->units[i]->calls, 0, sizeof(e->units[i]->calls));
		memset(e->units[i]->status, 0x7f, sizeof(e->units[i]->status));
	}
}

/* Both logs must equal want, and every callback got its own context. */
static void check_logs(struct env *e, const char *want)
{
	cr_assert_str_eq(e->cb.s, want, "callback log:\n  got  %s\n  want %s", e->cb.s, want);
	cr_assert_str_eq(e->tr.s, want, "trace log:\n  got  %s\n  want %s", e->tr.s, want);
	cr_assert_eq(e->ctx_mismatch, 0, "a callback got another unit's context");
	cr_assert_eq(e->trace_mismatch, 0, "trace reported a wrong unit or flavour");
}

/* "k:a k:b ..." for kind k over names. */
static void seq(char *out, size_t len, const char *kind, const char *const *names)
{
	size_t o = strlen(out);

	for (; *names; names++) {
		snprintf(out + o, len - o, "%s%s:%s", o ? " " : "", kind, *names);
		o = strlen(out);
	}
}

/* ---- Save and load order over all flavours -------------------------------- */

struct fixture {
	struct env e;
	struct vm vm;
	struct tunit dev, drv, in, ext, ext2;
	ssm *s;
};

/* dev, drv, int, ext registered in that order, then ext2 before "drv":
 * save order dev ext2 drv int ext. */
static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->vm.tag = TAG_VM;
	unit_init(&f->e, &f->dev, "dev", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&f->e, &f->drv, "drv", SSM_FLAVOUR_DRIVER, 1);
	unit_init(&f->e, &f->in, "int", SSM_FLAVOUR_INTERNAL, 2);
	unit_init(&f->e, &f->ext, "ext", SSM_FLAVOUR_EXTERNAL, 3);
	unit_init(&f->e, &f->ext2, "ext2", SSM_FLAVOUR_EXTERNAL, 4);
	f->s = ssm_create(&f->vm);
	cr_assert_not_null(f->s);
	cr_assert_eq(reg(f->s, &f->vm, &f->dev, NULL, 0), SSM_OK);
	cr_assert_eq(reg(f->s, &f->vm, &f->drv, NULL, 0), SSM_OK);
	cr_assert_eq(reg(f->s, &f->vm, &f->in, NULL, 0), SSM_OK);
	cr_assert_eq(reg(f->s, &f->vm, &f->ext, NULL, 0), SSM_OK);
	cr_assert_eq(reg(f->s, &f->vm, &f->ext2, "drv", 0), SSM_OK);
	ssm_set_trace(f->s, trace_fn, &f->e);
}

static const char *const fixture_order[] = { "dev", "ext2", "drv", "int", "ext", NULL };

Test(callbacks, save_then_load_order_all_flavours)
{
	struct fixture f;
	char want[2048] = "";
	void *buf;
	size_t len;
	int rc;

	fixture_init(&f);
	env_reset_logs(&f.e);
	rc = tu_save(f.s, NULL, true, &buf, &len);
	cr_assert_eq(rc, SSM_OK, "%s", ssm_last_error(f.s));
	seq(want, sizeof(want), "save_prep", fixture_order);
	seq(want, sizeof(want), "save_exec", fixture_order);
	seq(want, sizeof(want), "save_done", fixture_order);
	check_logs(&f.e, want);

	env_reset_logs(&f.e);
	rc = tu_load(f.s, buf, len, NULL);
	cr_assert_eq(rc, SSM_OK, "%s", ssm_last_error(f.s));
	want[0] = 0;
	seq(want, sizeof(want), "load_prep", fixture_order);
	seq(want, sizeof(want), "load_exec", fixture_order);
	seq(want, sizeof(want), "load_done", fixture_order);
	check_logs(&f.e, want);
	for (size_t i = 0; i < f.e.n; i++) {
		cr_assert_eq(f.e.units[i]->calls[SSM_CB_LOAD_EXEC], 1);
		cr_assert(f.e.units[i]->loaded_in_done, "%s", f.e.units[i]->name);
		cr_assert_eq(f.e.units[i]->status[SSM_CB_LOAD_DONE], SSM_OK);
	}
	free(buf);
	ssm_destroy(f.s);
}

/* Load runs load_exec in the order of the file, prep and done in the
 * loading registry's order. */
Test(callbacks, load_exec_follows_file_order)
{
	static const char *const reg_order[] = { "ext", "int", "drv", "ext2", "dev", NULL };
	struct fixture f;
	struct env e2 = { 0 };
	struct vm vm2 = { .tag = TAG_VM };
	struct tunit u2[5];
	char want[2048] = "";
	ssm *s2;
	void *buf;
	size_t len;

	fixture_init(&f);
	cr_assert_eq(tu_save(f.s, NULL, true, &buf, &len), SSM_OK);

	s2 = ssm_create(&vm2);
	unit_init(&e2, &u2[0], "ext", SSM_FLAVOUR_EXTERNAL, 3);
	unit_init(&e2, &u2[1], "int", SSM_FLAVOUR_INTERNAL, 2);
	unit_init(&e2, &u2[2], "drv", SSM_FLAVOUR_DRIVER, 1);
	unit_init(&e2, &u2[3], "ext2", SSM_FLAVOUR_EXTERNAL, 4);
	unit_init(&e2, &u2[4], "dev", SSM_FLAVOUR_DEVICE, 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(reg(s2, &vm2, &u2[i], NULL, 0), SSM_OK);
	ssm_set_trace(s2, trace_fn, &e2);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_OK, "%s", ssm_last_error(s2));
	seq(want, sizeof(want), "load_prep", reg_order);
	seq(want, sizeof(want), "load_exec", fixture_order);
	seq(want, sizeof(want), "load_done", reg_order);
	check_logs(&e2, want);
	free(buf);
	ssm_destroy(s2);
	ssm_destroy(f.s);
}

/* Live kinds too: live_prep all, then per pass live_exec all and live_vote
 * all, then the final pass. */
Test(callbacks, live_kinds_order_all_flavours)
{
	struct fixture f;
	char want[4096] = "";
	struct tu_cap c;
	ssm_handle *h = NULL;

	fixture_init(&f);
	env_reset_logs(&f.e);
	cr_assert_eq(ssm_live_begin(f.s, tu_cap_stream(&c, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_OK);
	cr_assert_eq(ssm_live_step2(h), SSM_OK);
	cr_assert_eq(ssm_live_end(h), SSM_OK, "%s", ssm_last_error(f.s));
	seq(want, sizeof(want), "live_prep", fixture_order);
	{
		static const char *const at0[] = { "dev@0", "ext2@0", "drv@0", "int@0",
						   "ext@0", NULL };

		seq(want, sizeof(want), "live_exec", at0);
		seq(want, sizeof(want), "live_vote", at0);
	}
	seq(want, sizeof(want), "save_prep", fixture_order);
	seq(want, sizeof(want), "save_exec", fixture_order);
	seq(want, sizeof(want), "save_done", fixture_order);
	check_logs(&f.e, want);

	env_reset_logs(&f.e);
	cr_assert_eq(tu_load(f.s, c.buf, c.len, NULL), SSM_OK, "%s", ssm_last_error(f.s));
	want[0] = 0;
	seq(want, sizeof(want), "load_prep", fixture_order);
	{
		static const char *const at0[] = { "dev@0", "ext2@0", "drv@0", "int@0",
						   "ext@0", NULL };

		seq(want, sizeof(want), "load_exec", at0);
	}
	seq(want, sizeof(want), "load_exec", fixture_order);
	seq(want, sizeof(want), "load_done", fixture_order);
	check_logs(&f.e, want);
	free(c.buf);
	ssm_destroy(f.s);
}

/* ---- Ordering with `before` --------------------------------------------------- */

Test(callbacks, before_orders_registration)
{
	struct env e = { 0 };
	struct tunit u[8];
	static const struct { const char *name, *before; } r[] = {
		{ "a", NULL }, { "b", NULL }, { "c", "a" }, { "d", "b" },
		{ "e", "zzz" },    /* not registered: goes to the end */
		{ "f", "c" }, { "g", "e" }, { "h", "" },
	};
	static const char *const order[] = { "f", "c", "a", "d", "b", "g", "e", "h", NULL };
	char want[1024] = "";
	ssm *s = ssm_create(NULL);
	void *buf;
	size_t len;

	for (size_t i = 0; i < 8; i++) {
		unit_init(&e, &u[i], r[i].name, SSM_FLAVOUR_EXTERNAL, 0);
		cr_assert_eq(reg(s, NULL, &u[i], r[i].before, 0), SSM_OK);
	}
	ssm_set_trace(s, trace_fn, &e);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_OK);
	seq(want, sizeof(want), "save_prep", order);
	seq(want, sizeof(want), "save_exec", order);
	seq(want, sizeof(want), "save_done", order);
	check_logs(&e, want);
	free(buf);
	ssm_destroy(s);
}

Test(callbacks, before_goes_before_first_instance)
{
	struct env e = { 0 };
	struct tunit u[4];
	char want[512] = "";
	ssm *s = ssm_create(NULL);
	void *buf;
	size_t len;

	unit_init(&e, &u[0], "x", SSM_FLAVOUR_EXTERNAL, 0);
	unit_init(&e, &u[1], "y", SSM_FLAVOUR_EXTERNAL, 0);
	unit_init(&e, &u[2], "y", SSM_FLAVOUR_EXTERNAL, 1);
	unit_init(&e, &u[3], "z", SSM_FLAVOUR_EXTERNAL, 0);
	cr_assert_eq(reg(s, NULL, &u[0], NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, NULL, &u[1], NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, NULL, &u[2], NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, NULL, &u[3], "y", 0), SSM_OK);
	ssm_set_trace(s, trace_fn, &e);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_OK);
	{
		static const char *const order[] = { "x", "z", "y", "y", NULL };

		seq(want, sizeof(want), "save_prep", order);
		seq(want, sizeof(want), "save_exec", order);
		seq(want, sizeof(want), "save_done", order);
	}
	cr_assert_str_eq(e.tr.s, want);
	free(buf);
	ssm_destroy(s);
}

/* ---- Failures: done still runs and sees the status ---------------------------- */

static void three_units(struct env *e, struct vm *vm, struct tunit u[3], ssm_flavour mid,
			ssm **s)
{
	memset(e, 0, sizeof(*e));
	memset(vm, 0, sizeof(*vm));
	vm->tag = TAG_VM;
	unit_init(e, &u[0], "alpha", SSM_FLAVOUR_EXTERNAL, 0);
	unit_init(e, &u[1], "bravo", mid, 6);
	unit_init(e, &u[2], "charlie", SSM_FLAVOUR_EXTERNAL, 0);
	*s = ssm_create(vm);
	cr_assert_not_null(*s);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(reg(*s, vm, &u[i], NULL, 0), SSM_OK);
	ssm_set_trace(*s, trace_fn, e);
}

Test(callbacks, failing_save_exec_runs_done_and_names_unit)
{
	for (int fl = SSM_FLAVOUR_DEVICE; fl <= SSM_FLAVOUR_EXTERNAL; fl++) {
		struct env e;
		struct vm vm;
		struct tunit u[3];
		ssm *s;
		void *buf;
		size_t len;
		int rc;

		three_units(&e, &vm, u, (ssm_flavour)fl, &s);
		u[1].fail_kind = SSM_CB_SAVE_EXEC;
		u[1].fail_rc = SSM_ERR_IO;
		rc = tu_save(s, NULL, true, &buf, &len);
		cr_assert_eq(rc, SSM_ERR_IO, "flavour %d: rc %d", fl, rc);
		cr_assert_null(buf);
		check_logs(&e, "save_prep:alpha save_prep:bravo save_prep:charlie "
			   "save_exec:alpha save_exec:bravo "
			   "save_done:alpha save_done:bravo save_done:charlie");
		cr_assert_eq(u[0].status[SSM_CB_SAVE_EXEC], SSM_OK);
		for (int i = 0; i < 3; i++)
			cr_assert_eq(u[i].status[SSM_CB_SAVE_DONE], SSM_ERR_IO,
				     "save_done of %s saw status %d", u[i].name,
				     u[i].status[SSM_CB_SAVE_DONE]);
		cr_assert_not_null(strstr(ssm_last_error(s), "bravo"), "flavour %d: '%s'", fl,
				   ssm_last_error(s));
		cr_assert_not_null(strstr(ssm_last_error(s), "save_exec"), "'%s'",
				   ssm_last_error(s));
		ssm_destroy(s);
	}
}

Test(callbacks, failing_save_prep_skips_exec_but_not_done)
{
	struct env e;
	struct vm vm;
	struct tunit u[3];
	ssm *s;
	void *buf;
	size_t len;

	three_units(&e, &vm, u, SSM_FLAVOUR_DRIVER, &s);
	u[1].fail_kind = SSM_CB_SAVE_PREP;
	u[1].fail_rc = SSM_ERR_NOMEM;
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_ERR_NOMEM);
	check_logs(&e, "save_prep:alpha save_prep:bravo "
		   "save_done:alpha save_done:bravo save_done:charlie");
	cr_assert_neq(u[2].status[SSM_CB_SAVE_DONE], SSM_OK);
	cr_assert_not_null(strstr(ssm_last_error(s), "bravo"));
	ssm_destroy(s);
}

Test(callbacks, failing_save_done_fails_save_but_all_done_run)
{
	struct env e;
	struct vm vm;
	struct tunit u[3];
	ssm *s;
	void *buf;
	size_t len;

	three_units(&e, &vm, u, SSM_FLAVOUR_INTERNAL, &s);
	u[0].fail_kind = SSM_CB_SAVE_DONE;
	u[0].fail_rc = SSM_ERR_CALLBACK;
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_ERR_CALLBACK);
	cr_assert_null(buf, "a failed save must not commit its stream");
	check_logs(&e, "save_prep:alpha save_prep:bravo save_prep:charlie "
		   "save_exec:alpha save_exec:bravo save_exec:charlie "
		   "save_done:alpha save_done:bravo save_done:charlie");
	cr_assert_not_null(strstr(ssm_last_error(s), "alpha"));
	ssm_destroy(s);
}

/* A callback breaking the contract with a positive return must not make
 * the save look successful to a caller testing rc < 0. */
Test(callbacks, positive_return_from_exec_is_an_error)
{
	struct env e;
	struct vm vm;
	struct tunit u[3];
	ssm *s;
	void *buf;
	size_t len;
	int rc;

	three_units(&e, &vm, u, SSM_FLAVOUR_EXTERNAL, &s);
	u[1].fail_kind = SSM_CB_SAVE_EXEC;
	u[1].fail_rc = 1;
	rc = tu_save(s, NULL, true, &buf, &len);
	cr_assert_lt(rc, 0, "save returned %d", rc);
	cr_assert_null(buf);

	u[1].fail_kind = -1;
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_OK);
	u[1].fail_kind = SSM_CB_LOAD_EXEC;
	rc = tu_load(s, buf, len, NULL);
	cr_assert_lt(rc, 0, "load returned %d", rc);
	free(buf);
	ssm_destroy(s);
}

Test(callbacks, failing_load_exec_runs_done_and_names_unit)
{
	for (int fl = SSM_FLAVOUR_DEVICE; fl <= SSM_FLAVOUR_EXTERNAL; fl++) {
		struct env e;
		struct vm vm;
		struct tunit u[3];
		ssm *s;
		void *buf;
		size_t len;

		three_units(&e, &vm, u, (ssm_flavour)fl, &s);
		cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_OK);
		env_reset_logs(&e);
		u[1].fail_kind = SSM_CB_LOAD_EXEC;
		u[1].fail_rc = SSM_ERR_LOAD_VALUE;
		cr_assert_eq(tu_load(s, buf, len, NULL), SSM_ERR_LOAD_VALUE);
		check_logs(&e, "load_prep:alpha load_prep:bravo load_prep:charlie "
			   "load_exec:alpha load_exec:bravo "
			   "load_done:alpha load_done:bravo load_done:charlie");
		for (int i = 0; i < 3; i++)
			cr_assert_eq(u[i].status[SSM_CB_LOAD_DONE], SSM_ERR_LOAD_VALUE);
		cr_assert(u[0].loaded_in_done);
		cr_assert(!u[2].loaded_in_done);
		cr_assert_not_null(strstr(ssm_last_error(s), "bravo"), "'%s'",
				   ssm_last_error(s));
		free(buf);
		ssm_destroy(s);
	}
}

Test(callbacks, failing_load_prep_skips_exec_but_not_done)
{
	struct env e;
	struct vm vm;
	struct tunit u[3];
	ssm *s;
	void *buf;
	size_t len;

	three_units(&e, &vm, u, SSM_FLAVOUR_DEVICE, &s);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &len), SSM_OK);
	env_reset_logs(&e);
	u[0].fail_kind = SSM_CB_LOAD_PREP;
	u[0].fail_rc = SSM_ERR_NOMEM;
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_ERR_NOMEM);
	check_logs(&e, "load_prep:alpha load_done:alpha load_done:bravo load_done:charlie");
	cr_assert_eq(u[2].status[SSM_CB_LOAD_DONE], SSM_ERR_NOMEM);
	cr_assert_not_null(strstr(ssm_last_error(s), "alpha"));
	free(buf);
	ssm_destroy(s);
}

/* ---- ssm_handle_after ---------------------------------------------------------- */

Test(callbacks, handle_after_values)
{
	static const struct { ssm_after opt, want; } saves[] = {
		{ 0, SSM_AFTER_DESTROY }, { SSM_AFTER_DESTROY, SSM_AFTER_DESTROY },
		{ SSM_AFTER_CONTINUE, SSM_AFTER_CONTINUE },
		{ SSM_AFTER_TELEPORT, SSM_AFTER_TELEPORT },
	};
	static const struct { ssm_after opt, want; } loads[] = {
		{ 0, SSM_AFTER_RESUME }, { SSM_AFTER_RESUME, SSM_AFTER_RESUME },
		{ SSM_AFTER_DEBUG, SSM_AFTER_DEBUG },
	};
	struct fixture f;
	void *buf = NULL;
	size_t len;

	fixture_init(&f);
	for (size_t i = 0; i < sizeof(saves) / sizeof(saves[0]); i++) {
		ssm_save_opts so = { .after = saves[i].opt };

		free(buf);
		cr_assert_eq(tu_save(f.s, &so, true, &buf, &len), SSM_OK);
		for (size_t k = 0; k < f.e.n; k++)
			for (int kind = SSM_CB_SAVE_PREP; kind <= SSM_CB_SAVE_DONE; kind++)
				cr_assert_eq(f.e.units[k]->after[kind], saves[i].want,
					     "save %zu, %s %s: %d", i, f.e.units[k]->name,
					     kname[kind], f.e.units[k]->after[kind]);
	}
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		ssm_load_opts lo = { .after = loads[i].opt };

		cr_assert_eq(tu_load(f.s, buf, len, &lo), SSM_OK);
		for (size_t k = 0; k < f.e.n; k++)
			for (int kind = SSM_CB_LOAD_PREP; kind <= SSM_CB_LOAD_DONE; kind++)
				cr_assert_eq(f.e.units[k]->after[kind], loads[i].want,
					     "load %zu, %s %s", i, f.e.units[k]->name,
					     kname[kind]);
	}
	free(buf);
	/* Load-side values make no sense for a save, and the other way round. */
	{
		static const ssm_after bad_save[] = { SSM_AFTER_RESUME, SSM_AFTER_DEBUG,
						      SSM_AFTER_OPENED, 77 };
		static const ssm_after bad_load[] = { SSM_AFTER_DESTROY, SSM_AFTER_CONTINUE,
						      SSM_AFTER_TELEPORT, SSM_AFTER_OPENED, 77 };

		for (size_t i = 0; i < sizeof(bad_save) / sizeof(bad_save[0]); i++) {
			ssm_save_opts so = { .after = bad_save[i] };

			env_reset_logs(&f.e);
			cr_assert_eq(tu_save(f.s, &so, true, &buf, &len), SSM_ERR_INVALID_ARG,
				     "save after %d", bad_save[i]);
			cr_assert_eq(f.ext.calls[SSM_CB_SAVE_EXEC], 0);
		}
		cr_assert_eq(tu_save(f.s, NULL, true, &buf, &len), SSM_OK);
		for (size_t i = 0; i < sizeof(bad_load) / sizeof(bad_load[0]); i++) {
			ssm_load_opts lo = { .after = bad_load[i] };

			env_reset_logs(&f.e);
			cr_assert_eq(tu_load(f.s, buf, len, &lo), SSM_ERR_INVALID_ARG,
				     "load after %d", bad_load[i]);
			cr_assert_eq(f.ext.calls[SSM_CB_LOAD_EXEC], 0);
		}
		free(buf);
	}
	ssm_destroy(f.s);
}

/* ---- Progress ------------------------------------------------------------------- */

static void progress_fn(void *user, unsigned pct)
{
	struct env *e = user;

	if (e->npct < sizeof(e->pct) / sizeof(e->pct[0]))
		e->pct[e->npct++] = pct;
	if (pct == 100)
		tu_logf(&e->cb, "progress:100");
}

static void check_progress(const struct env *e, size_t min_values, const char *what)
{
	cr_assert_geq(e->npct, min_values, "%s: only %zu progress reports", what, e->npct);
	for (size_t i = 1; i < e->npct; i++)
		cr_assert_gt(e->pct[i], e->pct[i - 1], "%s: progress went %u -> %u", what,
			     e->pct[i - 1], e->pct[i]);
	cr_assert_eq(e->pct[e->npct - 1], 100, "%s: progress ended at %u", what,
		     e->pct[e->npct - 1]);
	/* 100 comes after every callback of the operation. */
	cr_assert(strlen(e->cb.s) >= strlen("progress:100") &&
		  !strcmp(e->cb.s + strlen(e->cb.s) - strlen("progress:100"), "progress:100"),
		  "%s: log does not end with progress:100: %s", what, e->cb.s);
}

Test(callbacks, progress_monotonic_and_ends_at_100)
{
	struct env e = { 0 };
	struct tunit u[4];
	static const char *const names[] = { "p1", "p2", "p3", "p4" };
	ssm *s = ssm_create(NULL);
	ssm_save_opts so = { .progress = progress_fn, .progress_user = &e };
	ssm_load_opts lo = { .progress = progress_fn, .progress_user = &e };
	void *buf;
	size_t len;

	for (int i = 0; i < 4; i++) {
		unit_init(&e, &u[i], names[i], SSM_FLAVOUR_EXTERNAL, (uint32_t)i);
		u[i].put_bytes = 256 * 1024;
		cr_assert_eq(ssm_register_external(s, names[i], (uint32_t)i, 5, 256 * 1024, NULL,
						   0, &all_cb, &u[i]), SSM_OK);
	}
	cr_assert_eq(tu_save(s, &so, true, &buf, &len), SSM_OK);
	check_progress(&e, 10, "save");

	env_reset_logs(&e);
	cr_assert_eq(tu_load(s, buf, len, &lo), SSM_OK, "%s", ssm_last_error(s));
	check_progress(&e, 3, "load");

	/* A stream of unknown size cannot report fractions, but 100 still
	 * comes only at the end. */
	env_reset_logs(&e);
	cr_assert_eq(ssm_load(s, tu_reader(buf, len, false), &lo), SSM_OK);
	check_progress(&e, 1, "load of unknown size");

	/* A failed save never claims 100. */
	env_reset_logs(&e);
	u[3].fail_kind = SSM_CB_SAVE_EXEC;
	u[3].fail_rc = SSM_ERR_IO;
	free(buf);
	cr_assert_eq(tu_save(s, &so, true, &buf, &len), SSM_ERR_IO);
	for (size_t i = 0; i < e.npct; i++)
		cr_assert_lt(e.pct[i], 100);
	ssm_destroy(s);
}

/* ---- Registration errors and deregistration ------------------------------------- */

Test(callbacks, duplicate_and_invalid_registration)
{
	struct env e = { 0 };
	struct tunit a;
	int dev, drv;
	char name64[65];
	ssm *s = ssm_create(NULL);

	unit_init(&e, &a, "dup", SSM_FLAVOUR_EXTERNAL, 0);
	cr_assert_eq(ssm_register_external(s, "dup", 0, 1, 0, NULL, 0, &all_cb, &a), SSM_OK);
	cr_assert_eq(ssm_register_external(s, "dup", 0, 1, 0, NULL, 0, &all_cb, &a),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_not_null(strstr(ssm_last_error(s), "dup"));
	/* (name, instance) is the key, whatever the flavour. */
	cr_assert_eq(ssm_register_device(s, &dev, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_driver(s, &drv, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_internal(s, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_device(s, &dev, "dup", 1, 1, 0, NULL, 0, &all_cb), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "dup", 2, 1, 0, NULL, 0, &all_cb), SSM_OK);

	memset(name64, 'n', 64);
	name64[64] = 0;
	cr_assert_eq(ssm_register_internal(s, name64, 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	name64[63] = 0;
	cr_assert_eq(ssm_register_internal(s, name64, 0, 1, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "", 0, 1, 0, NULL, 0, NULL), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_internal(s, NULL, 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_internal(s, "flags", 0, 1, 0, NULL, 0x80, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_device(s, NULL, "nodev", 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_driver(s, NULL, "nodrv", 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	ssm_destroy(s);
}

/* Save with the trace on and return the list of save_exec units. */
static void exec_list(ssm *s, struct env *e, char *out, size_t len)
{
	void *buf;
	size_t blen;
	const char *p;

	tu_log_reset(&e->tr);
	ssm_set_trace(s, trace_fn, e);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &blen), SSM_OK, "%s", ssm_last_error(s));
	free(buf);
	out[0] = 0;
	for (p = strstr(e->tr.s, "save_exec:"); p; p = strstr(p + 1, "save_exec:")) {
		size_t n = strcspn(p + 10, " ");

		snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
			 (int)n, p + 10);
	}
}

Test(callbacks, deregister_each_flavour)
{
	struct env e = { 0 };
	struct vm vm = { .tag = TAG_VM };
	struct tunit d1a, d1b, d2, r1, r2, i1, i2, x1, x2;
	char got[512];
	ssm *s = ssm_create(&vm);

	unit_init(&e, &d1a, "d1a", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &d1b, "d1b", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &d2, "d2", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &r1, "r1", SSM_FLAVOUR_DRIVER, 0);
	unit_init(&e, &r2, "r2", SSM_FLAVOUR_DRIVER, 0);
	unit_init(&e, &i1, "i1", SSM_FLAVOUR_INTERNAL, 0);
	unit_init(&e, &i2, "i2", SSM_FLAVOUR_INTERNAL, 1);
	unit_init(&e, &x1, "x1", SSM_FLAVOUR_EXTERNAL, 0);
	unit_init(&e, &x2, "x2", SSM_FLAVOUR_EXTERNAL, 0);
	/* Two units of one device instance (ctx &d1a). */
	cr_assert_eq(ssm_register_device(s, &d1a, "d1a", 0, 5, 0, NULL, 0, &all_cb), SSM_OK);
	d1b.want_ctx = &d1a;
	cr_assert_eq(ssm_register_device(s, &d1a, "d1b", 0, 5, 0, NULL, 0, &all_cb), SSM_OK);
	cr_assert_eq(reg(s, &vm, &d2, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &r1, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &r2, NULL, 0), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "i1", 0, 5, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "i2", 1, 5, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(reg(s, &vm, &x1, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &x2, NULL, 0), SSM_OK);
	/* i1/i2 have no callbacks; d1b's runs with d1a's context. */
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "d1a d1b d2 r1 r2 x1 x2");

	/* Device: name NULL drops every unit of the instance, only those. */
	cr_assert_eq(ssm_deregister_device(s, &d1a, NULL, 0), SSM_OK);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "d2 r1 r2 x1 x2");
	cr_assert_eq(ssm_deregister_device(s, &d1a, NULL, 0), SSM_ERR_NO_SUCH_UNIT);
	/* By name: the device pointer must match too. */
	cr_assert_eq(ssm_deregister_device(s, &d1a, "d2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_device(s, &d2, "d2", 1), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_device(s, &d2, "d2", 0), SSM_OK);

	/* Driver, both ways. */
	cr_assert_eq(ssm_deregister_driver(s, &r2, "r1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_driver(s, &r1, "r1", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_driver(s, &r2, NULL, 0), SSM_OK);
	cr_assert_eq(ssm_deregister_driver(s, &r2, NULL, 0), SSM_ERR_NO_SUCH_UNIT);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1 x2");

	/* Internal and external by name and instance, flavour must match. */
	cr_assert_eq(ssm_deregister_internal(s, "i2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_internal(s, "x1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_internal(s, "i2", 1), SSM_OK);
	cr_assert_eq(ssm_deregister_internal(s, "i1", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_internal(s, "i1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "i1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "x2", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_external(s, "x2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "nope", 0), SSM_ERR_NO_SUCH_UNIT);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1");

	/* A dropped name can be registered again. */
	cr_assert_eq(ssm_register_external(s, "x2", 0, 5, 0, NULL, 0, &all_cb, &x2), SSM_OK);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1 x2");
	ssm_destroy(s);
}

/* ---- Contexts, trace control, names ---------------------------------------------- */

Test(callbacks, each_context_reaches_its_callbacks)
{
	struct fixture f;
	struct tu_cap c;
	ssm_handle *h;

	fixture_init(&f);
	/* Every kind, with the trace telling which unit must be called. */
	cr_assert_eq(ssm_live_begin(f.s, tu_cap_stream(&c, true), NULL, &h), SSM_OK);
	cr_assert_eq(ssm_live_step1(h), SSM_OK);
	cr_assert_eq(ssm_live_step2(h), SSM_OK);
	cr_assert_eq(ssm_live_end(h), SSM_OK);
	cr_assert_eq(tu_load(f.s, c.buf, c.len, NULL), SSM_OK);
	cr_assert_eq(f.e.ctx_mismatch, 0);
	cr_assert_eq(f.e.trace_mismatch, 0);
	for (size_t i = 0; i < f.e.n; i++)
		for (int k = 0; k < SSM_CB__COUNT; k++)
			cr_assert_geq(f.e.units[i]->calls[k], 1, "%s: no %s",
				      f.e.units[i]->name, kname[k]);
	/* The internal unit's context is the VM pointer given to ssm_create. */
	cr_assert_eq(f.in.want_ctx, (void *)&f.vm);
	free(c.buf);
	ssm_destroy(f.s);
}

Test(callbacks, trace_can_be_turned_off)
{
	struct fixture f;
	void *buf;
	size_t len;

	fixture_init(&f);
	ssm_set_trace(f.s, NULL, NULL);
	cr_assert_eq(tu_save(f.s, NULL, true, &buf, &len), SSM_OK);
	cr_assert_str_eq(f.e.tr.s, "");
	cr_assert_neq(f.e.cb.len, 0);
	free(buf);
	ssm_destroy(f.s);
}

Test(callbacks, names_of_flavours_and_kinds)
{
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_DEVICE), "device");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_DRIVER), "driver");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_INTERNAL), "internal");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_EXTERNAL), "external");
	for (int k = 0; k < SSM_CB__COUNT; k++)
		cr_assert_str_eq(ssm_cb_kind_name((ssm_cb_kind)k), kname[k]);
	cr_assert_not_null(ssm_cb_kind_name(SSM_CB__COUNT));
	for (int rc = 0; rc > SSM_ERR__LAST; rc--)
		cr_assert_str_neq(ssm_strerror(rc), "unknown error", "code %d", rc);
}

Test(callbacks, cancel_without_operation)
{
	ssm *s = ssm_create(NULL);

	cr_assert_eq(ssm_cancel(s), SSM_ERR_BAD_STATE);
	cr_assert_str_eq(ssm_last_error(s), "");
	ssm_destroy(s);
}
