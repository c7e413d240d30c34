/* reader_dir.c - the end of a stream: the order of unit records, the
 * directory (read in sequence after the terminator, or parsed for random
 * access) and the footer.
 *
 * A sequential reader keeps the unit records it met in h->dir and checks the
 * directory against them field by field; ssm_open() has only the directory,
 * and holds its entries to the same rules the records obey.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

static uint32_t dup_hash(const ssm_unit_info *ui)
{
	uint32_t x = 2166136261u ^ ui->instance;

	for (const char *c = ui->name; *c; c++)
		x = (x ^ (uint8_t)*c) * 16777619u;
	return x;
}

/* Slot for record i in the table: the one holding an earlier record of
 * the same unit in this pass, else the first free or stale one. */
static uint32_t dup_probe(const ssm_handle *h, uint32_t i)
{
	const ssm_unit_info *ui = &h->dir[i].info;
	uint32_t mask = h->dup_cap - 1, s = dup_hash(ui) & mask;

	for (;; s = (s + 1) & mask) {
		uint32_t k = h->dup_slot[s];

		if (!k || k - 1 < h->dup_pass_start)
			return s;
		if (h->dir[k - 1].info.instance == ui->instance &&
		    !strcmp(h->dir[k - 1].info.name, ui->name))
			return s;
	}
}

/* The earlier record of dir[i]'s unit in dir[i]'s pass (UINT32_MAX if
 * none); records i in the table.  A pass's records are contiguous, so a
 * hash of the current pass keeps the check linear in the number of
 * records (a scan back over the pass made a crafted file of a million
 * records take hours), and entries of earlier passes just go stale. */
static uint32_t dup_find(ssm_handle *h, uint32_t i)
{
	uint32_t live, s, k;

	if (i == 0 || h->dir[i - 1].info.pass != h->dir[i].info.pass)
		h->dup_pass_start = i;
	if (i == 0) {
		free(h->dup_slot);
		h->dup_slot = NULL;
		h->dup_cap = 0;
	}
	live = i - h->dup_pass_start + 1;
	if (live > h->dup_cap / 2) {
		uint32_t cap = h->dup_cap ? h->dup_cap * 2 : 64;
		uint32_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return UINT32_MAX - 1;
		free(h->dup_slot);
		h->dup_slot = t;
		h->dup_cap = cap;
		for (uint32_t j = h->dup_pass_start; j < i; j++)
			h->dup_slot[dup_probe(h, j)] = j + 1;
	}
	s = dup_probe(h, i);
	k = h->dup_slot[s];
	if (k && k - 1 >= h->dup_pass_start)
		return k - 1;
	h->dup_slot[s] = i + 1;
	return UINT32_MAX;
}

int ssm_r_check_order(ssm_handle *h, uint32_t i, const char *what)
{
	const ssm_unit_info *ui = &h->dir[i].info;
	uint32_t k;

	if (i == 0) {
		dup_find(h, 0);
		return SSM_OK;
	}
	if (ui->offset <= h->dir[i - 1].info.offset)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: unit '%s' instance %u at offset %llu "
				"does not come after the previous one at offset %llu", what,
				ui->name, ui->instance, (unsigned long long)ui->offset,
				(unsigned long long)h->dir[i - 1].info.offset);
	/* Passes never go back: live passes 0, 1, ... then the final one. */
	if (ui->pass < h->dir[i - 1].info.pass)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: unit '%s' instance %u at offset %llu "
				"has pass %u (offset %llu) after pass %u: passes never decrease",
				what, ui->name, ui->instance, (unsigned long long)ui->offset,
				ui->pass, (unsigned long long)ui->offset + 24,
				h->dir[i - 1].info.pass);
	k = dup_find(h, i);
	if (k == UINT32_MAX - 1)
		return ssm_fail(h, SSM_ERR_NOMEM, "%s: no memory to check unit '%s' "
				"instance %u at offset %llu", what, ui->name, ui->instance,
				(unsigned long long)ui->offset);
	if (k != UINT32_MAX)
		return ssm_fail(h, SSM_ERR_FORMAT, "%s: unit '%s' instance %u at offset "
				"%llu is a second record of pass %u (the first is at "
				"offset %llu)", what, ui->name, ui->instance,
				(unsigned long long)ui->offset, ui->pass,
				(unsigned long long)h->dir[k].info.offset);
	return SSM_OK;
}

int ssm_r_check_footer(ssm_handle *h, const uint8_t *foot, uint64_t off)
{
	if (!ssm_crc_ok(le32_get(foot + 28), ssm_crc_of(foot, 28)))
		return ssm_fail(h, SSM_ERR_CRC, "footer at offset %llu damaged (CRC mismatch at "
				"offset %llu)", (unsigned long long)off,
				(unsigned long long)off + 28);
	if (le32_get(foot + 20))
		return ssm_fail(h, SSM_ERR_FORMAT, "footer at offset %llu: reserved (offset %llu) "
				"is 0x%x, must be 0", (unsigned long long)off,
				(unsigned long long)off + 20, le32_get(foot + 20));
	return SSM_OK;
}

