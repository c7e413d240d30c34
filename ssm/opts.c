/* opts.c - import of the caller's option structs (ssm_save_opts,
 * ssm_load_opts), whose leading size member lets the struct grow without
 * breaking programs built against an older or newer ssm.h (see ssm.h). */
#include <string.h>

#include "ssm/internal.h"

/* Larger than any option struct will grow to (ssm.h promises 4096). */
#define OPTS_SIZE_MAX 4096u
#define MEMBER_END(type, m) (offsetof(type, m) + sizeof(((type *)0)->m))

/* End offsets of every member after size, in order: a member is read only if
 * the caller's size reaches its end (a size cutting a member in two leaves
 * that member at its default rather than half-copied).  A member added to
 * either struct must be added here, or it is never read. */
static const size_t save_ends[] = {
	MEMBER_END(ssm_save_opts, after), MEMBER_END(ssm_save_opts, compression),
	MEMBER_END(ssm_save_opts, progress), MEMBER_END(ssm_save_opts, progress_user),
	MEMBER_END(ssm_save_opts, max_downtime_ms), MEMBER_END(ssm_save_opts, max_passes),
	MEMBER_END(ssm_save_opts, host_bits), MEMBER_END(ssm_save_opts, codec),
	MEMBER_END(ssm_save_opts, workers),
};
static const size_t load_ends[] = {
	MEMBER_END(ssm_load_opts, after), MEMBER_END(ssm_load_opts, skip_unknown),
	MEMBER_END(ssm_load_opts, progress), MEMBER_END(ssm_load_opts, progress_user),
	MEMBER_END(ssm_load_opts, map_extents), MEMBER_END(ssm_load_opts, map_fd),
};

/* Copy src (its first member: uint32_t size) into dst (known bytes); NULL
 * or an unread member leaves the default, 0. */
static int import(ssm_handle *h, const char *what, void *dst, size_t known, const void *src,
		  const size_t *ends, size_t nends)
{
	uint32_t size;
	size_t take = sizeof(uint32_t);

	memset(dst, 0, known);
	if (!src)
		return SSM_OK;
	memcpy(&size, src, sizeof size);
	/* Above OPTS_SIZE_MAX it is garbage (never set), not a grown struct:
	 * refused before reading that far into the caller's memory. */
	if (size < sizeof(uint32_t) || size > OPTS_SIZE_MAX)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "%s.size is %u: set it to sizeof(%s) "
				"(%zu here)", what, size, what, known);
	for (size_t i = size > known ? known : size; i < size; i++)
		if (((const unsigned char *)src)[i])
			return ssm_fail(h, SSM_ERR_NOT_SUPPORTED, "%s.size %u: byte %zu sets an "
					"option this libssm (%zu bytes) does not know", what,
					size, i, known);
	for (size_t i = 0; i < nends && ends[i] <= size; i++)
		take = ends[i];
	memcpy(dst, src, take);
	return SSM_OK;
}

#define NENDS(a) (sizeof(a) / sizeof((a)[0]))

int ssm_save_opts_import(ssm_handle *h, const ssm_save_opts *opts)
{
	return import(h, "ssm_save_opts", &h->sopts, sizeof h->sopts, opts, save_ends,
		      NENDS(save_ends));
}

int ssm_load_opts_import(ssm_handle *h, const ssm_load_opts *opts)
{
	return import(h, "ssm_load_opts", &h->lopts, sizeof h->lopts, opts, load_ends,
		      NENDS(load_ends));
}
