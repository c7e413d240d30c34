/* devlive.h - shared helpers of the device tests' saved-state cases: a trace
 * log of one unit, a unit that forces extra live passes, live save / traced
 * load through memory, a non-live round trip through memory (testutil.h's
 * tu_save / tu_load), a newer-version unit, a stand-in unit that sends a
 * chosen model identity, and the data of one unit in a non-live save.
 * Static functions: each test file is its own binary. */
#ifndef TESTS_DEVLIVE_H
#define TESTS_DEVLIVE_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "tests/unit/testutil.h"

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

/* How a test registers its device (as instance 0) in a registry. */
typedef int (*dev_reg_fn)(ssm *reg, void *dev);

/* Non-live save of src (registered by reg_dev) into memory and load into dst;
 * returns the load status and, in *out_reg, dst's registry (ssm_destroy()). */
static int dev_round_trip(dev_reg_fn reg_dev, void *src, void *dst, ssm **out_reg)
{
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	int rc;

	cr_assert(a && b);
	cr_assert_eq(reg_dev(a, src), SSM_OK);
	cr_assert_eq(reg_dev(b, dst), SSM_OK);
	cr_assert_eq(tu_save(a, NULL, false, &buf, &len), SSM_OK, "save: %s", ssm_last_error(a));
	rc = tu_load(b, buf, len, NULL);
	free(buf);
	ssm_destroy(a);
	*out_reg = b;
	return rc;
}

/* save_exec of a unit registered under a newer version than the device's. */
static int v2_save(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, 0);
}

/* Stand-in for a device unit on the source: sends a chosen identity in live
 * pass 0 and, in the final pass, body (a real state taken from a normal save,
 * see final_body()).  The identity record has the devices' layout (pic.c,
 * pit.c, serial.c *_live_exec): the model string, the version, then each
 * model parameter, all u32. */
struct fake_dev {
	const char *model;
	uint32_t version;
	uint32_t params[4];
	unsigned nparams;
	void *body;
	size_t body_len;
};

static int fake_dev_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	const struct fake_dev *f = ctx;
	unsigned i;
	int rc;

	(void)pass;
	cr_assert_leq(f->nparams, sizeof f->params / sizeof f->params[0]);
	rc = ssm_put_str(h, f->model);
	if (rc == SSM_OK)
		rc = ssm_put_u32(h, f->version);
	for (i = 0; rc == SSM_OK && i < f->nparams; i++)
		rc = ssm_put_u32(h, f->params[i]);
	return rc;
}

/* Like the devices: the identity is sent once. */
static int fake_dev_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)h;
	(void)pass;
	return SSM_VOTE_DONE_DONT_CALL_AGAIN;
}

static int fake_dev_save_exec(void *ctx, ssm_handle *h)
{
	const struct fake_dev *f = ctx;

	return ssm_put_mem(h, f->body, f->body_len);
}

/* The data of unit <unit>/0 in a non-live save of dev (registered by
 * reg_dev); *body is malloc()ed. */
static void final_body(const char *unit, dev_reg_fn reg_dev, void *dev, void **body,
		       size_t *len)
{
	ssm *reg = ssm_create(NULL);
	ssm_handle *h;
	ssm_unit_info ui;
	void *buf;
	size_t buf_len;
	uint32_t i;
	bool found = false;

	cr_assert_not_null(reg);
	cr_assert_eq(reg_dev(reg, dev), SSM_OK);
	cr_assert_eq(tu_save(reg, NULL, false, &buf, &buf_len), SSM_OK);
	cr_assert_eq(ssm_open(tu_reader(buf, buf_len, true), &h), SSM_OK);
	for (i = 0; ssm_unit_info_get(h, i, &ui) == SSM_OK; i++)
		if (!strcmp(ui.name, unit) && ui.instance == 0) {
			found = true;
			*len = (size_t)ui.data_len;
		}
	cr_assert(found);
	*body = malloc(*len);
	cr_assert_not_null(*body);
	cr_assert_eq(ssm_seek(h, unit, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_get_mem(h, *body, *len), SSM_OK);
	ssm_close(h);
	free(buf);
	ssm_destroy(reg);
}

#endif
