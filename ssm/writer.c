/* writer.c - turns put_* data into checksummed records on the stream.
 *
 * Data accumulates in a 1 MiB record buffer; 4 KiB blocks of zeros become
 * zero-run records instead; a full buffer is written as a RAW record, or a
 * ZLIB or ZSTD one when compression is on and it helps (compressed by the
 * threads of wpool.c, written in order).  Large uncompressed puts
 * bypass the buffer, except in live passes: there the data is copied
 * first so what is checksummed is what is written.  CRCs of larger spans (unit, file) are combined from
 * record CRCs so that every byte is checksummed exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

#define ZBLOCK 4096u  /* zero-detection granule: one page */
#define ZERO_REC_MAX 0xfffff000u


int ssm_w_init(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;
	uint64_t pos;
	bool zstd = h->sopts.codec == SSM_CODEC_ZSTD;

	w->level = h->sopts.compression;
	if (h->sopts.codec != SSM_CODEC_ZLIB && !zstd)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "ssm_save_opts.codec %d is neither "
				"zlib (0) nor zstd (1)", (int)h->sopts.codec);
	if (!zstd && (w->level < 0 || w->level > 9))
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "compression level %d not in 0..9",
				w->level);
	if (zstd && (w->level < -7 || w->level > 19))
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "zstd compression level %d not in "
				"-7..19", w->level);
	w->rec = malloc(SSMF_REC_HDR + SSMF_REC_MAX);
	if (!w->rec)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the record buffer");
	if (w->level && ssm_wpool_new(h, &w->pool))
		return h->status;
	/* Patching unit headers needs seek; a stream that cannot (pipe,
	 * socket) gets data_len "unknown" and the END record says it. */
	w->seekable = h->st.ops->seek && h->st.ops->tell &&
		      h->st.ops->tell(h->st.user, &pos) == SSM_OK && pos == 0 &&
		      h->st.ops->seek(h->st.user, 0) == SSM_OK;
	return SSM_OK;
}

void ssm_w_free(struct ssm_writer *w)
{
	ssm_wpool_free(w->pool);
	free(w->rec);
	free(w->dir);
	memset(w, 0, sizeof(*w));
}

int ssm_w_file_header(ssm_handle *h)
{
	uint8_t b[SSMF_FILE_HDR_SIZE] = { 0 };
	unsigned bits = ssm_handle_host_bits(h);
	static const char build[] = "libssm 1.0 " __VERSION__;
	int rc;

	if (bits != 32 && bits != 64)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "host_bits %u is not 32 or 64", bits);
	memcpy(b, SSMF_FILE_MAGIC, 8);
	le16_put(b + 8, SSMF_MAJOR);
	le16_put(b + 10, SSMF_MINOR);
	b[12] = (uint8_t)bits;
	b[13] = 1; /* little-endian host */
	le32_put(b + 16, 4096);
	/* The format allows only printable ASCII here; a compiler's version
	 * string is not ours to trust, so anything else becomes '?'. */
	for (size_t i = 0; i < sizeof(build) - 1 && i < SSMF_BUILD_ID_SIZE; i++)
		b[24 + i] = build[i] >= 0x20 && build[i] <= 0x7e ? (uint8_t)build[i] : '?';
	le32_put(b + 60, ssm_crc_of(b, 60));
	rc = ssm_st_write(h, b, sizeof(b));
	if (rc)
		return rc;
	h->w.file_crc = ssm_crc_of(b, sizeof(b));
	return SSM_OK;
}

/* Write one record.  hdr is either SSMF_REC_HDR bytes of room right before
 * payload (one write) or NULL (header and payload written separately).
 * Returns the CRC of the record's bytes as written, via *full. */
