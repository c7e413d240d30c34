/* cpu_state.c - the "cpu" unit's data: a KVM vCPU's whole state.
 *
 * Register sets are described by SSM field tables so the saved layout is
 * explicit, little-endian and inspectable by name, not a memcpy of kernel
 * structs.  Order in the stream: regs, sregs, xcrs, xsave (or fpu), msrs,
 * debugregs, vcpu events, mp state, kvmclock.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/cpu_state.h"

#define MSR_MAX 1024
#define XSAVE_BYTES sizeof(struct kvm_xsave)

static const ssm_field regs_fields[] = {
	SSM_FIELD(struct kvm_regs, rax), SSM_FIELD(struct kvm_regs, rbx),
	SSM_FIELD(struct kvm_regs, rcx), SSM_FIELD(struct kvm_regs, rdx),
	SSM_FIELD(struct kvm_regs, rsi), SSM_FIELD(struct kvm_regs, rdi),
	SSM_FIELD(struct kvm_regs, rsp), SSM_FIELD(struct kvm_regs, rbp),
	SSM_FIELD(struct kvm_regs, r8), SSM_FIELD(struct kvm_regs, r9),
	SSM_FIELD(struct kvm_regs, r10), SSM_FIELD(struct kvm_regs, r11),
	SSM_FIELD(struct kvm_regs, r12), SSM_FIELD(struct kvm_regs, r13),
	SSM_FIELD(struct kvm_regs, r14), SSM_FIELD(struct kvm_regs, r15),
	SSM_FIELD(struct kvm_regs, rip), SSM_FIELD(struct kvm_regs, rflags),
	SSM_FIELD_TERM()
};

static const ssm_field seg_fields[] = {
	SSM_FIELD(struct kvm_segment, base), SSM_FIELD(struct kvm_segment, limit),
	SSM_FIELD(struct kvm_segment, selector), SSM_FIELD(struct kvm_segment, type),
	SSM_FIELD(struct kvm_segment, present), SSM_FIELD(struct kvm_segment, dpl),
	SSM_FIELD(struct kvm_segment, db), SSM_FIELD(struct kvm_segment, s),
	SSM_FIELD(struct kvm_segment, l), SSM_FIELD(struct kvm_segment, g),
	SSM_FIELD(struct kvm_segment, avl), SSM_FIELD(struct kvm_segment, unusable),
	SSM_FIELD_TERM()
};

static const ssm_field dt_fields[] = {
	SSM_FIELD(struct kvm_dtable, base), SSM_FIELD(struct kvm_dtable, limit),
	SSM_FIELD_TERM()
};

static const ssm_field sregs_tail_fields[] = {
	SSM_FIELD(struct kvm_sregs, cr0), SSM_FIELD(struct kvm_sregs, cr2),
	SSM_FIELD(struct kvm_sregs, cr3), SSM_FIELD(struct kvm_sregs, cr4),
	SSM_FIELD(struct kvm_sregs, cr8), SSM_FIELD(struct kvm_sregs, efer),
	SSM_FIELD(struct kvm_sregs, apic_base),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[0]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[1]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[2]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[3]),
	SSM_FIELD_TERM()
};

static const ssm_field dbg_fields[] = {
	SSM_FIELD(struct kvm_debugregs, db[0]), SSM_FIELD(struct kvm_debugregs, db[1]),
	SSM_FIELD(struct kvm_debugregs, db[2]), SSM_FIELD(struct kvm_debugregs, db[3]),
	SSM_FIELD(struct kvm_debugregs, dr6), SSM_FIELD(struct kvm_debugregs, dr7),
	SSM_FIELD(struct kvm_debugregs, flags),
	SSM_FIELD_TERM()
};

static const ssm_field events_fields[] = {
	SSM_FIELD(struct kvm_vcpu_events, exception.injected),
	SSM_FIELD(struct kvm_vcpu_events, exception.nr),
	SSM_FIELD(struct kvm_vcpu_events, exception.has_error_code),
	SSM_FIELD(struct kvm_vcpu_events, exception.pending),
	SSM_FIELD(struct kvm_vcpu_events, exception.error_code),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.injected),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.nr),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.soft),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.shadow),
	SSM_FIELD(struct kvm_vcpu_events, nmi.injected),
	SSM_FIELD(struct kvm_vcpu_events, nmi.pending),
	SSM_FIELD(struct kvm_vcpu_events, nmi.masked),
	SSM_FIELD(struct kvm_vcpu_events, sipi_vector),
	SSM_FIELD(struct kvm_vcpu_events, flags),
	SSM_FIELD(struct kvm_vcpu_events, smi.smm),
	SSM_FIELD(struct kvm_vcpu_events, smi.pending),
	SSM_FIELD(struct kvm_vcpu_events, smi.smm_inside_nmi),
	SSM_FIELD(struct kvm_vcpu_events, smi.latched_init),
	SSM_FIELD(struct kvm_vcpu_events, triple_fault.pending),
	SSM_FIELD(struct kvm_vcpu_events, exception_has_payload),
	SSM_FIELD(struct kvm_vcpu_events, exception_payload),
	SSM_FIELD_TERM()
};

static const ssm_field clock_fields[] = {
	SSM_FIELD(struct kvm_clock_data, clock), SSM_FIELD(struct kvm_clock_data, flags),
	SSM_FIELD_TERM()
};

/* One failing ioctl becomes an error naming the register set. */
static int kvm_err(ssm_handle *h, const char *what)
{
	return ssm_set_load_error(h, SSM_ERR_CALLBACK, "cpu: %s failed: %s", what,
				  strerror(errno));
}

