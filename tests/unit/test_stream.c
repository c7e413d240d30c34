/* test_stream.c - unit tests of the built-in stream backends. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssm/ssm.h"

/* Bigger than the 64 KiB stream buffers so both buffered and direct paths
 * and their boundaries get exercised. */
#define BIG (300u * 1024u + 17u)

static const size_t chunk_sizes[] = {
	1, 7, 4096, 65535, 65536, 65537, 3, 200000, 12, 131072, 1000,
};
#define N_CHUNKS (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))

/* ---- Helpers ----------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char *pattern(size_t n, uint64_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	uint64_t s = seed * 2654435761u + 1;
	size_t i;

	cr_assert_not_null(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rng_next(&s) >> 24);
	return p;
}

static void make_dir(char *dir)
{
	strcpy(dir, "/tmp/ssm-test-stream-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_dir(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

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

/* Entries in dir; the name of the only/last one goes to name. */
static int dir_entries(const char *dir, char *name, size_t namelen)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (name)
			snprintf(name, namelen, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long sz;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	cr_assert_geq(sz, 0);
	rewind(f);
	buf = malloc((size_t)sz + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void expect_tell(ssm_stream *st, uint64_t want)
{
	uint64_t v;

	cr_assert_eq(st->ops->tell(st->user, &v), SSM_OK);
	cr_assert_eq(v, want, "tell %llu, want %llu", (unsigned long long)v,
		     (unsigned long long)want);
}

static void expect_size(ssm_stream *st, uint64_t want)
{
	uint64_t v;

	cr_assert_eq(st->ops->size(st->user, &v), SSM_OK);
	cr_assert_eq(v, want, "size %llu, want %llu", (unsigned long long)v,
		     (unsigned long long)want);
}

/* PATH holds exactly n bytes equal to want. */
static void expect_file(const char *path, const void *want, size_t n)
{
	size_t len;
	unsigned char *back = slurp(path, &len);

	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(back, want, n), 0, "%s differs", path);
	free(back);
}

/* Write data in the varied chunk sizes, checking tell as we go. */
static void write_chunks(ssm_stream *st, const unsigned char *data, size_t n)
{
	size_t off = 0, i = 0;
	uint64_t pos;

	while (off < n) {
		size_t c = chunk_sizes[i++ % N_CHUNKS];

		if (c > n - off)
			c = n - off;
		cr_assert_eq(st->ops->write(st->user, data + off, c), SSM_OK);
		off += c;
		cr_assert_eq(st->ops->tell(st->user, &pos), SSM_OK);
		cr_assert_eq(pos, off);
	}
}

/* Read n bytes in varied chunks, then check the stream is at its end. */
static void read_chunks(ssm_stream *st, const unsigned char *want, size_t n)
{
	unsigned char *got = malloc(n + 16);
	size_t off = 0, i = 3, g;
	uint64_t pos;

	cr_assert_not_null(got);
	while (off < n) {
		size_t c = chunk_sizes[i++ % N_CHUNKS];

		if (c > n - off)
			c = n - off;
		cr_assert_eq(st->ops->read(st->user, got + off, c, &g), SSM_OK);
		cr_assert_eq(g, c, "short read %zu/%zu at %zu", g, c, off);
		off += c;
	}
	cr_assert_eq(memcmp(got, want, n), 0);
	cr_assert_eq(st->ops->tell(st->user, &pos), SSM_OK);
	cr_assert_eq(pos, n);
	/* At the end: fewer bytes than asked, and still no error. */
	cr_assert_eq(st->ops->read(st->user, got, 16, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st->ops->is_ok(st->user), SSM_OK);
	free(got);
}

/* Random seeks (within the written size) and writes of random lengths,
 * mirrored into model; returns the final size. */
static size_t random_writes(ssm_stream *st, unsigned char *model, size_t cap,
			    uint64_t seed, int ops)
{
	uint64_t s = seed, pos = 0;
	size_t size = 0;
	int i;

	memset(model, 0, cap);
	for (i = 0; i < ops; i++) {
		uint64_t r = rng_next(&s);
		size_t len;
		unsigned char *data;

		if (r % 3 == 0 && size) {
			pos = rng_next(&s) % (size + 1);
			cr_assert_eq(st->ops->seek(st->user, pos), SSM_OK);
		}
		switch ((r >> 8) % 4) {
		case 0: len = rng_next(&s) % 16; break;
		case 1: len = rng_next(&s) % 5000; break;
		case 2: len = rng_next(&s) % 70000; break;
		default: len = rng_next(&s) % 150000; break;
		}
		if (pos + len > cap)
			len = cap - (size_t)pos;
		data = pattern(len, r);
		cr_assert_eq(st->ops->write(st->user, data, len), SSM_OK);
		memcpy(model + pos, data, len);
		free(data);
		pos += len;
		if (pos > size)
			size = (size_t)pos;
		expect_tell(st, pos);
		expect_size(st, size);
	}
	return size;
}

/* ---- File -------------------------------------------------------------- */

/* Per-test scratch directory; the fixture removes it even when an
 * assertion aborts the test body. */
static char tdir[64];

static void tdir_make(void)
{
	make_dir(tdir);
}

static void tdir_remove(void)
{
	rm_dir(tdir);
}

TestSuite(file, .init = tdir_make, .fini = tdir_remove);

Test(file, roundtrip)
{
	char path[128], name[300];
	unsigned char *data = pattern(BIG, 1);
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	write_chunks(&st, data, BIG);
	expect_size(&st, BIG);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);

	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "state.sav");
	expect_file(path, data, BIG);

	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	expect_size(&st, BIG);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);

	free(data);
}

