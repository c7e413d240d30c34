/* devlive.h - shared helpers of the device tests' live-save cases: a trace
 * log of one unit, a unit that forces extra live passes, and live save /
 * traced load through memory.  Static functions: each test file is its own
 * binary. */
#ifndef TESTS_DEVLIVE_H
#define TESTS_DEVLIVE_H

#include <criterion/criterion.h>
#include <string.h>

#include "ssm/ssm.h"

/* What the trace saw of one unit (instance 0). */
struct live_log {
	const char *unit;
	uint32_t load_pass[8];   /* pass of each load_exec, in order */
	unsigned loads;
	unsigned live_execs, live_votes;
};

static void live_log_trace(void *user, const char *unit, uint32_t instance, ssm_flavour fl,
			   ssm_cb_kind kind, uint32_t pass)
{
	struct live_log *l = user;

	(void)fl;
	if (strcmp(unit, l->unit) || instance != 0)
		return;
	if (kind == SSM_CB_LOAD_EXEC) {
		cr_assert_lt(l->loads, 8);
		l->load_pass[l->loads++] = pass;
	} else if (kind == SSM_CB_LIVE_EXEC) {
		l->live_execs++;
	} else if (kind == SSM_CB_LIVE_VOTE) {
		l->live_votes++;
	}
}

/* A unit that, like guest RAM, wants two more live passes after pass 0. */
static int pacer_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	return ssm_put_u32(h, pass);
}

static int pacer_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)h;
	return pass < 2 ? SSM_VOTE_ANOTHER_PASS : SSM_VOTE_DONE;
}

/* Live save reg into *buf: begin, step1, step2, end. */
static void live_save(ssm *reg, void **buf, size_t *len)
{
	ssm_handle *h = NULL;
	ssm_stream st;
	int rc, end;

	cr_assert_eq(ssm_stream_mem_sink(&st, buf, len), SSM_OK);
	rc = ssm_live_begin(reg, st, NULL, &h);
	if (rc == SSM_OK)
		rc = ssm_live_step1(h);
	if (rc == SSM_OK)
		rc = ssm_live_step2(h);
	end = h ? ssm_live_end(h) : rc;
	cr_assert_eq(rc, SSM_OK, "live save: %s", ssm_last_error(reg));
	cr_assert_eq(end, SSM_OK, "live save end: %s", ssm_last_error(reg));
	cr_assert_not_null(*buf);
}

/* Load buf into reg, recording l->unit's load_exec passes in *l. */
static int traced_load(ssm *reg, const void *buf, size_t len, struct live_log *l)
{
	const char *unit = l->unit;
	ssm_stream st;
	int rc;

	memset(l, 0, sizeof *l);
	l->unit = unit;
	ssm_set_trace(reg, live_log_trace, l);
	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	rc = ssm_load(reg, st, NULL);
	ssm_set_trace(reg, NULL, NULL);
	return rc;
}

#endif
