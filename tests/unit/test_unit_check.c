/* test_unit_check.c - ssm_seek_entry and ssm_unit_check (ssm/inspect.c):
 * every unit record of a file, live passes included, read through with its
 * stored size and record kinds, and a damaged record refused naming its
 * unit and offset. */
#include <criterion/criterion.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

/* "blob": 8192 zero bytes then 100 that compress; "tiny": 4 bytes. */
static int blob_exec(void *ctx, ssm_handle *h)
{
	uint8_t buf[8192 + 100] = { 0 };

	(void)ctx;
	for (int i = 0; i < 100; i++)
		buf[8192 + i] = (uint8_t)('a' + i % 3);
	return ssm_put_mem(h, buf, sizeof(buf));
}

static int tiny_exec(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, 0xdeadbeef);
}

static void *make_file(size_t *len, int level)
{
	static const ssm_callbacks blob = { .save_exec = blob_exec };
	static const ssm_callbacks tiny = { .save_exec = tiny_exec };
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = level };
	ssm *s = ssm_create(NULL);
	void *buf = NULL;

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_internal(s, "blob", 0, 3, 0, NULL, 0, &blob), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "tiny", 2, 1, 0, NULL, 0, &tiny), SSM_OK);
	cr_assert_eq(tu_save(s, &o, true, &buf, len), SSM_OK);
	ssm_destroy(s);
	return buf;
}

Test(unit_check, stats_of_each_record)
{
	size_t len;
	void *img = make_file(&len, 0);
	ssm_handle *h;
	ssm_unit_info a, b;
	ssm_unit_stats st;
	uint32_t version;

	cr_assert_eq(ssm_open(tu_reader(img, len, true), &h), SSM_OK);
	cr_assert_eq(ssm_unit_info_get(h, 0, &a), SSM_OK);
	cr_assert_eq(ssm_unit_info_get(h, 1, &b), SSM_OK);
	cr_assert_eq(ssm_unit_check(h, 0, &st), SSM_OK, "%s", ssm_handle_error(h));
	cr_expect_eq(st.data_len, 8292);
	cr_expect_eq(st.records, 2);
	cr_expect_eq(st.kinds, (1u << 1) | (1u << 2), "raw and zero, got 0x%x", st.kinds);
	cr_expect_eq(st.stored_bytes, b.offset - a.offset);
	cr_expect_str_eq(ssm_record_kind_name(1), "raw");
	cr_expect_str_eq(ssm_record_kind_name(2), "zero");
	cr_expect_null(ssm_record_kind_name(0x7f), "END is not a data record kind");
	/* Entry 1: header 44 + 4, one RAW record of 4 bytes, END 32. */
	cr_assert_eq(ssm_unit_check(h, 1, &st), SSM_OK, "%s", ssm_handle_error(h));
	cr_expect_eq(st.stored_bytes, 48 + 16 + 4 + 32);
	cr_expect_eq(st.records, 1);
	/* Then its data can still be read through ssm_seek_entry. */
	cr_assert_eq(ssm_seek_entry(h, 1, &version), SSM_OK);
	{
		uint32_t v = 0;

		cr_expect_eq(version, 1);
		cr_expect_eq(ssm_get_u32(h, &v), SSM_OK);
		cr_expect_eq(v, 0xdeadbeef);
	}
	cr_expect_eq(ssm_seek_entry(h, 2, NULL), SSM_ERR_INVALID_ARG);
	cr_expect_eq(ssm_unit_check(h, 2, &st), SSM_ERR_INVALID_ARG);
	ssm_close(h);
	free(img);
}

Test(unit_check, zlib_records_are_named)
{
	size_t len;
	void *img = make_file(&len, 6);
	ssm_handle *h;
	ssm_unit_stats st;

	cr_assert_eq(ssm_open(tu_reader(img, len, true), &h), SSM_OK);
	cr_assert_eq(ssm_unit_check(h, 0, &st), SSM_OK, "%s", ssm_handle_error(h));
	cr_expect(st.kinds & (1u << 3), "no ZLIB record in 0x%x", st.kinds);
	cr_expect_str_eq(ssm_record_kind_name(3), "zlib");
	ssm_close(h);
	free(img);
}

/* The open checks only header, directory and footer: a damaged data byte
 * is found by reading the unit through, and only that unit fails. */
Test(unit_check, damaged_record_names_unit_and_offset)
{
	size_t len;
	uint8_t *img = make_file(&len, 0);
	ssm_handle *h;
	ssm_unit_info a;
	ssm_unit_stats st;

	cr_assert_eq(ssm_open(tu_reader(img, len, true), &h), SSM_OK);
	cr_assert_eq(ssm_unit_info_get(h, 0, &a), SSM_OK);
	ssm_close(h);
	/* Inside the RAW record after the unit header and the ZERO record. */
	img[a.offset + 44 + 4 + 16 + 16 + 5] ^= 0x40;
	cr_assert_eq(ssm_open(tu_reader(img, len, true), &h), SSM_OK);
	cr_expect_eq(ssm_unit_check(h, 0, &st), SSM_ERR_CRC);
	cr_expect_not_null(strstr(ssm_handle_error(h), "unit 'blob'"), "%s", ssm_handle_error(h));
	cr_expect_not_null(strstr(ssm_handle_error(h), "offset"), "%s", ssm_handle_error(h));
	cr_expect_eq(ssm_unit_check(h, 1, &st), SSM_OK, "a failure must not poison the next "
		     "unit: %s", ssm_handle_error(h));
	ssm_close(h);
	free(img);
}
