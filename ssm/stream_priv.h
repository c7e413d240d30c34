/* stream_priv.h - helpers shared by the built-in stream backends. */
#ifndef SSM_STREAM_PRIV_H
#define SSM_STREAM_PRIV_H

#include <errno.h>
#include <sys/stat.h>

#include "ssm/ssm.h"

/* Large enough to amortise syscalls, small enough to stay cache-friendly. */
#define SSM_STREAM_BUFSZ (64u * 1024u)

/* Callers care whether to retry elsewhere (disk full), give up on a peer
 * (connection lost) or just report failure; the exact errno is lost. */
static inline int ssm_stream_errno(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return SSM_ERR_NO_SPACE;
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
		return SSM_ERR_CONN_LOST;
	case ENOMEM:
		return SSM_ERR_NOMEM;
	case ETIMEDOUT:
		return SSM_ERR_TIMEOUT;
	default:
		return SSM_ERR_IO;
	}
}

/* Length of a regular file open as fd; devices such as /dev/full seek
 * fine but have no meaningful length. */
static inline int ssm_stream_regular_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return SSM_ERR_IO;
	if (!S_ISREG(st.st_mode))
		return SSM_ERR_NOT_SUPPORTED;
	*size = (uint64_t)st.st_size;
	return SSM_OK;
}

/* ssm_stream_file_create, but allow_anon false always takes the named
 * temp file that filesystems without O_TMPFILE get (for tests). */
int ssm_stream_file_create_how(ssm_stream *out, const char *path, bool allow_anon);

#endif /* SSM_STREAM_PRIV_H */
