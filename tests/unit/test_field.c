/* test_field.c - ssm_put_struct()/ssm_get_struct() through a real save and
 * load: a tiny external unit puts a struct in save_exec and gets it back (or
 * dumps the raw unit bytes) in load_exec. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"

#define BEGIN_MARKER 0x5e55a1b0u
#define END_MARKER   0x5e55a1edu
#define UNIT_NAME    "field-test"

/* ---- Harness --------------------------------------------------------------- */

typedef int (*raw_put_fn)(ssm_handle *h, void *arg);

struct unit {
	/* Save side: put_struct with these, or sv_raw to hand-craft the data. */
	const void *sv;
	size_t sv_size;
	uint32_t sv_flags;
	const ssm_field *sv_fields;
	void *sv_user;
	raw_put_fn sv_raw;
	void *sv_raw_arg;
	int sv_rc;
	bool sv_called;

	/* Load side: get_struct with these, or ld_raw to dump the unit data. */
	void *ld;
	size_t ld_size;
	uint32_t ld_flags;
	const ssm_field *ld_fields;
	void *ld_user;
	bool ld_raw;
	uint8_t raw[4096];
	int ld_rc;
	bool ld_called;
	uint64_t ld_total;        /* unit data bytes */
	uint64_t ld_left;         /* left after get_struct */
	unsigned ld_host_bits;
};

static int save_exec(void *ctx, ssm_handle *h)
{
	struct unit *u = ctx;

	u->sv_called = true;
	if (u->sv_raw)
		u->sv_rc = u->sv_raw(h, u->sv_raw_arg);
	else
		u->sv_rc = ssm_put_struct(h, u->sv, u->sv_size, u->sv_flags,
					  u->sv_fields, u->sv_user);
	return u->sv_rc;
}

static int load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct unit *u = ctx;

	(void)version;
	(void)pass;
	u->ld_called = true;
	u->ld_host_bits = ssm_handle_host_bits(h);
	u->ld_total = ssm_handle_remaining(h);
	if (u->ld_raw) {
		cr_assert_leq(u->ld_total, sizeof(u->raw));
		u->ld_rc = ssm_get_mem(h, u->raw, (size_t)u->ld_total);
		return u->ld_rc;
	}
	u->ld_rc = ssm_get_struct(h, u->ld, u->ld_size, u->ld_flags,
				  u->ld_fields, u->ld_user);
	u->ld_left = ssm_handle_remaining(h);
	if (u->ld_rc)
		return u->ld_rc;
	/* Tests that read less on purpose check ld_left themselves. */
	return ssm_skip_to_end(h);
}

static const ssm_callbacks unit_cb = {
	.save_exec = save_exec,
	.load_exec = load_exec,
};

/* ssm_save() closes its stream, which frees a plain mem writer; this wrapper
 * takes the bytes out just before that close. */
struct capture {
	ssm_stream inner;
	void *buf;
	size_t len;
	bool closed_ok;
};

static int cap_write(void *user, const void *buf, size_t n)
{
	struct capture *c = user;

	return c->inner.ops->write(c->inner.user, buf, n);
}

static int cap_read(void *user, void *buf, size_t n, size_t *got)
{
	struct capture *c = user;

	return c->inner.ops->read(c->inner.user, buf, n, got);
}

static int cap_seek(void *user, uint64_t off)
{
	struct capture *c = user;

	return c->inner.ops->seek(c->inner.user, off);
}

static int cap_tell(void *user, uint64_t *off)
{
	struct capture *c = user;

	return c->inner.ops->tell(c->inner.user, off);
}

static int cap_size(void *user, uint64_t *size)
{
	struct capture *c = user;

	return c->inner.ops->size(c->inner.user, size);
}

static int cap_is_ok(void *user)
{
	struct capture *c = user;

	return c->inner.ops->is_ok(c->inner.user);
}

static int cap_close(void *user, bool ok)
{
	struct capture *c = user;
	int rc = SSM_OK;

	c->closed_ok = ok;
	if (ok)
		rc = ssm_stream_mem_take(&c->inner, &c->buf, &c->len);
	ssm_stream_close(&c->inner, ok);
	return rc;
}

static const ssm_stream_ops cap_ops = {
	.write = cap_write,
	.read = cap_read,
	.seek = cap_seek,
	.tell = cap_tell,
	.size = cap_size,
	.is_ok = cap_is_ok,
	.close = cap_close,
};

struct run {
	ssm *s;
	struct unit *u;
	void *buf;
	size_t len;
	int save_rc, load_rc;
	char save_err[512], load_err[512];
};

static void run_init(struct run *r, struct unit *u)
{
	memset(r, 0, sizeof(*r));
	r->u = u;
	r->s = ssm_create(NULL);
	cr_assert_not_null(r->s);
	cr_assert_eq(ssm_register_external(r->s, UNIT_NAME, 0, 1, 64, NULL, 0,
					   &unit_cb, u), SSM_OK);
}

static void run_fini(struct run *r)
{
	free(r->buf);
	ssm_destroy(r->s);
}

