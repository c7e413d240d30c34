/* test_prim.c - typed put/get primitives: round trips at the boundaries of
 * every type, the exact little-endian encoding, mem of awkward sizes and
 * zero pages, strings, skip, and compression levels. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "testutil.h"

#define MIB (1024u * 1024u)

/* ---- Harness: one external unit whose save/load bodies are functions ---- */

struct prim;
typedef int (*prim_fn)(ssm_handle *h, struct prim *p);

struct prim {
	prim_fn save, load;
	void *arg;            /* test data shared by save and load */
	size_t n;
	int save_calls, load_calls;
	int bad;              /* mismatches seen by the load body */
	void *file;           /* the saved bytes */
	size_t file_len;
	char save_err[512], load_err[512];
};

static int px_save_exec(void *ctx, ssm_handle *h)
{
	struct prim *p = ctx;

	p->save_calls++;
	return p->save(h, p);
}

static int px_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct prim *p = ctx;

	cr_expect_eq(version, 7);
	cr_expect_eq(pass, SSM_PASS_FINAL);
	p->load_calls++;
	return p->load(h, p);
}

static const ssm_callbacks px_cb = {
	.save_exec = px_save_exec,
	.load_exec = px_load_exec,
};

/* Save p's unit with compression `level` (p->file keeps the bytes), then load
 * it back.  Returns the load status; the save must succeed. */
static int run_level(struct prim *p, int level)
{
	ssm_save_opts so = { .compression = level };
	ssm *s = ssm_create(NULL);
	int rc;

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "prim", 0, 7, 4096, NULL, 0, &px_cb, p), SSM_OK);
	free(p->file);
	p->file = NULL;
	p->save_calls = p->load_calls = 0;
	rc = tu_save(s, &so, true, &p->file, &p->file_len);
	snprintf(p->save_err, sizeof(p->save_err), "%s", ssm_last_error(s));
	cr_assert_eq(rc, SSM_OK, "save (level %d): %d %s", level, rc, p->save_err);
	cr_assert_eq(p->save_calls, 1);
	rc = tu_load(s, p->file, p->file_len, NULL);
	snprintf(p->load_err, sizeof(p->load_err), "%s", ssm_last_error(s));
	cr_assert_eq(p->load_calls, 1);
	ssm_destroy(s);
	return rc;
}

static void prim_done(struct prim *p)
{
	free(p->file);
	p->file = NULL;
}

/* Round trip at levels 0, 1 and 9; every one must load cleanly. */
static void round_trip_all_levels(struct prim *p)
{
	static const int levels[] = { 0, 1, 9 };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int rc = run_level(p, levels[i]);

		cr_assert_eq(rc, SSM_OK, "load (level %d): %d %s", levels[i], rc, p->load_err);
		cr_assert_eq(p->bad, 0, "level %d: %d mismatches", levels[i], p->bad);
	}
	prim_done(p);
}

