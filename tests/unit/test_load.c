/* test_load.c - loading: unknown, optional and absent units, reading too
 * much or too little, load errors, unit versions, open/seek, validate,
 * streams that cannot seek, cancellation and concurrent operations. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "testutil.h"

/* ---- A data unit: u32 length, a pattern of that length, its name -------- */

enum ld_mode { LD_EXACT, LD_MORE, LD_LESS, LD_SETERR, LD_NONE };

struct dunit {
	const char *name;
	uint32_t instance;
	size_t len;               /* pattern bytes */
	uint64_t seed;
	enum ld_mode mode;
	int load_calls, done_calls;
	bool loaded_in_done;
	uint32_t version;
	uint64_t remaining0;      /* ssm_handle_remaining() at load_exec start */
	unsigned host_bits;
	int bad;
};

static void pattern(const struct dunit *u, uint8_t *buf)
{
	tu_fill(buf, u->len, u->seed);
	/* A zero page in the larger ones. */
	if (u->len >= 3 * 4096)
		memset(buf + 4096, 0, 4096);
}

static int d_save_exec(void *ctx, ssm_handle *h)
{
	struct dunit *u = ctx;
	uint8_t *buf = tu_xmalloc(u->len);
	int rc;

	pattern(u, buf);
	rc = ssm_put_u32(h, (uint32_t)u->len);
	rc = rc ? rc : ssm_put_mem(h, buf, u->len);
	rc = rc ? rc : ssm_put_str(h, u->name);
	free(buf);
	return rc;
}

static int d_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct dunit *u = ctx;
	uint8_t *want, *got;
	char name[SSM_NAME_MAX + 1];
	uint32_t n = 0;
	int rc;

	(void)pass;
	u->load_calls++;
	u->version = version;
	u->remaining0 = ssm_handle_remaining(h);
	u->host_bits = ssm_handle_host_bits(h);
	if (u->mode == LD_SETERR)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "register %s holds %d", "cr0", 99);
	rc = ssm_get_u32(h, &n);
	if (rc || u->mode == LD_LESS)
		return rc;
	if (n != u->len) {
		u->bad++;
		return SSM_ERR_LOAD_VALUE;
	}
	want = tu_xmalloc(u->len);
	got = tu_xmalloc(u->len + 1);
	pattern(u, want);
	rc = ssm_get_mem(h, got, u->len);
	if (!rc && memcmp(got, want, u->len))
		u->bad++;
	if (!rc)
		rc = ssm_get_str(h, name, sizeof(name), NULL);
	if (!rc && strcmp(name, u->name))
		u->bad++;
	if (!rc && u->mode == LD_MORE) {
		uint8_t b;

		rc = ssm_get_u8(h, &b);
	}
	free(want);
	free(got);
	return rc;
}

static int d_load_done(void *ctx, ssm_handle *h)
{
	struct dunit *u = ctx;

	u->done_calls++;
	u->loaded_in_done = ssm_handle_unit_loaded(h);
	return SSM_OK;
}

static const ssm_callbacks d_cb = {
	.save_exec = d_save_exec, .load_exec = d_load_exec, .load_done = d_load_done,
};

static void dunit_init(struct dunit *u, const char *name, uint32_t instance, size_t len)
{
	memset(u, 0, sizeof(*u));
	u->name = name;
	u->instance = instance;
	u->len = len;
	u->seed = (uint64_t)(uint8_t)name[0] * 1000 + instance + len;
}

static void add(ssm *s, struct dunit *u, uint32_t version, uint32_t flags)
{
	cr_assert_eq(ssm_register_external(s, u->name, u->instance, version, u->len, NULL,
					   flags, &d_cb, u), SSM_OK);
}

static ssm *reg_of(struct dunit **units, size_t n)
{
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		add(s, units[i], 1, 0);
	return s;
}

static void save_mem(ssm *s, int level, bool seekable, void **buf, size_t *len)
{
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = level };

	cr_assert_eq(tu_save(s, &so, seekable, buf, len), SSM_OK, "save: %s",
		     ssm_last_error(s));
}

static bool has(const char *msg, const char *what)
{
	return strstr(msg, what) != NULL;
}

/* ---- Unknown, optional and absent units ------------------------------------ */

