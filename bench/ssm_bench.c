/* ssm_bench.c - throughput and memory benchmark of libssm save and load.
 *
 * Not a test: it prints figures (and PASS/FAIL against the targets), and
 * fails only if a save or load fails or loads back different bytes.
 *
 * One unit holds SIZE bytes (default 1 GiB) of "guest RAM"; its save_exec
 * puts it with ssm_put_mem in CHUNK-sized calls (default 1 MiB) and its
 * load_exec reads it back with ssm_get_mem into a separate, pre-faulted
 * buffer.  Data kinds:
 *   zero    every page zero (memory really allocated and written)
 *   random  pseudo-random pages (splitmix64, generated before timing)
 *   half    alternating 64 KiB runs: random, zero, random, zero, ...
 * Streams: a file (ssm_stream_file_create; the save includes its fsync,
 * rename and directory fsync; the load reads it back while it is still in
 * the page cache) and a memory stream (ssm_stream_mem_sink, the memory
 * writer that hands its bytes over when ssm_save closes it, then
 * ssm_stream_mem_reader over those bytes).  Compression: none and zlib 1.
 *
 * Baselines measured in the same run on the same bytes, run by run between
 * the uncompressed runs of the same stream kind: write() in 1 MiB calls to
 * a file in the same directory, with fsync (as the file stream does on
 * close) and without; memcpy into a pre-faulted buffer and into freshly
 * mapped memory (which the memory stream's buffer is, too).
 *
 * Noise: on a small VM the figures move with other load and with how fast
 * freed memory comes back (free page reporting: page cache and anonymous
 * memory that was handed back to the host faults slowly on first reuse).
 * Each file is deleted and the filesystem synced, untimed, before the
 * next timing; baseline and libssm runs alternate in order (ABBA); the
 * "noise" column shows how far the runs were apart.
 *
 * Extra memory: VmRSS just before ssm_save/ssm_load (buffers allocated and
 * touched, malloc_trim'ed) against the peak during the operation: VmHWM
 * after resetting it through /proc/self/clear_refs, and VmRSS sampled from
 * the progress callback (every 10 %) and every 256 MiB inside save_exec
 * and load_exec.
 *
 * Usage: ssm_bench [--size MiB] [--reps N] [--dir DIR] [--chunk KiB]
 *                  [--budget SECONDS] [--only GLOB]
 * DIR defaults to $SSM_BENCH_DIR, else build/bench-tmp.  --only selects
 * cases by name, DATA/STREAM/ZLIB, as a glob: "random/file/0", "half/mem/?".
 * Timings are the median of N runs (default 3).  The baselines and the
 * uncompressed cases are run interleaved, rep by rep; a zlib case whose
 * first run (save + load) takes longer than the budget (default 5 s) is
 * run once, which keeps the whole benchmark near 1.5 minutes on a 2-core
 * machine (zlib level 1 deflates incompressible data at ~60 MB/s).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssm/ssm.h"

#define MIB (1024.0 * 1024.0)
#define MB 1e6                       /* MB/s figures use 10^6 bytes */
#define HALF_RUN (64u * 1024u)       /* run length of the "half" data */
#define WRITE_CHUNK (1u << 20)       /* plain write() call size */
#define SAMPLE_EVERY (256u << 20)    /* RSS sampling stride inside exec */
#define MAX_REPS 9
#define NOISY_PCT 25.0               /* spread that earns a warning */

/* Targets. */
#define T_FILE_VS_WRITE 0.8          /* uncompressed file save / write+fsync */
#define T_ZERO_MBPS 5000.0           /* zero-page save, MB/s */
#define T_EXTRA_MIB 32.0             /* library extra memory, file cases */

enum kind { K_ZERO, K_RANDOM, K_HALF, K__N };
static const char *const kind_name[K__N] = { "zero", "random", "half" };

enum skind { S_FILE, S_MEM, S__N };
static const char *const stream_name[S__N] = { "file", "mem" };

struct cfg {
	size_t size;
	size_t chunk;
	int reps;
	double budget;
	char dir[512];
	char path[600];   /* the state file */
	char plain[600];  /* the plain write() file */
	const char *only; /* glob over case names */
};

