/* test_extent.c - EXTENT records (ssm_put_extent / ssm_get_extent): round
 * trip read and mapped, zero pages as holes, the record-stream fallback on
 * a stream that cannot seek, damaged chunks caught by ssm_validate and by a
 * verifying load (and, as documented, not by a plain mapped one), truncated
 * files and forged lengths refused before anything is mapped. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ssm/format.h"
#include "ssm/ssm.h"
#include "testutil.h"

#define PG 4096u

struct ext_unit {
	uint8_t *buf;            /* save: the data; load: where it goes */
	size_t len;
	bool markers;            /* u32 before and after the extent */
	uint32_t flags;          /* for ssm_get_extent */
	uint32_t before, after;  /* load: markers read */
};

static int ext_save(void *ctx, ssm_handle *h)
{
	struct ext_unit *u = ctx;
	int rc = u->markers ? ssm_put_u32(h, 0x11223344) : SSM_OK;

	if (!rc)
		rc = ssm_put_extent(h, u->buf, u->len);
	if (!rc && u->markers)
		rc = ssm_put_u32(h, 0x55667788);
	return rc;
}

static int ext_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct ext_unit *u = ctx;
	int rc = u->markers ? ssm_get_u32(h, &u->before) : SSM_OK;

	(void)version;
	(void)pass;
	if (!rc)
		rc = ssm_get_extent(h, u->buf, u->len, u->flags);
	if (!rc && u->markers)
		rc = ssm_get_u32(h, &u->after);
	return rc;
}

static ssm *reg_for(struct ext_unit *u)
{
	static const ssm_callbacks cb = { .save_exec = ext_save, .load_exec = ext_load };
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "x", 0, 1, u->len, NULL, 0, &cb, u), SSM_OK);
	return s;
}

/* Page-aligned memory, as guest RAM is. */
static uint8_t *pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

/* len bytes: every third page random, the rest zero. */
static uint8_t *sample(size_t len)
{
	uint8_t *p = pages(len);

	for (size_t off = 0; off < len; off += 3 * PG)
		tu_fill(p + off, PG, off / PG + 1);
	return p;
}

static char path[64];

static void save_file(uint8_t *data, size_t len, bool markers)
{
	struct ext_unit u = { .buf = data, .len = len, .markers = markers };
	ssm *s = reg_for(&u);
	ssm_stream st;

	int fd;

	if (path[0])
		unlink(path);
	strcpy(path, "/tmp/test_extent.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	ssm_destroy(s);
}

/* Load path into dst; map: through map_fd. */
static int load_file(uint8_t *dst, size_t len, bool markers, bool map, uint32_t flags,
		     char *err, size_t errlen)
{
	struct ext_unit u = { .buf = dst, .len = len, .markers = markers, .flags = flags };
	ssm *s = reg_for(&u);
	int fd = open(path, O_RDONLY);
	ssm_load_opts o = { SSM_LOAD_OPTS_INIT, .map_extents = map, .map_fd = fd };
	ssm_stream st;
	int rc;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ssm_stream_file_fdopen(&st, fd), SSM_OK);
	rc = ssm_load(s, st, &o);
	if (err)
		snprintf(err, errlen, "%s", ssm_last_error(s));
	if (!rc && markers) {
		cr_assert_eq(u.before, 0x11223344);
		cr_assert_eq(u.after, 0x55667788);
	}
	close(fd);
	ssm_destroy(s);
	return rc;
}

static int validate_file(char *msg, size_t len)
{
	ssm_stream st;

	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	return ssm_validate(st, msg, len);
}

/* The extent record of a file saved with markers=false: unit "x" at 64,
 * header 45 bytes, then the record; its data offset. */
