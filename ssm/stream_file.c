/* stream_file.c - buffered file streams.
 *
 * The writer never touches PATH until the data is durable: it writes a
 * sibling temp file and renames it into place on a successful close, so a
 * crash or a failed save leaves whatever PATH held before.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "ssm/stream_priv.h"

#define TMP_SUFFIX ".tmp-"
#define TMP_RAND_LEN 6
#define TMP_ATTEMPTS 100

struct file_writer {
	int fd;
	int err;             /* sticky */
	char *path;
	char *tmp;
	uint64_t base;       /* file offset of buf[0] */
	uint64_t end;        /* highest offset written so far */
	size_t len;          /* bytes in buf */
	unsigned char buf[]; /* SSM_STREAM_BUFSZ */
};

struct file_reader {
	int fd;
	int err;             /* sticky */
	uint64_t off;        /* fd offset == file offset of buf[blen] */
	size_t bpos;         /* next byte to hand out */
	size_t blen;         /* valid bytes in buf */
	unsigned char buf[]; /* SSM_STREAM_BUFSZ */
};

/* ---- Writer ------------------------------------------------------------- */

/* pwrite keeps our own notion of position, so seeking costs no syscall and
 * the fd offset never has to be kept in step with the buffer. */
static int pwrite_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w;

		if (off > INT64_MAX)
			return SSM_ERR_INVALID_ARG;
		w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return ssm_stream_errno(errno);
		}
		if (w == 0)
			return SSM_ERR_IO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return SSM_OK;
}

static int fw_flush(struct file_writer *fw)
{
	int rc;

	if (fw->err)
		return fw->err;
	if (!fw->len)
		return SSM_OK;
	rc = pwrite_all(fw->fd, fw->buf, fw->len, fw->base);
	if (rc) {
		fw->err = rc;
		return rc;
	}
	fw->base += fw->len;
	fw->len = 0;
	return SSM_OK;
}

static int fw_write(void *user, const void *buf, size_t n)
{
	struct file_writer *fw = user;
	int rc;

	if (fw->err)
		return fw->err;
	if (n > UINT64_MAX - fw->base - fw->len)
		return SSM_ERR_INVALID_ARG;
	if (n > SSM_STREAM_BUFSZ - fw->len) {
		rc = fw_flush(fw);
		if (rc)
			return rc;
		if (n >= SSM_STREAM_BUFSZ) {
			rc = pwrite_all(fw->fd, buf, n, fw->base);
			if (rc) {
				fw->err = rc;
				return rc;
			}
			fw->base += n;
			if (fw->base > fw->end)
				fw->end = fw->base;
			return SSM_OK;
		}
	}
	memcpy(fw->buf + fw->len, buf, n);
	fw->len += n;
	if (fw->base + fw->len > fw->end)
		fw->end = fw->base + fw->len;
	return SSM_OK;
}

static int fw_read(void *user, void *buf, size_t n, size_t *got)
{
	(void)user;
	(void)buf;
	(void)n;
	if (got)
		*got = 0;
	return SSM_ERR_NOT_SUPPORTED;
}

static int fw_seek(void *user, uint64_t off)
{
	struct file_writer *fw = user;
	int rc;

	if (off > INT64_MAX)
		return SSM_ERR_INVALID_ARG;
	if (off == fw->base + fw->len)
		return fw->err;
	rc = fw_flush(fw);
	if (rc)
		return rc;
	fw->base = off;
	return SSM_OK;
}

static int fw_tell(void *user, uint64_t *off)
{
	struct file_writer *fw = user;

	*off = fw->base + fw->len;
	return SSM_OK;
}

static int fw_size(void *user, uint64_t *size)
{
	struct file_writer *fw = user;

	*size = fw->end;
	return SSM_OK;
}

static int fw_is_ok(void *user)
{
	struct file_writer *fw = user;

	return fw->err;
}

/* Where PATH's directory entry lives; "." for a bare name. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (!slash)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, path, n);
	d[n] = '\0';
	return d;
}

/* Without this the rename itself may be lost on power failure, leaving the
 * old PATH (or none) despite a successful save. */