int ssm_r_check_dir_header(ssm_handle *h, const uint8_t *dh, uint64_t off)
{
	if (memcmp(dh, SSMF_DIR_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_FORMAT, "expected the directory at offset %llu, found "
				"something else (bad magic)", (unsigned long long)off);
	if (le32_get(dh + 12))
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu: reserved (offset "
				"%llu) is 0x%x, must be 0", (unsigned long long)off,
				(unsigned long long)off + 12, le32_get(dh + 12));
	return SSM_OK;
}

int ssm_r_parse_dir(ssm_handle *h, const uint8_t *buf, size_t len, uint32_t count,
		    uint64_t dir_off)
{
	uint64_t base = dir_off + SSMF_DIR_HDR;
	size_t pos = 0;
	char what[160];

	free(h->dir);
	h->dir = NULL;
	h->dir_count = 0;
	if (count > len / SSMF_DIR_ENTRY_FIXED)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu: count (offset %llu) "
				"is %u, more entries than its %zu bytes hold",
				(unsigned long long)dir_off, (unsigned long long)dir_off + 8,
				count, len);
	h->dir = calloc(count ? count : 1, sizeof(*h->dir));
	if (!h->dir)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
	for (uint32_t i = 0; i < count; i++) {
		ssm_unit_info *ui = &h->dir[i].info;
		uint64_t eoff = base + pos;
		uint32_t nl;

		snprintf(what, sizeof(what), "directory entry %u (offset %llu)", i,
			 (unsigned long long)eoff);
		if (len - pos < SSMF_DIR_ENTRY_FIXED)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s runs past the end of the "
					"directory", what);
		nl = le32_get(buf + pos + 32);
		if (nl == 0 || nl > SSM_NAME_MAX)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s: name_len (offset %llu) is %u, "
					"must be 1..%u", what, (unsigned long long)eoff + 32, nl,
					SSM_NAME_MAX);
		if (len - pos - SSMF_DIR_ENTRY_FIXED < nl)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s: its name runs past the end of "
					"the directory", what);
		ui->offset = le64_get(buf + pos);
		ui->data_len = le64_get(buf + pos + 8);
		ui->instance = le32_get(buf + pos + 16);
		ui->version = le32_get(buf + pos + 20);
		ui->pass = le32_get(buf + pos + 24);
		ui->flags = le32_get(buf + pos + 28);
		for (uint32_t k = 0; k < nl; k++) {
			uint8_t c = buf[pos + SSMF_DIR_ENTRY_FIXED + k];

			if (c < 0x20 || c > 0x7e)
				return ssm_fail(h, SSM_ERR_FORMAT, "%s: name byte at offset %llu "
						"is 0x%02x, not printable ASCII", what,
						(unsigned long long)eoff + SSMF_DIR_ENTRY_FIXED + k,
						c);
		}
		memcpy(ui->name, buf + pos + SSMF_DIR_ENTRY_FIXED, nl);
		ui->name[nl] = 0;
		/* From here on the entry can say which unit it describes. */
		snprintf(what, sizeof(what), "directory entry %u (unit '%s' instance %u, "
			 "offset %llu)", i, ui->name, ui->instance, (unsigned long long)eoff);
		if (ui->flags & ~SSMF_UNIT_F_OPTIONAL)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s: flags (offset %llu) are 0x%x, only "
					"bit 0 (optional) is defined", what,
					(unsigned long long)eoff + 28, ui->flags);
		if (ui->data_len == SSMF_DATA_LEN_UNKNOWN)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s: data_len (offset %llu) is the "
					"'unknown' value", what, (unsigned long long)eoff + 8);
		if (ui->offset < SSMF_FILE_HDR_SIZE || ui->offset >= dir_off)
			return ssm_fail(h, SSM_ERR_FORMAT, "%s: offset %llu (at offset %llu) is "
					"outside the unit records", what,
					(unsigned long long)ui->offset, (unsigned long long)eoff);
		h->dir_count = i + 1;
		if (ssm_r_check_order(h, i, what))
			return h->status;
		pos += SSMF_DIR_ENTRY_FIXED + nl;
	}
	if (pos != len)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu: %zu bytes follow its "
				"last entry (offset %llu)", (unsigned long long)dir_off, len - pos,
				(unsigned long long)(base + pos));
	return SSM_OK;
}

/* Entry e (at stream offset eoff) against the unit record ui actually met. */
static int check_entry(ssm_handle *h, uint32_t i, const uint8_t *e, uint64_t eoff,
		       const ssm_unit_info *ui)
{
	const uint64_t want[] = { ui->offset, ui->data_len, ui->instance, ui->version,
				  ui->pass, ui->flags, strlen(ui->name) };
	static const char *const names[] = { "offset", "data_len", "instance", "version",
					     "pass", "flags", "name_len" };
	static const uint8_t at[] = { 0, 8, 16, 20, 24, 28, 32 };

	for (int k = 0; k < 7; k++) {
		uint64_t v = k < 2 ? le64_get(e + at[k]) : le32_get(e + at[k]);

		if (v != want[k])
			return ssm_fail(h, SSM_ERR_FORMAT, "directory entry %u (offset %llu): %s "
					"(offset %llu) is %llu, but unit '%s' instance %u at "
					"offset %llu has %llu", i, (unsigned long long)eoff,
					names[k], (unsigned long long)eoff + at[k],
					(unsigned long long)v, ui->name, ui->instance,
					(unsigned long long)ui->offset, (unsigned long long)want[k]);
	}
	if (memcmp(e + SSMF_DIR_ENTRY_FIXED, ui->name, want[6]))
		return ssm_fail(h, SSM_ERR_FORMAT, "directory entry %u (offset %llu): name "
				"(offset %llu) differs from unit '%s' at offset %llu", i,
				(unsigned long long)eoff,
				(unsigned long long)eoff + SSMF_DIR_ENTRY_FIXED, ui->name,
				(unsigned long long)ui->offset);
	return SSM_OK;
}

