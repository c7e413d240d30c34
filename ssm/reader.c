/* reader.c - reads records back, verifying each CRC before any of its
 * bytes is handed out, and checks unit, directory and whole-file CRCs.
 *
 * Lengths from the stream are checked against fixed limits before they are
 * used, so a hostile file cannot make us allocate or read unbounded amounts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

/* Every CRC comparison of the reader goes through here.  A fuzzing build
 * (the usual FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION convention) accepts
 * any CRC so that mutated inputs reach the decoders and unit loaders; all
 * other checks stay. */
bool ssm_crc_ok(uint32_t stored, uint32_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)stored;
	(void)computed;
	return true;
#else
	return stored == computed;
#endif
}

int ssm_r_init(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;

	r->rbuf = malloc(SSMF_REC_MAX);
	r->zbuf_size = SSMF_COMP_STORED_MAX;
	r->zbuf = malloc(r->zbuf_size);
	if (!r->rbuf || !r->zbuf)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for read buffers");
	return SSM_OK;
}

void ssm_r_free(struct ssm_reader *r)
{
	if (r->z_init)
		inflateEnd(&r->z);
	ZSTD_freeDCtx(r->zd);
	free(r->rbuf);
	free(r->zbuf);
	free(r->ext_crc);
	memset(r, 0, sizeof(*r));
}

/* Where we are, for messages: "in unit 'x' instance 0, at offset N". */
static const char *where(ssm_handle *h, uint64_t off, char *buf, size_t len)
{
	if (h->r.in_unit)
		snprintf(buf, len, "in unit '%s' instance %u, at offset %llu", h->r.unit_name,
			 h->r.unit_instance, (unsigned long long)off);
	else
		snprintf(buf, len, "offset %llu", (unsigned long long)off);
	return buf;
}

const char *ssm_r_pos(const ssm_handle *h, char *buf, size_t len)
{
	const struct ssm_reader *r = &h->r;

	if (!r->in_unit)
		snprintf(buf, len, "stream offset %llu", (unsigned long long)r->off);
	else if (r->rec_type == SSMF_REC_RAW)
		snprintf(buf, len, "data offset %llu, stream offset %llu",
			 (unsigned long long)r->unit_consumed,
			 (unsigned long long)(r->rec_off + SSMF_REC_HDR + r->rec_pos));
	else if (r->rec_type)
		snprintf(buf, len, "data offset %llu, in the %s record at stream offset %llu",
			 (unsigned long long)r->unit_consumed,
			 r->rec_type == SSMF_REC_ZLIB ? "ZLIB" :
			 r->rec_type == SSMF_REC_ZSTD ? "ZSTD" :
			 r->rec_type == SSMF_REC_EXTENT ? "EXTENT" :
			 r->rec_type == SSMF_REC_ZERO ? "ZERO" : "END",
			 (unsigned long long)r->rec_off);
	else
		snprintf(buf, len, "data offset %llu, stream offset %llu",
			 (unsigned long long)r->unit_consumed, (unsigned long long)r->off);
	return buf;
}

/* Read n bytes of `what`; a short stream is reported as truncation. */
int ssm_r_read(ssm_handle *h, void *buf, size_t n, const char *what)
{
	uint64_t off = h->r.off;
	char w[128];
	int rc;

	if (h->status)
		return h->status;
	rc = ssm_st_read_exact(h, buf, n);
	if (rc == SSM_ERR_TRUNCATED)
		return ssm_fail(h, rc, "truncated: stream ends inside the %s (%s)", what,
				where(h, off, w, sizeof(w)));
	return rc;
}

static void account(struct ssm_reader *r, uint32_t crc, uint64_t len)
{
	r->file_crc = ssm_crc_cat(r->file_crc, crc, len);
	if (r->in_unit)
		r->unit_crc = ssm_crc_cat(r->unit_crc, crc, len);
}

/* The 32-byte build id is printable ASCII (0x20..0x7E), then only NUL
 * padding.  Returns the index of the first byte breaking that, or -1. */
