/* tls_stream.h - a migration connection wrapped in TLS (GnuTLS): X.509
 * mutual authentication against one CA, or a pre-shared key, and the
 * session as an SSM stream.
 *
 * The socket stays the caller's (opened, timed out and closed by the
 * migration code); a session only adds records on top of it.  Reads never
 * block (the caller polls, see tls_session_pending); writes block, bounded
 * by the socket's SO_SNDTIMEO. */
#ifndef VMM_TLS_STREAM_H
#define VMM_TLS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ssm/ssm.h"

/* --tls-*: PEM files; psk is "NAME:HEXKEY" on one line (psktool's). */
struct tls_config {
	const char *cert, *key, *ca;   /* this side's certificate, its key, the CA */
	const char *name;              /* source: the name the destination's
					  certificate must carry (default HOST) */
	const char *psk;               /* set: authenticate by this key instead */
};

struct tls_session;

/* Results of tls_session_handshake. */
enum { TLS_HS_DONE = 0, TLS_HS_FAILED = -1, TLS_HS_TIMEOUT = -2, TLS_HS_WOKEN = -3 };

/* A session over the connected socket fd (server: the destination); peer
 * is the name the server's certificate must match (client only).  NULL
 * with one line in why when the credentials cannot be loaded. */
struct tls_session *tls_session_new(int fd, bool server, const struct tls_config *cfg,
				    const char *peer, char *why, size_t len);
/* Run the handshake until done, deadline_ns (host_now_ns) or wake_fd
 * readable; call again after TLS_HS_WOKEN to go on.  TLS_HS_FAILED puts the
 * reason (the peer's certificate, a plain-TCP peer, an alert) in why. */
int tls_session_handshake(struct tls_session *s, int wake_fd, uint64_t deadline_ns,
			  char *why, size_t len);
/* Bytes already decrypted and waiting: poll(2) on the socket cannot see them. */
bool tls_session_pending(struct tls_session *s);
/* Non-blocking read: > 0 bytes, 0 at the peer's end, -1 with errno
 * (EAGAIN: nothing yet; EPROTO: a TLS error, see tls_session_error). */
ssize_t tls_session_recv(struct tls_session *s, void *buf, size_t n);
/* Write all of buf; SSM_OK or an ssm_err (the socket timed out, failed, or
 * TLS did, see tls_session_error). */
int tls_session_send(struct tls_session *s, const void *buf, size_t n);
/* The last TLS-level failure as one line, or "" (e.g. an alert from a
 * peer that refused our certificate after the handshake). */
const char *tls_session_error(const struct tls_session *s);
/* The session as an SSM stream (read and write); closing it leaves the
 * session open. */
void tls_session_stream(struct tls_session *s, ssm_stream *out);
/* Say goodbye (best effort, never blocks) and free s; the fd stays open. */
void tls_session_free(struct tls_session *s);

#endif
