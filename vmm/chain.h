/* chain.h - incremental snapshots: a chain of state files in one directory,
 * a base (a plain save) and children that hold the pages dirtied since
 * their parent and name it by identity (chain_id.h).
 *
 * Saving: an incremental save with no chain yet (or after a live save or
 * migration, which take over the dirty log) is a full save that starts
 * dirty logging; each later one writes a child of the newest file.  Every
 * file this run saved or restored a chain from is protected: a save over
 * it is refused unless forced (--force).
 * Restoring: the "parent" unit of a child is loaded before its ram unit;
 * it maps the base's RAM and lays each child's page runs over it in order,
 * each parent found as a sibling of its child and checked by identity.
 */
#ifndef VMM_CHAIN_H
#define VMM_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/chain_id.h"

struct machine;

/* The context of a "parent" unit load: the file being loaded. */
struct chain_load {
	struct machine *m;
	const char *path;          /* NULL: not a file (pipe, migration) */
	unsigned depth;            /* files of the chain above this one */
};

struct chain {
	bool on;                   /* --incremental: stop-action saves chain */
	bool force;                /* --force: may overwrite protected files */
	uint32_t saves;            /* stop-action saves made (file names) */
	char next[4096];           /* the stop action's next file name */
	char last[4096];           /* newest file of the chain, "" none */
	unsigned len;              /* files in the chain so far */
	bool child;                /* the save under way writes a child */
	struct chain_parent_rec rec;  /* ... naming this parent */
	char **files;              /* protected files */
	unsigned nfiles;
	struct chain_load load;
	char err[700];             /* the first refusal of a parent in a restore */
};

/* Register the load side of the "parent" unit with reg (the save side is
 * registered only while a child is written). */
int chain_register(struct machine *m, ssm *reg);
/* --incremental and --force. */
void chain_configure(struct machine *m, bool on, bool force);
bool chain_enabled(const struct machine *m);
/* The stop action's file for its next save: base itself first, then
 * base.1, base.2, ... */
const char *chain_next_path(struct machine *m, const char *base);

/* Before a save to path (VM paused): refuse a protected path (unless
 * forced) and, for an incremental save that continues a chain, prepare a
 * child.  SSM_OK or an error with msg set; then call chain_save_end. */
int chain_save_begin(struct machine *m, const char *path, bool incr, char *msg, size_t msglen);
/* After it (VM still paused), with its result.  *info gets a note for the
 * "saved" line ("" for a plain save). */
void chain_save_end(struct machine *m, const char *path, bool incr, int rc, char *info,
		    size_t infolen);
/* chain_save_end in two steps, for a point-in-time save whose writer is
 * forked between them: detach (after the fork: the parent unit back to
 * load-only; returns whether the save is a child), then commit with the
 * writer's outcome (rc).  log_started: the base's dirty log was started
 * before the fork (ram_incr_begin), so commit must not restart it. */
bool chain_save_detach(struct machine *m);
/* Between begin and detach: the save under way writes a child. */
bool chain_save_is_child(const struct machine *m);
void chain_save_commit(struct machine *m, const char *path, bool incr, bool child,
		       bool log_started, int rc, char *info, size_t infolen);

/* Around a restore from path (NULL: not from a file). */
void chain_restore_begin(struct machine *m, const char *path);
void chain_restore_end(struct machine *m, int rc);
/* Why the last restore refused a parent, in one line naming the file ("" if
 * it did not). */
const char *chain_restore_error(const struct machine *m);
/* Release what the chain holds. */
void chain_free(struct machine *m);

#endif
