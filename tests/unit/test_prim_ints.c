/* test_prim_ints.c - typed scalar primitives: integers and u128 round trips
 * at the boundaries of every type, the exact little-endian encoding, bool. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "testutil.h"
#include "prim_harness.h"

/* ---- Integers at their boundaries ---------------------------------------- */

static const uint8_t u8v[] = { 0, 1, 0x7f, 0x80, 0xfe, 0xff };
static const int8_t s8v[] = { INT8_MIN, INT8_MIN + 1, -1, 0, 1, INT8_MAX };
static const uint16_t u16v[] = { 0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xffff };
static const int16_t s16v[] = { INT16_MIN, -1, 0, 1, 0xff, INT16_MAX };
static const uint32_t u32v[] = { 0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000u, UINT32_MAX };
static const int32_t s32v[] = { INT32_MIN, -1, 0, 1, INT32_MAX };
static const uint64_t u64v[] = { 0, 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1, INT64_MAX,
				 (uint64_t)1 << 63, UINT64_MAX };
static const int64_t s64v[] = { INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX };
static const uint16_t portv[] = { 0, 0x3f8, 0xcf8, 0xffff };

/* The types are interleaved so that a value stored with the wrong width
 * shifts everything after it. */
static int ints_save(ssm_handle *h, struct prim *p)
{
	int rc = 0;

	(void)p;
	for (size_t i = 0; i < 7; i++) {
		if (i < N(u8v))
			rc |= ssm_put_u8(h, u8v[i]);
		if (i < N(s8v))
			rc |= ssm_put_s8(h, s8v[i]);
		if (i < N(u16v))
			rc |= ssm_put_u16(h, u16v[i]);
		if (i < N(s16v))
			rc |= ssm_put_s16(h, s16v[i]);
		if (i < N(u32v))
			rc |= ssm_put_u32(h, u32v[i]);
		if (i < N(s32v))
			rc |= ssm_put_s32(h, s32v[i]);
		if (i < N(u64v))
			rc |= ssm_put_u64(h, u64v[i]);
		if (i < N(s64v))
			rc |= ssm_put_s64(h, s64v[i]);
		if (i < N(u64v)) {
			rc |= ssm_put_gcphys(h, u64v[i]);
			rc |= ssm_put_gcptr(h, ~u64v[i]);
		}
		if (i < N(portv)) {
			rc |= ssm_put_ioport(h, portv[i]);
			rc |= ssm_put_sel(h, (uint16_t)~portv[i]);
		}
	}
	rc |= ssm_put_u8(h, 0xa5);  /* end marker */
	return rc ? SSM_ERR_IO : SSM_OK;
}

static int ints_load(ssm_handle *h, struct prim *p)
{
	for (size_t i = 0; i < 7; i++) {
		if (i < N(u8v))
			GET_EQ(p, h, ssm_get_u8, uint8_t, u8v[i]);
		if (i < N(s8v))
			GET_EQ(p, h, ssm_get_s8, int8_t, s8v[i]);
		if (i < N(u16v))
			GET_EQ(p, h, ssm_get_u16, uint16_t, u16v[i]);
		if (i < N(s16v))
			GET_EQ(p, h, ssm_get_s16, int16_t, s16v[i]);
		if (i < N(u32v))
			GET_EQ(p, h, ssm_get_u32, uint32_t, u32v[i]);
		if (i < N(s32v))
			GET_EQ(p, h, ssm_get_s32, int32_t, s32v[i]);
		if (i < N(u64v))
			GET_EQ(p, h, ssm_get_u64, uint64_t, u64v[i]);
		if (i < N(s64v))
			GET_EQ(p, h, ssm_get_s64, int64_t, s64v[i]);
		if (i < N(u64v)) {
			GET_EQ(p, h, ssm_get_gcphys, uint64_t, u64v[i]);
			GET_EQ(p, h, ssm_get_gcptr, uint64_t, ~u64v[i]);
		}
		if (i < N(portv)) {
			GET_EQ(p, h, ssm_get_ioport, uint16_t, portv[i]);
			GET_EQ(p, h, ssm_get_sel, uint16_t, (uint16_t)~portv[i]);
		}
	}
	GET_EQ(p, h, ssm_get_u8, uint8_t, 0xa5);
	return SSM_OK;
}

