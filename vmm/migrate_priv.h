/* migrate_priv.h - what migrate.c, migrate_src.c and migrate_dst.c share:
 * TCP set-up and the protocol's control lines (private to those files). */
#ifndef VMM_MIGRATE_PRIV_H
#define VMM_MIGRATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_LINE_MAX 512           /* longest control line, '\n' included */

/* Results of mig_read_line besides 1 (a line). */
enum {
	MIG_LINE_EOF = 0,          /* the peer closed the connection */
	MIG_LINE_TIMEOUT = -1,     /* deadline passed */
	MIG_LINE_WOKEN = -2,       /* wake_fd became readable (abort, signal) */
	MIG_LINE_BAD = -3,         /* error, or a line too long */
};

/* Connect to (listening: bind and listen on) spec; the fd or -1 with why
 * filled in.  A connect gives up when wake_fd (if >= 0) becomes readable
 * or after timeout_ns. */
int mig_tcp_open(const char *spec, bool listening, int wake_fd, uint64_t timeout_ns,
		 char *why, size_t len);
/* TCP_NODELAY, and send/receive timeouts of stall_ns on a connected fd. */
void mig_sockopts(int fd, uint64_t stall_ns);
/* Read one '\n'-terminated line (terminator stripped) until deadline_ns
 * (host_now_ns clock) or wake_fd readable; 1 or a MIG_LINE_* code. */
int mig_read_line(int fd, int wake_fd, uint64_t deadline_ns, char *line, size_t len);
/* Send "WORD[ msg]\n" as one line (newlines in msg become spaces); true
 * only if all of it was handed to the kernel. */
bool mig_send_line(int fd, const char *word, const char *msg);
/* Milliseconds until deadline_ns for poll(): 0 if passed, capped. */
int mig_ms_left(uint64_t deadline_ns);

#endif
