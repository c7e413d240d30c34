/* serial_backend.c - COM1 host backends and terminal raw mode. */
#include "vmm/serial_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The saved terminal state is process-global on purpose: the atexit and
 * fatal-signal handlers that restore it cannot be handed a context. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;

static void tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = 0;
	}
}

static void fatal_signal(int sig)
{
	/* tcsetattr is async-signal-safe; then die the way we would have. */
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int tty_make_raw(void)
{
	/* Signals that kill without running exit handlers.  The stop signals
	 * (SIGINT, SIGTERM, ...) are the main loop's, read from a signalfd. */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
				     SIGTRAP, SIGSYS };
	static bool hooked;
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0) {
		fprintf(stderr, "vmm: serial: cannot read terminal settings: %s\n",
			strerror(errno));
		return -1;
	}
	if (!hooked) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fatal_signal;
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
		atexit(tty_restore);
		hooked = true;
	}
	t = saved_tty;
	/* Raw input so every key reaches the guest, but ISIG stays on so
	 * Ctrl-C stops the VMM, and output post-processing stays on so the
	 * guest's "\n" starts a new line. */
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
				 ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tty_raw = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0) {
		tty_raw = 0;
		fprintf(stderr, "vmm: serial: cannot set raw mode: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int serial_backend_parse(const char *spec, enum serial_backend_kind *kind,
			 const char **path)
{
	*path = NULL;
	if (!strcmp(spec, "stdio")) {
		*kind = SERIAL_BACKEND_STDIO;
	} else if (!strcmp(spec, "stdout")) {
		*kind = SERIAL_BACKEND_STDOUT;
	} else if (!strcmp(spec, "stderr")) {
		*kind = SERIAL_BACKEND_STDERR;
	} else if (!strcmp(spec, "none")) {
		*kind = SERIAL_BACKEND_NONE;
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		*kind = SERIAL_BACKEND_FILE;
		*path = spec + 5;
	} else {
		return -1;
	}
	return 0;
}

uint8_t serial_backend_saved_kind(const struct serial_backend *sb)
{
	return sb->kind == SERIAL_BACKEND_STDOUT || sb->kind == SERIAL_BACKEND_STDERR ?
	       SERIAL_BACKEND_STDIO : (uint8_t)sb->kind;
}

void serial_backend_init(struct serial_backend *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->kind = SERIAL_BACKEND_NONE;
	sb->in_fd = sb->out_fd = -1;
}

void serial_backend_discard(struct serial_backend *sb)
{
	sb->out_len = 0;
}

int serial_backend_open(struct serial_backend *sb, const char *spec, bool append)
{
	const char *path;

	memset(sb, 0, sizeof(*sb));
	sb->in_fd = sb->out_fd = -1;
	sb->spec = spec;
	if (serial_backend_parse(spec, &sb->kind, &path)) {
		fprintf(stderr, "vmm: --serial %s: expected stdio, stdout, stderr, file:PATH or "
			"none\n", spec);
		return -1;
	}
	switch (sb->kind) {
	case SERIAL_BACKEND_STDIO:
		sb->in_fd = STDIN_FILENO;
		sb->out_fd = STDOUT_FILENO;
		if (!isatty(STDIN_FILENO))
			break;
		/* In the background, touching the terminal would stop us with
		 * SIGTTOU/SIGTTIN: run output-only instead. */
		if (tcgetpgrp(STDIN_FILENO) != getpgrp()) {
			sb->in_fd = -1;
			break;
		}
		if (tty_make_raw())
			return -1;
		break;
	case SERIAL_BACKEND_STDOUT:
		sb->out_fd = STDOUT_FILENO;
		break;
	case SERIAL_BACKEND_STDERR:
		sb->out_fd = STDERR_FILENO;
		break;
	case SERIAL_BACKEND_FILE:
		/* O_NONBLOCK: a FIFO nobody reads would block open() while
		 * the stop signals are already blocked. */
		sb->out_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
				  (append ? O_APPEND : O_TRUNC), 0644);
		if (sb->out_fd < 0) {
			fprintf(stderr, "vmm: --serial file:%s: %s\n", path, errno == ENXIO ?
				"a FIFO with no reader" : strerror(errno));
			return -1;
		}
		/* Blocking writes from here on: a slow reader slows the guest. */
		if (fcntl(sb->out_fd, F_SETFL, fcntl(sb->out_fd, F_GETFL) & ~O_NONBLOCK) < 0) {
			fprintf(stderr, "vmm: --serial file:%s: %s\n", path, strerror(errno));
			close(sb->out_fd);
			sb->out_fd = -1;
			return -1;
		}
		sb->own_out = true;
		break;
	case SERIAL_BACKEND_NONE:
		break;
	}
	return 0;
}

void serial_backend_close(struct serial_backend *sb)
{
	serial_backend_flush(sb);
	if (sb->kind == SERIAL_BACKEND_STDIO)
		tty_restore();
	if (sb->own_out && sb->out_fd >= 0)
		close(sb->out_fd);
	sb->in_fd = sb->out_fd = -1;
	sb->own_out = false;
}

void serial_backend_flush(struct serial_backend *sb)
{
	size_t done = 0;

	while (done < sb->out_len && sb->out_fd >= 0 && !sb->out_failed) {
		ssize_t n = write(sb->out_fd, sb->out_buf + done, sb->out_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Losing the console must not kill the guest. */
			fprintf(stderr, "vmm: serial output failed, dropping it: %s\n",
				strerror(errno));
			sb->out_failed = true;
			break;
		}
		done += (size_t)n;
	}
	sb->out_len = 0;
}

void serial_backend_put(struct serial_backend *sb, uint8_t byte)
{
	if (sb->out_fd < 0 || sb->out_failed)
		return;
	sb->out_buf[sb->out_len++] = byte;
	if (sb->out_len == sizeof(sb->out_buf))
		serial_backend_flush(sb);
}

int serial_backend_input_fd(const struct serial_backend *sb)
{
	return sb->in_fd;
}

ssize_t serial_backend_read(struct serial_backend *sb, uint8_t *buf, size_t max)
{
	ssize_t n;

	if (sb->in_fd < 0)
		return 0;
	do
		n = read(sb->in_fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	if (n < 0)
		fprintf(stderr, "vmm: serial input failed, ignoring it: %s\n", strerror(errno));
	if (n <= 0)
		sb->in_fd = -1;
	return n < 0 ? -1 : n;
}
