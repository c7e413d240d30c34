/* extent.c - EXTENT records (format 1.1): one large block of data (guest
 * RAM) at a fixed page-aligned offset of the file, all-zero pages left as
 * holes, with a CRC32 per 1 MiB chunk, so that a loader can map it instead
 * of reading it.  Where that cannot work (a pipe or socket, compression, a
 * live pass whose data may change) the same bytes go as ordinary records.
 *
 * The data and the pad before it are covered by the chunk CRCs only: the
 * unit and file CRCs skip them, so a load that maps the extent reads none
 * of it and still checks every other byte of the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssm/internal.h"

/* Bytes that must follow an extent's data in any complete file: the END
 * record, the terminator, an empty directory and the footer. */
#define EXT_TAIL_MIN (SSMF_REC_HDR + SSMF_END_PAYLOAD + SSMF_UNIT_FIXED + 4 + \
		      SSMF_DIR_HDR + 4 + SSMF_FOOTER_SIZE)

static uint64_t page_up(uint64_t v)
{
	return (v + SSMF_EXT_PAGE - 1) & ~(uint64_t)(SSMF_EXT_PAGE - 1);
}

static uint32_t chunks_of(uint64_t len)
{
	return (uint32_t)((len + SSMF_EXT_CHUNK - 1) / SSMF_EXT_CHUNK);
}

static size_t chunk_len(uint64_t len, uint32_t i)
{
	uint64_t off = (uint64_t)i * SSMF_EXT_CHUNK;

	return len - off < SSMF_EXT_CHUNK ? (size_t)(len - off) : SSMF_EXT_CHUNK;
}

/* ---- Writing -------------------------------------------------------------- */

/* The n bytes at p to stream offset off; zero pages are skipped over, so
 * on a file they stay holes. */
static int write_sparse(ssm_handle *h, const uint8_t *p, size_t n, uint64_t off)
{
	const ssm_stream_ops *ops = h->st.ops;
	size_t i = 0, j;
	int rc;

	while (i < n) {
		if (ssm_w_page_is_zero(p + i)) {
			i += SSMF_EXT_PAGE;
			continue;
		}
		for (j = i + SSMF_EXT_PAGE; j < n && !ssm_w_page_is_zero(p + j); j += SSMF_EXT_PAGE)
			;
		rc = ops->seek(h->st.user, off + i);
		if (!rc)
			rc = ops->write(h->st.user, p + i, j - i);
		if (rc)
			return ssm_fail(h, rc, "writing the extent at offset %llu: %s",
					(unsigned long long)(off + i), ssm_strerror(rc));
		i = j;
	}
	return SSM_OK;
}

static void put_progress(ssm_handle *h, uint64_t unit_bytes)
{
	if (h->unit)
		ssm_progress(h, h->prog_base + (unit_bytes < h->unit->size_guess ?
						unit_bytes : h->unit->size_guess));
}

/* Data first (its chunk CRCs go in the record), then the record in the
 * room left before it, then on past the data. */
