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
	r->zbuf_size = compressBound(SSMF_REC_MAX);
	r->zbuf = malloc(r->zbuf_size);
	if (!r->rbuf || !r->zbuf)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for read buffers");
	return SSM_OK;
}

void ssm_r_free(struct ssm_reader *r)
{
	if (r->z_init)
		inflateEnd(&r->z);
	free(r->rbuf);
	free(r->zbuf);
	memset(r, 0, sizeof(*r));
}

/* Where we are, for messages: "unit 'x' instance 0, offset N". */
static const char *where(ssm_handle *h, uint64_t off, char *buf, size_t len)
{
	if (h->r.in_unit)
		snprintf(buf, len, "unit '%s' instance %u at offset %llu", h->r.unit_name,
			 h->r.unit_instance, (unsigned long long)off);
	else
		snprintf(buf, len, "offset %llu", (unsigned long long)off);
	return buf;
}

/* Read n bytes of `what`; a short stream is reported as truncation. */
static int rd(ssm_handle *h, void *buf, size_t n, const char *what)
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

int ssm_r_file_header(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t b[SSMF_FILE_HDR_SIZE];
	int rc = rd(h, b, sizeof(b), "file header");

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
		return ssm_fail(h, SSM_ERR_CRC, "file header damaged (CRC mismatch at offset 0)");
	r->host_bits = b[12];
	r->little_endian = b[13] == 1;
	r->page_size = le32_get(b + 16);
	memcpy(r->build_id, b + 24, SSMF_BUILD_ID_SIZE);
	r->build_id[SSMF_BUILD_ID_SIZE] = 0;
	if ((r->host_bits != 32 && r->host_bits != 64) || b[13] > 1 ||
	    !r->page_size || (r->page_size & (r->page_size - 1)))
		return ssm_fail(h, SSM_ERR_FORMAT, "file header has impossible host facts "
				"(bits %u, endian %u, page size %u)", r->host_bits, b[13],
				r->page_size);
	r->file_crc = ssm_crc_of(b, sizeof(b));
	return SSM_OK;
}

