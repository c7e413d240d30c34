/* irqchip_units.c - save and load of KVM's interrupt controllers through
 * their SSM units (irqchip_units.h). */
#include "vmm/irqchip_units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/bgsave.h"
#include "vmm/machine.h"

#define MSR_APIC_BASE    0x1bu
#define MSR_TSC_DEADLINE 0x6e0u
#define APIC_BASE_X2APIC (1ull << 10)
#define LVT_TIMER_DEADLINE (2u << 17)

/* The fd of vCPU index (one vCPU today). */
static int vcpu_fd(struct machine *m, uint32_t index)
{
	return index == 0 ? m->kvm.vcpu_fd : -1;
}

static bool vcpu_parked(struct machine *m)
{
	return vcpu_is_parked(&m->vcpu);
}

/* A point-in-time writer (a forked child) cannot ask KVM: it writes what
 * irqchip_units_capture() read at the request. */
static bool in_writer(struct machine *m)
{
	return bgsave_frozen_cpu(m) != NULL;
}

static int msr_io(int fd, unsigned long req, uint32_t index, uint64_t *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;

	memset(&one, 0, sizeof(one));
	one.hdr.nmsrs = 1;
	one.e.index = index;
	one.e.data = *v;
	if (ioctl(fd, req, &one) != 1)
		return -1;
	*v = one.e.data;
	return 0;
}

static int fail(char *err, size_t len, const char *what, uint32_t i)
{
	snprintf(err, len, "%s (vCPU %u) failed: %s", what, i, strerror(errno));
	return SSM_ERR_CALLBACK;
}

/* ---- reading the chips --------------------------------------------------- */

static int read_lapic(struct machine *m, struct irqchip_lapic_unit *u, char *err, size_t len)
{
	struct kvm_lapic_state page;
	uint64_t base = 0, deadline = 0;
	int fd = vcpu_fd(m, u->index);

	if (fd < 0) {
		snprintf(err, len, "lapic: no vCPU %u", u->index);
		return SSM_ERR_CALLBACK;
	}
	if (ioctl(fd, KVM_GET_LAPIC, &page) < 0)
		return fail(err, len, "lapic: KVM_GET_LAPIC", u->index);
	if (msr_io(fd, KVM_GET_MSRS, MSR_APIC_BASE, &base))
		return fail(err, len, "lapic: reading MSR_IA32_APICBASE", u->index);
	if (msr_io(fd, KVM_GET_MSRS, MSR_TSC_DEADLINE, &deadline))
		return fail(err, len, "lapic: reading MSR_IA32_TSC_DEADLINE", u->index);
	kirq_lapic_decode(&page, &u->st);
	u->st.x2apic = (base & APIC_BASE_X2APIC) != 0;
	/* KVM reads the MSR as 0 outside TSC-deadline mode; keep it so. */
	u->st.tsc_deadline = (u->st.lvt_timer & (3u << 17)) == LVT_TIMER_DEADLINE ? deadline : 0;
	return SSM_OK;
}

static int get_chip(struct machine *m, uint32_t id, struct kvm_irqchip *c, char *err,
		    size_t len)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	if (ioctl(m->kvm.vm_fd, KVM_GET_IRQCHIP, c) < 0) {
		snprintf(err, len, "KVM_GET_IRQCHIP (chip %u) failed: %s", id, strerror(errno));
		return SSM_ERR_CALLBACK;
	}
	return SSM_OK;
}

static int read_pic(struct machine *m, char *err, size_t len)
{
	struct kvm_irqchip master, slave;
	int rc = get_chip(m, KVM_IRQCHIP_PIC_MASTER, &master, err, len);

	if (!rc)
		rc = get_chip(m, KVM_IRQCHIP_PIC_SLAVE, &slave, err, len);
	if (!rc)
		kirq_pic_decode(&master.chip.pic, &slave.chip.pic, &m->kirq.pic);
	return rc;
}

static int read_ioapic(struct machine *m, char *err, size_t len)
{
	struct kvm_irqchip c;
	int rc = get_chip(m, KVM_IRQCHIP_IOAPIC, &c, err, len);

	if (!rc)
		kirq_ioapic_decode(&c.chip.ioapic, &m->kirq.ioapic);
	return rc;
}

