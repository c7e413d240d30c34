/* test_vmm_dirty.c - the ram unit's dirty-bitmap and convergence arithmetic
 * (vmm/dirty.c): run extraction against a bit-by-bit reference, the union
 * that keeps every page a read of the dirty log reported, and the vote. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/testutil.h"
#include "vmm/dirty.h"

static void set_bit(uint64_t *b, uint64_t p)
{
	b[p / 64] |= 1ull << (p % 64);
}

static int get_bit(const uint64_t *b, uint64_t p)
{
	return (int)(b[p / 64] >> (p % 64) & 1);
}

/* Walk every run and check it covers exactly the set bits, in order, each
 * run maximal up to max_len.  Returns the number of runs. */
static unsigned check_runs(const uint64_t *b, uint64_t npages, uint32_t max_len)
{
	uint64_t pos = 0, first = 0, expect = 0, covered = 0;
	unsigned runs = 0;
	uint32_t len;

	while ((len = dirty_next_run(b, npages, &pos, max_len, &first))) {
		cr_assert_leq(len, max_len);
		cr_assert_lt(first, npages);
		cr_assert_leq(first + len, npages, "run %llu+%u past %llu pages",
			      (unsigned long long)first, len, (unsigned long long)npages);
		/* Nothing set was skipped before the run. */
		for (uint64_t p = expect; p < first; p++)
			cr_assert_eq(get_bit(b, p), 0, "page %llu skipped", (unsigned long long)p);
		for (uint64_t p = first; p < first + len; p++)
			cr_assert_eq(get_bit(b, p), 1, "clean page %llu sent", (unsigned long long)p);
		/* Maximal: it stops at a clean page, the end, or max_len. */
		cr_assert(len == max_len || first + len == npages || !get_bit(b, first + len));
		cr_assert_eq(pos, first + len);
		expect = first + len;
		covered += len;
		runs++;
	}
	for (uint64_t p = expect; p < npages; p++)
		cr_assert_eq(get_bit(b, p), 0, "page %llu never sent", (unsigned long long)p);
	cr_assert_eq(covered, dirty_count(b, dirty_words(npages)));
	return runs;
}

Test(dirty, words_round_up)
{
	cr_assert_eq(dirty_words(0), 0);
	cr_assert_eq(dirty_words(1), 1);
	cr_assert_eq(dirty_words(64), 1);
	cr_assert_eq(dirty_words(65), 2);
	cr_assert_eq(dirty_words(16384), 256);
}

Test(dirty, empty_bitmap_has_no_run)
{
	uint64_t b[4] = { 0 }, pos = 0, first = 77;

	cr_assert_eq(dirty_next_run(b, 256, &pos, 256, &first), 0);
	cr_assert_eq(first, 77, "first is left alone when there is no run");
	cr_assert_eq(check_runs(b, 256, 256), 0);
}

Test(dirty, runs_cross_words_and_stop_at_max_len)
{
	uint64_t b[8] = { 0 }, pos = 0, first = 0;

	for (uint64_t p = 60; p < 70; p++)      /* across the word 0/1 boundary */
		set_bit(b, p);
	for (uint64_t p = 128; p < 448; p++)    /* 320 pages: cut at 256 */
		set_bit(b, p);
	set_bit(b, 511);                        /* the very last page */
	cr_assert_eq(dirty_next_run(b, 512, &pos, 256, &first), 10);
	cr_assert_eq(first, 60);
	cr_assert_eq(dirty_next_run(b, 512, &pos, 256, &first), 256);
	cr_assert_eq(first, 128);
	cr_assert_eq(dirty_next_run(b, 512, &pos, 256, &first), 64);
	cr_assert_eq(first, 384);
	cr_assert_eq(dirty_next_run(b, 512, &pos, 256, &first), 1);
	cr_assert_eq(first, 511);
	cr_assert_eq(dirty_next_run(b, 512, &pos, 256, &first), 0);
	cr_assert_eq(check_runs(b, 512, 256), 4);
}

/* Bits past the last page (a bitmap rounded up to whole words) are never
 * turned into a run outside RAM. */
Test(dirty, bits_past_the_end_are_ignored)
{
	uint64_t b[2] = { 0, ~0ull }, pos = 0, first = 0;

	set_bit(b, 3);
	cr_assert_eq(dirty_next_run(b, 70, &pos, 256, &first), 1);
	cr_assert_eq(first, 3);
	b[1] = ~0ull;
	cr_assert_eq(dirty_next_run(b, 70, &pos, 256, &first), 6, "pages 64..69 only");
	cr_assert_eq(first, 64);
	cr_assert_eq(dirty_next_run(b, 70, &pos, 256, &first), 0);
	cr_assert_eq(pos, 70);
}

Test(dirty, random_bitmaps_match_the_reference)
{
	uint64_t s = 0x1234567;

	for (int round = 0; round < 200; round++) {
		uint64_t npages = 1 + tu_rng(&s) % 3000;
		size_t words = dirty_words(npages);
		uint64_t *b = calloc(words, sizeof(*b));
		unsigned density = (unsigned)(tu_rng(&s) % 100);
		uint32_t max_len = 1 + (uint32_t)(tu_rng(&s) % 300);

		cr_assert_not_null(b);
		for (uint64_t p = 0; p < npages; p++)
			if (tu_rng(&s) % 100 < density)
				set_bit(b, p);
		check_runs(b, npages, max_len);
		free(b);
	}
}

