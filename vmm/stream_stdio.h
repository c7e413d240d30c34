/* stream_stdio.h - the state file "-": a save to stdout, a restore from
 * stdin, through pipes that may stall (ssh, a compressor) without making
 * the VMM deaf to a stop signal. */
#ifndef VMM_STREAM_STDIO_H
#define VMM_STREAM_STDIO_H

#include <stdbool.h>
#include <string.h>

#include "ssm/ssm.h"

/* True if a --save/--restore argument names stdout/stdin ("-"); inline for the
 * command-line checks, which are built without the streams. */
static inline bool stream_stdio_is(const char *path)
{
	return path && !strcmp(path, "-");
}

/* A stream over STDOUT_FILENO (writing) or STDIN_FILENO (reading), not
 * seekable, never closing the fd.  Each wait for the pipe lasts at most
 * 100 ms before it looks for a pending stop signal (SSM_ERR_CANCELLED). */
int stream_stdio_open(ssm_stream *out, bool writing);

#endif
