/* debug_exit.c - isa-debug-exit model. */
#include "devices/debug_exit.h"

#include <stddef.h>

/* ---- State ---------------------------------------------------------------- */

void debug_exit_init(struct debug_exit *d, debug_exit_fn exit_fn, void *opaque)
{
	d->exit_fn = exit_fn;
	d->opaque = opaque;
}

/* ---- Register logic -------------------------------------------------------- */

int debug_exit_status(uint8_t v)
{
	return ((int)v << 1) | 1;
}

void debug_exit_write(struct debug_exit *d, uint8_t val)
{
	if (d->exit_fn)
		d->exit_fn(d->opaque, debug_exit_status(val));
}
