/* crcfix.h - a test helper that finds the structures of an SSM image and
 * recomputes every CRC after a test patched a field, as an attacker would:
 * file header, unit headers, records, END unit_crc, terminator, directory,
 * footer file_crc and footer.  Only as much as the format-rule tests need;
 * tests/forge/ has the full forging tool.  static inline, like testutil.h.
 */
#ifndef TESTS_UNIT_CRCFIX_H
#define TESTS_UNIT_CRCFIX_H

#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "ssm/format.h"

#define CF_MAX_UNITS 32

/* Offsets of the structures, found by walking lengths (never CRCs or
 * fields a test may patch, other than the lengths themselves). */
struct cf_layout {
	size_t nunits;
	size_t unit[CF_MAX_UNITS];   /* unit header */
	size_t end[CF_MAX_UNITS];    /* its END record */
	size_t entry[CF_MAX_UNITS];  /* its directory entry */
	size_t term, dir, dir_crc, footer;
};

static inline void cf_walk(const uint8_t *img, size_t len, struct cf_layout *l)
{
	size_t pos = SSMF_FILE_HDR_SIZE;

	memset(l, 0, sizeof(*l));
	for (;;) {
		uint32_t nl;

		cr_assert_leq(pos + SSMF_UNIT_FIXED + 4, len, "crcfix: no unit header at %zu", pos);
		nl = le32_get(img + pos + 28);
		if (nl == 0) {
			l->term = pos;
			pos += SSMF_UNIT_FIXED + 4;
			break;
		}
		cr_assert_lt(l->nunits, CF_MAX_UNITS);
		l->unit[l->nunits] = pos;
		pos += SSMF_UNIT_FIXED + nl + 4;
		for (;;) {
			cr_assert_leq(pos + SSMF_REC_HDR, len, "crcfix: no record at %zu", pos);
			if (img[pos] == SSMF_REC_END)
				break;
			pos += SSMF_REC_HDR + le32_get(img + pos + 4);
		}
		l->end[l->nunits++] = pos;
		pos += SSMF_REC_HDR + SSMF_END_PAYLOAD;
	}
	l->dir = pos;
	pos += SSMF_DIR_HDR;
	for (uint32_t i = 0; i < le32_get(img + l->dir + 8); i++) {
		cr_assert_leq(pos + SSMF_DIR_ENTRY_FIXED, len);
		if (i < CF_MAX_UNITS)
			l->entry[i] = pos;
		pos += SSMF_DIR_ENTRY_FIXED + le32_get(img + pos + 32);
	}
	l->dir_crc = pos;
	l->footer = pos + 4;
	cr_assert_leq(l->footer + SSMF_FOOTER_SIZE, len);
}

static inline uint32_t cf_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

/* Recompute every CRC of img in stream order. */
static inline void cf_fix(uint8_t *img, size_t len)
{
	struct cf_layout l;

	cf_walk(img, len, &l);
	le32_put(img + 60, cf_crc(0, img, 60));
	for (size_t u = 0; u < l.nunits; u++) {
		size_t h = l.unit[u], hl = SSMF_UNIT_FIXED + le32_get(img + h + 28);
		size_t pos = h + hl + 4, e = l.end[u];
		uint32_t ucrc;

		le32_put(img + h + hl, cf_crc(0, img + h, hl));
		for (; pos < e; pos += SSMF_REC_HDR + le32_get(img + pos + 4)) {
			uint32_t stored = le32_get(img + pos + 4);
			uint32_t c = cf_crc(0, img + pos, 12);

			le32_put(img + pos + 12, cf_crc(c, img + pos + SSMF_REC_HDR, stored));
		}
		ucrc = cf_crc(0, img + h, e - h);
		le32_put(img + e + SSMF_REC_HDR + 8, ucrc);
		le32_put(img + e + 12, cf_crc(cf_crc(0, img + e, 12), img + e + SSMF_REC_HDR,
					      SSMF_END_PAYLOAD));
	}
	le32_put(img + l.term + SSMF_UNIT_FIXED, cf_crc(0, img + l.term, SSMF_UNIT_FIXED));
	le32_put(img + l.dir_crc, cf_crc(0, img + l.dir, l.dir_crc - l.dir));
	le32_put(img + l.footer + 24, cf_crc(0, img, l.footer));
	le32_put(img + l.footer + 28, cf_crc(0, img + l.footer, 28));
}

#endif /* TESTS_UNIT_CRCFIX_H */
