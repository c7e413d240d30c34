/* cpu_state.c - the "cpu" unit's KVM side: read a vCPU's whole state into
 * a cpu_snapshot (cpu_codec.h) and load a checked one (cpu_check.h) back.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/cpu_check.h"
#include "vmm/cpu_state.h"
#include "vmm/smp.h"

/* One failing ioctl becomes an error naming the register set. */
static int kvm_err(ssm_handle *h, const char *what, int err)
{
	return ssm_set_load_error(h, SSM_ERR_CALLBACK, "cpu: %s failed: %s", what,
				  strerror(err));
}

/* The same for a read outside any save (no handle): into err. */
static int read_err(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "cpu: %s failed: %s", what, strerror(e));
	return SSM_ERR_CALLBACK;
}

static int save_msrs(struct kvm_vm *vm, unsigned cpu, struct cpu_snapshot *s, char *err,
		     size_t errlen)
{
	const struct kvm_vcpu_res *vc = &vm->vcpu[cpu];
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (vc->nmsrs + 1) * sizeof(m->entries[0]));
	int n;

	if (!m)
		return SSM_ERR_NOMEM;
	m->nmsrs = vc->nmsrs;
	for (uint32_t i = 0; i < vc->nmsrs; i++)
		m->entries[i].index = vc->msrs[i];
	n = ioctl(vc->fd, KVM_GET_MSRS, m);
	if (n < 0 || (uint32_t)n != vc->nmsrs) {
		if (n < 0) {
			free(m);
			return read_err(err, errlen, "KVM_GET_MSRS", errno);
		}
		snprintf(err, errlen, "cpu: KVM_GET_MSRS read %d of %u MSRs, stopping at msr "
			 "0x%x: the save would lose the rest", n, vc->nmsrs, vc->msrs[n]);
		free(m);
		return SSM_ERR_CALLBACK;
	}
	s->msrs = calloc(vc->nmsrs + 1, sizeof(*s->msrs));
	if (s->msrs)
		memcpy(s->msrs, m->entries, vc->nmsrs * sizeof(*s->msrs));
	s->nmsrs = vc->nmsrs;
	free(m);
	return s->msrs ? SSM_OK : SSM_ERR_NOMEM;
}

/* The XSAVE area in KVM's own size (KVM_GET_XSAVE2), or the 4096 bytes of
 * struct kvm_xsave where KVM has nothing bigger. */
static int save_xsave(struct kvm_vm *vm, unsigned cpu, struct cpu_snapshot *s, char *err,
		      size_t errlen)
{
	if (vm->xsave_len > CPU_XSAVE_MAX) {
		snprintf(err, errlen, "cpu: KVM's XSAVE area of %u bytes is above the %u "
			 "this format holds", vm->xsave_len, CPU_XSAVE_MAX);
		return SSM_ERR_CALLBACK;
	}
	s->xsave = calloc(1, vm->xsave_len);
	if (!s->xsave)
		return SSM_ERR_NOMEM;
	s->xsave_len = vm->xsave_len;
	if (ioctl(vm->vcpu[cpu].fd, vm->xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, s->xsave) < 0)
		return read_err(err, errlen, vm->xsave2 ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE",
				errno);
	return SSM_OK;
}

static int copy_cpuid(const struct kvm_vm *vm, unsigned cpu, struct cpu_snapshot *s)
{
	const struct kvm_cpuid2 *c = vm->vcpu[cpu].cpuid;
	uint32_t n = c ? c->nent : 0;

	s->cpuid = calloc(n + 1, sizeof(*s->cpuid));
	if (!s->cpuid)
		return SSM_ERR_NOMEM;
	if (n)
		memcpy(s->cpuid, c->entries, n * sizeof(*s->cpuid));
	s->ncpuid = n;
	return SSM_OK;
}