static int put(ssm_handle *h, const void *p, size_t n, const ssm_field *f)
{
	return ssm_put_struct(h, p, n, 0, f, NULL);
}

static int get(ssm_handle *h, void *p, size_t n, const ssm_field *f)
{
	return ssm_get_struct(h, p, n, 0, f, NULL);
}

static struct kvm_segment *sreg_seg(struct kvm_sregs *s, int i)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss,
				       &s->tr, &s->ldt };
	return segs[i];
}

static int save_msrs(int kvm_fd, int vcpu_fd, ssm_handle *h)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *msrs;
	int n, rc = SSM_OK;

	list = calloc(1, sizeof(*list) + MSR_MAX * sizeof(uint32_t));
	msrs = calloc(1, sizeof(*msrs) + MSR_MAX * sizeof(struct kvm_msr_entry));
	if (!list || !msrs) {
		rc = SSM_ERR_NOMEM;
		goto out;
	}
	list->nmsrs = MSR_MAX;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		rc = kvm_err(h, "KVM_GET_MSR_INDEX_LIST");
		goto out;
	}
	for (uint32_t i = 0; i < list->nmsrs; i++)
		msrs->entries[i].index = list->indices[i];
	msrs->nmsrs = list->nmsrs;
	n = ioctl(vcpu_fd, KVM_GET_MSRS, msrs);
	if (n < 0) {
		rc = kvm_err(h, "KVM_GET_MSRS");
		goto out;
	}
	/* KVM stops at the first MSR it cannot read; save what it read. */
	rc = ssm_put_u32(h, (uint32_t)n);
	for (int i = 0; !rc && i < n; i++) {
		rc = ssm_put_u32(h, msrs->entries[i].index);
		if (!rc)
			rc = ssm_put_u64(h, msrs->entries[i].data);
	}
out:
	free(list);
	free(msrs);
	return rc;
}