static struct cfg cfg;

/* ---- Small helpers ------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "ssm_bench: %s: %s\n", what, detail);
	exit(1);
}

static void *big_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", strerror(errno));
	return p;
}

/* Remove a file, then commit the filesystem (untimed) so that the journal
 * commit and any discard of the freed blocks (ext4 -o discard) are not
 * charged to the next timed fsync. */
static void remove_file(const char *path)
{
	int fd;

	if (unlink(path) < 0)
		die(path, strerror(errno));
	fd = open(cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		die(cfg.dir, strerror(errno));
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double t[MAX_REPS];

	memcpy(t, v, (size_t)n * sizeof(*v));
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Half the range of v around its median, in percent: how noisy a figure is. */
static double spread(const double *v, int n)
{
	double lo = v[0], hi = v[0], m = median(v, n);

	for (int i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	return m > 0 ? (hi - lo) / 2 / m * 100 : 0;
}

static double fastest(const double *v, int n)
{
	double lo = v[0];

	for (int i = 1; i < n; i++)
		lo = v[i] < lo ? v[i] : lo;
	return lo;
}

static double mbps(size_t bytes, double secs)
{
	return secs > 0 ? (double)bytes / MB / secs : 0;
}

/* ---- Memory accounting ---------------------------------------------------- */

/* kB value of a "Name:" line of /proc/self/status, or -1. */
static long status_kb(const char *name)
{
	char buf[4096];
	size_t nl = strlen(name);
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, nl) && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
	return -1;
}

static struct {
	long base_kb;      /* VmRSS before the operation */
	long peak_kb;      /* highest VmRSS seen during it */
	bool hwm_reset;    /* VmHWM was reset before it */
} mem;

static void mem_sample(void)
{
	long kb = status_kb("VmRSS");

	if (kb > mem.peak_kb)
		mem.peak_kb = kb;
}

static void mem_begin(void)
{
	int fd;

	malloc_trim(0);
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	mem.hwm_reset = fd >= 0 && write(fd, "5", 1) == 1;
	if (fd >= 0)
		close(fd);
	mem.base_kb = status_kb("VmRSS");
	mem.peak_kb = mem.base_kb;
}

/* Peak extra RSS of the operation, MiB. */
static double mem_end(void)
{
	long hwm;

	mem_sample();
	hwm = mem.hwm_reset ? status_kb("VmHWM") : -1;
	if (hwm > mem.peak_kb)
		mem.peak_kb = hwm;
	return (double)(mem.peak_kb - mem.base_kb) / 1024.0;
}

/* Each sample reads /proc (~30 us): every 10 % keeps that near 1 % of
 * even the fastest (zero-page) runs; VmHWM catches what falls in between. */
static void progress_cb(void *user, unsigned pct)
{
	(void)user;
	if (pct % 10 == 0)
		mem_sample();
}

/* ---- The unit ---------------------------------------------------------------- */

struct ram {
	const uint8_t *src;   /* what save_exec puts */
	uint8_t *dst;         /* where load_exec gets it */
	size_t size, chunk;
};

static int ram_save_exec(void *ctx, ssm_handle *h)
{
	struct ram *r = ctx;
	size_t next_sample = SAMPLE_EVERY;

	for (size_t off = 0; off < r->size; off += r->chunk) {
		size_t n = r->size - off < r->chunk ? r->size - off : r->chunk;
		int rc = ssm_put_mem(h, r->src + off, n);

		if (rc)
			return rc;
		if (off + n >= next_sample) {
			mem_sample();
			next_sample += SAMPLE_EVERY;
		}
	}
	return SSM_OK;
}

static int ram_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct ram *r = ctx;
	size_t next_sample = SAMPLE_EVERY;

	(void)version;
	(void)pass;
	for (size_t off = 0; off < r->size; off += r->chunk) {
		size_t n = r->size - off < r->chunk ? r->size - off : r->chunk;
		int rc = ssm_get_mem(h, r->dst + off, n);

		if (rc)
			return rc;
		if (off + n >= next_sample) {
			mem_sample();
			next_sample += SAMPLE_EVERY;
		}
	}
	return SSM_OK;
}

static const ssm_callbacks ram_cb = {
	.save_exec = ram_save_exec,
	.load_exec = ram_load_exec,
};

/* ---- One save + load ----------------------------------------------------------- */

struct result {
	double save_s[MAX_REPS], load_s[MAX_REPS];
	double save_extra, load_extra;    /* MiB, max over runs */
	uint64_t stored;                  /* bytes of the state */
	int reps;
};

static void check(ssm *s, int rc, const char *what)
{
	char msg[800];

	if (rc == SSM_OK)
		return;
	snprintf(msg, sizeof(msg), "%s (%s)", ssm_strerror(rc), ssm_last_error(s));
	die(what, msg);
}

/* One save and load of r through stream kind sk; fills run i of res. */
static void run_once(ssm *s, struct ram *r, enum skind sk, int level, bool verify,
		     struct result *res, int i)
{
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = level, .progress = progress_cb };
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .progress = progress_cb };
	void *mbuf = NULL;
	size_t mlen = 0;
	ssm_stream st;
	double t0, extra;
	struct stat sb;
	int rc;

	if (verify)
		memset(r->dst, 0x5a, r->size);
	if (sk == S_FILE) {
		check(s, ssm_stream_file_create(&st, cfg.path), "ssm_stream_file_create");
	} else {
		check(s, ssm_stream_mem_sink(&st, &mbuf, &mlen), "ssm_stream_mem_sink");
	}

	mem_begin();
	t0 = now();
	rc = ssm_save(s, st, &so);
	res->save_s[i] = now() - t0;
	extra = mem_end();
	check(s, rc, "ssm_save");
	if (sk == S_MEM) {
		/* The output buffer is the stream's, not the library's. */
		extra -= (double)mlen / MIB;
		res->stored = mlen;
	} else {
		if (stat(cfg.path, &sb) < 0)
			die("stat", strerror(errno));
		res->stored = (uint64_t)sb.st_size;
	}
	if (extra > res->save_extra)
		res->save_extra = extra;

	if (sk == S_FILE)
		check(s, ssm_stream_file_open(&st, cfg.path), "ssm_stream_file_open");
	else
		check(s, ssm_stream_mem_reader(&st, mbuf, mlen), "ssm_stream_mem_reader");
	mem_begin();
	t0 = now();
	rc = ssm_load(s, st, &lo);
	res->load_s[i] = now() - t0;
	extra = mem_end();
	check(s, rc, "ssm_load");
	if (extra > res->load_extra)
		res->load_extra = extra;

	if (verify && memcmp(r->src, r->dst, r->size))
		die("verify", "loaded data differs from the saved data");
	if (sk == S_FILE) {
		remove_file(cfg.path);
	} else {
		free(mbuf);
	}
}