static int bad_build_id_byte(const uint8_t *id)
{
	int i = 0;

	while (i < SSMF_BUILD_ID_SIZE && id[i] >= 0x20 && id[i] <= 0x7e)
		i++;
	for (; i < SSMF_BUILD_ID_SIZE; i++)
		if (id[i])
			return i;
	return -1;
}

/* A field that must be 0 is not; names the field and its offset. */
static int must_be_zero(ssm_handle *h, const char *what, const char *field, uint64_t off,
			uint64_t v)
{
	return ssm_fail(h, SSM_ERR_FORMAT, "%s: %s (offset %llu) is 0x%llx, must be 0", what,
			field, (unsigned long long)off, (unsigned long long)v);
}

int ssm_r_file_header(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t b[SSMF_FILE_HDR_SIZE];
	int rc = ssm_r_read(h, b, sizeof(b), "file header");
	int bad;

	if (rc)
		return rc;
	if (memcmp(b, SSMF_FILE_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_BAD_MAGIC, "not a saved-state file: bad magic at offset 0");
	r->major = le16_get(b + 8);
	r->minor = le16_get(b + 10);
	/* The major is checked before the CRC: another major may lay the
	 * header out differently, and "unsupported version" is the useful
	 * message then. */
	if (r->major != SSMF_MAJOR)
		return ssm_fail(h, SSM_ERR_FORMAT_MAJOR,
				"saved-state format %u.%u (offset 8) is not supported "
				"(this build reads %u.x)",
				r->major, r->minor, SSMF_MAJOR);
	if (!ssm_crc_ok(le32_get(b + 60), ssm_crc_of(b, 60)))
		return ssm_fail(h, SSM_ERR_CRC, "file header damaged (CRC mismatch at offset 60)");
	r->host_bits = b[12];
	r->little_endian = b[13] == 1;
	r->page_size = le32_get(b + 16);
	memcpy(r->build_id, b + 24, SSMF_BUILD_ID_SIZE);
	r->build_id[SSMF_BUILD_ID_SIZE] = 0;
	if (r->host_bits != 32 && r->host_bits != 64)
		return ssm_fail(h, SSM_ERR_FORMAT, "file header: host_bits (offset 12) is %u, "
				"must be 32 or 64", r->host_bits);
	if (b[13] > 1)
		return ssm_fail(h, SSM_ERR_FORMAT, "file header: endian (offset 13) is %u, "
				"must be 0 or 1", b[13]);
	if (le16_get(b + 14))
		return must_be_zero(h, "file header", "reserved", 14, le16_get(b + 14));
	if (!r->page_size || (r->page_size & (r->page_size - 1)))
		return ssm_fail(h, SSM_ERR_FORMAT, "file header: page_size (offset 16) is %u, "
				"not a power of two", r->page_size);
	if (le32_get(b + 20))
		return must_be_zero(h, "file header", "flags", 20, le32_get(b + 20));
	bad = bad_build_id_byte(b + 24);
	if (bad >= 0)
		return ssm_fail(h, SSM_ERR_FORMAT, "file header: build_id byte at offset %d is "
				"0x%02x: must be printable ASCII followed by NUL padding",
				24 + bad, b[24 + bad]);
	if (le32_get(b + 56))
		return must_be_zero(h, "file header", "reserved", 56, le32_get(b + 56));
	r->file_crc = ssm_crc_of(b, sizeof(b));
	return SSM_OK;
}

int ssm_r_unit_begin(ssm_handle *h, bool *end)
{
	struct ssm_reader *r = &h->r;
	uint8_t b[SSMF_UNIT_FIXED + SSM_NAME_MAX + 4];
	uint64_t off = r->off;
	uint32_t len, nl;
	char what[SSM_NAME_MAX + 64];
	int rc;

	*end = false;
	r->in_unit = false;
	rc = ssm_r_read(h, b, SSMF_UNIT_FIXED, "unit header");
	if (rc)
		return rc;
	if (memcmp(b, SSMF_UNIT_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_FORMAT, "expected a unit header at offset %llu, "
				"found something else (bad magic)", (unsigned long long)off);
	len = le32_get(b + 8);
	nl = le32_get(b + 28);
	if (nl > SSM_NAME_MAX)
		return ssm_fail(h, SSM_ERR_FORMAT, "unit header at offset %llu: name_len "
				"(offset %llu) is %u, more than %u", (unsigned long long)off,
				(unsigned long long)off + 28, nl, SSM_NAME_MAX);
	if (len != SSMF_UNIT_FIXED + nl + 4)
		return ssm_fail(h, SSM_ERR_FORMAT, "unit header at offset %llu: hdr_len "
				"(offset %llu) is %u, name_len %u makes it %u",
				(unsigned long long)off, (unsigned long long)off + 8, len, nl,
				SSMF_UNIT_FIXED + nl + 4);
	rc = ssm_r_read(h, b + SSMF_UNIT_FIXED, nl + 4, "unit header");
	if (rc)
		return rc;
	if (!ssm_crc_ok(le32_get(b + len - 4), ssm_crc_of(b, len - 4)))
		return ssm_fail(h, SSM_ERR_CRC, "unit header at offset %llu damaged (CRC mismatch "
				"at offset %llu)", (unsigned long long)off,
				(unsigned long long)off + len - 4);
	for (uint32_t i = 0; i < nl; i++)
		if (b[SSMF_UNIT_FIXED + i] < 0x20 || b[SSMF_UNIT_FIXED + i] > 0x7e)
			return ssm_fail(h, SSM_ERR_FORMAT, "unit header at offset %llu: name "
					"byte at offset %llu is 0x%02x, not printable ASCII",
					(unsigned long long)off,
					(unsigned long long)off + SSMF_UNIT_FIXED + i,
					b[SSMF_UNIT_FIXED + i]);
	r->unit_flags = le32_get(b + 12);
	r->unit_instance = le32_get(b + 16);
	r->unit_version = le32_get(b + 20);
	r->unit_pass = le32_get(b + 24);
	r->unit_data_len = le64_get(b + SSMF_UNIT_DATA_LEN_OFF);
	if (nl == 0) {
		static const char *const names[] = { "flags", "instance", "version", "pass" };

		for (int i = 0; i < 4; i++)
			if (le32_get(b + 12 + 4 * i))
				return must_be_zero(h, "terminator", names[i], off + 12 + 4 * i,
						    le32_get(b + 12 + 4 * i));
		if (r->unit_data_len)
			return must_be_zero(h, "terminator", "data_len",
					    off + SSMF_UNIT_DATA_LEN_OFF, r->unit_data_len);
		r->file_crc = (uint32_t)crc32(r->file_crc, b, len);
		*end = true;
		return SSM_OK;
	}
	memcpy(r->unit_name, b + SSMF_UNIT_FIXED, nl);
	r->unit_name[nl] = 0;
	snprintf(what, sizeof(what), "unit '%s' instance %u at offset %llu", r->unit_name,
		 r->unit_instance, (unsigned long long)off);
	if (r->unit_flags & ~SSMF_UNIT_F_OPTIONAL)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: flags (offset %llu) are 0x%x, only bit 0 "
				"(optional) is defined", what, (unsigned long long)off + 12,
				r->unit_flags);
	r->unit_off = off;
	r->in_unit = true;
	r->unit_end_seen = false;
	r->unit_consumed = 0;
	r->unit_decoded = 0;
	r->unit_recs = 0;
	r->unit_crc = ssm_crc_of(b, len);
	r->file_crc = ssm_crc_cat(r->file_crc, r->unit_crc, len);
	r->rec_type = 0;
	r->rec_len = r->rec_pos = 0;
	r->rec_off = off + len;
	r->ext_len = r->ext_done = 0;
	return SSM_OK;
}

static int inflate_rec(ssm_handle *h, uint32_t stored, uint32_t decoded, uint64_t off)
{
	struct ssm_reader *r = &h->r;
	char w[128];
	int zrc;

	if (!r->z_init) {
		if (inflateInit2(&r->z, -15) != Z_OK)
			return ssm_fail(h, SSM_ERR_NOMEM, "zlib inflateInit failed (%s)",
					where(h, off, w, sizeof(w)));
		r->z_init = true;
	}
	inflateReset(&r->z);
	r->z.next_in = r->zbuf;
	r->z.avail_in = stored;
	r->z.next_out = r->rbuf;
	r->z.avail_out = decoded;
	zrc = inflate(&r->z, Z_FINISH);
	if (zrc == Z_STREAM_END && !r->z.avail_out && r->z.avail_in)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZLIB record: %u stored bytes follow the end "
				"of the DEFLATE data (%s)", r->z.avail_in,
				where(h, off, w, sizeof(w)));
	if (zrc == Z_STREAM_END && r->z.avail_out)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZLIB record inflates to %u bytes, its "
				"decoded_len (offset %llu) says %u (%s)", decoded - r->z.avail_out,
				(unsigned long long)off + 8, decoded, where(h, off, w, sizeof(w)));
	if (zrc != Z_STREAM_END)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZLIB record does not inflate to its "
				"decoded_len (offset %llu) of %u bytes: %s (%s)",
				(unsigned long long)off + 8, decoded,
				zrc == Z_BUF_ERROR && !r->z.avail_out ? "more data or truncated"
				: "invalid DEFLATE data", where(h, off, w, sizeof(w)));
	return SSM_OK;
}

