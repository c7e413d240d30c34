/* tls_stream.c - TLS over a migration socket (GnuTLS), see tls_stream.h.
 *
 * The transport functions are ours: reads are MSG_DONTWAIT so a handshake
 * or a control-line wait polls the socket together with an abort or
 * signal fd; writes block (bounded by SO_SNDTIMEO) except during the
 * handshake, which must also give way to that fd. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <arpa/inet.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "vmm/clock.h"
#include "vmm/migrate_priv.h"
#include "vmm/tls_stream.h"

#define PEEK_MAX 120            /* first bytes kept to name a plain peer */
#define PSK_LINE_MAX 512
/* GnuTLS reads a record's header, then its body: two recv(2) calls per
 * 16 KiB without a buffer of our own, which on a slow host costs more
 * than the decryption. */
#define RBUF_SIZE (256u * 1024u)

struct tls_session {
	int fd;
	bool server;
	bool nonblock_send;     /* handshake: sends give way too */
	gnutls_session_t s;
	gnutls_certificate_credentials_t x509;
	gnutls_psk_client_credentials_t psk_c;
	gnutls_psk_server_credentials_t psk_s;
	char peek[PEEK_MAX + 1];  /* what the peer sent before TLS worked */
	size_t npeek;
	char err[300];
	unsigned char *rbuf;            /* received, not yet taken by GnuTLS */
	size_t rpos, rlen;
	unsigned char ip[16];            /* the source's check of an address */
	gnutls_typed_vdata_st peer_ip;
};

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct tls_session *t = p;
	ssize_t r;

	if (t->rpos == t->rlen) {
		r = recv(t->fd, t->rbuf, RBUF_SIZE, MSG_DONTWAIT);
		if (r <= 0) {
			if (r < 0)
				gnutls_transport_set_errno(t->s, errno == EWOULDBLOCK ? EAGAIN :
							   errno);
			return r;
		}
		t->rpos = 0;
		t->rlen = (size_t)r;
	}
	r = (ssize_t)(n < t->rlen - t->rpos ? n : t->rlen - t->rpos);
	memcpy(buf, t->rbuf + t->rpos, (size_t)r);
	t->rpos += (size_t)r;
	if (t->npeek < PEEK_MAX) {
		size_t k = (size_t)r < PEEK_MAX - t->npeek ? (size_t)r : PEEK_MAX - t->npeek;

		memcpy(t->peek + t->npeek, buf, k);
		t->npeek += k;
	}
	return r;
}

/* giovec_t is struct iovec by GnuTLS's definition: a corked batch of
 * records goes out in one sendmsg(2). */
static ssize_t push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct tls_session *t = p;
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov,
			     .msg_iovlen = (size_t)iovcnt };
	ssize_t w = sendmsg(t->fd, &mh, MSG_NOSIGNAL | (t->nonblock_send ? MSG_DONTWAIT : 0));

	/* A blocking send that returns EAGAIN ran into SO_SNDTIMEO: the
	 * peer stopped reading, not a cue to retry. */
	if (w < 0 && errno == EAGAIN && !t->nonblock_send)
		errno = ETIMEDOUT;
	if (w < 0)
		gnutls_transport_set_errno(t->s, errno);
	return w;
}

