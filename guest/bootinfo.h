/* bootinfo.h - boot-info block the VMM hands to the test kernel.
 *
 * Shared by guest/ and vmm/ so both sides agree on one layout.  The VMM
 * enters the kernel in 64-bit mode with RDI = guest-physical address of this
 * block; all fields are little-endian and the block is 8-byte aligned.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC   0x424d5353u    /* "SSMB" read as a little-endian u32 */
#define BOOTINFO_VERSION 1u

struct bootinfo {
	uint32_t magic;         /* BOOTINFO_MAGIC */
	uint32_t version;       /* BOOTINFO_VERSION */
	uint64_t mem_size;      /* bytes of RAM, identity-mapped from GPA 0 */
	uint64_t cmdline_gpa;   /* command line bytes, not NUL-terminated */
	uint32_t cmdline_len;
	uint32_t reserved;      /* zero; keeps the size a multiple of 8 */
};

_Static_assert(sizeof(struct bootinfo) == 32, "bootinfo layout is ABI");

#endif