/* A ZSTD record: exactly one frame, ending at the last stored byte, whose
 * header gives a content size equal to decoded_len, no dictionary and a
 * window of at most 2^SSMF_ZSTD_WINDOW_LOG_MAX bytes; it is decoded into a buffer
 * of exactly decoded_len bytes, so no frame can make the reader write, or
 * allocate for a window, more than the format's 1 MiB record. */
static int unzstd_rec(ssm_handle *h, uint32_t stored, uint32_t decoded, uint64_t off)
{
	struct ssm_reader *r = &h->r;
	unsigned long long fcs;
	size_t got;
	char w[128];

	if (stored < 4 || le32_get(r->zbuf) != ZSTD_MAGICNUMBER)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: payload (offset %llu) is not "
				"a zstd frame: bad magic (%s)", (unsigned long long)off + SSMF_REC_HDR,
				where(h, off, w, sizeof(w)));
	fcs = ZSTD_getFrameContentSize(r->zbuf, stored);
	if (fcs == ZSTD_CONTENTSIZE_ERROR)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: frame header (offset %llu) is "
				"invalid or truncated (%s)", (unsigned long long)off + SSMF_REC_HDR,
				where(h, off, w, sizeof(w)));
	if (fcs != decoded)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: frame content size is %s%llu, "
				"its decoded_len (offset %llu) says %u (%s)",
				fcs == ZSTD_CONTENTSIZE_UNKNOWN ? "not given, " : "",
				fcs == ZSTD_CONTENTSIZE_UNKNOWN ? 0ull : fcs,
				(unsigned long long)off + 8, decoded, where(h, off, w, sizeof(w)));
	if (ZSTD_getDictID_fromFrame(r->zbuf, stored))
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: frame needs dictionary %u; "
				"records use none (%s)", ZSTD_getDictID_fromFrame(r->zbuf, stored),
				where(h, off, w, sizeof(w)));
	/* The window: the content size in a single-segment frame (then at
	 * most decoded_len), else the descriptor byte after the header's
	 * first byte (RFC 8878 3.1.1.1.2).  Decoding whole records needs no
	 * window buffer, but a reader that streams would. */
	if (!(r->zbuf[4] & 0x20)) {
		uint8_t wd = r->zbuf[5];
		uint64_t base = 1ull << (10 + (wd >> 3)), win = base + base / 8 * (wd & 7);

		if (win > 1ull << SSMF_ZSTD_WINDOW_LOG_MAX)
			return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: frame window (offset "
					"%llu) is %llu bytes, more than %u (%s)",
					(unsigned long long)off + SSMF_REC_HDR + 5,
					(unsigned long long)win, 1u << SSMF_ZSTD_WINDOW_LOG_MAX,
					where(h, off, w, sizeof(w)));
	}
	got = ZSTD_findFrameCompressedSize(r->zbuf, stored);
	if (!ZSTD_isError(got) && got != stored)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record: %zu stored bytes follow the end "
				"of the zstd frame (%s)", stored - got, where(h, off, w, sizeof(w)));
	if (!r->zd) {
		r->zd = ZSTD_createDCtx();
		if (!r->zd || ZSTD_isError(ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax,
								   SSMF_ZSTD_WINDOW_LOG_MAX)))
			return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for zstd (%s)",
					where(h, off, w, sizeof(w)));
	}
	got = ZSTD_decompressDCtx(r->zd, r->rbuf, decoded, r->zbuf, stored);
	if (ZSTD_isError(got))
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record does not decode to its "
				"decoded_len (offset %llu) of %u bytes: %s (%s)",
				(unsigned long long)off + 8, decoded, ZSTD_getErrorName(got),
				where(h, off, w, sizeof(w)));
	if (got != decoded)
		return ssm_fail(h, SSM_ERR_COMPRESS, "ZSTD record decodes to %zu bytes, its "
				"decoded_len (offset %llu) says %u (%s)", got,
				(unsigned long long)off + 8, decoded, where(h, off, w, sizeof(w)));
	return SSM_OK;
}

