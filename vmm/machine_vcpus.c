/* machine_vcpus.c - the machine's vCPUs as a group (machine.h, "vCPU
 * group"): the count and its rule, creating, starting, pausing, resuming,
 * ending and releasing every vCPU thread together. */
#include <stdio.h>

#include "vmm/machine.h"

unsigned machine_ncpus(const struct machine *m)
{
	return m->cfg.ncpus ? m->cfg.ncpus : 1;
}

int machine_vcpus_init(struct machine *m)
{
	/* APs start only by INIT/SIPI, which only the in-kernel LAPIC
	 * delivers. */
	if (m->cfg.ncpus > 1 && m->cfg.irqchip != IRQCHIP_KERNEL) {
		fprintf(stderr, "vmm: machine: %u vCPUs (ncpus) need the in-kernel irqchip "
			"(--irqchip kernel): the APs start by INIT/SIPI through its LAPIC\n",
			m->cfg.ncpus);
		return -1;
	}
	if (kvm_vm_create(&m->kvm, m->cfg.ram_size, m->cfg.ncpus,
			  m->cfg.irqchip == IRQCHIP_KERNEL))
		return -1;
	for (unsigned i = 0; i < m->cfg.ncpus; i++) {
		vcpu_init(&m->vcpu[i], m, i, m->kvm.vcpu[i].fd, m->kvm.vcpu[i].run);
		if (m->cfg.irqchip == IRQCHIP_KERNEL)
			vcpu_use_kernel_irqchip(&m->vcpu[i]);
	}
	return 0;
}

int machine_vcpus_start_threads(struct machine *m)
{
	for (unsigned i = 0; i < m->cfg.ncpus; i++)
		if (vcpu_start(&m->vcpu[i]))
			return -1;
	return 0;
}

int machine_vcpus_await_sipi(struct machine *m)
{
	for (unsigned i = 1; i < m->cfg.ncpus; i++)
		if (kvm_vcpu_wait_for_sipi(&m->kvm, i))
			return -1;
	return 0;
}

void machine_vcpus_resume(struct machine *m)
{
	for (unsigned i = 0; i < m->cfg.ncpus; i++)
		vcpu_resume(&m->vcpu[i]);
}

void machine_vcpus_pause(struct machine *m)
{
	/* Every vCPU is asked before any is waited for: they stop together,
	 * and no state is read before the last one has. */
	for (unsigned i = 0; i < m->cfg.ncpus; i++)
		vcpu_request_pause(&m->vcpu[i]);
	for (unsigned i = 0; i < m->cfg.ncpus; i++)
		vcpu_wait_parked(&m->vcpu[i]);
}

void machine_vcpus_end(struct machine *m)
{
	for (unsigned i = 0; i < m->cfg.ncpus; i++)
		vcpu_request_exit(&m->vcpu[i]);
}

void machine_vcpus_release(struct machine *m)
{
	/* All threads are joined before any vCPU's mutex goes: one may kick
	 * another until it has left. */
	for (unsigned i = 0; i < KVM_VCPUS_MAX; i++)
		vcpu_stop(&m->vcpu[i]);
	for (unsigned i = 0; i < KVM_VCPUS_MAX; i++)
		vcpu_release(&m->vcpu[i]);
}