Test(load, unknown_unit_fails_and_is_named)
{
	struct dunit a, x, b;
	struct dunit *saved[] = { &a, &x, &b }, *known[] = { &a, &b };
	ssm *s1, *s2;
	void *buf;
	size_t len;
	const char *msg;

	dunit_init(&a, "alpha", 0, 100);
	dunit_init(&x, "xray", 3, 5000);
	dunit_init(&b, "bravo", 0, 100);
	s1 = reg_of(saved, 3);
	save_mem(s1, 0, true, &buf, &len);
	s2 = reg_of(known, 2);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_ERR_UNKNOWN_UNIT);
	msg = ssm_last_error(s2);
	cr_assert(has(msg, "'xray'") && has(msg, "instance 3") && has(msg, "offset"), "'%s'",
		  msg);
	cr_assert_eq(a.load_calls, 1);
	cr_assert_eq(b.load_calls, 0);
	cr_assert_eq(a.done_calls, 1);
	cr_assert_eq(b.done_calls, 1);
	cr_assert(a.loaded_in_done);
	cr_assert(!b.loaded_in_done);
	free(buf);
	ssm_destroy(s1);
	ssm_destroy(s2);
}

Test(load, skip_unknown_loads_the_rest)
{
	static const int levels[] = { 0, 6 };
	struct dunit a, x0, x1, b;
	struct dunit *saved[] = { &a, &x0, &x1, &b }, *known[] = { &a, &b };
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .skip_unknown = true };
	ssm *s1, *s2;

	dunit_init(&a, "alpha", 0, 300);
	dunit_init(&x0, "xray", 0, 3 * 1024 * 1024 + 5);   /* several records */
	dunit_init(&x1, "xray", 1, 4096 * 3);
	dunit_init(&b, "bravo", 0, 300);
	s1 = reg_of(saved, 4);
	s2 = reg_of(known, 2);
	for (size_t i = 0; i < 2; i++) {
		void *buf;
		size_t len;

		save_mem(s1, levels[i], i == 0, &buf, &len);
		a.load_calls = b.load_calls = 0;
		cr_assert_eq(tu_load(s2, buf, len, &lo), SSM_OK, "%s", ssm_last_error(s2));
		cr_assert_eq(a.load_calls, 1);
		cr_assert_eq(b.load_calls, 1);
		cr_assert_eq(a.bad + b.bad, 0);
		cr_assert(a.loaded_in_done && b.loaded_in_done);
		free(buf);
	}
	ssm_destroy(s1);
	ssm_destroy(s2);
}

Test(load, unknown_optional_unit_is_skipped_silently)
{
	struct dunit a, o, b, y;
	ssm *s1 = ssm_create(NULL), *s2;
	struct dunit *known[] = { &a, &b };
	void *buf;
	size_t len;
	ssm_handle *oh;
	ssm_unit_info ui;

	dunit_init(&a, "alpha", 0, 64);
	dunit_init(&o, "opt", 0, 9000);
	dunit_init(&b, "bravo", 0, 64);
	dunit_init(&y, "yankee", 0, 8);
	add(s1, &a, 1, 0);
	add(s1, &o, 1, SSM_UNIT_OPTIONAL);
	add(s1, &b, 1, 0);
	save_mem(s1, 0, true, &buf, &len);
	s2 = reg_of(known, 2);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_OK, "%s", ssm_last_error(s2));
	cr_assert_str_eq(ssm_last_error(s2), "");
	cr_assert_eq(a.load_calls + b.load_calls, 2);
	cr_assert_eq(a.bad + b.bad, 0);
	/* The directory carries the flag. */
	cr_assert_eq(ssm_open(tu_reader(buf, len, true), &oh), SSM_OK);
	cr_assert_eq(ssm_unit_info_get(oh, 1, &ui), SSM_OK);
	cr_assert_str_eq(ui.name, "opt");
	cr_assert_eq(ui.flags, SSM_UNIT_OPTIONAL);
	cr_assert_eq(ssm_unit_info_get(oh, 0, &ui), SSM_OK);
	cr_assert_eq(ui.flags, 0);
	ssm_close(oh);
	free(buf);

	/* A non-optional unknown unit after it still fails. */
	add(s1, &y, 1, 0);
	save_mem(s1, 0, true, &buf, &len);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_ERR_UNKNOWN_UNIT);
	cr_assert(has(ssm_last_error(s2), "'yankee'"), "'%s'", ssm_last_error(s2));
	free(buf);
	ssm_destroy(s1);
	ssm_destroy(s2);
}