static int read_pit(struct machine *m, char *err, size_t len)
{
	struct kvm_pit_state2 p;

	if (ioctl(m->kvm.vm_fd, KVM_GET_PIT2, &p) < 0) {
		snprintf(err, len, "KVM_GET_PIT2 failed: %s", strerror(errno));
		return SSM_ERR_CALLBACK;
	}
	kirq_pit_decode(&p, &m->kirq.pit);
	return SSM_OK;
}

int irqchip_units_capture(struct machine *m, char *err, size_t errlen)
{
	int rc = SSM_OK;

	if (!m->kvm.kernel_irqchip)
		return SSM_OK;
	for (uint32_t i = 0; !rc && i < m->kirq.nlapic; i++)
		rc = read_lapic(m, &m->kirq.lapic[i], err, errlen);
	if (!rc)
		rc = read_pic(m, err, errlen);
	if (!rc)
		rc = read_ioapic(m, err, errlen);
	if (!rc)
		rc = read_pit(m, err, errlen);
	return rc;
}

/* save_prep: the chip as it is now, with the vCPUs parked. */
static int prep(struct machine *m, ssm_handle *h, const char *unit,
		int (*read)(struct machine *, char *, size_t))
{
	char err[200];
	int rc;

	if (in_writer(m))
		return SSM_OK;
	if (!vcpu_parked(m))
		return ssm_set_load_error(h, SSM_ERR_BAD_STATE, "%s: vCPU is not paused", unit);
	rc = read(m, err, sizeof(err));
	return rc ? ssm_set_load_error(h, rc, "%s: %s", unit, err) : SSM_OK;
}

/* A chip unit in a VM without the kernel irqchip: a forged or mixed
 * state (the machine record decides the mode). */
static int wrong_mode(struct machine *m, ssm_handle *h, const char *unit)
{
	if (m->kvm.kernel_irqchip)
		return SSM_OK;
	return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: a unit of the kernel irqchip, "
				  "but this VM uses --irqchip user (the state's machine record "
				  "says so)", unit);
}

/* ---- lapic ----------------------------------------------------------------- */

static int lapic_save_prep(void *ctx, ssm_handle *h)
{
	struct irqchip_lapic_unit *u = ctx;
	char err[200];
	int rc;

	if (in_writer(u->m))
		return SSM_OK;
	if (!vcpu_parked(u->m))
		return ssm_set_load_error(h, SSM_ERR_BAD_STATE, "lapic: vCPU is not paused");
	rc = read_lapic(u->m, u, err, sizeof(err));
	return rc ? ssm_set_load_error(h, rc, "%s", err) : SSM_OK;
}

static int lapic_save_exec(void *ctx, ssm_handle *h)
{
	struct irqchip_lapic_unit *u = ctx;

	return ssm_put_struct(h, &u->st, sizeof(u->st), SSM_STRUCT_FULL, kirq_lapic_fields, NULL);
}

/* After the cpu unit (its SREGS set the APIC base, so KVM reads the page
 * in the right mode), before the TSC deadline, which KVM keeps only while
 * the LVT timer is in that mode. */
