/* kvm.c - VM, RAM and vCPU creation. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/irqchip.h"

/* Where KVM may put the 3-page TSS it needs for real mode on Intel hosts:
 * just below 4 GiB, in the hole of the memory map, so it never overlaps RAM. */
#define KVM_TSS_ADDR 0xfffbd000ul
_Static_assert(KVM_TSS_ADDR >= MEMMAP_LOW_END && KVM_TSS_ADDR + 3 * 4096 <= MEMMAP_HIGH_BASE,
	       "KVM's TSS lies in the hole below 4 GiB");
/* Each slot's part of a dirty bitmap starts on a whole 64-bit word. */
_Static_assert(MEMMAP_LOW_END % (64ull * KVM_PAGE_SIZE) == 0,
	       "the high region starts on a bitmap word");

static int check_cap(struct kvm_vm *vm, long cap, const char *name)
{
	if (ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, cap) <= 0) {
		fprintf(stderr, "vmm: /dev/kvm lacks %s\n", name);
		return -1;
	}
	return 0;
}

/* Fill vm->supported: the host decides how many leaves there are; grow
 * until they fit. */
static int get_supported_cpuid(struct kvm_vm *vm)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned n = 64;

	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c) {
			fprintf(stderr, "vmm: out of memory for CPUID\n");
			return -1;
		}
		c->nent = n;
		if (ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		if (errno != E2BIG || n >= 4096) {
			fprintf(stderr, "vmm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
			free(c);
			return -1;
		}
		n *= 2;
	}
	vm->supported = c;
	return 0;
}

int kvm_get_msr(struct kvm_vm *vm, uint32_t index, uint64_t *value)
{
	/* A one-entry kvm_msrs; its entry array is flexible. */
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *one = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	one->nmsrs = 1;
	one->entries[0].index = index;
	if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, one) != 1)
		return -1;
	*value = one->entries[0].data;
	return 0;
}

/* The MSRs the cpu unit saves: every MSR of KVM_GET_MSR_INDEX_LIST this
 * vCPU (with its CPUID) reads, so a save reads all of them or fails. */
static int probe_msrs(struct kvm_vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint32_t *keep;
	uint64_t v;
	int rc = 0;

	/* An empty list answers E2BIG with the real count. */
	if (ioctl(vm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG)
		probe.nmsrs = 0;
	list = calloc(1, sizeof(*list) + (probe.nmsrs + 1) * sizeof(uint32_t));
	keep = calloc(probe.nmsrs + 1, sizeof(uint32_t));
	if (!list || !keep) {
		rc = -ENOMEM;
		goto out;
	}
	list->nmsrs = probe.nmsrs;
	if (probe.nmsrs && ioctl(vm->sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		rc = -errno;
		goto out;
	}
	free(vm->msrs);
	vm->msrs = keep;
	vm->nmsrs = 0;
	for (uint32_t i = 0; i < list->nmsrs && i < probe.nmsrs; i++)
		if (kvm_get_msr(vm, list->indices[i], &v) == 0)
			keep[vm->nmsrs++] = list->indices[i];
	keep = NULL;
out:
	free(list);
	free(keep);
	return rc;
}

int kvm_set_cpuid(struct kvm_vm *vm, const struct kvm_cpuid_entry2 *e, uint32_t n)
{
	size_t size = sizeof(struct kvm_cpuid2) + n * sizeof(*e);
	struct kvm_cpuid2 *c = calloc(1, size);

	if (!c)
		return -ENOMEM;
	c->nent = n;
	memcpy(c->entries, e, n * sizeof(*e));
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		int err = -errno;

		free(c);
		return err;
	}
	free(vm->cpuid);
	vm->cpuid = c;
	return probe_msrs(vm);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25        /* Linux 6.1; older kernels refuse it */
#endif

void kvm_ram_collapse(struct kvm_vm *vm)
{
	/* Fails for ranges that were never touched: nothing to rebuild. */
	if (vm->ram)
		(void)madvise(vm->ram, vm->ram_size, MADV_COLLAPSE);
}

uint32_t kvm_tsc_khz(struct kvm_vm *vm)
{
	int khz = vm->tsc_khz_known ? ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0) : -1;

	return khz > 0 ? (uint32_t)khz : 0;
}

int kvm_set_tsc_khz(struct kvm_vm *vm, uint32_t khz)
{
	if (!vm->tsc_scale)
		return -ENOTSUP;
	return ioctl(vm->vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0 ? -errno : 0;
}

/* The vCPU starts with everything the host supports; a restore replaces it
 * with the saved table (cpu unit). */
static int set_cpuid(struct kvm_vm *vm)
{
	int xs2 = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	int rc;

	vm->xsave_len = xs2 > (int)sizeof(struct kvm_xsave) ? (uint32_t)xs2 :
			(uint32_t)sizeof(struct kvm_xsave);
	vm->xsave2 = xs2 > 0;
	vm->tsc_scale = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0;
	vm->tsc_khz_known = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ) > 0;
	if (get_supported_cpuid(vm))
		return -1;
	rc = kvm_set_cpuid(vm, vm->supported->entries, vm->supported->nent);
	if (rc) {
		fprintf(stderr, "vmm: KVM_SET_CPUID2: %s\n", strerror(-rc));
		return -1;
	}
	return 0;
}

/* Slot i is memmap region i, over its part of the one host buffer. */
static int set_slot(struct kvm_vm *vm, unsigned i, uint32_t flags)
{
	const struct mem_region *r = &vm->map.r[i];
	struct kvm_userspace_memory_region region = {
		.slot = i,
		.flags = flags,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)(vm->ram + r->offset),
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fprintf(stderr, "vmm: KVM_SET_USER_MEMORY_REGION (slot %u, GPA 0x%llx): %s\n",
			i, (unsigned long long)r->gpa, strerror(errno));
		return -1;
	}
	return 0;
}