int ssm_r_unit_begin(ssm_handle *h, bool *end)
{
	struct ssm_reader *r = &h->r;
	uint8_t b[SSMF_UNIT_FIXED + SSM_NAME_MAX + 4];
	uint64_t off = r->off;
	uint32_t len, nl;
	int rc;

	*end = false;
	rc = rd(h, b, SSMF_UNIT_FIXED, "unit header");
	if (rc)
		return rc;
	if (memcmp(b, SSMF_UNIT_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_FORMAT, "expected a unit header at offset %llu, "
				"found something else", (unsigned long long)off);
	len = le32_get(b + 8);
	nl = le32_get(b + 28);
	if (nl > SSM_NAME_MAX || len != SSMF_UNIT_FIXED + nl + 4)
		return ssm_fail(h, SSM_ERR_FORMAT, "unit header at offset %llu has bad lengths "
				"(header %u, name %u)", (unsigned long long)off, len, nl);
	rc = rd(h, b + SSMF_UNIT_FIXED, nl + 4, "unit header");
	if (rc)
		return rc;
	if (!ssm_crc_ok(le32_get(b + len - 4), ssm_crc_of(b, len - 4)))
		return ssm_fail(h, SSM_ERR_CRC, "unit header at offset %llu damaged (CRC mismatch)",
				(unsigned long long)off);
	for (uint32_t i = 0; i < nl; i++)
		if (b[SSMF_UNIT_FIXED + i] < 0x20 || b[SSMF_UNIT_FIXED + i] > 0x7e)
			return ssm_fail(h, SSM_ERR_FORMAT, "unit header at offset %llu: name "
					"has a non-printable byte", (unsigned long long)off);
	r->unit_flags = le32_get(b + 12);
	r->unit_instance = le32_get(b + 16);
	r->unit_version = le32_get(b + 20);
	r->unit_pass = le32_get(b + 24);
	r->unit_data_len = le64_get(b + SSMF_UNIT_DATA_LEN_OFF);
	if (nl == 0) {
		if (r->unit_flags || r->unit_instance || r->unit_version || r->unit_pass ||
		    r->unit_data_len)
			return ssm_fail(h, SSM_ERR_FORMAT, "terminator at offset %llu has "
					"non-zero fields", (unsigned long long)off);
		r->file_crc = (uint32_t)crc32(r->file_crc, b, len);
		*end = true;
		return SSM_OK;
	}
	memcpy(r->unit_name, b + SSMF_UNIT_FIXED, nl);
	r->unit_name[nl] = 0;
	r->unit_off = off;
	r->in_unit = true;
	r->unit_end_seen = false;
	r->unit_consumed = 0;
	r->unit_recs = 0;
	r->unit_crc = ssm_crc_of(b, len);
	r->file_crc = ssm_crc_cat(r->file_crc, r->unit_crc, len);
	r->rec_type = 0;
	r->rec_len = r->rec_pos = 0;
	return SSM_OK;
}

static int inflate_rec(ssm_handle *h, uint32_t stored, uint32_t decoded, uint64_t off)
{
	struct ssm_reader *r = &h->r;
	char w[128];
	int zrc;

	if (!r->z_init) {
		if (inflateInit2(&r->z, -15) != Z_OK)
			return ssm_fail(h, SSM_ERR_NOMEM, "zlib inflateInit failed");
		r->z_init = true;
	}
	inflateReset(&r->z);
	r->z.next_in = r->zbuf;
	r->z.avail_in = stored;
	r->z.next_out = r->rbuf;
	r->z.avail_out = decoded;
	zrc = inflate(&r->z, Z_FINISH);
	if (zrc != Z_STREAM_END || r->z.avail_out || r->z.avail_in)
		return ssm_fail(h, SSM_ERR_COMPRESS, "compressed record does not decode to its "
				"stated %u bytes (%s)", decoded, where(h, off, w, sizeof(w)));
	return SSM_OK;
}

/* Read, verify and decode the next record of the current unit. */
static int next_record(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t hd[SSMF_REC_HDR], endp[SSMF_END_PAYLOAD];
	uint64_t off = r->off;
	uint32_t stored, decoded, pcrc = 0;
	uint8_t type, *dst;
	char w[128];
	int rc;

	if (r->unit_end_seen)
		return SSM_OK;
	rc = rd(h, hd, sizeof(hd), "record header");
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
		if (!stored || stored > r->zbuf_size || !decoded || decoded > SSMF_REC_MAX)
			goto bad_len;
		dst = r->zbuf;
		break;
	case SSMF_REC_ZERO:
		if (stored || !decoded)
			goto bad_len;
		dst = NULL;
		break;
	case SSMF_REC_END:
		if (stored != SSMF_END_PAYLOAD || decoded)
			goto bad_len;
		dst = endp;
		break;
	default:
		return ssm_fail(h, SSM_ERR_FORMAT, "unknown record type 0x%02x (%s)", type,
				where(h, off, w, sizeof(w)));
	}
	if (hd[1] || hd[2] || hd[3])
		return ssm_fail(h, SSM_ERR_FORMAT, "record has reserved bits set (%s)",
				where(h, off, w, sizeof(w)));
	if (stored) {
		rc = rd(h, dst, stored, "record");
		if (rc)
			return rc;
		pcrc = ssm_crc_of(dst, stored);
	}
	if (!ssm_crc_ok(le32_get(hd + 12), ssm_crc_cat(ssm_crc_of(hd, 12), pcrc, stored)))
		return ssm_fail(h, SSM_ERR_CRC, "record damaged: CRC mismatch (%s)",
				where(h, off, w, sizeof(w)));
	if (type == SSMF_REC_END) {
		/* The unit CRC covers what came before this record. */
		uint64_t dlen = le64_get(endp);

		if (!ssm_crc_ok(le32_get(endp + 8), r->unit_crc))
			return ssm_fail(h, SSM_ERR_CRC, "unit CRC mismatch: records missing or "
					"reordered (%s)", where(h, off, w, sizeof(w)));
		if (le32_get(endp + 12) != r->unit_recs ||
		    (r->unit_data_len != SSMF_DATA_LEN_UNKNOWN && r->unit_data_len != dlen))
			return ssm_fail(h, SSM_ERR_FORMAT, "unit end record disagrees with the "
					"data seen (%s)", where(h, off, w, sizeof(w)));
		r->unit_data_len = dlen;
		r->unit_end_seen = true;
		r->file_crc = ssm_crc_cat(r->file_crc, ssm_crc_cat(ssm_crc_of(hd, sizeof(hd)), pcrc, stored),
				      sizeof(hd) + stored);
		r->rec_type = type;
		r->rec_len = r->rec_pos = 0;
		return SSM_OK;
	}
	account(r, ssm_crc_cat(ssm_crc_of(hd, sizeof(hd)), pcrc, stored), sizeof(hd) + (uint64_t)stored);
	r->unit_recs++;
	if (type == SSMF_REC_ZLIB) {
		rc = inflate_rec(h, stored, decoded, off);
		if (rc)
			return rc;
	}
	r->rec_type = type;
	r->rec_len = decoded;
	r->rec_pos = 0;
	r->rec_off = off;
	return SSM_OK;

bad_len:
	return ssm_fail(h, SSM_ERR_FORMAT, "record type 0x%02x has impossible lengths "
			"(stored %u, decoded %u) (%s)", type, stored, decoded,
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
			rc = next_record(h);
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
		int rc = next_record(h);

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
		rc = next_record(h);
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

int ssm_r_parse_dir(ssm_handle *h, const uint8_t *buf, size_t len, uint32_t count)
{
	size_t pos = 0;

	free(h->dir);
	h->dir = NULL;
	h->dir_count = 0;
	if (count > len / SSMF_DIR_ENTRY_FIXED)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory claims %u entries in %zu bytes",
				count, len);
	h->dir = calloc(count ? count : 1, sizeof(*h->dir));
	if (!h->dir)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
	for (uint32_t i = 0; i < count; i++) {
		ssm_unit_info *ui = &h->dir[i].info;
		uint32_t nl;

		if (len - pos < SSMF_DIR_ENTRY_FIXED)
			goto bad;
		nl = le32_get(buf + pos + 32);
		if (nl == 0 || nl > SSM_NAME_MAX || len - pos - SSMF_DIR_ENTRY_FIXED < nl)
			goto bad;
		ui->offset = le64_get(buf + pos);
		ui->data_len = le64_get(buf + pos + 8);
		ui->instance = le32_get(buf + pos + 16);
		ui->version = le32_get(buf + pos + 20);
		ui->pass = le32_get(buf + pos + 24);
		ui->flags = le32_get(buf + pos + 28);
		memcpy(ui->name, buf + pos + SSMF_DIR_ENTRY_FIXED, nl);
		ui->name[nl] = 0;
		pos += SSMF_DIR_ENTRY_FIXED + nl;
		h->dir_count = i + 1;
	}
	if (pos != len)
		goto bad;
	return SSM_OK;
bad:
	return ssm_fail(h, SSM_ERR_FORMAT, "directory entry %u is malformed", h->dir_count);
}

/* Directory and footer, read sequentially after the terminator.  dir_seen
 * lists the unit records actually met, to cross-check the directory. */
int ssm_r_finish(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t dh[SSMF_DIR_HDR], foot[SSMF_FOOTER_SIZE], crcb[4];
	uint64_t dir_off = r->off, len = 0;
	uint32_t count, dcrc;
	uint8_t *buf = NULL;
	int rc;

	rc = rd(h, dh, sizeof(dh), "directory");
	if (rc)
		return rc;
	if (memcmp(dh, SSMF_DIR_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_FORMAT, "expected the directory at offset %llu",
				(unsigned long long)dir_off);
	count = le32_get(dh + 8);
	if (count != h->dir_count)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu lists %u unit "
				"records, the stream held %u", (unsigned long long)dir_off,
				count, h->dir_count);
	for (uint32_t i = 0; i < count; i++)
		len += SSMF_DIR_ENTRY_FIXED + strlen(h->dir[i].info.name);
	buf = malloc(len ? len : 1);
	if (!buf)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
	rc = len ? rd(h, buf, len, "directory") : SSM_OK;
	if (!rc)
		rc = rd(h, crcb, 4, "directory");
	if (rc)
		goto out;
	dcrc = ssm_crc_of(dh, sizeof(dh));
	if (len)
		dcrc = (uint32_t)crc32(dcrc, buf, (uInt)len);
	if (!ssm_crc_ok(le32_get(crcb), dcrc)) {
		rc = ssm_fail(h, SSM_ERR_CRC, "directory at offset %llu damaged (CRC mismatch)",
			      (unsigned long long)dir_off);
		goto out;
	}
	for (uint32_t i = 0, pos = 0; i < count; i++) {
		const ssm_unit_info *ui = &h->dir[i].info;
		size_t nl = strlen(ui->name);

		if (le64_get(buf + pos) != ui->offset || le64_get(buf + pos + 8) != ui->data_len ||
		    le32_get(buf + pos + 16) != ui->instance ||
		    le32_get(buf + pos + 20) != ui->version ||
		    le32_get(buf + pos + 24) != ui->pass || le32_get(buf + pos + 32) != nl ||
		    memcmp(buf + pos + SSMF_DIR_ENTRY_FIXED, ui->name, nl)) {
			rc = ssm_fail(h, SSM_ERR_FORMAT, "directory entry %u does not match "
				      "unit '%s' at offset %llu", i, ui->name,
				      (unsigned long long)ui->offset);
			goto out;
		}
		pos += (uint32_t)(SSMF_DIR_ENTRY_FIXED + nl);
	}
	r->file_crc = ssm_crc_cat(r->file_crc, dcrc, sizeof(dh) + len);
	r->file_crc = (uint32_t)crc32(r->file_crc, crcb, 4);
	rc = rd(h, foot, sizeof(foot), "footer");
	if (rc)
		goto out;
	if (memcmp(foot, SSMF_FOOTER_MAGIC, 8) || !ssm_crc_ok(le32_get(foot + 28), ssm_crc_of(foot, 28))) {
		rc = ssm_fail(h, SSM_ERR_CRC, "footer at offset %llu damaged",
			      (unsigned long long)(r->off - sizeof(foot)));
		goto out;
	}
	if (le64_get(foot + 8) != dir_off || le32_get(foot + 16) != count) {
		rc = ssm_fail(h, SSM_ERR_FORMAT, "footer does not point at the directory");
		goto out;
	}
	if (!ssm_crc_ok(le32_get(foot + 24), r->file_crc))
		rc = ssm_fail(h, SSM_ERR_CRC, "whole-file CRC mismatch: the file is damaged");
out:
	free(buf);
	return rc;
}
