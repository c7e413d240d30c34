/* load.c - load, validate, and random access (open/seek) of saved states. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

static struct ssm_unit *find(ssm *s, const char *name, uint32_t instance)
{
	for (struct ssm_unit *u = s ? s->units : NULL; u; u = u->next)
		if (u->instance == instance && !strcmp(u->name, name))
			return u;
	return NULL;
}

/* Remember each unit record met, to check the directory against; its
 * order must be one a writer produces, and the directory describing it
 * must fit the limit ssm_open() holds files to. */
static int seen_add(ssm_handle *h)
{
	const struct ssm_reader *r = &h->r;
	ssm_unit_info *ui;
	char what[32];

	h->dir_bytes += SSMF_DIR_ENTRY_FIXED + strlen(r->unit_name);
	if (h->dir_bytes > SSMF_DIR_MAX - SSMF_DIR_HDR - 4)
		return ssm_fail(h, SSM_ERR_FORMAT, "unit '%s' instance %u at offset %llu: more "
				"unit records than a directory of %u bytes can list",
				r->unit_name, r->unit_instance, (unsigned long long)r->unit_off,
				SSMF_DIR_MAX);
	if ((h->dir_count & (h->dir_count - 1)) == 0) {
		size_t cap = h->dir_count ? (size_t)h->dir_count * 2 : 8;
		struct ssm_dir_entry *d = realloc(h->dir, cap * sizeof(*d));

		if (!d)
			return ssm_fail(h, SSM_ERR_NOMEM, "out of memory");
		h->dir = d;
	}
	ui = &h->dir[h->dir_count++].info;
	memset(ui, 0, sizeof(*ui));
	memcpy(ui->name, r->unit_name, sizeof(ui->name));
	ui->instance = r->unit_instance;
	ui->version = r->unit_version;
	ui->pass = r->unit_pass;
	ui->flags = r->unit_flags;
	ui->offset = r->unit_off;
	snprintf(what, sizeof(what), "unit record %u", h->dir_count - 1);
	return ssm_r_check_order(h, h->dir_count - 1, what);
}

/* Read every unit record; each goes to its unit's load_exec, or is verified
 * and dropped when skipped (validate, optional or tolerated unknown units). */
static int load_units(ssm_handle *h, bool skip_all)
{
	struct ssm_reader *r = &h->r;
	bool end = false;
	int rc;

	while (!h->status) {
		struct ssm_unit *u;

		if (ssm_r_unit_begin(h, &end) || end)
			break;
		if (seen_add(h))
			break;
		u = skip_all ? NULL : find(h->s, r->unit_name, r->unit_instance);
		if (!u) {
			if (!skip_all && !(r->unit_flags & SSMF_UNIT_F_OPTIONAL) &&
			    !h->lopts.skip_unknown) {
				ssm_fail(h, SSM_ERR_UNKNOWN_UNIT, "unit '%s' instance %u (offset %llu) "
					 "is not known to this program", r->unit_name,
					 r->unit_instance, (unsigned long long)r->unit_off);
				break;
			}
			ssm_r_unit_skip_rest(h);
		} else if (!u->cb.load_exec) {
			ssm_fail(h, SSM_ERR_CALLBACK, "unit '%s' instance %u (offset %llu) has "
				 "saved data but no load_exec", u->name, u->instance,
				 (unsigned long long)r->unit_off);
			break;
		} else {
			h->note_rc = SSM_OK;
			h->note[0] = 0;
			rc = ssm_call(h, u, SSM_CB_LOAD_EXEC, r->unit_pass, r->unit_version);
			h->field = NULL;        /* a field a callback named ends with it */
			u->loaded = true;
			u->loaded_final |= r->unit_pass == SSM_PASS_FINAL;
			if (!rc)
				rc = h->status;
			if (rc) {
				char pos[128];

				/* Only takes if the callback left no message; the
				 * note says where a non-sticky refusal was. */
				if (h->note_rc != rc || !h->note[0])
					snprintf(h->note, sizeof(h->note), "%s (%s)", ssm_strerror(rc),
						 ssm_r_pos(h, pos, sizeof(pos)));
				ssm_fail(h, rc, "unit '%s' instance %u: load_exec (saved version %u, "
					 "pass %u) failed: %s", u->name, u->instance,
					 r->unit_version, r->unit_pass, h->note);
				break;
			}
		}
		if (ssm_r_unit_end(h))
			break;
		h->dir[h->dir_count - 1].info.data_len = r->unit_data_len;
		ssm_progress(h, r->off);
	}
	if (!h->status && end)
		ssm_r_finish(h);
	return h->status;
}

