/* bgsave.h - point-in-time snapshots: the guest stops only while its vCPU
 * state is read and the process forks; a child writes the frozen copy of
 * the whole VM (RAM copy-on-write) through the normal save path while the
 * guest runs on (docs/architecture.md, "Point-in-time snapshots").
 *
 * All functions run on the main thread.  At most one writer exists.
 */
#ifndef VMM_BGSAVE_H
#define VMM_BGSAVE_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "vmm/cpu_codec.h"

struct machine;

struct bgsave {
	pid_t pid;                 /* the writer child; 0: none */
	int fd;                    /* read end of its report pipe; -1: none */
	char path[4096];           /* the file it writes (a copy: a monitor's
				      request string does not outlive it) */
	uint64_t t0_ns;            /* when the snapshot was taken */
	uint64_t pause_ns;         /* how long the guest was stopped */
	char report[600];          /* what the child wrote so far */
	size_t len;
	bool in_child;             /* this process is the writer */
	struct cpu_snapshot *cpu;  /* in the writer: each vCPU at the request */
	unsigned ncpu;             /* entries of cpu read so far */
	pthread_t collapse;        /* rebuilds RAM's huge pages after a write */
	bool collapsing;
	bool incr;                 /* a link of an incremental chain (chain.h) */
	bool child;                /* ... a child: its log was read at the fork */
	bool log_started;          /* ... a base: logging started at the fork */
};

/* Nothing running (what every other function expects first). */
void bgsave_init(struct bgsave *b);
/* Take a point-in-time snapshot of the running VM into path: pause, read
 * every vCPU, fork the writer, resume.  0 once the writer runs (its outcome
 * is reported later, by bgsave_collect); otherwise an ssm_err with msg
 * set, the VM resumed and path untouched. */
int bgsave_start(struct machine *m, const char *path, bool incr, char *msg, size_t msglen);
/* A writer is running. */
bool bgsave_running(const struct machine *m);
/* The fd to poll for the writer's report (POLLIN/POLLHUP), or -1. */
int bgsave_poll_fd(const struct machine *m);
/* The fd is readable: take what the writer says; once it has exited,
 * print its one-line outcome and note the save result. */
void bgsave_collect(struct machine *m);
/* Kill the writer and wait for it (the old file stays; a temp file
 * never linked vanishes with it); says so in one line.  Also waits for the
 * huge-page rebuild; for a VM being torn down too. */
void bgsave_abandon(struct machine *m);
/* The VM has ended: wait for a running writer to finish (its file was
 * asked for); SIGINT, SIGTERM, SIGQUIT or SIGHUP meanwhile abandons it. */
void bgsave_wait(struct machine *m);
/* In the writer: vCPU i's state at the request, for the cpu unit (KVM
 * refuses ioctls from another process); NULL in the VMM itself. */
const struct cpu_snapshot *bgsave_frozen_cpu(const struct machine *m, unsigned i);

#endif
