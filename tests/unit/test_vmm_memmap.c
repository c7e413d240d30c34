/* test_vmm_memmap.c - the guest-physical RAM layout (vmm/memmap.c): one
 * region up to 3 GiB, two around the hole above that, both back to back in
 * the host buffer, and GPA -> buffer offset only inside one region. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "vmm/memmap.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

Test(memmap, small_guest_is_one_region_at_zero)
{
	struct memmap m;

	memmap_build(&m, 256 * MIB);
	cr_assert_eq(m.n, 1);
	cr_assert_eq(m.r[0].gpa, 0);
	cr_assert_eq(m.r[0].size, 256 * MIB);
	cr_assert_eq(m.r[0].offset, 0);
	cr_assert_eq(memmap_top(&m), 256 * MIB);

	memmap_build(&m, 3 * GIB);
	cr_assert_eq(m.n, 1, "exactly 3 GiB still fits below the hole");
	cr_assert_eq(memmap_top(&m), 3 * GIB);
}

Test(memmap, large_guest_splits_around_the_hole)
{
	struct memmap m;

	memmap_build(&m, 16 * GIB);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.r[0].gpa, 0);
	cr_assert_eq(m.r[0].size, MEMMAP_LOW_END);
	cr_assert_eq(m.r[0].offset, 0);
	cr_assert_eq(m.r[1].gpa, MEMMAP_HIGH_BASE);
	cr_assert_eq(m.r[1].size, 13 * GIB);
	cr_assert_eq(m.r[1].offset, MEMMAP_LOW_END, "back to back in the host buffer");
	cr_assert_eq(memmap_top(&m), 17 * GIB);

	memmap_build(&m, 3 * GIB + MIB);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.r[1].size, MIB);
	cr_assert_eq(memmap_top(&m), 4 * GIB + MIB);

	memmap_build(&m, 64 * GIB);
	cr_assert_eq(memmap_top(&m), 65 * GIB);
}

Test(memmap, gpa_offsets)
{
	struct memmap m;
	uint64_t off = 12345;

	memmap_build(&m, 16 * GIB);
	cr_assert(memmap_gpa_offset(&m, 0x100000, 4096, &off));
	cr_assert_eq(off, 0x100000, "identity below the hole");
	cr_assert(memmap_gpa_offset(&m, 4 * GIB + 8192, 4096, &off));
	cr_assert_eq(off, 3 * GIB + 8192, "above the hole: after the low region");
	cr_assert(memmap_gpa_offset(&m, 17 * GIB - 4096, 4096, &off));
	cr_assert_eq(off, 16 * GIB - 4096, "the last page");

	off = 777;
	cr_assert(!memmap_gpa_offset(&m, 3 * GIB + 4096, 1, &off), "in the hole");
	cr_assert(!memmap_gpa_offset(&m, 3 * GIB - 4096, 8192, &off), "running into the hole");
	cr_assert(!memmap_gpa_offset(&m, 4 * GIB - 4096, 8192, &off), "running out of the hole");
	cr_assert(!memmap_gpa_offset(&m, 17 * GIB - 4096, 4097, &off), "past the top");
	cr_assert(!memmap_gpa_offset(&m, 17 * GIB + 4096, 1, &off), "above the top");
	cr_assert(!memmap_gpa_offset(&m, 4096, UINT64_MAX, &off), "a length that wraps");
	cr_assert(!memmap_gpa_offset(&m, UINT64_MAX, 2, &off), "an address that wraps");
	cr_assert_eq(off, 777, "a refusal leaves *off alone");
}