/* A slot's share of a whole-buffer dirty bitmap. */
static uint64_t *slot_bitmap(const struct kvm_vm *vm, unsigned i, uint64_t *bitmap)
{
	return bitmap + vm->map.r[i].offset / KVM_PAGE_SIZE / 64;
}

/* Test hook (docs/architecture.md): VMM_NO_MANUAL_PROTECT=1 runs this VM
 * the way a host without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 would, where
 * KVM_GET_DIRTY_LOG clears the log as it reads it, so the tests can show
 * that path loses no page.  Read once, when the VM is created. */
static bool manual_protect_wanted(void)
{
	const char *e = getenv("VMM_NO_MANUAL_PROTECT");

	if (!e || strcmp(e, "1"))
		return true;
	fprintf(stderr, "vmm: VMM_NO_MANUAL_PROTECT=1: dirty log without manual protect "
		"(test hook)\n");
	return false;
}

/* All slots log or none: a slot that fails puts back those already
 * switched. */
int kvm_dirty_log_enable(struct kvm_vm *vm, bool on)
{
	uint32_t flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0;

	for (unsigned i = 0; i < vm->map.n; i++) {
		if (set_slot(vm, i, flags)) {
			while (i--)
				(void)set_slot(vm, i, flags ^ KVM_MEM_LOG_DIRTY_PAGES);
			return -1;
		}
	}
	return 0;
}

