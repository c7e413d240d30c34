/* test_field_table.c - ssm_put_struct()/ssm_get_struct() framing and tables:
 * begin/end markers, bounds on get, flags, FULL coverage and table validation. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "field_harness.h"

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
