/* cpu_check.h - validation of a saved vCPU state before any of it reaches
 * KVM, by the architecture's rules (Intel SDM vol. 3 ch. 2, 9, 26; AMD APM
 * vol. 2) and by what this host and this VMM support.  Pure functions: no
 * ioctls, no globals.
 *
 * Every check returns 0 when the value is legal, else -1 with why set to
 * one line "field value: reason" (no unit name: the caller adds "cpu: "
 * and the offset).
 */
#ifndef VMM_CPU_CHECK_H
#define VMM_CPU_CHECK_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/cpu_codec.h"

/* Format why (like snprintf) and return -1: the checks' refusal. */
int cpu_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Facts of the host a state is restored on. */
struct cpu_host {
	const struct kvm_cpuid_entry2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
	uint32_t ncpuid;
	const uint32_t *msrs;                   /* MSRs the VMM saves here */
	uint32_t nmsrs;
	uint32_t xsave_len;                     /* bytes of KVM's XSAVE area */
	bool lapic;                             /* KVM's LAPIC (--irqchip kernel) */
};

/* What a vCPU with a given CPUID may hold, derived by cpu_caps_get. */
struct cpu_caps {
	unsigned phys_bits;     /* MAXPHYADDR */
	unsigned virt_bits;     /* linear-address width: 48, or 57 with LA57 */
	uint64_t cr4_ok;        /* CR4 bits the CPUID allows */
	uint64_t efer_ok;       /* EFER bits the CPUID allows */
	uint64_t xcr0_ok;       /* XCR0 bits (CPUID.0xD.0 EDX:EAX), x87 always */
	bool xsave, x2apic, lam;
};

/* The entry for leaf fn, subleaf idx (idx ignored for entries without
 * KVM_CPUID_FLAG_SIGNIFCANT_INDEX), or NULL. */
const struct kvm_cpuid_entry2 *cpu_cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n,
					      uint32_t fn, uint32_t idx);
void cpu_caps_get(const struct kvm_cpuid_entry2 *e, uint32_t n, struct cpu_caps *c);

/* The saved CPUID table is well formed and a subset of the host's: same
 * vendor, no feature bit the host lacks (named), no wider addresses, same
 * XSAVE component layout. */
int cpu_check_cpuid(const struct kvm_cpuid_entry2 *saved, uint32_t n,
		    const struct kvm_cpuid_entry2 *host, uint32_t hn, char *why, size_t len);
/* Control registers, EFER, APIC base, segments, descriptor tables. */
int cpu_check_sregs(const struct kvm_sregs *s, const struct cpu_caps *c, char *why,
		    size_t len);
/* RFLAGS reserved bits, RIP width for the mode in s. */
int cpu_check_regs(const struct kvm_regs *r, const struct kvm_sregs *s,
		   const struct cpu_caps *c, char *why, size_t len);
/* Only XCR0, once, with a legal combination of supported components. */
int cpu_check_xcrs(const struct kvm_xcrs *x, const struct cpu_caps *c, char *why,
		   size_t len);
/* The XSAVE header (XSTATE_BV within xcr0: for KVM's area the components
 * the CPUID allows, not the guest's XCR0; XCOMP_BV 0, reserved bytes 0),
 * MXCSR, and every component present fits in len and host_len bytes at its
 * CPUID.0xD offset. */
int cpu_check_xsave(const uint8_t *area, uint32_t len, uint64_t xcr0,
		    const struct kvm_cpuid_entry2 *cpuid, uint32_t ncpuid, uint32_t host_len,
		    char *why, size_t len_why);
/* Each index is one of allowed[], once; architectural values (EFER, APIC
 * base, PAT, canonical addresses, ...) checked and agreeing with s. */
int cpu_check_msrs(const struct kvm_msr_entry *m, uint32_t n, const uint32_t *allowed,
		   uint32_t nallowed, const struct kvm_sregs *s, const struct cpu_caps *c,
		   char *why, size_t len);
int cpu_check_debugregs(const struct kvm_debugregs *d, char *why, size_t len);
/* Events the VMM can restore, agreeing with the interrupt in s. */
int cpu_check_events(const struct kvm_vcpu_events *e, const struct kvm_sregs *s,
		     char *why, size_t len);
/* Without an in-kernel LAPIC (lapic false) KVM has only RUNNABLE; with it
 * also UNINITIALIZED, INIT_RECEIVED, HALTED and SIPI_RECEIVED. */
int cpu_check_mp_state(uint32_t mp, bool lapic, char *why, size_t len);
int cpu_check_clock(const struct kvm_clock_data *k, char *why, size_t len);

/* TSC frequencies within this many parts per million count as equal; the
 * same tolerance KVM itself uses before it scales (tsc_tolerance_ppm). */
#define CPU_TSC_TOLERANCE_PPM 250u
#define CPU_TSC_KHZ_MIN 1000u           /* 1 MHz */
#define CPU_TSC_KHZ_MAX 100000000u      /* 100 GHz */

enum cpu_tsc_plan {
	CPU_TSC_KEEP,           /* saved frequency unknown, or equal to the host's */
	CPU_TSC_SCALE,          /* differs: have KVM scale to the saved one */
	CPU_TSC_REFUSE,         /* differs and KVM cannot scale (why says so) */
};
/* What to do with a saved TSC frequency (0 = unknown) on a host running
 * at host_khz (0 = unknown). */
enum cpu_tsc_plan cpu_tsc_plan(uint32_t saved_khz, uint32_t host_khz, bool can_scale,
			       char *why, size_t len);

/* Everything above except the TSC plan, in restore order: 0, or -1 with
 * *sec the section at fault and why its reason. */
int cpu_check_snapshot(const struct cpu_snapshot *s, const struct cpu_host *host,
		       enum cpu_section *sec, char *why, size_t len);

#endif
