/* testutil.h - helpers shared by the core unit tests.
 *
 * Every tests/unit/ source file becomes its own binary, so everything here is static
 * inline (an unused helper costs nothing and draws no warning).
 */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <criterion/criterion.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssm/ssm.h"

/* ---- Deterministic pseudo-random data ---------------------------------- */

static inline uint64_t tu_rng(uint64_t *s)
{
	/* xorshift64*; the state must not be 0. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static inline void tu_fill(void *buf, size_t n, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(tu_rng(&s) >> 56);
}

static inline void *tu_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	cr_assert_not_null(p, "out of memory");
	return p;
}

/* ---- Growable byte log ------------------------------------------------- */

struct tu_bytes {
	uint8_t *p;
	size_t len, cap;
};

static inline void tu_bytes_add(struct tu_bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		cr_assert_not_null(b->p, "out of memory");
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline void tu_bytes_free(struct tu_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- Text log of events ("save_exec:a save_done:a ...") --------------- */

struct tu_log {
	char s[16384];
	size_t len;
};

static inline void tu_log_reset(struct tu_log *l)
{
	l->s[0] = 0;
	l->len = 0;
}

static inline void tu_logf(struct tu_log *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void tu_logf(struct tu_log *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len && l->len + 1 < sizeof(l->s))
		l->s[l->len++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(l->s + l->len, sizeof(l->s) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= sizeof(l->s))
		l->len = sizeof(l->s) - 1;
}

/* ---- Capture stream: a memory writer whose bytes survive the close ------ *
 * ssm_save()/ssm_live_end() close the stream they were given; this wrapper
 * takes the memory writer's buffer at close(ok=true) and remembers how the
 * stream was closed.  With seekable=false it has no seek/tell, like a pipe. */

struct tu_cap {
	ssm_stream inner;
	void *buf;
	size_t len;
	int closes;
	bool closed_ok;
};

static inline int tu_cap_write(void *user, const void *buf, size_t n)
{
	struct tu_cap *c = user;

	return c->inner.ops->write(c->inner.user, buf, n);
}

static inline int tu_cap_read(void *user, void *buf, size_t n, size_t *got)
{
	struct tu_cap *c = user;

	return c->inner.ops->read(c->inner.user, buf, n, got);
}

static inline int tu_cap_seek(void *user, uint64_t off)
{
	struct tu_cap *c = user;

	return c->inner.ops->seek(c->inner.user, off);
}

static inline int tu_cap_tell(void *user, uint64_t *off)
{
	struct tu_cap *c = user;

	return c->inner.ops->tell(c->inner.user, off);
}

static inline int tu_cap_size(void *user, uint64_t *size)
{
	struct tu_cap *c = user;

	return c->inner.ops->size(c->inner.user, size);
}

static inline int tu_cap_is_ok(void *user)
{
	struct tu_cap *c = user;

	return c->inner.ops->is_ok(c->inner.user);
}

static inline int tu_cap_close(void *user, bool ok)
{
	struct tu_cap *c = user;
	int rc = SSM_OK;

	c->closes++;
	c->closed_ok = ok;
	if (ok)
		rc = ssm_stream_mem_take(&c->inner, &c->buf, &c->len);
	ssm_stream_close(&c->inner, ok);
	return rc;
}

/* c must stay valid until the operation has closed the stream; free c->buf. */
static inline ssm_stream tu_cap_stream(struct tu_cap *c, bool seekable)
{
	static const ssm_stream_ops seek_ops = {
		.write = tu_cap_write, .read = tu_cap_read, .seek = tu_cap_seek,
		.tell = tu_cap_tell, .size = tu_cap_size, .is_ok = tu_cap_is_ok,
		.close = tu_cap_close,
	};
	static const ssm_stream_ops pipe_ops = {
		.write = tu_cap_write, .is_ok = tu_cap_is_ok, .close = tu_cap_close,
	};
	ssm_stream st;

	memset(c, 0, sizeof(*c));
	cr_assert_eq(ssm_stream_mem_writer(&c->inner), SSM_OK);
	st.ops = seekable ? &seek_ops : &pipe_ops;
	st.user = c;
	return st;
}

/* Save s into memory; *buf (free()) is NULL unless the save succeeded. */
static inline int tu_save(ssm *s, const ssm_save_opts *o, bool seekable, void **buf,
			  size_t *len)
{
	struct tu_cap c;
	int rc = ssm_save(s, tu_cap_stream(&c, seekable), o);

	cr_assert_eq(c.closes, 1, "save closed its stream %d times", c.closes);
	cr_assert_eq(c.closed_ok, rc == SSM_OK, "stream closed ok=%d, save rc %d",
		     c.closed_ok, rc);
	*buf = c.buf;
	*len = c.len;
	return rc;
}

/* ---- Non-seekable memory reader (like a pipe: read and close only) ----- */

static inline int tu_pr_read(void *user, void *buf, size_t n, size_t *got)
{
	ssm_stream *in = user;

	return in->ops->read(in->user, buf, n, got);
}

static inline int tu_pr_close(void *user, bool ok)
{
	ssm_stream *in = user;
	int rc = ssm_stream_close(in, ok);

	free(in);
	return rc;
}

static inline ssm_stream tu_reader(const void *buf, size_t len, bool seekable)
{
	static const ssm_stream_ops pipe_ops = { .read = tu_pr_read, .close = tu_pr_close };
	ssm_stream st, *in;

	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	if (seekable)
		return st;
	in = tu_xmalloc(sizeof(*in));
	*in = st;
	st.ops = &pipe_ops;
	st.user = in;
	return st;
}

static inline int tu_load(ssm *s, const void *buf, size_t len, const ssm_load_opts *o)
{
	return ssm_load(s, tu_reader(buf, len, true), o);
}

static inline int tu_validate(const void *buf, size_t len, char *msg, size_t msglen)
{
	return ssm_validate(tu_reader(buf, len, true), msg, msglen);
}

/* ---- Temporary directories --------------------------------------------- */

static inline void tu_mkdtemp(char dir[64])
{
	snprintf(dir, 64, "/tmp/ssm-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* Number of entries in dir besides . and .. */
static inline int tu_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static inline void tu_rmdir(const char *dir)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static inline void *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	void *buf;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = tu_xmalloc((size_t)n);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#endif /* TESTS_UNIT_TESTUTIL_H */
