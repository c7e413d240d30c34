/* Declared version ranges (docs/compat.md): a unit loads every saved
 * version from its oldest to its current one, and refuses the others with
 * one message naming the unit, the version and the range.
 *
 * "gadget" is a unit whose layout evolved: version 1 saved {a, b}; version
 * 2 added c, which a version-1 file does not have and gets a default.  The
 * "old build" saves version 1, the "new build" loads 1..2 through one
 * field table per layout.  The device models are checked against their
 * declared ranges with stand-in sources that save their real state under
 * the versions just outside the range. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dev_identity.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "ssm/ssm.h"
#include "tests/unit/testutil.h"

/* ---- gadget: a unit with two layouts --------------------------------------- */

#define GADGET_VERSION     2
#define GADGET_VERSION_MIN 1
#define GADGET_C_DEFAULT   0x7c7c7c7cu  /* what a version-1 file means for c */

struct gadget {
	uint32_t a;
	uint16_t b;
	uint32_t c;               /* since version 2 */
};

static const ssm_field gadget_v1[] = {
	SSM_FIELD(struct gadget, a),
	SSM_FIELD(struct gadget, b),
	SSM_FIELD_TERM()
};

static const ssm_field gadget_v2[] = {
	SSM_FIELD(struct gadget, a),
	SSM_FIELD(struct gadget, b),
	SSM_FIELD(struct gadget, c),
	SSM_FIELD_TERM()
};

/* The saving side: ctx is a struct gadget_src naming the layout it writes. */
struct gadget_src {
	struct gadget g;
	const ssm_field *fields;
};

static int gadget_save(void *ctx, ssm_handle *h)
{
	const struct gadget_src *s = ctx;

	return ssm_put_struct(h, &s->g, sizeof s->g, 0, s->fields, NULL);
}

/* The loading side: ctx is a struct gadget_dst with the range it loads. */
struct gadget_dst {
	struct gadget g;
	uint32_t min, max;
	bool latest_table_only;   /* a broken loader: ignores the version */
};

static int gadget_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct gadget_dst *d = ctx;
	struct gadget tmp = { .c = GADGET_C_DEFAULT };
	const ssm_field *fields = version >= 2 ? gadget_v2 : gadget_v1;
	int rc;

	(void)pass;
	rc = ssm_check_unit_version(h, "gadget", version, d->min, d->max);
	if (rc != SSM_OK)
		return rc;
	if (d->latest_table_only)
		fields = gadget_v2;
	rc = ssm_get_struct(h, &tmp, sizeof tmp, 0, fields, NULL);
	if (rc == SSM_OK)
		d->g = tmp;
	return rc;
}

static const ssm_callbacks gadget_src_cb = { .save_exec = gadget_save };
static const ssm_callbacks gadget_dst_cb = { .load_exec = gadget_load };

/* Save registry a, load the stream into registry b, destroy both; returns
 * the load status, its message in msg. */
static int transfer(ssm *a, ssm *b, char *msg, size_t msglen)
{
	void *buf;
	size_t len;
	int rc;

	cr_assert_eq(tu_save(a, NULL, true, &buf, &len), SSM_OK, "%s", ssm_last_error(a));
	rc = tu_load(b, buf, len, NULL);
	snprintf(msg, msglen, "%s", ssm_last_error(b));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
	return rc;
}

/* Save src as unit "gadget" version `version`, load it into dst; returns the
 * load status, the message in msg. */
static int gadget_round_trip(struct gadget_src *src, uint32_t version, struct gadget_dst *dst,
			     char *msg, size_t msglen)
{
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);

	cr_assert(a && b);
	cr_assert_eq(ssm_register_external(a, "gadget", 0, version, 16, NULL, 0, &gadget_src_cb,
					   src), SSM_OK);
	cr_assert_eq(ssm_register_external(b, "gadget", 0, dst->max, 16, NULL, 0, &gadget_dst_cb,
					   dst), SSM_OK);
	return transfer(a, b, msg, msglen);
}

