/* migrate.h - live migration to another vmm, and live snapshots to a file.
 *
 * Source (migrate_src.c): a migration thread runs ssm_live_begin / step1
 * (the guest keeps running while RAM is copied) / pause / step2 / end,
 * then the commit handshake.  Destination (migrate_dst.c): accepts one
 * connection, loads the stream (the machine is built from its first
 * record) and runs the guest only once the source said GO.
 *
 * Wire protocol (docs/migration.md is normative): source -> destination the
 * SSM stream; destination -> source "READY\n" once the whole stream loaded
 * and passed every check, or "ERROR <reason>\n"; source -> destination
 * "GO\n" (from then on the source never resumes the guest by itself);
 * destination -> source "RUNNING\n" once its vCPU runs.  A source that
 * sent GO and hears no RUNNING stays paused "in doubt" until the operator
 * sends SIGUSR2 (resume here) or SIGTERM/SIGINT (quit).
 */
#ifndef VMM_MIGRATE_H
#define VMM_MIGRATE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/tls_stream.h"

struct machine;

#define MIGRATE_RESUME_SIGNAL SIGUSR2  /* in doubt: resume the guest here */

struct migrate_opts {
	const char *target;        /* --migrate tcp:|tls:HOST:PORT, or NULL */
	const char *live_file;     /* --save FILE --live, or NULL */
	uint64_t after_ns;         /* --migrate-after */
	uint32_t max_downtime_ms;  /* --max-downtime */
	uint32_t max_passes;       /* --max-passes (0: no limit) */
	bool giveup_abort;         /* --on-giveup abort (else finish) */
	bool cont;                 /* --continue after a live snapshot */
	uint64_t incoming_timeout_ns; /* --incoming-timeout: accept to READY */
	uint64_t stall_timeout_ns; /* --stall-timeout: longest silence of a peer */
	struct tls_config tls;     /* --tls-*: for tls: addresses, both sides */
};

#define MIGRATE_DEFAULT_INCOMING_TIMEOUT_NS (15ull * 60 * 1000000000)
#define MIGRATE_DEFAULT_STALL_TIMEOUT_NS (30ull * 1000000000)

struct migration {
	struct migrate_opts o;
	pthread_t thread;
	bool running;              /* thread started and not yet joined */
	int done_fd;               /* eventfd: the thread finished */
	int abort_fd;              /* eventfd: migrate_abort() wants it to stop */
	pthread_mutex_t sock_mu;   /* guards sock against close during abort */
	bool sock_mu_ready;
	int sock;                  /* the thread's connection, or -1 */
	int result;                /* 0 ok, else ssm_err (set by the thread) */
	bool vm_gone;              /* the guest now runs elsewhere / is saved */
	bool result_doubt;         /* set by the thread: GO sent, no RUNNING */
	bool in_doubt;             /* main thread: paused until the operator
				      decides (result_doubt of the last join) */
};

/* Parse "tcp:HOST:PORT" or "tls:HOST:PORT"; 0 on success (host/port point
 * into a copy the caller frees with free(*buf)). */
int migrate_parse_addr(const char *spec, char **buf, const char **host, const char **port);
/* Whether spec is a tls: address (the connection is TLS-wrapped). */
bool migrate_addr_is_tls(const char *spec);

/* Start the migration thread for m (main thread).  -1 if one runs already,
 * the last one is in doubt, or it cannot start (printed). */
int migrate_start(struct machine *m);
/* Main thread, after done_fd fired: join the thread and act on its result
 * (end the VM on success, keep it running on failure, paused in doubt). */
void migrate_finish(struct machine *m);
/* Stop a running migration promptly (the VM is ending) and join it.  It
 * never sends GO after this; one that already did stays in doubt. */
void migrate_abort(struct machine *m);
/* No migration, nothing open; then the options a stop request uses. */
void migrate_init(struct migration *mg);
void migrate_set_opts(struct migration *mg, const struct migrate_opts *o);
/* migrate_abort() and release what the migrations used (the VM's teardown). */
void migrate_destroy(struct machine *m);
/* Main thread, a signal arrived: true if the migration state decides what
 * it means (SIGUSR2; and while in doubt SIGUSR1, SIGINT, SIGTERM). */
bool migrate_signal(struct machine *m, int signo);

/* Destination: wait for one migration on spec (tcp:/tls:HOST:PORT), load it
 * into the unbuilt machine m (machine_init done, m->mig.o set) and start it
 * once the source says GO.  Returns 0 when the VM runs, else prints one
 * line and returns the exit status (128 + N after signal N). */
int migrate_incoming(struct machine *m, const char *spec);

#endif
