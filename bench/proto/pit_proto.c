/* pit_proto.c - the measurement behind vmm's choice of point-in-time
 * snapshot method (docs/architecture.md, "Point-in-time snapshots").
 *
 * Not part of `make bench`: build and run by hand,
 *   cc -O2 -pthread -o /tmp/pit_proto bench/proto/pit_proto.c
 *   /tmp/pit_proto MiB FILLED_MiB DIR [thp]
 * It maps MiB of anonymous memory (as kvm.c maps guest RAM), fills
 * FILLED_MiB of it, and for each method measures the pause (what the
 * guest would be stopped for), the time until the copy is durable in DIR,
 * and the cost of a page write made while the copy is written (what a
 * running guest pays), against the same write with nothing going on.
 *   fork: fork(); the child writes the non-zero pages and fsyncs.
 *   uffd: userfaultfd write-protect of the range; a handler thread copies
 *         a page before letting a write through, the writer thread writes
 *         the untouched pages and lifts their protection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096u

static uint8_t *mem;
static size_t size, filled;
static const char *dir;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < PG / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

static int open_out(const char *tag)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/pit_proto.%s", dir, tag);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	unlink(path);
	return fd;
}

/* Write page i (from src) at its offset; zero pages stay holes. */
static void put_page(int fd, const uint8_t *src, size_t i)
{
	if (!is_zero(src) && pwrite(fd, src, PG, (off_t)(i * PG)) != PG) {
		perror("pwrite");
		exit(1);
	}
}

/* A "guest" that rewrites one word per page, walking the filled part,
 * npages writes; returns ns per write. */
static double mutate(size_t npages, size_t *cursor)
{
	uint64_t t0 = now_ns();

	for (size_t k = 0; k < npages; k++) {
		mem[*cursor * PG + 8] ^= 1;
		*cursor = (*cursor + 97) % (filled / PG);
	}
	return (double)(now_ns() - t0) / (double)npages;
}

static double baseline(void)
{
	size_t c = 0;

	return mutate(20000, &c);
}

/* ---- write + fsync of the same non-zero bytes, the floor ---- */
static double plain_write(void)
{
	uint64_t t0 = now_ns();
	int fd = open_out("plain");

	for (size_t i = 0; i < size / PG; i++)
		put_page(fd, mem + i * PG, i);
	fsync(fd);
	close(fd);
	return (double)(now_ns() - t0) / 1e6;
}

/* ---- fork ---- */
static void run_fork(void)
{
	uint64_t t0 = now_ns(), pause_ns, done_ns;
	size_t cursor = 0, writes = 0;
	double ns_sum = 0;
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		int fd = open_out("fork");

		for (size_t i = 0; i < size / PG; i++)
			put_page(fd, mem + i * PG, i);
		fsync(fd);
		_exit(0);
	}
	pause_ns = now_ns() - t0;
	/* Keep writing while the child runs, as the guest would. */
	while (waitpid(pid, &st, WNOHANG) == 0) {
		ns_sum += mutate(2000, &cursor) * 2000;
		writes += 2000;
		usleep(1000);
	}
	done_ns = now_ns() - t0;
	printf("fork: pause %.3f ms, durable %.1f ms, guest write during copy %.0f ns/page "
	       "(%zu writes)\n", (double)pause_ns / 1e6, (double)done_ns / 1e6,
	       writes ? ns_sum / (double)writes : 0.0, writes);
}

/* ---- userfaultfd write protection ---- */
static int uffd;
static uint8_t *copied;            /* per page: 0 untouched, 1 saved */
static uint8_t *side;              /* copies of pages written before saved */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop_handler;
static atomic_ulong faults;

static void unprotect(size_t i)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)(mem + i * PG), .len = PG }, .mode = 0 };

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno != ENOENT) {
		perror("UFFDIO_WRITEPROTECT off");
		exit(1);
	}
}

