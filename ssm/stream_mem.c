/* stream_mem.c - in-memory streams: a growable writer and a read-only view.
 *
 * Seeking follows lseek(2): any offset is accepted.  The writer fills a gap
 * left by seeking past the end with zeros on the next write; the reader
 * returns end of stream there.
 */
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "ssm/stream_priv.h"

/* First allocation; small states should not pay for a big buffer. */
#define MEM_MIN_CAP 4096u

struct mem_writer {
	unsigned char *buf;
	size_t cap;
	size_t len;     /* bytes written (high-water mark) */
	uint64_t pos;   /* may lie past len after a seek */
	int err;        /* sticky */
	void **sink;    /* mem_sink: where close(ok) hands the bytes */
	size_t *sink_len;
};

struct mem_reader {
	const unsigned char *buf;
	size_t len;
	uint64_t pos;
};

static int mw_grow(struct mem_writer *mw, size_t need)
{
	size_t cap = mw->cap ? mw->cap : MEM_MIN_CAP;
	unsigned char *nb;

	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	nb = realloc(mw->buf, cap);
	if (!nb)
		return SSM_ERR_NOMEM;
	mw->buf = nb;
	mw->cap = cap;
	return SSM_OK;
}

static int mw_write(void *user, const void *buf, size_t n)
{
	struct mem_writer *mw = user;
	size_t pos, end;
	int rc;

	if (mw->err)
		return mw->err;
	if (!n)
		return SSM_OK;
	/* An offset or end beyond size_t can never be backed by memory. */
	if (mw->pos > SIZE_MAX || n > SIZE_MAX - (size_t)mw->pos) {
		mw->err = SSM_ERR_NOMEM;
		return mw->err;
	}
	pos = (size_t)mw->pos;
	end = pos + n;
	if (end > mw->cap) {
		rc = mw_grow(mw, end);
		if (rc) {
			mw->err = rc;
			return rc;
		}
	}
	if (pos > mw->len)
		memset(mw->buf + mw->len, 0, pos - mw->len);
	memcpy(mw->buf + pos, buf, n);
	mw->pos = end;
	if (end > mw->len)
		mw->len = end;
	return SSM_OK;
}

static int mw_read(void *user, void *buf, size_t n, size_t *got)
{
	(void)user;
	(void)buf;
	(void)n;
	if (got)
		*got = 0;
	return SSM_ERR_NOT_SUPPORTED;
}

static int mw_seek(void *user, uint64_t off)
{
	struct mem_writer *mw = user;

	if (mw->err)
		return mw->err;
	mw->pos = off;
	return SSM_OK;
}

static int mw_tell(void *user, uint64_t *off)
{
	struct mem_writer *mw = user;

	*off = mw->pos;
	return SSM_OK;
}

static int mw_size(void *user, uint64_t *size)
{
	struct mem_writer *mw = user;

	*size = mw->len;
	return SSM_OK;
}

static int mw_is_ok(void *user)
{
	struct mem_writer *mw = user;

	return mw->err;
}

static int mw_close(void *user, bool ok)
{
	struct mem_writer *mw = user;
	int rc = ok ? mw->err : SSM_OK;

	if (mw->sink) {
		*mw->sink = NULL;
		*mw->sink_len = 0;
		if (ok && !mw->err) {
			/* Never NULL on success, even for zero bytes. */
			*mw->sink = mw->buf ? mw->buf : malloc(1);
			*mw->sink_len = mw->len;
			rc = *mw->sink ? SSM_OK : SSM_ERR_NOMEM;
			mw->buf = NULL;
		}
	}
	free(mw->buf);
	free(mw);
	return rc;
}

static const ssm_stream_ops mem_writer_ops = {
	.write = mw_write,
	.read = mw_read,
	.seek = mw_seek,
	.tell = mw_tell,
	.size = mw_size,
	.is_ok = mw_is_ok,
	.close = mw_close,
};

int ssm_stream_mem_writer(ssm_stream *out)
{
	struct mem_writer *mw;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	mw = calloc(1, sizeof(*mw));
	if (!mw)
		return SSM_ERR_NOMEM;
	out->ops = &mem_writer_ops;
	out->user = mw;
	return SSM_OK;
}

int ssm_stream_mem_sink(ssm_stream *out, void **buf, size_t *len)
{
	struct mem_writer *mw;
	int rc;

	if (!buf || !len)
		return SSM_ERR_INVALID_ARG;
	rc = ssm_stream_mem_writer(out);
	if (rc)
		return rc;
	mw = out->user;
	mw->sink = buf;
	mw->sink_len = len;
	*buf = NULL;
	*len = 0;
	return SSM_OK;
}

int ssm_stream_mem_take(ssm_stream *st, void **buf, size_t *len)
{
	struct mem_writer *mw;

	if (!st || !buf || !len || st->ops != &mem_writer_ops || !st->user)
		return SSM_ERR_INVALID_ARG;
	mw = st->user;
	*buf = NULL;
	*len = 0;
	/* Handing out a buffer with a failed write in it would hide the loss. */
	if (mw->err)
		return mw->err;
	*buf = mw->buf;
	*len = mw->len;
	mw->buf = NULL;
	mw->cap = 0;
	mw->len = 0;
	mw->pos = 0;
	return SSM_OK;
}

static int mr_write(void *user, const void *buf, size_t n)
{
	(void)user;
	(void)buf;
	(void)n;
	return SSM_ERR_NOT_SUPPORTED;
}

static int mr_read(void *user, void *buf, size_t n, size_t *got)
{
	struct mem_reader *mr = user;
	size_t avail = 0;

	if (mr->pos < mr->len)
		avail = mr->len - (size_t)mr->pos;
	if (n > avail)
		n = avail;
	if (n)
		memcpy(buf, mr->buf + mr->pos, n);
	mr->pos += n;
	*got = n;
	return SSM_OK;
}

static int mr_seek(void *user, uint64_t off)
{
	struct mem_reader *mr = user;

	mr->pos = off;
	return SSM_OK;
}

static int mr_tell(void *user, uint64_t *off)
{
	struct mem_reader *mr = user;

	*off = mr->pos;
	return SSM_OK;
}

static int mr_size(void *user, uint64_t *size)
{
	struct mem_reader *mr = user;

	*size = mr->len;
	return SSM_OK;
}

static int mr_is_ok(void *user)
{
	(void)user;
	return SSM_OK;
}

static int mr_close(void *user, bool ok)
{
	(void)ok;
	free(user);
	return SSM_OK;
}

static const ssm_stream_ops mem_reader_ops = {
	.write = mr_write,
	.read = mr_read,
	.seek = mr_seek,
	.tell = mr_tell,
	.size = mr_size,
	.is_ok = mr_is_ok,
	.close = mr_close,
};

int ssm_stream_mem_reader(ssm_stream *out, const void *buf, size_t len)
{
	struct mem_reader *mr;

	if (!out)
		return SSM_ERR_INVALID_ARG;
	out->ops = NULL;
	out->user = NULL;
	if (!buf && len)
		return SSM_ERR_INVALID_ARG;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return SSM_ERR_NOMEM;
	mr->buf = buf;
	mr->len = len;
	out->ops = &mem_reader_ops;
	out->user = mr;
	return SSM_OK;
}