int cpu_state_save(int kvm_fd, int vm_fd, int vcpu_fd, ssm_handle *h)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_xsave *xs;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_clock_data clk;
	int rc;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return kvm_err(h, "KVM_GET_REGS");
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return kvm_err(h, "KVM_GET_SREGS");
	memset(&xcrs, 0, sizeof(xcrs));
	if (ioctl(vcpu_fd, KVM_GET_XCRS, &xcrs) < 0)
		return kvm_err(h, "KVM_GET_XCRS");
	if (ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &dbg) < 0)
		return kvm_err(h, "KVM_GET_DEBUGREGS");
	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return kvm_err(h, "KVM_GET_VCPU_EVENTS");
	if (ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp) < 0)
		return kvm_err(h, "KVM_GET_MP_STATE");
	memset(&clk, 0, sizeof(clk));
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clk) < 0)
		return kvm_err(h, "KVM_GET_CLOCK");

	rc = put(h, &regs, sizeof(regs), regs_fields);
	for (int i = 0; !rc && i < 8; i++)
		rc = put(h, sreg_seg(&sregs, i), sizeof(struct kvm_segment), seg_fields);
	if (!rc)
		rc = put(h, &sregs.gdt, sizeof(sregs.gdt), dt_fields);
	if (!rc)
		rc = put(h, &sregs.idt, sizeof(sregs.idt), dt_fields);
	if (!rc)
		rc = put(h, &sregs, sizeof(sregs), sregs_tail_fields);
	if (!rc)
		rc = ssm_put_u32(h, xcrs.nr_xcrs);
	for (uint32_t i = 0; !rc && i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		rc = ssm_put_u32(h, xcrs.xcrs[i].xcr);
		if (!rc)
			rc = ssm_put_u64(h, xcrs.xcrs[i].value);
	}
	if (rc)
		return rc;
	xs = calloc(1, XSAVE_BYTES);
	if (!xs)
		return SSM_ERR_NOMEM;
	if (ioctl(vcpu_fd, KVM_GET_XSAVE, xs) < 0)
		rc = kvm_err(h, "KVM_GET_XSAVE");
	if (!rc)
		rc = ssm_put_u32(h, (uint32_t)XSAVE_BYTES);
	if (!rc)
		rc = ssm_put_mem(h, xs, XSAVE_BYTES);
	free(xs);
	if (!rc)
		rc = save_msrs(kvm_fd, vcpu_fd, h);
	if (!rc)
		rc = put(h, &dbg, sizeof(dbg), dbg_fields);
	if (!rc)
		rc = put(h, &ev, sizeof(ev), events_fields);
	if (!rc)
		rc = ssm_put_u32(h, mp.mp_state);
	if (!rc)
		rc = put(h, &clk, sizeof(clk), clock_fields);
	return rc;
}

/* Read the saved MSR list into a kvm_msrs the caller frees. */
static int read_msrs(ssm_handle *h, struct kvm_msrs **out)
{
	struct kvm_msrs *msrs;
	uint32_t n;
	int rc = ssm_get_u32(h, &n);

	if (rc)
		return rc;
	if (n > MSR_MAX)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: %u MSRs (at most %u)",
					  n, MSR_MAX);
	msrs = calloc(1, sizeof(*msrs) + (n ? n : 1) * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return SSM_ERR_NOMEM;
	for (uint32_t i = 0; !rc && i < n; i++) {
		uint64_t v = 0;

		rc = ssm_get_u32(h, &msrs->entries[i].index);
		if (!rc)
			rc = ssm_get_u64(h, &v);
		msrs->entries[i].data = v;
	}
	msrs->nmsrs = n;
	if (rc) {
		free(msrs);
		return rc;
	}
	*out = msrs;
	return SSM_OK;
}

/* KVM stops at the first MSR it refuses.  A refusal is harmless when the
 * vCPU already holds the saved value (e.g. a PV MSR the guest never
 * enabled, still 0); anything else is an error naming the MSR. */
static int set_msrs(int vcpu_fd, ssm_handle *h, struct kvm_msrs *msrs)
{
	uint32_t done = 0, n = msrs->nmsrs;
	struct kvm_msr_entry *all = msrs->entries;

	while (done < n) {
		/* A one-entry kvm_msrs; its entry array is flexible. */
		uint64_t one_buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
		struct kvm_msrs *one = (struct kvm_msrs *)one_buf;
		int set;

		/* Shift the unset tail to the front of the array. */
		memmove(all, all + done, (n - done) * sizeof(*all));
		n -= done;
		msrs->nmsrs = n;
		done = 0;
		set = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
		if (set < 0)
			return kvm_err(h, "KVM_SET_MSRS");
		done = (uint32_t)set;
		if (done == n)
			break;
		memset(one_buf, 0, sizeof(one_buf));
		one->nmsrs = 1;
		one->entries[0].index = all[done].index;
		if (ioctl(vcpu_fd, KVM_GET_MSRS, one) != 1 || one->entries[0].data != all[done].data)
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: KVM refused MSR "
						  "0x%x = 0x%llx", all[done].index,
						  (unsigned long long)all[done].data);
		done++;
	}
	return SSM_OK;
}