static int lapic_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct irqchip_lapic_unit *u = ctx;
	struct kvm_lapic_state page;
	struct kirq_lapic l, now;
	uint64_t base = 0, deadline;
	int fd = vcpu_fd(u->m, u->index), rc;

	(void)pass;
	rc = wrong_mode(u->m, h, "lapic");
	if (!rc)
		rc = kirq_unit_get(h, &kirq_unit_lapic, u->index, version, &l);
	if (rc)
		return rc;
	if (fd < 0)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "lapic %u: this VM has no such "
					  "vCPU", u->index);
	if (ioctl(fd, KVM_GET_LAPIC, &page) < 0 || msr_io(fd, KVM_GET_MSRS, MSR_APIC_BASE, &base))
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "lapic %u: reading the vCPU's "
					  "APIC failed: %s", u->index, strerror(errno));
	kirq_lapic_decode(&page, &now);
	if (l.x2apic != ((base & APIC_BASE_X2APIC) != 0))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "lapic %u: field x2apic %u "
					  "disagrees with the cpu unit's APIC base 0x%llx",
					  u->index, l.x2apic, (unsigned long long)base);
	/* KVM derives the version from the CPUID the cpu unit restored. */
	if (l.version != now.version)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "lapic %u: field version 0x%08x: "
					  "this vCPU's APIC is version 0x%08x", u->index,
					  l.version, now.version);
	kirq_lapic_encode(&l, &page);
	if (ioctl(fd, KVM_SET_LAPIC, &page) < 0)
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "lapic %u: KVM_SET_LAPIC failed: %s",
					  u->index, strerror(errno));
	deadline = l.tsc_deadline;
	if (deadline && msr_io(fd, KVM_SET_MSRS, MSR_TSC_DEADLINE, &deadline))
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "lapic %u: KVM refused "
					  "tsc_deadline 0x%llx", u->index,
					  (unsigned long long)l.tsc_deadline);
	u->st = l;
	return SSM_OK;
}

/* ---- kvm-pic, ioapic, kvm-pit ----------------------------------------------- */

static int pic_save_prep(void *ctx, ssm_handle *h)
{
	return prep(ctx, h, "kvm-pic", read_pic);
}

static int pic_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	return ssm_put_struct(h, &m->kirq.pic, sizeof(m->kirq.pic), SSM_STRUCT_FULL,
			      kirq_pic_fields, NULL);
}

static int set_chip(struct machine *m, ssm_handle *h, const char *unit, struct kvm_irqchip *c)
{
	if (ioctl(m->kvm.vm_fd, KVM_SET_IRQCHIP, c) < 0)
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "%s: KVM_SET_IRQCHIP (chip %u) "
					  "failed: %s", unit, c->chip_id, strerror(errno));
	return SSM_OK;
}

/* After the LAPICs: the PIC's output reaches LAPIC LINT0 as restored. */
static int pic_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	struct kvm_irqchip master = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_irqchip slave = { .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	struct kirq_pic p;
	int rc;

	(void)pass;
	rc = wrong_mode(m, h, "kvm-pic");
	if (!rc)
		rc = kirq_unit_get(h, &kirq_unit_pic, 0, version, &p);
	if (rc)
		return rc;
	kirq_pic_encode(&p, &master.chip.pic, &slave.chip.pic);
	rc = set_chip(m, h, "kvm-pic", &master);
	if (!rc)
		rc = set_chip(m, h, "kvm-pic", &slave);
	if (!rc)
		m->kirq.pic = p;
	return rc;
}

static int ioapic_save_prep(void *ctx, ssm_handle *h)
{
	return prep(ctx, h, "ioapic", read_ioapic);
}

static int ioapic_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	return ssm_put_struct(h, &m->kirq.ioapic, sizeof(m->kirq.ioapic), SSM_STRUCT_FULL,
			      kirq_ioapic_fields, NULL);
}

/* After the LAPICs: KVM re-delivers the pins pending in irr to them. */
static int ioapic_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kirq_ioapic s;
	int rc;

	(void)pass;
	rc = wrong_mode(m, h, "ioapic");
	if (!rc)
		rc = kirq_unit_get(h, &kirq_unit_ioapic, 0, version, &s);
	if (rc)
		return rc;
	kirq_ioapic_encode(&s, &c.chip.ioapic);
	rc = set_chip(m, h, "ioapic", &c);
	if (!rc)
		m->kirq.ioapic = s;
	return rc;
}

static int pit_save_prep(void *ctx, ssm_handle *h)
{
	return prep(ctx, h, "kvm-pit", read_pit);
}

static int pit_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	return ssm_put_struct(h, &m->kirq.pit, sizeof(m->kirq.pit), SSM_STRUCT_FULL,
			      kirq_pit_fields, NULL);
}

/* Last: KVM_SET_PIT2 restarts channel 0 at once, and its first tick must
 * find the PIC and IOAPIC restored. */
