/* test_format_rules.c - the rules of docs/format.md that a CRC cannot
 * enforce.  Each test builds a valid file with libssm, patches one field,
 * recomputes every CRC (crcfix.h) as an attacker would, and checks that
 * load, validate and (where it applies) open refuse it with the right code
 * and a message naming the field and its offset. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "crcfix.h"
#include "testutil.h"

/* ---- Two units: "aa" (optionally live) and "ab" -------------------------- */

struct tunit {
	uint32_t live_passes;      /* live_exec passes wanted; 0: not live */
	uint32_t execs, loads;
	uint64_t max_remaining;    /* largest ssm_handle_remaining() seen */
	uint64_t first_remaining;
	bool wrapped;              /* remaining grew between two reads */
};

static int t_put(ssm_handle *h, uint32_t pass)
{
	uint8_t buf[300];

	tu_fill(buf, sizeof(buf), pass + 1);
	return ssm_put_u32(h, pass) ? -1 : ssm_put_mem(h, buf, sizeof(buf));
}

static int t_save_exec(void *ctx, ssm_handle *h)
{
	((struct tunit *)ctx)->execs++;
	return t_put(h, SSM_PASS_FINAL);
}

static int t_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	return t_put(h, pass);
}

static int t_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)h;
	return pass + 1 < ((struct tunit *)ctx)->live_passes ? SSM_VOTE_ANOTHER_PASS
							       : SSM_VOTE_DONE;
}

/* Reads in small steps, watching ssm_handle_remaining() never grow. */
static int t_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct tunit *u = ctx;
	uint64_t prev = ssm_handle_remaining(h);
	uint8_t b[20];
	int rc = SSM_OK;

	(void)version;
	(void)pass;
	u->loads++;
	u->first_remaining = prev;
	while (!rc && ssm_handle_remaining(h) > 0 && ssm_handle_remaining(h) != UINT64_MAX) {
		uint64_t rem;

		rc = ssm_get_mem(h, b, sizeof(b) < prev ? sizeof(b) : (size_t)prev);
		rem = ssm_handle_remaining(h);
		if (rem > prev)
			u->wrapped = true;
		if (rem > u->max_remaining)
			u->max_remaining = rem;
		prev = rem;
	}
	if (!rc && ssm_handle_remaining(h) == UINT64_MAX)
		rc = ssm_skip_to_end(h);
	return rc;
}

static const ssm_callbacks t_cb = { .save_exec = t_save_exec, .load_exec = t_load_exec };
static const ssm_callbacks t_live_cb = { .live_exec = t_live_exec, .live_vote = t_live_vote,
					 .save_exec = t_save_exec, .load_exec = t_load_exec };

struct fx {
	struct tunit u[2];
	ssm *s;
	uint8_t *img;
	size_t len;
	struct cf_layout l;
};

/* Registry with the two units; live_passes > 0 makes "aa" a live unit. */
static void fx_registry(struct fx *f, uint32_t live_passes)
{
	memset(f, 0, sizeof(*f));
	f->s = ssm_create(NULL);
	cr_assert_not_null(f->s);
	f->u[0].live_passes = live_passes;
	cr_assert_eq(ssm_register_external(f->s, "aa", 0, 1, 0, NULL, 0,
					   live_passes ? &t_live_cb : &t_cb, &f->u[0]), SSM_OK);
	cr_assert_eq(ssm_register_external(f->s, "ab", 0, 1, 0, NULL, 0, &t_cb, &f->u[1]),
		     SSM_OK);
}

static void fx_init(struct fx *f, bool seekable, uint32_t live_passes)
{
	void *buf;

	fx_registry(f, live_passes);
	if (live_passes) {
		struct tu_cap c;
		ssm_handle *h;

		cr_assert_eq(ssm_live_begin(f->s, tu_cap_stream(&c, seekable), NULL, &h), SSM_OK);
		cr_assert_eq(ssm_live_step1(h), SSM_OK);
		cr_assert_eq(ssm_live_step2(h), SSM_OK);
		cr_assert_eq(ssm_live_end(h), SSM_OK);
		buf = c.buf;
		f->len = c.len;
	} else {
		cr_assert_eq(tu_save(f->s, NULL, seekable, &buf, &f->len), SSM_OK);
	}
	f->img = buf;
	cf_walk(f->img, f->len, &f->l);
	/* Positive control: the helper computes the CRCs libssm wrote. */
	{
		uint8_t *copy = tu_xmalloc(f->len);

		memcpy(copy, f->img, f->len);
		cf_fix(copy, f->len);
		cr_assert_eq(memcmp(copy, f->img, f->len), 0, "crcfix disagrees with libssm");
		free(copy);
	}
	cr_assert_eq(tu_load(f->s, f->img, f->len, NULL), SSM_OK, "%s", ssm_last_error(f->s));
}

