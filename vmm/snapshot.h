/* snapshot.h - suspend a VM to a state file and resume one from it. */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "ssm/ssm.h"

struct machine;

/* Save the paused machine m to path (temp file + fsync + rename: path is
 * never half-written).  On failure returns an ssm_err and puts one line in
 * msg; the VM state is untouched and it may be resumed. */
int snapshot_save(struct machine *m, const char *path, ssm_after after, char *msg,
		  size_t msglen);

/* snapshot_save() as the background writer runs it (vmm/bgsave.c): with
 * SSM_AFTER_CONTINUE, no progress on the terminal. */
int snapshot_write(struct machine *m, const char *path, char *msg, size_t msglen);

/* Point-in-time snapshot of machine m (main thread; booted or restored;
 * no migration running): the guest stops only to have its vCPU read and
 * the process forked, then runs on (a VM paused by machine_pause stays
 * paused) while a child writes the state of this instant to path (temp
 * file + fsync + rename).  Returns 0 once the writer runs; machine_run()
 * prints its outcome in one line ("vmm: saved to PATH ..." or "vmm: saving
 * to PATH failed: ..."; bgsave.h).  Otherwise an ssm_err with msg set
 * (e.g. a snapshot is still being written) and path untouched.  path is
 * copied (at most 4095 bytes).  incr: a link of the incremental chain
 * (chain.h; the dirty log is read at the request, before the fork). */
int snapshot_point_in_time(struct machine *m, const char *path, bool incr, char *msg,
			   size_t msglen);

/* Load path into the freshly created, not yet started machine m.  On
 * failure returns an ssm_err with one line in msg; m must not be run. */
int snapshot_restore(struct machine *m, const char *path, char *msg, size_t msglen);

/* Print every SSM callback of reg on stderr as it runs (--trace-ssm). */
void snapshot_trace(ssm *reg);

#endif
