/* boot_mb_setup.h - boot a multiboot (v1) kernel: read the modules, load
 * image, modules and information block (boot_multiboot.c) and set the
 * vCPU to the machine state the specification prescribes: 32-bit
 * protected mode, paging off, flat 4 GiB code and data segments, IF=0,
 * EAX = 0x2badb002, EBX = the information block's physical address. */
#ifndef VMM_BOOT_MB_SETUP_H
#define VMM_BOOT_MB_SETUP_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot.h"

/* img (len bytes) is the kernel file at path, already read; its facts are
 * in facts->kernel.  The guest's command line is "path cmdline" (what
 * QEMU and GRUB pass: the first word names the image); each module spec
 * is "FILE[,ARGS]", its string "FILE ARGS".  Fills the rest of facts.
 * Prints one line and returns -1 on failure. */
int boot_mb_setup(struct kvm_vm *vm, const char *path, const uint8_t *img, size_t len,
		  const char *cmdline, const char *const *modules, unsigned nmodules,
		  struct boot_facts *facts);

#endif
