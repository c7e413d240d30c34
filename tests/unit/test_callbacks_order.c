/* test_callbacks_order.c - the order callbacks run in, for all four flavours:
 * save, load (file order), live kinds, `before`, contexts and the trace hook. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"
#include "cb_harness.h"

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

/* ---- Contexts and trace control -------------------------------------------------- */

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