static int emit(ssm_handle *h, uint8_t type, const uint8_t *payload, uint32_t stored,
		uint32_t decoded, uint8_t *hdr, uint32_t *full)
{
	uint8_t local[SSMF_REC_HDR];
	uint8_t *hd = hdr ? hdr : local;
	uint32_t pcrc = stored ? ssm_crc_of(payload, stored) : 0;
	int rc;

	hd[0] = type;
	hd[1] = 0;
	le16_put(hd + 2, 0);
	le32_put(hd + 4, stored);
	le32_put(hd + 8, decoded);
	le32_put(hd + 12, ssm_crc_cat(ssm_crc_of(hd, 12), pcrc, stored));
	*full = ssm_crc_cat(ssm_crc_of(hd, SSMF_REC_HDR), pcrc, stored);
	if (hdr) {
		rc = ssm_st_write(h, hd, SSMF_REC_HDR + (size_t)stored);
	} else {
		rc = ssm_st_write(h, hd, SSMF_REC_HDR);
		if (!rc && stored)
			rc = ssm_st_write(h, payload, stored);
	}
	return rc;
}

int ssm_w_emit_data(ssm_handle *h, uint8_t type, const uint8_t *payload, uint32_t stored,
		    uint32_t decoded, uint8_t *hdr)
{
	uint32_t full;
	int rc = emit(h, type, payload, stored, decoded, hdr, &full);

	if (rc)
		return rc;
	ssm_w_count_record(h, full, SSMF_REC_HDR + (uint64_t)stored);
	return SSM_OK;
}

static int flush_zero(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;

	while (w->zero_run) {
		uint32_t n = w->zero_run > ZERO_REC_MAX ? ZERO_REC_MAX : (uint32_t)w->zero_run;
		int rc = w->pool ? ssm_wpool_zero(h, n) :
			 ssm_w_emit_data(h, SSMF_REC_ZERO, NULL, 0, n, NULL);

		if (rc)
			return rc;
		w->zero_run -= n;
	}
	return SSM_OK;
}

static int flush_rec(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;
	uint32_t n = w->rec_fill;

	if (!n)
		return SSM_OK;
	w->rec_fill = 0;
	if (w->pool)
		return ssm_wpool_submit(h, &w->rec, n);
	return ssm_w_emit_data(h, SSMF_REC_RAW, w->rec + SSMF_REC_HDR, n, n, w->rec);
}

/* The OR of 64-bit words vectorises well and exits at the first non-zero
 * 256-byte slice, so random data costs almost nothing to test. */
bool ssm_w_page_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < ZBLOCK; i += 256) {
		uint64_t acc = 0;

		for (size_t j = 0; j < 256; j += 8) {
			uint64_t v;

			memcpy(&v, p + i + j, 8);
			acc |= v;
		}
		if (acc)
			return false;
	}
	return true;
}

int ssm_w_put(ssm_handle *h, const void *buf, size_t n)
{
	struct ssm_writer *w = &h->w;
	const uint8_t *p = buf;
	size_t total = n;
	int rc;

	if (h->mode != SSM_MODE_SAVE || !w->in_unit)
		return ssm_fail(h, SSM_ERR_BAD_STATE, "put outside a save callback");
	if (h->status)
		return h->status;
	while (n) {
		size_t chunk = n < ZBLOCK ? n : ZBLOCK;

		if (chunk == ZBLOCK && ssm_w_page_is_zero(p)) {
			rc = flush_rec(h);
			if (rc)
				return rc;
			w->zero_run += ZBLOCK;
			p += ZBLOCK;
			n -= ZBLOCK;
			continue;
		}
		rc = flush_zero(h);
		if (rc)
			return rc;
		/* Straight from the caller's memory only when it cannot change
		 * between checksum and write: not in a live pass, where it is
		 * the RAM of a running guest. */
		if (w->rec_fill == 0 && w->level == 0 && n >= SSMF_REC_MAX &&
		    h->pass == SSM_PASS_FINAL) {
			size_t run = chunk;

			while (run < SSMF_REC_MAX && !ssm_w_page_is_zero(p + run))
				run += ZBLOCK;
			if (run == SSMF_REC_MAX) {
				rc = ssm_w_emit_data(h, SSMF_REC_RAW, p, SSMF_REC_MAX, SSMF_REC_MAX, NULL);
				if (rc)
					return rc;
				p += run;
				n -= run;
				continue;
			}
			chunk = run;
		}
		size_t take = SSMF_REC_MAX - w->rec_fill;

		if (take > chunk)
			take = chunk;
		memcpy(w->rec + SSMF_REC_HDR + w->rec_fill, p, take);
		w->rec_fill += (uint32_t)take;
		p += take;
		n -= take;
		if (w->rec_fill == SSMF_REC_MAX) {
			rc = flush_rec(h);
			if (rc)
				return rc;
		}
	}
	w->unit_data += total;
	if (h->unit)
		ssm_progress(h, h->prog_base + (w->unit_data < h->unit->size_guess ?
						w->unit_data : h->unit->size_guess));
	return SSM_OK;
}