Test(prim, integers_round_trip_at_boundaries)
{
	struct prim p = { .save = ints_save, .load = ints_load };

	round_trip_all_levels(&p);
}

static const ssm_u128 u128v[] = {
	{ 0, 0 }, { 1, 0 }, { 0, 1 }, { UINT64_MAX, 0 }, { 0, UINT64_MAX },
	{ UINT64_MAX, UINT64_MAX }, { 0x0123456789abcdefull, 0xfedcba9876543210ull },
};

static int u128_save(ssm_handle *h, struct prim *p)
{
	(void)p;
	for (size_t i = 0; i < N(u128v); i++) {
		int rc = ssm_put_u128(h, u128v[i]);

		if (rc)
			return rc;
	}
	return ssm_put_u16(h, 0xbeef);
}

static int u128_load(ssm_handle *h, struct prim *p)
{
	for (size_t i = 0; i < N(u128v); i++) {
		ssm_u128 v = { 42, 42 };
		int rc = ssm_get_u128(h, &v);

		if (rc)
			return rc;
		CHECK(p, v.lo == u128v[i].lo && v.hi == u128v[i].hi,
		      "u128 %zu: got %llx:%llx", i, (unsigned long long)v.hi,
		      (unsigned long long)v.lo);
	}
	GET_EQ(p, h, ssm_get_u16, uint16_t, 0xbeef);
	return SSM_OK;
}

Test(prim, u128_round_trip)
{
	struct prim p = { .save = u128_save, .load = u128_load };

	round_trip_all_levels(&p);
}

/* ---- Exact encoding --------------------------------------------------------- */

static const uint8_t enc_expected[] = {
	0x81,                                           /* u8 0x81 */
	0xfe,                                           /* s8 -2 */
	0xb2, 0xa1,                                     /* u16 0xa1b2 */
	0xfd, 0xff,                                     /* s16 -3 */
	0x44, 0x33, 0x22, 0x11,                         /* u32 0x11223344 */
	0x00, 0x00, 0x00, 0x80,                         /* s32 INT32_MIN */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* u64 */
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* s64 -2 */
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* u128 lo */
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, /* u128 hi */
	0x01, 0x00,                                     /* bool true, false */
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, /* gcphys */
	0xef, 0xbe, 0xad, 0xde, 0xff, 0x7f, 0x00, 0x00, /* gcptr */
	0xf8, 0x03,                                     /* ioport 0x3f8 */
	0x10, 0x00,                                     /* sel 0x10 */
	0x03, 0x00, 0x00, 0x00, 'h', 'i', '!',          /* str "hi!" */
	0x00, 0x00, 0x00, 0x00,                         /* str "" */
	0xde, 0xad,                                     /* mem */
};

static int enc_save(ssm_handle *h, struct prim *p)
{
	int rc = 0;

	(void)p;
	rc |= ssm_put_u8(h, 0x81);
	rc |= ssm_put_s8(h, -2);
	rc |= ssm_put_u16(h, 0xa1b2);
	rc |= ssm_put_s16(h, -3);
	rc |= ssm_put_u32(h, 0x11223344);
	rc |= ssm_put_s32(h, INT32_MIN);
	rc |= ssm_put_u64(h, 0x0102030405060708ull);
	rc |= ssm_put_s64(h, -2);
	rc |= ssm_put_u128(h, (ssm_u128){ 0x1716151413121110ull, 0x1f1e1d1c1b1a1918ull });
	rc |= ssm_put_bool(h, true);
	rc |= ssm_put_bool(h, false);
	rc |= ssm_put_gcphys(h, 0xfedcba9876543210ull);
	rc |= ssm_put_gcptr(h, 0x00007fffdeadbeefull);
	rc |= ssm_put_ioport(h, 0x3f8);
	rc |= ssm_put_sel(h, 0x10);
	rc |= ssm_put_str(h, "hi!");
	rc |= ssm_put_str(h, "");
	rc |= ssm_put_mem(h, "\xde\xad", 2);
	rc |= ssm_put_mem(h, NULL, 0);
	return rc ? SSM_ERR_IO : SSM_OK;
}