static int fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, rc = SSM_OK;

	if (!dir)
		return SSM_ERR_NOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return ssm_stream_errno(errno);
	/* Some filesystems cannot sync directories and say so with EINVAL;
	 * there is nothing more we could do there. */
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = ssm_stream_errno(errno);
	close(fd);
	return rc;
}

static int fw_commit(struct file_writer *fw)
{
	int rc, fd = fw->fd;

	rc = fw_flush(fw);
	if (rc)
		return rc;
	if (fsync(fd) < 0)
		return ssm_stream_errno(errno);
	fw->fd = -1;
	/* NFS and friends may report write-back errors only here. */
	if (close(fd) < 0 && errno != EINTR)
		return ssm_stream_errno(errno);
	if (rename(fw->tmp, fw->path) < 0)
		return ssm_stream_errno(errno);
	/* PATH now holds the complete data; the temp name is gone. */
	free(fw->tmp);
	fw->tmp = NULL;
	return fsync_dir(fw->path);
}

static void fw_free(struct file_writer *fw)
{
	free(fw->path);
	free(fw->tmp);
	free(fw);
}

static int fw_close(void *user, bool ok)
{
	struct file_writer *fw = user;
	int rc = SSM_OK;

	if (ok)
		rc = fw_commit(fw);
	if (fw->fd >= 0)
		close(fw->fd);
	if (fw->tmp && unlink(fw->tmp) < 0 && !rc && errno != ENOENT)
		rc = ssm_stream_errno(errno);
	fw_free(fw);
	return rc;
}

static const ssm_stream_ops file_writer_ops = {
	.write = fw_write,
	.read = fw_read,
	.seek = fw_seek,
	.tell = fw_tell,
	.size = fw_size,
	.is_ok = fw_is_ok,
	.close = fw_close,
};

/* Like mkstemp, but open(2) applies the umask to 0644 the way it would for
 * PATH itself; mkstemp's fixed 0600 would make the saved file unreadable to
 * the group after the rename. */
static int open_tmp(char *tmp, size_t prefix_len)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[TMP_RAND_LEN];
	int attempt, i, fd;

	for (attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			/* Early boot or old kernel: uniqueness, not secrecy,
			 * is what matters, and O_EXCL guarantees it. */
			struct timespec ts;
			uint64_t x;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
			    (uint64_t)getpid() ^ ((uint64_t)attempt << 32);
			for (i = 0; i < TMP_RAND_LEN; i++, x >>= 8)
				rnd[i] = (unsigned char)x;
		}
		for (i = 0; i < TMP_RAND_LEN; i++)
			tmp[prefix_len + i] = chars[rnd[i] % (sizeof(chars) - 1)];
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int ssm_stream_file_create(ssm_stream *out, const char *path)
{
	struct file_writer *fw;
	size_t plen;
	int rc;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!path || !*path)
		return SSM_ERR_INVALID_ARG;

	fw = calloc(1, sizeof(*fw) + SSM_STREAM_BUFSZ);
	if (!fw)
		return SSM_ERR_NOMEM;
	fw->fd = -1;
	plen = strlen(path);
	fw->path = strdup(path);
	fw->tmp = malloc(plen + sizeof(TMP_SUFFIX) - 1 + TMP_RAND_LEN + 1);
	if (!fw->path || !fw->tmp) {
		rc = SSM_ERR_NOMEM;
		goto err_free;
	}
	memcpy(fw->tmp, path, plen);
	memcpy(fw->tmp + plen, TMP_SUFFIX, sizeof(TMP_SUFFIX) - 1);
	plen += sizeof(TMP_SUFFIX) - 1;
	fw->tmp[plen + TMP_RAND_LEN] = '\0';

	fw->fd = open_tmp(fw->tmp, plen);
	if (fw->fd < 0) {
		rc = ssm_stream_errno(errno);
		goto err_free;
	}
	out->ops = &file_writer_ops;
	out->user = fw;
	return SSM_OK;

err_free:
	fw_free(fw);
	return rc;
}

/* ---- Reader ------------------------------------------------------------- */

static int read_some(int fd, void *p, size_t n, size_t *got)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return ssm_stream_errno(errno);
	*got = (size_t)r;
	return SSM_OK;
}

