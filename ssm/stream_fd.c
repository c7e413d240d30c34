/* stream_fd.c - streams over an existing descriptor: files, pipes, sockets.
 *
 * Unbuffered: the core batches its own writes, and a caller-supplied fd may
 * be shared, so holding bytes back here would only reorder output.
 *
 * A stream constructor that fails leaves the descriptor with the caller,
 * even when own_fd is set.
 */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "ssm/stream_priv.h"

enum fd_kind {
	FD_PLAIN,    /* file or device: read/write, maybe seekable */
	FD_PIPE,     /* write(2) may raise SIGPIPE */
	FD_SOCKET,   /* send(MSG_NOSIGNAL)/recv */
};

struct fd_stream {
	int fd;
	enum fd_kind kind;
	bool own_fd;
	bool seekable;
	uint64_t pos;   /* offset if seekable, else bytes transferred */
	int err;        /* sticky */
};

/* A non-blocking descriptor is legal input; waiting here keeps the "all n
 * bytes" contract instead of pushing EAGAIN onto every caller. */
static int fd_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	/* On a blocking fd EAGAIN means SO_RCVTIMEO/SO_SNDTIMEO expired: the
	 * caller's timeout, reported, not waited out. */
	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
		errno = ETIMEDOUT;
		return -1;
	}

	for (;;) {
		if (poll(&p, 1, -1) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static ssize_t fd_write_once(struct fd_stream *fs, const void *p, size_t n)
{
	if (fs->kind == FD_SOCKET)
		return send(fs->fd, p, n, MSG_NOSIGNAL);
	return write(fs->fd, p, n);
}

static int fd_write_loop(struct fd_stream *fs, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = fd_write_once(fs, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !fd_wait(fs->fd, POLLOUT))
				continue;
			return ssm_stream_errno(errno);
		}
		if (w == 0)
			return SSM_ERR_IO;
		p += w;
		n -= (size_t)w;
		fs->pos += (uint64_t)w;
	}
	return SSM_OK;
}

/* Writing to a pipe whose reader went away raises SIGPIPE, which kills the
 * VMM by default.  SIGPIPE from write(2) is sent to the writing thread, so
 * blocking it here and swallowing the one we caused turns it into EPIPE
 * without touching the process-wide disposition. */
static int fd_write_pipe(struct fd_stream *fs, const unsigned char *p, size_t n)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int rc, saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old))
		return SSM_ERR_IO;

	rc = fd_write_loop(fs, p, n);

	/* Only consume a SIGPIPE we raised; one pending from before is the
	 * caller's business and stays pending. */
	if (rc == SSM_ERR_CONN_LOST && !was_pending) {
		struct timespec zero = { 0, 0 };

		saved = errno;
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
		errno = saved;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int fd_write(void *user, const void *buf, size_t n)
{
	struct fd_stream *fs = user;
	int rc;

	if (fs->err)
		return fs->err;
	if (fs->kind == FD_PIPE)
		rc = fd_write_pipe(fs, buf, n);
	else
		rc = fd_write_loop(fs, buf, n);
	if (rc)
		fs->err = rc;
	return rc;
}

static int fd_read(void *user, void *buf, size_t n, size_t *got)
{
	struct fd_stream *fs = user;
	unsigned char *p = buf;
	size_t done = 0;

	*got = 0;
	if (fs->err)
		return fs->err;
	while (done < n) {
		ssize_t r;

		if (fs->kind == FD_SOCKET)
			r = recv(fs->fd, p + done, n - done, 0);
		else
			r = read(fs->fd, p + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !fd_wait(fs->fd, POLLIN))
				continue;
			fs->err = ssm_stream_errno(errno);
			*got = done;
			return fs->err;
		}
		if (r == 0)
			break;
		done += (size_t)r;
		fs->pos += (uint64_t)r;
	}
	*got = done;
	return SSM_OK;
}

static int fd_seek(void *user, uint64_t off)
{
	struct fd_stream *fs = user;

	if (!fs->seekable)
		return SSM_ERR_NOT_SUPPORTED;
	if (fs->err)
		return fs->err;
	if (off > INT64_MAX)
		return SSM_ERR_INVALID_ARG;
	if (lseek(fs->fd, (off_t)off, SEEK_SET) < 0)
		return errno == EINVAL ? SSM_ERR_INVALID_ARG : SSM_ERR_IO;
	fs->pos = off;
	return SSM_OK;
}