static const struct gadget untouched = { 0xdead, 0xbe, 0xef };

/* Field by field: struct copies need not copy the padding. */
static bool is_untouched(const struct gadget *g)
{
	return g->a == untouched.a && g->b == untouched.b && g->c == untouched.c;
}

/* The new build loads both layouts; a version-1 file has no c: the default. */
Test(unit_versions, new_loader_reads_every_layout_in_its_range)
{
	static const struct {
		uint32_t saved;
		const ssm_field *fields;
		uint32_t want_c;
	} cases[] = {
		{ 1, gadget_v1, GADGET_C_DEFAULT },
		{ 2, gadget_v2, 0x778899aa },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gadget_src src = { { 0x11223344, 0x5566, 0x778899aa }, cases[i].fields };
		struct gadget_dst dst = { untouched, GADGET_VERSION_MIN, GADGET_VERSION, false };
		char msg[512];
		int rc = gadget_round_trip(&src, cases[i].saved, &dst, msg, sizeof msg);

		cr_assert_eq(rc, SSM_OK, "version %u: rc %d: %s", cases[i].saved, rc, msg);
		cr_assert_eq(dst.g.a, 0x11223344);
		cr_assert_eq(dst.g.b, 0x5566);
		cr_assert_eq(dst.g.c, cases[i].want_c, "version %u: c = %#x", cases[i].saved,
			     dst.g.c);
	}
}

/* What the range is for: a loader that reads every version with the newest
 * table misreads an old file (here the struct markers catch it). */
Test(unit_versions, old_file_needs_its_own_table)
{
	struct gadget_src src = { { 1, 2, 3 }, gadget_v1 };
	struct gadget_dst dst = { untouched, GADGET_VERSION_MIN, GADGET_VERSION, true };
	char msg[512];
	int rc = gadget_round_trip(&src, 1, &dst, msg, sizeof msg);

	cr_assert_neq(rc, SSM_OK, "a version-1 file read with the version-2 table loaded");
	cr_assert(is_untouched(&dst.g));
}

Test(unit_versions, outside_the_range_is_refused_by_name)
{
	static const struct {
		uint32_t saved, min, max;
		const char *range;
	} cases[] = {
		{ 0, 1, 2, "unit version 0 not supported (loads 1..2)" },
		{ 3, 1, 2, "unit version 3 not supported (loads 1..2)" },
		{ UINT32_MAX, 1, 2, "unit version 4294967295 not supported (loads 1..2)" },
		/* The old build meets a file of the new one. */
		{ 2, 1, 1, "unit version 2 not supported (loads 1..1)" },
		/* A build that dropped version 1 (after a format major bump). */
		{ 1, 2, 2, "unit version 1 not supported (loads 2..2)" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gadget_src src = { { 1, 2, 3 }, cases[i].saved >= 2 ? gadget_v2 : gadget_v1 };
		struct gadget_dst dst = { untouched, cases[i].min, cases[i].max, false };
		char msg[512];
		int rc = gadget_round_trip(&src, cases[i].saved, &dst, msg, sizeof msg);

		cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "case %zu: rc %d: %s", i, rc, msg);
		cr_assert(strstr(msg, "gadget: "), "case %zu: '%s' does not name the unit", i, msg);
		cr_assert(strstr(msg, cases[i].range), "case %zu: '%s' lacks '%s'", i, msg,
			  cases[i].range);
		cr_assert(is_untouched(&dst.g), "case %zu: a refused version changed the state", i);
	}
}

Test(unit_versions, helper_bounds_are_inclusive)
{
	cr_assert_eq(ssm_check_unit_version(NULL, "x", 1, 1, 3), SSM_OK);
	cr_assert_eq(ssm_check_unit_version(NULL, "x", 3, 1, 3), SSM_OK);
	cr_assert_eq(ssm_check_unit_version(NULL, "x", 0, 1, 3), SSM_ERR_UNIT_VERSION);
	cr_assert_eq(ssm_check_unit_version(NULL, "x", 4, 1, 3), SSM_ERR_UNIT_VERSION);
}