static void call_done_all(ssm_handle *h)
{
	for (struct ssm_unit *u = h->s->units; u; u = u->next) {
		int rc = ssm_call(h, u, SSM_CB_LOAD_DONE, SSM_PASS_FINAL, u->version);

		if (rc)
			ssm_fail(h, rc, "unit '%s' instance %u: load_done failed: %s", u->name,
				 u->instance, ssm_strerror(rc));
	}
}

static void set_total(ssm_handle *h)
{
	uint64_t size;

	if (h->st.ops->size && h->st.ops->size(h->st.user, &size) == SSM_OK)
		h->prog_total = size;
	h->file_size = h->prog_total;
}

int ssm_load(ssm *s, ssm_stream st, const ssm_load_opts *opts)
{
	ssm_handle *h;
	int rc;

	h = ssm_op_start(s, st, SSM_MODE_LOAD, &rc);
	if (!h)
		return rc;
	ssm_load_opts_import(h, opts);
	h->after = h->lopts.after ? h->lopts.after : SSM_AFTER_RESUME;
	if (!h->status && h->after != SSM_AFTER_RESUME && h->after != SSM_AFTER_DEBUG)
		ssm_fail(h, SSM_ERR_INVALID_ARG, "load 'after' must be resume or debug");
	set_total(h);
	if (!h->status && !ssm_r_init(h) && !ssm_r_file_header(h)) {
		for (struct ssm_unit *u = s->units; u && !h->status; u = u->next) {
			rc = ssm_call(h, u, SSM_CB_LOAD_PREP, SSM_PASS_FINAL, u->version);
			if (rc)
				ssm_fail(h, rc, "unit '%s' instance %u: load_prep failed: %s",
					 u->name, u->instance, ssm_strerror(rc));
		}
		if (!h->status)
			load_units(h, false);
	}
	call_done_all(h);
	return ssm_op_finish(h);
}

int ssm_validate(ssm_stream st, char *msg, size_t msglen)
{
	ssm_handle *h;
	int rc;

	if (!st.ops || !st.ops->read) {
		if (st.ops && st.ops->close)
			st.ops->close(st.user, false);
		return SSM_ERR_INVALID_ARG;
	}
	h = ssm_handle_new(NULL, SSM_MODE_LOAD, st);
	if (!h) {
		st.ops->close(st.user, false);
		return SSM_ERR_NOMEM;
	}
	set_total(h);
	if (!ssm_r_init(h) && !ssm_r_file_header(h))
		load_units(h, true);
	rc = h->status;
	if (msg && msglen)
		snprintf(msg, msglen, "%s", rc ? h->err : "");
	ssm_handle_free(h);
	return rc;
}

static int seek_to(ssm_handle *h, uint64_t off)
{
	int rc = h->st.ops->seek ? h->st.ops->seek(h->st.user, off) : SSM_ERR_NOT_SUPPORTED;

	if (rc)
		return ssm_fail(h, rc, "seeking to offset %llu: %s", (unsigned long long)off,
				ssm_strerror(rc));
	h->r.off = off;
	return SSM_OK;
}