/* The END record against what the unit's records held. */
static int check_end(ssm_handle *h, const uint8_t *endp, uint64_t off)
{
	struct ssm_reader *r = &h->r;
	uint64_t dlen = le64_get(endp);
	char w[128];

	where(h, off, w, sizeof(w));
	if (!ssm_crc_ok(le32_get(endp + 8), r->unit_crc))
		return ssm_fail(h, SSM_ERR_CRC, "END record: unit_crc (offset %llu) mismatch: "
				"records missing, reordered or damaged (%s)",
				(unsigned long long)off + 24, w);
	if (le32_get(endp + 12) != r->unit_recs)
		return ssm_fail(h, SSM_ERR_FORMAT, "END record: record_count (offset %llu) is %u, "
				"the unit has %u data records (%s)", (unsigned long long)off + 28,
				le32_get(endp + 12), r->unit_recs, w);
	if (dlen != r->unit_decoded)
		return ssm_fail(h, SSM_ERR_FORMAT, "END record: data_len (offset %llu) is %llu, "
				"the unit's records decode to %llu bytes (%s)",
				(unsigned long long)off + 16, (unsigned long long)dlen,
				(unsigned long long)r->unit_decoded, w);
	if (r->unit_data_len != SSMF_DATA_LEN_UNKNOWN && r->unit_data_len != dlen)
		return ssm_fail(h, SSM_ERR_FORMAT, "unit header: data_len (offset %llu) is %llu, "
				"the unit's records decode to %llu bytes (%s)",
				(unsigned long long)r->unit_off + SSMF_UNIT_DATA_LEN_OFF,
				(unsigned long long)r->unit_data_len, (unsigned long long)dlen, w);
	return SSM_OK;
}

