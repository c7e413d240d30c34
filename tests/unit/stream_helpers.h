/* stream_helpers.h - shared helpers of the stream backend tests: patterned data, chunked
 * and random I/O checked against a model, a scratch directory (static inline). */
#ifndef TESTS_UNIT_STREAM_HELPERS_H
#define TESTS_UNIT_STREAM_HELPERS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

/* Bigger than the 64 KiB stream buffers so both buffered and direct paths
 * and their boundaries get exercised. */
#define BIG (300u * 1024u + 17u)

static const size_t chunk_sizes[] = {
	1, 7, 4096, 65535, 65536, 65537, 3, 200000, 12, 131072, 1000,
};
#define N_CHUNKS (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))

/* ---- Helpers ----------------------------------------------------------- */

static inline uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline unsigned char *pattern(size_t n, uint64_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	uint64_t s = seed * 2654435761u + 1;
	size_t i;

	cr_assert_not_null(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rng_next(&s) >> 24);
	return p;
}

static inline unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long sz;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	cr_assert_geq(sz, 0);
	rewind(f);
	buf = malloc((size_t)sz + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

static inline void expect_tell(ssm_stream *st, uint64_t want)
{
	uint64_t v;

	cr_assert_eq(st->ops->tell(st->user, &v), SSM_OK);
	cr_assert_eq(v, want, "tell %llu, want %llu", (unsigned long long)v,
		     (unsigned long long)want);
}

static inline void expect_size(ssm_stream *st, uint64_t want)
{
	uint64_t v;

	cr_assert_eq(st->ops->size(st->user, &v), SSM_OK);
	cr_assert_eq(v, want, "size %llu, want %llu", (unsigned long long)v,
		     (unsigned long long)want);
}

/* PATH holds exactly n bytes equal to want. */
static inline void expect_file(const char *path, const void *want, size_t n)
{
	size_t len;
	unsigned char *back = slurp(path, &len);

	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(back, want, n), 0, "%s differs", path);
	free(back);
}

/* Write data in the varied chunk sizes, checking tell as we go. */
static inline void write_chunks(ssm_stream *st, const unsigned char *data, size_t n)
{
	size_t off = 0, i = 0;
	uint64_t pos;

	while (off < n) {
		size_t c = chunk_sizes[i++ % N_CHUNKS];

		if (c > n - off)
			c = n - off;
		cr_assert_eq(st->ops->write(st->user, data + off, c), SSM_OK);
		off += c;
		cr_assert_eq(st->ops->tell(st->user, &pos), SSM_OK);
		cr_assert_eq(pos, off);
	}
}

/* Read n bytes in varied chunks, then check the stream is at its end. */
static inline void read_chunks(ssm_stream *st, const unsigned char *want, size_t n)
{
	unsigned char *got = malloc(n + 16);
	size_t off = 0, i = 3, g;
	uint64_t pos;

	cr_assert_not_null(got);
	while (off < n) {
		size_t c = chunk_sizes[i++ % N_CHUNKS];

		if (c > n - off)
			c = n - off;
		cr_assert_eq(st->ops->read(st->user, got + off, c, &g), SSM_OK);
		cr_assert_eq(g, c, "short read %zu/%zu at %zu", g, c, off);
		off += c;
	}
	cr_assert_eq(memcmp(got, want, n), 0);
	cr_assert_eq(st->ops->tell(st->user, &pos), SSM_OK);
	cr_assert_eq(pos, n);
	/* At the end: fewer bytes than asked, and still no error. */
	cr_assert_eq(st->ops->read(st->user, got, 16, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st->ops->is_ok(st->user), SSM_OK);
	free(got);
}

/* Random seeks (within the written size) and writes of random lengths,
 * mirrored into model; returns the final size. */
static inline size_t random_writes(ssm_stream *st, unsigned char *model, size_t cap,
				   uint64_t seed, int ops)
{
	uint64_t s = seed, pos = 0;
	size_t size = 0;
	int i;

	memset(model, 0, cap);
	for (i = 0; i < ops; i++) {
		uint64_t r = rng_next(&s);
		size_t len;
		unsigned char *data;

		if (r % 3 == 0 && size) {
			pos = rng_next(&s) % (size + 1);
			cr_assert_eq(st->ops->seek(st->user, pos), SSM_OK);
		}
		switch ((r >> 8) % 4) {
		case 0: len = rng_next(&s) % 16; break;
		case 1: len = rng_next(&s) % 5000; break;
		case 2: len = rng_next(&s) % 70000; break;
		default: len = rng_next(&s) % 150000; break;
		}
		if (pos + len > cap)
			len = cap - (size_t)pos;
		data = pattern(len, r);
		cr_assert_eq(st->ops->write(st->user, data, len), SSM_OK);
		memcpy(model + pos, data, len);
		free(data);
		pos += len;
		if (pos > size)
			size = (size_t)pos;
		expect_tell(st, pos);
		expect_size(st, size);
	}
	return size;
}

/* Per-test scratch directory; the fixture removes it even when an
 * assertion aborts the test body. */
static char tdir[64];

static inline void tdir_make(void)
{
	tu_mkdtemp(tdir);
}

static inline void tdir_remove(void)
{
	tu_rmdir(tdir);
}

#endif /* TESTS_UNIT_STREAM_HELPERS_H */