/* Footer then directory, from the end of a seekable stream. */
static int open_dir(ssm_handle *h)
{
	uint8_t foot[SSMF_FOOTER_SIZE], *buf;
	uint64_t size = h->file_size, dir_off, len, foot_off;
	uint32_t count;
	int rc;

	if (size < SSMF_FILE_HDR_SIZE + SSMF_UNIT_FIXED + 4 + SSMF_DIR_HDR + 4 + SSMF_FOOTER_SIZE)
		return ssm_fail(h, SSM_ERR_TRUNCATED, "truncated: %llu bytes is too short for "
				"a saved state", (unsigned long long)size);
	foot_off = size - SSMF_FOOTER_SIZE;
	if (seek_to(h, foot_off) || ssm_st_read_exact(h, foot, sizeof(foot)))
		return h->status ? h->status : ssm_fail(h, SSM_ERR_TRUNCATED, "truncated footer "
							"at offset %llu", (unsigned long long)foot_off);
	if (memcmp(foot, SSMF_FOOTER_MAGIC, 8))
		return ssm_fail(h, SSM_ERR_TRUNCATED, "no footer at the end of the file (offset "
				"%llu): it is truncated or damaged", (unsigned long long)foot_off);
	rc = ssm_r_check_footer(h, foot, foot_off);
	if (rc)
		return rc;
	dir_off = le64_get(foot + 8);
	count = le32_get(foot + 16);
	if (dir_off < SSMF_FILE_HDR_SIZE || dir_off > foot_off - SSMF_DIR_HDR - 4)
		return ssm_fail(h, SSM_ERR_FORMAT, "footer: dir_offset (offset %llu) %llu is "
				"impossible", (unsigned long long)foot_off + 8,
				(unsigned long long)dir_off);
	len = foot_off - dir_off;
	if (len > SSMF_DIR_MAX)
		return ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu of %llu bytes is "
				"larger than %u", (unsigned long long)dir_off,
				(unsigned long long)len, SSMF_DIR_MAX);
	buf = malloc(len);
	if (!buf)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for the directory");
	rc = seek_to(h, dir_off);
	if (!rc && ssm_st_read_exact(h, buf, len))
		rc = h->status ? h->status : ssm_fail(h, SSM_ERR_TRUNCATED, "truncated directory "
						      "at offset %llu", (unsigned long long)dir_off);
	if (!rc && !ssm_crc_ok(le32_get(buf + len - 4), ssm_crc_of(buf, len - 4)))
		rc = ssm_fail(h, SSM_ERR_CRC, "directory at offset %llu damaged (CRC mismatch at "
			      "offset %llu)", (unsigned long long)dir_off,
			      (unsigned long long)(dir_off + len - 4));
	if (!rc)
		rc = ssm_r_check_dir_header(h, buf, dir_off);
	if (!rc && le32_get(buf + 8) != count)
		rc = ssm_fail(h, SSM_ERR_FORMAT, "directory at offset %llu: count (offset %llu) "
			      "is %u, the footer's dir_count (offset %llu) %u",
			      (unsigned long long)dir_off, (unsigned long long)dir_off + 8,
			      le32_get(buf + 8), (unsigned long long)foot_off + 16, count);
	if (!rc)
		rc = ssm_r_parse_dir(h, buf + SSMF_DIR_HDR, len - SSMF_DIR_HDR - 4, count, dir_off);
	free(buf);
	return rc;
}

int ssm_open(ssm_stream st, ssm_handle **out)
{
	ssm_handle *h;

	if (!out || !st.ops || !st.ops->read) {
		if (st.ops && st.ops->close)
			st.ops->close(st.user, false);
		return SSM_ERR_INVALID_ARG;
	}
	*out = NULL;
	h = ssm_handle_new(NULL, SSM_MODE_OPEN, st);
	if (!h) {
		st.ops->close(st.user, false);
		return SSM_ERR_NOMEM;
	}
	h->after = SSM_AFTER_OPENED;
	if (!st.ops->size || st.ops->size(st.user, &h->file_size) != SSM_OK)
		ssm_fail(h, SSM_ERR_NOT_SUPPORTED, "opening a saved state needs a seekable stream");
	if (!h->status && !ssm_r_init(h) && !seek_to(h, 0) && !ssm_r_file_header(h))
		open_dir(h);
	*out = h;
	return h->status;
}

void ssm_close(ssm_handle *h)
{
	if (h && h->mode == SSM_MODE_OPEN)
		ssm_handle_free(h);
}

