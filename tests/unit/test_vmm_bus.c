/* test_vmm_bus.c - port I/O dispatch (vmm/bus.c): ranges, offsets, wide
 * accesses split into byte accesses (or passed whole to a wide device),
 * unmapped ports, refused layouts. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"

/* A device with 16 byte registers that logs every access. */
struct dev {
	uint8_t reg[16];
	unsigned reads, writes;
	uint16_t last_off;
};

static uint8_t dev_read(void *opaque, uint16_t off)
{
	struct dev *d = opaque;

	cr_assert_lt(off, sizeof(d->reg), "offset %u outside the range", off);
	d->reads++;
	d->last_off = off;
	return d->reg[off];
}

static void dev_write(void *opaque, uint16_t off, uint8_t val)
{
	struct dev *d = opaque;

	cr_assert_lt(off, sizeof(d->reg), "offset %u outside the range", off);
	d->writes++;
	d->last_off = off;
	d->reg[off] = val;
}

static uint32_t in(struct bus *b, uint16_t port, unsigned size)
{
	uint32_t v = 0xdeadbeef;

	bus_io(b, port, false, size, &v);
	return v;
}

static void out(struct bus *b, uint16_t port, unsigned size, uint32_t v)
{
	bus_io(b, port, true, size, &v);
}

Test(bus, handlers_see_offsets_not_ports)
{
	struct bus b;
	struct dev d = { .reg = { 0x11, 0x22, 0x33 } };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x3f8, 8, "com1", &d, dev_read, dev_write), 0);
	cr_assert_eq(in(&b, 0x3f9, 1), 0x22);
	cr_assert_eq(d.last_off, 1);
	out(&b, 0x3ff, 1, 0xab);
	cr_assert_eq(d.reg[7], 0xab);
	cr_assert_eq(d.last_off, 7);
}

Test(bus, wide_accesses_are_little_endian_byte_accesses)
{
	struct bus b;
	struct dev d = { .reg = { 0x01, 0x02, 0x03, 0x04, 0x05 } };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x40, 8, "dev", &d, dev_read, dev_write), 0);
	cr_assert_eq(in(&b, 0x40, 2), 0x0201);
	cr_assert_eq(in(&b, 0x41, 4), 0x05040302);
	cr_assert_eq(d.reads, 6);
	out(&b, 0x44, 4, 0xa1b2c3d4);
	cr_assert_eq(d.writes, 4);
	cr_assert_eq(d.reg[4], 0xd4);
	cr_assert_eq(d.reg[5], 0xc3);
	cr_assert_eq(d.reg[6], 0xb2);
	cr_assert_eq(d.reg[7], 0xa1);
}

/* A dword read straddling the end of a range: the bytes past it come from
 * whatever is there (here nothing: 0xff). */
Test(bus, unmapped_ports_read_ff_and_drop_writes)
{
	struct bus b;
	struct dev d = { .reg = { [6] = 0x66, [7] = 0x77 } };

	bus_init(&b);
	cr_assert_eq(in(&b, 0x80, 1), 0xff);
	cr_assert_eq(in(&b, 0x80, 4), 0xffffffff);
	out(&b, 0x80, 4, 0);                    /* nothing to crash into */
	cr_assert_eq(bus_register(&b, 0x10, 8, "dev", &d, dev_read, dev_write), 0);
	cr_assert_eq(in(&b, 0x16, 4), 0xffff7766);
	out(&b, 0x17, 2, 0x1234);
	cr_assert_eq(d.reg[7], 0x34);
	cr_assert_eq(d.writes, 1, "the byte past the range went nowhere");
}

Test(bus, access_spanning_two_devices)
{
	struct bus b;
	struct dev a = { .reg = { [0] = 0xaa } }, c = { .reg = { [0] = 0xcc } };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x60, 1, "a", &a, dev_read, dev_write), 0);
	cr_assert_eq(bus_register(&b, 0x61, 1, "c", &c, dev_read, dev_write), 0);
	cr_assert_eq(in(&b, 0x60, 2), 0xccaa);
	out(&b, 0x60, 2, 0x2211);
	cr_assert_eq(a.reg[0], 0x11);
	cr_assert_eq(c.reg[0], 0x22);
}

