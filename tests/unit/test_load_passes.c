/* test_load_passes.c - unit records and their passes on load: a second
 * record of the same pass, or any record after the unit's final pass, is
 * refused by ssm_load and ssm_validate (it would run a load_exec twice on
 * one state); ssm_unit_final_loaded() tells a unit that got its final-pass
 * record from one that got live passes only.  The files are rebuilt from a
 * real save byte by byte with every CRC, the directory and the footer
 * recomputed, as an attacker would; the same rebuild without a duplicate
 * must load, so the crafting itself is checked. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ssm/ssm.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0, NULL, 0), p, (uInt)n);
}

/* ---- Two small units --------------------------------------------------- */

struct tunit {
	uint32_t value;
	int loads;
};

static int t_save(void *ctx, ssm_handle *h)
{
	return ssm_put_u32(h, ((struct tunit *)ctx)->value);
}

static int t_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct tunit *u = ctx;

	(void)version;
	(void)pass;
	u->loads++;
	return ssm_get_u32(h, &u->value);
}

static const ssm_callbacks t_cb = { .save_exec = t_save, .load_exec = t_load };

static ssm *two_units(struct tunit *a, struct tunit *b)
{
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "alpha", 0, 1, 4, NULL, 0, &t_cb, a), SSM_OK);
	cr_assert_eq(ssm_register_external(s, "beta", 0, 1, 4, NULL, 0, &t_cb, b), SSM_OK);
	return s;
}

/* ---- Rebuilding a file --------------------------------------------------- */

struct span {
	size_t off, len;
};

/* The unit records of a saved file, in order; returns their count and the
 * terminator's offset in *term. */
static size_t split_units(const uint8_t *f, size_t len, struct span *u, size_t max,
			  size_t *term)
{
	size_t off = 64, n = 0;

	for (;;) {
		uint32_t hdr = le32(f + off + 8), nlen = le32(f + off + 28);
		size_t r = off + hdr;

		cr_assert_leq(off + 44, len);
		cr_assert_eq(memcmp(f + off, "\x89SSMUnit", 8), 0, "no unit at %zu", off);
		if (!nlen) {
			*term = off;
			return n;
		}
		for (;;) {
			uint8_t type = f[r];

			r += 16 + le32(f + r + 4);
			if (type == 0x7f)
				break;
		}
		cr_assert_lt(n, max);
		u[n].off = off;
		u[n].len = r - off;
		n++;
		off = r;
	}
}

/* A copy of unit record u with its pass and instance changed: header CRC, unit_crc and
 * the END record's CRC recomputed. */
static uint8_t *recopy(const uint8_t *f, struct span u, uint32_t pass, uint32_t instance)
{
	uint8_t *c = malloc(u.len);
	uint32_t nlen;
	size_t end;

	cr_assert_not_null(c);
	memcpy(c, f + u.off, u.len);
	nlen = le32(c + 28);
	put32(c + 16, instance);
	put32(c + 24, pass);
	put32(c + 40 + nlen, crc(c, 40 + nlen));
	end = u.len - 32;                       /* END: 16-byte header + 16 */
	cr_assert_eq(c[end], 0x7f);
	put32(c + end + 16 + 8, crc(c, end));   /* unit_crc: all before END */
	put32(c + end + 12, (uint32_t)crc32(crc(c + end, 12), c + end + 16, 16));
	return c;
}

static uint8_t *repass(const uint8_t *f, struct span u, uint32_t pass)
{
	return recopy(f, u, pass, le32(f + u.off + 16));
}

/* Header, the given unit records, terminator, a directory of exactly those
 * records, footer. */
