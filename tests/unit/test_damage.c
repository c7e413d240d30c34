/* test_damage.c - damaged and truncated state files: every structural byte
 * flipped, random data bytes flipped, truncation everywhere, foreign major
 * versions.  Loading must fail cleanly, and no load callback may ever be
 * handed a byte that differs from what was saved. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "testutil.h"

/* ---- Units with mixed data; the loader logs every value it got --------- */

/* b u8, w u16, d u32, q u64, B bool, s string of n chars, m n random bytes,
 * z n zero bytes, t n bytes of compressible text. */
struct item {
	char t;
	uint32_t n;
};

struct dunit {
	const char *name;
	uint32_t instance;
	const struct item *items;
	struct tu_bytes expect;   /* what save_exec put, canonical bytes */
	struct tu_bytes got;      /* what load_exec got, same encoding */
	int load_calls;
};

static const struct item cpu_items[] = {
	{ 'd', 0 }, { 'q', 0 }, { 'w', 0 }, { 'b', 0 }, { 'B', 0 }, { 's', 11 },
	{ 't', 3000 }, { 'q', 0 }, { 'd', 0 }, { 0, 0 },
};
static const struct item ram_items[] = {
	{ 'd', 0 }, { 'm', 4096 }, { 'z', 4096 }, { 'm', 4196 }, { 'z', 8192 },
	{ 'm', 1 }, { 'w', 0 }, { 0, 0 },
};
static const struct item dev_items[] = {
	{ 's', 0 }, { 'm', 50 }, { 'B', 0 }, { 's', 30 }, { 'b', 0 }, { 0, 0 },
};
static const struct item empty_items[] = { { 0, 0 } };

/* Value bytes of item i of unit u (deterministic); returns the length. */
static size_t item_bytes(const struct dunit *u, size_t i, uint8_t *out)
{
	const struct item *it = &u->items[i];
	uint64_t seed = (uint64_t)i * 7919 + (uint8_t)u->name[0] * 31 + u->instance;
	size_t n;

	switch (it->t) {
	case 'b': n = 1; break;
	case 'w': n = 2; break;
	case 'd': n = 4; break;
	case 'q': n = 8; break;
	case 'B':
		out[0] = (uint8_t)(seed & 1);
		return 1;
	case 'z':
		memset(out, 0, it->n);
		return it->n;
	case 's':
		for (size_t k = 0; k < it->n; k++)
			out[k] = (uint8_t)('a' + (seed + k * 5) % 26);
		return it->n;
	case 't':
		for (size_t k = 0; k < it->n; k++)
			out[k] = "state file "[(k + seed) % 11];
		return it->n;
	default:
		n = it->n;
		break;
	}
	tu_fill(out, n, seed + 1);
	return n;
}

static int d_save_exec(void *ctx, ssm_handle *h)
{
	struct dunit *u = ctx;
	uint8_t buf[10000];
	int rc = SSM_OK;

	u->expect.len = 0;
	for (size_t i = 0; !rc && u->items[i].t; i++) {
		size_t n = item_bytes(u, i, buf);

		switch (u->items[i].t) {
		case 'b': rc = ssm_put_u8(h, buf[0]); break;
		case 'w': rc = ssm_put_u16(h, (uint16_t)le16_get(buf)); break;
		case 'd': rc = ssm_put_u32(h, le32_get(buf)); break;
		case 'q': rc = ssm_put_u64(h, le64_get(buf)); break;
		case 'B': rc = ssm_put_bool(h, buf[0]); break;
		case 's':
			buf[n] = 0;
			rc = ssm_put_str(h, (char *)buf);
			break;
		default: rc = ssm_put_mem(h, buf, n); break;
		}
		tu_bytes_add(&u->expect, buf, n);
	}
	return rc;
}

/* Reads item by item; logs only values that were handed out successfully. */
static int d_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct dunit *u = ctx;
	uint8_t buf[10000];
	int rc = SSM_OK;

	(void)version;
	(void)pass;
	u->load_calls++;
	for (size_t i = 0; !rc && u->items[i].t; i++) {
		const struct item *it = &u->items[i];
		size_t n = 0;

		switch (it->t) {
		case 'b': rc = ssm_get_u8(h, buf); n = 1; break;
		case 'w': {
			uint16_t v;

			rc = ssm_get_u16(h, &v);
			le16_put(buf, v);
			n = 2;
			break;
		}
		case 'd': {
			uint32_t v;

			rc = ssm_get_u32(h, &v);
			le32_put(buf, v);
			n = 4;
			break;
		}
		case 'q': {
			uint64_t v;

			rc = ssm_get_u64(h, &v);
			le64_put(buf, v);
			n = 8;
			break;
		}
		case 'B': {
			bool v;

			rc = ssm_get_bool(h, &v);
			buf[0] = v;
			n = 1;
			break;
		}
		case 's':
			rc = ssm_get_str(h, (char *)buf, it->n + 1, &n);
			break;
		default:
			n = it->n;
			rc = ssm_get_mem(h, buf, n);
			break;
		}
		if (!rc)
			tu_bytes_add(&u->got, buf, n);
	}
	return rc;
}