Test(load, absent_unit_gets_done_with_not_loaded)
{
	struct dunit a, b, c;
	struct dunit *saved[] = { &a, &c }, *all[] = { &a, &b, &c };
	ssm *s1, *s2;
	void *buf;
	size_t len;

	dunit_init(&a, "alpha", 0, 10);
	dunit_init(&b, "bravo", 0, 10);
	dunit_init(&c, "charlie", 0, 10);
	s1 = reg_of(saved, 2);
	save_mem(s1, 0, true, &buf, &len);
	s2 = reg_of(all, 3);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_OK, "%s", ssm_last_error(s2));
	cr_assert_eq(b.load_calls, 0);
	cr_assert_eq(a.done_calls + b.done_calls + c.done_calls, 3);
	cr_assert(a.loaded_in_done);
	cr_assert(!b.loaded_in_done, "absent unit claims to be loaded");
	cr_assert(c.loaded_in_done);
	/* Loading again starts from a clean slate. */
	ssm_destroy(s1);
	s1 = ssm_create(NULL);
	free(buf);
	save_mem(s1, 0, true, &buf, &len);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_OK);
	cr_assert(!a.loaded_in_done && !b.loaded_in_done && !c.loaded_in_done);
	free(buf);
	ssm_destroy(s1);
	ssm_destroy(s2);
}

Test(load, instances_get_their_own_data)
{
	struct dunit u[3];
	ssm *s1 = ssm_create(NULL), *s2 = ssm_create(NULL);
	void *buf;
	size_t len;

	for (uint32_t i = 0; i < 3; i++) {
		dunit_init(&u[i], "multi", i, 50 + i);
		add(s1, &u[i], 1, 0);
	}
	for (int i = 2; i >= 0; i--)
		add(s2, &u[i], 1, 0);
	save_mem(s1, 0, true, &buf, &len);
	cr_assert_eq(tu_load(s2, buf, len, NULL), SSM_OK, "%s", ssm_last_error(s2));
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(u[i].load_calls, 1);
		cr_assert_eq(u[i].bad, 0, "instance %d got another instance's data", i);
	}
	free(buf);
	ssm_destroy(s1);
	ssm_destroy(s2);
}

/* ---- Reading too much or too little; load errors -------------------------- */

static void one_unit_load(enum ld_mode mode, int want_rc, const char *const *want_msg)
{
	struct dunit a, b;
	struct dunit *units[] = { &a, &b };
	ssm *s;
	void *buf;
	size_t len;
	const char *msg;

	dunit_init(&a, "alpha", 0, 5000);
	dunit_init(&b, "bravo", 0, 10);
	s = reg_of(units, 2);
	save_mem(s, 0, true, &buf, &len);
	a.mode = mode;
	cr_assert_eq(tu_load(s, buf, len, NULL), want_rc, "mode %d", mode);
	msg = ssm_last_error(s);
	for (; *want_msg; want_msg++)
		cr_assert(has(msg, *want_msg), "message '%s' lacks '%s'", msg, *want_msg);
	cr_assert_eq(b.load_calls, 0, "loading went on after a failed unit");
	cr_assert_eq(a.done_calls + b.done_calls, 2);
	free(buf);
	ssm_destroy(s);
}

Test(load, reading_past_end_fails)
{
	static const char *const m[] = { "'alpha'", "offset", NULL };

	one_unit_load(LD_MORE, SSM_ERR_READ_PAST_END, m);
}

Test(load, leaving_data_unread_fails)
{
	static const char *const m[] = { "'alpha'", "offset", NULL };

	one_unit_load(LD_LESS, SSM_ERR_DATA_LEFT, m);
}

Test(load, set_load_error_message_reaches_last_error)
{
	static const char *const m[] = { "'alpha'", "register cr0 holds 99", NULL };

	one_unit_load(LD_SETERR, SSM_ERR_LOAD_VALUE, m);
}

Test(load, saved_data_without_load_exec_fails)
{
	static const ssm_callbacks save_only = { .save_exec = d_save_exec };
	struct dunit a;
	ssm *s = ssm_create(NULL);
	void *buf;
	size_t len;

	dunit_init(&a, "alpha", 0, 10);
	cr_assert_eq(ssm_register_external(s, "alpha", 0, 1, 0, NULL, 0, &save_only, &a),
		     SSM_OK);
	save_mem(s, 0, true, &buf, &len);
	cr_assert_lt(tu_load(s, buf, len, NULL), 0);
	cr_assert(has(ssm_last_error(s), "'alpha'"), "'%s'", ssm_last_error(s));
	free(buf);
	ssm_destroy(s);
}

/* ---- Handle queries while loading ------------------------------------------ */