/* Restore order, and why:
 *  1. kvmclock (VM-wide) first, so MSR writes that derive from guest time
 *     see the restored clock;
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
 * Everything is read and validated from the stream before the first ioctl,
 * so a damaged unit never leaves a half-restored vCPU. */
int cpu_state_load(int vm_fd, int vcpu_fd, ssm_handle *h, uint32_t version)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_xsave *xs = NULL;
	struct kvm_msrs *msrs = NULL;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_clock_data clk;
	uint32_t xs_len;
	int rc;

	rc = ssm_check_unit_version(h, "cpu", version, CPU_STATE_VERSION_MIN, CPU_STATE_VERSION);
	if (rc)
		return rc;
	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	memset(&xcrs, 0, sizeof(xcrs));
	memset(&dbg, 0, sizeof(dbg));
	memset(&ev, 0, sizeof(ev));
	memset(&clk, 0, sizeof(clk));
	rc = get(h, &regs, sizeof(regs), regs_fields);
	for (int i = 0; !rc && i < 8; i++)
		rc = get(h, sreg_seg(&sregs, i), sizeof(struct kvm_segment), seg_fields);
	if (!rc)
		rc = get(h, &sregs.gdt, sizeof(sregs.gdt), dt_fields);
	if (!rc)
		rc = get(h, &sregs.idt, sizeof(sregs.idt), dt_fields);
	if (!rc)
		rc = get(h, &sregs, sizeof(sregs), sregs_tail_fields);
	if (!rc)
		rc = ssm_get_u32(h, &xcrs.nr_xcrs);
	if (!rc && xcrs.nr_xcrs > KVM_MAX_XCRS)
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: %u XCRs (at most %d)",
					xcrs.nr_xcrs, KVM_MAX_XCRS);
	for (uint32_t i = 0; !rc && i < xcrs.nr_xcrs; i++) {
		uint64_t v = 0;

		rc = ssm_get_u32(h, &xcrs.xcrs[i].xcr);
		if (!rc)
			rc = ssm_get_u64(h, &v);
		xcrs.xcrs[i].value = v;
	}
	if (!rc)
		rc = ssm_get_u32(h, &xs_len);
	if (!rc && xs_len != XSAVE_BYTES)
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: XSAVE area of %u bytes, "
					"expected %zu", xs_len, XSAVE_BYTES);
	if (!rc) {
		xs = calloc(1, XSAVE_BYTES);
		rc = xs ? ssm_get_mem(h, xs, XSAVE_BYTES) : SSM_ERR_NOMEM;
	}
	if (!rc)
		rc = read_msrs(h, &msrs);
	if (!rc)
		rc = get(h, &dbg, sizeof(dbg), dbg_fields);
	if (!rc)
		rc = get(h, &ev, sizeof(ev), events_fields);
	if (!rc)
		rc = ssm_get_u32(h, &mp.mp_state);
	if (!rc)
		rc = get(h, &clk, sizeof(clk), clock_fields);
	if (!rc && mp.mp_state > KVM_MP_STATE_AP_RESET_HOLD)
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: MP state %u invalid",
					mp.mp_state);
	if (rc)
		goto out;

	clk.flags = 0;
	/* Ask KVM to take every part of the events we saved. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW;
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clk) < 0)
		rc = kvm_err(h, "KVM_SET_CLOCK");
	else if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		rc = kvm_err(h, "KVM_SET_SREGS");
	else if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		rc = kvm_err(h, "KVM_SET_REGS");
	else if (xcrs.nr_xcrs && ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		rc = kvm_err(h, "KVM_SET_XCRS");
	else if (ioctl(vcpu_fd, KVM_SET_XSAVE, xs) < 0)
		rc = kvm_err(h, "KVM_SET_XSAVE");
	else if ((rc = set_msrs(vcpu_fd, h, msrs)) != SSM_OK)
		;
	else if (ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &dbg) < 0)
		rc = kvm_err(h, "KVM_SET_DEBUGREGS");
	else if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp) < 0)
		rc = kvm_err(h, "KVM_SET_MP_STATE");
	else if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		rc = kvm_err(h, "KVM_SET_VCPU_EVENTS");
out:
	free(xs);
	free(msrs);
	return rc;
}
