/* test_zstd.c - ZSTD records: round trips at several levels and thread
 * counts (the stream must not depend on the thread count), and hostile
 * ZSTD records (decompression bombs, frames that decode to more or less
 * than they declare, garbage, trailing bytes, huge windows) refused with
 * SSM_ERR_COMPRESS and a one-line message, CRCs recomputed as an attacker
 * would (crcfix.h). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ssm/ssm.h"
#include "ssm/format.h"
#include "crcfix.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- One unit "aa" holding len bytes of data ---------------------------- */

struct blob {
	uint8_t *data;
	size_t len;
	uint8_t *got;
	int loads;
};

static int b_save(void *ctx, ssm_handle *h)
{
	struct blob *b = ctx;

	return ssm_put_mem(h, b->data, b->len);
}

static int b_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct blob *b = ctx;

	(void)version;
	(void)pass;
	b->loads++;
	return ssm_get_mem(h, b->got, b->len);
}

static const ssm_callbacks b_cb = { .save_exec = b_save, .load_exec = b_load };

static ssm *b_registry(struct blob *b)
{
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "aa", 0, 1, 0, NULL, 0, &b_cb, b), SSM_OK);
	return s;
}

/* Log-like text with zero pages between runs of it: what a guest's RAM
 * holds in the text fill, not one repeated byte. */
static void text_fill(uint8_t *p, size_t len, uint64_t seed)
{
	static const char *const words[] = { "kernel", "eth0", "link", "up", "ssm", "saved",
					     "page", "fault", "at", "user", "cron", "daemon",
					     "started", "session", "error", "warning" };
	size_t i = 0;

	while (i < len) {
		char line[128];
		int n = snprintf(line, sizeof(line), "%08llu host ",
				 (unsigned long long)(tu_rng(&seed) % 100000000));

		for (int k = (int)(tu_rng(&seed) % 8) + 2; k > 0; k--)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s ",
				      words[tu_rng(&seed) % N(words)]);
		line[n - 1] = '\n';
		for (int k = 0; k < n && i < len; k++)
			p[i++] = (uint8_t)line[k];
	}
	/* Every 5th 64 KiB stretch is zero pages (ZERO records in between). */
	for (size_t off = 4 << 16; off + (64 << 10) <= len; off += 5 << 16)
		memset(p + off, 0, 64 << 10);
}

static int save_with(struct blob *b, ssm_codec codec, int level, uint32_t workers,
		     void **img, size_t *len)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = level, .codec = codec,
			    .workers = workers };
	ssm *s = b_registry(b);
	int rc = tu_save(s, &o, true, img, len);

	ssm_destroy(s);
	return rc;
}

static int load_img(struct blob *b, const void *img, size_t len, char *msg, size_t msglen)
{
	ssm *s = b_registry(b);
	int rc;

	memset(b->got, 0xee, b->len);
	b->loads = 0;
	rc = tu_load(s, img, len, NULL);
	snprintf(msg, msglen, "%s", ssm_last_error(s));
	ssm_destroy(s);
	return rc;
}

/* Count the records of type t in a file of one unit. */
static unsigned count_type(const uint8_t *img, size_t len, uint8_t t)
{
	struct cf_layout l;
	unsigned n = 0;

	cf_walk(img, len, &l);
	for (size_t pos = l.unit[0] + SSMF_UNIT_FIXED + le32_get(img + l.unit[0] + 28) + 4;
	     pos < l.end[0]; pos += SSMF_REC_HDR + le32_get(img + pos + 4))
		n += img[pos] == t;
	return n;
}

static void blob_init(struct blob *b, size_t len, uint64_t seed)
{
	b->len = len;
	b->data = tu_xmalloc(len);
	b->got = tu_xmalloc(len);
	text_fill(b->data, len, seed);
}

static void blob_free(struct blob *b)
{
	free(b->data);
	free(b->got);
}