/* Save with the unit's save side; host_bits 0 = this host. */
static int run_save(struct run *r, uint8_t host_bits)
{
	struct capture *c = calloc(1, sizeof(*c));
	ssm_save_opts opts = { .host_bits = host_bits };
	ssm_stream st;

	cr_assert_not_null(c);
	cr_assert_eq(ssm_stream_mem_writer(&c->inner), SSM_OK);
	st.ops = &cap_ops;
	st.user = c;
	r->save_rc = ssm_save(r->s, st, &opts);
	snprintf(r->save_err, sizeof(r->save_err), "%s", ssm_last_error(r->s));
	free(r->buf);
	r->buf = c->buf;
	r->len = c->len;
	free(c);
	return r->save_rc;
}

static int run_load(struct run *r)
{
	ssm_stream st;

	cr_assert_not_null(r->buf, "nothing saved");
	cr_assert_eq(ssm_stream_mem_reader(&st, r->buf, r->len), SSM_OK);
	r->load_rc = ssm_load(r->s, st, NULL);
	snprintf(r->load_err, sizeof(r->load_err), "%s", ssm_last_error(r->s));
	return r->load_rc;
}

/* Save u's save side and return the unit's raw data bytes in u->raw. */
static uint64_t save_and_dump(struct unit *u, uint8_t host_bits)
{
	struct run r;

	run_init(&r, u);
	cr_assert_eq(run_save(&r, host_bits), SSM_OK, "save: %s", r.save_err);
	cr_assert_eq(u->sv_rc, SSM_OK);
	u->ld_raw = true;
	cr_assert_eq(run_load(&r), SSM_OK, "load: %s", r.load_err);
	cr_assert(u->ld_called);
	u->ld_raw = false;
	run_fini(&r);
	return u->ld_total;
}

/* Save and load back through put/get_struct; returns the load status. */
static int round_trip(struct unit *u, uint8_t host_bits)
{
	struct run r;
	int rc;

	run_init(&r, u);
	cr_assert_eq(run_save(&r, host_bits), SSM_OK, "save: %s", r.save_err);
	cr_assert_eq(u->sv_rc, SSM_OK);
	rc = run_load(&r);
	cr_assert(u->ld_called);
	run_fini(&r);
	return rc;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void assert_bytes(const uint8_t *got, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: got 0x%02x want 0x%02x",
			     i, got[i], want[i]);
}

/* ---- SSM_FT_NONE: integers little-endian, other sizes raw ------------------ */

struct ints {
	uint8_t u8;
	int8_t s8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	char arr[3];
	uint8_t tail;
	int16_t s16;
};

static const ssm_field ints_fields[] = {
	SSM_FIELD(struct ints, u8),
	SSM_FIELD(struct ints, s8),
	SSM_FIELD(struct ints, u16),
	SSM_FIELD(struct ints, u32),
	SSM_FIELD(struct ints, u64),
	SSM_FIELD(struct ints, arr),
	SSM_FIELD(struct ints, tail),
	SSM_FIELD(struct ints, s16),
	SSM_FIELD_TERM()
};

static const struct ints ints_val = {
	.u8 = 0x11, .s8 = -2, .u16 = 0x2233, .u32 = 0x44556677,
	.u64 = 0x8899aabbccddeeffull, .arr = { 'x', 'y', 'z' }, .tail = 0x5a,
	.s16 = -300,
};

static const uint8_t ints_bytes[] = {
	0x11, 0xfe, 0x33, 0x22, 0x77, 0x66, 0x55, 0x44,
	0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
	'x', 'y', 'z', 0x5a, 0xd4, 0xfe,
};

Test(field, none_round_trip)
{
	struct unit u = { .sv = &ints_val, .sv_size = sizeof(ints_val),
			  .sv_fields = ints_fields, .ld_fields = ints_fields,
			  .ld_size = sizeof(struct ints) };
	struct ints out;

	memset(&out, 0, sizeof(out));
	u.ld = &out;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_OK);
	cr_assert_eq(out.u8, ints_val.u8);
	cr_assert_eq(out.s8, ints_val.s8);
	cr_assert_eq(out.u16, ints_val.u16);
	cr_assert_eq(out.u32, ints_val.u32);
	cr_assert_eq(out.u64, ints_val.u64);
	cr_assert_eq(memcmp(out.arr, ints_val.arr, 3), 0);
	cr_assert_eq(out.tail, ints_val.tail);
	cr_assert_eq(out.s16, ints_val.s16);
	cr_assert_eq(u.ld_left, 0);
}

Test(field, none_byte_layout_with_markers)
{
	struct unit u = { .sv = &ints_val, .sv_size = sizeof(ints_val),
			  .sv_fields = ints_fields };
	uint8_t want[4 + sizeof(ints_bytes) + 4];

	le32(want, BEGIN_MARKER);
	memcpy(want + 4, ints_bytes, sizeof(ints_bytes));
	le32(want + 4 + sizeof(ints_bytes), END_MARKER);
	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));
}

Test(field, none_byte_layout_no_markers)
{
	struct unit u = { .sv = &ints_val, .sv_size = sizeof(ints_val),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = ints_fields };

	cr_assert_eq(save_and_dump(&u, 0), sizeof(ints_bytes));
	assert_bytes(u.raw, ints_bytes, sizeof(ints_bytes));
}

