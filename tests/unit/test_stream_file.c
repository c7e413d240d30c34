/* test_stream_file.c - the file stream backend: atomic create/replace via a
 * temp file (anonymous or named, locked, 0600), clean-up of dead writers'
 * temp files, discard, seek and patch, random I/O against a model, errors,
 * refusal of non-regular input. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "ssm/stream_priv.h"
#include "stream_helpers.h"

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

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Does tdir's filesystem give anonymous temp files (O_TMPFILE)? */
static bool has_tmpfile(void)
{
	int fd = open(tdir, O_TMPFILE | O_WRONLY, 0600);

	if (fd < 0)
		return false;
	close(fd);
	return access("/proc/self/fd", X_OK) == 0;
}

/* Entries while a save is being written: none with an anonymous temp
 * file, else exactly one "state.sav.tmp-XXXXXX", which the writer holds
 * locked. */
static void expect_writing_entries(int others)
{
	char name[300];
	int n = dir_entries(tdir, name, sizeof(name));

	if (has_tmpfile()) {
		cr_assert_eq(n, others, "anonymous temp: %d entries, last %s", n, name);
		return;
	}
	cr_assert_eq(n, others + 1);
}

/* After a committed save: the directory holds only state.sav, with data,
 * owner-only (all of guest RAM) whatever the umask lets through. */
static void expect_only_saved(const char *path, const void *data, size_t len)
{
	char name[300];
	struct stat sb;

	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "state.sav");
	expect_file(path, data, len);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
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
	char path[128];
	unsigned char *data = pattern(BIG, 2);
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	/* While writing PATH does not exist yet. */
	expect_writing_entries(0);
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
	char path[128];
	unsigned char *data = pattern(BIG, 3);
	ssm_stream st;

	umask(022);
	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	spit(path, old, sizeof(old));

	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	/* Large enough to have reached the disk, yet PATH is untouched. */
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	expect_writing_entries(1);
	expect_file(path, old, sizeof(old));

	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	expect_only_saved(path, data, BIG);

	free(data);
}

/* Filesystems without O_TMPFILE: a named temp file, locked while it lives,
 * which another writer's clean-up leaves alone. */
Test(file, named_temp_is_locked_and_kept_while_alive)
{
	char path[128], name[300], tmp[400];
	unsigned char *data = pattern(BIG, 4);
	ssm_stream st, st2;
	struct stat sb;
	int fd;

	umask(022);
	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	cr_assert_eq(ssm_stream_file_create_how(&st, path, false), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, data, BIG), SSM_OK);
	cr_assert_eq(dir_entries(tdir, name, sizeof(name)), 1);
	cr_assert_eq(strncmp(name, "state.sav.tmp-", 14), 0, "temp is %s", name);
	cr_assert_eq(strlen(name), 14 + 6);
	snprintf(tmp, sizeof(tmp), "%s/%s", tdir, name);
	cr_assert_eq(stat(tmp, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
	fd = open(tmp, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), -1, "the live writer holds no lock");
	cr_assert_eq(errno, EWOULDBLOCK);
	close(fd);

	/* A second writer for PATH starts (and cleans up) meanwhile. */
	cr_assert_eq(ssm_stream_file_create_how(&st2, path, false), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st2, false), SSM_OK);
	cr_assert_eq(access(tmp, F_OK), 0, "a live writer's temp file was removed");

	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	expect_only_saved(path, data, BIG);
	free(data);
}

/* What killed writers leave (unlocked PATH.tmp-XXXXXX) goes at the next
 * save for PATH; a locked one, other names and other files' temps stay. */
Test(file, next_save_removes_dead_temp_files)
{
	static const char *const keep[] = {
		"state.sav.tmp-Live01", "state.sav.tmp-abc", "state.sav.tmp-abcdefg",
		"state.sav.tmp-ab.def", "other.sav.tmp-Dead01", "state.sav",
	};
	char path[128], p[300];
	ssm_stream st;
	int lfd;

	snprintf(path, sizeof(path), "%s/state.sav", tdir);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tdir, keep[i]);
		spit(p, "x", 1);
	}
	snprintf(p, sizeof(p), "%s/state.sav.tmp-Dead01", tdir);
	spit(p, "dead", 4);
	snprintf(p, sizeof(p), "%s/state.sav.tmp-Dead02", tdir);
	spit(p, "dead", 4);
	snprintf(p, sizeof(p), "%s/state.sav.tmp-Live01", tdir);
	lfd = open(p, O_RDONLY);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(flock(lfd, LOCK_EX), 0);

	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(st.ops->write(st.user, "new", 3), SSM_OK);
	cr_assert_eq(ssm_stream_close(&st, true), SSM_OK);
	close(lfd);

	cr_assert_eq(dir_entries(tdir, NULL, 0), (int)(sizeof(keep) / sizeof(keep[0])));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tdir, keep[i]);
		cr_assert_eq(access(p, F_OK), 0, "%s was removed", keep[i]);
	}
	expect_file(path, "new", 3);
}

/* A FIFO or device has no end to bound reads by: refused at open, which
 * must not block waiting for a FIFO's writer. */
Test(file, reader_refuses_non_regular_without_blocking, .timeout = 10)
{
	char path[128];
	ssm_stream st;

	snprintf(path, sizeof(path), "%s/fifo", tdir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(ssm_stream_file_open(&st, path), SSM_ERR_NOT_SUPPORTED);
	cr_assert_null(st.ops);
	cr_assert_eq(ssm_stream_file_open(&st, "/dev/zero"), SSM_ERR_NOT_SUPPORTED);
	cr_assert_null(st.ops);
}

/* A save over a directory or a FIFO/device would write the whole state
 * and then fail the rename (directory) or replace the node by a regular
 * file (FIFO, device: --save /dev/null as root).  Refused at create,
 * naming the reason in errno, and the node is left as it was. */
static void create_refused(const char *path, int rc, int err, mode_t type)
{
	struct stat sb;
	ssm_stream st;

	errno = 0;
	cr_assert_eq(ssm_stream_file_create(&st, path), rc, "%s", path);
	cr_assert_eq(errno, err, "%s: errno %d", path, errno);
	cr_assert_null(st.ops);
	cr_assert(stat(path, &sb) == 0 && (sb.st_mode & S_IFMT) == type, "%s changed", path);
}

Test(file, writer_refuses_an_existing_non_regular_path)
{
	char path[128], sub[160];

	snprintf(path, sizeof(path), "%s/d", tdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	create_refused(path, SSM_ERR_IO, EISDIR, S_IFDIR);
	snprintf(sub, sizeof(sub), "%s/fifo", path);
	cr_assert_eq(mkfifo(sub, 0600), 0);
	create_refused(sub, SSM_ERR_NOT_SUPPORTED, ENOTSUP, S_IFIFO);
	cr_assert_eq(dir_entries(path, NULL, 0), 1);
	cr_assert_eq(unlink(sub), 0);
	cr_assert_eq(rmdir(path), 0);
	cr_assert_eq(dir_entries(tdir, NULL, 0), 0);
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
