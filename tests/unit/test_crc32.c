/* test_crc32.c - the fast CRC-32 must equal zlib's crc32 bit for bit. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <zlib.h>

#include "ssm/internal.h"

static void fill(uint8_t *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(seed >> 56);
	}
}

Test(crc32, equals_zlib_for_every_length_and_alignment)
{
	enum { MAX = 1100 };
	uint8_t *b = malloc(MAX + 16);

	fill(b, MAX + 16, 1);
	for (size_t off = 0; off < 16; off += 5)
		for (size_t len = 0; len <= MAX; len++)
			for (uint32_t init = 0; init < 3; init++) {
				uint32_t seed = init * 0x9e3779b9u;
				uint32_t want = (uint32_t)crc32(seed, b + off, (uInt)len);

				if (!len)
					want = seed;
				cr_assert_eq(ssm_crc32(seed, b + off, len), want,
					     "len %zu off %zu init %u", len, off, init);
			}
	free(b);
}

Test(crc32, equals_zlib_on_large_and_special_buffers)
{
	size_t n = (1u << 20) + 13;
	uint8_t *b = malloc(n);

	fill(b, n, 7);
	cr_assert_eq(ssm_crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n));
	memset(b, 0, n);
	cr_assert_eq(ssm_crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n));
	memset(b, 0xff, n);
	cr_assert_eq(ssm_crc32(0x12345678, b, n), (uint32_t)crc32(0x12345678, b, (uInt)n));
	/* Chained calls equal one call. */
	fill(b, n, 9);
	cr_assert_eq(ssm_crc32(ssm_crc32(0, b, 1000), b + 1000, n - 1000),
		     (uint32_t)crc32(0, b, (uInt)n));
	free(b);
}
