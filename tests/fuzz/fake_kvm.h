/* fake_kvm.h - /dev/kvm emulated in user space, for the fuzz harnesses.
 *
 * fake_kvm.c defines open(), openat() and ioctl(), which take precedence
 * over libc's at link time: opening "/dev/kvm" returns a memfd that
 * stands for the device, and KVM ioctls on the fds it hands out are
 * answered here.  Every other path and fd goes to the kernel unchanged.
 *
 * The SET ioctls apply the checks the real KVM applies (arch/x86/kvm/x86.c)
 * plus the architectural rules KVM leaves to VM entry.  A value that fails
 * them means a loader forwarded something it should have refused: the
 * fake prints what and aborts, which libFuzzer reports as a crash.  With
 * FAKE_KVM_LENIENT=1 in the environment it returns EINVAL like KVM instead.
 * Refusals that are host capability limits, not invalid state (an MSR
 * value KVM will not take, a TSC frequency it cannot scale to, CPUID
 * changed after KVM_RUN), return an error like KVM in both modes.
 *
 * One VM with one vCPU at a time, like the VMM; its in-kernel interrupt
 * controllers are fake_kvm_irqchip.c.  Test code only.
 */
#ifndef TESTS_FUZZ_FAKE_KVM_H
#define TESTS_FUZZ_FAKE_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#define FAKE_KVM_XSAVE_SIZE 4096u       /* KVM_CAP_XSAVE2 */
#define FAKE_KVM_TSC_KHZ 2445404u       /* the host's TSC */
#define FAKE_KVM_MAX_MSRS 64u

/* The vCPU as the fake holds it (fake_kvm_vcpu.c). */
struct fake_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	uint8_t xsave[FAKE_KVM_XSAVE_SIZE];
	uint64_t msr_val[FAKE_KVM_MAX_MSRS];    /* by position in the index list */
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_cpuid_entry2 cpuid[256];
	uint32_t ncpuid;
	uint32_t tsc_khz;
	bool ran;                               /* KVM_RUN entered the guest */
	struct kvm_run *run;                    /* the shared run page */
};

/* A check failed: abort naming ioctl and why (or EINVAL, -1 if lenient). */
int fake_kvm_reject(const char *ioctl_name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* KVM_CAP_EXCEPTION_PAYLOAD was enabled on the VM. */
bool fake_kvm_exception_payload(void);

/* The host's facts: supported CPUID and the MSR index list. */
const struct kvm_cpuid_entry2 *fake_kvm_host_cpuid(uint32_t *n);
const uint32_t *fake_kvm_msr_list(uint32_t *n);

/* vCPU: reset state at creation, and its ioctls (-1 + errno on failure,
 * else the ioctl's result). */
void fake_vcpu_reset(struct fake_vcpu *v);
int fake_vcpu_ioctl(struct fake_vcpu *v, unsigned long req, void *arg);

/* The in-kernel irqchip (fake_kvm_irqchip.c): reset with each new VM;
 * whether KVM_CREATE_IRQCHIP ran; the VM and vCPU ioctls it answers (*done
 * false: not one of them). */
void fake_irqchip_reset(void);
bool fake_irqchip_present(void);
int fake_irqchip_vm_ioctl(unsigned long req, unsigned long arg, bool vcpu_exists, bool *done);
int fake_irqchip_vcpu_ioctl(unsigned long req, void *arg, bool *done);

#endif
