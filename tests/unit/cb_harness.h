/* cb_harness.h - shared rig of the callback tests: logging test units of every flavour,
 * a logging trace hook, and a one-unit-per-flavour fixture (static inline). */
#ifndef TESTS_UNIT_CB_HARNESS_H
#define TESTS_UNIT_CB_HARNESS_H

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

static inline void trace_fn(void *user, const char *unit, uint32_t instance, ssm_flavour fl,
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

static inline struct tunit *unit_of(void *ctx)
{
	int tag = *(int *)ctx;

	if (tag == TAG_VM)
		return ((struct vm *)ctx)->internal;
	cr_assert_eq(tag, TAG_UNIT, "callback got a context that is no test object");
	return ctx;
}

static inline int on_cb(void *ctx, ssm_handle *h, ssm_cb_kind kind, uint32_t pass)
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

static inline int cb_live_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LIVE_PREP, SSM_PASS_FINAL);
}

static inline int cb_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	int rc = on_cb(ctx, h, SSM_CB_LIVE_EXEC, pass);

	return rc ? rc : ssm_put_u32(h, pass);
}

static inline int cb_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	return on_cb(ctx, h, SSM_CB_LIVE_VOTE, pass);
}

static inline int cb_save_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_SAVE_PREP, SSM_PASS_FINAL);
}

static inline int cb_save_exec(void *ctx, ssm_handle *h)
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

static inline int cb_save_done(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_SAVE_DONE, SSM_PASS_FINAL);
}

static inline int cb_load_prep(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LOAD_PREP, SSM_PASS_FINAL);
}

static inline int cb_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
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

static inline int cb_load_done(void *ctx, ssm_handle *h)
{
	return on_cb(ctx, h, SSM_CB_LOAD_DONE, SSM_PASS_FINAL);
}

static const ssm_callbacks all_cb = {
	.live_prep = cb_live_prep, .live_exec = cb_live_exec, .live_vote = cb_live_vote,
	.save_prep = cb_save_prep, .save_exec = cb_save_exec, .save_done = cb_save_done,
	.load_prep = cb_load_prep, .load_exec = cb_load_exec, .load_done = cb_load_done,
};

static inline void unit_init(struct env *e, struct tunit *u, const char *name, ssm_flavour fl,
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
static inline int reg(ssm *s, struct vm *vm, struct tunit *u, const char *before, uint32_t flags)
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

static inline void env_reset_logs(struct env *e)
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
static inline void check_logs(struct env *e, const char *want)
{
	cr_assert_str_eq(e->cb.s, want, "callback log:\n  got  %s\n  want %s", e->cb.s, want);
	cr_assert_str_eq(e->tr.s, want, "trace log:\n  got  %s\n  want %s", e->tr.s, want);
	cr_assert_eq(e->ctx_mismatch, 0, "a callback got another unit's context");
	cr_assert_eq(e->trace_mismatch, 0, "trace reported a wrong unit or flavour");
}

/* ---- Fixture: one unit of each flavour ------------------------------------ */

struct fixture {
	struct env e;
	struct vm vm;
	struct tunit dev, drv, in, ext, ext2;
	ssm *s;
};

/* dev, drv, int, ext registered in that order, then ext2 before "drv":
 * save order dev ext2 drv int ext. */
static inline void fixture_init(struct fixture *f)
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

#endif /* TESTS_UNIT_CB_HARNESS_H */
