/* ram.c - the "ram" unit.
 *
 * Record data: u8 kind, then
 *   kind 0 (full image): u64 size, size bytes of RAM (version 2: put as an
 *                        extent, which a file holds page-aligned and a
 *                        restore maps; version 1: ordinary records);
 *   kind 1 (page runs):  runs of { u64 first_page, u32 npages, npages*4 KiB },
 *                        ended by a run with npages 0.
 * Pass 0 and plain saves are full images; later live passes and the final
 * pass of a live save are page runs.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/clock.h"
#include "vmm/dirty.h"
#include "vmm/machine.h"
#include "vmm/ram.h"

#define KIND_FULL RAM_KIND_FULL
#define KIND_RUNS RAM_KIND_RUNS
#define RUN_MAX_PAGES 256u         /* 1 MiB: one stream record */

static uint64_t npages(const struct machine *m)
{
	return m->kvm.ram_size / KVM_PAGE_SIZE;
}

static size_t bitmap_words(const struct machine *m)
{
	return dirty_words(npages(m));
}

static void free_bitmaps(struct ram_live *rl)
{
	free(rl->pending);
	free(rl->scratch);
	rl->pending = rl->scratch = NULL;
}

void ram_live_reset(struct machine *m)
{
	struct ram_live *rl = &m->ram_live;

	if (rl->logging && m->built)
		kvm_dirty_log_enable(&m->kvm, false);
	rl->logging = rl->incr = rl->incr_child = rl->incr_prefetched = false;
	free_bitmaps(rl);
}

/* Beyond the table the last slot accumulates, so totals stay right. */
static struct ram_pass_stat *new_stat(struct ram_live *rl, uint32_t pass)
{
	struct ram_pass_stat *st;

	if (rl->nstats < RAM_MAX_STATS)
		rl->nstats++;
	st = &rl->stats[rl->nstats - 1];
	st->pass = pass;
	return st;
}

static int put_full(struct machine *m, ssm_handle *h, uint64_t *nonzero)
{
	int rc = ssm_put_u8(h, KIND_FULL);

	if (!rc)
		rc = ssm_put_u64(h, m->kvm.ram_size);
	/* In a live pass or to a pipe libssm writes plain records instead. */
	if (!rc)
		rc = ssm_put_extent(h, m->kvm.ram, m->kvm.ram_size);
	*nonzero = npages(m);
	return rc;
}

/* Send the pages set in bitmap as runs; *sent gets their number. */
static int put_runs(struct machine *m, ssm_handle *h, const uint64_t *bitmap, uint64_t *sent)
{
	uint64_t total = npages(m), pos = 0, first = 0, n = 0;
	uint32_t len;
	int rc = ssm_put_u8(h, KIND_RUNS);

	while (!rc && (len = dirty_next_run(bitmap, total, &pos, RUN_MAX_PAGES, &first))) {
		rc = ssm_put_u64(h, first);
		if (!rc)
			rc = ssm_put_u32(h, len);
		if (!rc)
			rc = ssm_put_mem(h, m->kvm.ram + first * KVM_PAGE_SIZE,
					 (size_t)len * KVM_PAGE_SIZE);
		n += len;
	}
	if (!rc)
		rc = ssm_put_u64(h, 0);
	if (!rc)
		rc = ssm_put_u32(h, 0);
	*sent = n;
	return rc;
}

/* Read KVM's dirty log and add it to the pages still to send.  Every read
 * is kept: without manual protect KVM_GET_DIRTY_LOG clears the log as it
 * reads, so a page the vote saw is reported by no later read. */
static int collect_dirty(struct machine *m, ssm_handle *h)
{
	struct ram_live *rl = &m->ram_live;
	uint64_t t0 = host_now_ns();

	memset(rl->scratch, 0, bitmap_words(m) * sizeof(uint64_t));
	if (kvm_dirty_log_fetch(&m->kvm, rl->scratch))
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "ram: dirty log failed");
	dirty_merge(rl->pending, rl->scratch, bitmap_words(m));
	rl->log_ns += host_now_ns() - t0;
	return SSM_OK;
}

