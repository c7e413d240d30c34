/* stream_file.c - buffered file streams.
 *
 * The writer never touches PATH until the data is durable, and a crash at
 * any moment leaves PATH as it was or complete, and nothing else:
 *
 *  - Where the filesystem has O_TMPFILE the data goes to an anonymous inode
 *    in PATH's directory: killed while writing, the kernel frees it.  On
 *    commit it is fsynced, linked to a unique sibling "PATH.tmp-XXXXXX" and
 *    renamed over PATH (linkat cannot replace a name).  Only a crash in the
 *    microseconds between link and rename leaves that name behind.
 *  - Elsewhere the data goes to "PATH.tmp-XXXXXX" directly.
 *
 * Either way the writer holds an flock on its temp file for its whole
 * life, and every new writer for PATH first removes the PATH.tmp-XXXXXX
 * files whose lock nobody holds: those of writers that died.  State files
 * hold all of guest RAM, so they are created 0600.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "ssm/stream_priv.h"

#define TMP_SUFFIX ".tmp-"
#define TMP_RAND_LEN 6
#define TMP_ATTEMPTS 100
#define FILE_MODE 0600

static const char tmp_chars[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

struct file_writer {
	int fd;
	int err;             /* sticky */
	bool anon;           /* fd is an O_TMPFILE inode with no name yet */
	char *path;
	char *tmp;           /* PATH.tmp-XXXXXX; a name on disk unless anon */
	size_t tmp_prefix;   /* strlen(path) + strlen(TMP_SUFFIX) */
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

/* Fill the XXXXXX of fw->tmp.  Uniqueness, not secrecy, is what matters
 * (O_EXCL / linkat's EEXIST guarantee it), so a clock stands in when the
 * kernel has no randomness yet. */
static void tmp_randomize(struct file_writer *fw, int attempt)
{
	unsigned char rnd[TMP_RAND_LEN];
	int i;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		    (uint64_t)getpid() ^ ((uint64_t)attempt << 32);
		for (i = 0; i < TMP_RAND_LEN; i++, x >>= 8)
			rnd[i] = (unsigned char)x;
	}
	for (i = 0; i < TMP_RAND_LEN; i++)
		fw->tmp[fw->tmp_prefix + i] = tmp_chars[rnd[i] % (sizeof(tmp_chars) - 1)];
}

/* Give the anonymous inode the name fw->tmp.  AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH; the /proc/self/fd link works for everyone. */
static int link_anon(struct file_writer *fw)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fw->fd);
	for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
		tmp_randomize(fw, attempt);
		if (linkat(fw->fd, "", AT_FDCWD, fw->tmp, AT_EMPTY_PATH) == 0 ||
		    linkat(AT_FDCWD, proc, AT_FDCWD, fw->tmp, AT_SYMLINK_FOLLOW) == 0) {
			fw->anon = false;
			return SSM_OK;
		}
		if (errno != EEXIST)
			return ssm_stream_errno(errno);
	}
	return SSM_ERR_IO;
}