int ssm_file_info_get(ssm_handle *h, ssm_file_info *fi)
{
	if (!h || !fi || h->mode != SSM_MODE_OPEN)
		return SSM_ERR_INVALID_ARG;
	memset(fi, 0, sizeof(*fi));
	fi->major = h->r.major;
	fi->minor = h->r.minor;
	fi->host_bits = h->r.host_bits;
	fi->little_endian = h->r.little_endian;
	fi->page_size = h->r.page_size;
	memcpy(fi->build_id, h->r.build_id, sizeof(fi->build_id));
	fi->file_size = h->file_size;
	fi->unit_count = h->dir_count;
	return SSM_OK;
}

int ssm_unit_info_get(ssm_handle *h, uint32_t i, ssm_unit_info *ui)
{
	if (!h || !ui || h->mode != SSM_MODE_OPEN || i >= h->dir_count)
		return SSM_ERR_INVALID_ARG;
	*ui = h->dir[i].info;
	return SSM_OK;
}

int ssm_seek(ssm_handle *h, const char *name, uint32_t instance, uint32_t *version)
{
	uint32_t found = UINT32_MAX;

	if (!h || !name || h->mode != SSM_MODE_OPEN)
		return SSM_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < h->dir_count; i++)
		if (h->dir[i].info.instance == instance && !strcmp(h->dir[i].info.name, name))
			found = i;
	if (found == UINT32_MAX) {
		h->status = SSM_OK;
		h->err[0] = 0;
		h->r.in_unit = false;
		return ssm_fail(h, SSM_ERR_NO_SUCH_UNIT, "no unit '%s' instance %u in the file",
				name, instance);
	}
	return ssm_seek_entry(h, found, version);
}

int ssm_seek_entry(ssm_handle *h, uint32_t i, uint32_t *version)
{
	const ssm_unit_info *ui;
	const char *name;
	uint32_t instance;
	bool end;

	if (!h || h->mode != SSM_MODE_OPEN || i >= h->dir_count)
		return SSM_ERR_INVALID_ARG;
	ui = &h->dir[i].info;
	name = ui->name;
	instance = ui->instance;
	/* A failed read of one unit must not poison reading another. */
	h->status = SSM_OK;
	h->err[0] = 0;
	h->r.in_unit = false;
	if (seek_to(h, ui->offset) || ssm_r_unit_begin(h, &end))
		return h->status;
	if (end || strcmp(h->r.unit_name, name) || h->r.unit_instance != instance) {
		h->r.in_unit = false;
		return ssm_fail(h, SSM_ERR_FORMAT, "directory entry for unit '%s' instance %u "
				"points at offset %llu, which holds another unit", name, instance,
				(unsigned long long)ui->offset);
	}
	{
		const uint64_t hv[] = { h->r.unit_flags, h->r.unit_version, h->r.unit_pass,
					h->r.unit_data_len };
		const uint64_t dv[] = { ui->flags, ui->version, ui->pass, ui->data_len };
		static const char *const names[] = { "flags", "version", "pass", "data_len" };
		static const uint8_t at[] = { 12, 20, 24, SSMF_UNIT_DATA_LEN_OFF };

		for (int k = 0; k < 4; k++) {
			if (hv[k] == dv[k] || (k == 3 && hv[k] == SSMF_DATA_LEN_UNKNOWN))
				continue;
			h->r.in_unit = false;
			return ssm_fail(h, SSM_ERR_FORMAT, "unit '%s' instance %u at offset %llu: "
					"%s (offset %llu) is %llu, its directory entry says %llu",
					name, instance, (unsigned long long)ui->offset, names[k],
					(unsigned long long)ui->offset + at[k],
					(unsigned long long)hv[k], (unsigned long long)dv[k]);
		}
	}
	/* A header written to a pipe says "unknown"; the directory knows, and
	 * the records are held to it. */
	h->r.unit_data_len = ui->data_len;
	if (version)
		*version = h->r.unit_version;
	return SSM_OK;
}