static int write_extent(ssm_handle *h, const uint8_t *p, size_t len)
{
	struct ssm_writer *w = &h->w;
	const ssm_stream_ops *ops = h->st.ops;
	uint32_t n = chunks_of(len), stored = SSMF_EXT_FIXED + 4 * n, pcrc, full;
	uint64_t rec_off = w->off, data_off = page_up(rec_off + SSMF_REC_HDR + stored);
	uint8_t *rec = malloc(SSMF_REC_HDR + (size_t)stored), *d;
	int rc = SSM_OK;

	if (!rec)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for an extent of %zu bytes", len);
	d = rec + SSMF_REC_HDR;
	le64_put(d, data_off);
	le64_put(d + 8, len);
	le32_put(d + 16, SSMF_EXT_CHUNK);
	le32_put(d + 20, n);
	le32_put(d + 24, 0);
	for (uint32_t i = 0; i < n && !rc; i++) {
		size_t off = (size_t)i * SSMF_EXT_CHUNK, c = chunk_len(len, i);

		if (ssm_cancel_requested(h)) {
			rc = ssm_fail(h, SSM_ERR_CANCELLED, "save cancelled");
			break;
		}
		le32_put(d + SSMF_EXT_FIXED + 4 * i, ssm_crc_of(p + off, c));
		rc = write_sparse(h, p + off, c, data_off + off);
		put_progress(h, w->unit_data + off + c);
	}
	rec[0] = SSMF_REC_EXTENT;
	rec[1] = 0;
	le16_put(rec + 2, 0);
	le32_put(rec + 4, stored);
	le32_put(rec + 8, 0);
	pcrc = ssm_crc_of(d, stored);
	le32_put(rec + 12, ssm_crc_cat(ssm_crc_of(rec, 12), pcrc, stored));
	full = ssm_crc_cat(ssm_crc_of(rec, SSMF_REC_HDR), pcrc, stored);
	if (!rc) {
		rc = ops->seek(h->st.user, rec_off);
		if (!rc)
			rc = ops->write(h->st.user, rec, SSMF_REC_HDR + (size_t)stored);
		if (!rc)
			rc = ops->seek(h->st.user, data_off + len);
		if (rc)
			rc = ssm_fail(h, rc, "writing the extent record at offset %llu: %s",
				      (unsigned long long)rec_off, ssm_strerror(rc));
	}
	free(rec);
	if (rc)
		return rc;
	w->off = data_off + len;
	ssm_w_count_record(h, full, SSMF_REC_HDR + (uint64_t)stored);
	w->unit_data += len;
	return SSM_OK;
}

int ssm_put_extent(ssm_handle *h, const void *base, size_t len)
{
	struct ssm_writer *w;
	int rc;

	if (!h || (!base && len))
		return SSM_ERR_INVALID_ARG;
	if (h->mode != SSM_MODE_SAVE || !h->w.in_unit)
		return ssm_fail(h, SSM_ERR_BAD_STATE, "put outside a save callback");
	if (h->status)
		return h->status;
	if (len % SSMF_EXT_PAGE || len > SSMF_EXT_MAX_LEN)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "extent of %zu bytes: not a multiple of "
				"4096 or more than 128 GiB", len);
	w = &h->w;
	/* Mapped back only from a file; compressed data cannot be mapped;
	 * in a live pass the data changes while it is written. */
	if (!len || !w->seekable || w->level != 0 || h->pass != SSM_PASS_FINAL)
		return len ? ssm_w_put(h, base, len) : SSM_OK;
	rc = ssm_w_flush(h);
	return rc ? rc : write_extent(h, base, len);
}

/* ---- Reading -------------------------------------------------------------- */

static int bad_chunk(ssm_handle *h, uint32_t i)
{
	struct ssm_reader *r = &h->r;

	return ssm_fail(h, SSM_ERR_CRC, "unit '%s' instance %u: extent chunk %u (file offset "
			"%llu, %zu bytes) damaged: CRC mismatch", r->unit_name, r->unit_instance,
			i, (unsigned long long)(r->ext_data_off + (uint64_t)i * SSMF_EXT_CHUNK),
			chunk_len(r->ext_len, i));
}

