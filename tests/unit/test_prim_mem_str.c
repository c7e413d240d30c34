/* test_prim_mem_str.c - bulk primitives: mem of awkward sizes and zero pages,
 * strings (empty, max, too long, embedded NUL), and compression levels. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"
#include "prim_harness.h"

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