Test(file, discard_leaves_nothing)
{
	char path[128], name[300];
	unsigned char *data = pattern(BIG, 2);
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	/* While writing only the temp file exists, next to PATH. */
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_eq(strncmp(name, "state.sav.tmp-", 14), 0, "temp is %s", name);
	cr_assert_eq(strlen(name), 14 + 6);
	cr_assert_eq(access(path, F_OK), -1);

	cr_assert_eq(ssm_stream_close(&st, false), SSM_OK);
	cr_assert_eq(dir_entries(tdir, NULL, 0), 0);

	/* An existing PATH survives a discarded save untouched. */
	spit(path, "previous", 8);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, false), SSM_OK);
	cr_assert_eq(dir_entries(tdir, NULL, 0), 1);
	expect_file(path, "previous", 8);
	free(data);
}

Test(file, replace_is_atomic)
{
	static const char old[] = "old content that must survive until rename";
	char path[128], name[300];
	unsigned char *data = pattern(BIG, 3);
	struct stat sb;
	ssm_stream st;

	umask(027);
	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	spit(path, old, sizeof(old));

	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	/* Large enough to have reached the disk, yet PATH is untouched. */
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	cr_assert_eq(dir_entries(tdir, NULL, 0), 2);
	expect_file(path, old, sizeof(old));

	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "state.sav");
	expect_file(path, data, BIG);
	/* 0644 filtered by the umask, not mkstemp's 0600. */
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", sb.st_mode & 0777);

	free(data);
}

Test(file, seek_overwrite)
{
	char path[128];
	unsigned char *data = pattern(BIG, 5), *model;
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/s", tdir);
	model = malloc(BIG + 1000);
	cr_assert_not_null(model);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);

	/* Patch inside still-buffered data. */
	cr_assert_eq(st.ops->write(st.user, data, 1000), SSM_OK);
	memcpy(model, data, 1000);
	cr_assert_eq(st.ops->seek(st.user, 10), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "HDR!", 4), SSM_OK);
	memcpy(model + 10, "HDR!", 4);
	expect_tell(&st, 14);
	expect_size(&st, 1000);

	/* Back to the end, then well past the buffer. */
	cr_assert_eq(st.ops->seek(st.user, 1000), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data + 1000, BIG - 1000), SSM_OK);
	memcpy(model + 1000, data + 1000, BIG - 1000);

	/* Patch data that already went to disk, like a unit header. */
	cr_assert_eq(st.ops->seek(st.user, 5), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "xyz", 3), SSM_OK);
	memcpy(model + 5, "xyz", 3);
	cr_assert_eq(st.ops->seek(st.user, 70000), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "patch", 5), SSM_OK);
	memcpy(model + 70000, "patch", 5);

	expect_size(&st, BIG);
	cr_assert_eq(st.ops->seek(st.user, BIG), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "tail", 4), SSM_OK);
	memcpy(model + BIG, "tail", 4);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);

	expect_file(path, model, BIG + 4);
	free(model);
	free(data);
}

Test(file, random_writes_match_model)
{
	const size_t cap = 1u << 20;
	char path[128];
	unsigned char *model = malloc(cap);
	ssm_stream st;
	size_t size;
	uint64_t seed;

	cr_assert_not_null(model);
	snprintf(path, sizeof(path), "%s/r", tdir);
	for (seed = 1; seed <= 4; seed++) {
		cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
		size = random_writes(&st, model, cap, seed * 7919, 200);
		cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
		expect_file(path, model, size);
	}
	free(model);
}

