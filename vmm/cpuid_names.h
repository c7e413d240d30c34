/* cpuid_names.h - the CPUID feature registers a restore compares with the
 * host, and the names of their bits, for messages such as "the host lacks
 * avx2 (CPUID.7.0:EBX bit 5)". */
#ifndef VMM_CPUID_NAMES_H
#define VMM_CPUID_NAMES_H

#include <stdint.h>

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

struct cpuid_feature_reg {
	uint32_t function, index;
	enum cpuid_reg reg;
	uint32_t dynamic;              /* bits KVM derives from vCPU state
					  (OSXSAVE, APIC, OSPKE): not features */
	const char *const *names;      /* 32 names, NULL: unnamed bit */
};

/* Every feature bitmap register; ends with names == NULL && function == 0. */
extern const struct cpuid_feature_reg cpuid_feature_regs[];

/* "eax" .. "edx". */
const char *cpuid_reg_name(enum cpuid_reg r);

#endif