Test(bus, null_handlers)
{
	struct bus b;
	struct dev d = { 0 };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x501, 1, "poweroff", &d, NULL, dev_write), 0);
	cr_assert_eq(bus_register(&b, 0x502, 1, "ro", &d, dev_read, NULL), 0);
	cr_assert_eq(in(&b, 0x501, 1), 0xff, "no read handler reads as 0xff");
	out(&b, 0x502, 1, 0x5a);
	cr_assert_eq(d.writes, 0, "no write handler drops the write");
	out(&b, 0x501, 1, 0x5a);
	cr_assert_eq(d.reg[0], 0x5a);
}

Test(bus, top_of_the_port_space)
{
	struct bus b;
	struct dev d = { .reg = { [0] = 0x42 } };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0xffff, 1, "top", &d, dev_read, dev_write), 0);
	cr_assert_eq(in(&b, 0xffff, 1), 0x42);
	/* A word at 0xffff wraps to port 0, where nothing is. */
	cr_assert_eq(in(&b, 0xffff, 2), 0xff42);
}

Test(bus, bad_layouts_are_refused, .init = cr_redirect_stderr)
{
	struct bus b;
	struct dev d = { 0 };

	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x20, 2, "pic", &d, dev_read, dev_write), 0);
	cr_assert_eq(bus_register(&b, 0x21, 1, "overlap", &d, dev_read, dev_write), -1);
	cr_assert_eq(bus_register(&b, 0x1f, 2, "overlap-low", &d, dev_read, dev_write), -1);
	cr_assert_eq(bus_register(&b, 0x10, 0x20, "around", &d, dev_read, dev_write), -1);
	cr_assert_eq(bus_register(&b, 0x22, 1, "next", &d, dev_read, dev_write), 0);
	cr_assert_eq(bus_register(&b, 0x30, 0, "empty", &d, dev_read, dev_write), -1);
	cr_assert_eq(bus_register(&b, 0xfff0, 0x11, "wraps", &d, dev_read, dev_write), -1);
	cr_assert_eq(b.count, 2, "refused ranges are not added");
	for (unsigned i = b.count; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&b, (uint16_t)(0x100 + i), 1, "fill", &d,
					  dev_read, dev_write), 0);
	cr_assert_eq(bus_register(&b, 0x200, 1, "full", &d, dev_read, dev_write), -1);
	fflush(stderr);
	cr_assert_stderr_neq_str("", "each refusal prints a line");
}

/* A device that takes accesses whole: logs the last one. */
struct wide {
	uint16_t off;
	bool is_write;
	unsigned size, calls;
	uint32_t val;
};

static void wide_io(void *opaque, uint16_t off, bool is_write, unsigned size, uint32_t *val)
{
	struct wide *w = opaque;

	w->off = off;
	w->is_write = is_write;
	w->size = size;
	w->calls++;
	if (is_write)
		w->val = *val;
	else
		*val = 0x1234;
}

Test(bus, wide_devices_get_the_access_whole, .init = cr_redirect_stderr)
{
	struct bus b;
	struct wide w = { 0 };
	struct dev d = { .reg = { 0x77 } };

	bus_init(&b);
	cr_assert_eq(bus_register_wide(&b, 0x510, 2, "fw-cfg", &w, wide_io), 0);
	cr_assert_eq(bus_register(&b, 0x512, 1, "next", &d, dev_read, dev_write), 0);
	out(&b, 0x510, 2, 0xbeef);
	cr_assert_eq(w.calls, 1, "a 16-bit write was split");
	cr_assert(w.is_write && w.size == 2 && w.off == 0 && w.val == 0xbeef);
	cr_assert_eq(in(&b, 0x511, 1), 0x1234, "the device's value, not 0xff or stale bits");
	cr_assert_eq(w.off, 1);
	cr_assert_eq(w.calls, 2);
	/* Byte-wide neighbours still see byte accesses; overlaps are refused. */
	cr_assert_eq(in(&b, 0x512, 1), 0x77);
	cr_assert_eq(bus_register_wide(&b, 0x511, 1, "overlap", &w, wide_io), -1);
}