Test(field, none_no_markers_round_trip)
{
	struct unit u = { .sv = &ints_val, .sv_size = sizeof(ints_val),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = ints_fields, .ld_fields = ints_fields,
			  .ld_flags = SSM_STRUCT_NO_MARKERS,
			  .ld_size = sizeof(struct ints) };
	struct ints out;

	memset(&out, 0, sizeof(out));
	u.ld = &out;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.u64, ints_val.u64);
	cr_assert_eq(out.s16, ints_val.s16);
	cr_assert_eq(u.ld_total, sizeof(ints_bytes));
}

/* A 16-byte member is neither u8/16/32/64: stored as its memory bytes. */
struct big {
	uint8_t blob[16];
};

Test(field, none_odd_size_raw)
{
	static const ssm_field f[] = { SSM_FIELD(struct big, blob), SSM_FIELD_TERM() };
	struct big in, out;
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = f,
			  .sv_flags = SSM_STRUCT_NO_MARKERS };

	for (int i = 0; i < 16; i++)
		in.blob[i] = (uint8_t)(0xa0 + i);
	cr_assert_eq(save_and_dump(&u, 0), 16);
	assert_bytes(u.raw, in.blob, 16);

	memset(&out, 0, sizeof(out));
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = f;
	u.ld_flags = SSM_STRUCT_NO_MARKERS;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(memcmp(out.blob, in.blob, 16), 0);
}

/* ---- GCPHYS / GCPTR ----------------------------------------------------------- */

struct guest {
	uint64_t phys;
	uint64_t virt;
	uint32_t small;
};

static const ssm_field guest_fields[] = {
	SSM_FIELD_GCPHYS(struct guest, phys),
	SSM_FIELD_GCPTR(struct guest, virt),
	SSM_FIELD_TERM()
};

Test(field, gcphys_gcptr)
{
	struct guest in = { .phys = 0x00000001fee00000ull,
			    .virt = 0xffffffff80001234ull, .small = 7 };
	struct guest out = { .small = 99 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = guest_fields };
	uint8_t want[16];

	le64(want, in.phys);
	le64(want + 8, in.virt);
	cr_assert_eq(save_and_dump(&u, 0), 16);
	assert_bytes(u.raw, want, 16);

	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = guest_fields;
	u.ld_flags = SSM_STRUCT_NO_MARKERS;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.phys, in.phys);
	cr_assert_eq(out.virt, in.virt);
	cr_assert_eq(out.small, 99);
}

Test(field, gcphys_gcptr_wrong_size)
{
	static const ssm_field bad_phys[] = {
		SSM_FIELD_GCPHYS(struct guest, small), SSM_FIELD_TERM() };
	static const ssm_field bad_ptr[] = {
		SSM_FIELD_GCPTR(struct guest, small), SSM_FIELD_TERM() };
	struct guest in = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = bad_phys };
	struct run r;

	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert_eq(u.sv_rc, SSM_ERR_INVALID_ARG);
	u.sv_fields = bad_ptr;
	run_save(&r, 0);
	cr_assert_eq(u.sv_rc, SSM_ERR_INVALID_ARG);
	run_fini(&r);
}

/* ---- HCPTR_NI ------------------------------------------------------------------ */

struct ptrs {
	void *set;
	void *null;
	uint32_t tag;
};

static const ssm_field ptrs_fields[] = {
	SSM_FIELD_HCPTR_NI(struct ptrs, set),
	SSM_FIELD_HCPTR_NI(struct ptrs, null),
	SSM_FIELD(struct ptrs, tag),
	SSM_FIELD_TERM()
};

Test(field, hcptr_ni_bool)
{
	int target;
	struct ptrs in = { .set = &target, .null = NULL, .tag = 0xabcd1234 };
	struct ptrs out = { .set = NULL, .null = &target, .tag = 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = ptrs_fields };
	const uint8_t want[] = { 1, 0, 0x34, 0x12, 0xcd, 0xab };

	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));

	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = ptrs_fields;
	u.ld_flags = SSM_STRUCT_NO_MARKERS;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.set, (void *)(uintptr_t)1);
	cr_assert_null(out.null);
	cr_assert_eq(out.tag, in.tag);
}

Test(field, hcptr_ni_dont_ignore_u64)
{
	int target;
	struct ptrs in = { .set = &target, .null = NULL, .tag = 0x01020304 };
	struct ptrs out = { .set = NULL, .null = &target, .tag = 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS | SSM_STRUCT_DONT_IGNORE,
			  .sv_fields = ptrs_fields };
	uint8_t want[8 + 8 + 4];

	le64(want, (uint64_t)(uintptr_t)&target);
	le64(want + 8, 0);
	le32(want + 16, in.tag);
	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));

	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = ptrs_fields;
	u.ld_flags = SSM_STRUCT_NO_MARKERS | SSM_STRUCT_DONT_IGNORE;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.set, (void *)(uintptr_t)1);
	cr_assert_null(out.null);
	cr_assert_eq(out.tag, in.tag);
}

Test(field, hcptr_ni_wrong_size)
{
	static const ssm_field bad[] = {
		SSM_FIELD_HCPTR_NI(struct ptrs, tag), SSM_FIELD_TERM() };
	struct ptrs in = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = bad };
	struct run r;

	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert_eq(u.sv_rc, SSM_ERR_INVALID_ARG);
	run_fini(&r);
}

static int put_bool_2(ssm_handle *h, void *arg)
{
	(void)arg;
	return ssm_put_u8(h, 2);
}