static void *handler(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_handler)) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;
		size_t i;

		if (poll(&p, 1, 10) <= 0)
			continue;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		i = (size_t)(msg.arg.pagefault.address - (uintptr_t)mem) / PG;
		pthread_mutex_lock(&mu);
		if (!copied[i]) {
			memcpy(side + i * PG, mem + i * PG, PG);
			copied[i] = 2;          /* saved in side */
			unprotect(i);
		}
		pthread_mutex_unlock(&mu);
		atomic_fetch_add(&faults, 1);
	}
	return NULL;
}

static void *writer(void *arg)
{
	int fd = open_out("uffd");

	(void)arg;
	for (size_t i = 0; i < size / PG; i++) {
		pthread_mutex_lock(&mu);
		if (copied[i] == 2) {
			pthread_mutex_unlock(&mu);
			put_page(fd, side + i * PG, i);
			continue;
		}
		/* Still protected: the page holds the frozen contents. */
		put_page(fd, mem + i * PG, i);
		copied[i] = 1;
		unprotect(i);
		pthread_mutex_unlock(&mu);
	}
	fsync(fd);
	close(fd);
	return NULL;
}

static void run_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)mem, .len = size }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)mem, .len = size },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP };
	pthread_t th, tw;
	uint64_t t0, pause_ns, done_ns;
	size_t cursor = 0, writes = 0;
	double ns_sum = 0;
	void *ret;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		printf("uffd: userfaultfd: %s\n", strerror(errno));
		return;
	}
	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		printf("uffd: UFFDIO_API with PAGEFAULT_FLAG_WP: %s\n", strerror(errno));
		return;
	}
	copied = calloc(size / PG, 1);
	side = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	t0 = now_ns();
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
		printf("uffd: UFFDIO_REGISTER WP: %s\n", strerror(errno));
		return;
	}
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
		printf("uffd: UFFDIO_WRITEPROTECT: %s\n", strerror(errno));
		return;
	}
	pause_ns = now_ns() - t0;
	pthread_create(&th, NULL, handler, NULL);
	pthread_create(&tw, NULL, writer, NULL);
	for (;;) {
		if (pthread_tryjoin_np(tw, &ret) == 0)
			break;
		ns_sum += mutate(2000, &cursor) * 2000;
		writes += 2000;
		usleep(1000);
	}
	done_ns = now_ns() - t0;
	atomic_store(&stop_handler, true);
	pthread_join(th, &ret);
	printf("uffd: pause %.3f ms, durable %.1f ms, guest write during copy %.0f ns/page "
	       "(%zu writes, %lu faults)\n", (double)pause_ns / 1e6, (double)done_ns / 1e6,
	       writes ? ns_sum / (double)writes : 0.0, writes, atomic_load(&faults));
	{
		struct uffdio_range r = { .start = (uintptr_t)mem, .len = size };

		ioctl(uffd, UFFDIO_UNREGISTER, &r);
	}
	close(uffd);
	munmap(side, size);
	free(copied);
}

int main(int argc, char **argv)
{
	int thp;

	if (argc < 4) {
		fprintf(stderr, "usage: %s MiB FILLED_MiB DIR [thp]\n", argv[0]);
		return 2;
	}
	size = strtoull(argv[1], NULL, 0) << 20;
	filled = strtoull(argv[2], NULL, 0) << 20;
	dir = argv[3];
	thp = argc > 4 && !strcmp(argv[4], "thp");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (thp)
		madvise(mem, size, MADV_HUGEPAGE);
	for (size_t i = 0; i < filled / 8; i++)
		((uint64_t *)mem)[i] = i * 0x9e3779b97f4a7c15ull | 1;
	printf("%zu MiB, %zu MiB filled%s; page write alone %.0f ns; write+fsync of the "
	       "non-zero pages %.1f ms\n", size >> 20, filled >> 20, thp ? ", THP" : "",
	       baseline(), plain_write());
	run_fork();
	run_uffd();
	return 0;
}