static const ssm_callbacks d_cb = { .save_exec = d_save_exec, .load_exec = d_load_exec };

struct state {
	struct dunit u[4];
	ssm *s;
	uint8_t *img;            /* the good file */
	size_t len;
	const char *variant;
};

static void state_init(struct state *st, int level, bool seekable, const char *variant)
{
	static const char *const names[] = { "cpu", "ram", "dev", "empty" };
	static const struct item *const items[] = { cpu_items, ram_items, dev_items,
						    empty_items };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = level };
	void *buf;

	memset(st, 0, sizeof(*st));
	st->variant = variant;
	st->s = ssm_create(NULL);
	cr_assert_not_null(st->s);
	for (int i = 0; i < 4; i++) {
		st->u[i].name = names[i];
		st->u[i].instance = i == 2 ? 2 : 0;
		st->u[i].items = items[i];
		cr_assert_eq(ssm_register_external(st->s, names[i], st->u[i].instance, 1, 0, NULL,
						   0, &d_cb, &st->u[i]), SSM_OK);
	}
	cr_assert_eq(tu_save(st->s, &so, seekable, &buf, &st->len), SSM_OK);
	st->img = buf;
	/* Sanity: the good file loads and every unit gets all its data. */
	cr_assert_eq(tu_load(st->s, st->img, st->len, NULL), SSM_OK, "%s",
		     ssm_last_error(st->s));
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(st->u[i].got.len, st->u[i].expect.len);
		cr_assert(!st->u[i].got.len ||
			  !memcmp(st->u[i].got.p, st->u[i].expect.p, st->u[i].got.len));
	}
	cr_assert_lt(st->len, 64 * 1024, "keep the file small");
}

static void state_fini(struct state *st)
{
	for (int i = 0; i < 4; i++) {
		tu_bytes_free(&st->u[i].expect);
		tu_bytes_free(&st->u[i].got);
	}
	free(st->img);
	ssm_destroy(st->s);
}

static void reset_got(struct state *st)
{
	for (int i = 0; i < 4; i++) {
		st->u[i].got.len = 0;
		st->u[i].load_calls = 0;
	}
}

/* Every unit got at most one load_exec and only a prefix of its data. */
static void check_prefixes(struct state *st, const char *what, size_t pos)
{
	for (int i = 0; i < 4; i++) {
		const struct dunit *u = &st->u[i];

		cr_assert_leq(u->load_calls, 1, "%s %s @%zu: %s loaded %d times", st->variant,
			      what, pos, u->name, u->load_calls);
		cr_assert_leq(u->got.len, u->expect.len, "%s %s @%zu: %s got too much",
			      st->variant, what, pos, u->name);
		cr_assert(!u->got.len || !memcmp(u->got.p, u->expect.p, u->got.len),
			  "%s %s @%zu: %s was handed damaged bytes", st->variant, what, pos,
			  u->name);
	}
}

/* Load, validate and open+seek+read img; all must fail (with want_rc if
 * non-zero) without handing out wrong bytes.  Opening may succeed when the
 * damage is inside a unit; reading that unit must then fail or be right. */