static void fx_fini(struct fx *f)
{
	free(f->img);
	ssm_destroy(f->s);
}

/* A fresh copy of the good image, for patching. */
static uint8_t *fx_copy(const struct fx *f)
{
	uint8_t *c = tu_xmalloc(f->len + 64);

	memcpy(c, f->img, f->len);
	return c;
}

static void msg_has(const char *msg, const char *field, size_t off, const char *what)
{
	char at[40];

	snprintf(at, sizeof(at), "offset %zu", off);
	cr_assert_not_null(strstr(msg, field), "%s: message does not name '%s': %s", what,
			   field, msg);
	cr_assert_not_null(strstr(msg, at), "%s: message does not name '%s': %s", what, at,
			   msg);
}

/* Load and validate both refuse img with rc, naming field at offset off. */
static void refused(struct fx *f, const uint8_t *img, size_t len, int rc, const char *field,
		    size_t off)
{
	char msg[512] = "";

	for (int i = 0; i < 2; i++)
		f->u[i].loads = 0;
	cr_assert_eq(tu_load(f->s, img, len, NULL), rc, "load of a file with a bad %s: %s",
		     field, ssm_last_error(f->s));
	msg_has(ssm_last_error(f->s), field, off, "load");
	cr_assert_eq(tu_validate(img, len, msg, sizeof(msg)), rc, "validate: %s", msg);
	msg_has(msg, field, off, "validate");
}

/* ssm_open refuses img with rc, naming field at offset off. */
static void open_refused(const uint8_t *img, size_t len, int rc, const char *field, size_t off)
{
	ssm_handle *h = NULL;

	cr_assert_eq(ssm_open(tu_reader(img, len, true), &h), rc, "open: %s",
		     ssm_handle_error(h));
	msg_has(ssm_handle_error(h), field, off, "open");
	ssm_close(h);
}

#define NO_PATCH SIZE_MAX

/* A copy of the good file with u32 v1 at a1 (and v2 at a2 unless NO_PATCH)
 * and every CRC fixed must be refused with rc, naming field at offset off,
 * by load and validate, and by open when open_off is not NO_PATCH. */
static void refused32(struct fx *f, size_t a1, uint32_t v1, size_t a2, uint32_t v2, int rc,
		      const char *field, size_t off, size_t open_off)
{
	uint8_t *c = fx_copy(f);

	le32_put(c + a1, v1);
	if (a2 != NO_PATCH)
		le32_put(c + a2, v2);
	cf_fix(c, f->len);
	refused(f, c, f->len, rc, field, off);
	if (open_off != NO_PATCH)
		open_refused(c, f->len, rc, field, open_off);
	free(c);
}

/* ---- File header ------------------------------------------------------------ */

Test(format_rules, file_header_reserved_and_flags_must_be_zero)
{
	static const struct { size_t off, size; const char *field; } z[] = {
		{ 14, 2, "reserved" }, { 20, 4, "flags" }, { 56, 4, "reserved" },
	};
	struct fx f;

	fx_init(&f, true, 0);
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		uint8_t *c = fx_copy(&f);

		c[z[i].off + z[i].size - 1] = 0x80;
		cf_fix(c, f.len);
		refused(&f, c, f.len, SSM_ERR_FORMAT, z[i].field, z[i].off);
		open_refused(c, f.len, SSM_ERR_FORMAT, z[i].field, z[i].off);
		cr_assert_eq(f.u[0].loads + f.u[1].loads, 0, "a unit was loaded");
		free(c);
	}
	fx_fini(&f);
}