int ssm_x_begin(ssm_handle *h, uint64_t off, uint32_t stored)
{
	struct ssm_reader *r = &h->r;
	const uint8_t *d = r->rbuf;
	uint64_t data_off = le64_get(d), len = le64_get(d + 8), p = off + SSMF_REC_HDR, limit;
	uint32_t chunk = le32_get(d + 16), n = le32_get(d + 20);
	char what[SSM_NAME_MAX + 96];

	snprintf(what, sizeof(what), "unit '%s' instance %u: EXTENT record at offset %llu",
		 r->unit_name, r->unit_instance, (unsigned long long)off);
	if (chunk != SSMF_EXT_CHUNK)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: chunk_size (offset %llu) is %u, must be "
				"%u", what, (unsigned long long)p + 16, chunk, SSMF_EXT_CHUNK);
	if (le32_get(d + 24))
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: reserved (offset %llu) is 0x%x, must be 0",
				what, (unsigned long long)p + 24, le32_get(d + 24));
	if (!len || len % SSMF_EXT_PAGE || len > SSMF_EXT_MAX_LEN)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: len (offset %llu) is %llu, not a non-zero "
				"multiple of 4096 up to 128 GiB", what, (unsigned long long)p + 8,
				(unsigned long long)len);
	if (n != chunks_of(len) || stored != SSMF_EXT_FIXED + 4 * (uint64_t)n)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: nchunks (offset %llu) is %u and stored_len "
				"%u; len %llu needs %u chunks", what, (unsigned long long)p + 20, n,
				stored, (unsigned long long)len, chunks_of(len));
	if (data_off != page_up(r->off))
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: data_off (offset %llu) is %llu, must be "
				"%llu, the first page boundary after the record", what,
				(unsigned long long)p, (unsigned long long)data_off,
				(unsigned long long)page_up(r->off));
	limit = r->unit_data_len == SSMF_DATA_LEN_UNKNOWN ? UINT64_MAX - 1 : r->unit_data_len;
	if (len > limit - r->unit_decoded)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: len %llu takes the unit past the data_len "
				"%llu of its header", what, (unsigned long long)len,
				(unsigned long long)limit);
	/* A file's size is known: the data and what must follow it fit. */
	if (h->file_size && (h->file_size < EXT_TAIL_MIN ||
			     data_off + len > h->file_size - EXT_TAIL_MIN))
		return ssm_fail(h, SSM_ERR_TRUNCATED, "truncated: %s: its %llu data bytes at "
				"offset %llu run past the end of the %llu-byte file", what,
				(unsigned long long)len, (unsigned long long)data_off,
				(unsigned long long)h->file_size);
	if (n > r->ext_crc_cap) {
		uint32_t *c = realloc(r->ext_crc, (size_t)n * sizeof(*c));

		if (!c)
			return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for %u extent CRCs", n);
		r->ext_crc = c;
		r->ext_crc_cap = n;
	}
	for (uint32_t i = 0; i < n; i++)
		r->ext_crc[i] = le32_get(d + SSMF_EXT_FIXED + 4 * i);
	r->ext_data_off = data_off;
	r->ext_len = len;
	r->ext_done = 0;
	r->ext_nchunks = n;
	r->unit_decoded += len;
	r->rec_type = SSMF_REC_EXTENT;
	r->rec_len = r->rec_pos = 0;
	r->rec_off = off;
	return SSM_OK;
}

int ssm_x_chunk(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint32_t i = (uint32_t)(r->ext_done / SSMF_EXT_CHUNK);
	size_t n = chunk_len(r->ext_len, i);
	int rc = SSM_OK;

	/* The pad is covered by no CRC and means nothing: read past it. */
	if (!r->ext_done && r->off < r->ext_data_off)
		rc = ssm_r_read(h, r->rbuf, (size_t)(r->ext_data_off - r->off), "extent padding");
	if (!rc)
		rc = ssm_r_read(h, r->rbuf, n, "extent");
	if (rc)
		return rc;
	if (!ssm_crc_ok(r->ext_crc[i], ssm_crc_of(r->rbuf, n)))
		return bad_chunk(h, i);
	r->rec_type = SSMF_REC_EXTENT;
	r->rec_len = (uint32_t)n;
	r->rec_pos = 0;
	r->rec_off = r->ext_data_off + r->ext_done;
	r->ext_done += n;
	return SSM_OK;
}

/* Every chunk CRC of the current extent, read from fd with pread: faster
 * than through the mapping (no page faults) and leaves it unpopulated. */
