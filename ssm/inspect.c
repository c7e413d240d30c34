/* inspect.c - read-only walks of an opened file's unit records, for tools
 * that look inside a state file (vmm inspect, vmm verify). */
#include <string.h>

#include "ssm/internal.h"

int ssm_unit_check(ssm_handle *h, uint32_t i, ssm_unit_stats *st)
{
	uint32_t version;
	int rc;

	if (!h || !st || h->mode != SSM_MODE_OPEN || i >= h->dir_count)
		return SSM_ERR_INVALID_ARG;
	memset(st, 0, sizeof(*st));
	rc = ssm_seek_entry(h, i, &version);
	if (rc)
		return rc;
	h->r.unit_kinds = 0;
	/* The reader verifies each record as it reaches it, END included. */
	rc = ssm_r_unit_skip_rest(h);
	if (!rc)
		rc = ssm_r_unit_end(h);
	if (rc)
		return h->status ? h->status : rc;
	st->stored_bytes = h->r.off - h->dir[i].info.offset;
	st->data_len = h->r.unit_decoded;
	st->records = h->r.unit_recs;
	st->kinds = h->r.unit_kinds;
	return SSM_OK;
}

const char *ssm_record_kind_name(unsigned type)
{
	switch (type) {
	case SSMF_REC_RAW:
		return "raw";
	case SSMF_REC_ZERO:
		return "zero";
	case SSMF_REC_ZLIB:
		return "zlib";
	case SSMF_REC_ZSTD:
		return "zstd";
	case SSMF_REC_EXTENT:
		return "extent";
	default:
		return NULL;
	}
}