/* ---- Baselines ------------------------------------------------------------------ */

struct base {
	double write_fsync_s[MAX_REPS], write_s[MAX_REPS];
	double memcpy_s[MAX_REPS], memcpy_fresh_s[MAX_REPS];
	int file_reps, mem_reps;
};

static double plain_write(const uint8_t *src, size_t n, bool do_fsync)
{
	double t0, t;
	int fd;

	fd = open(cfg.plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(cfg.plain, strerror(errno));
	t0 = now();
	for (size_t off = 0; off < n;) {
		size_t c = n - off < WRITE_CHUNK ? n - off : WRITE_CHUNK;
		ssize_t w = write(fd, src + off, c);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write", strerror(errno));
		off += (size_t)w;
	}
	if (do_fsync && fsync(fd) < 0)
		die("fsync", strerror(errno));
	t = now() - t0;
	/* Untimed: leave no dirty pages to slow down the next measurement. */
	if (!do_fsync && fsync(fd) < 0)
		die("fsync", strerror(errno));
	close(fd);
	remove_file(cfg.plain);
	return t;
}

/* Baselines of stream kind sk, run i: file = write() with and without
 * fsync; mem = memcpy into a pre-faulted buffer and into fresh memory (the
 * memory stream has to fault its buffer in, too). */
static void run_baseline(const uint8_t *src, uint8_t *dst, size_t n, struct base *b,
			 enum skind sk, int i)
{
	uint8_t *fresh;
	double t0;

	if (sk == S_FILE) {
		b->write_fsync_s[i] = plain_write(src, n, true);
		b->write_s[i] = plain_write(src, n, false);
		b->file_reps = i + 1;
		return;
	}
	t0 = now();
	memcpy(dst, src, n);
	b->memcpy_s[i] = now() - t0;
	fresh = big_alloc(n);
	t0 = now();
	memcpy(fresh, src, n);
	b->memcpy_fresh_s[i] = now() - t0;
	/* Look at the copies so they cannot be optimised away. */
	if (dst[n / 2] != src[n / 2] || fresh[n - 1] != src[n - 1])
		die("memcpy", "copy differs");
	munmap(fresh, n);
	b->mem_reps = i + 1;
}

/* ---- Data ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v = splitmix64(&seed);

		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)splitmix64(&seed);
}

static uint8_t *make_data(enum kind k, size_t n)
{
	uint8_t *p = big_alloc(n);

	switch (k) {
	case K_ZERO:
		memset(p, 0, n);   /* really allocated, like guest RAM */
		break;
	case K_RANDOM:
		fill_random(p, n, 0x53534d42ull);
		break;
	default:
		fill_random(p, n, 0x53534d42ull);
		for (size_t off = HALF_RUN; off < n; off += 2 * HALF_RUN)
			memset(p + off, 0, n - off < HALF_RUN ? n - off : HALF_RUN);
		break;
	}
	return p;
}