static int verify_file(ssm_handle *h, int fd)
{
	struct ssm_reader *r = &h->r;

	for (uint32_t i = 0; i < r->ext_nchunks; i++) {
		size_t n = chunk_len(r->ext_len, i), got = 0;
		uint64_t at = r->ext_data_off + (uint64_t)i * SSMF_EXT_CHUNK;

		if (ssm_cancel_requested(h))
			return ssm_fail(h, SSM_ERR_CANCELLED, "load cancelled");
		while (got < n) {
			ssize_t k = pread(fd, r->rbuf + got, n - got, (off_t)(at + got));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return ssm_fail(h, k ? SSM_ERR_IO : SSM_ERR_TRUNCATED, "unit '%s' "
						"instance %u: reading extent chunk %u at file offset "
						"%llu: %s", r->unit_name, r->unit_instance, i,
						(unsigned long long)(at + got),
						k ? strerror(errno) : "the file ends there");
			got += (size_t)k;
		}
		if (!ssm_crc_ok(r->ext_crc[i], ssm_crc_of(r->rbuf, n)))
			return bad_chunk(h, i);
	}
	return SSM_OK;
}

/* The whole current extent mapped over dst from the caller's fd. */
static int map_extent(ssm_handle *h, void *dst, uint32_t flags)
{
	struct ssm_reader *r = &h->r;
	uint64_t end = r->ext_data_off + r->ext_len;
	int fd = h->lopts.map_fd, rc;
	struct stat sb;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0 ||
	    (uint64_t)sb.st_size != h->file_size)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "map_fd %d is not the %llu-byte file being "
				"loaded", fd, (unsigned long long)h->file_size);
	/* Checked first, so a refused extent leaves dst as it was. */
	if (flags & SSM_EXTENT_VERIFY) {
		rc = verify_file(h, fd);
		if (rc)
			return rc;
	}
	if (mmap(dst, (size_t)r->ext_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)r->ext_data_off) == MAP_FAILED)
		return ssm_fail(h, SSM_ERR_IO, "unit '%s' instance %u: mapping the extent at file "
				"offset %llu: %s", r->unit_name, r->unit_instance,
				(unsigned long long)r->ext_data_off, strerror(errno));
	rc = h->st.ops->seek ? h->st.ops->seek(h->st.user, end) : SSM_ERR_NOT_SUPPORTED;
	if (rc)
		return ssm_fail(h, rc, "seeking past the extent to offset %llu: %s",
				(unsigned long long)end, ssm_strerror(rc));
	r->off = end;
	r->ext_done = r->ext_len;
	r->unit_consumed += r->ext_len;
	r->rec_len = r->rec_pos = 0;
	return SSM_OK;
}

int ssm_get_extent(ssm_handle *h, void *dst, size_t len, uint32_t flags)
{
	struct ssm_reader *r;
	int rc;

	if (!h || (!dst && len) || (flags & ~(SSM_EXTENT_VERIFY | SSM_EXTENT_PREZEROED)))
		return SSM_ERR_INVALID_ARG;
	if (h->mode == SSM_MODE_SAVE || !h->r.in_unit)
		return ssm_fail(h, SSM_ERR_BAD_STATE, "get outside a load callback");
	if (h->status)
		return h->status;
	r = &h->r;
	if (!len)
		return SSM_OK;
	if (r->rec_pos == r->rec_len && r->ext_done == r->ext_len && !r->unit_end_seen) {
		rc = ssm_r_next_record(h);
		if (rc)
			return rc;
	}
	/* A fresh extent of just this size can be mapped; anything else (the
	 * record stream of a pipe, a part of an extent) is read and checked. */
	if (h->lopts.map_extents && h->mode == SSM_MODE_LOAD && r->rec_type == SSMF_REC_EXTENT &&
	    !r->ext_done && r->ext_len == len && !((uintptr_t)dst % SSMF_EXT_PAGE))
		return map_extent(h, dst, flags);
	return ssm_r_get(h, dst, len, flags & SSM_EXTENT_PREZEROED);
}