Test(format_rules, build_id_is_printable_ascii_then_nul_padding)
{
	struct fx f;
	uint8_t *c;

	fx_init(&f, true, 0);
	/* A control byte. */
	c = fx_copy(&f);
	c[24 + 3] = 0x01;
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "build_id", 27);
	/* Text after the NUL padding began. */
	memset(c + 24, 0, SSMF_BUILD_ID_SIZE);
	memcpy(c + 24, "ab\0c", 4);
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "build_id", 27);
	/* A non-ASCII byte in the last position of a full-length id. */
	memset(c + 24, 'x', SSMF_BUILD_ID_SIZE);
	c[24 + 31] = 0xe9;
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "build_id", 55);
	/* Allowed: all 32 bytes printable, or no id at all. */
	c[24 + 31] = '~';
	cf_fix(c, f.len);
	cr_assert_eq(tu_load(f.s, c, f.len, NULL), SSM_OK, "%s", ssm_last_error(f.s));
	memset(c + 24, 0, SSMF_BUILD_ID_SIZE);
	cf_fix(c, f.len);
	cr_assert_eq(tu_load(f.s, c, f.len, NULL), SSM_OK, "%s", ssm_last_error(f.s));
	free(c);
	fx_fini(&f);
}

/* ---- Unit headers, records, directory, footer -------------------------------- */

Test(format_rules, unit_flags_other_than_optional_are_refused)
{
	struct fx f;
	size_t u;

	fx_init(&f, true, 0);
	u = f.l.unit[1];
	/* The directory agrees with the header. */
	refused32(&f, u + 12, 0x2, f.l.entry[1] + 28, 0x2, SSM_ERR_FORMAT, "flags", u + 12,
		  f.l.entry[1] + 28);
	cr_assert_not_null(strstr(ssm_last_error(f.s), "unit 'ab'"));
	/* Random access reads the directory first: its refusal names the
	 * unit too, not only the entry's number. */
	{
		uint8_t *c = fx_copy(&f);
		ssm_handle *h = NULL;

		le32_put(c + u + 12, 0x2);
		le32_put(c + f.l.entry[1] + 28, 0x2);
		cf_fix(c, f.len);
		cr_assert_eq(ssm_open(tu_reader(c, f.len, true), &h), SSM_ERR_FORMAT);
		cr_assert_not_null(strstr(ssm_handle_error(h), "unit 'ab'"), "%s",
				   ssm_handle_error(h));
		ssm_close(h);
		free(c);
	}
	fx_fini(&f);
}

Test(format_rules, directory_flags_must_match_the_unit)
{
	struct fx f;
	uint8_t *c;
	ssm_handle *h = NULL;
	size_t e;

	fx_init(&f, true, 0);
	e = f.l.entry[0];
	c = fx_copy(&f);
	le32_put(c + e + 28, SSMF_UNIT_F_OPTIONAL);
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "flags", e + 28);
	/* Random access has only the directory; seeking compares the header. */
	cr_assert_eq(ssm_open(tu_reader(c, f.len, true), &h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_seek(h, "aa", 0, NULL), SSM_ERR_FORMAT);
	cr_assert_not_null(strstr(ssm_handle_error(h), "flags"), "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_seek(h, "ab", 0, NULL), SSM_OK, "%s", ssm_handle_error(h));
	ssm_close(h);
	free(c);
	fx_fini(&f);
}

Test(format_rules, directory_and_footer_reserved_must_be_zero)
{
	struct fx f;

	fx_init(&f, true, 0);
	refused32(&f, f.l.dir + 12, 1, NO_PATCH, 0, SSM_ERR_FORMAT, "reserved", f.l.dir + 12,
		  f.l.dir + 12);
	refused32(&f, f.l.footer + 20, 0x100, NO_PATCH, 0, SSM_ERR_FORMAT, "reserved",
		  f.l.footer + 20, f.l.footer + 20);
	fx_fini(&f);
}

/* A pipe-written file: unit headers say data_len unknown, so only the END
 * record (and the directory) state it. */
Test(format_rules, end_data_len_must_equal_the_decoded_bytes)
{
	struct fx f;

	fx_init(&f, false, 0);
	cr_assert_eq(le64_get(f.img + f.l.unit[0] + SSMF_UNIT_DATA_LEN_OFF), SSMF_DATA_LEN_UNKNOWN);
	for (int d = -1; d <= 1; d += 2) {
		uint8_t *c = fx_copy(&f);
		size_t e = f.l.end[0];
		uint64_t real = le64_get(c + e + SSMF_REC_HDR);

		le64_put(c + e + SSMF_REC_HDR, real + (uint64_t)(int64_t)d);
		le64_put(c + f.l.entry[0] + 8, real + (uint64_t)(int64_t)d);
		cf_fix(c, f.len);
		refused(&f, c, f.len, SSM_ERR_FORMAT, "data_len", e + SSMF_REC_HDR);
		free(c);
	}
	fx_fini(&f);
}

/* A seekable file with header, END and directory all lying alike. */
Test(format_rules, header_data_len_must_equal_the_decoded_bytes)
{
	struct fx f;
	uint8_t *c;
	size_t u, e;
	uint64_t real;

	fx_init(&f, true, 0);
	u = f.l.unit[0];
	e = f.l.end[0];
	real = le64_get(f.img + u + SSMF_UNIT_DATA_LEN_OFF);
	cr_assert_eq(real, 304);
	/* Claims more than the records hold. */
	c = fx_copy(&f);
	le64_put(c + u + SSMF_UNIT_DATA_LEN_OFF, real + 5);
	le64_put(c + e + SSMF_REC_HDR, real + 5);
	le64_put(c + f.l.entry[0] + 8, real + 5);
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "data_len", e + SSMF_REC_HDR);
	cr_assert(!f.u[0].wrapped);
	/* Claims less: the record that goes past it is refused before any of
	 * its bytes is handed out, and remaining never wraps. */
	memcpy(c, f.img, f.len);
	le64_put(c + u + SSMF_UNIT_DATA_LEN_OFF, real - 8);
	le64_put(c + e + SSMF_REC_HDR, real - 8);
	le64_put(c + f.l.entry[0] + 8, real - 8);
	cf_fix(c, f.len);
	f.u[0].max_remaining = 0;
	refused(&f, c, f.len, SSM_ERR_FORMAT, "data_len", u + SSMF_UNIT_DATA_LEN_OFF);
	cr_assert_eq(f.u[0].first_remaining, real - 8);
	cr_assert(!f.u[0].wrapped, "ssm_handle_remaining() wrapped");
	cr_assert_leq(f.u[0].max_remaining, real - 8);
	free(c);
	fx_fini(&f);
}

