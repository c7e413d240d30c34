/* codec.c - compresses one record's data with zlib (raw DEFLATE) or zstd
 * (one frame), for the writer's record jobs (wpool.c).  A context is used
 * by one thread at a time; each worker has its own. */
#include <string.h>

#include "ssm/internal.h"

int ssm_cctx_init(struct ssm_cctx *c, ssm_codec codec, int level)
{
	memset(c, 0, sizeof(*c));
	c->codec = codec;
	c->level = level;
	if (codec == SSM_CODEC_ZLIB) {
		if (deflateInit2(&c->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return SSM_ERR_NOMEM;
		c->z_init = true;
		return SSM_OK;
	}
	c->zc = ZSTD_createCCtx();
	if (!c->zc)
		return SSM_ERR_NOMEM;
	/* The frame's header always gives its content size (readers require
	 * it); no content checksum: the record CRC covers the stored bytes
	 * and the reader checks the decoded length. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_windowLog,
						SSMF_ZSTD_WINDOW_LOG_MAX))) {
		ZSTD_freeCCtx(c->zc);
		c->zc = NULL;
		return SSM_ERR_INVALID_ARG;
	}
	return SSM_OK;
}

void ssm_cctx_free(struct ssm_cctx *c)
{
	if (c->z_init)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zc);
	memset(c, 0, sizeof(*c));
}

/* Would deflating n bytes at p pay?  Three 4 KiB samples (start, middle,
 * end) are tried first: already-compressed or random data, which deflate
 * crawls through at ~60 MB/s only to store it raw, is recognised for ~3%
 * of that cost.  Only the choice of record type depends on it.  (zstd
 * needs no such test: it passes incompressible blocks through quickly.) */
static bool worth_deflating(struct ssm_cctx *c, const uint8_t *p, uint32_t n, uint8_t *out)
{
	static const uint32_t SAMPLE = 4096;

	if (n < 4 * SAMPLE)
		return true;
	for (int i = 0; i < 3; i++) {
		uint32_t off = i == 0 ? 0 : i == 1 ? (n - SAMPLE) / 2 : n - SAMPLE;
		int rc;

		c->z.next_in = (uint8_t *)p + off;
		c->z.avail_in = SAMPLE;
		c->z.next_out = out;
		c->z.avail_out = SSMF_ZLIB_STORED_MAX;
		rc = deflate(&c->z, Z_FINISH);
		deflateReset(&c->z);
		/* One sample that shrinks by 10% makes the whole attempt worth it. */
		if (rc != Z_STREAM_END || SSMF_ZLIB_STORED_MAX - c->z.avail_out < SAMPLE * 9 / 10)
			return true;
	}
	return false;
}

int ssm_cctx_run(struct ssm_cctx *c, const uint8_t *in, uint32_t n, uint8_t *out,
		 uint8_t *type, uint32_t *stored, const char **why)
{
	size_t got;

	*type = SSMF_REC_RAW;
	*stored = n;
	*why = NULL;
	if (c->codec == SSM_CODEC_ZSTD) {
		got = ZSTD_compress2(c->zc, out, SSMF_ZSTD_STORED_MAX, in, n);
		if (ZSTD_isError(got)) {
			*why = ZSTD_getErrorName(got);
			return SSM_ERR_COMPRESS;
		}
		if (got < n) {
			*type = SSMF_REC_ZSTD;
			*stored = (uint32_t)got;
		}
		return SSM_OK;
	}
	if (!worth_deflating(c, in, n, out))
		return SSM_OK;
	c->z.next_in = (uint8_t *)in;
	c->z.avail_in = n;
	c->z.next_out = out;
	c->z.avail_out = SSMF_ZLIB_STORED_MAX;
	int rc = deflate(&c->z, Z_FINISH);

	got = SSMF_ZLIB_STORED_MAX - c->z.avail_out;
	deflateReset(&c->z);
	if (rc != Z_STREAM_END) {
		*why = "deflate did not finish";
		return SSM_ERR_COMPRESS;
	}
	if (got < n) {
		*type = SSMF_REC_ZLIB;
		*stored = (uint32_t)got;
	}
	return SSM_OK;
}