Test(field, hcptr_ni_bad_bool_propagates)
{
	static const ssm_field f[] = {
		SSM_FIELD_HCPTR_NI(struct ptrs, set), SSM_FIELD_TERM() };
	struct ptrs out = { .set = NULL };
	struct unit u = { .sv_raw = put_bool_2, .ld = &out,
			  .ld_size = sizeof(out), .ld_fields = f,
			  .ld_flags = SSM_STRUCT_NO_MARKERS };

	cr_assert_neq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_BAD_VALUE);
	cr_assert_null(out.set);
}

/* ---- IGNORE / HCPTR --------------------------------------------------------- */

struct ign {
	uint32_t a;
	uint8_t junk[6];
	void *host;
	uint16_t b;
};

static const ssm_field ign_fields[] = {
	SSM_FIELD(struct ign, a),
	SSM_FIELD_IGNORE(struct ign, junk),
	SSM_FIELD_HCPTR(struct ign, host),
	SSM_FIELD(struct ign, b),
	SSM_FIELD_TERM()
};

static void ign_check(uint32_t flags, size_t want_len)
{
	int target;
	struct ign in = { .a = 0x11223344, .junk = { 1, 2, 3, 4, 5, 6 },
			  .host = &target, .b = 0x5566 };
	struct ign out;
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = flags | SSM_STRUCT_NO_MARKERS,
			  .sv_fields = ign_fields };
	uint8_t want[4 + 6 + sizeof(void *) + 2];
	size_t n = 0;

	le32(want, in.a);
	n = 4;
	if (flags & SSM_STRUCT_DONT_IGNORE) {
		memset(want + n, 0, 6 + sizeof(void *));
		n += 6 + sizeof(void *);
	}
	want[n++] = 0x66;
	want[n++] = 0x55;
	cr_assert_eq(n, want_len);
	cr_assert_eq(save_and_dump(&u, 0), want_len);
	assert_bytes(u.raw, want, want_len);

	memset(&out, 0xa5, sizeof(out));
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = ign_fields;
	u.ld_flags = flags | SSM_STRUCT_NO_MARKERS;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_left, 0);
	cr_assert_eq(out.a, in.a);
	cr_assert_eq(out.b, in.b);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(out.junk[i], 0xa5, "ignored member written");
	for (size_t i = 0; i < sizeof(void *); i++)
		cr_assert_eq(((uint8_t *)&out.host)[i], 0xa5, "HCPTR member written");
}

Test(field, ignore_hcptr_absent)
{
	ign_check(0, 4 + 2);
}

Test(field, ignore_hcptr_dont_ignore_zeros)
{
	ign_check(SSM_STRUCT_DONT_IGNORE, 4 + 6 + sizeof(void *) + 2);
}

/* ---- PAD_HC ------------------------------------------------------------------- */

/* pad is 4 bytes on a 32-bit host and 8 on a 64-bit one, like a pointer. */
struct padded {
	uint32_t a;
	uint8_t pad[sizeof(void *)];
	uint32_t b;
};

static const ssm_field pad_fields[] = {
	SSM_FIELD(struct padded, a),
	SSM_FIELD_PAD_HC(struct padded, pad, 4, 8),
	SSM_FIELD(struct padded, b),
	SSM_FIELD_TERM()
};

Test(field, pad_hc_not_stored)
{
	struct padded in = { .a = 1, .pad = { 9, 9, 9, 9 }, .b = 2 };
	struct padded out;
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = pad_fields };
	uint8_t want[16];

	le32(want, BEGIN_MARKER);
	le32(want + 4, 1);
	le32(want + 8, 2);
	le32(want + 12, END_MARKER);
	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));

	memset(&out, 0x77, sizeof(out));
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = pad_fields;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.a, 1);
	cr_assert_eq(out.b, 2);
	for (size_t i = 0; i < sizeof(out.pad); i++)
		cr_assert_eq(out.pad[i], 0x77);
}

/* What a host with the given pointer width writes with DONT_IGNORE. */
static int put_padded_as(ssm_handle *h, void *arg)
{
	unsigned bits = *(unsigned *)arg;
	int rc = 0;

	rc |= ssm_put_u32(h, BEGIN_MARKER);
	rc |= ssm_put_u32(h, 0xaaaa0001);
	for (unsigned i = 0; i < (bits == 32 ? 4u : 8u); i++)
		rc |= ssm_put_u8(h, 0);
	rc |= ssm_put_u32(h, 0xbbbb0002);
	rc |= ssm_put_u32(h, END_MARKER);
	return rc ? SSM_ERR_IO : SSM_OK;
}

static void pad_load_from(unsigned bits)
{
	struct padded out;
	struct unit u = { .sv_raw = put_padded_as, .sv_raw_arg = &bits,
			  .ld = &out, .ld_size = sizeof(out),
			  .ld_fields = pad_fields,
			  .ld_flags = SSM_STRUCT_DONT_IGNORE };

	memset(&out, 0x77, sizeof(out));
	cr_assert_eq(round_trip(&u, (uint8_t)bits), SSM_OK);
	cr_assert_eq(u.ld_host_bits, bits, "stream does not claim %u bits", bits);
	cr_assert_eq(u.ld_total, 4 + 4 + bits / 8 + 4 + 4);
	cr_assert_eq(u.ld_rc, SSM_OK);
	cr_assert_eq(out.a, 0xaaaa0001);
	cr_assert_eq(out.b, 0xbbbb0002);
	for (size_t i = 0; i < sizeof(out.pad); i++)
		cr_assert_eq(out.pad[i], 0x77, "pad member written");
}