/* "NAME:HEXKEY" from the first line of path. */
static int read_psk(const char *path, char *name, size_t nlen, gnutls_datum_t *key,
		    char *why, size_t len)
{
	char line[PSK_LINE_MAX], *colon;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(why, len, "--tls-psk %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = 0;
	colon = strchr(line, ':');
	if (!colon || colon == line || (size_t)(colon - line) >= nlen || strlen(colon + 1) < 32 ||
	    strspn(colon + 1, "0123456789abcdefABCDEF") != strlen(colon + 1)) {
		snprintf(why, len, "--tls-psk %s: expected one line NAME:HEXKEY (at least "
			 "16 bytes of key, as psktool writes)", path);
		return -1;
	}
	/* The length was checked above. */
	memcpy(name, line, (size_t)(colon - line));
	name[colon - line] = 0;
	key->size = (unsigned)strlen(colon + 1);
	key->data = (unsigned char *)strdup(colon + 1);
	return key->data ? 0 : -1;
}

static int set_psk(struct tls_session *t, const struct tls_config *cfg, char *why, size_t len)
{
	char name[128];
	gnutls_datum_t key = { 0 };
	int rc;

	if (read_psk(cfg->psk, name, sizeof(name), &key, why, len))
		return -1;
	if (t->server) {
		rc = gnutls_psk_allocate_server_credentials(&t->psk_s);
		if (!rc)
			rc = gnutls_psk_set_server_credentials_file(t->psk_s, cfg->psk);
		if (!rc)
			rc = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK, t->psk_s);
	} else {
		rc = gnutls_psk_allocate_client_credentials(&t->psk_c);
		if (!rc)
			rc = gnutls_psk_set_client_credentials(t->psk_c, name, &key,
							       GNUTLS_PSK_KEY_HEX);
		if (!rc)
			rc = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK, t->psk_c);
	}
	gnutls_memset(key.data, 0, key.size);
	free(key.data);
	if (rc)
		snprintf(why, len, "--tls-psk %s: %s", cfg->psk, gnutls_strerror(rc));
	return rc ? -1 : 0;
}

static int set_x509(struct tls_session *t, const struct tls_config *cfg, const char *peer,
		    char *why, size_t len)
{
	unsigned char ip[16];
	int rc = gnutls_certificate_allocate_credentials(&t->x509);

	if (!rc) {
		rc = gnutls_certificate_set_x509_trust_file(t->x509, cfg->ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			snprintf(why, len, "--tls-ca %s: %s", cfg->ca, rc < 0 ? gnutls_strerror(rc) :
				 "no certificate in the file");
			return -1;
		}
		rc = gnutls_certificate_set_x509_key_file(t->x509, cfg->cert, cfg->key,
							  GNUTLS_X509_FMT_PEM);
		if (rc) {
			snprintf(why, len, "--tls-cert %s --tls-key %s: %s", cfg->cert, cfg->key,
				 gnutls_strerror(rc));
			return -1;
		}
		rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->x509);
	}
	if (rc) {
		snprintf(why, len, "TLS credentials: %s", gnutls_strerror(rc));
		return -1;
	}
	if (t->server) {
		/* Mutual: a source without a certificate from the CA is refused. */
		gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
		/* Not naming our CA lets a source with a foreign certificate
		 * send it, so the refusal can say what was wrong with it. */
		gnutls_certificate_send_x509_rdn_sequence(t->s, 1);
		gnutls_session_set_verify_cert(t->s, NULL, 0);
	} else {
		int v4 = inet_pton(AF_INET, peer, ip) == 1;

		/* An address is matched against the certificate's IP SANs, a
		 * name against its DNS names; SNI takes names only. */
		if (v4 || inet_pton(AF_INET6, peer, ip) == 1) {
			t->peer_ip = (gnutls_typed_vdata_st){ .type = GNUTLS_DT_IP_ADDRESS,
				.data = t->ip, .size = v4 ? 4 : 16 };
			memcpy(t->ip, ip, sizeof(t->ip));
			gnutls_session_set_verify_cert2(t->s, &t->peer_ip, 1, 0);
		} else {
			gnutls_session_set_verify_cert(t->s, peer, 0);
			gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, peer, strlen(peer));
		}
	}
	return 0;
}

struct tls_session *tls_session_new(int fd, bool server, const struct tls_config *cfg,
				    const char *peer, char *why, size_t len)
{
	struct tls_session *t = calloc(1, sizeof(*t));
	const char *prio = cfg->psk ? "NORMAL:-KX-ALL:+ECDHE-PSK:+DHE-PSK" : "NORMAL";
	int rc;

	if (!t) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	t->fd = fd;
	t->server = server;
	t->rbuf = malloc(RBUF_SIZE);
	if (!t->rbuf) {
		snprintf(why, len, "out of memory");
		free(t);
		return NULL;
	}
	rc = gnutls_init(&t->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
			 GNUTLS_NO_SIGNAL);
	if (rc) {
		snprintf(why, len, "TLS: %s", gnutls_strerror(rc));
		free(t->rbuf);
		free(t);
		return NULL;
	}
	rc = gnutls_priority_set_direct(t->s, prio, NULL);
	if (rc) {
		snprintf(why, len, "TLS priorities %s: %s", prio, gnutls_strerror(rc));
		tls_session_free(t);
		return NULL;
	}
	if (cfg->psk ? set_psk(t, cfg, why, len) : set_x509(t, cfg, peer, why, len)) {
		tls_session_free(t);
		return NULL;
	}
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, pull);
	gnutls_transport_set_vec_push_function(t->s, push);
	gnutls_handshake_set_timeout(t->s, 0);  /* ours: the deadline below */
	return t;
}