/* The KVM_GET_DIRTY_LOG-clears case: two reads (the vote's, then the
 * pass's) each see different pages; the union holds both, and what the
 * pass sends is exactly the union. */
Test(dirty, merge_keeps_every_read)
{
	uint64_t pending[4] = { 0 }, vote_read[4] = { 0 }, pass_read[4] = { 0 };

	set_bit(vote_read, 5);
	set_bit(vote_read, 130);
	set_bit(pass_read, 130);
	set_bit(pass_read, 200);
	dirty_merge(pending, vote_read, 4);
	dirty_merge(pending, pass_read, 4);
	cr_assert_eq(dirty_count(pending, 4), 3);
	cr_assert(get_bit(pending, 5) && get_bit(pending, 130) && get_bit(pending, 200));
	cr_assert_eq(check_runs(pending, 256, 256), 3);
	/* The sources are untouched. */
	cr_assert_eq(dirty_count(vote_read, 4), 2);
	cr_assert_eq(dirty_count(pass_read, 4), 2);
}

/* A hostile stream's page runs: inside RAM, 1..max pages, no wrap. */
Test(dirty, run_validity)
{
	cr_assert(dirty_run_valid(0, 1, 16384, 256));
	cr_assert(dirty_run_valid(16128, 256, 16384, 256), "the last 256 pages");
	cr_assert(dirty_run_valid(16383, 1, 16384, 256), "the last page");
	cr_assert(!dirty_run_valid(0, 0, 16384, 256), "empty (the terminator is not a run)");
	cr_assert(!dirty_run_valid(0, 257, 16384, 256), "longer than a record");
	cr_assert(!dirty_run_valid(16384, 1, 16384, 256), "past the end");
	cr_assert(!dirty_run_valid(16383, 2, 16384, 256), "runs off the end");
	cr_assert(!dirty_run_valid(UINT64_MAX, 2, 16384, 256), "first + n wraps");
	cr_assert(!dirty_run_valid(1, UINT64_MAX, 16384, UINT32_MAX), "n wraps");
	cr_assert(!dirty_run_valid(0, 1, 0, 256), "no RAM");
}

Test(dirty, count)
{
	uint64_t b[3] = { ~0ull, 0x8000000000000001ull, 0 };

	cr_assert_eq(dirty_count(b, 3), 66);
	cr_assert_eq(dirty_count(b, 0), 0);
}

/* ---- the vote -------------------------------------------------------------- */

/* A pass that sent 100 MB in 1 s: 100 MB/s.  With 30 ms of downtime, half of
 * it (15 ms) fits 1.5 MB: 366 pages at 4112 bytes a page. */
static struct dirty_vote_in pass_in(uint32_t pass, uint64_t dirty_pages)
{
	return (struct dirty_vote_in){
		.pass = pass, .pass_bytes = 100000000, .pass_ns = 1000000000,
		.dirty_pages = dirty_pages, .max_downtime_ms = 30, .max_passes = 30,
	};
}

Test(dirty_vote, converges_when_the_dirty_set_fits_half_the_downtime)
{
	struct dirty_vote_in in = pass_in(1, 364);
	struct dirty_vote_out out;

	cr_assert_eq(dirty_vote(&in, &out), DIRTY_CONVERGED);
	cr_assert_eq(out.bw, 100000000);
	cr_assert_eq(out.dirty_bytes, 364ull * DIRTY_PAGE_COST);
	in.dirty_pages = 365;                   /* 1500880 bytes: 15.0088 ms */
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
	in.dirty_pages = 0;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_CONVERGED);
}

Test(dirty_vote, gives_up_when_the_guest_dirties_faster_than_sent)
{
	/* 100 MB/s sent; 25000 pages (~103 MB) dirtied in that second. */
	struct dirty_vote_in in = pass_in(1, 25000);
	struct dirty_vote_out out;

	cr_assert_eq(dirty_vote(&in, &out), DIRTY_TOO_FAST);
	cr_assert_gt(out.dirty_rate, (double)out.bw);
	/* Pass 0 sends all of RAM; the guest's rate during it says nothing. */
	in.pass = 0;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
	/* Slower than the link: another pass. */
	in.pass = 1;
	in.dirty_pages = 20000;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
}

Test(dirty_vote, pass_limit)
{
	struct dirty_vote_in in = pass_in(28, 20000);
	struct dirty_vote_out out;

	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
	in.pass = 29;                           /* the 30th pass just ran */
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_PASS_LIMIT);
	in.max_passes = 0;                      /* no limit */
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
	/* Converging beats the limit. */
	in.max_passes = 30;
	in.dirty_pages = 1;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_CONVERGED);
}

Test(dirty_vote, zero_time_and_zero_bytes_do_not_divide_by_zero)
{
	struct dirty_vote_in in = pass_in(1, 10);
	struct dirty_vote_out out;

	in.pass_ns = 0;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_CONVERGED);
	in.pass_bytes = 0;                      /* nothing sent: no bandwidth */
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_TOO_FAST);
	cr_assert_eq(out.bw, 0);
	in.pass = 0;
	cr_assert_eq(dirty_vote(&in, &out), DIRTY_ANOTHER_PASS);
}
