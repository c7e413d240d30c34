/* fake_kvm_test.c - the fake KVM refuses what KVM (or the architecture)
 * refuses and takes what a real vCPU holds; run by `make fuzz` before the
 * harnesses, which are only as good as these checks.  Lenient mode, so a
 * refusal is an EINVAL to look at rather than an abort. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fake_kvm.h"

static int failures;

static void expect(const char *what, int rc, int want_errno)
{
	bool ok = want_errno ? rc < 0 && errno == want_errno : rc >= 0;

	if (!ok) {
		fprintf(stderr, "fake_kvm_test: %s: got %d (%s), want %s\n", what, rc,
			rc < 0 ? strerror(errno) : "ok", want_errno ? strerror(want_errno) : "ok");
		failures++;
	}
}

int main(void)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 64 * sizeof(cpuid->entries[0]));
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + 2 * sizeof(msrs->entries[0]));
	static uint8_t xsave[FAKE_KVM_XSAVE_SIZE];
	struct kvm_sregs s, lm;
	struct kvm_debugregs dbg = { 0 };
	struct kvm_vcpu_events ev = { 0 };
	struct kvm_mp_state mp = { 0 };
	struct kvm_run *run;
	int kvm, vm, cpu;

	setenv("FAKE_KVM_LENIENT", "1", 1);
	kvm = open("/dev/kvm", O_RDWR);
	expect("API version", ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION ? 0 : -1, 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, cpu, 0);
	if (!cpuid || !msrs || kvm < 0 || vm < 0 || cpu < 0 || run == MAP_FAILED) {
		fprintf(stderr, "fake_kvm_test: cannot create the fake VM\n");
		return 1;
	}
	cpuid->nent = 64;
	expect("supported CPUID", ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid), 0);
	expect("set the host's CPUID", ioctl(cpu, KVM_SET_CPUID2, cpuid), 0);

	/* sregs: the long mode the VMM boots into, then one thing wrong. */
	expect("get sregs", ioctl(cpu, KVM_GET_SREGS, &s), 0);
	lm = s;
	lm.cr0 = 0x80050033;
	lm.cr4 = 0x620;
	lm.efer = 0xd01;
	lm.cs.l = 1;
	expect("long mode", ioctl(cpu, KVM_SET_SREGS, &lm), 0);
	s = lm, s.efer = ~0ull;
	expect("EFER all ones", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);
	s = lm, s.cr0 |= 0xc0;
	expect("CR0 bits 6-7", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);
	s = lm, s.efer = 0x400, s.cr0 &= ~0x80000000ull, s.cs.l = 0;
	expect("LMA without LME", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);
	s = lm, s.cr4 |= 1u << 16;
	expect("CR4.FSGSBASE the CPU lacks", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);
	s = lm, s.cr3 = 1ull << 50;
	expect("CR3 beyond MAXPHYADDR", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);
	s = lm, s.ss.dpl = 4;
	expect("SS.DPL 4", ioctl(cpu, KVM_SET_SREGS, &s), EINVAL);

	/* MSRs: an index KVM does not list is refused; a value KVM will not
	 * take stops KVM_SET_MSRS at that entry. */
	msrs->nmsrs = 2;
	msrs->entries[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 12345 };
	msrs->entries[1] = (struct kvm_msr_entry){ .index = 0xc0000082, .data = 1ull << 63 };
	expect("non-canonical LSTAR stops at entry 1",
	       ioctl(cpu, KVM_SET_MSRS, msrs) == 1 ? 0 : -1, 0);
	msrs->entries[1].index = 0xc0000080;
	expect("EFER through the MSR list", ioctl(cpu, KVM_SET_MSRS, msrs), EINVAL);

	xsave[0] = 0x7f, xsave[1] = 3, xsave[24] = 0x80, xsave[25] = 0x1f, xsave[512] = 3;
	expect("XSAVE x87+SSE", ioctl(cpu, KVM_SET_XSAVE, xsave), 0);
	xsave[527] = 0x80;
	expect("XSAVE compacted", ioctl(cpu, KVM_SET_XSAVE, xsave), EINVAL);

	dbg.flags = 1;
	expect("DEBUGREGS flags", ioctl(cpu, KVM_SET_DEBUGREGS, &dbg), EINVAL);
	ev.exception.injected = 1, ev.exception.nr = 2;
	expect("NMI as an exception", ioctl(cpu, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
	mp.mp_state = KVM_MP_STATE_HALTED;
	expect("MP state HALTED without an irqchip", ioctl(cpu, KVM_SET_MP_STATE, &mp), EINVAL);

	/* CPUID: a feature the host lacks; a new table after KVM_RUN. */
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7)
			cpuid->entries[i].ebx |= 1u << 16;     /* AVX512F */
	expect("CPUID with AVX512F", ioctl(cpu, KVM_SET_CPUID2, cpuid), EINVAL);
	run->immediate_exit = 1;
	ioctl(cpu, KVM_RUN, 0);
	expect("CPUID after an immediate-exit KVM_RUN", ioctl(cpu, KVM_SET_CPUID2, cpuid) == -1 &&
	       errno == EINVAL ? 0 : -1, 0);
	run->immediate_exit = 0;
	ioctl(cpu, KVM_RUN, 0);
	cpuid->nent--;
	expect("another CPUID after KVM_RUN", ioctl(cpu, KVM_SET_CPUID2, cpuid), EBUSY);

	free(cpuid);
	free(msrs);
	if (failures)
		return 1;
	printf("fake_kvm_test: the fake KVM's checks hold\n");
	return 0;
}
