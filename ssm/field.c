/* field.c - put/get a C struct described by a table of ssm_field entries.
 *
 * Built only on the public typed primitives, so the bytes a struct puts into
 * a unit are exactly what the equivalent sequence of ssm_put_* calls would
 * put; nothing here knows about records, compression or checksums.  (The
 * one thing taken from the handle's internals is the name of the field
 * being got, so that load errors name it.)
 *
 * Encoding of one ssm_put_struct() call (all integers little-endian):
 *
 *   [begin marker]   u32 0x5e55a1b0          unless SSM_STRUCT_NO_MARKERS
 *   field 0 .. field n-1, in table order, each encoded by its transform:
 *     SSM_FT_NONE      size 1, 2, 4, 8: the member as u8/u16/u32/u64, i.e.
 *                      the host integer converted to little-endian.
 *                      Any other size: the member's bytes as they are in
 *                      memory.  On a big-endian host an array of multi-byte
 *                      integers therefore comes out in host order; declare
 *                      such arrays element by element or use a callback
 *                      field if the file must move between hosts of
 *                      different byte order.  Size 0: nothing.
 *     SSM_FT_GCPHYS    u64 (member must be 8 bytes)
 *     SSM_FT_GCPTR     u64 (member must be 8 bytes)
 *     SSM_FT_HCPTR_NI  bool (u8 0 or 1): member != NULL.
 *                      With SSM_STRUCT_DONT_IGNORE: u64, the whole pointer
 *                      value.  Either way the loader only gets a NULL /
 *                      non-NULL indication: it stores (void *)0 or
 *                      (void *)1 and the owner re-attaches real pointers.
 *     SSM_FT_HCPTR     nothing.  With SSM_STRUCT_DONT_IGNORE: size zero
 *     SSM_FT_IGNORE      bytes.  The loader skips them and never touches
 *                        the member.
 *     SSM_FT_PAD_HC    nothing.  With SSM_STRUCT_DONT_IGNORE: pad32 zero
 *                      bytes if the stream's host is 32-bit, pad64 if it is
 *                      64-bit (ssm_handle_host_bits()); the loader skips
 *                      the amount matching the host that wrote the stream.
 *     SSM_FT_CALLBACK  whatever the field's callback puts.
 *   [end marker]     u32 0x5e55a1ed          unless SSM_STRUCT_NO_MARKERS
 *
 * There is no length or table description in the stream: the loader must
 * use a table that encodes the same sequence.  The markers catch most
 * mismatches (a table of another size makes the end marker land elsewhere)
 * and report SSM_ERR_STRUCT_MARKER.
 *
 * The table is checked, on put and on get, before any byte is moved:
 * unknown flag bits, a field reaching past the struct's size, a
 * GCPHYS/GCPTR field not 8 bytes, an HCPTR_NI field not sizeof(void *), a
 * PAD_HC field whose size is not this host's pad size, a CALLBACK field
 * without a function or an unknown transform give SSM_ERR_INVALID_ARG.
 * With SSM_STRUCT_FULL the fields (padding and ignored ones included) must
 * also tile [0, size) in table order with no gap or overlap, else
 * SSM_ERR_STRUCT_COVERAGE.
 */
#include <stdint.h>
#include <string.h>

#include "ssm/internal.h"

#define SSM_STRUCT_BEGIN_MARKER 0x5e55a1b0u
#define SSM_STRUCT_END_MARKER   0x5e55a1edu

/* Padding size a PAD_HC field has on a host with the given pointer width. */
static unsigned pad_for_bits(const ssm_field *f, unsigned bits)
{
	return bits == 32 ? f->pad32 : f->pad64;
}

/* Pointer width of the host whose layout the stream uses.  A handle that
 * reports nothing sensible falls back to this host so we never skip or write
 * a pad size taken from a garbage value. */
static unsigned stream_host_bits(const ssm_handle *h)
{
	unsigned bits = ssm_handle_host_bits(h);

	if (bits != 32 && bits != 64)
		bits = (unsigned)(sizeof(void *) * 8);
	return bits;
}

static const char *table_name(const ssm_field *fields)
{
	if (fields[0].transform == SSM_FT_INVALID || !fields[0].name)
		return "?";
	return fields[0].name;
}

/* Reject the whole table before anything is put or got, so a bad table never
 * leaves half a struct in the stream or in memory.  *why says what was wrong
 * (for the load error message; put has no place to report it). */
