/* kvm.h - one KVM VM with one vCPU; guest RAM is one host buffer shown
 * to the guest as one or two memory slots (memmap.h: below 3 GiB, and the
 * rest from 4 GiB).
 *
 * Interrupt controllers: by default none in the kernel (every device is
 * emulated in user space and interrupts are injected with KVM_INTERRUPT,
 * see cpu_run.h); with kernel_irqchip KVM's own LAPIC, IOAPIC, PIC pair
 * and PIT (irqchip.h).  Functions that can fail print one line naming
 * what failed and return -1.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/memmap.h"

struct kvm_vm {
	int sys_fd;                     /* /dev/kvm */
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;            /* the vCPU's shared run page(s) */
	size_t run_size;
	uint8_t *ram;                   /* host mapping of guest RAM */
	uint64_t ram_size;
	struct memmap map;              /* region i is KVM slot i over ram */
	bool kernel_irqchip;            /* KVM_CREATE_IRQCHIP + PIT2 done */
	bool manual_protect;            /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on */
	/* What the cpu unit saves and checks against (see kvm_set_cpuid). */
	struct kvm_cpuid2 *supported;   /* KVM_GET_SUPPORTED_CPUID */
	struct kvm_cpuid2 *cpuid;       /* the table given to KVM_SET_CPUID2 */
	uint32_t *msrs;                 /* the host's MSR list, those this vCPU reads */
	uint32_t nmsrs;
	uint32_t xsave_len;             /* KVM_CAP_XSAVE2's size, else 4096 */
	bool xsave2;                    /* KVM_GET_XSAVE2 exists */
	bool tsc_scale;                 /* KVM_CAP_TSC_CONTROL */
	bool tsc_khz_known;             /* KVM_CAP_GET_TSC_KHZ */
};

#define KVM_PAGE_SIZE 4096u

/* The most RAM a guest may have (the CLI's bound, and a state file's):
 * GPAs then end at 65 GiB, within any x86-64 host's physical-address width
 * and one page-directory-pointer table of the boot page tables. */
#define KVM_RAM_MAX (64ull << 30)
#define KVM_RAM_MIN (4ull << 20)

/* A VM with nothing acquired (kvm_vm_destroy does nothing). */
void kvm_vm_init(struct kvm_vm *vm);
/* Create the VM, its RAM (zeroed anonymous memory, not reserved: untouched
 * RAM costs the host nothing; one slot per memmap region) and vCPU 0 with
 * the host's supported CPUID; with kernel_irqchip, KVM's interrupt
 * controllers and PIT first (irqchip_create).  vm is fully set up or, on
 * failure, left with nothing to release. */
int kvm_vm_create(struct kvm_vm *vm, uint64_t ram_size, bool kernel_irqchip);
/* Release everything kvm_vm_create acquired; safe on a zeroed struct. */
void kvm_vm_destroy(struct kvm_vm *vm);

/* Thin checked wrappers around the vCPU state ioctls: they print what
 * failed.  The SSM cpu unit is built on these. */
int kvm_get_regs(struct kvm_vm *vm, struct kvm_regs *r);
int kvm_set_regs(struct kvm_vm *vm, const struct kvm_regs *r);
int kvm_get_sregs(struct kvm_vm *vm, struct kvm_sregs *s);
int kvm_set_sregs(struct kvm_vm *vm, const struct kvm_sregs *s);

/* Rebuild huge pages where guest RAM is mapped by 4 KiB pages (a fork's
 * copy-on-write splits them; bgsave.c); slow (copies), best effort. */
void kvm_ram_collapse(struct kvm_vm *vm);
/* Give the vCPU this CPUID table (before its first KVM_RUN), keep a copy in
 * vm->cpuid and recompute vm->msrs for it.  0 or -errno; prints nothing. */
int kvm_set_cpuid(struct kvm_vm *vm, const struct kvm_cpuid_entry2 *e, uint32_t n);
/* Read one MSR of the vCPU: 0, or -1 if KVM refuses it. */
int kvm_get_msr(struct kvm_vm *vm, uint32_t index, uint64_t *value);
/* The vCPU's TSC frequency in kHz, 0 if KVM cannot tell. */
uint32_t kvm_tsc_khz(struct kvm_vm *vm);
/* Have KVM scale the vCPU's TSC to khz (needs vm->tsc_scale).  0 or -errno. */
int kvm_set_tsc_khz(struct kvm_vm *vm, uint32_t khz);

/* Dirty-page logging of guest RAM (live migration).  enable turns logging
 * on or off for every RAM slot.  fetch fills bitmap (one bit per 4 KiB page
 * of the host buffer, page p at host offset p * 4096, whichever slot holds
 * it; ram_size / 32768 bytes) with the pages written since they were last
 * cleared.  With manual protect (vm->manual_protect) fetch leaves them set
 * and clear re-arms exactly the pages set in bitmap, before they are read;
 * without it fetch itself clears what it returns and clear does nothing, so
 * a caller must keep every bitmap fetch returned until it sent those pages.
 * VMM_NO_MANUAL_PROTECT=1 in the environment forces the second way (a test
 * hook).  -1 on failure (printed).  Called with the VM's RAM layout fixed;
 * any thread. */
int kvm_dirty_log_enable(struct kvm_vm *vm, bool on);
int kvm_dirty_log_fetch(struct kvm_vm *vm, uint64_t *bitmap);
int kvm_dirty_log_clear(struct kvm_vm *vm, uint64_t *bitmap);

/* Human-readable name of a KVM_EXIT_* reason, for error messages. */
const char *kvm_exit_name(uint32_t reason);

#endif