int ssm_r_next_record(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t hd[SSMF_REC_HDR], endp[SSMF_END_PAYLOAD];
	uint64_t off = r->off, limit;
	uint32_t stored, decoded, pcrc = 0, full;
	uint8_t type, *dst;
	char w[128];
	int rc;

	if (r->unit_end_seen)
		return SSM_OK;
	if (r->ext_done < r->ext_len)
		return ssm_x_chunk(h);
	rc = ssm_r_read(h, hd, sizeof(hd), "record header");
	if (rc)
		return rc;
	type = hd[0];
	stored = le32_get(hd + 4);
	decoded = le32_get(hd + 8);
	switch (type) {
	case SSMF_REC_RAW:
		if (stored != decoded || !stored || stored > SSMF_REC_MAX)
			goto bad_len;
		dst = r->rbuf;
		break;
	case SSMF_REC_ZLIB:
		if (!stored || stored > SSMF_ZLIB_STORED_MAX || !decoded || decoded > SSMF_REC_MAX)
			goto bad_len;
		dst = r->zbuf;
		break;
	case SSMF_REC_ZSTD:
		if (!stored || stored > SSMF_ZSTD_STORED_MAX || !decoded || decoded > SSMF_REC_MAX)
			goto bad_len;
		dst = r->zbuf;
		break;
	case SSMF_REC_ZERO:
		if (stored || !decoded)
			goto bad_len;
		dst = NULL;
		break;
	case SSMF_REC_EXTENT:
		if (decoded || stored < SSMF_EXT_FIXED + 4 ||
		    stored > SSMF_EXT_FIXED + 4 * SSMF_EXT_MAX_CHUNKS)
			goto bad_len;
		dst = r->rbuf;
		break;
	case SSMF_REC_END:
		if (stored != SSMF_END_PAYLOAD || decoded)
			goto bad_len;
		dst = endp;
		break;
	default:
		return ssm_fail(h, SSM_ERR_FORMAT, "record type (offset %llu) 0x%02x is unknown "
				"(%s)", (unsigned long long)off, type, where(h, off, w, sizeof(w)));
	}
	if (hd[1])
		return must_be_zero(h, where(h, off, w, sizeof(w)), "record flags", off + 1, hd[1]);
	if (le16_get(hd + 2))
		return must_be_zero(h, where(h, off, w, sizeof(w)), "record reserved", off + 2,
				    le16_get(hd + 2));
	/* Bounds on the unit as a whole, before reading the payload: no
	 * more data than the header's data_len (where known), no count or
	 * sum that wraps. */
	limit = r->unit_data_len == SSMF_DATA_LEN_UNKNOWN ? UINT64_MAX - 1 : r->unit_data_len;
	if (type != SSMF_REC_END && decoded > limit - r->unit_decoded)
		return ssm_fail(h, SSM_ERR_FORMAT, "record decoded_len (offset %llu) %u takes the "
				"unit past the data_len %llu of its header (offset %llu) (%s)",
				(unsigned long long)off + 8, decoded, (unsigned long long)limit,
				(unsigned long long)r->unit_off + SSMF_UNIT_DATA_LEN_OFF,
				where(h, off, w, sizeof(w)));
	if (type != SSMF_REC_END && r->unit_recs == UINT32_MAX)
		return ssm_fail(h, SSM_ERR_FORMAT, "more than %u data records in one unit (%s)",
				UINT32_MAX, where(h, off, w, sizeof(w)));
	if (stored) {
		rc = ssm_r_read(h, dst, stored, "record");
		if (rc)
			return rc;
		pcrc = ssm_crc_of(dst, stored);
	}
	if (!ssm_crc_ok(le32_get(hd + 12), ssm_crc_cat(ssm_crc_of(hd, 12), pcrc, stored)))
		return ssm_fail(h, SSM_ERR_CRC, "record damaged: CRC mismatch at offset %llu (%s)",
				(unsigned long long)off + 12, where(h, off, w, sizeof(w)));
	full = ssm_crc_cat(ssm_crc_of(hd, sizeof(hd)), pcrc, stored);
	if (type == SSMF_REC_END) {
		/* The unit CRC covers what came before this record. */
		rc = check_end(h, endp, off);
		if (rc)
			return rc;
		r->unit_end_seen = true;
		r->unit_data_len = r->unit_decoded;
		r->file_crc = ssm_crc_cat(r->file_crc, full, sizeof(hd) + stored);
		r->rec_type = type;
		r->rec_len = r->rec_pos = 0;
		r->rec_off = off;
		return SSM_OK;
	}
	account(r, full, sizeof(hd) + (uint64_t)stored);
	r->unit_kinds |= 1u << (type & 31);
	r->unit_recs++;
	if (type == SSMF_REC_EXTENT)
		return ssm_x_begin(h, off, stored);
	r->unit_decoded += decoded;
	if (type == SSMF_REC_ZLIB || type == SSMF_REC_ZSTD) {
		rc = type == SSMF_REC_ZLIB ? inflate_rec(h, stored, decoded, off) :
		     unzstd_rec(h, stored, decoded, off);
		if (rc)
			return rc;
	}
	r->rec_type = type;
	r->rec_len = decoded;
	r->rec_pos = 0;
	r->rec_off = off;
	return SSM_OK;

bad_len:
	return ssm_fail(h, SSM_ERR_FORMAT, "record type 0x%02x has impossible lengths: "
			"stored_len (offset %llu) %u, decoded_len (offset %llu) %u (%s)", type,
			(unsigned long long)off + 4, stored, (unsigned long long)off + 8, decoded,
			where(h, off, w, sizeof(w)));
}