static int pit_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	struct kvm_pit_state2 k;
	struct kirq_pit s;
	int rc;

	(void)pass;
	rc = wrong_mode(m, h, "kvm-pit");
	if (!rc)
		rc = kirq_unit_get(h, &kirq_unit_pit, 0, version, &s);
	if (rc)
		return rc;
	kirq_pit_encode(&s, &k);
	if (ioctl(m->kvm.vm_fd, KVM_SET_PIT2, &k) < 0)
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "kvm-pit: KVM_SET_PIT2 failed: %s",
					  strerror(errno));
	m->kirq.pit = s;
	return SSM_OK;
}

/* ---- registration ----------------------------------------------------------- */

int irqchip_units_register_lapic(struct machine *m, ssm *reg, uint32_t index)
{
	static const ssm_callbacks cb = {
		.save_prep = lapic_save_prep,
		.save_exec = lapic_save_exec,
		.load_exec = lapic_load_exec,
	};
	struct irqchip_lapic_unit *u;
	int rc;

	if (index >= IRQCHIP_MAX_VCPUS || index != m->kirq.nlapic)
		return SSM_ERR_INVALID_ARG;
	u = &m->kirq.lapic[index];
	u->m = m;
	u->index = index;
	rc = ssm_register_external(reg, "lapic", index, KIRQ_LAPIC_VERSION, sizeof(u->st),
				   index ? "kvm-pic" : NULL, 0, &cb, u);
	if (!rc)
		m->kirq.nlapic++;
	return rc;
}

int irqchip_units_register(struct machine *m, ssm *reg)
{
	static const ssm_callbacks pic_cb = {
		.save_prep = pic_save_prep, .save_exec = pic_save_exec,
		.load_exec = pic_load_exec,
	};
	static const ssm_callbacks ioapic_cb = {
		.save_prep = ioapic_save_prep, .save_exec = ioapic_save_exec,
		.load_exec = ioapic_load_exec,
	};
	static const ssm_callbacks pit_cb = {
		.save_prep = pit_save_prep, .save_exec = pit_save_exec,
		.load_exec = pit_load_exec,
	};
	int rc = irqchip_units_register_lapic(m, reg, 0);

	if (!rc)
		rc = ssm_register_external(reg, "kvm-pic", 0, KIRQ_PIC_VERSION,
					   sizeof(struct kirq_pic), NULL, 0, &pic_cb, m);
	if (!rc)
		rc = ssm_register_external(reg, "ioapic", 0, KIRQ_IOAPIC_VERSION,
					   sizeof(struct kirq_ioapic), NULL, 0, &ioapic_cb, m);
	if (!rc)
		rc = ssm_register_external(reg, "kvm-pit", 0, KIRQ_PIT_VERSION,
					   sizeof(struct kirq_pit), NULL, 0, &pit_cb, m);
	return rc;
}

int irqchip_units_deregister(struct machine *m, ssm *reg)
{
	static const char *const vm_units[] = { "kvm-pic", "ioapic", "kvm-pit" };
	int rc = SSM_OK;

	for (size_t i = 0; !rc && i < sizeof(vm_units) / sizeof(vm_units[0]); i++)
		rc = ssm_deregister_external(reg, vm_units[i], 0);
	while (!rc && m->kirq.nlapic) {
		rc = ssm_deregister_external(reg, "lapic", m->kirq.nlapic - 1);
		if (!rc)
			m->kirq.nlapic--;
	}
	return rc;
}

bool irqchip_units_complete(struct machine *m, ssm *reg, const char **missing,
			    uint32_t *instance)
{
	static const char *const vm_units[] = { "kvm-pic", "ioapic", "kvm-pit" };

	*instance = 0;
	for (uint32_t i = 0; i < m->kirq.nlapic; i++)
		if (!ssm_unit_final_loaded(reg, "lapic", i)) {
			*missing = "lapic";
			*instance = i;
			return false;
		}
	for (size_t i = 0; i < sizeof(vm_units) / sizeof(vm_units[0]); i++)
		if (!ssm_unit_final_loaded(reg, vm_units[i], 0)) {
			*missing = vm_units[i];
			return false;
		}
	return true;
}
