/* test_field_transform.c - ssm_put_struct()/ssm_get_struct() per transformer:
 * NONE, GCPHYS/GCPTR, HCPTR_NI, IGNORE/HCPTR, PAD_HC and callback fields. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "field_harness.h"

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
