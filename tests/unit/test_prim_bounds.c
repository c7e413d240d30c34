/* test_prim_bounds.c - reads past the end of the unit, skip/skip_to_end, and
 * refused misuse: an invalid compression level, put/get in the wrong direction. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"
#include "prim_harness.h"

/* ---- Reading past the end leaves the output untouched ---------------------- */

static int short_save(ssm_handle *h, struct prim *p)
{
	(void)p;
	return ssm_put_u16(h, 0x4242);
}

static int short_load(ssm_handle *h, struct prim *p)
{
	uint32_t v32 = 0x11111111;
	uint64_t v64 = 0x2222222222222222ull;
	ssm_u128 v128 = { 3, 3 };
	int rc;

	switch (p->n) {
	case 0:
		rc = ssm_get_u32(h, &v32);
		CHECK(p, v32 == 0x11111111, "get_u32 past end changed *v to %x", v32);
		break;
	case 1:
		rc = ssm_get_u64(h, &v64);
		CHECK(p, v64 == 0x2222222222222222ull, "get_u64 past end changed *v");
		break;
	case 2:
		rc = ssm_get_u128(h, &v128);
		CHECK(p, v128.lo == 3 && v128.hi == 3, "get_u128 past end changed *v");
		break;
	default: {
		uint16_t a = 0;

		rc = ssm_get_u16(h, &a);
		CHECK(p, rc == SSM_OK && a == 0x4242, "u16: rc %d", rc);
		rc = ssm_get_u8(h, (uint8_t *)&a);
		CHECK(p, a == 0x4242, "get_u8 past end changed *v");
		break;
	}
	}
	CHECK(p, rc == SSM_ERR_READ_PAST_END, "rc %d", rc);
	return rc;
}

Test(prim, get_past_end_fails_and_leaves_value)
{
	for (size_t k = 0; k < 4; k++) {
		struct prim p = { .save = short_save, .load = short_load, .n = k };

		cr_assert_eq(run_level(&p, 0), SSM_ERR_READ_PAST_END, "case %zu", k);
		cr_assert_eq(p.bad, 0, "case %zu", k);
		cr_assert_not_null(strstr(p.load_err, "prim"), "%s", p.load_err);
		prim_done(&p);
	}
}

/* ---- skip and skip_to_end ------------------------------------------------------ */

#define SKIP_TAIL (2 * MIB + 77)

static int skip_save(ssm_handle *h, struct prim *p)
{
	uint8_t *junk = tu_xmalloc(SKIP_TAIL);
	int rc = 0;

	tu_fill(junk, SKIP_TAIL, 4);
	memset(junk + 200, 0, 3 * 4096);
	rc |= ssm_put_u32(h, 1);
	rc |= ssm_put_mem(h, junk, 100);
	rc |= ssm_put_u32(h, 2);
	rc |= ssm_put_mem(h, junk + 200, 3 * 4096 + 5000);  /* zero run + data */
	rc |= ssm_put_u32(h, 3);
	rc |= ssm_put_u64(h, 4);
	rc |= ssm_put_mem(h, junk, SKIP_TAIL);
	memcpy(p->arg, junk, 64);
	free(junk);
	return rc ? SSM_ERR_IO : SSM_OK;
}

static int skip_load(ssm_handle *h, struct prim *p)
{
	uint8_t head[10];
	uint64_t rem;
	int rc;

	GET_EQ(p, h, ssm_get_u32, uint32_t, 1);
	rc = ssm_skip(h, 100);
	if (rc)
		return rc;
	GET_EQ(p, h, ssm_get_u32, uint32_t, 2);
	rc = ssm_skip(h, 3 * 4096 + 5000);
	if (rc)
		return rc;
	GET_EQ(p, h, ssm_get_u32, uint32_t, 3);
	rc = ssm_skip(h, 0);
	if (rc)
		return rc;
	GET_EQ(p, h, ssm_get_u64, uint64_t, 4);
	rc = ssm_get_mem(h, head, sizeof(head));
	if (rc)
		return rc;
	CHECK(p, !memcmp(head, p->arg, sizeof(head)), "bytes after skips differ");
	rem = ssm_handle_remaining(h);
	CHECK(p, rem == SKIP_TAIL - sizeof(head), "remaining %llu", (unsigned long long)rem);
	if (p->n == 0)
		rc = ssm_skip(h, SKIP_TAIL - sizeof(head));
	else
		rc = ssm_skip_to_end(h);
	CHECK(p, rc == SSM_OK, "skip rest: rc %d", rc);
	rem = ssm_handle_remaining(h);
	CHECK(p, rem == 0, "remaining after skipping the rest: %llu", (unsigned long long)rem);
	if (p->n == 2) {
		uint8_t b = 0x99;

		rc = ssm_get_u8(h, &b);
		CHECK(p, rc == SSM_ERR_READ_PAST_END && b == 0x99, "get after end: %d", rc);
	}
	return rc;
}