static int check_table(const void *strct, size_t size, uint32_t flags,
		       const ssm_field *fields, const ssm_field **bad,
		       const char **why)
{
	const ssm_field *f, *gap = NULL;
	uint64_t next = 0;

	*bad = NULL;
	*why = "bad argument";
	if (!fields || (!strct && size))
		return SSM_ERR_INVALID_ARG;
	if (flags & ~SSM_STRUCT_VALID_MASK) {
		*why = "unknown flags";
		return SSM_ERR_INVALID_ARG;
	}

	for (f = fields; f->transform != SSM_FT_INVALID; f++) {
		*bad = f;
		if ((uint64_t)f->off + f->size > size) {
			*why = "reaches past the end of the struct";
			return SSM_ERR_INVALID_ARG;
		}

		*why = "has a size its transform does not allow";
		switch (f->transform) {
		case SSM_FT_NONE:
		case SSM_FT_HCPTR:
		case SSM_FT_IGNORE:
			break;
		case SSM_FT_GCPHYS:
		case SSM_FT_GCPTR:
			if (f->size != sizeof(uint64_t))
				return SSM_ERR_INVALID_ARG;
			break;
		case SSM_FT_HCPTR_NI:
			if (f->size != sizeof(void *))
				return SSM_ERR_INVALID_ARG;
			break;
		case SSM_FT_PAD_HC:
			if (f->size != pad_for_bits(f, sizeof(void *) * 8))
				return SSM_ERR_INVALID_ARG;
			break;
		case SSM_FT_CALLBACK:
			if (!f->fn) {
				*why = "is a callback field without a callback";
				return SSM_ERR_INVALID_ARG;
			}
			break;
		default:
			*why = "has an unknown transform";
			return SSM_ERR_INVALID_ARG;
		}

		if (f->off != next && !gap)
			gap = f;
		next = (uint64_t)f->off + f->size;
	}

	*bad = gap;
	if ((flags & SSM_STRUCT_FULL) && (gap || next != size)) {
		*why = gap ? "does not start where the previous field ends"
			   : "leaves the end of the struct uncovered";
		return SSM_ERR_STRUCT_COVERAGE;
	}
	*bad = NULL;
	return SSM_OK;
}

static int put_zeros(ssm_handle *h, uint64_t n)
{
	static const uint8_t zeros[256];
	int rc;

	while (n) {
		size_t chunk = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		rc = ssm_put_mem(h, zeros, chunk);
		if (rc)
			return rc;
		n -= chunk;
	}
	return SSM_OK;
}

static int put_none(ssm_handle *h, const uint8_t *p, uint32_t size)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 0:
		return SSM_OK;
	case 1:
		return ssm_put_u8(h, *p);
	case 2:
		memcpy(&v16, p, sizeof(v16));
		return ssm_put_u16(h, v16);
	case 4:
		memcpy(&v32, p, sizeof(v32));
		return ssm_put_u32(h, v32);
	case 8:
		memcpy(&v64, p, sizeof(v64));
		return ssm_put_u64(h, v64);
	default:
		return ssm_put_mem(h, p, size);
	}
}

static int put_field(ssm_handle *h, const ssm_field *f, const void *strct,
		     uint32_t flags, void *user)
{
	const uint8_t *p = (const uint8_t *)strct + f->off;
	bool all = flags & SSM_STRUCT_DONT_IGNORE;
	uint64_t v64;
	void *ptr;

	switch (f->transform) {
	case SSM_FT_NONE:
		return put_none(h, p, f->size);
	case SSM_FT_GCPHYS:
		memcpy(&v64, p, sizeof(v64));
		return ssm_put_gcphys(h, v64);
	case SSM_FT_GCPTR:
		memcpy(&v64, p, sizeof(v64));
		return ssm_put_gcptr(h, v64);
	case SSM_FT_HCPTR_NI:
		memcpy(&ptr, p, sizeof(ptr));
		if (all)
			return ssm_put_u64(h, (uint64_t)(uintptr_t)ptr);
		return ssm_put_bool(h, ptr != NULL);
	case SSM_FT_HCPTR:
	case SSM_FT_IGNORE:
		return all ? put_zeros(h, f->size) : SSM_OK;
	case SSM_FT_PAD_HC:
		return all ? put_zeros(h, pad_for_bits(f, stream_host_bits(h)))
			   : SSM_OK;
	case SSM_FT_CALLBACK:
		/* The callback API takes a mutable struct pointer for both
		 * directions; a put callback must not write through it. */
		return f->fn(h, f, (void *)(uintptr_t)strct, flags, false, user);
	default:
		return SSM_ERR_INVALID_ARG;   /* check_table() rejects these */
	}
}

int ssm_put_struct(ssm_handle *h, const void *strct, size_t size, uint32_t flags,
		   const ssm_field *fields, void *user)
{
	const ssm_field *f;
	const char *why;
	int rc;

	if (!h)
		return SSM_ERR_INVALID_ARG;
	rc = check_table(strct, size, flags, fields, &f, &why);
	if (rc)
		return rc;

	if (!(flags & SSM_STRUCT_NO_MARKERS)) {
		rc = ssm_put_u32(h, SSM_STRUCT_BEGIN_MARKER);
		if (rc)
			return rc;
	}
	for (f = fields; f->transform != SSM_FT_INVALID; f++) {
		rc = put_field(h, f, strct, flags, user);
		if (rc)
			return rc;
	}
	if (!(flags & SSM_STRUCT_NO_MARKERS))
		return ssm_put_u32(h, SSM_STRUCT_END_MARKER);
	return SSM_OK;
}