Test(format_rules, load_refuses_bytes_after_the_footer)
{
	struct fx f;
	uint8_t *c;

	fx_init(&f, true, 0);
	c = fx_copy(&f);
	memset(c + f.len, 0, 3);
	refused(&f, c, f.len + 3, SSM_ERR_FORMAT, "after the footer", f.len);
	cr_assert_eq(f.u[0].loads, 1, "the units before the footer were read");
	/* A pipe has no size: the reader stops at the footer (a peer may keep
	 * a socket open after it), as docs/format.md says. */
	cr_assert_eq(ssm_load(f.s, tu_reader(c, f.len + 3, false), NULL), SSM_OK, "%s",
		     ssm_last_error(f.s));
	free(c);
	fx_fini(&f);
}

/* ---- Passes ----------------------------------------------------------------- */

/* Live save of "aa" over 2 passes: aa/0, aa/1, aa/final, ab/final. */
static void fx_live(struct fx *f)
{
	fx_init(f, true, 2);
	cr_assert_eq(f->l.nunits, 4);
	cr_assert_eq(le32_get(f->img + f->l.unit[0] + 24), 0);
	cr_assert_eq(le32_get(f->img + f->l.unit[1] + 24), 1);
	cr_assert_eq(le32_get(f->img + f->l.unit[2] + 24), SSM_PASS_FINAL);
}

static void set_pass(uint8_t *c, const struct fx *f, size_t k, uint32_t pass)
{
	le32_put(c + f->l.unit[k] + 24, pass);
	le32_put(c + f->l.entry[k] + 24, pass);
	cf_fix(c, f->len);
}

Test(format_rules, a_unit_has_one_record_per_pass)
{
	struct fx f;
	uint8_t *c;

	fx_live(&f);
	c = fx_copy(&f);
	set_pass(c, &f, 1, 0);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "second record of pass 0", f.l.unit[1]);
	cr_assert_eq(f.u[0].loads, 1, "the second record reached load_exec");
	open_refused(c, f.len, SSM_ERR_FORMAT, "second record of pass 0", f.l.unit[1]);
	free(c);
	/* Two units of one name in the final pass. */
	c = fx_copy(&f);
	c[f.l.unit[3] + SSMF_UNIT_FIXED + 1] = 'a';
	c[f.l.entry[3] + SSMF_DIR_ENTRY_FIXED + 1] = 'a';
	cf_fix(c, f.len);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "second record", f.l.unit[3]);
	free(c);
	fx_fini(&f);
}

Test(format_rules, passes_never_decrease)
{
	struct fx f;
	uint8_t *c;

	fx_live(&f);
	c = fx_copy(&f);
	set_pass(c, &f, 2, 0);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "passes never decrease", f.l.unit[2]);
	open_refused(c, f.len, SSM_ERR_FORMAT, "passes never decrease", f.l.unit[2]);
	free(c);
	fx_fini(&f);
}

