/* test_callbacks_status.c - what callbacks see of an operation's outcome:
 * failures (done still runs and sees the status), ssm_handle_after, progress. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"
#include "cb_harness.h"

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
		ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .after = saves[i].opt };

		free(buf);
		cr_assert_eq(tu_save(f.s, &so, true, &buf, &len), SSM_OK);
		for (size_t k = 0; k < f.e.n; k++)
			for (int kind = SSM_CB_SAVE_PREP; kind <= SSM_CB_SAVE_DONE; kind++)
				cr_assert_eq(f.e.units[k]->after[kind], saves[i].want,
					     "save %zu, %s %s: %d", i, f.e.units[k]->name,
					     kname[kind], f.e.units[k]->after[kind]);
	}
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .after = loads[i].opt };

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
			ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .after = bad_save[i] };

			env_reset_logs(&f.e);
			cr_assert_eq(tu_save(f.s, &so, true, &buf, &len), SSM_ERR_INVALID_ARG,
				     "save after %d", bad_save[i]);
			cr_assert_eq(f.ext.calls[SSM_CB_SAVE_EXEC], 0);
		}
		cr_assert_eq(tu_save(f.s, NULL, true, &buf, &len), SSM_OK);
		for (size_t i = 0; i < sizeof(bad_load) / sizeof(bad_load[0]); i++) {
			ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .after = bad_load[i] };

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
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .progress = progress_fn, .progress_user = &e };
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .progress = progress_fn, .progress_user = &e };
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