Test(field, pad_hc_load_32bit_stream)
{
	pad_load_from(32);
}

Test(field, pad_hc_load_64bit_stream)
{
	pad_load_from(64);
}

/* put_struct writes the pad size of the host the stream claims to be from. */
static void pad_round_trip(uint8_t bits, size_t want_total)
{
	struct padded in = { .a = 0x10203040, .b = 0x50607080 };
	struct padded out;
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_DONT_IGNORE,
			  .sv_fields = pad_fields,
			  .ld = &out, .ld_size = sizeof(out),
			  .ld_fields = pad_fields,
			  .ld_flags = SSM_STRUCT_DONT_IGNORE };

	memset(in.pad, 0x33, sizeof(in.pad));
	memset(&out, 0x77, sizeof(out));
	cr_assert_eq(round_trip(&u, bits), SSM_OK);
	cr_assert_eq(u.ld_total, want_total);
	cr_assert_eq(out.a, in.a);
	cr_assert_eq(out.b, in.b);
	for (size_t i = 0; i < sizeof(out.pad); i++)
		cr_assert_eq(out.pad[i], 0x77);
}

Test(field, pad_hc_dont_ignore_round_trip)
{
	pad_round_trip(0, 4 + 4 + sizeof(void *) + 4 + 4);
	pad_round_trip(32, 4 + 4 + 4 + 4 + 4);
	pad_round_trip(64, 4 + 4 + 8 + 4 + 4);
}

Test(field, pad_hc_dont_ignore_bytes_are_zero)
{
	struct padded in = { .a = 1, .b = 2 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_DONT_IGNORE | SSM_STRUCT_NO_MARKERS,
			  .sv_fields = pad_fields };
	uint8_t want[4 + 8 + 4] = { 0 };

	memset(in.pad, 0x33, sizeof(in.pad));
	le32(want, 1);
	le32(want + 12, 2);
	cr_assert_eq(save_and_dump(&u, 64), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));
}

Test(field, pad_hc_wrong_size)
{
	/* The member is sizeof(void *) bytes but the table claims otherwise
	 * for this host. */
	static const ssm_field bad[] = {
		SSM_FIELD(struct padded, a),
		SSM_FIELD_PAD_HC(struct padded, pad, 2, 3),
		SSM_FIELD(struct padded, b),
		SSM_FIELD_TERM()
	};
	struct padded in = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = bad };
	struct run r;

	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert_eq(u.sv_rc, SSM_ERR_INVALID_ARG);
	run_fini(&r);
}

/* ---- Callback fields ------------------------------------------------------ */

struct cbs {
	uint32_t plain;
	uint32_t scaled;   /* stored as scaled / 10 in a u16 */
	uint32_t after;
};

struct cb_log {
	int puts, gets;
	const void *strct;
	uint32_t flags;
	int fail_with;
	void *user_seen;
};

static int scaled_cb(ssm_handle *h, const ssm_field *f, void *strct,
		     uint32_t flags, bool get, void *user)
{
	struct cb_log *log = user;
	uint32_t *p = (uint32_t *)((uint8_t *)strct + f->off);
	uint16_t v;
	int rc;

	cr_assert_str_eq(f->name, "scaled");
	cr_assert_eq(f->size, sizeof(uint32_t));
	log->strct = strct;
	log->flags = flags;
	log->user_seen = user;
	if (log->fail_with)
		return log->fail_with;
	if (!get) {
		log->puts++;
		return ssm_put_u16(h, (uint16_t)(*p / 10));
	}
	log->gets++;
	rc = ssm_get_u16(h, &v);
	if (!rc)
		*p = (uint32_t)v * 10;
	return rc;
}

static const ssm_field cbs_fields[] = {
	SSM_FIELD(struct cbs, plain),
	SSM_FIELD_CALLBACK(struct cbs, scaled, scaled_cb),
	SSM_FIELD(struct cbs, after),
	SSM_FIELD_TERM()
};

Test(field, callback_put_get)
{
	struct cbs in = { .plain = 7, .scaled = 12340, .after = 9 };
	struct cbs out = { 0 };
	struct cb_log log = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS | SSM_STRUCT_FULL,
			  .sv_fields = cbs_fields, .sv_user = &log };
	const uint8_t want[] = { 7, 0, 0, 0, 0xd2, 0x04, 9, 0, 0, 0 };

	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));
	cr_assert_eq(log.puts, 1);
	cr_assert_eq(log.gets, 0);
	cr_assert_eq(log.strct, &in);
	cr_assert_eq(log.flags, SSM_STRUCT_NO_MARKERS | SSM_STRUCT_FULL);
	cr_assert_eq(log.user_seen, &log);

	memset(&log, 0, sizeof(log));
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_fields = cbs_fields;
	u.ld_flags = SSM_STRUCT_NO_MARKERS;
	u.ld_user = &log;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(log.gets, 1);
	cr_assert_eq(log.strct, &out);
	cr_assert_eq(log.flags, SSM_STRUCT_NO_MARKERS);
	cr_assert_eq(out.plain, 7);
	cr_assert_eq(out.scaled, 12340);
	cr_assert_eq(out.after, 9);
}