int cpu_state_read(struct kvm_vm *vm, unsigned cpu, struct cpu_snapshot *s, char *err,
		   size_t errlen)
{
	int fd = vm->vcpu[cpu].fd, rc;

	memset(s, 0, sizeof(*s));
	/* First: with an in-kernel LAPIC, KVM_GET_MP_STATE takes pending
	 * INIT/SIPI events, which may change the registers read after it. */
	if (ioctl(fd, KVM_GET_MP_STATE, &s->mp_state) < 0)
		return read_err(err, errlen, "KVM_GET_MP_STATE", errno);
	if (ioctl(fd, KVM_GET_REGS, &s->regs) < 0)
		return read_err(err, errlen, "KVM_GET_REGS", errno);
	if (ioctl(fd, KVM_GET_SREGS, &s->sregs) < 0)
		return read_err(err, errlen, "KVM_GET_SREGS", errno);
	if (ioctl(fd, KVM_GET_XCRS, &s->xcrs) < 0)
		return read_err(err, errlen, "KVM_GET_XCRS", errno);
	if (ioctl(fd, KVM_GET_DEBUGREGS, &s->dbg) < 0)
		return read_err(err, errlen, "KVM_GET_DEBUGREGS", errno);
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &s->ev) < 0)
		return read_err(err, errlen, "KVM_GET_VCPU_EVENTS", errno);
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clk) < 0)
		return read_err(err, errlen, "KVM_GET_CLOCK", errno);
	s->tsc_khz = kvm_tsc_khz(vm, cpu);
	rc = save_xsave(vm, cpu, s, err, errlen);
	if (!rc)
		rc = save_msrs(vm, cpu, s, err, errlen);
	if (!rc)
		rc = copy_cpuid(vm, cpu, s);
	if (rc) {
		if (rc == SSM_ERR_NOMEM)
			snprintf(err, errlen, "cpu: %s", ssm_strerror(rc));
		cpu_snapshot_free(s);
	}
	return rc;
}

int cpu_state_put(ssm_handle *h, const struct cpu_snapshot *s)
{
	return cpu_codec_put(h, s, CPU_STATE_VERSION);
}

int cpu_state_save(struct kvm_vm *vm, unsigned cpu, ssm_handle *h)
{
	struct cpu_snapshot s;
	char err[200];
	int rc = cpu_state_read(vm, cpu, &s, err, sizeof(err));

	if (rc)
		return rc == SSM_ERR_NOMEM ? rc : ssm_set_load_error(h, rc, "%s", err);
	rc = cpu_state_put(h, &s);
	cpu_snapshot_free(&s);
	return rc;
}

/* KVM stops at the first MSR it refuses.  A refusal is harmless when the
 * vCPU already holds the saved value (e.g. a PV MSR the guest never
 * enabled, still 0); anything else is an error naming the MSR. */
static int set_msrs(struct kvm_vm *vm, unsigned cpu, ssm_handle *h,
		    const struct cpu_snapshot *s)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (s->nmsrs + 1) * sizeof(m->entries[0]));
	uint32_t done = 0;
	int rc = SSM_OK;

	if (!m)
		return SSM_ERR_NOMEM;
	while (!rc && done < s->nmsrs) {
		const struct kvm_msr_entry *bad;
		uint64_t now;
		int set;

		m->nmsrs = s->nmsrs - done;
		memcpy(m->entries, s->msrs + done, m->nmsrs * sizeof(m->entries[0]));
		set = ioctl(vm->vcpu[cpu].fd, KVM_SET_MSRS, m);
		if (set < 0) {
			rc = kvm_err(h, "KVM_SET_MSRS", errno);
			break;
		}
		done += (uint32_t)set;
		if (done == s->nmsrs)
			break;
		bad = &s->msrs[done];
		if (kvm_get_msr(vm, cpu, bad->index, &now) || now != bad->data)
			rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: KVM refused msr "
						"0x%x = 0x%llx", bad->index,
						(unsigned long long)bad->data);
		done++;
	}
	free(m);
	return rc;
}

static int refuse_at(ssm_handle *h, const struct cpu_snapshot *s, enum cpu_section sec,
		     const char *why)
{
	char where[48];

	cpu_codec_where(s, sec, where, sizeof(where));
	return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: %s (%s at %s)", why,
				  cpu_section_name(sec), where);
}

/* Check everything against this host (and the CPUID's APIC IDs against
 * the vCPU's index where the file sets them); decide what to do with the
 * TSC. */
static int check(struct kvm_vm *vm, unsigned cpu, ssm_handle *h, const struct cpu_snapshot *s,
		 bool apic_ids, enum cpu_tsc_plan *plan)
{
	struct cpu_host host = {
		.cpuid = vm->supported->entries, .ncpuid = vm->supported->nent,
		.msrs = vm->vcpu[cpu].msrs, .nmsrs = vm->vcpu[cpu].nmsrs,
		.xsave_len = vm->xsave_len, .lapic = vm->kernel_irqchip,
	};
	enum cpu_section sec;
	char why[256];

	if (cpu_check_snapshot(s, &host, &sec, why, sizeof(why)))
		return refuse_at(h, s, sec, why);
	if (apic_ids && !smp_cpuid_apic_id_is(s->cpuid, s->ncpuid, cpu, why, sizeof(why)))
		return refuse_at(h, s, CPU_SEC_CPUID, why);
	*plan = cpu_tsc_plan(s->tsc_khz, kvm_tsc_khz(vm, cpu), vm->tsc_scale, why, sizeof(why));
	if (*plan == CPU_TSC_REFUSE)
		return refuse_at(h, s, CPU_SEC_TSC, why);
	return SSM_OK;
}