/* ---- Main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: ssm_bench [--size MiB] [--reps N] [--dir DIR] [--chunk KiB]\n"
		"                 [--budget SECONDS] [--only DATA/STREAM/ZLIB]\n"
		"  --only takes a glob over case names such as random/file/0 or 'zero/*'\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	const char *dir = getenv("SSM_BENCH_DIR");

	cfg.size = (size_t)1024 << 20;
	cfg.chunk = (size_t)1 << 20;
	cfg.reps = 3;
	cfg.budget = 5.0;
	cfg.only = "*";
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--size"))
			cfg.size = (size_t)strtoull(v, NULL, 10) << 20;
		else if (!strcmp(a, "--reps"))
			cfg.reps = atoi(v);
		else if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--chunk"))
			cfg.chunk = (size_t)strtoull(v, NULL, 10) << 10;
		else if (!strcmp(a, "--budget"))
			cfg.budget = strtod(v, NULL);
		else if (!strcmp(a, "--only"))
			cfg.only = v;
		else
			usage();
	}
	if (!cfg.size || !cfg.chunk || cfg.reps < 1 || cfg.reps > MAX_REPS)
		usage();
	if (!dir || !*dir)
		dir = "build/bench-tmp";
	snprintf(cfg.dir, sizeof(cfg.dir), "%s", dir);
	if (mkdir(cfg.dir, 0755) < 0 && errno != EEXIST)
		die(cfg.dir, strerror(errno));
	snprintf(cfg.path, sizeof(cfg.path), "%s/ssm-bench-%ld.sav", cfg.dir, (long)getpid());
	snprintf(cfg.plain, sizeof(cfg.plain), "%s/ssm-bench-%ld.plain", cfg.dir,
		 (long)getpid());
}

static bool selected(int k, int sk, int level)
{
	char name[64];

	snprintf(name, sizeof(name), "%s/%s/%d", kind_name[k], stream_name[sk], level);
	return fnmatch(cfg.only, name, 0) == 0;
}

static const char *fmt_mbps(char *buf, size_t len, size_t n, const double *t, int reps)
{
	if (reps)
		snprintf(buf, len, "%.0f MB/s +-%2.0f%%", mbps(n, median(t, reps)),
			 spread(t, reps));
	else
		snprintf(buf, len, "-");
	return buf;
}

/* The three load averages, for judging how noisy the machine was. */
static const char *loadavg(char *buf)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a, b, c;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, 32, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, 32, "?");
	if (f)
		fclose(f);
	return buf;
}