static uint8_t *rebuild(const uint8_t *f, size_t term, const uint8_t *const *recs,
			const size_t *lens, size_t n, size_t *out_len)
{
	size_t cap = 64 + 44 + 16 + 4 + 32, pos, dir;
	uint8_t *o;

	for (size_t i = 0; i < n; i++)
		cap += lens[i] + 36 + 63;
	o = calloc(1, cap);
	cr_assert_not_null(o);
	memcpy(o, f, 64);
	pos = 64;
	for (size_t i = 0; i < n; i++) {
		memcpy(o + pos, recs[i], lens[i]);
		pos += lens[i];
	}
	memcpy(o + pos, f + term, 44);
	pos += 44;
	dir = pos;
	memcpy(o + pos, "\x89SSMDir\n", 8);
	put32(o + pos + 8, (uint32_t)n);
	pos += 16;
	for (size_t i = 0, at = 64; i < n; at += lens[i], i++) {
		const uint8_t *h = recs[i];
		uint32_t nlen = le32(h + 28);

		put64(o + pos, at);
		put64(o + pos + 8, le64(h + 32));
		memcpy(o + pos + 16, h + 16, 4);        /* instance */
		memcpy(o + pos + 20, h + 20, 4);        /* version */
		memcpy(o + pos + 24, h + 24, 4);        /* pass */
		memcpy(o + pos + 28, h + 12, 4);        /* flags */
		put32(o + pos + 32, nlen);
		memcpy(o + pos + 36, h + 40, nlen);
		pos += 36 + nlen;
	}
	put32(o + pos, crc(o + dir, pos - dir));
	pos += 4;
	memcpy(o + pos, "\x89SSMEnd\n", 8);
	put64(o + pos + 8, dir);
	put32(o + pos + 16, (uint32_t)n);
	put32(o + pos + 24, crc(o, pos));
	put32(o + pos + 28, crc(o + pos, 28));
	*out_len = pos + 32;
	return o;
}

static uint8_t *saved(size_t *len)
{
	struct tunit a = { .value = 0xa1 }, b = { .value = 0xb2 };
	ssm *s = two_units(&a, &b);
	void *buf = NULL;
	ssm_stream st;

	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, len), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK);
	ssm_destroy(s);
	return buf;
}

/* Load f into fresh units: returns the status, last error in msg; whether
 * alpha and beta got their final records in *fin (may be NULL). */
static int load_fin(const uint8_t *f, size_t len, struct tunit *a, char *msg, size_t msglen,
		    bool fin[2])
{
	struct tunit b = { 0 };
	ssm *s = two_units(a, &b);
	ssm_stream st;
	int rc;

	cr_assert_eq(ssm_stream_mem_reader(&st, f, len), SSM_OK);
	rc = ssm_load(s, st, NULL);
	snprintf(msg, msglen, "%s", ssm_last_error(s));
	if (fin) {
		fin[0] = ssm_unit_final_loaded(s, "alpha", 0);
		fin[1] = ssm_unit_final_loaded(s, "beta", 0);
	}
	cr_assert_not(ssm_unit_final_loaded(s, "gamma", 0), "an unregistered unit");
	ssm_destroy(s);
	return rc;
}

static int load(const uint8_t *f, size_t len, struct tunit *a, char *msg, size_t msglen)
{
	return load_fin(f, len, a, msg, msglen, NULL);
}

static int validate(const uint8_t *f, size_t len, char *msg, size_t msglen)
{
	ssm_stream st;

	cr_assert_eq(ssm_stream_mem_reader(&st, f, len), SSM_OK);
	return ssm_validate(st, msg, msglen);
}

/* recs: alpha's record given first_pass, then alpha again with second_pass
 * (if twice), then beta. */
