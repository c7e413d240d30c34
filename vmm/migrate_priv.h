/* migrate_priv.h - what migrate.c, migrate_src.c and migrate_dst.c share:
 * TCP set-up, TLS on top for tls: addresses, and the protocol's control
 * lines (private to those files). */
#ifndef VMM_MIGRATE_PRIV_H
#define VMM_MIGRATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ssm/ssm.h"
#include "vmm/tls_stream.h"

struct pollfd;

#define MIG_LINE_MAX 512           /* longest control line, '\n' included */

/* Results of mig_read_line besides 1 (a line). */
enum {
	MIG_LINE_EOF = 0,          /* the peer closed the connection */
	MIG_LINE_TIMEOUT = -1,     /* deadline passed */
	MIG_LINE_WOKEN = -2,       /* wake_fd became readable (abort, signal) */
	MIG_LINE_BAD = -3,         /* error, or a line too long */
};

/* One migration connection: the socket, and the TLS session on it (tls:). */
struct mig_link {
	int fd;
	struct tls_session *tls;
};

/* For a tls: spec, run the TLS handshake on l->fd (server: the
 * destination) until deadline_ns or wake_fd readable; call again after
 * TLS_HS_WOKEN to go on.  TLS_HS_DONE at once for tcp:; else a TLS_HS_*
 * code with why filled in. */
int mig_link_secure(struct mig_link *l, const char *spec, bool server,
		    const struct tls_config *cfg, int wake_fd, uint64_t deadline_ns,
		    char *why, size_t len);
/* End TLS (if any) and close the socket (if open). */
void mig_link_close(struct mig_link *l);
/* The stream a migration's state travels in (not owning l). */
int mig_link_stream(struct mig_link *l, ssm_stream *out);
/* Non-blocking receive (-1 with errno EAGAIN when nothing is there yet). */
ssize_t mig_link_recv(const struct mig_link *l, void *buf, size_t n);
/* poll(2) of p[0] (l's socket) and p[1], where bytes TLS already holds
 * count as readable. */
int mig_link_poll(const struct mig_link *l, struct pollfd p[2], int timeout_ms);
/* The TLS layer's last failure ("" for tcp: or none): a peer's alert. */
const char *mig_link_error(const struct mig_link *l);

/* Connect to (listening: bind and listen on) spec; the fd or -1 with why
 * filled in.  A connect gives up when wake_fd (if >= 0) becomes readable
 * or after timeout_ns. */
int mig_tcp_open(const char *spec, bool listening, int wake_fd, uint64_t timeout_ns,
		 char *why, size_t len);
/* TCP_NODELAY, and send/receive timeouts of stall_ns on a connected fd. */
void mig_sockopts(int fd, uint64_t stall_ns);
/* Read one '\n'-terminated line (terminator stripped) until deadline_ns
 * (host_now_ns clock) or wake_fd readable; 1 or a MIG_LINE_* code. */
int mig_read_line(const struct mig_link *l, int wake_fd, uint64_t deadline_ns, char *line, size_t len);
/* Send "WORD[ msg]\n" as one line (newlines in msg become spaces); true
 * only if all of it was handed to the kernel. */
bool mig_send_line(const struct mig_link *l, const char *word, const char *msg);
/* Milliseconds until deadline_ns for poll(): 0 if passed, capped. */
int mig_ms_left(uint64_t deadline_ns);

#endif
