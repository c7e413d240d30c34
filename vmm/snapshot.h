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

/* Load path into the freshly created, not yet started machine m.  On
 * failure returns an ssm_err with one line in msg; m must not be run. */
int snapshot_restore(struct machine *m, const char *path, char *msg, size_t msglen);

/* Print every SSM callback of reg on stderr as it runs (--trace-ssm). */
void snapshot_trace(ssm *reg);

#endif