int ssm_r_get(ssm_handle *h, void *buf, size_t n, bool prezeroed)
{
	struct ssm_reader *r = &h->r;
	uint8_t *p = buf;
	size_t want = n;
	int rc;

	if (h->mode == SSM_MODE_SAVE || !r->in_unit)
		return ssm_fail(h, SSM_ERR_BAD_STATE, "get outside a load callback");
	if (h->status)
		return h->status;
	while (n) {
		if (r->rec_pos == r->rec_len) {
			rc = ssm_r_next_record(h);
			if (rc)
				return rc;
			if (r->unit_end_seen)
				return ssm_set_load_error(h, SSM_ERR_READ_PAST_END,
					"read past the end of its data (%zu bytes wanted, %zu "
					"available, data offset %llu)", want, want - n,
					(unsigned long long)(r->unit_consumed - (want - n)));
		}
		size_t take = r->rec_len - r->rec_pos;

		if (take > n)
			take = n;
		if (p) {
			if (r->rec_type != SSMF_REC_ZERO)
				memcpy(p, r->rbuf + r->rec_pos, take);
			else if (!prezeroed)
				memset(p, 0, take);
			p += take;
		}
		r->rec_pos += (uint32_t)take;
		r->unit_consumed += take;
		n -= take;
	}
	return SSM_OK;
}