static int enc_load(ssm_handle *h, struct prim *p)
{
	uint8_t got[sizeof(enc_expected)];
	int rc = ssm_get_mem(h, got, sizeof(got));

	if (rc)
		return rc;
	CHECK(p, !memcmp(got, enc_expected, sizeof(got)), "decoded bytes differ");
	return SSM_OK;
}

Test(prim, little_endian_encoding_on_disk)
{
	struct prim p = { .save = enc_save, .load = enc_load };
	const uint8_t *f, *rec;
	uint32_t nl;
	int rc = run_level(&p, 0);

	cr_assert_eq(rc, SSM_OK, "%s", p.load_err);
	cr_assert_eq(p.bad, 0);
	f = p.file;
	/* The example: put_u32(0x11223344) is stored as 44 33 22 11. */
	cr_assert_not_null(memmem(f, p.file_len, "\x44\x33\x22\x11", 4));
	cr_assert_not_null(memmem(f, p.file_len, "\x08\x07\x06\x05\x04\x03\x02\x01", 8));
	cr_assert_null(memmem(f, p.file_len, "\x11\x22\x33\x44", 4));

	/* Exact layout: the unit header right after the file header, then one
	 * RAW record holding precisely the expected bytes. */
	cr_assert_gt(p.file_len, SSMF_FILE_HDR_SIZE + SSMF_UNIT_FIXED);
	cr_assert_eq(memcmp(f + SSMF_FILE_HDR_SIZE, SSMF_UNIT_MAGIC, 8), 0);
	nl = le32_get(f + SSMF_FILE_HDR_SIZE + 28);
	cr_assert_eq(nl, 4);
	cr_assert_eq(memcmp(f + SSMF_FILE_HDR_SIZE + SSMF_UNIT_FIXED, "prim", 4), 0);
	cr_assert_eq(le64_get(f + SSMF_FILE_HDR_SIZE + SSMF_UNIT_DATA_LEN_OFF),
		     sizeof(enc_expected));
	rec = f + SSMF_FILE_HDR_SIZE + SSMF_UNIT_FIXED + nl + 4;
	cr_assert_eq(rec[0], SSMF_REC_RAW);
	cr_assert_eq(le32_get(rec + 4), sizeof(enc_expected));
	cr_assert_eq(le32_get(rec + 8), sizeof(enc_expected));
	cr_assert_eq(memcmp(rec + SSMF_REC_HDR, enc_expected, sizeof(enc_expected)), 0,
		     "stored bytes are not the expected little-endian encoding");
	cr_assert_eq(rec[SSMF_REC_HDR + sizeof(enc_expected)], SSMF_REC_END);
	prim_done(&p);
}

/* ---- bool ------------------------------------------------------------------- */

static int bool_save(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_bool(h, true);

	rc = rc ? rc : ssm_put_bool(h, false);
	return rc ? rc : ssm_put_u8(h, (uint8_t)p->n);
}

static int bool_load(ssm_handle *h, struct prim *p)
{
	bool b = false;
	int rc;

	GET_EQ(p, h, ssm_get_bool, bool, true);
	GET_EQ(p, h, ssm_get_bool, bool, false);
	b = true;
	rc = ssm_get_bool(h, &b);
	CHECK(p, rc == SSM_ERR_BAD_VALUE, "get_bool of %zu: rc %d", p->n, rc);
	CHECK(p, b == true, "get_bool changed its output on failure");
	return rc;
}

Test(prim, bool_round_trip_and_out_of_range)
{
	static const uint8_t bad[] = { 2, 0x80, 0xff };

	for (size_t i = 0; i < N(bad); i++) {
		struct prim p = { .save = bool_save, .load = bool_load, .n = bad[i] };
		int rc = run_level(&p, 0);

		cr_assert_eq(rc, SSM_ERR_BAD_VALUE, "stored %u: load rc %d", bad[i], rc);
		cr_assert_eq(p.bad, 0);
		cr_assert_not_null(strstr(p.load_err, "prim"), "message: %s", p.load_err);
		prim_done(&p);
	}
}