/* Directory and footer, read sequentially after the terminator.  h->dir
 * lists the unit records actually met, to cross-check the directory. */
int ssm_r_finish(ssm_handle *h)
{
	struct ssm_reader *r = &h->r;
	uint8_t dh[SSMF_DIR_HDR], foot[SSMF_FOOTER_SIZE], crcb[4];
	uint64_t dir_off = r->off, foot_off, len = 0;
	uint32_t count, dcrc;
	uint8_t *buf = NULL;
	int rc;

	rc = ssm_r_read(h, dh, sizeof(dh), "directory");
	if (rc || (rc = ssm_r_check_dir_header(h, dh, dir_off)))
		return rc;
	count = le32_get(dh + 8);
	if (count != h->dir_count)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu: count (offset %llu) "
				"is %u, the stream held %u unit records",
				(unsigned long long)dir_off, (unsigned long long)dir_off + 8,
				count, h->dir_count);
	for (uint32_t i = 0; i < count; i++)
		len += SSMF_DIR_ENTRY_FIXED + strlen(h->dir[i].info.name);
	buf = malloc(len ? len : 1);
	if (!buf)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
	rc = len ? ssm_r_read(h, buf, len, "directory") : SSM_OK;
	if (!rc)
		rc = ssm_r_read(h, crcb, 4, "directory");
	if (rc)
		goto out;
	dcrc = ssm_crc_of(dh, sizeof(dh));
	if (len)
		dcrc = (uint32_t)crc32(dcrc, buf, (uInt)len);
	if (!ssm_crc_ok(le32_get(crcb), dcrc)) {
		rc = ssm_fail(h, SSM_ERR_CRC, "directory at offset %llu damaged (CRC mismatch at "
			      "offset %llu)", (unsigned long long)dir_off,
			      (unsigned long long)(dir_off + SSMF_DIR_HDR + len));
		goto out;
	}
	for (uint32_t i = 0, pos = 0; i < count; i++) {
		rc = check_entry(h, i, buf + pos, dir_off + SSMF_DIR_HDR + pos, &h->dir[i].info);
		if (rc)
			goto out;
		pos += (uint32_t)(SSMF_DIR_ENTRY_FIXED + strlen(h->dir[i].info.name));
	}
	r->file_crc = ssm_crc_cat(r->file_crc, dcrc, sizeof(dh) + len);
	r->file_crc = (uint32_t)crc32(r->file_crc, crcb, 4);
	foot_off = r->off;
	rc = ssm_r_read(h, foot, sizeof(foot), "footer");
	if (rc)
		goto out;
	if (memcmp(foot, SSMF_FOOTER_MAGIC, 8)) {
		rc = ssm_fail(h, SSM_ERR_FORMAT, "expected the footer at offset %llu, found "
			      "something else (bad magic)", (unsigned long long)foot_off);
		goto out;
	}
	rc = ssm_r_check_footer(h, foot, foot_off);
	if (rc)
		goto out;
	if (le64_get(foot + 8) != dir_off || le32_get(foot + 16) != count) {
		rc = ssm_fail(h, SSM_ERR_FORMAT, "footer at offset %llu: dir_offset (offset %llu) "
			      "%llu and dir_count (offset %llu) %u, the directory is at offset "
			      "%llu with %u entries", (unsigned long long)foot_off,
			      (unsigned long long)foot_off + 8,
			      (unsigned long long)le64_get(foot + 8),
			      (unsigned long long)foot_off + 16, le32_get(foot + 16),
			      (unsigned long long)dir_off, count);
		goto out;
	}
	if (!ssm_crc_ok(le32_get(foot + 24), r->file_crc)) {
		rc = ssm_fail(h, SSM_ERR_CRC, "whole-file CRC mismatch (footer file_crc at offset "
			      "%llu): the file is damaged", (unsigned long long)foot_off + 24);
		goto out;
	}
	/* Only where the size is known (a file): over a pipe or socket the
	 * peer may keep the connection open after the footer. */
	if (h->file_size && r->off < h->file_size)
		rc = ssm_fail(h, SSM_ERR_FORMAT, "%llu bytes of trailing data after the footer "
			      "(which ends at offset %llu)",
			      (unsigned long long)(h->file_size - r->off),
			      (unsigned long long)r->off);
out:
	free(buf);
	return rc;
}