static int fd_tell(void *user, uint64_t *off)
{
	struct fd_stream *fs = user;

	*off = fs->pos;
	return SSM_OK;
}

static int fd_size(void *user, uint64_t *size)
{
	struct fd_stream *fs = user;

	if (!fs->seekable)
		return SSM_ERR_NOT_SUPPORTED;
	return ssm_stream_regular_size(fs->fd, size);
}

static int fd_is_ok(void *user)
{
	struct fd_stream *fs = user;

	return fs->err;
}

static int fd_close(void *user, bool ok)
{
	struct fd_stream *fs = user;
	int rc = ok ? fs->err : SSM_OK;

	/* Linux always releases the fd, even when close() reports EINTR, so
	 * retrying could close an fd another thread just got. */
	if (fs->own_fd && close(fs->fd) < 0 && errno != EINTR && ok && !rc)
		rc = ssm_stream_errno(errno);
	free(fs);
	return rc;
}

static const ssm_stream_ops fd_ops = {
	.write = fd_write,
	.read = fd_read,
	.seek = fd_seek,
	.tell = fd_tell,
	.size = fd_size,
	.is_ok = fd_is_ok,
	.close = fd_close,
};

static int fd_stream_new(ssm_stream *out, int fd, bool own_fd, enum fd_kind kind)
{
	struct fd_stream *fs;
	off_t cur = -1;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return SSM_ERR_NOMEM;
	fs->fd = fd;
	fs->kind = kind;
	fs->own_fd = own_fd;
	if (kind == FD_PLAIN)
		cur = lseek(fd, 0, SEEK_CUR);
	if (cur >= 0) {
		fs->seekable = true;
		fs->pos = (uint64_t)cur;
	}
	out->ops = &fd_ops;
	out->user = fs;
	return SSM_OK;
}

int ssm_stream_fd(ssm_stream *out, int fd, bool own_fd)
{
	struct stat st;
	enum fd_kind kind = FD_PLAIN;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (fd < 0)
		return SSM_ERR_INVALID_ARG;
	if (fstat(fd, &st) < 0)
		return errno == EBADF ? SSM_ERR_INVALID_ARG : SSM_ERR_IO;
	/* Sockets get send(MSG_NOSIGNAL) even through this entry point, so a
	 * caller who did not know what it was holding is still safe. */
	if (S_ISSOCK(st.st_mode))
		kind = FD_SOCKET;
	else if (S_ISFIFO(st.st_mode))
		kind = FD_PIPE;
	return fd_stream_new(out, fd, own_fd, kind);
}

int ssm_stream_socket(ssm_stream *out, int fd, bool own_fd)
{
	struct stat st;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (fd < 0)
		return SSM_ERR_INVALID_ARG;
	if (fstat(fd, &st) < 0)
		return errno == EBADF ? SSM_ERR_INVALID_ARG : SSM_ERR_IO;
	if (!S_ISSOCK(st.st_mode))
		return SSM_ERR_INVALID_ARG;
	return fd_stream_new(out, fd, own_fd, FD_SOCKET);
}

/* connect(2) interrupted by a signal keeps going in the background; calling
 * it again would fail with EALREADY, so wait for the outcome instead. */
static int tcp_connect_one(const struct addrinfo *ai)
{
	int fd, soerr, one = 1;
	socklen_t len = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINTR)
			goto fail;
		if (fd_wait(fd, POLLOUT) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	/* State records are many small writes; Nagle would stall each one
	 * behind the previous ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int ssm_stream_tcp_connect(ssm_stream *out, const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!host || !port)
		return SSM_ERR_INVALID_ARG;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return rc == EAI_MEMORY ? SSM_ERR_NOMEM : SSM_ERR_IO;

	for (ai = res; ai; ai = ai->ai_next) {
		fd = tcp_connect_one(ai);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return SSM_ERR_IO;

	rc = fd_stream_new(out, fd, true, FD_SOCKET);
	if (rc)
		close(fd);
	return rc;
}

int ssm_stream_close(ssm_stream *st, bool ok)
{
	int rc;

	if (!st || !st->ops || !st->ops->close)
		return SSM_ERR_INVALID_ARG;
	rc = st->ops->close(st->user, ok);
	/* A second close through the same struct must not free twice. */
	st->ops = NULL;
	st->user = NULL;
	return rc;
}