Test(zstd, levels_round_trip_and_shrink)
{
	static const int levels[] = { -7, -1, 1, 3, 9, 19 };
	struct blob b;
	void *img, *zimg;
	size_t len, zlen;
	char msg[512];

	blob_init(&b, (5u << 20) + 12345, 7);
	cr_assert_eq(save_with(&b, SSM_CODEC_ZLIB, 6, 2, &zimg, &zlen), SSM_OK);
	for (size_t i = 0; i < N(levels); i++) {
		cr_assert_eq(save_with(&b, SSM_CODEC_ZSTD, levels[i], 2, &img, &len), SSM_OK,
			     "level %d", levels[i]);
		cr_assert_gt(count_type(img, len, SSMF_REC_ZSTD), 4, "level %d: no ZSTD records",
			     levels[i]);
		cr_assert_gt(count_type(img, len, SSMF_REC_ZERO), 0);
		cr_assert_eq(count_type(img, len, SSMF_REC_ZLIB), 0);
		cr_assert_lt(len, b.len / 2, "level %d: %zu bytes for %zu", levels[i], len, b.len);
		if (levels[i] == 19)
			cr_assert_lt(len, zlen, "level %d: %zu bytes, zlib 6 %zu", levels[i], len,
				     zlen);
		cr_assert_eq(load_img(&b, img, len, msg, sizeof(msg)), SSM_OK, "level %d: %s",
			     levels[i], msg);
		cr_assert_eq(b.loads, 1);
		cr_assert(!memcmp(b.got, b.data, b.len), "level %d: data differs", levels[i]);
		cr_assert_eq(tu_validate(img, len, msg, sizeof(msg)), SSM_OK, "%s", msg);
		free(img);
	}
	free(zimg);
	blob_free(&b);
}

/* Records are written in order whatever thread compressed them: the file
 * is byte for byte the same for 1 to 5 threads, for both codecs. */
Test(zstd, stream_does_not_depend_on_thread_count)
{
	static const ssm_codec codecs[] = { SSM_CODEC_ZSTD, SSM_CODEC_ZLIB };
	struct blob b;

	blob_init(&b, (9u << 20) + 4096 * 3 + 17, 11);
	for (size_t c = 0; c < N(codecs); c++) {
		void *ref, *img;
		size_t rlen, len;

		cr_assert_eq(save_with(&b, codecs[c], 1, 1, &ref, &rlen), SSM_OK);
		for (uint32_t w = 0; w <= 5; w++) {
			cr_assert_eq(save_with(&b, codecs[c], 1, w, &img, &len), SSM_OK);
			cr_assert(len == rlen && !memcmp(img, ref, len),
				  "codec %d, %u workers: stream differs from 1 worker's", codecs[c], w);
			free(img);
		}
		free(ref);
	}
	blob_free(&b);
}