/* ---- the device models' declared ranges ------------------------------------ */

static uint64_t fixed_clock(void *opaque)
{
	(void)opaque;
	return 1000000;
}

struct dev_case {
	const char *unit;
	uint32_t min, max;        /* the declared range, from the headers */
	int (*reg)(ssm *reg, void *dev);
	void *(*make)(void);      /* a freshly reset device (malloc) */
};

static int reg_pic(ssm *reg, void *dev) { return pic_ssm_register(dev, reg, 0); }
static int reg_pit(ssm *reg, void *dev) { return pit_ssm_register(dev, reg, 0); }
static int reg_serial(ssm *reg, void *dev) { return serial_ssm_register(dev, reg, 0); }

static void *make_pic(void)
{
	struct pic *p = tu_xmalloc(sizeof *p);

	pic_init(p, NULL, NULL);
	return p;
}

static void *make_pit(void)
{
	struct pit *p = tu_xmalloc(sizeof *p);

	pit_init(p, NULL, fixed_clock, NULL, fixed_clock(NULL));
	return p;
}

static void *make_serial(void)
{
	struct serial *s = tu_xmalloc(sizeof *s);

	serial_init(s, NULL, NULL, NULL);
	return s;
}

static const struct dev_case devs[] = {
	{ "pic", PIC_SSM_VERSION_MIN, PIC_SSM_VERSION, reg_pic, make_pic },
	{ "pit", PIT_SSM_VERSION_MIN, PIT_SSM_VERSION, reg_pit, make_pit },
	{ "serial", SERIAL_SSM_VERSION_MIN, SERIAL_SSM_VERSION, reg_serial, make_serial },
};

/* A stand-in source: its unit data is a real device's saved record. */
struct body {
	void *buf;
	size_t len;
};

static int body_save(void *ctx, ssm_handle *h)
{
	const struct body *b = ctx;

	return ssm_put_mem(h, b->buf, b->len);
}

/* The record a real save of a fresh device holds. */
static struct body dev_body(const struct dev_case *d)
{
	ssm *reg = ssm_create(NULL);
	void *dev = d->make(), *buf;
	ssm_handle *h;
	ssm_unit_info ui;
	struct body b = { NULL, 0 };
	size_t len;

	cr_assert_eq(d->reg(reg, dev), SSM_OK);
	cr_assert_eq(tu_save(reg, NULL, true, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_open(tu_reader(buf, len, true), &h), SSM_OK);
	for (uint32_t i = 0; ssm_unit_info_get(h, i, &ui) == SSM_OK; i++)
		if (!strcmp(ui.name, d->unit))
			b.len = (size_t)ui.data_len;
	cr_assert_gt(b.len, 0, "%s: no record in its own save", d->unit);
	b.buf = tu_xmalloc(b.len);
	cr_assert_eq(ssm_seek(h, d->unit, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_get_mem(h, b.buf, b.len), SSM_OK);
	ssm_close(h);
	free(buf);
	free(dev);
	ssm_destroy(reg);
	return b;
}

/* Load the device's real record, saved under `version`, into a fresh one. */
static int dev_load_as(const struct dev_case *d, struct body *b, uint32_t version, char *msg,
		       size_t msglen)
{
	static const ssm_callbacks cb = { .save_exec = body_save };
	ssm *a = ssm_create(NULL), *r = ssm_create(NULL);
	void *dev = d->make();
	int rc;

	cr_assert(a && r);
	cr_assert_eq(ssm_register_external(a, d->unit, 0, version, b->len, NULL, 0, &cb, b),
		     SSM_OK);
	cr_assert_eq(d->reg(r, dev), SSM_OK);
	rc = transfer(a, r, msg, msglen);
	free(dev);
	return rc;
}

Test(unit_versions, devices_load_exactly_their_declared_range)
{
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		const struct dev_case *d = &devs[i];
		struct body b = dev_body(d);
		char msg[512], want[96];
		int rc;

		cr_assert_geq(d->min, 1, "%s: version 0 is never a saved layout", d->unit);
		cr_assert_leq(d->min, d->max, "%s: empty range", d->unit);
		/* The current layout loads (older ones need their own records:
		 * each version's layout test belongs with the change that adds
		 * it). */
		rc = dev_load_as(d, &b, d->max, msg, sizeof msg);
		cr_assert_eq(rc, SSM_OK, "%s version %u: %s", d->unit, d->max, msg);
		/* Just outside, both ends: refused, naming unit and range. */
		rc = dev_load_as(d, &b, d->min - 1, msg, sizeof msg);
		cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "%s version %u: rc %d", d->unit,
			     d->min - 1, rc);
		snprintf(want, sizeof want, "%s: unit version %u not supported (loads %u..%u)",
			 d->unit, d->min - 1, d->min, d->max);
		cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
		rc = dev_load_as(d, &b, d->max + 1, msg, sizeof msg);
		cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "%s version %u: rc %d", d->unit,
			     d->max + 1, rc);
		snprintf(want, sizeof want, "%s: unit version %u not supported (loads %u..%u)",
			 d->unit, d->max + 1, d->min, d->max);
		cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
		free(b.buf);
	}
}

