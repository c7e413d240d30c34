/* irqchip_units.c - save and load of KVM's interrupt controllers through
 * their SSM units (irqchip_units.h). */
#include "vmm/irqchip_units.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/bgsave.h"
#include "vmm/machine.h"

#define MSR_TSC_DEADLINE 0x6e0u
#define APIC_BASE_X2APIC (1ull << 10)
#define LVT_TIMER_DEADLINE (2u << 17)

/* The fd of vCPU index, -1 beyond the VM's vCPUs. */
static int vcpu_fd(struct machine *m, uint32_t index)
{
	return index < m->kvm.nvcpus ? m->kvm.vcpu[index].fd : -1;
}

/* Every vCPU is parked (machine_pause parks them all together). */
static bool vcpu_parked(struct machine *m)
{
	for (unsigned i = 0; i < machine_ncpus(m); i++)
		if (!vcpu_is_parked(&m->vcpu[i]))
			return false;
	return true;
}

/* A point-in-time writer (a forked child) cannot ask KVM: it writes what
 * irqchip_units_capture() read at the request. */
static bool in_writer(struct machine *m)
{
	return bgsave_frozen_cpu(m, 0) != NULL;
}

static int msr_io(int fd, unsigned long req, uint32_t index, uint64_t *v)
{
	/* A one-entry kvm_msrs; its entry array is flexible. */
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *one = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	one->nmsrs = 1;
	one->entries[0].index = index;
	one->entries[0].data = *v;
	if (ioctl(fd, req, one) != 1)
		return -1;
	*v = one->entries[0].data;
	return 0;
}

static int fail(char *err, size_t len, const char *what, uint32_t i)
{
	snprintf(err, len, "%s (vCPU %u) failed: %s", what, i, strerror(errno));
	return SSM_ERR_CALLBACK;
}

/* ---- reading the chips --------------------------------------------------- */

/* The vCPU's APIC base (SREGS carry it, whatever the host's MSR list). */
static int apic_base(int fd, uint64_t *base)
{
	struct kvm_sregs s;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	*base = s.apic_base;
	return 0;
}

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
	if (apic_base(fd, &base))
		return fail(err, len, "lapic: KVM_GET_SREGS", u->index);
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
	for (uint32_t i = 0; !rc && i < machine_ncpus(m); i++)
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
	if (ioctl(fd, KVM_GET_LAPIC, &page) < 0 || apic_base(fd, &base))
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

/* ---- kvm-pic, ioapic, kvm-pit: one set of callbacks over vm_chips[] -------- */

static int set_chip(struct machine *m, ssm_handle *h, const char *unit, struct kvm_irqchip *c)
{
	if (ioctl(m->kvm.vm_fd, KVM_SET_IRQCHIP, c) < 0)
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "%s: KVM_SET_IRQCHIP (chip %u) "
					  "failed: %s", unit, c->chip_id, strerror(errno));
	return SSM_OK;
}

/* After the LAPICs: the PIC's output reaches LAPIC LINT0 as restored. */
static int apply_pic(struct machine *m, ssm_handle *h, const void *st)
{
	struct kvm_irqchip master = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_irqchip slave = { .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	int rc;

	kirq_pic_encode(st, &master.chip.pic, &slave.chip.pic);
	rc = set_chip(m, h, "kvm-pic", &master);
	return rc ? rc : set_chip(m, h, "kvm-pic", &slave);
}

/* After the LAPICs: KVM re-delivers the pins pending in irr to them. */
static int apply_ioapic(struct machine *m, ssm_handle *h, const void *st)
{
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };

	kirq_ioapic_encode(st, &c.chip.ioapic);
	return set_chip(m, h, "ioapic", &c);
}

/* Last: KVM_SET_PIT2 restarts channel 0 at once, and its first tick must
 * find the PIC and IOAPIC restored. */
static int apply_pit(struct machine *m, ssm_handle *h, const void *st)
{
	struct kvm_pit_state2 k;

	kirq_pit_encode(st, &k);
	if (ioctl(m->kvm.vm_fd, KVM_SET_PIT2, &k) < 0)
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "kvm-pit: KVM_SET_PIT2 failed: %s",
					  strerror(errno));
	return SSM_OK;
}

static const struct vm_chip {
	const struct kirq_unit *u;
	size_t off;                     /* of its state in struct irqchip_units */
	int (*read)(struct machine *m, char *err, size_t len);
	int (*apply)(struct machine *m, ssm_handle *h, const void *st);
} vm_chips[IRQCHIP_VM_UNITS] = {        /* in save and restore order */
	{ &kirq_unit_pic, offsetof(struct irqchip_units, pic), read_pic, apply_pic },
	{ &kirq_unit_ioapic, offsetof(struct irqchip_units, ioapic), read_ioapic, apply_ioapic },
	{ &kirq_unit_pit, offsetof(struct irqchip_units, pit), read_pit, apply_pit },
};

static void *chip_state(const struct irqchip_vm_unit *c)
{
	return (char *)&c->m->kirq + vm_chips[c->which].off;
}

static int chip_save_prep(void *ctx, ssm_handle *h)
{
	const struct irqchip_vm_unit *c = ctx;

	return prep(c->m, h, vm_chips[c->which].u->name, vm_chips[c->which].read);
}