Test(load, remaining_and_host_bits)
{
	struct dunit a;
	struct dunit *units[] = { &a };
	ssm_save_opts so32 = { SSM_SAVE_OPTS_INIT, .host_bits = 32 };
	ssm *s;
	void *buf;
	size_t len;

	dunit_init(&a, "alpha", 0, 10000);
	s = reg_of(units, 1);
	save_mem(s, 0, true, &buf, &len);
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_OK);
	cr_assert_eq(a.remaining0, 4 + 10000 + 4 + 5);
	cr_assert_eq(a.host_bits, sizeof(void *) * 8);
	free(buf);

	/* Through a pipe the length is not known up front. */
	save_mem(s, 0, false, &buf, &len);
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_eq(a.remaining0, UINT64_MAX);
	free(buf);

	cr_assert_eq(tu_save(s, &so32, true, &buf, &len), SSM_OK);
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_OK);
	cr_assert_eq(a.host_bits, 32);
	free(buf);
	ssm_destroy(s);
}

/* ---- Unit versions ----------------------------------------------------------- */

struct vunit {
	uint32_t my_version;      /* what this program's unit is */
	uint32_t a;
	uint64_t b;
	uint32_t got_version;
	int bad;
};

/* v1: u32 a, str "v1"; v2 and later: u32 a, u64 b, str "v2". */
static int v_save(void *ctx, ssm_handle *h)
{
	struct vunit *v = ctx;
	int rc = ssm_put_u32(h, v->a);

	if (!rc && v->my_version >= 2)
		rc = ssm_put_u64(h, v->b);
	return rc ? rc : ssm_put_str(h, v->my_version >= 2 ? "v2" : "v1");
}

static int v_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct vunit *v = ctx;
	char tag[4];
	int rc;

	(void)pass;
	v->got_version = version;
	if (version == 0 || version > v->my_version)
		return ssm_set_load_error(h, SSM_ERR_UNIT_VERSION,
					  "saved version %u is newer than %u", version,
					  v->my_version);
	rc = ssm_get_u32(h, &v->a);
	if (!rc && version >= 2)
		rc = ssm_get_u64(h, &v->b);
	else
		v->b = 0xdefau;     /* what v1 states get */
	rc = rc ? rc : ssm_get_str(h, tag, sizeof(tag), NULL);
	if (!rc && strcmp(tag, version >= 2 ? "v2" : "v1"))
		v->bad++;
	return rc;
}

static const ssm_callbacks v_cb = { .save_exec = v_save, .load_exec = v_load };

static void save_version(uint32_t ver, void **buf, size_t *len)
{
	struct vunit v = { .my_version = ver, .a = 100 + ver, .b = 0x1122334455667788ull };
	ssm *s = ssm_create(NULL);

	cr_assert_eq(ssm_register_device(s, &v, "vdev", 0, ver, 0, NULL, 0, &v_cb), SSM_OK);
	save_mem(s, 0, true, buf, len);
	ssm_destroy(s);
}