static void check_bad(struct state *st, const uint8_t *img, size_t len, const char *what,
		      size_t pos, int want_rc)
{
	char msg[512];
	const char *lmsg;
	ssm_handle *h = NULL;
	int rc;

	reset_got(st);
	rc = tu_load(st->s, img, len, NULL);
	lmsg = ssm_last_error(st->s);
	if (want_rc)
		cr_assert_eq(rc, want_rc, "%s %s @%zu: load rc %d (%s)", st->variant, what, pos,
			     rc, lmsg);
	cr_assert_lt(rc, 0, "%s %s @%zu: damaged file loaded (rc %d)", st->variant, what, pos,
		     rc);
	cr_assert_str_neq(lmsg, "", "%s %s @%zu: no message", st->variant, what, pos);
	/* docs/format.md: any failure names the byte offset; an unsupported
	 * major version is reported with its own wording instead. */
	if (rc != SSM_ERR_FORMAT_MAJOR)
		cr_assert_not_null(strstr(lmsg, "offset"), "%s %s @%zu: load message without "
				   "offset: %s", st->variant, what, pos, lmsg);
	check_prefixes(st, what, pos);

	msg[0] = 0;
	rc = tu_validate(img, len, msg, sizeof(msg));
	if (want_rc)
		cr_assert_eq(rc, want_rc, "%s %s @%zu: validate rc %d (%s)", st->variant, what,
			     pos, rc, msg);
	cr_assert_lt(rc, 0, "%s %s @%zu: damaged file validated", st->variant, what, pos);
	cr_assert_str_neq(msg, "", "%s %s @%zu: validate gave no message", st->variant, what,
			  pos);
	if (rc != SSM_ERR_FORMAT_MAJOR)
		cr_assert_not_null(strstr(msg, "offset"), "%s %s @%zu: validate message "
				   "without offset: %s", st->variant, what, pos, msg);

	reset_got(st);
	rc = ssm_open(tu_reader(img, len, true), &h);
	if (rc == SSM_OK) {
		ssm_file_info fi;

		cr_assert_eq(ssm_file_info_get(h, &fi), SSM_OK);
		for (uint32_t i = 0; i < fi.unit_count; i++) {
			ssm_unit_info ui;
			uint32_t ver;

			cr_assert_eq(ssm_unit_info_get(h, i, &ui), SSM_OK);
			for (int k = 0; k < 4; k++) {
				struct dunit *u = &st->u[k];

				if (strcmp(ui.name, u->name) || ui.instance != u->instance)
					continue;
				if (ssm_seek(h, ui.name, ui.instance, &ver) == SSM_OK)
					d_load_exec(u, h, ver, ui.pass);
			}
		}
		check_prefixes(st, what, pos);
	} else {
		cr_assert_lt(rc, 0);
		cr_assert_str_neq(ssm_handle_error(h), "");
	}
	ssm_close(h);
}

/* ---- The file's layout, from the good image ----------------------------------- */

enum span_kind { SP_FILE_HDR, SP_UNIT_HDR, SP_REC_HDR, SP_PAYLOAD, SP_END, SP_TERM, SP_DIR,
		 SP_FOOTER };

struct span {
	size_t off, len;
	enum span_kind kind;
};

struct layout {
	struct span sp[128];
	size_t n;
};

static void add_span(struct layout *l, size_t off, size_t len, enum span_kind k)
{
	cr_assert_lt(l->n, sizeof(l->sp) / sizeof(l->sp[0]));
	l->sp[l->n++] = (struct span){ off, len, k };
}

static void walk(const uint8_t *img, size_t len, struct layout *l)
{
	size_t pos = SSMF_FILE_HDR_SIZE;
	int units = 0;

	l->n = 0;
	add_span(l, 0, SSMF_FILE_HDR_SIZE, SP_FILE_HDR);
	for (;;) {
		uint32_t nl;

		cr_assert_leq(pos + SSMF_UNIT_FIXED, len);
		cr_assert_eq(memcmp(img + pos, SSMF_UNIT_MAGIC, 8), 0, "no unit header at %zu", pos);
		nl = le32_get(img + pos + 28);
		if (nl == 0) {
			add_span(l, pos, SSMF_UNIT_FIXED + 4, SP_TERM);
			pos += SSMF_UNIT_FIXED + 4;
			break;
		}
		add_span(l, pos, SSMF_UNIT_FIXED + nl + 4, SP_UNIT_HDR);
		pos += SSMF_UNIT_FIXED + nl + 4;
		units++;
		for (;;) {
			uint8_t type = img[pos];
			uint32_t stored = le32_get(img + pos + 4);

			if (type == SSMF_REC_END) {
				add_span(l, pos, SSMF_REC_HDR + SSMF_END_PAYLOAD, SP_END);
				pos += SSMF_REC_HDR + SSMF_END_PAYLOAD;
				break;
			}
			add_span(l, pos, SSMF_REC_HDR, SP_REC_HDR);
			if (stored)
				add_span(l, pos + SSMF_REC_HDR, stored, SP_PAYLOAD);
			pos += SSMF_REC_HDR + stored;
		}
	}
	cr_assert_eq(units, 4);
	cr_assert_eq(memcmp(img + pos, SSMF_DIR_MAGIC, 8), 0);
	add_span(l, pos, len - SSMF_FOOTER_SIZE - pos, SP_DIR);
	cr_assert_eq(memcmp(img + len - SSMF_FOOTER_SIZE, SSMF_FOOTER_MAGIC, 8), 0);
	add_span(l, len - SSMF_FOOTER_SIZE, SSMF_FOOTER_SIZE, SP_FOOTER);
}