Test(prim, skip_and_skip_to_end, .timeout = 60)
{
	uint8_t head[64];

	for (size_t k = 0; k < 3; k++) {
		struct prim p = { .save = skip_save, .load = skip_load, .n = k, .arg = head };
		int rc = run_level(&p, k == 1 ? 1 : 0);

		cr_assert_eq(rc, k == 2 ? SSM_ERR_READ_PAST_END : SSM_OK, "case %zu: %d %s", k,
			     rc, p.load_err);
		cr_assert_eq(p.bad, 0, "case %zu", k);
		prim_done(&p);
	}
}

static int skip_past_load(ssm_handle *h, struct prim *p)
{
	int rc;

	GET_EQ(p, h, ssm_get_u16, uint16_t, 0x4242);
	rc = p->n ? ssm_skip_to_end(h) : ssm_skip(h, 1);
	CHECK(p, rc == (p->n ? SSM_OK : SSM_ERR_READ_PAST_END), "skip: %d", rc);
	return rc;
}

Test(prim, skip_past_end_and_skip_to_end_at_end)
{
	for (size_t k = 0; k < 2; k++) {
		struct prim p = { .save = short_save, .load = skip_past_load, .n = k };
		int rc = run_level(&p, 0);

		cr_assert_eq(rc, k ? SSM_OK : SSM_ERR_READ_PAST_END, "case %zu: %d", k, rc);
		cr_assert_eq(p.bad, 0);
		prim_done(&p);
	}
}

/* ---- Invalid compression level --------------------------------------------------- */

Test(prim, invalid_compression_level_is_refused)
{
	static const int bad[] = { -1, 10, 100 };

	for (size_t i = 0; i < N(bad); i++) {
		ssm *s = ssm_create(NULL);
		struct prim p = { .save = short_save, .load = short_load };
		ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = bad[i] };
		void *buf;
		size_t len;

		cr_assert_eq(ssm_register_external(s, "prim", 0, 7, 0, NULL, 0, &px_cb, &p),
			     SSM_OK);
		cr_assert_eq(tu_save(s, &so, true, &buf, &len), SSM_ERR_INVALID_ARG);
		cr_assert_null(buf);
		ssm_destroy(s);
	}
}

/* ---- Puts and gets in the wrong direction --------------------------------------- */

static int wrongdir_save(ssm_handle *h, struct prim *p)
{
	uint32_t v = 5;
	int rc = ssm_put_u32(h, 1);

	if (p->n == 1) {
		rc = ssm_get_u32(h, &v);
		CHECK(p, rc != SSM_OK && v == 5, "get in save: rc %d", rc);
	}
	return rc;
}

static int wrongdir_load(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_u32(h, 1);

	CHECK(p, rc != SSM_OK, "put in load succeeded");
	return rc;
}

Test(prim, put_in_load_and_get_in_save_fail)
{
	struct prim p = { .save = wrongdir_save, .load = wrongdir_load };
	ssm *s;
	void *buf;
	size_t len;
	int rc = run_level(&p, 0);

	cr_assert_neq(rc, SSM_OK);
	cr_assert_lt(rc, 0);
	cr_assert_eq(p.bad, 0);
	prim_done(&p);

	p.n = 1;
	s = ssm_create(NULL);
	cr_assert_eq(ssm_register_external(s, "prim", 0, 7, 0, NULL, 0, &px_cb, &p), SSM_OK);
	rc = tu_save(s, NULL, true, &buf, &len);
	cr_assert_lt(rc, 0, "save with a get in it: %d", rc);
	cr_assert_eq(p.bad, 0);
	ssm_destroy(s);
}
