/* test_stream_fd.c - the fd and socket stream backends: pipes, /dev/full,
 * regular files through an fd, socketpairs, TCP, peer loss and timeouts. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "stream_helpers.h"

/* ---- fd: pipes, /dev/full, regular files --------------------------------- */

struct writer_arg {
	int fd;
	bool socket;
	const unsigned char *data;
	size_t n;
	int rc;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;
	ssm_stream st;
	int rc;

	rc = a->socket ? ssm_stream_socket(&st, a->fd, true)
		       : ssm_stream_fd(&st, a->fd, true);
	if (rc) {
		a->rc = rc;
		return NULL;
	}
	for (size_t off = 0, i = 0; off < a->n && !rc; i++) {
		size_t c = chunk_sizes[i % N_CHUNKS];

		if (c > a->n - off)
			c = a->n - off;
		rc = st.ops->write(st.user, a->data + off, c);
		off += c;
	}
	a->rc = ssm_stream_close(&st, !rc);
	if (rc)
		a->rc = rc;
	return NULL;
}

Test(fd, pipe_roundtrip, .timeout = 30)
{
	unsigned char *data = pattern(BIG, 7);
	struct writer_arg wa = { .data = data, .n = BIG };
	pthread_t t;
	ssm_stream st;
	uint64_t v;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	wa.fd = p[1];
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &wa), 0);
	cr_assert_eq(ssm_stream_fd(&st, p[0], true), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->size(st.user, &v), SSM_ERR_NOT_SUPPORTED);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(wa.rc, SSM_OK);
	/* own_fd: both ends are closed now. */
	cr_assert_eq(fcntl(p[0], F_GETFD), -1);
	cr_assert_eq(fcntl(p[1], F_GETFD), -1);
	free(data);
}

Test(fd, pipe_seek_not_supported)
{
	ssm_stream st;
	uint64_t v;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(ssm_stream_fd(&st, p[1], false), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "hello", 5), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->size(st.user, &v), SSM_ERR_NOT_SUPPORTED);
	expect_tell(&st, 5);
	/* An unsupported seek is not a stream failure. */
	cr_assert_eq(st.ops->is_ok(st.user), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	/* Not owned: still open. */
	cr_assert_neq(fcntl(p[1], F_GETFD), -1);
	close(p[0]);
	close(p[1]);
}

static void assert_no_sigpipe_left(void)
{
	sigset_t set;

	cr_assert_eq(sigpending(&set), 0);
	cr_assert_eq(sigismember(&set, SIGPIPE), 0, "SIGPIPE left pending");
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	cr_assert_eq(sigismember(&set, SIGPIPE), 0, "SIGPIPE left blocked");
}

Test(fd, pipe_reader_gone)
{
	unsigned char buf[100] = { 0 };
	ssm_stream st;
	int p[2];

	/* A test runner may ignore SIGPIPE; we want the deadly default. */
	signal(SIGPIPE, SIG_DFL);
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	cr_assert_eq(ssm_stream_fd(&st, p[1], true), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, buf, sizeof(buf)), SSM_ERR_CONN_LOST);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_CONN_LOST);
	cr_assert_eq(st.ops->write(st.user, buf, 1), SSM_ERR_CONN_LOST);
	assert_no_sigpipe_left();
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_CONN_LOST);
}

Test(fd, dev_full_no_space)
{
	unsigned char buf[4096] = { 0 };
	ssm_stream st;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ssm_stream_fd(&st, fd, true), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, buf, sizeof(buf)), SSM_ERR_NO_SPACE);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_NO_SPACE);
	/* Sticky: later writes do not pretend to succeed. */
	cr_assert_eq(st.ops->write(st.user, buf, 1), SSM_ERR_NO_SPACE);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_NO_SPACE);
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
}

Test(fd, regular_file_seek, .init = tdir_make, .fini = tdir_remove)
{
	char path[128];
	unsigned char *data = pattern(BIG, 8);
	ssm_stream st;
	int fd;

	snprintf(path, sizeof(path), "%s/f", tdir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ssm_stream_fd(&st, fd, false), SSM_OK);
	write_chunks(&st, data, BIG);
	expect_size(&st, BIG);
	cr_assert_eq(st.ops->seek(st.user, 3), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "ab", 2), SSM_OK);
	memcpy(data + 3, "ab", 2);
	expect_tell(&st, 5);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_OK);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_neq(fcntl(fd, F_GETFD), -1);
	close(fd);

	expect_file(path, data, BIG);
	free(data);
}

Test(fd, bad_args)
{
	ssm_stream st;
	int p[2];

	cr_assert_eq(ssm_stream_fd(&st, -1, false), SSM_ERR_INVALID_ARG);
	cr_assert_null(st.ops);
	cr_assert_eq(pipe(p), 0);
	close(p[1]);
	cr_assert_eq(ssm_stream_fd(&st, p[1], false), SSM_ERR_INVALID_ARG);
	/* Not a socket. */
	cr_assert_eq(ssm_stream_socket(&st, p[0], false), SSM_ERR_INVALID_ARG);
	cr_assert_null(st.ops);
	cr_assert_eq(ssm_stream_close(NULL, true), SSM_ERR_INVALID_ARG);
	close(p[0]);
}

/* ---- Sockets ----------------------------------------------------------- */

Test(socket, socketpair_roundtrip, .timeout = 30)
{
	unsigned char *data = pattern(BIG, 9);
	struct writer_arg wa = { .data = data, .n = BIG, .socket = true };
	pthread_t t;
	ssm_stream st;
	uint64_t v;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wa.fd = sv[1];
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &wa), 0);
	cr_assert_eq(ssm_stream_socket(&st, sv[0], true), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->size(st.user, &v), SSM_ERR_NOT_SUPPORTED);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(wa.rc, SSM_OK);
	free(data);
}

