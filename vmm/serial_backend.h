/* serial_backend.h - host side of COM1: where guest output goes and guest
 * input comes from.
 *
 *   stdio      output to stdout, input from stdin; a terminal on stdin is
 *              put in raw mode (Ctrl-C still stops the VMM) and restored on
 *              every exit path, fatal signals included; a background job
 *              leaves the terminal alone and takes no input
 *   stdout, stderr  output there, no input (the state stream of
 *              --save - or --restore - holds the other one)
 *   file:PATH  output to PATH (created or truncated), no input
 *   none       output dropped, no input
 *
 * Output is buffered per VM exit and written with blocking writes, so a
 * slow consumer slows the guest rather than losing bytes.  Not thread-safe:
 * callers hold the VM lock (output) or own the input side (main thread).
 */
#ifndef VMM_SERIAL_BACKEND_H
#define VMM_SERIAL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum serial_backend_kind {
	SERIAL_BACKEND_NONE,
	SERIAL_BACKEND_STDIO,
	SERIAL_BACKEND_FILE,
	/* After FILE: the serial-backend unit stores kinds up to FILE only. */
	SERIAL_BACKEND_STDOUT,
	SERIAL_BACKEND_STDERR,
};

#define SERIAL_BACKEND_BUF 256

struct serial_backend {
	enum serial_backend_kind kind;
	const char *spec;               /* as given to open (caller's string) */
	int in_fd;                      /* -1: no input (or input at EOF) */
	int out_fd;                     /* -1: output dropped */
	bool own_out;                   /* out_fd is ours to close */
	bool out_failed;                /* reported once, then dropped */
	size_t out_len;
	uint8_t out_buf[SERIAL_BACKEND_BUF];
};

/* The kind a state file records: stdout and stderr are stdio consoles
 * without input (the unit's payload predates them). */
uint8_t serial_backend_saved_kind(const struct serial_backend *sb);

/* Check a --serial argument without opening anything; 0 if valid. */
int serial_backend_parse(const char *spec, enum serial_backend_kind *kind,
			 const char **path);
/* A backend with nothing open (what close expects before any open). */
void serial_backend_init(struct serial_backend *sb);
/* Open the backend named by spec (always the user's --serial or the
 * default, never a spec read from a state file); a file is appended to
 * when append is set (a restored VM continues the log it is given) and
 * truncated otherwise.  Prints and returns -1 on failure. */
int serial_backend_open(struct serial_backend *sb, const char *spec, bool append);
/* Flush output, restore the terminal, close what was opened. */
void serial_backend_close(struct serial_backend *sb);

/* Queue one byte of guest output; written when the buffer fills or on
 * serial_backend_flush(). */
void serial_backend_put(struct serial_backend *sb, uint8_t byte);
void serial_backend_flush(struct serial_backend *sb);
/* Drop the queued output unwritten: a saved VM took it along and writes it
 * after its restore. */
void serial_backend_discard(struct serial_backend *sb);

/* fd to poll for input, or -1 when there is none (or it reached EOF). */
int serial_backend_input_fd(const struct serial_backend *sb);
/* Read up to max bytes of input after poll said the fd is readable.
 * Returns the count; -2 if nothing is there after all; 0 at end of input
 * and -1 on error (printed), after both of which the fd is dropped. */
ssize_t serial_backend_read(struct serial_backend *sb, uint8_t *buf, size_t max);

#endif