Test(field, callback_put_error_propagates)
{
	struct cbs in = { .plain = 7, .scaled = 10, .after = 9 };
	struct cb_log log = { .fail_with = SSM_ERR_LOAD_VALUE };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = cbs_fields, .sv_user = &log };
	struct run r;

	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert_eq(u.sv_rc, SSM_ERR_LOAD_VALUE);
	run_fini(&r);
}

Test(field, callback_get_error_propagates)
{
	struct cbs in = { .plain = 7, .scaled = 10, .after = 9 };
	struct cbs out = { .after = 1234 };
	struct cb_log log = { 0 }, ld_log = { .fail_with = SSM_ERR_BAD_VALUE };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = cbs_fields, .sv_user = &log,
			  .ld = &out, .ld_size = sizeof(out),
			  .ld_fields = cbs_fields, .ld_user = &ld_log };

	cr_assert_neq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_BAD_VALUE);
	cr_assert_eq(out.plain, 7);
	cr_assert_eq(out.after, 1234, "field after a failed callback was read");
}

Test(field, callback_null_fn)
{
	static const ssm_field bad[] = {
		SSM_FIELD_CALLBACK(struct cbs, scaled, NULL), SSM_FIELD_TERM() };
	struct cbs in = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = bad };
	struct run r;

	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert_eq(u.sv_rc, SSM_ERR_INVALID_ARG);
	run_fini(&r);
}

/* ---- Markers -------------------------------------------------------------------- */

struct abc {
	uint32_t a, b, c;
};

static const ssm_field abc_fields[] = {
	SSM_FIELD(struct abc, a),
	SSM_FIELD(struct abc, b),
	SSM_FIELD(struct abc, c),
	SSM_FIELD_TERM()
};

static const ssm_field ab_fields[] = {
	SSM_FIELD(struct abc, a),
	SSM_FIELD(struct abc, b),
	SSM_FIELD_TERM()
};

Test(field, marker_layout_mismatch)
{
	struct abc in = { 1, 2, 3 }, out = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = abc_fields, .ld = &out,
			  .ld_size = sizeof(out), .ld_fields = ab_fields };
	struct run r;

	run_init(&r, &u);
	cr_assert_eq(run_save(&r, 0), SSM_OK);
	cr_assert_neq(run_load(&r), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_STRUCT_MARKER);
	cr_assert_not_null(strstr(r.load_err, "end marker"), "message: %s", r.load_err);
	cr_assert_not_null(strstr(r.load_err, "'a'"), "message: %s", r.load_err);
	cr_assert_not_null(strstr(r.load_err, "0x00000003"), "message: %s", r.load_err);
	run_fini(&r);
}

Test(field, marker_matching_layout_loads)
{
	struct abc in = { 1, 2, 3 }, out = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = abc_fields, .ld = &out,
			  .ld_size = sizeof(out), .ld_fields = abc_fields };

	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.c, 3);
	cr_assert_eq(u.ld_total, 4 + 12 + 4);
	cr_assert_eq(u.ld_left, 0);
}

static int put_not_a_struct(ssm_handle *h, void *arg)
{
	static const uint32_t words[] = { 0x12345678, 1, 2, 3, END_MARKER };
	int rc = SSM_OK;

	(void)arg;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !rc; i++)
		rc = ssm_put_u32(h, words[i]);
	return rc;
}

Test(field, marker_begin_mismatch)
{
	struct abc out = { 0 };
	struct unit u = { .sv_raw = put_not_a_struct, .ld = &out,
			  .ld_size = sizeof(out), .ld_fields = abc_fields };
	struct run r;

	run_init(&r, &u);
	cr_assert_eq(run_save(&r, 0), SSM_OK);
	cr_assert_neq(run_load(&r), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_STRUCT_MARKER);
	cr_assert_not_null(strstr(r.load_err, "begin marker"), "message: %s", r.load_err);
	cr_assert_not_null(strstr(r.load_err, "'a'"), "message: %s", r.load_err);
	cr_assert_not_null(strstr(r.load_err, "0x12345678"), "message: %s", r.load_err);
	cr_assert_eq(out.a, 0, "fields read after a bad begin marker");
	run_fini(&r);
}

Test(field, marker_saved_without_loaded_with)
{
	struct abc in = { 1, 2, 3 }, out = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = abc_fields, .ld = &out,
			  .ld_size = sizeof(out), .ld_fields = ab_fields };

	cr_assert_neq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_STRUCT_MARKER);
}

Test(field, markers_cost_eight_bytes)
{
	struct abc in = { 1, 2, 3 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_fields = abc_fields };
	uint64_t with, without;

	with = save_and_dump(&u, 0);
	u.sv_flags = SSM_STRUCT_NO_MARKERS;
	without = save_and_dump(&u, 0);
	cr_assert_eq(with, 20);
	cr_assert_eq(without, 12);
}

Test(field, empty_table)
{
	static const ssm_field none[] = { SSM_FIELD_TERM() };
	struct unit u = { .sv = "", .sv_size = 0, .sv_flags = SSM_STRUCT_FULL,
			  .sv_fields = none };
	uint8_t want[8];

	le32(want, BEGIN_MARKER);
	le32(want + 4, END_MARKER);
	cr_assert_eq(save_and_dump(&u, 0), 8);
	assert_bytes(u.raw, want, 8);
}

