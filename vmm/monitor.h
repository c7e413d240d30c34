/* monitor.h - the control socket (--monitor unix:PATH): a QMP-style JSON
 * line protocol (docs/monitor.md) served from the main loop, one client at
 * a time, never blocking: non-blocking socket I/O, bounded lines, a
 * bounded output queue.  The commands (monitor_cmds.c) change the VM only
 * through the machine's and the migration's own functions.
 */
#ifndef VMM_MONITOR_H
#define VMM_MONITOR_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/monitor_proto.h"

struct machine;
struct monitor;

#define MONITOR_POLL_FDS 2              /* the listening socket, the client */

/* Create the socket of spec ("unix:PATH"), mode 0600, listening.  A stale
 * socket file at PATH is replaced; a live one (something accepts on it) or
 * a file of another kind is refused.  NULL with one line printed. */
struct monitor *monitor_open(const char *spec);
/* The machine the commands act on, from now on (before machine_run). */
void monitor_attach(struct monitor *mon, struct machine *m);
/* Fill up to MONITOR_POLL_FDS entries of p for the main loop's poll();
 * their number (0 for a NULL mon). */
int monitor_poll_fds(struct monitor *mon, struct pollfd *p);
/* After poll(): accept, read and run requests, write replies, and send the
 * events of the VM's state changes since the last call.  n and p as
 * monitor_poll_fds returned them.  NULL mon: nothing. */
void monitor_service(struct monitor *mon, const struct pollfd *p, int n);
/* The VM ended with status: a SHUTDOWN event, a short bounded wait for
 * the client to take its output, then close everything and remove the
 * socket file (only if it is still ours).  NULL: nothing. */
void monitor_close(struct monitor *mon, int status);

/* ---- For monitor_cmds.c ---- */

struct machine *monitor_machine(struct monitor *mon);
/* host_now_ns() when the running migration or live save was first seen. */
uint64_t monitor_migration_start(const struct monitor *mon);
/* Queue an event for the client, if one is connected. */
void monitor_emit(struct monitor *mon, const char *name, json_t *data);
/* The VM's state as query-status names it; *running: the guest executes
 * (or is being migrated live). */
const char *monitor_vm_status(struct monitor *mon, bool *running);
/* Keep s (a path or URI a migration reads until it is joined) alive until
 * the next call or monitor_close; the kept copy, or NULL if out of memory. */
const char *monitor_keep_string(struct monitor *mon, const char *s);
/* The command table (monitor_cmds.c). */
extern const struct mon_cmd monitor_commands[];

#endif