/* Each getter reads into a local and copies only on success, so a failed
 * get leaves the member as it was (like the primitives themselves). */
static int get_none(ssm_handle *h, uint8_t *p, uint32_t size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	int rc;

	switch (size) {
	case 0:
		return SSM_OK;
	case 1:
		rc = ssm_get_u8(h, &v8);
		if (!rc)
			*p = v8;
		return rc;
	case 2:
		rc = ssm_get_u16(h, &v16);
		if (!rc)
			memcpy(p, &v16, sizeof(v16));
		return rc;
	case 4:
		rc = ssm_get_u32(h, &v32);
		if (!rc)
			memcpy(p, &v32, sizeof(v32));
		return rc;
	case 8:
		rc = ssm_get_u64(h, &v64);
		if (!rc)
			memcpy(p, &v64, sizeof(v64));
		return rc;
	default:
		return ssm_get_mem(h, p, size);
	}
}

static int get_hcptr_ni(ssm_handle *h, uint8_t *p, bool all)
{
	uint64_t v64 = 0;
	bool set = false;
	void *ptr;
	int rc;

	if (all) {
		rc = ssm_get_u64(h, &v64);
		set = v64 != 0;
	} else {
		rc = ssm_get_bool(h, &set);
	}
	if (rc)
		return rc;
	/* The saved value is another process's address: only its NULL-ness
	 * means anything here. */
	ptr = set ? (void *)(uintptr_t)1 : NULL;
	memcpy(p, &ptr, sizeof(ptr));
	return SSM_OK;
}

static int get_field(ssm_handle *h, const ssm_field *f, void *strct,
		     uint32_t flags, void *user)
{
	uint8_t *p = (uint8_t *)strct + f->off;
	bool all = flags & SSM_STRUCT_DONT_IGNORE;
	uint64_t v64;
	int rc;

	switch (f->transform) {
	case SSM_FT_NONE:
		return get_none(h, p, f->size);
	case SSM_FT_GCPHYS:
		rc = ssm_get_gcphys(h, &v64);
		if (!rc)
			memcpy(p, &v64, sizeof(v64));
		return rc;
	case SSM_FT_GCPTR:
		rc = ssm_get_gcptr(h, &v64);
		if (!rc)
			memcpy(p, &v64, sizeof(v64));
		return rc;
	case SSM_FT_HCPTR_NI:
		return get_hcptr_ni(h, p, all);
	case SSM_FT_HCPTR:
	case SSM_FT_IGNORE:
		return all && f->size ? ssm_skip(h, f->size) : SSM_OK;
	case SSM_FT_PAD_HC: {
		unsigned n = pad_for_bits(f, stream_host_bits(h));

		return all && n ? ssm_skip(h, n) : SSM_OK;
	}
	case SSM_FT_CALLBACK:
		return f->fn(h, f, strct, flags, true, user);
	default:
		return SSM_ERR_INVALID_ARG;   /* check_table() rejects these */
	}
}

static int get_marker(ssm_handle *h, const ssm_field *fields, uint32_t expect,
		      const char *which)
{
	uint32_t v;
	int rc;

	rc = ssm_get_u32(h, &v);
	if (rc)
		return rc;
	if (v != expect)
		return ssm_set_load_error(h, SSM_ERR_STRUCT_MARKER,
			"%s marker of struct starting at field '%s' is 0x%08x, expected 0x%08x",
			which, table_name(fields), v, expect);
	return SSM_OK;
}

int ssm_get_struct(ssm_handle *h, void *strct, size_t size, uint32_t flags,
		   const ssm_field *fields, void *user)
{
	const ssm_field *f;
	const char *why;
	int rc;

	if (!h)
		return SSM_ERR_INVALID_ARG;
	rc = check_table(strct, size, flags, fields, &f, &why);
	if (rc && f)
		return ssm_set_load_error(h, rc,
			"struct field table starting at field '%s': field '%s' %s",
			table_name(fields), f->name ? f->name : "?", why);
	if (rc && fields)
		return ssm_set_load_error(h, rc,
			"struct field table starting at field '%s': %s",
			table_name(fields), why);
	if (rc)
		return rc;

	if (!(flags & SSM_STRUCT_NO_MARKERS)) {
		rc = get_marker(h, fields, SSM_STRUCT_BEGIN_MARKER, "begin");
		if (rc)
			return rc;
	}
	for (f = fields; f->transform != SSM_FT_INVALID; f++) {
		const char *outer = h->field;

		h->field = f->name ? f->name : "?";
		rc = get_field(h, f, strct, flags, user);
		/* A refusal nobody described yet (a callback field's own
		 * code, a string too long) still gets unit, field, offset. */
		if (rc && !h->status)
			ssm_set_load_error(h, rc, "%s", h->note_rc == rc && h->note[0] ?
					   h->note : ssm_strerror(rc));
		h->field = outer;
		if (rc)
			return rc;
	}
	if (!(flags & SSM_STRUCT_NO_MARKERS))
		return get_marker(h, fields, SSM_STRUCT_END_MARKER, "end");
	return SSM_OK;
}