static const char *pf(bool ok)
{
	return ok ? "PASS" : "FAIL";
}

/* Worst figure of a target over the cases it applies to. */
struct target {
	const char *what;
	bool higher_is_better;
	double limit, worst;
	bool seen;
	char where[64];
};

static bool target_ok(const struct target *t, double v)
{
	return t->higher_is_better ? v >= t->limit : v < t->limit;
}

static void target_note(struct target *t, double v, int k, int sk, int level,
			const char *extra)
{
	if (!t->seen || (t->higher_is_better ? v < t->worst : v > t->worst)) {
		t->worst = v;
		snprintf(t->where, sizeof(t->where), "%s/%s/zlib %d%s", kind_name[k],
			 stream_name[sk], level, extra);
	}
	t->seen = true;
}

static void target_print(const struct target *t, const char *unit, int prec)
{
	if (!t->seen) {
		printf("TARGET %s: not measured (no matching case)\n", t->what);
		return;
	}
	printf("TARGET %s: %s (worst %.*f%s at %s)\n", t->what,
	       pf(target_ok(t, t->worst)), prec, t->worst, unit, t->where);
}

int main(int argc, char **argv)
{
	static struct result res[K__N][S__N][2];
	static struct base base[K__N];
	static bool done[K__N][S__N][2];
	struct target t_ratio = { "uncompressed file save >= 0.80x write()+fsync", true,
				  T_FILE_VS_WRITE, 0, false, "" };
	struct target t_zero = { "zero-page save >= 5000 MB/s (file and mem)", true,
				 T_ZERO_MBPS, 0, false, "" };
	struct target t_extra = { "library extra memory < 32 MiB (file cases)", false,
				  T_EXTRA_MIB, 0, false, "" };
	double t_start = now();
	char load_start[32], load_end[32];
	double worst_noise = 0;
	uint8_t *dst;
	size_t n;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	loadavg(load_start);
	n = cfg.size;
	dst = big_alloc(n);
	memset(dst, 0x5a, n);

	/* Per data kind: the baselines and the uncompressed cases rep by rep,
	 * interleaved, so that a ratio compares runs made seconds apart on
	 * the same disk and page cache state; then the zlib cases. */
	for (int k = 0; k < K__N; k++) {
		bool any = false;
		struct ram r;
		uint8_t *src;
		ssm *s;

		for (int sk = 0; sk < S__N; sk++)
			for (int l = 0; l < 2; l++)
				any |= selected(k, sk, l);
		if (!any)
			continue;
		src = make_data((enum kind)k, n);
		r = (struct ram){ src, dst, n, cfg.chunk };
		s = ssm_create(NULL);
		if (!s)
			die("ssm_create", "out of memory");
		check(s, ssm_register_external(s, "bench-ram", 0, 1, n, NULL, 0, &ram_cb, &r),
		      "ssm_register_external");
		for (int sk = 0; sk < S__N; sk++)
			for (int l = 0; l < 2; l++) {
				res[k][sk][l].save_extra = -1e9;
				res[k][sk][l].load_extra = -1e9;
			}
		/* Untimed warm-up: page cache and freshly (re)used memory are
		 * slow to fault in the first time on this kind of VM. */
		plain_write(src, n, true);
		for (int sk = 0; sk < S__N; sk++) {
			if (!selected(k, sk, 0))
				continue;
			/* Baseline first in even runs, last in odd ones: whatever
			 * the previous step left behind (memory to fault back in,
			 * writeback) is not always charged to the same side. */
			for (int i = 0; i < cfg.reps; i++) {
				if (i % 2 == 0)
					run_baseline(src, dst, n, &base[k], (enum skind)sk, i);
				run_once(s, &r, (enum skind)sk, 0, i == 0, &res[k][sk][0], i);
				res[k][sk][0].reps = i + 1;
				if (i % 2 == 1)
					run_baseline(src, dst, n, &base[k], (enum skind)sk, i);
			}
			done[k][sk][0] = true;
		}
		for (int sk = 0; sk < S__N; sk++) {
			struct result *rs = &res[k][sk][1];

			if (!selected(k, sk, 1))
				continue;
			for (int i = 0; i < cfg.reps; i++) {
				run_once(s, &r, (enum skind)sk, 1, i == 0, rs, i);
				rs->reps = i + 1;
				if (rs->save_s[0] + rs->load_s[0] > cfg.budget)
					break;
			}
			done[k][sk][1] = true;
		}
		ssm_destroy(s);
		munmap(src, n);
		fprintf(stderr, "ssm_bench: %s data done, %.0f s so far\n", kind_name[k],
			now() - t_start);
	}
	munmap(dst, n);

	printf("libssm save/load benchmark: %.0f MiB of unit data per case, ssm_put_mem/"
	       "ssm_get_mem in %zu KiB calls\n", (double)n / MIB, cfg.chunk >> 10);
	printf("  MB/s = 10^6 bytes of unit data per second; median of %d runs (zlib cases: "
	       "1 run if the first\n  save + load took > %.0f s); load average %s at start, "
	       "%s at end\n", cfg.reps, cfg.budget, load_start, loadavg(load_end));
	printf("  data: zero = all-zero pages (allocated and written); random = splitmix64 "
	       "bytes; half = alternating\n        %u KiB runs of random and zero bytes\n",
	       HALF_RUN >> 10);
	printf("  file: %s on the real disk; save time includes the stream's fsync, rename "
	       "and dir fsync;\n        load reads the file back while it is in the page "
	       "cache\n", cfg.dir);
	printf("  mem:  ssm_stream_mem_sink (the growing memory writer that hands its bytes "
	       "over on close),\n        load via ssm_stream_mem_reader over those bytes\n\n");

	printf("Baselines on the same bytes, run by run between the uncompressed runs of "
	       "the same stream kind:\nwrite() in %u KiB calls to a new file in the same "
	       "directory, memcpy into a pre-faulted buffer\nand into freshly mapped memory\n",
	       WRITE_CHUNK >> 10);
	printf("  %-7s %18s %18s %18s %18s\n", "data", "write()+fsync", "write(), no fsync",
	       "memcpy", "memcpy, fresh");
	for (int k = 0; k < K__N; k++) {
		const struct base *b = &base[k];
		char c1[24], c2[24], c3[24], c4[24];

		if (!b->file_reps && !b->mem_reps)
			continue;
		printf("  %-7s %18s %18s %18s %18s\n", kind_name[k],
		       fmt_mbps(c1, sizeof(c1), n, b->write_fsync_s, b->file_reps),
		       fmt_mbps(c2, sizeof(c2), n, b->write_s, b->file_reps),
		       fmt_mbps(c3, sizeof(c3), n, b->memcpy_s, b->mem_reps),
		       fmt_mbps(c4, sizeof(c4), n, b->memcpy_fresh_s, b->mem_reps));
	}

	printf("\nSave and load of one unit through libssm\n");
	printf("  %-6s %-4s %4s %9s %9s %7s %4s %5s  %-29s %-13s %s\n", "data", "strm", "zlib",
	       "save MB/s", "load MB/s", "stored", "runs", "noise", "save / baseline",
	       "extra MiB", "targets");
	printf("  %-6s %-4s %4s %9s %9s %7s %4s %5s  %-29s %-13s\n", "", "", "", "", "", "MiB",
	       "", "save", "", "save / load");
	for (int k = 0; k < K__N; k++) {
		const struct base *b = &base[k];

		for (int sk = 0; sk < S__N; sk++) {
			for (int l = 0; l < 2; l++) {
				const struct result *rs = &res[k][sk][l];
				double save, load, ratio = 0;
				char rbuf[48] = "-", tbuf[96] = "";
				size_t tl = 0;

				if (!done[k][sk][l])
					continue;
				save = mbps(n, median(rs->save_s, rs->reps));
				load = mbps(n, median(rs->load_s, rs->reps));
				if (sk == S_FILE && b->file_reps) {
					ratio = save / mbps(n, median(b->write_fsync_s, b->file_reps));
					snprintf(rbuf, sizeof(rbuf), "%6.3fx w+fsync (best %.2fx)",
						 ratio, fastest(b->write_fsync_s, b->file_reps) /
						 fastest(rs->save_s, rs->reps));
				} else if (sk == S_MEM && b->mem_reps) {
					ratio = save / mbps(n, median(b->memcpy_s, b->mem_reps));
					snprintf(rbuf, sizeof(rbuf), "%6.2fx memcpy (%.2fx fresh)",
						 ratio, save / mbps(n, median(b->memcpy_fresh_s,
									    b->mem_reps)));
				}
				if (sk == S_FILE && l == 0) {
					target_note(&t_ratio, ratio, k, sk, l, "");
					tl += (size_t)snprintf(tbuf + tl, sizeof(tbuf) - tl,
							       "vs-write %s ",
							       pf(ratio >= T_FILE_VS_WRITE));
				}
				if (k == K_ZERO) {
					target_note(&t_zero, save, k, sk, l, "");
					tl += (size_t)snprintf(tbuf + tl, sizeof(tbuf) - tl,
							       "zero %s ", pf(save >= T_ZERO_MBPS));
				}
				if (sk == S_FILE) {
					bool sv = rs->save_extra >= rs->load_extra;
					double e = sv ? rs->save_extra : rs->load_extra;

					target_note(&t_extra, e, k, sk, l, sv ? ", save" : ", load");
					snprintf(tbuf + tl, sizeof(tbuf) - tl, "mem %s",
						 pf(e < T_EXTRA_MIB));
				}
				printf("  %-6s %-4s %4d %9.0f %9.0f %7.1f %4d %4.0f%%  %-29s %5.1f / %5.1f "
				       "%s\n", kind_name[k], stream_name[sk], l, save, load,
				       (double)rs->stored / MIB, rs->reps,
				       spread(rs->save_s, rs->reps), rbuf, rs->save_extra,
				       rs->load_extra, tbuf);
			}
		}
	}
	printf("  noise (and +- above): half the range of the times in %% of their median "
	       "(0 with 1 run)\n");
	printf("  save / baseline: file = save MB/s / write()+fsync MB/s, medians (best: fastest "
	       "save / fastest\n    write()+fsync, less sensitive to interference); mem = save "
	       "MB/s / memcpy MB/s (fresh:\n    / memcpy into fresh memory)\n");
	printf("  extra MiB: peak RSS during ssm_save/ssm_load minus RSS just before it "
	       "(VmHWM and sampled VmRSS);\n    for mem the stream's own output buffer is "
	       "subtracted\n");
	printf("  targets: vs-write = file save >= %.2fx write()+fsync (uncompressed); "
	       "zero = save >= %.0f MB/s;\n    mem = extra memory < %.0f MiB (file cases)\n",
	       T_FILE_VS_WRITE, T_ZERO_MBPS, T_EXTRA_MIB);
	printf("\nTotal time %.1f s\n", now() - t_start);
	/* The vs-write target compares two noisy disk timings: say so when
	 * either side moved a lot between runs. */
	for (int k = 0; k < K__N; k++) {
		const struct base *b = &base[k];
		const struct result *rs = &res[k][S_FILE][0];

		double sb = b->file_reps ? spread(b->write_fsync_s, b->file_reps) : 0;
		double ss = done[k][S_FILE][0] ? spread(rs->save_s, rs->reps) : 0;

		worst_noise = sb > worst_noise ? sb : worst_noise;
		worst_noise = ss > worst_noise ? ss : worst_noise;
	}
	if (worst_noise > NOISY_PCT)
		printf("NOTE: noisy run: write()+fsync or file save times spread up to +-%.0f%% "
		       "(load average %s);\n      the vs-write ratio may be off: rerun on an idle "
		       "machine or with --reps 5\n", worst_noise, load_end);
	target_print(&t_ratio, "x", 3);
	target_print(&t_zero, " MB/s", 0);
	target_print(&t_extra, " MiB", 1);
	return 0;
}