Test(load, older_unit_version_loads_newer_is_refused)
{
	struct vunit v = { .my_version = 2 };
	ssm *s = ssm_create(NULL);
	void *f1, *f2, *f3;
	size_t l1, l2, l3;

	save_version(1, &f1, &l1);
	save_version(2, &f2, &l2);
	save_version(3, &f3, &l3);
	cr_assert_eq(ssm_register_device(s, &v, "vdev", 0, 2, 0, NULL, 0, &v_cb), SSM_OK);

	cr_assert_eq(tu_load(s, f1, l1, NULL), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_eq(v.got_version, 1);
	cr_assert_eq(v.a, 101);
	cr_assert_eq(v.b, 0xdefau);

	cr_assert_eq(tu_load(s, f2, l2, NULL), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_eq(v.got_version, 2);
	cr_assert_eq(v.a, 102);
	cr_assert_eq(v.b, 0x1122334455667788ull);

	cr_assert_eq(tu_load(s, f3, l3, NULL), SSM_ERR_UNIT_VERSION);
	cr_assert_eq(v.got_version, 3);
	cr_assert(has(ssm_last_error(s), "'vdev'"), "'%s'", ssm_last_error(s));
	cr_assert(has(ssm_last_error(s), "newer"), "'%s'", ssm_last_error(s));
	cr_assert_eq(v.bad, 0);
	free(f1);
	free(f2);
	free(f3);
	ssm_destroy(s);
}

/* ---- Random access ------------------------------------------------------------- */

#define NUNITS 100

struct hundred {
	char names[NUNITS][16];
	struct dunit u[NUNITS];
};

static ssm *hundred_reg(struct hundred *hu)
{
	ssm *s = ssm_create(NULL);

	for (int i = 0; i < NUNITS; i++) {
		snprintf(hu->names[i], sizeof(hu->names[i]), "u%d", i);
		dunit_init(&hu->u[i], hu->names[i], 0, (size_t)i * 37);
		add(s, &hu->u[i], 10 + (uint32_t)i, 0);
	}
	return s;
}

static void check_hundred_open(struct hundred *hu, ssm_stream st, size_t file_len)
{
	ssm_handle *h = NULL;
	ssm_file_info fi;
	ssm_unit_info ui;
	uint64_t prev = 0;
	uint32_t ver = 0;
	uint8_t b;

	cr_assert_eq(ssm_open(st, &h), SSM_OK, "%s", ssm_handle_error(h));
	cr_assert_eq(ssm_file_info_get(h, &fi), SSM_OK);
	cr_assert_eq(fi.unit_count, NUNITS);
	cr_assert_eq(fi.major, 1);
	cr_assert_eq(fi.minor, 1);          /* libssm writes format 1.1 */
	cr_assert_eq(fi.page_size, 4096);
	cr_assert_eq(fi.host_bits, sizeof(void *) * 8);
	cr_assert(fi.little_endian);
	cr_assert_eq(fi.file_size, file_len);
	cr_assert_neq(fi.build_id[0], 0);
	for (uint32_t i = 0; i < NUNITS; i++) {
		cr_assert_eq(ssm_unit_info_get(h, i, &ui), SSM_OK);
		cr_assert_str_eq(ui.name, hu->names[i]);
		cr_assert_eq(ui.instance, 0);
		cr_assert_eq(ui.version, 10 + i);
		cr_assert_eq(ui.pass, SSM_PASS_FINAL);
		cr_assert_eq(ui.data_len, 4 + i * 37 + 4 + strlen(hu->names[i]));
		cr_assert_gt(ui.offset, prev);
		prev = ui.offset;
	}
	cr_assert_eq(ssm_unit_info_get(h, NUNITS, &ui), SSM_ERR_INVALID_ARG);

	/* Seek around, backwards too, and read each unit's data. */
	static const int order[] = { 57, 3, 99, 0, 57 };
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		struct dunit *u = &hu->u[order[k]];

		ver = 0;
		u->bad = 0;
		cr_assert_eq(ssm_seek(h, u->name, 0, &ver), SSM_OK, "%s: %s", u->name,
			     ssm_handle_error(h));
		cr_assert_eq(ver, 10 + (uint32_t)order[k]);
		cr_assert_eq(d_load_exec(u, h, ver, SSM_PASS_FINAL), SSM_OK, "%s: %s", u->name,
			     ssm_handle_error(h));
		cr_assert_eq(u->bad, 0, "%s: wrong data after seek", u->name);
	}
	/* Past the unit's end, then another seek still works. */
	cr_assert_eq(ssm_get_u8(h, &b), SSM_ERR_READ_PAST_END);
	cr_assert_eq(ssm_seek(h, "u100", 0, NULL), SSM_ERR_NO_SUCH_UNIT);
	cr_assert(has(ssm_handle_error(h), "u100"), "'%s'", ssm_handle_error(h));
	cr_assert_eq(ssm_seek(h, "u5", 1, NULL), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_seek(h, "u42", 0, NULL), SSM_OK, "%s", ssm_handle_error(h));
	hu->u[42].bad = 0;
	cr_assert_eq(d_load_exec(&hu->u[42], h, 52, SSM_PASS_FINAL), SSM_OK);
	cr_assert_eq(hu->u[42].bad, 0);
	ssm_close(h);
}

/* Temporary directory of the running test; removed by its .fini even when
 * an assertion ends the test early. */
static char dir[64];

static void rm_dir(void)
{
	if (dir[0])
		tu_rmdir(dir);
}

Test(load, seek_in_a_hundred_unit_file, .fini = rm_dir)
{
	struct hundred *hu = tu_xmalloc(sizeof(*hu));
	char path[128], msg[256];
	ssm_stream st;
	void *buf;
	size_t len;
	ssm *s = hundred_reg(hu);

	tu_mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/hundred.sav", dir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	buf = tu_read_file(path, &len);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	check_hundred_open(hu, st, len);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	cr_assert_eq(ssm_validate(st, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	cr_assert_eq(ssm_load(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	for (int i = 0; i < NUNITS; i++)
		cr_assert_eq(hu->u[i].bad, 0);
	/* Open needs a seekable stream. */
	{
		ssm_handle *h = NULL;

		cr_assert_eq(ssm_open(tu_reader(buf, len, false), &h), SSM_ERR_NOT_SUPPORTED);
		ssm_close(h);
	}
	free(buf);
	ssm_destroy(s);
	free(hu);
}

/* A pipe cannot seek, so the unit headers carry no length; the result must
 * still open, seek, validate and load. */
struct drain {
	int fd;
	struct tu_bytes got;
};

static void *drain_thread(void *arg)
{
	struct drain *d = arg;
	uint8_t buf[65536];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
		if (d->got.len + (size_t)n > d->got.cap) {
			size_t cap = d->got.cap ? d->got.cap * 2 : 65536;

			while (cap < d->got.len + (size_t)n)
				cap *= 2;
			d->got.p = realloc(d->got.p, cap);
			if (!d->got.p)
				return NULL;
			d->got.cap = cap;
		}
		memcpy(d->got.p + d->got.len, buf, (size_t)n);
		d->got.len += (size_t)n;
	}
	return NULL;
}