Test(zstd, incompressible_data_stays_raw)
{
	struct blob b;
	void *img;
	size_t len;
	char msg[512];

	b.len = 3u << 20;
	b.data = tu_xmalloc(b.len);
	b.got = tu_xmalloc(b.len);
	tu_fill(b.data, b.len, 3);
	cr_assert_eq(save_with(&b, SSM_CODEC_ZSTD, 3, 2, &img, &len), SSM_OK);
	cr_assert_eq(count_type(img, len, SSMF_REC_ZSTD), 0);
	cr_assert_eq(count_type(img, len, SSMF_REC_RAW), 3);
	cr_assert_eq(load_img(&b, img, len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert(!memcmp(b.got, b.data, b.len));
	free(img);
	blob_free(&b);
}

Test(zstd, bad_options_refused)
{
	static const struct { ssm_codec codec; int level; uint32_t workers; const char *says; }
	bad[] = {
		{ SSM_CODEC_ZSTD, 20, 1, "zstd compression level 20" },
		{ SSM_CODEC_ZSTD, -8, 1, "zstd compression level -8" },
		{ SSM_CODEC_ZLIB, 10, 1, "compression level 10" },
		{ (ssm_codec)2, 1, 1, "codec 2" },
		{ SSM_CODEC_ZSTD, 1, 17, "workers is 17" },
	};
	struct blob b;

	blob_init(&b, 8192, 1);
	for (size_t i = 0; i < N(bad); i++) {
		ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = bad[i].level,
				    .codec = bad[i].codec, .workers = bad[i].workers };
		ssm *s = b_registry(&b);
		void *img;
		size_t len;

		cr_assert_eq(tu_save(s, &o, true, &img, &len), SSM_ERR_INVALID_ARG, "case %zu", i);
		cr_assert(strstr(ssm_last_error(s), bad[i].says), "case %zu: '%s'", i,
			  ssm_last_error(s));
		free(img);
		ssm_destroy(s);
	}
	blob_free(&b);
}

/* ---- Hostile ZSTD records ------------------------------------------------ */

/* A file whose unit "aa" holds one record of dlen bytes, that record
 * replaced by a ZSTD record of the given payload claiming rec_dlen
 * decoded bytes, every CRC fixed. */
static uint8_t *forge2(const void *payload, size_t plen, uint32_t dlen, uint32_t rec_dlen,
		       size_t *out_len)
{
	struct blob b = { 0 };
	struct cf_layout l;
	uint8_t *img, *o;
	size_t len, rec, old, nlen;
	void *raw;

	b.len = dlen;
	b.data = tu_xmalloc(dlen);
	memset(b.data, 'x', dlen);
	tu_fill(b.data, dlen < 64 ? dlen : 64, 5);
	cr_assert_eq(save_with(&b, SSM_CODEC_ZLIB, 0, 1, &raw, &len), SSM_OK);
	img = raw;
	cf_walk(img, len, &l);
	rec = l.unit[0] + SSMF_UNIT_FIXED + le32_get(img + l.unit[0] + 28) + 4;
	cr_assert_eq(img[rec], SSMF_REC_RAW, "test setup: one RAW record expected");
	old = SSMF_REC_HDR + le32_get(img + rec + 4);
	cr_assert_eq(rec + old, l.end[0], "test setup: one record expected");
	nlen = len - old + SSMF_REC_HDR + plen;
	o = tu_xmalloc(nlen);
	memcpy(o, img, rec);
	o[rec] = SSMF_REC_ZSTD;
	memset(o + rec + 1, 0, 3);
	le32_put(o + rec + 4, (uint32_t)plen);
	le32_put(o + rec + 8, rec_dlen);
	memcpy(o + rec + SSMF_REC_HDR, payload, plen);
	memcpy(o + rec + SSMF_REC_HDR + plen, img + rec + old, len - rec - old);
	/* Everything after the record moved: the footer's dir_offset. */
	le64_put(o + nlen - SSMF_FOOTER_SIZE + 8,
		 le64_get(img + len - SSMF_FOOTER_SIZE + 8) + plen + SSMF_REC_HDR - old);
	cf_fix(o, nlen);
	free(raw);
	free(b.data);
	*out_len = nlen;
	return o;
}

static uint8_t *forge(const void *payload, size_t plen, uint32_t dlen, size_t *out_len)
{
	return forge2(payload, plen, dlen, dlen, out_len);
}

/* The forged file is refused by load and validate with SSM_ERR_COMPRESS
 * (or the given code), a one-line message containing says, and the
 * loader never gets a byte. */
static void expect_refused2(const void *payload, size_t plen, uint32_t dlen, uint32_t rec_dlen,
			    int code, const char *says)
{
	struct blob b = { .len = dlen };
	size_t len;
	uint8_t *img = forge2(payload, plen, dlen, rec_dlen, &len);
	char msg[512];

	b.got = tu_xmalloc(dlen);
	cr_assert_eq(load_img(&b, img, len, msg, sizeof(msg)), code, "'%s': load: %s", says, msg);
	cr_assert(strstr(msg, says), "message '%s' lacks '%s'", msg, says);
	cr_assert(!strchr(msg, '\n'), "message '%s' is more than one line", msg);
	cr_assert_eq(tu_validate(img, len, msg, sizeof(msg)), code, "'%s': validate", says);
	cr_assert(strstr(msg, says), "validate: '%s' lacks '%s'", msg, says);
	free(b.got);
	free(img);
}

static void expect_refused(const void *payload, size_t plen, uint32_t dlen, int code,
			   const char *says)
{
	expect_refused2(payload, plen, dlen, dlen, code, says);
}

static size_t zc(void *dst, size_t cap, const void *src, size_t n)
{
	size_t r = ZSTD_compress(dst, cap, src, n, 3);

	cr_assert(!ZSTD_isError(r), "test setup: %s", ZSTD_getErrorName(r));
	return r;
}

/* The control: a well-formed forged frame loads.  (Without it, every
 * refusal below could come from the forging, not from the frame.) */
Test(zstd_hostile, forged_good_frame_loads)
{
	uint8_t src[4096], frame[8192];
	size_t n, len;
	struct blob b = { .len = sizeof(src), .data = src };
	uint8_t *img;
	char msg[512];

	memset(src, 'x', sizeof(src));
	tu_fill(src, 64, 5);
	n = zc(frame, sizeof(frame), src, sizeof(src));
	img = forge(frame, n, sizeof(src), &len);
	b.got = tu_xmalloc(b.len);
	cr_assert_eq(load_img(&b, img, len, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert(!memcmp(b.got, src, sizeof(src)));
	free(b.got);
	free(img);
}

/* Tiny input claiming a huge output: 64 MiB of zeros in a few bytes. */
Test(zstd_hostile, bomb_refused_before_decoding)
{
	size_t big = 64u << 20, n;
	uint8_t *zeros = calloc(1, big), frame[65536];

	cr_assert_not_null(zeros);
	n = zc(frame, sizeof(frame), zeros, big);
	free(zeros);
	cr_assert_lt(n, 4096);
	expect_refused(frame, n, 4096, SSM_ERR_COMPRESS,
		       "frame content size is 67108864, its decoded_len (offset");
	/* A record claiming more than 1 MiB is refused on its lengths alone. */
	expect_refused2(frame, n, 4096, (1u << 20) + 1, SSM_ERR_FORMAT, "impossible lengths");
}

/* The frame header's content size field, located from its descriptor. */
static uint8_t *fcs_field(uint8_t *frame, unsigned *width)
{
	uint8_t fhd = frame[4];
	unsigned fcs_flag = fhd >> 6, single = fhd >> 5 & 1, did = fhd & 3;
	static const unsigned did_len[] = { 0, 1, 2, 4 }, fcs_len[] = { 0, 2, 4, 8 };

	*width = fcs_flag == 0 && single ? 1 : fcs_len[fcs_flag];
	return frame + 5 + !single + did_len[did];
}

/* A frame whose header says one size and whose blocks make more: it is
 * decoded into a buffer of decoded_len bytes and refused. */
Test(zstd_hostile, output_longer_than_declared_refused)
{
	uint8_t src[8192], frame[16384], *f;
	unsigned w;
	size_t n;

	text_fill(src, sizeof(src), 3);
	n = zc(frame, sizeof(frame), src, sizeof(src));
	f = fcs_field(frame, &w);
	cr_assert_eq(w, 2, "test setup: a 2-byte content size expected");
	le16_put(f, 4096 - 256);          /* 2-byte field: value - 256 */
	expect_refused(frame, n, 4096, SSM_ERR_COMPRESS, "ZSTD record does not decode");
	/* And one that makes less than it says. */
	n = zc(frame, sizeof(frame), src, sizeof(src));
	le16_put(fcs_field(frame, &w), 12000 - 256);
	expect_refused(frame, n, 12000, SSM_ERR_COMPRESS, "ZSTD record");
}

Test(zstd_hostile, frame_without_content_size_refused)
{
	uint8_t src[4096], frame[8192];
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer in = { src, sizeof(src), 0 };
	ZSTD_outBuffer out = { frame, sizeof(frame), 0 };

	text_fill(src, sizeof(src), 4);
	cr_assert_eq(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0), 0);
	cr_assert_eq(ZSTD_compressStream2(c, &out, &in, ZSTD_e_end), 0);
	ZSTD_freeCCtx(c);
	expect_refused(frame, out.pos, sizeof(src), SSM_ERR_COMPRESS, "not given");
}

Test(zstd_hostile, garbage_trailing_bytes_and_two_frames_refused)
{
	uint8_t src[4096], frame[16384], junk[3000];
	size_t n;
	uint64_t seed = 77;

	tu_fill(junk, sizeof(junk), 9);
	expect_refused(junk, sizeof(junk), 4096, SSM_ERR_COMPRESS, "not a zstd frame");
	expect_refused(junk, 2, 4096, SSM_ERR_COMPRESS, "not a zstd frame");
	/* The magic followed by garbage. */
	le32_put(junk, ZSTD_MAGICNUMBER);
	expect_refused(junk, sizeof(junk), 4096, SSM_ERR_COMPRESS, "ZSTD record");
	/* Valid frame, then bytes; valid frame, then another frame. */
	text_fill(src, sizeof(src), 5);
	n = zc(frame, sizeof(frame), src, sizeof(src));
	memset(frame + n, 0, 3);
	expect_refused(frame, n + 3, 4096, SSM_ERR_COMPRESS, "3 stored bytes follow");
	size_t m = zc(frame + n, sizeof(frame) - n, src, sizeof(src));
	expect_refused(frame, n + m, 4096, SSM_ERR_COMPRESS, "stored bytes follow");
	/* Random damage anywhere in a frame: refused or (if zstd cannot tell)
	 * decoded to exactly decoded_len bytes, never anything else. */
	for (int i = 0; i < 200; i++) {
		struct blob b = { .len = 4096 };
		uint8_t bad[16384];
		size_t len;
		uint8_t *img;
		char msg[512];
		int rc;

		memcpy(bad, frame, n);
		bad[tu_rng(&seed) % n] ^= (uint8_t)(1 + tu_rng(&seed) % 255);
		img = forge(bad, n, 4096, &len);
		b.got = tu_xmalloc(b.len);
		rc = load_img(&b, img, len, msg, sizeof(msg));
		cr_assert(rc == SSM_OK || (rc == SSM_ERR_COMPRESS && strstr(msg, "ZSTD record") &&
					   !strchr(msg, '\n')), "rc %d: %s", rc, msg);
		free(b.got);
		free(img);
	}
}

/* A hand-made frame asking for a 128 MiB window (a raw block of 4096
 * bytes): a reader allocates no window beyond 1 MiB. */
Test(zstd_hostile, huge_window_refused)
{
	uint8_t frame[5 + 1 + 4 + 3 + 4096];
	uint32_t bh = 4096u << 3 | 1;     /* last block, raw, 4096 bytes */

	le32_put(frame, ZSTD_MAGICNUMBER);
	frame[4] = 0x80;                  /* 4-byte content size, window descriptor */
	frame[5] = (27 - 10) << 3;        /* window 2^27 */
	le32_put(frame + 6, 4096);
	frame[10] = (uint8_t)bh;
	frame[11] = (uint8_t)(bh >> 8);
	frame[12] = (uint8_t)(bh >> 16);
	memset(frame + 13, 'y', 4096);
	expect_refused(frame, sizeof(frame), 4096, SSM_ERR_COMPRESS,
		       "frame window (offset 131) is 134217728 bytes");
	/* The same frame with a 1 MiB window is fine: the refusal was the window. */
	{
		struct blob b = { .len = 4096 };
		size_t len;
		uint8_t *img;
		char msg[512];

		frame[5] = (20 - 10) << 3;
		img = forge(frame, sizeof(frame), 4096, &len);
		b.got = tu_xmalloc(b.len);
		cr_assert_eq(load_img(&b, img, len, msg, sizeof(msg)), SSM_OK, "%s", msg);
		cr_assert_eq(b.got[4095], 'y');
		free(b.got);
		free(img);
	}
}
