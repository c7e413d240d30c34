/* migrate.h - live migration to another vmm, and live snapshots to a file.
 *
 * Source: a migration thread runs ssm_live_begin / step1 (the guest keeps
 * running while RAM is copied) / pause / step2 / end, then, for a
 * migration, waits for the destination to say its vCPU runs.  Any failure
 * resumes the guest here.  Destination: accepts one connection, loads the
 * stream (the machine is built from its first record), starts the vCPU and
 * acknowledges.
 *
 * Wire protocol after the SSM stream (destination -> source): one line,
 * "RUNNING\n" once the destination's vCPU runs, or "ERROR <reason>\n".
 */
#ifndef VMM_MIGRATE_H
#define VMM_MIGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct machine;

struct migrate_opts {
	const char *target;        /* --migrate tcp:HOST:PORT, or NULL */
	const char *live_file;     /* --save FILE --live, or NULL */
	uint64_t after_ns;         /* --migrate-after */
	uint32_t max_downtime_ms;  /* --max-downtime */
	uint32_t max_passes;       /* --max-passes (0: no limit) */
	bool giveup_abort;         /* --on-giveup abort (else finish) */
	bool cont;                 /* --continue after a live snapshot */
};

struct migration {
	struct migrate_opts o;
	pthread_t thread;
	bool running;              /* thread started and not yet joined */
	int done_fd;               /* eventfd: the thread finished */
	int result;                /* 0 ok, else ssm_err (set by the thread) */
	bool vm_gone;              /* the guest now runs elsewhere / is saved */
};

/* Parse "tcp:HOST:PORT"; 0 on success (host/port point into a copy the
 * caller frees with free(*buf)). */
int migrate_parse_addr(const char *spec, char **buf, const char **host, const char **port);

/* Start the migration thread for m (main thread).  -1 if one runs already
 * or it cannot start (printed). */
int migrate_start(struct machine *m);
/* Main thread, after done_fd fired: join the thread and act on its result
 * (end the VM on success, keep it running on failure). */
void migrate_finish(struct machine *m);
/* Stop a running migration (guest powered off meanwhile) and join it. */
void migrate_abort(struct machine *m);
/* No migration, nothing open; then the options a stop request uses. */
void migrate_init(struct migration *mg);
void migrate_set_opts(struct migration *mg, const struct migrate_opts *o);
/* migrate_abort() and release what the migrations used (the VM's teardown). */
void migrate_destroy(struct machine *m);

/* Destination: wait for one migration on spec (tcp:HOST:PORT), load it
 * into the unbuilt machine m (machine_init done) and start it.  Returns 0
 * when the VM runs, else prints one line and returns the exit status. */
int migrate_incoming(struct machine *m, const char *spec);

#endif
