/* memmap.h - where guest RAM sits in guest-physical space, free of KVM.
 *
 * As on a PC, RAM does not run through the 1 GiB below 4 GiB (left to
 * devices and KVM's real-mode TSS): a guest of up to MEMMAP_LOW_END bytes
 * has one region at GPA 0; a larger one has MEMMAP_LOW_END bytes at GPA 0
 * and the rest from MEMMAP_HIGH_BASE.  The regions lie back to back in one
 * host buffer: region i starts at host offset r[i].offset, which is also
 * the byte offset the ram unit's page numbers count (a saved page number
 * is an offset into that buffer, not a GPA).
 */
#ifndef VMM_MEMMAP_H
#define VMM_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#define MEMMAP_LOW_END   0xc0000000ull    /* 3 GiB: RAM below the hole */
#define MEMMAP_HIGH_BASE 0x100000000ull   /* 4 GiB: RAM above it */
#define MEMMAP_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;                   /* first guest-physical byte */
	uint64_t size;                  /* bytes */
	uint64_t offset;                /* host buffer offset of gpa */
};

struct memmap {
	unsigned n;                     /* regions used, 1..MEMMAP_MAX_REGIONS */
	struct mem_region r[MEMMAP_MAX_REGIONS];
};

/* The layout of ram_size bytes of RAM (ram_size > 0), regions in GPA order. */
void memmap_build(struct memmap *mm, uint64_t ram_size);
/* The host offset of guest-physical [gpa, gpa + len) when it lies inside
 * one region (len may be 0 at a region's end); false otherwise. */
bool memmap_gpa_offset(const struct memmap *mm, uint64_t gpa, uint64_t len, uint64_t *off);
/* One past the highest guest-physical byte of RAM. */
uint64_t memmap_top(const struct memmap *mm);

#endif