/* The handshake failed with rc: say why in terms of what the operator
 * can fix. */
static void explain(struct tls_session *t, int rc, char *why, size_t len)
{
	const char *who = t->server ? "the source" : "the destination";
	gnutls_datum_t out = { 0 };
	unsigned status;

	switch (rc) {
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
		status = gnutls_session_get_verify_cert_status(t->s);
		if (!gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
								  0)) {
			snprintf(why, len, "%s's certificate was refused: %s", who,
				 (const char *)out.data);
			gnutls_free(out.data);
			break;
		}
		snprintf(why, len, "%s's certificate was refused (status 0x%x)", who, status);
		break;
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		snprintf(why, len, "%s presented no certificate", who);
		break;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		snprintf(why, len, "%s refused the TLS session: %s", who,
			 gnutls_alert_get_name(gnutls_alert_get(t->s)));
		break;
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNEXPECTED_PACKET:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET:
		t->peek[t->npeek] = 0;
		if (!t->server && !strncmp(t->peek, "ERROR ", 6)) {
			t->peek[strcspn(t->peek, "\n")] = 0;
			snprintf(why, len, "%s does not speak TLS (a plain tcp: --incoming?); it "
				 "answered: %s", who, t->peek + 6);
		} else {
			snprintf(why, len, "%s does not speak TLS (a plain tcp: peer?): %s", who,
				 gnutls_strerror(rc));
		}
		break;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		snprintf(why, len, "%s closed the connection during the TLS handshake "
			 "(it may have refused our certificate)", who);
		break;
	default:
		snprintf(why, len, "TLS handshake with %s: %s", who, gnutls_strerror(rc));
		break;
	}
	why[strcspn(why, "\n")] = 0;
	/* gnutls' status text ends in a space. */
	for (size_t n = strlen(why); n && why[n - 1] == ' '; n--)
		why[n - 1] = 0;
	snprintf(t->err, sizeof(t->err), "%s", why);
}

int tls_session_handshake(struct tls_session *t, int wake_fd, uint64_t deadline_ns,
			  char *why, size_t len)
{
	int rc;

	t->nonblock_send = true;
	for (;;) {
		struct pollfd p[2] = { { .fd = t->fd }, { .fd = wake_fd, .events = POLLIN } };
		int pr;

		rc = gnutls_handshake(t->s);
		if (rc == GNUTLS_E_SUCCESS)
			break;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED &&
		    gnutls_error_is_fatal(rc)) {
			explain(t, rc, why, len);
			/* Tell the peer why, unless it is the one that said no. */
			if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED)
				gnutls_alert_send_appropriate(t->s, rc);
			t->nonblock_send = false;
			return TLS_HS_FAILED;
		}
		p[0].events = gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN;
		pr = poll(p, 2, mig_ms_left(deadline_ns));
		if (pr < 0 && errno != EINTR) {
			snprintf(why, len, "TLS handshake: poll: %s", strerror(errno));
			t->nonblock_send = false;
			return TLS_HS_FAILED;
		}
		if (pr == 0 && host_now_ns() >= deadline_ns) {
			snprintf(why, len, "the TLS handshake did not finish in time");
			t->nonblock_send = false;
			return TLS_HS_TIMEOUT;
		}
		if (pr > 0 && p[1].revents) {
			snprintf(why, len, "cancelled during the TLS handshake");
			t->nonblock_send = false;
			return TLS_HS_WOKEN;
		}
	}
	t->nonblock_send = false;
	t->npeek = PEEK_MAX;    /* TLS works: nothing more to keep */
	return TLS_HS_DONE;
}