int ssm_r_skip(ssm_handle *h, uint64_t n)
{
	while (n) {
		size_t chunk = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
		int rc = ssm_r_get(h, NULL, chunk, true);

		if (rc)
			return rc;
		n -= chunk;
	}
	return SSM_OK;
}

int ssm_r_unit_skip_rest(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;

	/* The unread tail of the current record counts as consumed too. */
	r->unit_consumed += r->rec_len - r->rec_pos;
	r->rec_pos = r->rec_len;
	while (!r->unit_end_seen) {
		int rc = ssm_r_next_record(h);

		if (rc)
			return rc;
		r->unit_consumed += r->rec_len;
		r->rec_pos = r->rec_len;
	}
	return SSM_OK;
}

int ssm_r_unit_end(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	int rc;

	if (h->status)
		return h->status;
	if (r->rec_pos == r->rec_len && !r->unit_end_seen) {
		rc = ssm_r_next_record(h);
		if (rc)
			return rc;
	}
	if (!r->unit_end_seen || r->rec_pos != r->rec_len) {
		char w[128];

		return ssm_fail(h, SSM_ERR_DATA_LEFT, "load left data unread (%s, %llu bytes "
				"read)", where(h, r->unit_off, w, sizeof(w)),
				(unsigned long long)r->unit_consumed);
	}
	r->in_unit = false;
	return SSM_OK;
}
