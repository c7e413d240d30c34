/* ram.h - the "ram" unit: guest memory, saved whole or live in dirty passes.
 *
 * A plain save writes all of RAM as one extent (ssm_put_extent: page-aligned
 * in the file, zero pages as holes), which a restore maps copy-on-write; to
 * a pipe or with compression it becomes records (zero pages as zero runs).  A live
 * save starts KVM dirty logging in live_prep, sends every page in pass 0
 * and only the pages written since in later passes, votes on convergence
 * against the handle's max downtime, sends the last dirty set with the
 * vCPU paused (save_exec) and stops logging in save_done.
 */
#ifndef VMM_RAM_H
#define VMM_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "ssm/ssm.h"

#define RAM_VERSION 2           /* 2: a plain save's image is an extent */
#define RAM_VERSION_MIN 1       /* oldest saved version ram loads (docs/compat.md) */
#define RAM_MAX_STATS 64

struct machine;

/* What one pass moved, for the migration summary. */
struct ram_pass_stat {
	uint32_t pass;             /* SSM_PASS_FINAL for the paused pass */
	uint64_t pages;            /* pages sent (pass 0: non-zero pages) */
	uint64_t bytes;            /* stream bytes the pass produced */
	uint64_t ns;               /* how long it took */
};

struct ram_live {
	uint64_t *pending;         /* pages to send: every read of the log
				      since the last pass, OR-ed (dirty.h) */
	uint64_t *scratch;         /* what one read of the log returned */
	bool logging;
	uint64_t exec_start_ns;    /* of the current pass */
	uint64_t exec_start_off;   /* stream offset at its start */
	uint64_t bw;               /* bytes/s measured in the last pass */
	bool gave_up;
	char why[160];             /* vote reasoning, for the summary */
	struct ram_pass_stat stats[RAM_MAX_STATS];
	uint32_t nstats;
	uint32_t passes;           /* live passes run, all of them */
	uint64_t log_ns;           /* time spent fetching/clearing the dirty log */
	uint32_t log_calls;
	bool incr;                 /* logging kept for an incremental chain */
	bool incr_child;           /* the save under way is a child: runs */
	uint64_t incr_pages;       /* pages the last child held */
	bool incr_prefetched;      /* pending holds the child's log, read and
				      re-armed before a point-in-time fork */
	bool loaded_once;          /* load: RAM no longer known to be zero */
	bool load_verify;          /* load: check a mapped image's checksums */
};

/* Register the ram unit (internal flavour: its context is the machine). */
int ram_ssm_register(struct machine *m, ssm *reg);
/* Record kinds (ram.c's header comment has the layouts). */
#define RAM_KIND_FULL 0
#define RAM_KIND_RUNS 1
/* The start of a ram record of unit version `version`, for a VM of
 * ram_size bytes (built: the machine configuration is known): the
 * version, the kind (*kind), and for a full image its size (*size, equal
 * to ram_size).  SSM_OK, or the load error recorded on h. */
int ram_record_begin(ssm_handle *h, uint32_t version, bool built, uint64_t ram_size,
		     uint8_t *kind, uint64_t *size);
/* The page runs of a kind 1 record, up to the one with npages 0: each
 * run's header checked against RAM of total pages (at most 256 pages,
 * inside RAM), then take() reads its n pages.  SSM_OK, or the first error
 * (recorded on h). */
typedef int (*ram_run_fn)(void *ctx, ssm_handle *h, uint64_t first, uint32_t n);
int ram_get_runs(ssm_handle *h, uint64_t total, ram_run_fn take, void *ctx);

/* Stop dirty logging and release what a live save left behind
 * (idempotent); for a VM that runs on here. */
void ram_live_reset(struct machine *m);
/* Whether a load checks the chunk CRCs of a RAM image it maps from the
 * file (an image it reads is always checked). */
void ram_set_load_verify(struct machine *m, bool on);
/* Incremental chains (chain.h), with the vCPU paused: start dirty logging
 * after a full save and keep it across saves (0, or -1 with nothing
 * started); whether it runs (a live save or migration ends it); mark the
 * next save a child, which writes the pages dirtied since the last child
 * as runs; and how many pages the last child held. */
int ram_incr_begin(struct machine *m);
bool ram_incr_active(const struct machine *m);
void ram_set_incr_child(struct machine *m, bool on);
uint64_t ram_incr_pages(const struct machine *m);
/* A point-in-time child, before the fork: read and re-arm the log into the
 * pending set, which the writer then saves without touching KVM (0, or
 * -1).  After the writer's outcome: settle drops the pages it wrote
 * (written) or keeps them for the next child. */
int ram_incr_prefetch(struct machine *m);
void ram_incr_settle(struct machine *m, bool written);
/* Release the memory only, for a VM being torn down. */
void ram_live_free(struct machine *m);

#endif