/* ---- Primitive errors and bounds on get -------------------------------------- */

Test(field, short_data_propagates_read_past_end)
{
	struct abc in = { 1, 2, 3 }, out = { 0, 0, 77 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS,
			  .sv_fields = ab_fields, .ld = &out,
			  .ld_size = sizeof(out), .ld_flags = SSM_STRUCT_NO_MARKERS,
			  .ld_fields = abc_fields };

	cr_assert_neq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(u.ld_rc, SSM_ERR_READ_PAST_END);
	cr_assert_eq(out.a, 1);
	cr_assert_eq(out.b, 2);
	cr_assert_eq(out.c, 77);
}

/* A table with holes: get must write the declared members and nothing else,
 * not even bytes just past the struct. */
struct holes {
	uint8_t a;
	uint8_t hole1[3];
	uint32_t b;
	uint8_t hole2[5];
	uint8_t c[3];
};

Test(field, get_writes_only_declared_fields)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct holes, a),
		SSM_FIELD(struct holes, b),
		SSM_FIELD(struct holes, c),
		SSM_FIELD_TERM()
	};
	struct holes in;
	uint8_t out[sizeof(struct holes) + 16];
	struct holes got;
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_fields = f,
			  .ld = out, .ld_size = sizeof(struct holes),
			  .ld_fields = f };

	memset(&in, 0x11, sizeof(in));
	in.a = 0xa1;
	in.b = 0xb2b3b4b5;
	memcpy(in.c, "xyz", 3);
	memset(out, 0xee, sizeof(out));
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	memcpy(&got, out, sizeof(got));
	cr_assert_eq(got.a, 0xa1);
	cr_assert_eq(got.b, 0xb2b3b4b5);
	cr_assert_eq(memcmp(got.c, "xyz", 3), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(got.hole1[i], 0xee);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(got.hole2[i], 0xee);
	for (size_t i = sizeof(struct holes); i < sizeof(out); i++)
		cr_assert_eq(out[i], 0xee, "byte past the struct written");
}

/* ---- Flags and table validation --------------------------------------------- */

struct cov {
	uint32_t a;
	uint8_t pad[4];
	void *p;
	uint16_t b;
	uint8_t junk[6];
};

static const ssm_field cov_full[] = {
	SSM_FIELD(struct cov, a),
	SSM_FIELD_IGNORE(struct cov, pad),
	SSM_FIELD_HCPTR(struct cov, p),
	SSM_FIELD(struct cov, b),
	SSM_FIELD_IGNORE(struct cov, junk),
	SSM_FIELD_TERM()
};

Test(field, full_coverage_ok)
{
	struct cov in = { .a = 5, .b = 6 }, out = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_FULL, .sv_fields = cov_full,
			  .ld = &out, .ld_size = sizeof(out),
			  .ld_flags = SSM_STRUCT_FULL, .ld_fields = cov_full };

	cr_assert_eq(sizeof(struct cov), 24, "test assumes an LP64 layout");
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.a, 5);
	cr_assert_eq(out.b, 6);
}

/* Save with a good table; the bad one must fail on put and on get. */
static void expect_table_error(const ssm_field *bad, uint32_t flags, int want,
			       const char *msg_part)
{
	struct cov in = { .a = 5, .b = 6 }, out;
	struct unit u = { .sv = &in, .sv_size = sizeof(in), .sv_flags = flags,
			  .sv_fields = bad };
	struct run r;

	memset(&out, 0x5c, sizeof(out));
	run_init(&r, &u);
	cr_assert_neq(run_save(&r, 0), SSM_OK);
	cr_assert(u.sv_called);
	cr_assert_eq(u.sv_rc, want, "put: got %d want %d", u.sv_rc, want);

	u.sv_fields = cov_full;
	u.sv_flags = SSM_STRUCT_FULL;
	cr_assert_eq(run_save(&r, 0), SSM_OK, "save: %s", r.save_err);
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_flags = flags;
	u.ld_fields = bad;
	cr_assert_neq(run_load(&r), SSM_OK);
	cr_assert(u.ld_called);
	cr_assert_eq(u.ld_rc, want, "get: got %d want %d", u.ld_rc, want);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(((uint8_t *)&out)[i], 0x5c, "rejected table wrote the struct");
	if (msg_part)
		cr_assert_not_null(strstr(r.load_err, msg_part), "message: %s",
				   r.load_err);
	run_fini(&r);
}

Test(field, full_coverage_gap)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct cov, a),
		/* pad missing */
		SSM_FIELD_HCPTR(struct cov, p),
		SSM_FIELD(struct cov, b),
		SSM_FIELD_IGNORE(struct cov, junk),
		SSM_FIELD_TERM()
	};

	expect_table_error(f, SSM_STRUCT_FULL, SSM_ERR_STRUCT_COVERAGE,
			   "field 'p'");
}

Test(field, full_coverage_overlap)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct cov, a),
		SSM_FIELD_IGNORE(struct cov, pad),
		{ SSM_FT_IGNORE, offsetof(struct cov, pad) + 2, 2, 0, 0, NULL, "x" },
		SSM_FIELD_HCPTR(struct cov, p),
		SSM_FIELD(struct cov, b),
		SSM_FIELD_IGNORE(struct cov, junk),
		SSM_FIELD_TERM()
	};

	expect_table_error(f, SSM_STRUCT_FULL, SSM_ERR_STRUCT_COVERAGE,
			   "field 'x'");
}

