/* bus.h - port I/O bus: maps port ranges to device handlers.
 *
 * Handlers get the offset inside their range, never the absolute port, so
 * a device does not know where the board put it.  Most devices on this
 * board are 8 bits wide, so, like the ISA bus, a 16- or 32-bit access is
 * split into byte accesses at consecutive ports; a device registered with
 * bus_register_wide (fw_cfg's 16-bit selector) gets it whole.  The bus does no locking
 * and knows nothing of threads: the machine calls bus_io() with the VM lock
 * held and its handlers assert that (machine.c, locked()).
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

typedef uint8_t (*bus_read_fn)(void *dev, uint16_t offset);
typedef void (*bus_write_fn)(void *dev, uint16_t offset, uint8_t val);
/* A device whose registers are wider than a byte takes the whole access
 * (size 1, 2 or 4, little-endian in *val; fill it on a read). */
typedef void (*bus_io_fn)(void *dev, uint16_t offset, bool is_write, unsigned size,
			  uint32_t *val);

struct bus_range {
	uint16_t base;
	uint16_t len;
	const char *name;
	void *dev;
	bus_read_fn read;               /* NULL: reads as 0xff */
	bus_write_fn write;             /* NULL: writes are dropped */
	bus_io_fn io;                   /* set: takes whole accesses instead */
};

#define BUS_MAX_RANGES 16

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned count;
};

/* Empty bus. */
void bus_init(struct bus *b);
/* Map [base, base+len) to dev.  Prints and returns -1 if it overlaps an
 * existing range, wraps past 0xffff or the table is full. */
int bus_register(struct bus *b, uint16_t base, uint16_t len, const char *name,
		 void *dev, bus_read_fn read, bus_write_fn write);
/* bus_register for a device that takes each access whole: an access
 * starting in [base, base+len) goes to io once, not split into bytes. */
int bus_register_wide(struct bus *b, uint16_t base, uint16_t len, const char *name,
		      void *dev, bus_io_fn io);
/* One access of size 1, 2 or 4 bytes (little-endian in *val).  Unmapped
 * ports read as 0xff and ignore writes, like an ISA bus with nothing
 * listening. */
void bus_io(struct bus *b, uint16_t port, bool is_write, unsigned size, uint32_t *val);

#endif
