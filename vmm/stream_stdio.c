/* stream_stdio.c - state streams on stdin/stdout ("--save -", "--restore -").
 *
 * ssm_stream_fd would block in read(2)/write(2) for as long as the other
 * end of the pipe stalls, and the stop signals are blocked (they wait in the
 * main loop's signalfd), so a hung reader would make the VMM ignore
 * SIGTERM.  Here every wait is a poll with a short timeout that looks for
 * a pending stop signal; the descriptors keep their flags (a shared
 * terminal or pipe is not switched to non-blocking behind anyone's back). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/stop.h"
#include "vmm/stream_stdio.h"

#define WAIT_MS 100

struct stdio_stream {
	int fd;
	size_t max_write;       /* a write that cannot block after POLLOUT */
	int err;                /* sticky */
};

static int map_errno(int e)
{
	return e == EPIPE || e == ECONNRESET ? SSM_ERR_CONN_LOST :
	       e == ENOSPC || e == EDQUOT ? SSM_ERR_NO_SPACE : SSM_ERR_IO;
}

/* 0 once fd is ready for events, else an ssm_err. */
static int wait_ready(int fd, short events)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int pr = poll(&p, 1, WAIT_MS);

		if (stop_signal_pending())
			return SSM_ERR_CANCELLED;
		if (pr > 0)
			return SSM_OK;  /* POLLERR/POLLHUP: the read/write says it */
		if (pr < 0 && errno != EINTR)
			return SSM_ERR_IO;
	}
}

static int s_write(void *user, const void *buf, size_t n)
{
	struct stdio_stream *s = user;
	const unsigned char *p = buf;

	while (n && !s->err) {
		size_t chunk = n < s->max_write ? n : s->max_write;
		ssize_t w;

		s->err = wait_ready(s->fd, POLLOUT);
		if (s->err)
			break;
		w = write(s->fd, p, chunk);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			s->err = w < 0 ? map_errno(errno) : SSM_ERR_IO;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	return s->err;
}

static int s_read(void *user, void *buf, size_t n, size_t *got)
{
	struct stdio_stream *s = user;

	*got = 0;
	while (*got < n && !s->err) {
		ssize_t r;

		s->err = wait_ready(s->fd, POLLIN);
		if (s->err)
			break;
		r = read(s->fd, (char *)buf + *got, n - *got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			s->err = map_errno(errno);
		if (r <= 0)
			break;          /* 0: end of input, a short read */
		*got += (size_t)r;
	}
	return s->err;
}

static int s_close(void *user, bool ok)
{
	struct stdio_stream *s = user;
	int rc = s->err;

	(void)ok;
	free(s);
	return rc;
}

static const ssm_stream_ops write_ops = { .write = s_write, .close = s_close };
static const ssm_stream_ops read_ops = { .read = s_read, .close = s_close };

int stream_stdio_open(ssm_stream *out, bool writing)
{
	struct stdio_stream *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s)
		return SSM_ERR_NOMEM;
	s->fd = writing ? STDOUT_FILENO : STDIN_FILENO;
	/* POLLOUT on a pipe or socket promises room for PIPE_BUF bytes, not
	 * for a whole batch; a file or device never blocks for long. */
	s->max_write = fstat(s->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ?
		       PIPE_BUF : SIZE_MAX;
	out->ops = writing ? &write_ops : &read_ops;
	out->user = s;
	return SSM_OK;
}