static void check(bool twice, uint32_t first_pass, uint32_t second_pass, int want,
		  const char *what)
{
	size_t len, term, n, out_len, lens[3];
	uint8_t *f = saved(&len), *o, *c1, *c2;
	const uint8_t *recs[3];
	struct span u[4];
	struct tunit a = { 0 };
	char msg[512];
	size_t k = 0;

	n = split_units(f, len, u, 4, &term);
	cr_assert_eq(n, 2);
	c1 = repass(f, u[0], first_pass);
	c2 = repass(f, u[0], second_pass);
	recs[k] = c1;
	lens[k++] = u[0].len;
	if (twice) {
		recs[k] = c2;
		lens[k++] = u[0].len;
	}
	recs[k] = f + u[1].off;
	lens[k++] = u[1].len;
	o = rebuild(f, term, recs, lens, k, &out_len);

	cr_assert_eq(load(o, out_len, &a, msg, sizeof(msg)), want, "load: %s", msg);
	if (want) {
		cr_assert(strstr(msg, what), "message: %s", msg);
		cr_assert(strstr(msg, "'alpha'"), "message names no unit: %s", msg);
		cr_assert_eq(validate(o, out_len, msg, sizeof(msg)), want);
		cr_assert(strstr(msg, what), "validate message: %s", msg);
	} else {
		cr_assert_eq(a.loads, 1);
		cr_assert_eq(a.value, 0xa1);
		cr_assert_eq(validate(o, out_len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	}
	free(o);
	free(c1);
	free(c2);
	free(f);
}

Test(doubled, rebuilt_file_without_duplicate_loads)
{
	check(false, SSM_PASS_FINAL, SSM_PASS_FINAL, SSM_OK, NULL);
}

Test(doubled, second_record_of_the_final_pass_is_refused)
{
	check(true, SSM_PASS_FINAL, SSM_PASS_FINAL, SSM_ERR_FORMAT,
	      "is a second record of pass 4294967295");
}

Test(doubled, second_record_of_a_live_pass_is_refused)
{
	check(true, 0, 0, SSM_ERR_FORMAT, "is a second record of pass 0");
}

Test(doubled, record_after_the_final_pass_is_refused)
{
	check(true, SSM_PASS_FINAL, 1, SSM_ERR_FORMAT, "after pass 4294967295: passes never decrease");
}

Test(doubled, live_passes_then_final_load)
{
	size_t len, term, out_len, lens[4];
	uint8_t *f = saved(&len), *o, *p0, *p1;
	const uint8_t *recs[4];
	struct span u[4];
	struct tunit a = { 0 };
	char msg[512];
	bool fin[2];

	cr_assert_eq(split_units(f, len, u, 4, &term), 2);
	p0 = repass(f, u[0], 0);
	p1 = repass(f, u[0], 1);
	recs[0] = p0;
	recs[1] = p1;
	recs[2] = f + u[0].off;
	recs[3] = f + u[1].off;
	lens[0] = lens[1] = lens[2] = u[0].len;
	lens[3] = u[1].len;
	o = rebuild(f, term, recs, lens, 4, &out_len);
	cr_assert_eq(load_fin(o, out_len, &a, msg, sizeof(msg), fin), SSM_OK, "%s", msg);
	cr_assert_eq(a.loads, 3);
	cr_assert(fin[0] && fin[1]);
	free(o);

	/* Live passes without the final one: loaded, but not final. */
	recs[2] = f + u[1].off;
	lens[2] = u[1].len;
	o = rebuild(f, term, recs, lens, 3, &out_len);
	a.loads = 0;
	cr_assert_eq(load_fin(o, out_len, &a, msg, sizeof(msg), fin), SSM_OK, "%s", msg);
	cr_assert_eq(a.loads, 2);
	cr_assert_not(fin[0], "alpha had live passes only");
	cr_assert(fin[1]);
	free(o);
	free(p0);
	free(p1);
	free(f);
}

/* 300000 final-pass records of one unit, instances 0..N-1, then instance 0
 * again: the duplicate check used to scan back over the whole pass, so a
 * crafted file of a million records took hours to refuse or load; now both
 * the sequential (validate) and the directory (open) checks are linear. */
Test(doubled, many_records_of_one_pass_are_checked_in_linear_time, .timeout = 20)
{
	const size_t n = 300000;
	size_t len, term, out_len, *lens;
	uint8_t *f = saved(&len), *o, **recs;
	struct span u[4];
	char msg[512];
	ssm_handle *h;
	ssm_stream st;

	cr_assert_eq(split_units(f, len, u, 4, &term), 2);
	recs = calloc(n + 1, sizeof(*recs));
	lens = calloc(n + 1, sizeof(*lens));
	cr_assert(recs && lens);
	for (size_t i = 0; i <= n; i++) {
		recs[i] = recopy(f, u[0], SSM_PASS_FINAL, (uint32_t)(i % n));
		lens[i] = u[0].len;
	}
	o = rebuild(f, term, (const uint8_t *const *)recs, lens, n, &out_len);
	cr_assert_eq(validate(o, out_len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(ssm_stream_mem_reader(&st, o, out_len), SSM_OK);
	cr_assert_eq(ssm_open(st, &h), SSM_OK);
	ssm_close(h);
	free(o);

	o = rebuild(f, term, (const uint8_t *const *)recs, lens, n + 1, &out_len);
	cr_assert_eq(validate(o, out_len, msg, sizeof(msg)), SSM_ERR_FORMAT);
	cr_assert(strstr(msg, "'alpha' instance 0") && strstr(msg, "is a second record of pass"),
		  "%s", msg);
	cr_assert_eq(ssm_stream_mem_reader(&st, o, out_len), SSM_OK);
	cr_assert_eq(ssm_open(st, &h), SSM_ERR_FORMAT);
	ssm_close(h);
	free(o);
	for (size_t i = 0; i <= n; i++)
		free(recs[i]);
	free(recs);
	free(lens);
	free(f);
}
