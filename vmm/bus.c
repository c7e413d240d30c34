/* bus.c - port I/O dispatch. */
#include "vmm/bus.h"

#include <stdio.h>
#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

static int add_range(struct bus *b, const struct bus_range *nr)
{
	uint16_t base = nr->base, len = nr->len;
	const char *name = nr->name;
	unsigned end = (unsigned)base + len;

	if (len == 0 || end > 0x10000) {
		fprintf(stderr, "vmm: bus: %s: bad port range 0x%x+%u\n", name, base, len);
		return -1;
	}
	if (b->count == BUS_MAX_RANGES) {
		fprintf(stderr, "vmm: bus: %s: too many port ranges\n", name);
		return -1;
	}
	for (unsigned i = 0; i < b->count; i++) {
		const struct bus_range *r = &b->ranges[i];

		if (base < r->base + r->len && r->base < end) {
			fprintf(stderr, "vmm: bus: %s at 0x%x+%u overlaps %s at 0x%x+%u\n",
				name, base, len, r->name, r->base, r->len);
			return -1;
		}
	}
	b->ranges[b->count++] = *nr;
	return 0;
}

int bus_register(struct bus *b, uint16_t base, uint16_t len, const char *name,
		 void *dev, bus_read_fn read, bus_write_fn write)
{
	return add_range(b, &(struct bus_range){
		.base = base, .len = len, .name = name, .dev = dev,
		.read = read, .write = write,
	});
}

int bus_register_wide(struct bus *b, uint16_t base, uint16_t len, const char *name,
		      void *dev, bus_io_fn io)
{
	return add_range(b, &(struct bus_range){
		.base = base, .len = len, .name = name, .dev = dev, .io = io,
	});
}

static const struct bus_range *find(const struct bus *b, uint16_t port)
{
	for (unsigned i = 0; i < b->count; i++) {
		const struct bus_range *r = &b->ranges[i];

		if (port >= r->base && (unsigned)(port - r->base) < r->len)
			return r;
	}
	return NULL;
}

void bus_io(struct bus *b, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	const struct bus_range *w = find(b, port);
	uint32_t in = 0;

	if (w && w->io) {
		if (!is_write)
			*val = 0;
		w->io(w->dev, (uint16_t)(port - w->base), is_write, size, val);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);
		const struct bus_range *r = find(b, p);
		uint8_t byte = 0xff;

		if (is_write) {
			if (r && r->write)
				r->write(r->dev, (uint16_t)(p - r->base), (uint8_t)(*val >> (8 * i)));
			continue;
		}
		if (r && r->read)
			byte = r->read(r->dev, (uint16_t)(p - r->base));
		in |= (uint32_t)byte << (8 * i);
	}
	if (!is_write)
		*val = in;
}