int kvm_dirty_log_fetch(struct kvm_vm *vm, uint64_t *bitmap)
{
	for (unsigned i = 0; i < vm->map.n; i++) {
		struct kvm_dirty_log dl = { .slot = i, .dirty_bitmap = slot_bitmap(vm, i, bitmap) };

		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0) {
			fprintf(stderr, "vmm: KVM_GET_DIRTY_LOG (slot %u): %s\n", i,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

int kvm_dirty_log_clear(struct kvm_vm *vm, uint64_t *bitmap)
{
	if (!vm->manual_protect)
		return 0;       /* the fetch already re-protected them */
	for (unsigned i = 0; i < vm->map.n; i++) {
		struct kvm_clear_dirty_log cl = {
			.slot = i,
			.first_page = 0,
			.num_pages = (uint32_t)(vm->map.r[i].size / KVM_PAGE_SIZE),
			.dirty_bitmap = slot_bitmap(vm, i, bitmap),
		};

		if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &cl) < 0) {
			fprintf(stderr, "vmm: KVM_CLEAR_DIRTY_LOG (slot %u): %s\n", i,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

void kvm_vm_init(struct kvm_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->sys_fd = vm->vm_fd = vm->vcpu_fd = -1;
}

int kvm_vm_create(struct kvm_vm *vm, uint64_t ram_size, bool kernel_irqchip)
{
	int version, mmap_size;

	kvm_vm_init(vm);

	vm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0) {
		fprintf(stderr, "vmm: cannot open /dev/kvm: %s\n", strerror(errno));
		goto fail;
	}
	version = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "vmm: KVM API version %d, need %d\n", version, KVM_API_VERSION);
		goto fail;
	}
	if (check_cap(vm, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY") ||
	    check_cap(vm, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"))
		goto fail;

	vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		fprintf(stderr, "vmm: KVM_CREATE_VM: %s\n", strerror(errno));
		goto fail;
	}
	/* With manual protect, reading the dirty log does not re-protect the
	 * pages; the migration clears exactly what it is about to send. */
	vm->manual_protect = manual_protect_wanted() &&
		ioctl(vm->vm_fd, KVM_ENABLE_CAP, &(struct kvm_enable_cap){
			.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } }) == 0;
	/* Only needed for real mode on Intel; some KVM flavours do not
	 * implement it, and this guest never leaves long mode. */
	(void)ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);

	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		fprintf(stderr, "vmm: cannot map %llu bytes of guest RAM: %s\n",
			(unsigned long long)ram_size, strerror(errno));
		goto fail;
	}
	vm->ram_size = ram_size;
	/* Transparent huge pages where the host allows them (a hint: failure
	 * only costs speed).  A point-in-time snapshot forks, and fork copies
	 * one page-table entry per 2 MiB instead of 512 (bgsave.c); reading
	 * untouched RAM, as the zero scan of a save does, maps the huge zero
	 * page, 512 times fewer faults; KVM maps them as huge pages too. */
	(void)madvise(vm->ram, ram_size, MADV_HUGEPAGE);
	memmap_build(&vm->map, ram_size);
	for (unsigned i = 0; i < vm->map.n; i++)
		if (set_slot(vm, i, 0))
			goto fail;

	/* KVM gives a vCPU its LAPIC only if the irqchip exists first. */
	if (kernel_irqchip && irqchip_create(vm->vm_fd))
		goto fail;
	vm->kernel_irqchip = kernel_irqchip;
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		fprintf(stderr, "vmm: KVM_CREATE_VCPU: %s\n", strerror(errno));
		goto fail;
	}
	mmap_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "vmm: KVM_GET_VCPU_MMAP_SIZE: bad size %d\n", mmap_size);
		goto fail;
	}
	vm->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		fprintf(stderr, "vmm: cannot map the vCPU run area: %s\n", strerror(errno));
		goto fail;
	}
	vm->run_size = (size_t)mmap_size;
	if (set_cpuid(vm))
		goto fail;
	return 0;

fail:
	kvm_vm_destroy(vm);
	return -1;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	free(vm->supported);
	free(vm->cpuid);
	free(vm->msrs);
	memset(vm, 0, sizeof(*vm));
	vm->sys_fd = vm->vm_fd = vm->vcpu_fd = -1;
}

static int vcpu_ioctl(struct kvm_vm *vm, unsigned long req, void *arg, const char *name)
{
	if (ioctl(vm->vcpu_fd, req, arg) < 0) {
		fprintf(stderr, "vmm: %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_get_regs(struct kvm_vm *vm, struct kvm_regs *r)
{
	return vcpu_ioctl(vm, KVM_GET_REGS, r, "KVM_GET_REGS");
}

int kvm_set_regs(struct kvm_vm *vm, const struct kvm_regs *r)
{
	return vcpu_ioctl(vm, KVM_SET_REGS, (void *)r, "KVM_SET_REGS");
}

int kvm_get_sregs(struct kvm_vm *vm, struct kvm_sregs *s)
{
	return vcpu_ioctl(vm, KVM_GET_SREGS, s, "KVM_GET_SREGS");
}

int kvm_set_sregs(struct kvm_vm *vm, const struct kvm_sregs *s)
{
	return vcpu_ioctl(vm, KVM_SET_SREGS, (void *)s, "KVM_SET_SREGS");
}

const char *kvm_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN (triple fault)",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "other";
}
