/* migrate_link.c - a migration connection, plain or TLS: one place that
 * knows whether bytes go through the socket or through the TLS session,
 * so the protocol code (migrate_src.c, migrate_dst.c) does not. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/migrate.h"
#include "vmm/migrate_priv.h"

int mig_link_secure(struct mig_link *l, const char *spec, bool server,
		    const struct tls_config *cfg, int wake_fd, uint64_t deadline_ns,
		    char *why, size_t len)
{
	const char *host = NULL, *port;
	char *buf = NULL;

	if (!migrate_addr_is_tls(spec))
		return TLS_HS_DONE;
	if (!l->tls) {
		if (!server && migrate_parse_addr(spec, &buf, &host, &port)) {
			snprintf(why, len, "%s: expected tls:HOST:PORT", spec);
			return TLS_HS_FAILED;
		}
		/* The source checks the destination's name: --tls-name or HOST. */
		l->tls = tls_session_new(l->fd, server, cfg, cfg->name ? cfg->name : host,
					 why, len);
		free(buf);
		if (!l->tls)
			return TLS_HS_FAILED;
	}
	return tls_session_handshake(l->tls, wake_fd, deadline_ns, why, len);
}

void mig_link_close(struct mig_link *l)
{
	tls_session_free(l->tls);
	l->tls = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int mig_link_stream(struct mig_link *l, ssm_stream *out)
{
	if (!l->tls)
		return ssm_stream_socket(out, l->fd, false);
	tls_session_stream(l->tls, out);
	return SSM_OK;
}

ssize_t mig_link_recv(const struct mig_link *l, void *buf, size_t n)
{
	if (l->tls)
		return tls_session_recv(l->tls, buf, n);
	return recv(l->fd, buf, n, MSG_DONTWAIT);
}

int mig_link_poll(const struct mig_link *l, struct pollfd p[2], int timeout_ms)
{
	if (l->tls && tls_session_pending(l->tls)) {
		p[0].revents = POLLIN;
		p[1].revents = 0;
		return 1;
	}
	return poll(p, 2, timeout_ms);
}

const char *mig_link_error(const struct mig_link *l)
{
	return l->tls ? tls_session_error(l->tls) : "";
}