static int fw_commit(struct file_writer *fw)
{
	int rc;

	rc = fw_flush(fw);
	if (rc)
		return rc;
	/* fsync also reports the write-back errors NFS keeps for close. */
	if (fsync(fw->fd) < 0)
		return ssm_stream_errno(errno);
	if (fw->anon) {
		rc = link_anon(fw);
		if (rc)
			return rc;
	}
	/* The lock is still held: a concurrent writer's clean-up leaves the
	 * name alone until it is gone by this rename. */
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
	/* Unlink before close: the lock keeps others' clean-up away meanwhile. */
	if (fw->tmp && !fw->anon && unlink(fw->tmp) < 0 && !rc && errno != ENOENT)
		rc = ssm_stream_errno(errno);
	if (fw->fd >= 0)
		close(fw->fd);
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

/* Is name (in PATH's directory) one of PATH's temp names? */
static bool is_tmp_name(const char *name, const char *base, size_t base_len)
{
	size_t sl = sizeof(TMP_SUFFIX) - 1;

	if (strncmp(name, base, base_len) || strncmp(name + base_len, TMP_SUFFIX, sl))
		return false;
	name += base_len + sl;
	if (strlen(name) != TMP_RAND_LEN)
		return false;
	return strspn(name, tmp_chars) == TMP_RAND_LEN;
}

/* Remove PATH's temp files that nobody holds locked: left by writers that
 * were killed (or by versions before the lock, which cannot be told from
 * dead ones).  Best effort: a failure here never fails the save. */
static void clean_dead_tmp(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t base_len = strlen(base);
	char *dir = dir_of(path);
	struct dirent *e;
	int dfd;
	DIR *d;

	if (!dir)
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat a, b;
		int fd;

		if (!is_tmp_name(e->d_name, base, base_len))
			continue;
		fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
			    O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Only a regular file that is still this name and whose lock is
		 * free: a live writer holds its lock until its name is gone. */
		if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstatat(dfd, e->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			unlinkat(dfd, e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* A named temp file, created 0600 (before umask) and locked.  A clean-up
 * running between our open and our flock may take the unlocked file: then
 * the name no longer leads to our inode, and we try another. */
static int open_named(struct file_writer *fw)
{
	for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
		struct stat a, b;
		int fd;

		tmp_randomize(fw, attempt);
		fd = open(fw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
		    stat(fw->tmp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = EEXIST;
	return -1;
}

/* An anonymous inode in PATH's directory, or -1 if the filesystem (or
 * kernel) has no O_TMPFILE or /proc is missing to link it later. */
static int open_anon(const char *path)
{
	char *dir;
	int fd;

	if (access("/proc/self/fd", X_OK) < 0)
		return -1;
	dir = dir_of(path);
	if (!dir)
		return -1;
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, FILE_MODE);
	free(dir);
	/* Nobody else can reach this inode yet: the lock cannot fail. */
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int ssm_stream_file_create_how(ssm_stream *out, const char *path, bool allow_anon)
{
	struct file_writer *fw;
	struct stat sb;
	size_t plen;
	int rc;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!path || !*path)
		return SSM_ERR_INVALID_ARG;
	/* The rename at close would fail over a directory only after the
	 * whole state is written, and would replace a FIFO or device node by
	 * a regular file: refuse both before writing anything. */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : ENOTSUP;
		return S_ISDIR(sb.st_mode) ? SSM_ERR_IO : SSM_ERR_NOT_SUPPORTED;
	}

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
	fw->tmp_prefix = plen + sizeof(TMP_SUFFIX) - 1;
	memset(fw->tmp + fw->tmp_prefix, 'X', TMP_RAND_LEN);
	fw->tmp[fw->tmp_prefix + TMP_RAND_LEN] = '\0';

	clean_dead_tmp(path);
	if (allow_anon) {
		fw->fd = open_anon(path);
		fw->anon = fw->fd >= 0;
	}
	if (fw->fd < 0)
		fw->fd = open_named(fw);
	if (fw->fd < 0) {
		rc = ssm_stream_errno(errno);
		goto err_free;
	}
	out->ops = &file_writer_ops;
	out->user = fw;
	return SSM_OK;

err_free:
	{
		int e = errno;   /* callers may report strerror(errno) */

		fw_free(fw);
		errno = e;
	}
	return rc;
}

int ssm_stream_file_create(ssm_stream *out, const char *path)
{
	return ssm_stream_file_create_how(out, path, true);
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

/* A reader on fd, which is closed on failure (errno kept). */
static int reader_on(ssm_stream *out, int fd)
{
	struct file_reader *fr;
	struct stat st;
	off_t cur;
	int rc;

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
	/* A FIFO or a device may never end and has no size to bound the
	 * reads by; such input goes through ssm_stream_fd() on purpose. */
	if (!S_ISREG(st.st_mode)) {
		errno = 0;
		rc = SSM_ERR_NOT_SUPPORTED;
		goto err_close;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		rc = ssm_stream_errno(errno);
		goto err_close;
	}
	fr = calloc(1, sizeof(*fr) + SSM_STREAM_BUFSZ);
	if (!fr) {
		rc = SSM_ERR_NOMEM;
		goto err_close;
	}
	fr->fd = fd;
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

int ssm_stream_file_open(ssm_stream *out, const char *path)
{
	int fd;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!path)
		return SSM_ERR_INVALID_ARG;
	/* O_NONBLOCK: opening a FIFO would wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ssm_stream_errno(errno);
	return reader_on(out, fd);
}

int ssm_stream_file_fdopen(ssm_stream *out, int fd)
{
	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (fd < 0)
		return SSM_ERR_INVALID_ARG;
	/* reader_on closes what it is given when it fails; the caller's fd
	 * must stay theirs then. */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return ssm_stream_errno(errno);
	return reader_on(out, fd);
}
