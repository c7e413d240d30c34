/* dirty.h - dirty-page bitmaps and the convergence arithmetic of a live
 * save, free of KVM so they can be unit-tested.
 *
 * A bitmap has one bit per 4 KiB page, page p at bit p % 64 of word p / 64
 * (KVM's KVM_GET_DIRTY_LOG layout on little-endian hosts).
 */
#ifndef VMM_DIRTY_H
#define VMM_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Words of a bitmap for npages pages. */
size_t dirty_words(uint64_t npages);
/* dst |= src over words words: a page read from the log in any fetch stays
 * to be sent until a pass sends it. */
void dirty_merge(uint64_t *dst, const uint64_t *src, size_t words);
/* Number of set bits. */
uint64_t dirty_count(const uint64_t *b, size_t words);

/* The next run of set bits at or after *pos, below npages, at most max_len
 * long: returns its length (0 when there is none left) with its first page
 * in *first, and moves *pos past it. */
uint32_t dirty_next_run(const uint64_t *b, uint64_t npages, uint64_t *pos,
			uint32_t max_len, uint64_t *first);

/* A page run read from a stream (first page, count) lies inside npages
 * pages of RAM and holds 1..max_len pages; no sum can wrap. */
bool dirty_run_valid(uint64_t first, uint64_t n, uint64_t npages, uint32_t max_len);

enum dirty_verdict {
	DIRTY_CONVERGED,           /* the dirty set fits in the downtime */
	DIRTY_ANOTHER_PASS,
	DIRTY_TOO_FAST,            /* the guest dirties faster than we send */
	DIRTY_PASS_LIMIT,          /* max_passes reached */
};

/* What one pass achieved and what is left; the vote's inputs. */
struct dirty_vote_in {
	uint32_t pass;             /* the pass just sent, 0-based */
	uint64_t pass_bytes;       /* stream bytes it produced */
	uint64_t pass_ns;          /* how long it took (0 is taken as 1) */
	uint64_t dirty_pages;      /* pages dirty now */
	uint32_t max_downtime_ms;
	uint32_t max_passes;       /* 0: no limit */
};

struct dirty_vote_out {
	uint64_t bw;               /* bytes/s the pass achieved */
	uint64_t dirty_bytes;      /* stream bytes the dirty set costs */
	double dirty_rate;         /* bytes/s the guest dirtied during the pass */
};

/* Done when the dirty set can be sent within half the allowed downtime at
 * the bandwidth the pass achieved (the other half is for the CPU, the
 * devices and the destination's start); too fast when, after pass 0, the
 * guest dirtied memory at least as fast as it was sent; then the pass
 * limit. */
enum dirty_verdict dirty_vote(const struct dirty_vote_in *in, struct dirty_vote_out *out);

/* Stream bytes a page costs in a run (its data plus its share of a run
 * header, taken at the worst case of one page per run). */
#define DIRTY_PAGE_COST (4096u + 16u)

#endif