int ssm_w_flush(ssm_handle *h)
{
	int rc = flush_rec(h);

	return rc ? rc : flush_zero(h);
}

void ssm_w_count_record(ssm_handle *h, uint32_t full_crc, uint64_t bytes)
{
	struct ssm_writer *w = &h->w;

	w->recs_crc = ssm_crc_cat(w->recs_crc, full_crc, bytes);
	w->recs_len += bytes;
	w->unit_recs++;
}

static void put_unit_header(uint8_t *b, uint32_t flags, uint32_t instance, uint32_t version,
			    uint32_t pass, const char *name, uint32_t name_len,
			    uint64_t data_len)
{
	uint32_t len = SSMF_UNIT_FIXED + name_len + 4;

	memcpy(b, SSMF_UNIT_MAGIC, 8);
	le32_put(b + 8, len);
	le32_put(b + 12, flags);
	le32_put(b + 16, instance);
	le32_put(b + 20, version);
	le32_put(b + 24, pass);
	le32_put(b + 28, name_len);
	le64_put(b + SSMF_UNIT_DATA_LEN_OFF, data_len);
	memcpy(b + SSMF_UNIT_FIXED, name, name_len);
	le32_put(b + len - 4, ssm_crc_of(b, len - 4));
}

int ssm_w_unit_begin(ssm_handle *h, const struct ssm_unit *u, uint32_t pass)
{
	struct ssm_writer *w = &h->w;
	uint32_t nl = (uint32_t)strlen(u->name);

	put_unit_header(w->uhdr, u->flags & SSMF_UNIT_F_OPTIONAL, u->instance, u->version,
			pass, u->name, nl, SSMF_DATA_LEN_UNKNOWN);
	w->uhdr_len = SSMF_UNIT_FIXED + nl + 4;
	w->unit_off = w->off;
	w->in_unit = true;
	w->unit_data = 0;
	w->unit_recs = 0;
	w->recs_crc = 0;
	w->recs_len = 0;
	return ssm_st_write(h, w->uhdr, w->uhdr_len);
}

/* Rewrite the unit header in place now that data_len is known. */
static int patch_header(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;
	const ssm_stream_ops *ops = h->st.ops;
	uint32_t len = w->uhdr_len;
	int rc;

	le64_put(w->uhdr + SSMF_UNIT_DATA_LEN_OFF, w->unit_data);
	le32_put(w->uhdr + len - 4, ssm_crc_of(w->uhdr, len - 4));
	rc = ops->seek(h->st.user, w->unit_off);
	if (!rc)
		rc = ops->write(h->st.user, w->uhdr, len);
	if (!rc)
		rc = ops->seek(h->st.user, w->off);
	if (rc)
		return ssm_fail(h, rc, "patching the unit header at offset %llu: %s",
				(unsigned long long)w->unit_off, ssm_strerror(rc));
	return SSM_OK;
}

static int dir_add(ssm_handle *h, const uint8_t *uhdr)
{
	struct ssm_writer *w = &h->w;
	uint32_t nl = le32_get(uhdr + 28);
	size_t need = SSMF_DIR_ENTRY_FIXED + nl;
	uint8_t *e;

	/* Readers refuse a directory past SSMF_DIR_MAX: never write one. */
	if (w->dir_len + need > SSMF_DIR_MAX - SSMF_DIR_HDR - 4)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "unit record %u would make the "
				"directory larger than %u bytes (too many live passes)",
				w->dir_count, SSMF_DIR_MAX);
	if (w->dir_len + need > w->dir_cap) {
		size_t cap = w->dir_cap ? w->dir_cap * 2 : 1024;
		uint8_t *d;

		while (cap < w->dir_len + need)
			cap *= 2;
		d = realloc(w->dir, cap);
		if (!d)
			return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
		w->dir = d;
		w->dir_cap = cap;
	}
	e = w->dir + w->dir_len;
	le64_put(e, w->unit_off);
	le64_put(e + 8, w->unit_data);
	le32_put(e + 16, le32_get(uhdr + 16));  /* instance */
	le32_put(e + 20, le32_get(uhdr + 20));  /* version */
	le32_put(e + 24, le32_get(uhdr + 24));  /* pass */
	le32_put(e + 28, le32_get(uhdr + 12));  /* flags */
	le32_put(e + 32, nl);
	memcpy(e + SSMF_DIR_ENTRY_FIXED, uhdr + SSMF_UNIT_FIXED, nl);
	w->dir_len += need;
	w->dir_count++;
	return SSM_OK;
}