Test(load, file_written_through_a_pipe)
{
	struct hundred *hu = tu_xmalloc(sizeof(*hu));
	struct drain d = { 0 };
	pthread_t th;
	ssm_stream st;
	int fds[2];
	char msg[256];
	void *seekbuf;
	size_t seeklen;
	ssm *s = hundred_reg(hu);

	cr_assert_eq(pipe(fds), 0);
	d.fd = fds[0];
	cr_assert_eq(pthread_create(&th, NULL, drain_thread, &d), 0);
	cr_assert_eq(ssm_stream_fd(&st, fds[1], true), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	pthread_join(th, NULL);
	close(fds[0]);
	cr_assert_not_null(d.got.p);

	/* Unit headers say "length unknown". */
	cr_assert_eq(memcmp(d.got.p + SSMF_FILE_HDR_SIZE, SSMF_UNIT_MAGIC, 8), 0);
	cr_assert_eq(le64_get(d.got.p + SSMF_FILE_HDR_SIZE + SSMF_UNIT_DATA_LEN_OFF),
		     SSMF_DATA_LEN_UNKNOWN);
	/* Same size as the seekable version. */
	save_mem(s, 0, true, &seekbuf, &seeklen);
	cr_assert_eq(d.got.len, seeklen);
	cr_assert_eq(le64_get((uint8_t *)seekbuf + SSMF_FILE_HDR_SIZE + SSMF_UNIT_DATA_LEN_OFF),
		     4 + 0 + 4 + 2);

	cr_assert_eq(tu_validate(d.got.p, d.got.len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(ssm_validate(tu_reader(d.got.p, d.got.len, false), msg, sizeof(msg)),
		     SSM_OK, "%s", msg);
	check_hundred_open(hu, tu_reader(d.got.p, d.got.len, true), d.got.len);
	cr_assert_eq(ssm_load(s, tu_reader(d.got.p, d.got.len, false), NULL), SSM_OK, "%s",
		     ssm_last_error(s));
	for (int i = 0; i < NUNITS; i++)
		cr_assert_eq(hu->u[i].bad, 0);
	free(seekbuf);
	tu_bytes_free(&d.got);
	ssm_destroy(s);
	free(hu);
}

/* ---- validate --------------------------------------------------------------------- */

Test(load, validate_accepts_good_files)
{
	struct dunit a, b;
	struct dunit *units[] = { &a, &b };
	char msg[256];
	void *buf;
	size_t len;
	ssm *s = ssm_create(NULL);

	/* No units at all. */
	save_mem(s, 0, true, &buf, &len);
	strcpy(msg, "junk");
	cr_assert_eq(tu_validate(buf, len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_str_eq(msg, "");
	cr_assert_eq(tu_load(s, buf, len, NULL), SSM_OK);
	free(buf);
	ssm_destroy(s);

	dunit_init(&a, "alpha", 0, 2 * 1024 * 1024 + 3);
	dunit_init(&b, "bravo", 7, 0);
	s = reg_of(units, 2);
	for (int level = 0; level <= 9; level += 3) {
		for (int seekable = 0; seekable < 2; seekable++) {
			save_mem(s, level, seekable, &buf, &len);
			cr_assert_eq(tu_validate(buf, len, msg, sizeof(msg)), SSM_OK,
				     "level %d: %s", level, msg);
			/* validate needs no registry, and a NULL msg is fine. */
			cr_assert_eq(tu_validate(buf, len, NULL, 0), SSM_OK);
			free(buf);
		}
	}
	ssm_destroy(s);
}

Test(load, garbage_and_empty_streams)
{
	static const char junk[] = "this is not a saved state, not even close......"
				   "................................................";
	char msg[256];
	ssm *s = ssm_create(NULL);

	cr_assert_eq(tu_load(s, junk, sizeof(junk), NULL), SSM_ERR_BAD_MAGIC);
	cr_assert_str_neq(ssm_last_error(s), "");
	cr_assert_eq(tu_validate(junk, sizeof(junk), msg, sizeof(msg)), SSM_ERR_BAD_MAGIC);
	cr_assert_str_neq(msg, "");
	cr_assert_eq(tu_load(s, junk, 0, NULL), SSM_ERR_TRUNCATED);
	cr_assert(has(ssm_last_error(s), "offset 0"), "'%s'", ssm_last_error(s));
	cr_assert_eq(tu_validate(junk, 0, msg, sizeof(msg)), SSM_ERR_TRUNCATED);
	ssm_destroy(s);
}

/* ---- Cancellation and concurrency -------------------------------------------------- */

struct spin {
	ssm *s;
	atomic_int started;       /* set by the callback once it runs */
	atomic_int other_done;    /* set by the other thread when finished */
	int cancel_rc, save_rc, load_rc;
	long puts;
};

static bool wait_flag(atomic_int *f, double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(f)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			return false;
		usleep(200);
	}
	return true;
}

/* Puts data until a put fails (the cancel), with a generous safety cap. */
static int endless_save(void *ctx, ssm_handle *h)
{
	struct spin *sp = ctx;
	uint8_t buf[65536];
	int rc = SSM_OK;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	atomic_store(&sp->started, 1);
	for (sp->puts = 0; !rc && sp->puts < 200000; sp->puts++)
		rc = ssm_put_mem(h, buf, sizeof(buf));
	return rc;
}

static void *cancel_thread(void *arg)
{
	struct spin *sp = arg;

	if (wait_flag(&sp->started, 10))
		sp->cancel_rc = ssm_cancel(sp->s);
	atomic_store(&sp->other_done, 1);
	return NULL;
}

Test(load, cancel_save_from_another_thread, .timeout = 30, .fini = rm_dir)
{
	static const ssm_callbacks cb = { .save_exec = endless_save };
	struct spin sp = { .cancel_rc = 99 };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = 1 };
	char path[128];
	pthread_t th;
	ssm_stream st;
	int rc;

	tu_mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/cancel.sav", dir);
	sp.s = ssm_create(NULL);
	cr_assert_eq(ssm_register_external(sp.s, "endless", 0, 1, 0, NULL, 0, &cb, &sp), SSM_OK);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(pthread_create(&th, NULL, cancel_thread, &sp), 0);
	rc = ssm_save(sp.s, st, &so);
	pthread_join(th, NULL);
	cr_assert_eq(sp.cancel_rc, SSM_OK);
	cr_assert_eq(rc, SSM_ERR_CANCELLED, "save returned %d after %ld puts", rc, sp.puts);
	cr_assert_lt(sp.puts, 200000, "cancel was not noticed");
	cr_assert(has(ssm_last_error(sp.s), "cancel"), "'%s'", ssm_last_error(sp.s));
	cr_assert_eq(access(path, F_OK), -1, "a cancelled save left its file");
	cr_assert_eq(tu_dir_entries(dir), 0, "a cancelled save left a temporary file");
	/* The cancel does not stick to the next operation. */
	cr_assert_eq(ssm_deregister_external(sp.s, "endless", 0), SSM_OK);
	cr_assert_eq(ssm_cancel(sp.s), SSM_ERR_BAD_STATE);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_save(sp.s, st, NULL), SSM_OK, "%s", ssm_last_error(sp.s));
	cr_assert_eq(access(path, F_OK), 0);
	ssm_destroy(sp.s);
}

/* Load: the first unit waits for the cancel; the load stops there. */
static int waiting_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct spin *sp = ctx;
	uint32_t v;
	int rc = ssm_get_u32(h, &v);

	(void)version;
	(void)pass;
	atomic_store(&sp->started, 1);
	for (int i = 0; i < 50000 && !ssm_handle_cancelled(h); i++)
		usleep(100);
	return rc;
}

static int small_save(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, 5);
}