Test(file, random_reads_match_file)
{
	const size_t n = 1u << 20;
	char path[128];
	unsigned char *data = pattern(n, 6), *got = malloc(n);
	uint64_t s = 42, off, v;
	ssm_stream st;
	size_t len, g;
	int i;

	cr_assert_not_null(got);
	snprintf(path, sizeof(path), "%s/r", tdir);
	spit(path, data, n);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	for (i = 0; i < 400; i++) {
		off = rng_next(&s) % (n + 100);
		len = (size_t)(rng_next(&s) % ((i & 1) ? 300 : 200000));
		cr_assert_eq(st.ops->seek(st.user, off), SSM_OK);
		cr_assert_eq(st.ops->read(st.user, got, len, &g), SSM_OK);
		if (off >= n)
			cr_assert_eq(g, 0);
		else
			cr_assert_eq(g, off + len > n ? n - off : len);
		cr_assert_eq(memcmp(got, data + (off < n ? off : n), g), 0,
			     "read %zu at %llu", len, (unsigned long long)off);
		expect_tell(&st, off + g);
		/* A short hop backwards stays within the buffer. */
		if (g > 10) {
			v = off + g - 10;
			cr_assert_eq(st.ops->seek(st.user, v), SSM_OK);
			cr_assert_eq(st.ops->read(st.user, got, 10, &g), SSM_OK);
			cr_assert_eq(g, 10);
			cr_assert_eq(memcmp(got, data + v, 10), 0);
		}
	}
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	free(got);
	free(data);
}

/* RLIMIT_FSIZE makes the kernel refuse writes past a size, standing in
 * for a full disk on the temp file (each test runs in its own process). */
static void limit_file_size(rlim_t max)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

Test(file, write_failure_is_sticky_and_discards)
{
	static const char old[] = "old";
	char path[128], name[300];
	unsigned char *data = pattern(BIG, 13);
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	spit(path, old, sizeof(old));
	limit_file_size(100000);

	/* Direct (unbuffered) write hits the limit. */
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_ERR_IO);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_IO);
	cr_assert_eq(st.ops->write(st.user, data, 1), SSM_ERR_IO);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_IO);
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "state.sav");

	/* Buffered data only fails at the final flush in close(ok). */
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, 60000), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, 60000), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_IO);
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);

	/* A failed flush of buffered data poisons the stream too. */
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, 60000), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, 60000), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, 60000), SSM_ERR_IO);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_IO);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_IO);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_IO);
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);

	expect_file(path, old, sizeof(old));
	free(data);
}

Test(file, errors)
{
	char path[128];
	unsigned char b[4];
	ssm_stream st;
	size_t g;

	snprintf(path, sizeof(path), "%s/missing", tdir);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_ERR_IO);
	cr_assert_null(st.ops);
	cr_assert_eq(ssm_stream_file_open(&st, tdir), SSM_ERR_IO);
	snprintf(path, sizeof(path), "%s/nodir/x", tdir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_ERR_IO);
	cr_assert_null(st.ops);
	cr_assert_eq(ssm_stream_file_create(NULL, path), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_file_create(&st, NULL), SSM_ERR_INVALID_ARG);
	cr_assert_eq(dir_entries(tdir, NULL, 0), 0);

	/* Direction mismatch is refused without poisoning the stream. */
	snprintf(path, sizeof(path), "%s/f", tdir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 4, &g), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "abcd", 4), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "x", 1), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->read(st.user, b, 4, &g), SSM_OK);
	cr_assert_eq(g, 4);
	cr_assert_eq(memcmp(b, "abcd", 4), 0);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	/* Closing twice through the same struct is caught, not a double free. */
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_INVALID_ARG);
}

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

/* ---- Memory ------------------------------------------------------------ */

Test(mem, roundtrip)
{
	unsigned char *data = pattern(BIG, 11);
	ssm_stream st;
	void *buf;
	size_t len;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	write_chunks(&st, data, BIG);
	expect_size(&st, BIG);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	cr_assert_eq(len, BIG);
	cr_assert_eq(memcmp(buf, data, BIG), 0);

	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	expect_size(&st, BIG);
	read_chunks(&st, data, BIG);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	free(buf);
	free(data);
}

Test(mem, take_hands_over_and_resets)
{
	ssm_stream st, other;
	void *a, *b;
	size_t alen, blen;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "first", 5), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &a, &alen), SSM_OK);
	cr_assert_eq(alen, 5);

	/* Empty again and still usable; the new data is separate. */
	expect_size(&st, 0);
	expect_tell(&st, 0);
	cr_assert_eq(st.ops->write(st.user, "2nd", 3), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &b, &blen), SSM_OK);
	cr_assert_eq(blen, 3);
	cr_assert_eq(memcmp(b, "2nd", 3), 0);
	cr_assert_neq(a, b);
	cr_assert_eq(memcmp(a, "first", 5), 0);
	free(b);

	cr_assert_eq(ssm_stream_mem_take(&st, &b, &blen), SSM_OK);
	cr_assert_eq(blen, 0);
	free(b);
	/* The stream must not free what it handed out (ASan/valgrind). */
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	free(a);

	/* Only mem writers can be taken from. */
	cr_assert_eq(ssm_stream_mem_reader(&other, "x", 1), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&other, &a, &alen), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_close(&other, true), SSM_OK);
}