/* Send every page any read of the log reported since the last pass.  The
 * log is re-armed for them before they are read, so writes that land while
 * they are sent show up in the next pass. */
static int send_dirty(struct machine *m, ssm_handle *h, uint64_t *sent)
{
	struct ram_live *rl = &m->ram_live;
	uint64_t t0;
	int rc = collect_dirty(m, h);

	if (rc)
		return rc;
	t0 = host_now_ns();
	if (kvm_dirty_log_clear(&m->kvm, rl->pending))
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "ram: dirty log failed");
	rl->log_ns += host_now_ns() - t0;
	rl->log_calls++;
	rc = put_runs(m, h, rl->pending, sent);
	/* An incremental child keeps its pages until its file is durable
	 * (ram_save_done): a failed save must not lose them. */
	if (!rc && !rl->incr)
		memset(rl->pending, 0, bitmap_words(m) * sizeof(uint64_t));
	return rc;
}

static int ram_live_prep(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	struct ram_live *rl = &m->ram_live;

	ram_live_reset(m);
	memset(rl, 0, sizeof(*rl));
	rl->pending = calloc(bitmap_words(m), sizeof(uint64_t));
	rl->scratch = calloc(bitmap_words(m), sizeof(uint64_t));
	if (!rl->pending || !rl->scratch) {
		ram_live_reset(m);
		return SSM_ERR_NOMEM;
	}
	if (kvm_dirty_log_enable(&m->kvm, true)) {
		ram_live_reset(m);
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "ram: cannot start dirty logging");
	}
	rl->logging = true;
	return SSM_OK;
}

static int ram_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	struct machine *m = ctx;
	struct ram_live *rl = &m->ram_live;
	uint64_t sent;
	int rc;

	rl->exec_start_ns = host_now_ns();
	rl->exec_start_off = ssm_handle_offset(h);
	rl->passes = pass + 1;
	if (pass == 0) {
		rc = put_full(m, h, &sent);
	} else {
		rc = send_dirty(m, h, &sent);
	}
	if (!rc)
		new_stat(rl, pass)->pages += sent;
	return rc;
}

/* The arithmetic is dirty_vote()'s; this reads the log (keeping what it
 * finds for the next pass) and words the reasoning for the summary. */
static int ram_live_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	struct machine *m = ctx;
	struct ram_live *rl = &m->ram_live;
	struct dirty_vote_in in = {
		.pass = pass,
		.pass_bytes = ssm_handle_offset(h) - rl->exec_start_off,
		.pass_ns = host_now_ns() - rl->exec_start_ns,
		.max_downtime_ms = ssm_handle_max_downtime_ms(h),
		.max_passes = ssm_handle_max_passes(h),
	};
	struct dirty_vote_out out;
	enum dirty_verdict verdict;
	int rc;

	if (!in.pass_ns)
		in.pass_ns = 1;
	rl->stats[rl->nstats - 1].bytes += in.pass_bytes;
	rl->stats[rl->nstats - 1].ns += in.pass_ns;
	rc = collect_dirty(m, h);
	if (rc)
		return rc;
	in.dirty_pages = dirty_count(rl->pending, bitmap_words(m));
	verdict = dirty_vote(&in, &out);
	rl->bw = out.bw;
	switch (verdict) {
	case DIRTY_CONVERGED:
		snprintf(rl->why, sizeof(rl->why), "converged: %llu dirty pages fit in the "
			 "downtime at %.0f MB/s", (unsigned long long)in.dirty_pages,
			 out.bw / 1e6);
		return SSM_VOTE_DONE;
	case DIRTY_TOO_FAST:
		snprintf(rl->why, sizeof(rl->why), "gave up in pass %u: the guest dirties "
			 "%.0f MB/s, more than the %.0f MB/s sent", pass,
			 out.dirty_rate / 1e6, out.bw / 1e6);
		rl->gave_up = true;
		return SSM_VOTE_GIVE_UP;
	case DIRTY_PASS_LIMIT:
		snprintf(rl->why, sizeof(rl->why), "gave up: %llu dirty pages left after "
			 "%u passes", (unsigned long long)in.dirty_pages, pass + 1);
		rl->gave_up = true;
		return SSM_VOTE_GIVE_UP;
	case DIRTY_ANOTHER_PASS:
		break;
	}
	return SSM_VOTE_ANOTHER_PASS;
}

