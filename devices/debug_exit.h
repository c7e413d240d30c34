/* debug_exit.h - isa-debug-exit: a guest write ends the VM (pure model).
 *
 * One 8-bit port (the board puts it at 0xf4).  Writing byte v asks the host
 * to end the VM with exit status (v << 1) | 1, as QEMU's isa-debug-exit
 * does, so a guest can report success or failure of a test run; wider
 * writes use their low byte (the other bytes fall on the next ports).
 * Reads return 0xff (nothing to read).  No state: nothing to save.
 */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include <stdint.h>

typedef void (*debug_exit_fn)(void *opaque, int status);

struct debug_exit {
	debug_exit_fn exit_fn;          /* host side: ends the VM */
	void *opaque;
};

/* Set d up; exit_fn(opaque, status) is called for each guest write. */
void debug_exit_init(struct debug_exit *d, debug_exit_fn exit_fn, void *opaque);
/* The exit status a guest write of v asks for: (v << 1) | 1, 1..511; a
 * process exit status keeps its low 8 bits, as with QEMU. */
int debug_exit_status(uint8_t v);
/* Guest write of val at offset 0. */
void debug_exit_write(struct debug_exit *d, uint8_t val);

#endif