static int chip_save_exec(void *ctx, ssm_handle *h)
{
	const struct irqchip_vm_unit *c = ctx;
	const struct kirq_unit *u = vm_chips[c->which].u;

	return ssm_put_struct(h, chip_state(c), u->size, SSM_STRUCT_FULL, u->fields, NULL);
}

static int chip_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	const struct irqchip_vm_unit *c = ctx;
	const struct vm_chip *d = &vm_chips[c->which];
	union {
		struct kirq_pic pic;
		struct kirq_ioapic ioapic;
		struct kirq_pit pit;
	} st;
	int rc;

	(void)pass;
	rc = wrong_mode(c->m, h, d->u->name);
	if (!rc)
		rc = kirq_unit_get(h, d->u, 0, version, &st);
	if (!rc)
		rc = d->apply(c->m, h, &st);
	if (!rc)
		memcpy(chip_state(c), &st, d->u->size);
	return rc;
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

	if (index >= IRQCHIP_MAX_VCPUS)
		return SSM_ERR_INVALID_ARG;
	u = &m->kirq.lapic[index];
	u->m = m;
	u->index = index;
	rc = ssm_register_external(reg, "lapic", index, KIRQ_LAPIC_VERSION, sizeof(u->st),
				   index ? "kvm-pic" : NULL, 0, &cb, u);
	return rc;
}

int irqchip_units_register(struct machine *m, ssm *reg)
{
	static const ssm_callbacks cb = {
		.save_prep = chip_save_prep, .save_exec = chip_save_exec,
		.load_exec = chip_load_exec,
	};
	int rc = irqchip_units_register_lapic(m, reg, 0);

	for (unsigned i = 0; !rc && i < IRQCHIP_VM_UNITS; i++) {
		struct irqchip_vm_unit *c = &m->kirq.vm[i];

		c->m = m;
		c->which = i;
		rc = ssm_register_external(reg, vm_chips[i].u->name, 0, vm_chips[i].u->version,
					   vm_chips[i].u->size, NULL, 0, &cb, c);
	}
	return rc;
}

int irqchip_units_register_all_lapics(struct machine *m, ssm *reg)
{
	int rc = SSM_OK;

	for (uint32_t i = 1; !rc && i < IRQCHIP_MAX_VCPUS; i++)
		rc = irqchip_units_register_lapic(m, reg, i);
	return rc;
}

void irqchip_units_fit(ssm *reg, uint32_t n)
{
	/* Instances reg never held, or dropped before, are no error. */
	for (uint32_t i = n; i < IRQCHIP_MAX_VCPUS; i++)
		(void)ssm_deregister_external(reg, "lapic", i);
}

int irqchip_units_deregister(ssm *reg)
{
	int rc = SSM_OK;

	for (unsigned i = 0; !rc && i < IRQCHIP_VM_UNITS; i++)
		rc = ssm_deregister_external(reg, vm_chips[i].u->name, 0);
	if (!rc)
		irqchip_units_fit(reg, 0);
	return rc;
}

/* A record of the other mode's chips: the machine record, loaded first,
 * chose this VM's chips, so the state is forged or mixed. */
struct other_chip {
	const char *name, *mode;        /* the unit, the mode it belongs to */
	uint32_t version;
};

static int other_chip_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	const struct other_chip *c = ctx;

	(void)version;
	(void)pass;
	return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: a unit of --irqchip %s, but the "
				  "machine record's field irqchip chose the other mode for this VM",
				  c->name, c->mode);
}

int irqchip_units_register_refusers(ssm *reg, enum irqchip_mode vm_mode)
{
	static const struct other_chip user_chips[] = {
		{ "pic", "user", PIC_SSM_VERSION }, { "pit", "user", PIT_SSM_VERSION },
	};
	static const struct other_chip kernel_chips[] = {
		{ "lapic", "kernel", KIRQ_LAPIC_VERSION }, { "kvm-pic", "kernel", KIRQ_PIC_VERSION },
		{ "ioapic", "kernel", KIRQ_IOAPIC_VERSION }, { "kvm-pit", "kernel", KIRQ_PIT_VERSION },
	};
	/* Load only: with no save callback such a unit is never written. */
	static const ssm_callbacks cb = { .load_exec = other_chip_load };
	const struct other_chip *c = vm_mode == IRQCHIP_KERNEL ? user_chips : kernel_chips;
	size_t n = vm_mode == IRQCHIP_KERNEL ? 2 : 4;
	int rc = SSM_OK;

	for (size_t i = 0; !rc && i < n; i++)
		rc = ssm_register_external(reg, c[i].name, 0, c[i].version, 0, NULL, 0, &cb,
					   (void *)&c[i]);
	return rc;
}

bool irqchip_units_complete(struct machine *m, ssm *reg, const char **missing,
			    uint32_t *instance)
{
	*instance = 0;
	for (uint32_t i = 0; i < machine_ncpus(m); i++)
		if (!ssm_unit_final_loaded(reg, "lapic", i)) {
			*missing = "lapic";
			*instance = i;
			return false;
		}
	for (unsigned i = 0; i < IRQCHIP_VM_UNITS; i++)
		if (!ssm_unit_final_loaded(reg, vm_chips[i].u->name, 0)) {
			*missing = vm_chips[i].u->name;
			return false;
		}
	return true;
}