#define MEM_JUNK 4096

Test(mem, seek_overwrite)
{
	static const unsigned char want[] = {
		'0', '1', 'A', 'B', 'C', '5', '6', '7', '8', '9',
		0, 0, 0, 0, 0, 'Z',
	};
	ssm_stream st;
	void *buf;
	unsigned char *volatile junk;
	size_t len;

	/* Recycle a dirty block so the writer's buffer likely starts with
	 * garbage rather than fresh zero pages; the gap must be cleared. */
	junk = malloc(MEM_JUNK);
	cr_assert_not_null(junk);
	memset(junk, 0xaa, MEM_JUNK);
	free(junk);
	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "0123456789", 10), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, 2), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "ABC", 3), SSM_OK);
	expect_tell(&st, 5);
	expect_size(&st, 10);
	/* Past the end: the gap reads as zeros, like a file hole. */
	cr_assert_eq(st.ops->seek(st.user, 15), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "Z", 1), SSM_OK);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(len, sizeof(want));
	cr_assert_eq(memcmp(buf, want, len), 0);
	free(buf);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
}

Test(mem, random_writes_match_model)
{
	const size_t cap = 1u << 20;
	unsigned char *model = malloc(cap);
	ssm_stream st;
	void *buf;
	size_t size, len;

	cr_assert_not_null(model);
	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	size = random_writes(&st, model, cap, 12345, 300);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_OK);
	cr_assert_eq(len, size);
	cr_assert_eq(memcmp(buf, model, size), 0);
	free(buf);
	cr_assert_eq(ssm_stream_close(&st, false), SSM_OK);
	free(model);
}

Test(mem, writer_overflow_is_nomem_and_sticky)
{
	ssm_stream st;
	void *buf = (void *)1;
	size_t len = 1;

	cr_assert_eq(ssm_stream_mem_writer(&st), SSM_OK);
	cr_assert_eq(st.ops->seek(st.user, UINT64_MAX - 1), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "abcd", 4), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_ERR_NOMEM);
	cr_assert_eq(st.ops->write(st.user, "a", 1), SSM_ERR_NOMEM);
	cr_assert_eq(ssm_stream_mem_take(&st, &buf, &len), SSM_ERR_NOMEM);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_ERR_NOMEM);
}

Test(mem, reader)
{
	static const char src[] = "abcdefghij";
	unsigned char b[32];
	ssm_stream st;
	size_t g;

	cr_assert_eq(ssm_stream_mem_reader(&st, src, 10), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "x", 1), SSM_ERR_NOT_SUPPORTED);
	cr_assert_eq(st.ops->is_ok(st.user), SSM_OK);
	expect_size(&st, 10);
	cr_assert_eq(st.ops->seek(st.user, 7), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, sizeof(b), &g), SSM_OK);
	cr_assert_eq(g, 3);
	cr_assert_eq(memcmp(b, "hij", 3), 0);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st.ops->seek(st.user, 1000), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(st.ops->seek(st.user, 0), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 4, &g), SSM_OK);
	cr_assert_eq(g, 4);
	cr_assert_eq(memcmp(b, "abcd", 4), 0);
	expect_tell(&st, 4);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);

	cr_assert_eq(ssm_stream_mem_reader(&st, NULL, 1), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_stream_mem_reader(&st, NULL, 0), SSM_OK);
	cr_assert_eq(st.ops->read(st.user, b, 1, &g), SSM_OK);
	cr_assert_eq(g, 0);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
}

/* ssm_save closes its stream; the sink variant is how a caller gets the
 * bytes of a save made to memory. */
static int sink_exec(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, 0xa1b2c3d4);
}

Test(stream_mem, sink_gets_bytes_of_a_save_and_nothing_on_failure)
{
	static const ssm_callbacks cb = { .save_exec = sink_exec };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	void *buf = (void *)1;
	size_t len = 99;
	static const uint8_t le[4] = { 0xd4, 0xc3, 0xb2, 0xa1 };

	cr_assert_eq(ssm_register_external(s, "u", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_null(buf);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK);
	cr_assert_not_null(buf);
	cr_assert_gt(len, 64);
	cr_assert_not_null(memmem(buf, len, le, sizeof(le)));
	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	cr_assert_eq(ssm_validate(st, NULL, 0), SSM_OK);
	free(buf);

	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_eq(st.ops->close(st.user, false), SSM_OK);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	ssm_destroy(s);
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