Test(load, cancel_load_from_another_thread, .timeout = 30)
{
	static const ssm_callbacks cb = { .save_exec = small_save, .load_exec = waiting_load };
	struct spin sp = { .cancel_rc = 99 };
	pthread_t th;
	void *buf;
	size_t len;
	int rc;

	sp.s = ssm_create(NULL);
	cr_assert_eq(ssm_register_external(sp.s, "first", 0, 1, 0, NULL, 0, &cb, &sp), SSM_OK);
	cr_assert_eq(ssm_register_external(sp.s, "second", 0, 1, 0, NULL, 0, &cb, &sp), SSM_OK);
	save_mem(sp.s, 0, true, &buf, &len);
	cr_assert_eq(pthread_create(&th, NULL, cancel_thread, &sp), 0);
	rc = tu_load(sp.s, buf, len, NULL);
	pthread_join(th, NULL);
	cr_assert_eq(sp.cancel_rc, SSM_OK);
	cr_assert_eq(rc, SSM_ERR_CANCELLED, "load returned %d", rc);
	/* And the next load is not cancelled. */
	atomic_store(&sp.started, 0);
	cr_assert_eq(ssm_deregister_external(sp.s, "first", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_external(sp.s, "second", 0), SSM_OK);
	cr_assert_eq(tu_load(sp.s, buf, len, (ssm_load_opts[]){ { SSM_LOAD_OPTS_INIT, .skip_unknown = true } }),
		     SSM_OK, "%s", ssm_last_error(sp.s));
	free(buf);
	ssm_destroy(sp.s);
}

/* The save callback holds the registry busy until the other thread has
 * tried its own operations. */
static int blocking_save(void *ctx, ssm_handle *h)
{
	struct spin *sp = ctx;

	atomic_store(&sp->started, 1);
	wait_flag(&sp->other_done, 10);
	return ssm_put_u32(h, 1);
}

static void *intruder_thread(void *arg)
{
	struct spin *sp = arg;

	if (wait_flag(&sp->started, 10)) {
		ssm_stream st;
		static const uint8_t nothing[1];

		if (ssm_stream_mem_writer(&st) == SSM_OK)
			sp->save_rc = ssm_save(sp->s, st, NULL);
		sp->load_rc = ssm_load(sp->s, tu_reader(nothing, 0, true), NULL);
	}
	atomic_store(&sp->other_done, 1);
	return NULL;
}

Test(load, second_concurrent_operation_is_refused, .timeout = 30)
{
	static const ssm_callbacks cb = { .save_exec = blocking_save };
	struct spin sp = { .save_rc = 99, .load_rc = 99 };
	pthread_t th;
	void *buf;
	size_t len;

	sp.s = ssm_create(NULL);
	cr_assert_eq(ssm_register_external(sp.s, "busy", 0, 1, 0, NULL, 0, &cb, &sp), SSM_OK);
	cr_assert_eq(pthread_create(&th, NULL, intruder_thread, &sp), 0);
	cr_assert_eq(tu_save(sp.s, NULL, true, &buf, &len), SSM_OK, "%s", ssm_last_error(sp.s));
	pthread_join(th, NULL);
	cr_assert_eq(sp.save_rc, SSM_ERR_BAD_STATE);
	cr_assert_eq(sp.load_rc, SSM_ERR_BAD_STATE);
	/* The refused operations did not disturb the one running. */
	cr_assert_eq(tu_validate(buf, len, NULL, 0), SSM_OK);
	free(buf);
	ssm_destroy(sp.s);
}

/* The same from inside a callback, on the operation's own thread. */
static int reentrant_save(void *ctx, ssm_handle *h)
{
	struct spin *sp = ctx;
	ssm_stream st;

	cr_expect_eq(ssm_stream_mem_writer(&st), SSM_OK);
	sp->save_rc = ssm_save(sp->s, st, NULL);
	sp->load_rc = ssm_load(sp->s, tu_reader(&st, 0, true), NULL);
	sp->cancel_rc = ssm_deregister_external(sp->s, "re", 0);
	return ssm_put_u32(h, 1);
}

Test(load, nested_operation_is_refused)
{
	static const ssm_callbacks cb = { .save_exec = reentrant_save };
	struct spin sp = { .save_rc = 99, .load_rc = 99 };
	void *buf;
	size_t len;

	sp.s = ssm_create(NULL);
	cr_assert_eq(ssm_register_external(sp.s, "re", 0, 1, 0, NULL, 0, &cb, &sp), SSM_OK);
	cr_assert_eq(tu_save(sp.s, NULL, true, &buf, &len), SSM_OK);
	cr_assert_eq(sp.save_rc, SSM_ERR_BAD_STATE);
	cr_assert_eq(sp.load_rc, SSM_ERR_BAD_STATE);
	cr_assert_eq(sp.cancel_rc, SSM_ERR_BAD_STATE, "deregistering during a save");
	free(buf);
	ssm_destroy(sp.s);
}
