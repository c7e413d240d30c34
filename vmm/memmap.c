/* memmap.c - the guest-physical RAM layout (see memmap.h). */
#include "vmm/memmap.h"

void memmap_build(struct memmap *mm, uint64_t ram_size)
{
	uint64_t low = ram_size < MEMMAP_LOW_END ? ram_size : MEMMAP_LOW_END;

	mm->r[0] = (struct mem_region){ .gpa = 0, .size = low, .offset = 0 };
	mm->r[1] = (struct mem_region){ .gpa = MEMMAP_HIGH_BASE, .size = ram_size - low,
					.offset = low };
	mm->n = ram_size > low ? 2 : 1;
}

bool memmap_gpa_offset(const struct memmap *mm, uint64_t gpa, uint64_t len, uint64_t *off)
{
	for (unsigned i = 0; i < mm->n; i++) {
		const struct mem_region *r = &mm->r[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa)) {
			*off = r->offset + (gpa - r->gpa);
			return true;
		}
	}
	return false;
}

uint64_t memmap_top(const struct memmap *mm)
{
	const struct mem_region *r = &mm->r[mm->n - 1];

	return r->gpa + r->size;
}