/* Restore order, and why:
 *  0. the CPUID table, then the TSC frequency: they decide which registers,
 *     MSRs and XSAVE components exist and how the TSC value is read;
 *  1. kvmclock (VM-wide, so by vCPU 0 alone: every vCPU saved it at the
 *     same pause), so MSR writes that derive from guest time see the
 *     restored clock;
 *  2. sregs before everything per-vCPU: CR0/CR4/EFER set the mode in which
 *     the other registers are interpreted;
 *  3. regs;
 *  4. XCRs before XSAVE: XCR0 decides which XSAVE components are valid;
 *  5. XSAVE (FPU/SSE/AVX);
 *  6. MSRs, including the TSC, so guest time continues without a jump;
 *  7. debug registers;
 *  8. MP state;
 *  9. vCPU events last: pending/injected exceptions, interrupts and NMIs are
 *     delivered against the state restored above.
 * Everything is read from the stream and checked before the first ioctl. */
static int apply(struct kvm_vm *vm, unsigned cpu, ssm_handle *h, struct cpu_snapshot *s,
		 uint32_t version, enum cpu_tsc_plan plan)
{
	uint8_t *xs;
	int fd = vm->vcpu[cpu].fd, rc;

	if (version >= 2 && (rc = kvm_set_cpuid(vm, cpu, s->cpuid, s->ncpuid)) != 0)
		return kvm_err(h, "KVM_SET_CPUID2 with the saved CPUID", -rc);
	if (plan == CPU_TSC_SCALE && (rc = kvm_set_tsc_khz(vm, cpu, s->tsc_khz)) != 0)
		return kvm_err(h, "KVM_SET_TSC_KHZ to the saved frequency", -rc);
	xs = calloc(1, vm->xsave_len);
	if (!xs)
		return SSM_ERR_NOMEM;
	/* cpu_check_xsave saw every present component inside both sizes. */
	memcpy(xs, s->xsave, s->xsave_len < vm->xsave_len ? s->xsave_len : vm->xsave_len);
	s->clk.flags = 0;
	/* Ask KVM to take every part of the events we saved. */
	s->ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		       KVM_VCPUEVENT_VALID_SHADOW;
	rc = SSM_OK;
	if (cpu == 0 && ioctl(vm->vm_fd, KVM_SET_CLOCK, &s->clk) < 0)
		rc = kvm_err(h, "KVM_SET_CLOCK", errno);
	else if (ioctl(fd, KVM_SET_SREGS, &s->sregs) < 0)
		rc = kvm_err(h, "KVM_SET_SREGS", errno);
	else if (ioctl(fd, KVM_SET_REGS, &s->regs) < 0)
		rc = kvm_err(h, "KVM_SET_REGS", errno);
	else if (s->xcrs.nr_xcrs && ioctl(fd, KVM_SET_XCRS, &s->xcrs) < 0)
		rc = kvm_err(h, "KVM_SET_XCRS", errno);
	else if (ioctl(fd, KVM_SET_XSAVE, xs) < 0)
		rc = kvm_err(h, "KVM_SET_XSAVE", errno);
	else if ((rc = set_msrs(vm, cpu, h, s)) != SSM_OK)
		;
	else if (ioctl(fd, KVM_SET_DEBUGREGS, &s->dbg) < 0)
		rc = kvm_err(h, "KVM_SET_DEBUGREGS", errno);
	else if (ioctl(fd, KVM_SET_MP_STATE, &s->mp_state) < 0)
		rc = kvm_err(h, "KVM_SET_MP_STATE", errno);
	else if (ioctl(fd, KVM_SET_VCPU_EVENTS, &s->ev) < 0)
		rc = kvm_err(h, "KVM_SET_VCPU_EVENTS", errno);
	free(xs);
	return rc;
}

int cpu_state_load(struct kvm_vm *vm, unsigned cpu, ssm_handle *h, uint32_t version,
		   bool apic_ids)
{
	struct cpu_snapshot s;
	enum cpu_tsc_plan plan = CPU_TSC_KEEP;
	int rc = cpu_codec_get(h, version, &s);

	/* Version 1 saved no CPUID: the vCPU keeps the host's, as it did. */
	if (!rc && version < 2)
		rc = copy_cpuid(vm, cpu, &s);
	/* A file from before vCPU counts (one vCPU) may hold any APIC ID in
	 * its CPUID; the vCPU gets its own, so a re-save passes the check. */
	if (!rc && !apic_ids)
		smp_cpuid_set_apic_id(s.cpuid, s.ncpuid, cpu);
	if (!rc)
		rc = check(vm, cpu, h, &s, apic_ids && version >= 2, &plan);
	if (!rc)
		rc = apply(vm, cpu, h, &s, version, plan);
	cpu_snapshot_free(&s);
	return rc;
}