/* Get a value with fn and compare; a failed get ends the load body. */
#define GET_EQ(p, h, fn, type, want)                                             \
	do {                                                                     \
		type v_, w_ = (type)(want);                                      \
		int rc_ = fn((h), &v_);                                          \
		cr_expect_eq(rc_, SSM_OK, "%s: rc %d", #fn, rc_);                \
		if (rc_)                                                         \
			return rc_;                                              \
		if (v_ != w_) {                                                  \
			(p)->bad++;                                              \
			cr_expect_fail("%s: got %llx want %llx", #fn,            \
				       (unsigned long long)v_,                   \
				       (unsigned long long)w_);                  \
		}                                                                \
	} while (0)

/* Let the test see a failing comparison in a load body without aborting the
 * load (which would skip the library's cleanup). */
#define CHECK(p, cond, ...)                                                      \
	do {                                                                     \
		if (!(cond)) {                                                   \
			(p)->bad++;                                              \
			cr_expect_fail(__VA_ARGS__);                             \
		}                                                                \
	} while (0)

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
#define N(a) (sizeof(a) / sizeof((a)[0]))

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

/* ---- mem ----------------------------------------------------------------------- */

static const size_t mem_sizes[] = { 0, 1, 4095, 4096, 4097, MIB, MIB + 1 };

/* Each size first in its own put (so large puts can take the bypass path),
 * then again at an odd offset after a single byte. */
static int mem_save(ssm_handle *h, struct prim *p)
{
	const uint8_t *data = p->arg;
	int rc;

	for (size_t i = 0; i < N(mem_sizes); i++) {
		rc = ssm_put_mem(h, data + i, mem_sizes[i]);
		rc = rc ? rc : ssm_put_u32(h, 0xc0ffee00u + (uint32_t)i);
		if (rc)
			return rc;
	}
	rc = ssm_put_u8(h, 0x5a);
	for (size_t i = 0; !rc && i < N(mem_sizes); i++)
		rc = ssm_put_mem(h, data + 7 * i, mem_sizes[i]);
	return rc ? rc : ssm_put_u32(h, 0xdeadbeef);
}

static int mem_load(ssm_handle *h, struct prim *p)
{
	const uint8_t *data = p->arg;
	uint8_t *buf = tu_xmalloc(MIB + 2);
	int rc = SSM_OK;

	for (size_t i = 0; i < N(mem_sizes); i++) {
		uint32_t m = 0;

		buf[mem_sizes[i]] = 0x77;   /* must not be written */
		rc = ssm_get_mem(h, mem_sizes[i] ? buf : NULL, mem_sizes[i]);
		if (!rc)
			rc = ssm_get_u32(h, &m);
		if (rc)
			goto out;
		CHECK(p, !memcmp(buf, data + i, mem_sizes[i]), "mem %zu differs", mem_sizes[i]);
		CHECK(p, buf[mem_sizes[i]] == 0x77, "get_mem %zu wrote past n", mem_sizes[i]);
		CHECK(p, m == 0xc0ffee00u + i, "marker after mem %zu: %x", mem_sizes[i], m);
	}
	GET_EQ(p, h, ssm_get_u8, uint8_t, 0x5a);
	for (size_t i = 0; i < N(mem_sizes); i++) {
		rc = ssm_get_mem(h, buf, mem_sizes[i]);
		if (rc)
			goto out;
		CHECK(p, !memcmp(buf, data + 7 * i, mem_sizes[i]), "mem %zu (2) differs",
		      mem_sizes[i]);
	}
	GET_EQ(p, h, ssm_get_u32, uint32_t, 0xdeadbeef);
out:
	free(buf);
	return rc;
}

Test(prim, mem_sizes_round_trip, .timeout = 60)
{
	struct prim p = { .save = mem_save, .load = mem_load };

	p.arg = tu_xmalloc(MIB + 64);
	tu_fill(p.arg, MIB + 64, 1);
	round_trip_all_levels(&p);
	free(p.arg);
}

/* Pages: D = data, Z = zero, F = zero but for its first byte, L = zero but
 * for its last byte; then a short data tail. */
static const char page_map[] = "DZZDZFZLZZDDZ";
#define PAGES (sizeof(page_map) - 1)
#define MIXED_LEN (PAGES * 4096 + 123)

static uint8_t *mixed_data(void)
{
	uint8_t *d = tu_xmalloc(MIXED_LEN);

	tu_fill(d, MIXED_LEN, 2);
	for (size_t pg = 0; pg < PAGES; pg++) {
		uint8_t *q = d + pg * 4096;

		if (page_map[pg] == 'D')
			continue;
		memset(q, 0, 4096);
		if (page_map[pg] == 'F')
			q[0] = 1;
		if (page_map[pg] == 'L')
			q[4095] = 1;
	}
	return d;
}

static int mixed_save(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_mem(h, p->arg, MIXED_LEN);

	return rc ? rc : ssm_put_u32(h, 0x600dcafe);
}

/* Read back four ways: in one piece, in 1000-byte pieces (crossing every
 * record boundary at a different place), prezeroed into zeros, and
 * prezeroed into 0xAA, where all-zero pages (stored as zero runs) must stay
 * untouched and everything else must be written. */
static int mixed_load(ssm_handle *h, struct prim *p)
{
	const uint8_t *d = p->arg;
	uint8_t *buf = tu_xmalloc(MIXED_LEN);
	int rc;

	switch (p->n) {
	case 0:
		rc = ssm_get_mem(h, buf, MIXED_LEN);
		break;
	case 1:
		rc = SSM_OK;
		for (size_t off = 0; !rc && off < MIXED_LEN; off += 1000)
			rc = ssm_get_mem(h, buf + off,
					 MIXED_LEN - off < 1000 ? MIXED_LEN - off : 1000);
		break;
	case 2:
		memset(buf, 0, MIXED_LEN);
		rc = ssm_get_mem_prezeroed(h, buf, MIXED_LEN);
		break;
	default:
		memset(buf, 0xaa, MIXED_LEN);
		rc = ssm_get_mem_prezeroed(h, buf, MIXED_LEN);
		break;
	}
	if (rc)
		goto out;
	if (p->n < 3) {
		CHECK(p, !memcmp(buf, d, MIXED_LEN), "mixed data differs (way %zu)", p->n);
	} else {
		for (size_t pg = 0; pg <= PAGES; pg++) {
			size_t off = pg * 4096, len = pg < PAGES ? 4096 : 123;
			bool zero_page = pg < PAGES && page_map[pg] == 'Z';
			size_t i;

			for (i = 0; i < len; i++)
				if (buf[off + i] != (zero_page ? 0xaa : d[off + i]))
					break;
			CHECK(p, i == len, "prezeroed page %zu ('%c') byte %zu is %02x", pg,
			      pg < PAGES ? page_map[pg] : 'T', i, buf[off + i]);
		}
	}
	GET_EQ(p, h, ssm_get_u32, uint32_t, 0x600dcafe);
out:
	free(buf);
	return rc;
}

Test(prim, mem_zero_pages_mixed_with_data)
{
	struct prim p = { .save = mixed_save, .load = mixed_load };

	p.arg = mixed_data();
	for (p.n = 0; p.n < 4; p.n++)
		round_trip_all_levels(&p);
	/* The zero pages must cost next to nothing in the file. */
	cr_assert_eq(run_level(&p, 0), SSM_OK);
	cr_assert_lt(p.file_len, (size_t)6 * 4096 + 123 + 2048, "file is %zu bytes",
		     p.file_len);
	prim_done(&p);
	free(p.arg);
}

/* 1 MiB + 1 with zero pages at record boundaries, compressed and not. */
static int bigmix_save(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_u8(h, 9);

	rc = rc ? rc : ssm_put_mem(h, p->arg, MIB + 1);
	rc = rc ? rc : ssm_put_mem(h, p->arg, MIB + 1);
	return rc;
}

static int bigmix_load(ssm_handle *h, struct prim *p)
{
	uint8_t *buf = tu_xmalloc(MIB + 1);
	int rc = SSM_OK;

	GET_EQ(p, h, ssm_get_u8, uint8_t, 9);
	for (int k = 0; k < 2 && !rc; k++) {
		memset(buf, 0x55, MIB + 1);
		rc = ssm_get_mem(h, buf, MIB + 1);
		if (!rc)
			CHECK(p, !memcmp(buf, p->arg, MIB + 1), "copy %d differs", k);
	}
	free(buf);
	return rc;
}

Test(prim, mem_large_with_zero_pages, .timeout = 60)
{
	struct prim p = { .save = bigmix_save, .load = bigmix_load };
	uint8_t *d = tu_xmalloc(MIB + 1);

	tu_fill(d, MIB + 1, 3);
	for (size_t pg = 0; pg < 254; pg += 3)
		memset(d + pg * 4096, 0, 4096 * (pg % 2 + 1));
	memset(d + MIB - 4096, 0, 4096);
	p.arg = d;
	round_trip_all_levels(&p);
	free(d);
}

/* ---- Strings -------------------------------------------------------------------- */

#define LONG_STR 5000

static int str_save(ssm_handle *h, struct prim *p)
{
	char *big = tu_xmalloc(LONG_STR + 1);
	int rc = 0;

	(void)p;
	memset(big, 'x', LONG_STR);
	big[LONG_STR] = 0;
	rc |= ssm_put_str(h, "");
	rc |= ssm_put_str(h, "a");
	rc |= ssm_put_str(h, "abcdefghijklmno");     /* 15: max for 16 */
	rc |= ssm_put_str(h, "abcdefghijklmnop");    /* 16: one too long */
	rc |= ssm_put_u32(h, 0xfeedbeef);
	rc |= ssm_put_str(h, big);
	rc |= ssm_put_str(h, big);                   /* too long for 4999 */
	rc |= ssm_put_u16(h, 0x1234);
	rc |= ssm_put_str(h, "");                    /* fits in 1 */
	rc |= ssm_put_str(h, "z");                   /* does not fit in 1 */
	rc |= ssm_put_str(h, "tail");
	free(big);
	return rc ? SSM_ERR_IO : SSM_OK;
}

static bool guard_ok(const char *area, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (area[i] != 0x5a)
			return false;
	return true;
}

static int str_load(ssm_handle *h, struct prim *p)
{
	char area[32], *big = tu_xmalloc(LONG_STR + 16);
	size_t len = 999;
	int rc;

	memset(area, 0x5a, sizeof(area));
	rc = ssm_get_str(h, area, 16, &len);
	CHECK(p, rc == SSM_OK && len == 0 && area[0] == 0, "empty: rc %d len %zu", rc, len);
	rc = ssm_get_str(h, area, 16, NULL);
	CHECK(p, rc == SSM_OK && !strcmp(area, "a"), "'a': rc %d", rc);
	rc = ssm_get_str(h, area, 16, &len);
	CHECK(p, rc == SSM_OK && len == 15 && !strcmp(area, "abcdefghijklmno"),
	      "max fitting: rc %d len %zu", rc, len);
	CHECK(p, guard_ok(area, 16, sizeof(area)), "max fitting wrote past bufsize");

	memset(area, 0x5a, sizeof(area));
	rc = ssm_get_str(h, area, 16, &len);
	CHECK(p, rc == SSM_ERR_STRING_TOO_LONG, "one too long: rc %d", rc);
	CHECK(p, guard_ok(area, 16, sizeof(area)), "too long string written past bufsize");
	GET_EQ(p, h, ssm_get_u32, uint32_t, 0xfeedbeef);

	memset(big, 0x5a, LONG_STR + 16);
	rc = ssm_get_str(h, big, LONG_STR + 1, &len);
	CHECK(p, rc == SSM_OK && len == LONG_STR && strspn(big, "x") == LONG_STR &&
	      big[LONG_STR] == 0, "long string: rc %d len %zu", rc, len);
	memset(big, 0x5a, LONG_STR + 16);
	rc = ssm_get_str(h, big, LONG_STR - 1, &len);
	CHECK(p, rc == SSM_ERR_STRING_TOO_LONG, "long string in short buffer: rc %d", rc);
	CHECK(p, guard_ok(big, LONG_STR - 1, LONG_STR + 16), "wrote past bufsize");
	GET_EQ(p, h, ssm_get_u16, uint16_t, 0x1234);

	memset(area, 0x5a, sizeof(area));
	rc = ssm_get_str(h, area, 1, &len);
	CHECK(p, rc == SSM_OK && area[0] == 0 && len == 0, "empty in 1: rc %d", rc);
	rc = ssm_get_str(h, area, 1, &len);
	CHECK(p, rc == SSM_ERR_STRING_TOO_LONG, "'z' in 1: rc %d", rc);
	CHECK(p, guard_ok(area, 1, sizeof(area)), "'z' written past bufsize 1");
	rc = ssm_get_str(h, area, sizeof(area), &len);
	CHECK(p, rc == SSM_OK && len == 4 && !strcmp(area, "tail"), "tail: rc %d", rc);
	free(big);
	return rc;
}

Test(prim, strings_empty_max_and_too_long)
{
	struct prim p = { .save = str_save, .load = str_load };

	round_trip_all_levels(&p);
}

static int strnul_save(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_u32(h, 3);

	(void)p;
	return rc ? rc : ssm_put_mem(h, "a\0b", 3);
}

static int strnul_load(ssm_handle *h, struct prim *p)
{
	char buf[8];
	int rc = ssm_get_str(h, buf, sizeof(buf), NULL);

	CHECK(p, rc == SSM_ERR_BAD_VALUE, "string with NUL: rc %d", rc);
	return rc;
}

Test(prim, string_with_nul_is_refused)
{
	struct prim p = { .save = strnul_save, .load = strnul_load };

	cr_assert_eq(run_level(&p, 0), SSM_ERR_BAD_VALUE);
	cr_assert_eq(p.bad, 0);
	prim_done(&p);
}

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

/* ---- Compression levels ----------------------------------------------------------- */

#define TEXT_LEN (256u * 1024u)

static int text_save(ssm_handle *h, struct prim *p)
{
	int rc = ssm_put_mem(h, p->arg, TEXT_LEN);

	return rc ? rc : ssm_put_str(h, "end");
}

static int text_load(ssm_handle *h, struct prim *p)
{
	uint8_t *buf = tu_xmalloc(TEXT_LEN);
	char end[8];
	int rc = ssm_get_mem(h, buf, TEXT_LEN);

	if (!rc)
		CHECK(p, !memcmp(buf, p->arg, TEXT_LEN), "text differs");
	free(buf);
	if (!rc)
		rc = ssm_get_str(h, end, sizeof(end), NULL);
	if (!rc)
		CHECK(p, !strcmp(end, "end"), "end marker");
	return rc;
}

Test(prim, compression_levels_round_trip_and_shrink)
{
	struct prim p = { .save = text_save, .load = text_load };
	static const int levels[] = { 0, 1, 9 };
	size_t sizes[3];
	char *t = tu_xmalloc(TEXT_LEN);
	uint64_t rs = 99;

	/* Compressible, but not trivially: words picked pseudo-randomly. */
	static const char *const words[] = { "save ", "state ", "unit ", "record ",
					     "zero ", "page ", "pass " };
	for (size_t i = 0; i < TEXT_LEN;) {
		const char *w = words[tu_rng(&rs) % N(words)];
		size_t n = strlen(w);

		if (n > TEXT_LEN - i)
			n = TEXT_LEN - i;
		memcpy(t + i, w, n);
		i += n;
	}
	p.arg = t;
	for (size_t i = 0; i < N(levels); i++) {
		cr_assert_eq(run_level(&p, levels[i]), SSM_OK, "level %d: %s", levels[i],
			     p.load_err);
		cr_assert_eq(p.bad, 0);
		sizes[i] = p.file_len;
	}
	cr_assert_gt(sizes[0], TEXT_LEN);
	cr_assert_lt(sizes[1], TEXT_LEN / 3, "level 1: %zu bytes", sizes[1]);
	cr_assert_leq(sizes[2], sizes[1], "level 9 (%zu) larger than level 1 (%zu)", sizes[2],
		      sizes[1]);

	/* Incompressible data still round-trips at level 9. */
	tu_fill(t, TEXT_LEN, 5);
	t[TEXT_LEN - 1] = 1;
	cr_assert_eq(run_level(&p, 9), SSM_OK, "%s", p.load_err);
	cr_assert_eq(p.bad, 0);
	cr_assert_lt(p.file_len, TEXT_LEN + 1024);
	prim_done(&p);
	free(t);
}

Test(prim, invalid_compression_level_is_refused)
{
	static const int bad[] = { -1, 10, 100 };

	for (size_t i = 0; i < N(bad); i++) {
		ssm *s = ssm_create(NULL);
		struct prim p = { .save = short_save, .load = short_load };
		ssm_save_opts so = { .compression = bad[i] };
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