static int ram_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	struct ram_live *rl = &m->ram_live;
	uint64_t t0 = host_now_ns(), off0 = ssm_handle_offset(h), sent = 0;
	int rc;

	/* Logging kept for an incremental chain: only a child is runs. */
	if (!rl->logging || (rl->incr && !rl->incr_child))
		return put_full(m, h, &sent);
	/* A point-in-time child's log was read before the fork: the writer
	 * must not touch the running VM's log (ram_incr_prefetch). */
	if (rl->incr_prefetched)
		return put_runs(m, h, rl->pending, &sent);
	rc = send_dirty(m, h, &sent);
	rl->incr_pages = sent;
	if (!rc) {
		struct ram_pass_stat *st = new_stat(rl, SSM_PASS_FINAL);

		st->pages += sent;
		st->bytes += ssm_handle_offset(h) - off0;
		st->ns += host_now_ns() - t0;
	}
	return rc;
}

/* Turning logging off rebuilds KVM's view of all of RAM, which on a
 * software-nested host takes tens of milliseconds.  When the guest is not
 * going to run here again (teleport, destroy) that would only lengthen the
 * downtime, so the slot keeps logging until ram_live_reset() (a migration
 * that fails after all) or the VM's teardown. */
static int ram_save_done(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	ssm_after after = ssm_handle_after(h);

	/* An incremental chain keeps logging: a child's pages are done with
	 * once its file is written; otherwise they go in the next child. */
	if (m->ram_live.incr) {
		if (m->ram_live.incr_child && ssm_handle_status(h) == SSM_OK)
			memset(m->ram_live.pending, 0, bitmap_words(m) * sizeof(uint64_t));
		return SSM_OK;
	}
	if (ssm_handle_status(h) == SSM_OK &&
	    (after == SSM_AFTER_TELEPORT || after == SSM_AFTER_DESTROY))
		free_bitmaps(&m->ram_live);
	else
		ram_live_reset(m);
	return SSM_OK;
}

int ram_incr_begin(struct machine *m)
{
	struct ram_live *rl = &m->ram_live;

	ram_live_reset(m);
	memset(rl, 0, offsetof(struct ram_live, load_verify));
	rl->pending = calloc(bitmap_words(m), sizeof(uint64_t));
	rl->scratch = calloc(bitmap_words(m), sizeof(uint64_t));
	if (!rl->pending || !rl->scratch || kvm_dirty_log_enable(&m->kvm, true)) {
		ram_live_reset(m);
		return -1;
	}
	rl->logging = rl->incr = true;
	return 0;
}

bool ram_incr_active(const struct machine *m)
{
	return m->ram_live.incr && m->ram_live.logging;
}

void ram_set_incr_child(struct machine *m, bool on)
{
	m->ram_live.incr_child = on;
}

int ram_incr_prefetch(struct machine *m)
{
	struct ram_live *rl = &m->ram_live;

	memset(rl->scratch, 0, bitmap_words(m) * sizeof(uint64_t));
	if (kvm_dirty_log_fetch(&m->kvm, rl->scratch))
		return -1;
	dirty_merge(rl->pending, rl->scratch, bitmap_words(m));
	if (kvm_dirty_log_clear(&m->kvm, rl->pending))
		return -1;
	rl->incr_pages = dirty_count(rl->pending, bitmap_words(m));
	rl->incr_prefetched = true;
	return 0;
}

void ram_incr_settle(struct machine *m, bool written)
{
	struct ram_live *rl = &m->ram_live;

	rl->incr_prefetched = false;
	if (written && rl->pending)
		memset(rl->pending, 0, bitmap_words(m) * sizeof(uint64_t));
}

uint64_t ram_incr_pages(const struct machine *m)
{
	return m->ram_live.incr_pages;
}

void ram_set_load_verify(struct machine *m, bool on)
{
	m->ram_live.load_verify = on;
}

