/* migproxy.c - a TCP proxy on 127.0.0.1 that cuts a vmm migration at one
 * chosen protocol step (tests/e2e/test-migrate-handoff.sh).
 *
 * Usage: migproxy LISTEN_PORT TARGET_PORT MODE [N]
 *
 * Accepts one connection (the source), connects to 127.0.0.1:TARGET_PORT
 * (the destination) and forwards both ways until MODE's step, where it
 * closes both connections without forwarding what triggered it:
 *   pass       never: forward everything
 *   bytes N    after N bytes of the stream (live passes)
 *   final N    inside the Nth unit header of the final pass (pass field
 *              0xFFFFFFFF; docs/format.md), so the final pass is partial
 *   footer     inside the footer: the stream lacks its last bytes
 *   ready      the whole stream went over; the destination's first line
 *              (READY) is not forwarded
 *   go         READY forwarded; the source's next line (GO) is not
 *   running    GO forwarded; the destination's next line (RUNNING) is not
 *   stall-go   like go, but the connections stay open and silent until a
 *              side closes (or 120 s): the timeouts must decide
 * It prints one line on stderr saying where it cut, and exits 0 if the
 * step was reached, 3 if the connection ended first, 1 on errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_PASS, M_BYTES, M_FINAL, M_FOOTER, M_READY, M_GO, M_RUNNING, M_STALL_GO };

static const char unit_magic[8] = { (char)0x89, 'S', 'S', 'M', 'U', 'n', 'i', 't' };
static const char footer_magic[8] = { (char)0x89, 'S', 'S', 'M', 'E', 'n', 'd', '\n' };

/* Finds the cut in the source's stream, chunk by chunk: the last 27 bytes
 * of the previous chunk are kept so a header split across reads is seen. */
struct scan {
	unsigned char buf[27 + 65536];
	size_t carry;              /* bytes of the previous chunk kept in buf */
	uint64_t seen;             /* bytes of the stream before this chunk */
	unsigned finals;           /* final-pass unit headers so far */
};

#define WIN 28                     /* unit header up to its pass field */

/* Feed one chunk; returns how many of its bytes go through before the
 * cut, or -1 if the cut is not in it. */
static long scan_chunk(struct scan *s, const unsigned char *p, size_t n, enum mode mode,
		       unsigned long arg)
{
	const char *magic = mode == M_FINAL ? unit_magic : footer_magic;
	size_t len, i = 0;

	if (mode == M_BYTES) {
		uint64_t before = s->seen;

		s->seen += n;
		return s->seen >= arg ? (long)(arg - before) : -1;
	}
	memcpy(s->buf + s->carry, p, n);
	len = s->carry + n;
	while (i + WIN <= len) {
		unsigned char *q = memchr(s->buf + i, 0x89, len - WIN + 1 - i);

		if (!q)
			break;
		i = (size_t)(q - s->buf);
		if (!memcmp(q, magic, 8) && (mode == M_FOOTER ||
		    (!memcmp(q + 24, "\xff\xff\xff\xff", 4) && ++s->finals == arg)))
			/* Cut before the window's last byte (in this chunk, as
			 * the window ends beyond the carry). */
			return (long)(i + WIN - 1 - s->carry);
		i++;
	}
	s->carry = len < WIN - 1 ? len : WIN - 1;
	memmove(s->buf, s->buf + len - s->carry, s->carry);
	s->seen += n;
	return -1;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const char *names[] = { "pass", "bytes", "final", "footer", "ready", "go",
				       "running", "stall-go" };
	unsigned char buf[65536];
	enum mode mode = M_PASS;
	static struct scan sc;
	unsigned long n = 0;
	uint64_t to_dst = 0, to_src = 0;
	unsigned dst_lines = 0, src_lines_after = 0;
	bool found = false, cut = false, stalled = false;
	time_t stall_end = 0;
	int lfd, src, dst;

	if (argc < 4) {
		fprintf(stderr, "usage: migproxy LISTEN_PORT TARGET_PORT MODE [N]\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(argv[3], names[i])) {
			mode = (enum mode)i;
			found = true;
		}
	if (argc > 4)
		n = strtoul(argv[4], NULL, 10);
	if (!found || ((mode == M_BYTES || mode == M_FINAL) && !n)) {
		fprintf(stderr, "migproxy: bad mode '%s' (or missing N)\n", argv[3]);
		return 1;
	}
	lfd = listen_on(atoi(argv[1]));
	if (lfd < 0) {
		fprintf(stderr, "migproxy: listen on %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	src = accept(lfd, NULL, NULL);
	close(lfd);
	if (src < 0)
		return 1;
	dst = connect_to(atoi(argv[2]));
	if (dst < 0) {
		fprintf(stderr, "migproxy: connect to %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (!cut) {
		struct pollfd p[2] = { { .fd = src, .events = POLLIN },
				       { .fd = dst, .events = POLLIN } };
		ssize_t r;
		size_t fwd;

		if (poll(p, 2, stalled ? 1000 : -1) < 0 && errno != EINTR)
			return 1;
		if (stalled && time(NULL) >= stall_end)
			break;
		if (p[0].revents) {
			r = recv(src, buf, sizeof(buf), 0);
			if (r <= 0)
				break;
			if (stalled)
				continue;       /* swallowed */
			fwd = (size_t)r;
			if (dst_lines >= 1 && (mode == M_GO || mode == M_STALL_GO)) {
				/* GO: held back. */
				fwd = 0;
				cut = mode == M_GO;
				if (!cut) {
					stalled = true;
					stall_end = time(NULL) + 120;
				}
			} else if (dst_lines >= 1) {
				src_lines_after++;
			} else if (mode == M_BYTES || mode == M_FINAL || mode == M_FOOTER) {
				long at = scan_chunk(&sc, buf, (size_t)r, mode, n);

				if (at >= 0) {
					fwd = (size_t)at;
					cut = true;
				}
			}
			if (fwd && !send_all(dst, buf, fwd))
				break;
			to_dst += fwd;
		}
		if (!cut && p[1].revents) {
			r = recv(dst, buf, sizeof(buf), 0);
			if (r <= 0)
				break;
			if (stalled)
				continue;
			if ((mode == M_READY && dst_lines == 0) ||
			    (mode == M_RUNNING && dst_lines >= 1 && src_lines_after)) {
				cut = true;
				break;
			}
			for (ssize_t i = 0; i < r; i++)
				dst_lines += buf[i] == '\n';
			if (!send_all(src, buf, (size_t)r))
				break;
			to_src += (uint64_t)r;
		}
	}
	if (stalled)
		cut = true;
	fprintf(stderr, "migproxy: %s %s%s%s after %llu bytes to the destination and %llu "
		"back\n", cut ? "cut the connection at" : "connection ended before", argv[3],
		argc > 4 ? " " : "", argc > 4 ? argv[4] : "", (unsigned long long)to_dst,
		(unsigned long long)to_src);
	shutdown(src, SHUT_RDWR);
	shutdown(dst, SHUT_RDWR);
	close(src);
	close(dst);
	return cut || mode == M_PASS ? 0 : 3;
}