#define REC_OFF (64u + 45u)
static uint64_t data_off_of(void)
{
	uint8_t b[8];
	int fd = open(path, O_RDONLY);

	cr_assert_eq(pread(fd, b, 8, REC_OFF + 16), 8);
	close(fd);
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void poke(uint64_t off, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY);

	cr_assert_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void flip(uint64_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0xff;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

Test(extent, round_trip_mapped_and_read)
{
	size_t len = (5u << 20) + 3 * PG;          /* 5 MiB and a partial chunk */
	uint8_t *src = sample(len), *dst;
	char err[512];

	save_file(src, len, true);
	cr_assert_eq(validate_file(err, sizeof(err)), SSM_OK, "%s", err);
	for (int map = 0; map < 2; map++) {
		dst = pages(len);
		memset(dst, 0xaa, len);
		cr_assert_eq(load_file(dst, len, true, map, 0, err, sizeof(err)), SSM_OK, "%s", err);
		cr_assert(!memcmp(dst, src, len), "map=%d: data differs", map);
		/* A mapped extent is private: writing it leaves the file alone. */
		dst[0] ^= 1;
		munmap(dst, len);
	}
	cr_assert_eq(validate_file(err, sizeof(err)), SSM_OK, "%s", err);
	unlink(path);
	munmap(src, len);
}

Test(extent, data_page_aligned_zero_pages_are_holes)
{
	size_t len = 64u << 20;
	uint8_t *src = pages(len);
	struct stat sb;

	tu_fill(src + 17 * PG, PG, 5);
	save_file(src, len, false);
	cr_assert_eq(data_off_of() % PG, 0);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_geq((uint64_t)sb.st_size, data_off_of() + len);
	/* 64 MiB of which one page is data: the rest must not be allocated. */
	cr_assert_lt((uint64_t)sb.st_blocks * 512, 1u << 20, "%llu bytes allocated",
		     (unsigned long long)sb.st_blocks * 512);
	unlink(path);
	munmap(src, len);
}

/* A stream with write only: no seek, like a pipe. */
static int nw_write(void *user, const void *buf, size_t n)
{
	tu_bytes_add(user, buf, n);
	return SSM_OK;
}

static int nw_close(void *user, bool ok)
{
	(void)user;
	(void)ok;
	return SSM_OK;
}

Test(extent, unseekable_stream_gets_records)
{
	static const ssm_stream_ops ops = { .write = nw_write, .close = nw_close };
	size_t len = 4u << 20;
	uint8_t *src = sample(len), *dst = pages(len);
	struct tu_bytes out = { 0 };
	struct ext_unit u = { .buf = src, .len = len, .markers = true };
	ssm *s = reg_for(&u);
	ssm_stream st = { &ops, &out };
	char msg[256];

	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	ssm_destroy(s);
	/* Zero pages became zero runs: far less than len, and no type-4 record
	 * right after the first RAW record (marker). */
	cr_assert_lt(out.len, len / 2);
	cr_assert_eq(ssm_stream_mem_reader(&st, out.p, out.len), SSM_OK);
	cr_assert_eq(ssm_validate(st, msg, sizeof(msg)), SSM_OK, "%s", msg);
	u = (struct ext_unit){ .buf = dst, .len = len, .markers = true };
	s = reg_for(&u);
	cr_assert_eq(ssm_stream_mem_reader(&st, out.p, out.len), SSM_OK);
	cr_assert_eq(ssm_load(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	cr_assert(!memcmp(dst, src, len));
	cr_assert_eq(u.after, 0x55667788);
	ssm_destroy(s);
	tu_bytes_free(&out);
	munmap(src, len);
	munmap(dst, len);
}

Test(extent, damaged_chunk_caught_by_validate_and_verify)
{
	size_t len = 3u << 20;
	uint8_t *src = sample(len), *dst = pages(len);
	char err[512];

	save_file(src, len, false);
	flip(data_off_of() + (2u << 20) + 5);   /* chunk 2 (a hole or data) */
	cr_assert_eq(validate_file(err, sizeof(err)), SSM_ERR_CRC);
	cr_assert(strstr(err, "extent chunk 2"), "%s", err);
	memset(dst, 0xaa, len);
	cr_assert_eq(load_file(dst, len, false, true, SSM_EXTENT_VERIFY, err, sizeof(err)),
		     SSM_ERR_CRC);
	cr_assert(strstr(err, "extent chunk 2"), "%s", err);
	cr_assert_eq(dst[0], 0xaa, "a refused extent was mapped");
	cr_assert_eq(load_file(dst, len, false, false, 0, err, sizeof(err)), SSM_ERR_CRC);
	/* Documented: a mapped load without verify does not read the data, so
	 * the guest gets the changed byte. */
	cr_assert_eq(load_file(dst, len, false, true, 0, err, sizeof(err)), SSM_OK, "%s", err);
	cr_assert_eq(dst[(2u << 20) + 5], src[(2u << 20) + 5] ^ 0xff);
	unlink(path);
	munmap(src, len);
	munmap(dst, len);
}

Test(extent, truncated_file_refused_before_mapping)
{
	size_t len = 4u << 20;
	uint8_t *src = sample(len), *dst = pages(len);
	char err[512];

	save_file(src, len, false);
	cr_assert_eq(truncate(path, (off_t)(data_off_of() + len / 2)), 0);
	memset(dst, 0xaa, len);
	cr_assert_eq(load_file(dst, len, false, true, 0, err, sizeof(err)), SSM_ERR_TRUNCATED,
		     "%s", err);
	cr_assert(strstr(err, "truncated"), "%s", err);
	/* Nothing was mapped: dst still holds what it had, and touching all
	 * of it raises no SIGBUS. */
	for (size_t i = 0; i < len; i += PG)
		cr_assert_eq(dst[i], 0xaa);
	cr_assert_eq(validate_file(err, sizeof(err)), SSM_ERR_TRUNCATED, "%s", err);
	unlink(path);
	munmap(src, len);
	munmap(dst, len);
}

/* An attacker's file: the extent's len and the unit header's data_len set
 * to len, every CRC on the way recomputed. */
static void forge_len(uint64_t len)
{
	uint8_t hdr[45], rec[16 + 28 + 8];
	int fd = open(path, O_RDONLY);

	cr_assert_eq(pread(fd, hdr, sizeof(hdr), 64), (ssize_t)sizeof(hdr));
	cr_assert_eq(pread(fd, rec, sizeof(rec), REC_OFF), (ssize_t)sizeof(rec));
	close(fd);
	cr_assert_eq(rec[0], SSMF_REC_EXTENT, "not an EXTENT record at %u", REC_OFF);
	put_le(hdr + 32, len, 8);
	put_le(hdr + 41, crc32(0, hdr, 41), 4);
	put_le(rec + 16 + 8, len, 8);
	/* The record CRC: header bytes 0..11, then the payload (2 chunks). */
	put_le(rec + 12, crc32(crc32(0, rec, 12), rec + 16, 28 + 8), 4);
	poke(64, hdr, sizeof(hdr));
	poke(REC_OFF, rec, sizeof(rec));
}

static void refused(int want, const char *what)
{
	size_t len = 2u << 20;
	uint8_t *dst = pages(len);
	char err[512];

	cr_assert_eq(validate_file(err, sizeof(err)), want, "%s", err);
	cr_assert(strstr(err, what), "%s", err);
	memset(dst, 0xaa, len);
	cr_assert_eq(load_file(dst, len, false, true, 0, err, sizeof(err)), want, "%s", err);
	cr_assert(strstr(err, what), "%s", err);
	cr_assert_eq(dst[0], 0xaa, "mapped although refused");
	munmap(dst, len);
}

Test(extent, forged_lengths_refused)
{
	size_t len = (3u << 19);                 /* 1.5 MiB: 2 chunks */
	uint8_t *src = sample(len);

	/* 1 GiB would need 1024 chunk CRCs, the record holds 2. */
	save_file(src, len, false);
	forge_len(1ull << 30);
	refused(SSM_ERR_FORMAT, "needs 1024 chunks");
	/* 2 MiB is still 2 chunks, but the file ends first. */
	save_file(src, len, false);
	forge_len(2u << 20);
	refused(SSM_ERR_TRUNCATED, "past the end");
	/* Not a multiple of the page size. */
	save_file(src, len, false);
	forge_len(len - 1);
	refused(SSM_ERR_FORMAT, "multiple of 4096");
	unlink(path);
	munmap(src, len);
}

Test(extent, bad_arguments)
{
	struct ext_unit u = { .buf = NULL, .len = 0 };
	ssm *s = reg_for(&u);

	cr_assert_eq(ssm_put_extent(NULL, NULL, 0), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_get_extent(NULL, NULL, 0, 0), SSM_ERR_INVALID_ARG);
	ssm_destroy(s);
}
