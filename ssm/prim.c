/* prim.c - typed put/get primitives, all encoded little-endian. */
#include <stdio.h>
#include <string.h>

#include "ssm/internal.h"

#define STR_MAX (1u << 30)   /* no saved string is anywhere near this */

int ssm_put_mem(ssm_handle *h, const void *buf, size_t n)
{
	if (!h || (!buf && n))
		return SSM_ERR_INVALID_ARG;
	return n ? ssm_w_put(h, buf, n) : SSM_OK;
}

int ssm_get_mem(ssm_handle *h, void *buf, size_t n)
{
	if (!h || (!buf && n))
		return SSM_ERR_INVALID_ARG;
	return ssm_r_get(h, buf, n, false);
}

int ssm_get_mem_prezeroed(ssm_handle *h, void *buf, size_t n)
{
	if (!h || (!buf && n))
		return SSM_ERR_INVALID_ARG;
	return ssm_r_get(h, buf, n, true);
}

static int put_le(ssm_handle *h, uint64_t v, unsigned n)
{
	uint8_t b[8];

	le64_put(b, v);
	return ssm_put_mem(h, b, n);
}

static int get_le(ssm_handle *h, uint64_t *v, unsigned n)
{
	uint8_t b[8] = { 0 };
	int rc = ssm_get_mem(h, b, n);

	if (!rc)
		*v = le64_get(b);
	return rc;
}

/* Each get_* leaves *v untouched on failure. */
#define PUT_GET(name, type, bytes)                                    \
	int ssm_put_##name(ssm_handle *h, type v)                     \
	{                                                             \
		return put_le(h, (uint64_t)v, bytes);                 \
	}                                                             \
	int ssm_get_##name(ssm_handle *h, type *v)                    \
	{                                                             \
		uint64_t x;                                           \
		int rc;                                               \
		if (!v)                                               \
			return SSM_ERR_INVALID_ARG;                   \
		rc = get_le(h, &x, bytes);                            \
		if (!rc)                                              \
			*v = (type)x;                                 \
		return rc;                                            \
	}

PUT_GET(u8, uint8_t, 1)
PUT_GET(s8, int8_t, 1)
PUT_GET(u16, uint16_t, 2)
PUT_GET(s16, int16_t, 2)
PUT_GET(u32, uint32_t, 4)
PUT_GET(s32, int32_t, 4)
PUT_GET(u64, uint64_t, 8)
PUT_GET(s64, int64_t, 8)
PUT_GET(gcphys, uint64_t, 8)
PUT_GET(gcptr, uint64_t, 8)
PUT_GET(ioport, uint16_t, 2)
PUT_GET(sel, uint16_t, 2)

int ssm_put_u128(ssm_handle *h, ssm_u128 v)
{
	uint8_t b[16];

	le64_put(b, v.lo);
	le64_put(b + 8, v.hi);
	return ssm_put_mem(h, b, sizeof(b));
}

int ssm_get_u128(ssm_handle *h, ssm_u128 *v)
{
	uint8_t b[16];
	int rc;

	if (!v)
		return SSM_ERR_INVALID_ARG;
	rc = ssm_get_mem(h, b, sizeof(b));
	if (!rc) {
		v->lo = le64_get(b);
		v->hi = le64_get(b + 8);
	}
	return rc;
}

int ssm_put_bool(ssm_handle *h, bool v)
{
	return ssm_put_u8(h, v ? 1 : 0);
}

int ssm_get_bool(ssm_handle *h, bool *v)
{
	uint8_t b;
	int rc;

	if (!v)
		return SSM_ERR_INVALID_ARG;
	rc = ssm_get_u8(h, &b);
	if (rc)
		return rc;
	if (b > 1)
		return ssm_set_load_error(h, SSM_ERR_BAD_VALUE, "bool holds %u, must be 0 or 1", b);
	*v = b;
	return SSM_OK;
}

int ssm_put_str(ssm_handle *h, const char *s)
{
	size_t n;
	int rc;

	if (!h || !s)
		return SSM_ERR_INVALID_ARG;
	n = strlen(s);
	if (n > STR_MAX)
		return SSM_ERR_INVALID_ARG;
	rc = ssm_put_u32(h, (uint32_t)n);
	return rc ? rc : ssm_put_mem(h, s, n);
}

int ssm_get_str(ssm_handle *h, char *buf, size_t bufsize, size_t *len)
{
	uint32_t n;
	int rc;

	if (!h || !buf || !bufsize)
		return SSM_ERR_INVALID_ARG;
	rc = ssm_get_u32(h, &n);
	if (rc)
		return rc;
	if ((size_t)n >= bufsize) {
		char pos[128];

		/* Not sticky: the caller may carry on, so the string is
		 * skipped to stay in step with the stream, and the details
		 * wait in the note for the message if the load fails with it. */
		ssm_r_pos(h, pos, sizeof(pos));
		rc = ssm_r_skip(h, n);
		if (rc)
			return rc;
		h->note_rc = SSM_ERR_STRING_TOO_LONG;
		snprintf(h->note, sizeof(h->note), "string of %u bytes does not fit the "
			 "%zu-byte buffer (it starts at %s)", n, bufsize, pos);
		return SSM_ERR_STRING_TOO_LONG;
	}
	rc = ssm_get_mem(h, buf, n);
	if (rc)
		return rc;
	if (memchr(buf, 0, n))
		return ssm_set_load_error(h, SSM_ERR_BAD_VALUE, "string of %u bytes holds a NUL byte", n);
	buf[n] = 0;
	if (len)
		*len = n;
	return SSM_OK;
}

int ssm_skip(ssm_handle *h, uint64_t n)
{
	if (!h)
		return SSM_ERR_INVALID_ARG;
	return ssm_r_skip(h, n);
}

int ssm_skip_to_end(ssm_handle *h)
{
	if (!h || h->mode == SSM_MODE_SAVE || !h->r.in_unit)
		return SSM_ERR_BAD_STATE;
	return ssm_r_unit_skip_rest(h);
}