static int fr_read(void *user, void *buf, size_t n, size_t *got)
{
	struct file_reader *fr = user;
	unsigned char *p = buf;
	size_t done = 0, r;
	int rc = SSM_OK;

	*got = 0;
	if (fr->err)
		return fr->err;
	while (done < n) {
		if (fr->bpos < fr->blen) {
			size_t c = fr->blen - fr->bpos;

			if (c > n - done)
				c = n - done;
			memcpy(p + done, fr->buf + fr->bpos, c);
			fr->bpos += c;
			done += c;
			continue;
		}
		/* Buffer drained: big requests skip the extra copy. */
		fr->bpos = fr->blen = 0;
		if (n - done >= SSM_STREAM_BUFSZ)
			rc = read_some(fr->fd, p + done, n - done, &r);
		else
			rc = read_some(fr->fd, fr->buf, SSM_STREAM_BUFSZ, &r);
		if (rc) {
			fr->err = rc;
			break;
		}
		if (!r)
			break;
		fr->off += r;
		if (n - done >= SSM_STREAM_BUFSZ)
			done += r;
		else
			fr->blen = r;
	}
	*got = done;
	return rc;
}

static int fr_write(void *user, const void *buf, size_t n)
{
	(void)user;
	(void)buf;
	(void)n;
	return SSM_ERR_NOT_SUPPORTED;
}

static int fr_seek(void *user, uint64_t off)
{
	struct file_reader *fr = user;
	uint64_t buf_start = fr->off - fr->blen;

	if (fr->err)
		return fr->err;
	if (off > INT64_MAX)
		return SSM_ERR_INVALID_ARG;
	/* Hopping around inside what we already hold (header, directory)
	 * should not cost a syscall and a refill. */
	if (off >= buf_start && off <= fr->off) {
		fr->bpos = (size_t)(off - buf_start);
		return SSM_OK;
	}
	if (lseek(fr->fd, (off_t)off, SEEK_SET) < 0)
		return errno == ESPIPE ? SSM_ERR_NOT_SUPPORTED : SSM_ERR_IO;
	fr->off = off;
	fr->bpos = fr->blen = 0;
	return SSM_OK;
}

static int fr_tell(void *user, uint64_t *off)
{
	struct file_reader *fr = user;

	*off = fr->off - (fr->blen - fr->bpos);
	return SSM_OK;
}

static int fr_size(void *user, uint64_t *size)
{
	struct file_reader *fr = user;

	return ssm_stream_regular_size(fr->fd, size);
}

static int fr_is_ok(void *user)
{
	struct file_reader *fr = user;

	return fr->err;
}

static int fr_close(void *user, bool ok)
{
	struct file_reader *fr = user;
	int rc = ok ? fr->err : SSM_OK;

	close(fr->fd);
	free(fr);
	return rc;
}

static const ssm_stream_ops file_reader_ops = {
	.write = fr_write,
	.read = fr_read,
	.seek = fr_seek,
	.tell = fr_tell,
	.size = fr_size,
	.is_ok = fr_is_ok,
	.close = fr_close,
};

int ssm_stream_file_open(ssm_stream *out, const char *path)
{
	struct file_reader *fr;
	struct stat st;
	off_t cur;
	int fd, rc;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!path)
		return SSM_ERR_INVALID_ARG;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ssm_stream_errno(errno);
	if (fstat(fd, &st) < 0) {
		rc = ssm_stream_errno(errno);
		goto err_close;
	}
	/* open(2) happily opens a directory; fail here, not on first read. */
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		rc = SSM_ERR_IO;
		goto err_close;
	}
	fr = calloc(1, sizeof(*fr) + SSM_STREAM_BUFSZ);
	if (!fr) {
		rc = SSM_ERR_NOMEM;
		goto err_close;
	}
	fr->fd = fd;
	/* A FIFO (e.g. a shell process substitution) reads fine; only seeking
	 * is refused later. */
	cur = lseek(fd, 0, SEEK_CUR);
	fr->off = cur > 0 ? (uint64_t)cur : 0;
	out->ops = &file_reader_ops;
	out->user = fr;
	return SSM_OK;

err_close:
	{
		int e = errno;   /* callers may report strerror(errno) */

		close(fd);
		errno = e;
	}
	return rc;
}