bool tls_session_pending(struct tls_session *t)
{
	return gnutls_record_check_pending(t->s) > 0 || t->rpos < t->rlen;
}

static void note(struct tls_session *t, ssize_t rc)
{
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
		snprintf(t->err, sizeof(t->err), "%s sent a TLS alert: %s",
			 t->server ? "the source" : "the destination",
			 gnutls_alert_get_name(gnutls_alert_get(t->s)));
	else if (!t->err[0])
		snprintf(t->err, sizeof(t->err), "TLS: %s", gnutls_strerror((int)rc));
}

ssize_t tls_session_recv(struct tls_session *t, void *buf, size_t n)
{
	ssize_t r = gnutls_record_recv(t->s, buf, n);

	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		errno = EAGAIN;
		return -1;
	}
	/* A peer that vanished without close_notify ends the stream like a
	 * TCP close would; the SSM layer then reports a truncated stream. */
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	note(t, r);
	errno = EPROTO;
	return -1;
}

static int send_failed(struct tls_session *t, ssize_t w)
{
	int e = errno;

	note(t, w);
	return w == GNUTLS_E_PUSH_ERROR ? (e == ETIMEDOUT ? SSM_ERR_TIMEOUT : SSM_ERR_CONN_LOST) :
	       SSM_ERR_IO;
}

static int send_records(struct tls_session *t, const char *p, size_t n);

int tls_session_send(struct tls_session *t, const void *buf, size_t n)
{
	const char *p = buf;
	int rc;

	/* Corked, a batch of records leaves in one writev(2), not one send
	 * per 16 KiB record. */
	gnutls_record_cork(t->s);
	rc = send_records(t, p, n);
	while (!rc) {
		ssize_t w = gnutls_record_uncork(t->s, GNUTLS_RECORD_WAIT);

		if (w >= 0)
			break;
		if (w != GNUTLS_E_AGAIN && w != GNUTLS_E_INTERRUPTED)
			rc = send_failed(t, w);
	}
	return rc;
}

static int send_records(struct tls_session *t, const char *p, size_t n)
{
	while (n) {
		ssize_t w = gnutls_record_send(t->s, p, n);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return send_failed(t, w);
		p += w;
		n -= (size_t)w;
	}
	return SSM_OK;
}

const char *tls_session_error(const struct tls_session *t)
{
	return t->err;
}

static int st_write(void *user, const void *buf, size_t n)
{
	return tls_session_send(user, buf, n);
}

/* Blocking reads for callers that do not poll (the stream API). */
static int st_read(void *user, void *buf, size_t n, size_t *got)
{
	struct tls_session *t = user;

	*got = 0;
	while (*got < n) {
		ssize_t r = tls_session_recv(t, (char *)buf + *got, n - *got);
		struct pollfd p = { .fd = t->fd, .events = POLLIN };

		if (r > 0) {
			*got += (size_t)r;
			continue;
		}
		if (r == 0)
			return SSM_OK;
		if (errno != EAGAIN)
			return SSM_ERR_IO;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return SSM_ERR_IO;
	}
	return SSM_OK;
}

static int st_close(void *user, bool ok)
{
	(void)user;
	(void)ok;
	return SSM_OK;
}

static const ssm_stream_ops tls_ops = { .write = st_write, .read = st_read, .close = st_close };

void tls_session_stream(struct tls_session *t, ssm_stream *out)
{
	out->ops = &tls_ops;
	out->user = t;
}

void tls_session_free(struct tls_session *t)
{
	if (!t)
		return;
	t->nonblock_send = true;
	gnutls_bye(t->s, GNUTLS_SHUT_WR);
	gnutls_deinit(t->s);
	if (t->x509)
		gnutls_certificate_free_credentials(t->x509);
	if (t->psk_c)
		gnutls_psk_free_client_credentials(t->psk_c);
	if (t->psk_s)
		gnutls_psk_free_server_credentials(t->psk_s);
	free(t->rbuf);
	free(t);
}