Test(field, full_coverage_out_of_order)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct cov, a),
		SSM_FIELD_HCPTR(struct cov, p),
		SSM_FIELD_IGNORE(struct cov, pad),
		SSM_FIELD(struct cov, b),
		SSM_FIELD_IGNORE(struct cov, junk),
		SSM_FIELD_TERM()
	};

	expect_table_error(f, SSM_STRUCT_FULL, SSM_ERR_STRUCT_COVERAGE,
			   "field 'p'");
}

Test(field, full_coverage_short_of_size)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct cov, a),
		SSM_FIELD_IGNORE(struct cov, pad),
		SSM_FIELD_HCPTR(struct cov, p),
		SSM_FIELD(struct cov, b),
		/* junk (the tail) missing */
		SSM_FIELD_TERM()
	};

	expect_table_error(f, SSM_STRUCT_FULL, SSM_ERR_STRUCT_COVERAGE,
			   "end of the struct");
}

/* A field reaching past the struct is a caller bug, FULL or not. */
static const ssm_field cov_beyond[] = {
	SSM_FIELD(struct cov, a),
	SSM_FIELD_IGNORE(struct cov, pad),
	SSM_FIELD_HCPTR(struct cov, p),
	SSM_FIELD(struct cov, b),
	SSM_FIELD_IGNORE(struct cov, junk),
	{ SSM_FT_NONE, sizeof(struct cov) - 2, 4, 0, 0, NULL, "beyond" },
	SSM_FIELD_TERM()
};

Test(field, full_coverage_beyond_size)
{
	expect_table_error(cov_beyond, SSM_STRUCT_FULL, SSM_ERR_INVALID_ARG,
			   "'beyond'");
}

Test(field, beyond_size_without_full)
{
	expect_table_error(cov_beyond, 0, SSM_ERR_INVALID_ARG, NULL);
}

Test(field, offset_overflow)
{
	static const ssm_field f[] = {
		{ SSM_FT_NONE, UINT32_MAX, 2, 0, 0, NULL, "wrap" },
		SSM_FIELD_TERM()
	};

	expect_table_error(f, 0, SSM_ERR_INVALID_ARG, NULL);
}

Test(field, unknown_flags)
{
	expect_table_error(cov_full, SSM_STRUCT_FULL | 0x8u, SSM_ERR_INVALID_ARG,
			   "unknown flags");
	expect_table_error(cov_full, 0x80000000u, SSM_ERR_INVALID_ARG, NULL);
}

Test(field, unknown_transform)
{
	static const ssm_field f[] = {
		{ (ssm_field_transform)(SSM_FT_CALLBACK + 1), 0, 4, 0, 0, NULL, "a" },
		SSM_FIELD_TERM()
	};

	expect_table_error(f, 0, SSM_ERR_INVALID_ARG, NULL);
}

/* Without FULL, holes and any order are fine. */
Test(field, partial_table_without_full)
{
	static const ssm_field f[] = {
		SSM_FIELD(struct cov, b),
		SSM_FIELD(struct cov, a),
		SSM_FIELD_TERM()
	};
	struct cov in = { .a = 0x01020304, .b = 0x0506 }, out = { 0 };
	struct unit u = { .sv = &in, .sv_size = sizeof(in),
			  .sv_flags = SSM_STRUCT_NO_MARKERS, .sv_fields = f };
	const uint8_t want[] = { 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };

	cr_assert_eq(save_and_dump(&u, 0), sizeof(want));
	assert_bytes(u.raw, want, sizeof(want));
	u.ld = &out;
	u.ld_size = sizeof(out);
	u.ld_flags = SSM_STRUCT_NO_MARKERS;
	u.ld_fields = f;
	cr_assert_eq(round_trip(&u, 0), SSM_OK);
	cr_assert_eq(out.a, in.a);
	cr_assert_eq(out.b, in.b);
}

/* Bad arguments that need no stream at all. */
Test(field, null_arguments)
{
	struct abc x = { 0 };

	cr_assert_eq(ssm_put_struct(NULL, &x, sizeof(x), 0, abc_fields, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_get_struct(NULL, &x, sizeof(x), 0, abc_fields, NULL),
		     SSM_ERR_INVALID_ARG);
}

static int put_null_table(ssm_handle *h, void *arg)
{
	struct abc x = { 0 };
	int *rcs = arg;

	rcs[0] = ssm_put_struct(h, &x, sizeof(x), 0, NULL, NULL);
	rcs[1] = ssm_put_struct(h, NULL, sizeof(x), 0, abc_fields, NULL);
	return ssm_put_u8(h, 0);
}

Test(field, null_table_or_struct)
{
	int rcs[2] = { 1, 1 };
	struct unit u = { .sv_raw = put_null_table, .sv_raw_arg = rcs };

	save_and_dump(&u, 0);
	cr_assert_eq(rcs[0], SSM_ERR_INVALID_ARG);
	cr_assert_eq(rcs[1], SSM_ERR_INVALID_ARG);
	cr_assert_eq(u.ld_total, 1, "a rejected put wrote data");
}