/* Both entry points must use send(MSG_NOSIGNAL) on a socket. */
Test(socket, peer_closed_no_sigpipe)
{
	unsigned char buf[100] = { 0 };
	ssm_stream st;
	int sv[2], via_fd;

	signal(SIGPIPE, SIG_DFL);
	for (via_fd = 0; via_fd < 2; via_fd++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		close(sv[1]);
		cr_assert_eq(via_fd ? ssm_stream_fd(&st, sv[0], true)
				    : ssm_stream_socket(&st, sv[0], true), SSM_OK);
		cr_assert_eq(st.ops->write(st.user, buf, sizeof(buf)),
			     SSM_ERR_CONN_LOST);
		cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_CONN_LOST);
		cr_assert_eq(ssm_stream_close(&st, false), SSM_OK);
	}
}

struct server {
	int lfd;
	char port[16];
	size_t n;          /* bytes to receive and echo back */
	bool reset;        /* abort the connection instead */
	unsigned char *got;
	int rc;
};

static void server_listen(struct server *sv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(sv->lfd, 0);
	cr_assert_eq(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(sv->lfd, 4), 0);
	cr_assert_eq(getsockname(sv->lfd, (struct sockaddr *)&a, &len), 0);
	snprintf(sv->port, sizeof(sv->port), "%u", ntohs(a.sin_port));
}

/* Receives n bytes and sends them back, or resets the connection.  Uses
 * raw syscalls so a bug in the stream code cannot hide on both ends. */
static void *server_thread(void *p)
{
	struct server *sv = p;
	size_t off = 0;
	int fd;

	sv->rc = -1;
	fd = accept(sv->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (sv->reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		sv->rc = 0;
		return NULL;
	}
	while (off < sv->n) {
		ssize_t r = recv(fd, sv->got + off, sv->n - off, 0);

		if (r <= 0)
			goto out;
		off += (size_t)r;
	}
	for (off = 0; off < sv->n;) {
		ssize_t w = send(fd, sv->got + off, sv->n - off, MSG_NOSIGNAL);

		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	sv->rc = 0;
out:
	close(fd);
	return NULL;
}

Test(socket, tcp_roundtrip, .timeout = 30)
{
	unsigned char *data = pattern(BIG, 10);
	struct server sv = { .n = BIG };
	pthread_t t;
	ssm_stream st;
	uint64_t v;

	sv.got = malloc(BIG);
	cr_assert_not_null(sv.got);
	server_listen(&sv);
	cr_assert_eq(pthread_create(&t, NULL, server_thread, &sv), 0);
	cr_assert_eq(ssm_stream_tcp_connect(&st, "127.0.0.1", sv.port), SSM_OK);
	write_chunks(&st, data, BIG);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->size(st.user, &v), SSM_ERR_NOT_SUPPORTED);

	/* The echo comes back; tell counts both directions. */
	unsigned char *back = malloc(BIG + 1);
	size_t g;

	cr_assert_not_null(back);
	cr_assert_eq(st.ops->read(st.user, back, BIG + 1, &g), SSM_OK);
	cr_assert_eq(g, BIG);
	cr_assert_eq(memcmp(back, data, BIG), 0);
	expect_tell(&st, 2ull * BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(sv.rc, 0);
	cr_assert_eq(memcmp(sv.got, data, BIG), 0);
	close(sv.lfd);
	free(back);
	free(sv.got);
	free(data);
}

Test(socket, tcp_peer_reset, .timeout = 30)
{
	unsigned char *buf = calloc(1, 65536);
	struct server sv = { .reset = true };
	pthread_t t;
	ssm_stream st;
	int rc = SSM_OK, i;

	signal(SIGPIPE, SIG_DFL);
	cr_assert_not_null(buf);
	server_listen(&sv);
	cr_assert_eq(pthread_create(&t, NULL, server_thread, &sv), 0);
	cr_assert_eq(ssm_stream_tcp_connect(&st, "127.0.0.1", sv.port), SSM_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(sv.rc, 0);
	/* The first sends may still be accepted locally before the RST lands. */
	for (i = 0; i < 1000 && rc == SSM_OK; i++)
		rc = st.ops->write(st.user, buf, 65536);
	cr_assert_eq(rc, SSM_ERR_CONN_LOST);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_CONN_LOST);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_CONN_LOST);
	close(sv.lfd);
	free(buf);
}

Test(socket, tcp_connect_failures)
{
	struct server sv;
	ssm_stream st;

	/* A port nobody listens on: take a free one and give it back. */
	server_listen(&sv);
	close(sv.lfd);
	cr_assert_eq(ssm_stream_tcp_connect(&st, "127.0.0.1", sv.port), SSM_ERR_IO);
	cr_assert_null(st.ops);
	cr_assert_eq(ssm_stream_tcp_connect(&st, "127.0.0.1", "no-such-service-x"),
		     SSM_ERR_IO);
	cr_assert_eq(ssm_stream_tcp_connect(&st, NULL, "1"), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_tcp_connect(&st, "127.0.0.1", NULL),
		     SSM_ERR_INVALID_ARG);
}

/* A migration sets SO_RCVTIMEO so a silent peer cannot hang it forever:
 * the expiry must surface as SSM_ERR_TIMEOUT, not be waited out. */
Test(stream_socket, receive_timeout_is_reported)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int sv[2];
	ssm_stream st;
	uint8_t b[4];
	size_t got = 99;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(ssm_stream_socket(&st, sv[0], true), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, sizeof(b), &got), SSM_ERR_TIMEOUT);
	cr_assert_eq(got, 0);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_TIMEOUT);
	st.ops->close(st.user, false);
	close(sv[1]);
}