static const char *const kind_name[] = { "file header", "unit header", "record header",
					 "payload", "END record", "terminator", "directory",
					 "footer" };

/* ---- Variants ------------------------------------------------------------------------ */

struct variant {
	int level;
	bool seekable;
	const char *name;
};

static const struct variant variants[] = {
	{ 0, true, "plain" }, { 6, true, "zlib" }, { 0, false, "pipe" },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static void flip_and_check(struct state *st, uint8_t *copy, size_t pos, const char *what)
{
	copy[pos] ^= 0xff;
	check_bad(st, copy, st->len, what, pos, 0);
	copy[pos] ^= 0xff;
}

/* (a) every byte of every structure, one at a time. */
Test(damage, every_structural_byte, .timeout = 120)
{
	for (size_t v = 0; v < NVARIANTS; v++) {
		struct state st;
		struct layout l;
		uint8_t *copy;
		size_t flips = 0;
		bool zlib_seen = false;

		state_init(&st, variants[v].level, variants[v].seekable, variants[v].name);
		walk(st.img, st.len, &l);
		copy = tu_xmalloc(st.len);
		memcpy(copy, st.img, st.len);
		for (size_t i = 0; i < l.n; i++) {
			if (l.sp[i].kind == SP_REC_HDR && st.img[l.sp[i].off] == SSMF_REC_ZLIB)
				zlib_seen = true;
			if (l.sp[i].kind == SP_PAYLOAD)
				continue;
			for (size_t k = 0; k < l.sp[i].len; k++, flips++)
				flip_and_check(&st, copy, l.sp[i].off + k, kind_name[l.sp[i].kind]);
		}
		cr_assert_gt(flips, 400);
		cr_assert_eq(zlib_seen, variants[v].level > 0, "%s: compressed records %s",
			     variants[v].name, zlib_seen ? "present" : "missing");
		cr_assert_eq(memcmp(copy, st.img, st.len), 0);
		free(copy);
		state_fini(&st);
	}
}

/* (b) ~200 data bytes at random (fixed seed) positions inside payloads. */
Test(damage, random_data_bytes, .timeout = 120)
{
	for (size_t v = 0; v < NVARIANTS; v++) {
		struct state st;
		struct layout l;
		uint8_t *copy;
		size_t total = 0;
		uint64_t rs = 0x5eed0000 + v;

		state_init(&st, variants[v].level, variants[v].seekable, variants[v].name);
		walk(st.img, st.len, &l);
		for (size_t i = 0; i < l.n; i++)
			if (l.sp[i].kind == SP_PAYLOAD)
				total += l.sp[i].len;
		cr_assert_gt(total, 1000);
		copy = tu_xmalloc(st.len);
		memcpy(copy, st.img, st.len);
		for (int k = 0; k < 200; k++) {
			size_t r = (size_t)(tu_rng(&rs) % total);

			for (size_t i = 0; i < l.n; i++) {
				if (l.sp[i].kind != SP_PAYLOAD)
					continue;
				if (r < l.sp[i].len) {
					flip_and_check(&st, copy, l.sp[i].off + r, "payload");
					break;
				}
				r -= l.sp[i].len;
			}
		}
		free(copy);
		state_fini(&st);
	}
}

/* (c) truncated at every structure boundary, in the last 200 bytes and at
 * ~100 other places. */
Test(damage, truncation_everywhere, .timeout = 120)
{
	for (size_t v = 0; v < NVARIANTS; v++) {
		struct state st;
		struct layout l;
		uint64_t rs = 0x7a11 + v;
		size_t checked = 0;

		state_init(&st, variants[v].level, variants[v].seekable, variants[v].name);
		walk(st.img, st.len, &l);
		check_bad(&st, st.img, 0, "truncated", 0, SSM_ERR_TRUNCATED);
		for (size_t i = 0; i < l.n; i++) {
			check_bad(&st, st.img, l.sp[i].off, "truncated at boundary", l.sp[i].off,
				  SSM_ERR_TRUNCATED);
			checked++;
		}
		for (size_t k = 1; k <= 200 && k < st.len; k++, checked++)
			check_bad(&st, st.img, st.len - k, "truncated near the end", st.len - k,
				  SSM_ERR_TRUNCATED);
		for (int k = 0; k < 100; k++, checked++) {
			size_t at = (size_t)(tu_rng(&rs) % st.len);

			check_bad(&st, st.img, at, "truncated", at, SSM_ERR_TRUNCATED);
		}
		cr_assert_gt(checked, 300);
		state_fini(&st);
	}
}

/* ---- Versions in the file header ------------------------------------------------- */

/* Rewrite every CRC that covers the file header, so only the field changed
 * is different. */
static void fix_crcs(uint8_t *img, size_t len)
{
	uint8_t *foot = img + len - SSMF_FOOTER_SIZE;

	le32_put(img + 60, (uint32_t)crc32(0, img, 60));
	le32_put(foot + 24, (uint32_t)crc32(0, img, (uInt)(len - SSMF_FOOTER_SIZE)));
	le32_put(foot + 28, (uint32_t)crc32(0, foot, 28));
}

Test(damage, foreign_major_version_is_refused)
{
	struct state st;
	uint8_t *copy;

	state_init(&st, 0, true, "major");
	copy = tu_xmalloc(st.len);
	for (int fix = 0; fix < 2; fix++) {
		static const uint16_t majors[] = { 0, 2, 0x100, 0xffff };

		for (size_t m = 0; m < sizeof(majors) / sizeof(majors[0]); m++) {
			char msg[256];
			ssm_handle *h = NULL;

			memcpy(copy, st.img, st.len);
			le16_put(copy + 8, majors[m]);
			if (fix)
				fix_crcs(copy, st.len);
			reset_got(&st);
			cr_assert_eq(tu_load(st.s, copy, st.len, NULL), SSM_ERR_FORMAT_MAJOR,
				     "major %u", majors[m]);
			cr_assert_not_null(strstr(ssm_last_error(st.s), "not supported"), "'%s'",
					   ssm_last_error(st.s));
			for (int i = 0; i < 4; i++)
				cr_assert_eq(st.u[i].load_calls, 0);
			cr_assert_eq(tu_validate(copy, st.len, msg, sizeof(msg)),
				     SSM_ERR_FORMAT_MAJOR);
			cr_assert_eq(ssm_open(tu_reader(copy, st.len, true), &h),
				     SSM_ERR_FORMAT_MAJOR);
			ssm_close(h);
		}
	}
	/* Positive control for fix_crcs(): a newer minor version is accepted. */
	{
		char msg[256];
		ssm_handle *h = NULL;
		ssm_file_info fi;

		memcpy(copy, st.img, st.len);
		le16_put(copy + 10, 7);
		fix_crcs(copy, st.len);
		cr_assert_eq(tu_load(st.s, copy, st.len, NULL), SSM_OK, "%s", ssm_last_error(st.s));
		cr_assert_eq(tu_validate(copy, st.len, msg, sizeof(msg)), SSM_OK, "%s", msg);
		cr_assert_eq(ssm_open(tu_reader(copy, st.len, true), &h), SSM_OK);
		cr_assert_eq(ssm_file_info_get(h, &fi), SSM_OK);
		cr_assert_eq(fi.major, 1);
		cr_assert_eq(fi.minor, 7);
		ssm_close(h);
		/* Without fixing the CRCs the same change is damage. */
		memcpy(copy, st.img, st.len);
		le16_put(copy + 10, 7);
		cr_assert_eq(tu_load(st.s, copy, st.len, NULL), SSM_ERR_CRC);
	}
	/* And a bad magic is not a state file at all. */
	memcpy(copy, st.img, st.len);
	copy[1] = 'X';
	cr_assert_eq(tu_load(st.s, copy, st.len, NULL), SSM_ERR_BAD_MAGIC);
	free(copy);
	state_fini(&st);
}

/* Trailing bytes after the footer are not part of a valid file: validate
 * and load refuse them alike. */
Test(damage, trailing_garbage_fails_validate_and_load)
{
	struct state st;
	uint8_t *copy;
	char msg[256];

	state_init(&st, 0, true, "trailing");
	copy = tu_xmalloc(st.len + 5);
	memcpy(copy, st.img, st.len);
	memset(copy + st.len, 0x42, 5);
	cr_assert_eq(tu_validate(copy, st.len + 5, msg, sizeof(msg)), SSM_ERR_FORMAT);
	cr_assert_not_null(strstr(msg, "trailing"), "%s", msg);
	cr_assert_eq(tu_load(st.s, copy, st.len + 5, NULL), SSM_ERR_FORMAT);
	cr_assert_str_eq(ssm_last_error(st.s), msg);
	free(copy);
	state_fini(&st);
}