Test(format_rules, directory_entries_in_stream_order)
{
	struct fx f;
	uint8_t *c;

	fx_init(&f, true, 0);
	c = fx_copy(&f);
	le64_put(c + f.l.entry[1], f.l.unit[0]);
	cf_fix(c, f.len);
	open_refused(c, f.len, SSM_ERR_FORMAT, "does not come after", f.l.unit[0]);
	refused(&f, c, f.len, SSM_ERR_FORMAT, "offset", f.l.entry[1]);
	free(c);
	fx_fini(&f);
}

/* ---- Random access on a pipe-written file ------------------------------------ */

Test(format_rules, seek_holds_records_to_the_directory_data_len)
{
	struct fx f;
	ssm_handle *h = NULL;
	uint8_t b[304];

	fx_init(&f, false, 0);
	cr_assert_eq(ssm_open(tu_reader(f.img, f.len, true), &h), SSM_OK, "%s",
		     ssm_handle_error(h));
	cr_assert_eq(ssm_seek(h, "ab", 0, NULL), SSM_OK);
	cr_assert_eq(ssm_handle_remaining(h), 304, "the directory knows the length");
	cr_assert_eq(ssm_get_mem(h, b, sizeof(b)), SSM_OK);
	cr_assert_eq(ssm_handle_remaining(h), 0);
	ssm_close(h);
	fx_fini(&f);
}

/* ---- Messages of refusals that no format field explains ------------------------ */

static int str_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	char small[8];

	(void)ctx;
	(void)version;
	(void)pass;
	/* The saved u32 (the pass) read as a string length is far too long. */
	return ssm_get_str(h, small, sizeof(small), NULL);
}

Test(format_rules, string_too_long_names_unit_and_offset)
{
	static const ssm_callbacks cb = { .save_exec = t_save_exec, .load_exec = str_load_exec };
	struct fx f;
	ssm *s2 = ssm_create(NULL);
	const char *m;

	fx_init(&f, true, 0);
	cr_assert_eq(ssm_register_external(s2, "aa", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(ssm_register_external(s2, "ab", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	/* A string length of 300 instead of the pass number. */
	{
		uint8_t *c = fx_copy(&f);
		size_t rec = f.l.unit[0] + SSMF_UNIT_FIXED + 2 + 4;

		le32_put(c + rec + SSMF_REC_HDR, 300);
		cf_fix(c, f.len);
		cr_assert_eq(tu_load(s2, c, f.len, NULL), SSM_ERR_STRING_TOO_LONG);
		m = ssm_last_error(s2);
		cr_assert_not_null(strstr(m, "unit 'aa'"), "%s", m);
		cr_assert_not_null(strstr(m, "string of 300 bytes"), "%s", m);
		msg_has(m, "8-byte buffer", rec + SSMF_REC_HDR + 4, "load");
		free(c);
	}
	ssm_destroy(s2);
	fx_fini(&f);
}

struct two { uint32_t a, b; };

static int struct_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	static const ssm_field fields[] = {
		SSM_FIELD(struct two, a), SSM_FIELD(struct two, b), SSM_FIELD_TERM(),
	};
	struct two t;
	uint8_t skip[296];

	(void)ctx;
	(void)version;
	(void)pass;
	/* 4 + 296 bytes of the 304 are skipped; the struct's second field
	 * then reaches past the end of the unit. */
	if (ssm_get_u32(h, &t.a) || ssm_get_mem(h, skip, sizeof(skip)))
		return ssm_handle_status(h);
	return ssm_get_struct(h, &t, sizeof(t), SSM_STRUCT_NO_MARKERS, fields, NULL);
}

Test(format_rules, struct_refusal_names_the_field)
{
	static const ssm_callbacks cb = { .save_exec = t_save_exec,
					  .load_exec = struct_load_exec };
	struct fx f;
	ssm *s2 = ssm_create(NULL);
	const char *m;

	fx_init(&f, true, 0);
	cr_assert_eq(ssm_register_external(s2, "aa", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(ssm_register_external(s2, "ab", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(tu_load(s2, f.img, f.len, NULL), SSM_ERR_READ_PAST_END);
	m = ssm_last_error(s2);
	cr_assert_not_null(strstr(m, "unit 'aa'"), "%s", m);
	cr_assert_not_null(strstr(m, "field 'b'"), "%s", m);
	cr_assert_not_null(strstr(m, "offset"), "%s", m);
	ssm_destroy(s2);
	fx_fini(&f);
}
