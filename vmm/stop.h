/* stop.h - noticing a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) in
 * phases that do not run the main loop: reading a kernel, loading a state
 * file.  From machine_init() on those signals are blocked and wait in the
 * signalfd; before that they kill the process by their default action. */
#ifndef VMM_STOP_H
#define VMM_STOP_H

#include "ssm/ssm.h"

/* The number of a pending stop signal (left pending for the main loop's
 * signalfd), or 0.  One cheap syscall. */
int stop_signal_pending(void);

/* Wrap *st so that its reads and writes fail with SSM_ERR_CANCELLED once a
 * stop signal is pending (checked every MiB moved).  On failure
 * (SSM_ERR_NOMEM) *st is closed.  The wrapper owns and closes st. */
int stop_guard_stream(ssm_stream *st);

#endif
