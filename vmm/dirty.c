/* dirty.c - dirty-page bitmaps and convergence arithmetic (see dirty.h). */
#include "vmm/dirty.h"

size_t dirty_words(uint64_t npages)
{
	return (size_t)((npages + 63) / 64);
}

void dirty_merge(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] |= src[i];
}

uint64_t dirty_count(const uint64_t *b, size_t words)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(b[i]);
	return n;
}

static int bit(const uint64_t *b, uint64_t p)
{
	return (int)(b[p / 64] >> (p % 64) & 1);
}

uint32_t dirty_next_run(const uint64_t *b, uint64_t npages, uint64_t *pos,
			uint32_t max_len, uint64_t *first)
{
	uint64_t p = *pos;
	uint32_t len = 0;

	while (p < npages) {
		uint64_t w = b[p / 64] >> (p % 64);

		if (w) {
			p += (uint64_t)__builtin_ctzll(w);
			break;
		}
		p = (p / 64 + 1) * 64;          /* the rest of the word is clean */
	}
	if (p >= npages || !max_len) {
		*pos = p < npages ? p : npages;
		return 0;
	}
	while (p + len < npages && len < max_len && bit(b, p + len))
		len++;
	*first = p;
	*pos = p + len;
	return len;
}

bool dirty_run_valid(uint64_t first, uint64_t n, uint64_t npages, uint32_t max_len)
{
	return n >= 1 && n <= max_len && first < npages && n <= npages - first;
}

enum dirty_verdict dirty_vote(const struct dirty_vote_in *in, struct dirty_vote_out *out)
{
	double ns = in->pass_ns ? (double)in->pass_ns : 1.0;
	double budget_ns = (double)in->max_downtime_ms * 1e6 / 2;

	out->bw = (uint64_t)((double)in->pass_bytes * 1e9 / ns);
	out->dirty_bytes = in->dirty_pages * DIRTY_PAGE_COST;
	out->dirty_rate = (double)out->dirty_bytes * 1e9 / ns;
	if (out->bw && (double)out->dirty_bytes * 1e9 / (double)out->bw <= budget_ns)
		return DIRTY_CONVERGED;
	if (in->pass >= 1 && out->dirty_rate >= (double)out->bw)
		return DIRTY_TOO_FAST;
	if (in->max_passes && in->pass + 1 >= in->max_passes)
		return DIRTY_PASS_LIMIT;
	return DIRTY_ANOTHER_PASS;
}
