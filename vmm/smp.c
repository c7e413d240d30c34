/* smp.c - APIC IDs in CPUID, cpu instance checks against the vCPU count. */
#include "vmm/smp.h"

#include <stdio.h>
#include <string.h>

/* Leaves whose EDX is the x2APIC ID in every subleaf (extended topology). */
static bool x2apic_leaf(uint32_t fn)
{
	return fn == 0xb || fn == 0x1f;
}

void smp_cpuid_set_apic_id(struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].function == 1)
			e[i].ebx = (e[i].ebx & 0x00ffffffu) | ((id & 0xffu) << 24);
		else if (x2apic_leaf(e[i].function))
			e[i].edx = id;
	}
}

bool smp_cpuid_apic_id_is(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t id,
			  char *why, size_t len)
{
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].function == 1 && e[i].ebx >> 24 != (id & 0xffu)) {
			snprintf(why, len, "leaf 0x1 EBX[31:24] (initial APIC ID) is %u, not "
				 "the vCPU's index %u", e[i].ebx >> 24, id);
			return false;
		}
		if (x2apic_leaf(e[i].function) && e[i].edx != id) {
			snprintf(why, len, "leaf 0x%x subleaf %u EDX (x2APIC ID) is %u, not "
				 "the vCPU's index %u", e[i].function, e[i].index, e[i].edx, id);
			return false;
		}
	}
	return true;
}

void smp_seen_reset(struct smp_seen *s)
{
	memset(s, 0, sizeof(*s));
}

int smp_seen_note(struct smp_seen *s, unsigned ncpus, uint32_t i, char *why, size_t len)
{
	if (i >= ncpus || i >= KVM_VCPUS_MAX) {
		snprintf(why, len, "cpu: instance %u, but the machine has %u vCPU%s "
			 "(instances 0..%u)", i, ncpus, ncpus == 1 ? "" : "s", ncpus - 1);
		return -1;
	}
	if (s->n[i]) {
		snprintf(why, len, "cpu: instance %u appears twice", i);
		return -1;
	}
	s->n[i] = 1;
	return 0;
}

int smp_seen_complete(const struct smp_seen *s, unsigned ncpus, char *why, size_t len)
{
	for (unsigned i = 0; i < ncpus && i < KVM_VCPUS_MAX; i++)
		if (!s->n[i]) {
			snprintf(why, len, "the state holds no 'cpu' unit instance %u, but the "
				 "machine has %u vCPU%s", i, ncpus, ncpus == 1 ? "" : "s");
			return -1;
		}
	return 0;
}