void ram_live_free(struct machine *m)
{
	m->ram_live.logging = false;
	free_bitmaps(&m->ram_live);
}

/* Loading skips zero runs of a full image (ssm_get_mem_prezeroed), which
 * is only right on RAM nothing has written yet: a machine that never ran
 * and has not loaded an image in this load. */
static int ram_load_prep(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	m->ram_live.loaded_once = false;
	if (m->built && machine_has_started(m))
		return ssm_set_load_error(h, SSM_ERR_BAD_STATE, "ram: can only load into a "
					  "VM that has not run");
	return SSM_OK;
}

static int check_run(ssm_handle *h, uint64_t first, uint32_t n, uint64_t total)
{
	if (n > RUN_MAX_PAGES)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: page run at page %llu "
					  "holds %u pages, at most %u", (unsigned long long)first,
					  n, RUN_MAX_PAGES);
	if (!dirty_run_valid(first, n, total, RUN_MAX_PAGES))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: page run %llu+%u outside "
					  "the %llu pages of RAM", (unsigned long long)first, n,
					  (unsigned long long)total);
	return SSM_OK;
}

int ram_get_runs(ssm_handle *h, uint64_t total, ram_run_fn take, void *ctx)
{
	uint64_t first;
	uint32_t n;
	int rc;

	for (;;) {
		rc = ssm_get_u64(h, &first);
		if (!rc)
			rc = ssm_get_u32(h, &n);
		if (rc || n == 0)
			return rc;
		rc = check_run(h, first, n, total);
		if (!rc)
			rc = take(ctx, h, first, n);
		if (rc)
			return rc;
	}
}

static int copy_run(void *ctx, ssm_handle *h, uint64_t first, uint32_t n)
{
	struct machine *m = ctx;

	return ssm_get_mem(h, m->kvm.ram + first * KVM_PAGE_SIZE, (size_t)n * KVM_PAGE_SIZE);
}

static int ram_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	uint64_t size;
	uint8_t kind;
	int rc;

	(void)pass;
	rc = ram_record_begin(h, version, m->built, m->built ? m->kvm.ram_size : 0, &kind, &size);
	if (rc)
		return rc;
	if (kind == KIND_RUNS)
		rc = ram_get_runs(h, npages(m), copy_run, m);
	else
		/* Mapped from the file where the image is an extent (the
		 * mapping replaces the RAM, prezeroed or not); read otherwise. */
		rc = ssm_get_extent(h, m->kvm.ram, size,
				    (m->ram_live.loaded_once ? 0 : SSM_EXTENT_PREZEROED) |
				    (m->ram_live.load_verify ? SSM_EXTENT_VERIFY : 0));
	m->ram_live.loaded_once = true;
	return rc;
}

int ram_record_begin(ssm_handle *h, uint32_t version, bool built, uint64_t ram_size,
		     uint8_t *kind, uint64_t *size)
{
	int rc = ssm_check_unit_version(h, "ram", version, RAM_VERSION_MIN, RAM_VERSION);

	if (rc)
		return rc;
	if (!built)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: arrived before the "
					  "machine configuration");
	rc = ssm_get_u8(h, kind);
	if (rc || *kind == KIND_RUNS)
		return rc;
	if (*kind != KIND_FULL)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: record kind %u unknown",
					  *kind);
	rc = ssm_get_u64(h, size);
	if (!rc && *size != ram_size)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: %llu bytes saved, the VM "
					  "(machine field ram_size) has %llu", (unsigned long long)*size,
					  (unsigned long long)ram_size);
	return rc;
}

int ram_ssm_register(struct machine *m, ssm *reg)
{
	static const ssm_callbacks cb = {
		.live_prep = ram_live_prep,
		.live_exec = ram_live_exec,
		.live_vote = ram_live_vote,
		.save_exec = ram_save_exec,
		.save_done = ram_save_done,
		.load_prep = ram_load_prep,
		.load_exec = ram_load_exec,
	};

	/* The size guess only weighs progress; RAM may not exist yet. */
	return ssm_register_internal(reg, "ram", 0, RAM_VERSION,
				     m->built ? m->kvm.ram_size : 256u << 20, NULL, 0, &cb);
}