int ssm_w_unit_end(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;
	uint8_t end[SSMF_REC_HDR + SSMF_END_PAYLOAD];
	uint32_t unit_crc, full;
	int rc;

	if (!w->in_unit)
		return ssm_fail(h, SSM_ERR_BAD_STATE, "unit end without unit");
	w->in_unit = false;
	rc = flush_rec(h);
	if (!rc)
		rc = flush_zero(h);
	if (!rc && w->pool)
		rc = ssm_wpool_drain(h);
	if (!rc && w->seekable)
		rc = patch_header(h);
	if (rc)
		return rc;
	unit_crc = ssm_crc_cat(ssm_crc_of(w->uhdr, w->uhdr_len), w->recs_crc, w->recs_len);
	w->file_crc = ssm_crc_cat(w->file_crc, unit_crc, w->uhdr_len + w->recs_len);
	le64_put(end + SSMF_REC_HDR, w->unit_data);
	le32_put(end + SSMF_REC_HDR + 8, unit_crc);
	le32_put(end + SSMF_REC_HDR + 12, w->unit_recs);
	rc = emit(h, SSMF_REC_END, end + SSMF_REC_HDR, SSMF_END_PAYLOAD, 0, end, &full);
	if (rc)
		return rc;
	w->file_crc = ssm_crc_cat(w->file_crc, full, sizeof(end));
	return dir_add(h, w->uhdr);
}

int ssm_w_finish(ssm_handle *h)
{
	struct ssm_writer *w = &h->w;
	uint8_t term[SSMF_UNIT_FIXED + 4], dh[SSMF_DIR_HDR], crcb[4];
	uint8_t foot[SSMF_FOOTER_SIZE] = { 0 };
	uint64_t dir_off;
	uint32_t dcrc;
	int rc;

	put_unit_header(term, 0, 0, 0, 0, "", 0, 0);
	rc = ssm_st_write(h, term, sizeof(term));
	if (rc)
		return rc;
	w->file_crc = (uint32_t)crc32(w->file_crc, term, sizeof(term));

	dir_off = w->off;
	memcpy(dh, SSMF_DIR_MAGIC, 8);
	le32_put(dh + 8, w->dir_count);
	le32_put(dh + 12, 0);
	/* crc32() with a NULL buffer returns the initial value, hence the test. */
	dcrc = ssm_crc_of(dh, sizeof(dh));
	if (w->dir_len)
		dcrc = (uint32_t)crc32(dcrc, w->dir, (uInt)w->dir_len);
	le32_put(crcb, dcrc);
	rc = ssm_st_write(h, dh, sizeof(dh));
	if (!rc && w->dir_len)
		rc = ssm_st_write(h, w->dir, w->dir_len);
	if (!rc)
		rc = ssm_st_write(h, crcb, 4);
	if (rc)
		return rc;
	w->file_crc = ssm_crc_cat(w->file_crc, dcrc, sizeof(dh) + w->dir_len);
	w->file_crc = (uint32_t)crc32(w->file_crc, crcb, 4);

	memcpy(foot, SSMF_FOOTER_MAGIC, 8);
	le64_put(foot + 8, dir_off);
	le32_put(foot + 16, w->dir_count);
	le32_put(foot + 24, w->file_crc);
	le32_put(foot + 28, ssm_crc_of(foot, 28));
	return ssm_st_write(h, foot, sizeof(foot));
}
