/* bus.h - port I/O bus: maps port ranges to device handlers.
 *
 * Handlers get the offset inside their range, never the absolute port, so
 * a device does not know where the board put it.  The bus does no locking;
 * the caller holds the VM lock around bus_io().
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* size is 1, 2 or 4 bytes.  read returns the value (low size bytes used). */
typedef uint32_t (*bus_read_fn)(void *dev, uint16_t offset, unsigned size);
typedef void (*bus_write_fn)(void *dev, uint16_t offset, unsigned size, uint32_t val);

struct bus_range {
	uint16_t base;
	uint16_t len;
	const char *name;
	void *dev;
	bus_read_fn read;               /* NULL: reads as all ones */
	bus_write_fn write;             /* NULL: writes are dropped */
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
/* One access.  Unmapped ports read as all ones and ignore writes, like an
 * ISA bus with nothing listening; returns false for them so the caller
 * may log. */
bool bus_io(struct bus *b, uint16_t port, bool is_write, unsigned size, uint32_t *val);

#endif