/* ---- identity records (live pass 0) carry the version too ----------------- */

static const struct dev_id_param ranged_params[] = {
	{ "version", 3, 1 },      /* loads 1..3 */
	{ "width", 8, 0 },        /* exact */
};

static const struct dev_identity ranged_id = {
	.unit = "thing", .model = "T-1", .article = "a",
	.params = ranged_params, .nparams = 2,
};

static int id_put(void *ctx, ssm_handle *h)
{
	const uint32_t *v = ctx;

	int rc = ssm_put_str(h, "T-1");

	if (rc == SSM_OK)
		rc = ssm_put_u32(h, v[0]);
	if (rc == SSM_OK)
		rc = ssm_put_u32(h, v[1]);
	return rc;
}

static int id_check(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	(void)ctx;
	(void)version;
	(void)pass;
	return dev_identity_check(&ranged_id, h);
}

static int id_round_trip(uint32_t version, uint32_t width, char *msg, size_t msglen)
{
	static const ssm_callbacks src_cb = { .save_exec = id_put };
	static const ssm_callbacks dst_cb = { .load_exec = id_check };
	uint32_t v[2] = { version, width };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);

	cr_assert(a && b);
	cr_assert_eq(ssm_register_external(a, "thing", 0, 1, 16, NULL, 0, &src_cb, v), SSM_OK);
	cr_assert_eq(ssm_register_external(b, "thing", 0, 1, 16, NULL, 0, &dst_cb, NULL), SSM_OK);
	return transfer(a, b, msg, msglen);
}

Test(unit_versions, identity_version_accepts_the_declared_range)
{
	char msg[512];

	for (uint32_t v = 1; v <= 3; v++)
		cr_assert_eq(id_round_trip(v, 8, msg, sizeof msg), SSM_OK, "version %u: %s", v, msg);
	cr_assert_eq(id_round_trip(0, 8, msg, sizeof msg), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(msg, "thing: version mismatch: stream describes a T-1 with version 0, "
			 "this VM has 3 (loads 1..3)"), "%s", msg);
	cr_assert_eq(id_round_trip(4, 8, msg, sizeof msg), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(msg, "with version 4, this VM has 3 (loads 1..3)"), "%s", msg);
	/* A parameter without a range still has to match exactly. */
	cr_assert_eq(id_round_trip(3, 7, msg, sizeof msg), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(msg, "width mismatch: stream describes a T-1 with width 7, this VM "
			 "has 8"), "%s", msg);
	cr_assert_null(strstr(msg, "loads"), "%s", msg);
}
