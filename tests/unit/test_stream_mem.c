/* test_stream_mem.c - the memory stream backends: writer, reader, take, seek
 * past the end, overflow, and the sink that receives a save's bytes. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "stream_helpers.h"

/* ---- Memory ------------------------------------------------------------ */

Test(mem, roundtrip)
{
	unsigned char *data = pattern(BIG, 11);
	ssm_stream st;
	void *buf;
	size_t len;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	write_chunks(&st, data, BIG);
	expect_size(&st, BIG);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(len, BIG);
	cr_assert_eq(memcmp(buf, data, BIG), 0);

	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	expect_size(&st, BIG);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	free(buf);
	free(data);
}

Test(mem, take_hands_over_and_resets)
{
	ssm_stream st, other;
	void *a, *b;
	size_t alen, blen;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "first", 5), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &a, &alen), SSM_OK);
	cr_assert_eq(alen, 5);

	/* Empty again and still usable; the new data is separate. */
	expect_size(&st, 0);
	expect_tell(&st, 0);
	cr_assert_eq(st.ops->write(st.user, "2nd", 3), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &b, &blen), SSM_OK);
	cr_assert_eq(blen, 3);
	cr_assert_eq(memcmp(b, "2nd", 3), 0);
	cr_assert_neq(a, b);
	cr_assert_eq(memcmp(a, "first", 5), 0);
	free(b);

	cr_assert_eq(ssm_stream_mem_take(&st, &b, &blen), SSM_OK);
	cr_assert_eq(blen, 0);
	free(b);
	/* The stream must not free what it handed out (ASan/valgrind). */
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	free(a);

	/* Only mem writers can be taken from. */
	cr_assert_eq(ssm_stream_mem_reader(&other, "x", 1), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&other, &a, &alen), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_close(&other, true), SSM_OK);
}

#define MEM_JUNK 4096

Test(mem, seek_overwrite)
{
	static const unsigned char want[] = {
		'0', '1', 'A', 'B', 'C', '5', '6', '7', '8', '9',
		0, 0, 0, 0, 0, 'Z',
	};
	ssm_stream st;
	void *buf;
	unsigned char *volatile junk;
	size_t len;

	/* Recycle a dirty block so the writer's buffer likely starts with
	 * garbage rather than fresh zero pages; the gap must be cleared. */
	junk = malloc(MEM_JUNK);
	cr_assert_not_null(junk);
	memset(junk, 0xaa, MEM_JUNK);
	free(junk);
	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "0123456789", 10), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, 2), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "ABC", 3), SSM_OK);
	expect_tell(&st, 5);
	expect_size(&st, 10);
	/* Past the end: the gap reads as zeros, like a file hole. */
	cr_assert_eq(st.ops->seek(st.user, 15), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "Z", 1), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(len, sizeof(want));
	cr_assert_eq(memcmp(buf, want, len), 0);
	free(buf);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
}

Test(mem, random_writes_match_model)
{
	const size_t cap = 1u << 20;
	unsigned char *model = malloc(cap);
	ssm_stream st;
	void *buf;
	size_t size, len;

	cr_assert_not_null(model);
	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	size = random_writes(&st, model, cap, 12345, 300);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(len, size);
	cr_assert_eq(memcmp(buf, model, size), 0);
	free(buf);
	cr_assert_eq(ssm_stream_close(&st, false), SSM_OK);
	free(model);
}

Test(mem, writer_overflow_is_nomem_and_sticky)
{
	ssm_stream st;
	void *buf = (void *)1;
	size_t len = 1;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, UINT64_MAX - 1), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "abcd", 4), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->write(st.user, "a", 1), SSM_ERR_NOMEM);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_ERR_NOMEM);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_NOMEM);
}

Test(mem, reader)
{
	static const char src[] = "abcdefghij";
	unsigned char b[32];
	ssm_stream st;
	size_t g;

	cr_assert_eq(ssm_stream_mem_reader(&st, src, 10), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "x", 1), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_OK);
	expect_size(&st, 10);
	cr_assert_eq(st.ops->seek(st.user, 7), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, sizeof(b), &g), SSM_OK);
	cr_assert_eq(g, 3);
	cr_assert_eq(memcmp(b, "hij", 3), 0);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st.ops->seek(st.user, 1000), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 4, &g), SSM_OK);
	cr_assert_eq(g, 4);
	cr_assert_eq(memcmp(b, "abcd", 4), 0);
	expect_tell(&st, 4);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);

	cr_assert_eq(ssm_stream_mem_reader(&st, NULL, 1), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_mem_reader(&st, NULL, 0), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
}

/* ssm_save closes its stream; the sink variant is how a caller gets the
 * bytes of a save made to memory. */
static int sink_exec(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, 0xa1b2c3d4);
}

Test(stream_mem, sink_gets_bytes_of_a_save_and_nothing_on_failure)
{
	static const ssm_callbacks cb = { .save_exec = sink_exec };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	void *buf = (void *)1;
	size_t len = 99;
	static const uint8_t le[4] = { 0xd4, 0xc3, 0xb2, 0xa1 };

	cr_assert_eq(ssm_register_external(s, "u", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_null(buf);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK);
	cr_assert_not_null(buf);
	cr_assert_gt(len, 64);
	cr_assert_not_null(memmem(buf, len, le, sizeof(le)));
	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	cr_assert_eq(ssm_validate(st, NULL, 0), SSM_OK);
	free(buf);

	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_eq(st.ops->close(st.user, false), SSM_OK);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	ssm_destroy(s);
}
