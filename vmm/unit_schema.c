/* unit_schema.c - the registry of the VMM's units for the tools (see
 * unit_schema.h).  A unit added to units_register() gets a line here; the
 * tables are the ones its code saves with, so a changed table shows up in
 * `vmm schema` (and tests/unit/test_schema.c) without anyone updating a
 * copy. */
#include <string.h>

#include "devices/fw_cfg.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "vmm/chain_id.h"
#include "vmm/cpu_codec.h"
#include "vmm/irqchip_state.h"
#include "vmm/ram.h"
#include "vmm/unit_schema.h"
#include "vmm/units.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct unit_table pic_tables[] = {
	{ "state", pic_fields, sizeof(struct pic_state), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table pit_tables[] = {
	{ "state", pit_fields, sizeof(struct pit_state), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table fw_cfg_tables[] = {
	{ "state", fw_cfg_fields, sizeof(struct fw_cfg_state), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table serial_tables[] = {
	{ "state", serial_fields, sizeof(struct serial_state), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table lapic_tables[] = {
	{ "state", kirq_lapic_fields, sizeof(struct kirq_lapic), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table kvm_pic_tables[] = {
	{ "state", kirq_pic_fields, sizeof(struct kirq_pic), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table ioapic_tables[] = {
	{ "state", kirq_ioapic_fields, sizeof(struct kirq_ioapic), SSM_STRUCT_FULL, 1, 0 },
};
static const struct unit_table kvm_pit_tables[] = {
	{ "state", kirq_pit_fields, sizeof(struct kirq_pit), SSM_STRUCT_FULL, 1, 0 },
};

const struct unit_schema unit_schemas[] = {
	{ "machine", SSM_FLAVOUR_EXTERNAL, MACHINE_VERSION, MACHINE_VERSION_MIN, NULL, 0,
	  "u64 ram_size, str cmdline, str kernel, u64 kernel_size, u32 kernel_crc, "
	  "str serial, [v2: u8 multiboot, u32 nmodules, nmodules x (str spec, u64 size, "
	  "u32 crc)], [v3: u8 irqchip], u64 clock_ns" },
	{ "pic", SSM_FLAVOUR_DEVICE, PIC_SSM_VERSION, PIC_SSM_VERSION_MIN, pic_tables,
	  N(pic_tables), "live pass 0: str model, u32 version, chips, cascade_ir; "
	  "final: state" },
	{ "pit", SSM_FLAVOUR_DEVICE, PIT_SSM_VERSION, PIT_SSM_VERSION_MIN, pit_tables,
	  N(pit_tables), "live pass 0: str model, u32 version, channels, clock_hz; "
	  "final: state, u64 saved_now" },
	{ "serial", SSM_FLAVOUR_DEVICE, SERIAL_SSM_VERSION, SERIAL_SSM_VERSION_MIN,
	  serial_tables, N(serial_tables), "live pass 0: str model, u32 version, "
	  "fifo_size; final: state" },
	{ "ram", SSM_FLAVOUR_INTERNAL, RAM_VERSION, RAM_VERSION_MIN, NULL, 0,
	  "u8 kind; kind 0: u64 size, size bytes (v2: one extent in a file); kind 1: runs of u64 first_page, "
	  "u32 npages, npages x 4096 bytes, ended by npages 0" },
	{ "cpu", SSM_FLAVOUR_INTERNAL, CPU_STATE_VERSION, CPU_STATE_VERSION_MIN,
	  cpu_codec_tables, CPU_CODEC_NTABLES,
	  "regs, cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, control, u32 n + n x "
	  "(u32 xcr, u64 value), u32 len + len bytes xsave, u32 n + n x (u32 index, "
	  "u64 value) msrs, debugregs, events, u32 mp_state, kvmclock, [v2: u32 n + "
	  "n x cpuid, u32 tsc_khz], bool irq_line, bool tick_deferred" },
	{ "serial-backend", SSM_FLAVOUR_DRIVER, BACKEND_VERSION, BACKEND_VERSION_MIN, NULL, 0,
	  "u8 kind, str spec, u32 n, n bytes pending" },
	{ "parent", SSM_FLAVOUR_EXTERNAL, PARENT_VERSION, PARENT_VERSION, NULL, 0,
	  "incremental child only: 32 bytes id (SHA-256 of the parent's directory and "
	  "footer), str name (the parent's file name, beside this file)" },
	{ "fw-cfg", SSM_FLAVOUR_DEVICE, FW_CFG_SSM_VERSION, FW_CFG_SSM_VERSION_MIN,
	  fw_cfg_tables, N(fw_cfg_tables), "live pass 0: str model, u32 version, ports; "
	  "final: state" },
	{ "lapic", SSM_FLAVOUR_EXTERNAL, KIRQ_LAPIC_VERSION, KIRQ_LAPIC_VERSION_MIN,
	  lapic_tables, N(lapic_tables), "--irqchip kernel, instance = vCPU index; "
	  "final: state (KVM_GET_LAPIC's registers, TSC deadline, x2APIC mode)" },
	{ "kvm-pic", SSM_FLAVOUR_EXTERNAL, KIRQ_PIC_VERSION, KIRQ_PIC_VERSION_MIN,
	  kvm_pic_tables, N(kvm_pic_tables), "--irqchip kernel; final: state "
	  "(KVM_GET_IRQCHIP PIC master, slave)" },
	{ "ioapic", SSM_FLAVOUR_EXTERNAL, KIRQ_IOAPIC_VERSION, KIRQ_IOAPIC_VERSION_MIN,
	  ioapic_tables, N(ioapic_tables), "--irqchip kernel; final: state "
	  "(KVM_GET_IRQCHIP IOAPIC)" },
	{ "kvm-pit", SSM_FLAVOUR_EXTERNAL, KIRQ_PIT_VERSION, KIRQ_PIT_VERSION_MIN,
	  kvm_pit_tables, N(kvm_pit_tables), "--irqchip kernel; final: state "
	  "(KVM_GET_PIT2 channels, flags)" },
};
const size_t unit_schema_count = N(unit_schemas);

const struct unit_schema *unit_schema_find(const char *name)
{
	for (size_t i = 0; i < unit_schema_count; i++)
		if (!strcmp(unit_schemas[i].name, name))
			return &unit_schemas[i];
	return NULL;
}

const char *unit_field_type(ssm_field_transform t)
{
	static const char *const names[] = {
		[SSM_FT_NONE] = "none", [SSM_FT_GCPHYS] = "gcphys", [SSM_FT_GCPTR] = "gcptr",
		[SSM_FT_HCPTR_NI] = "hcptr_ni", [SSM_FT_HCPTR] = "hcptr",
		[SSM_FT_IGNORE] = "ignore", [SSM_FT_PAD_HC] = "pad_hc",
		[SSM_FT_CALLBACK] = "callback",
	};

	return (unsigned)t < N(names) && names[t] ? names[t] : "?";
}

uint32_t unit_field_stored(const ssm_field *f)
{
	switch (f->transform) {
	case SSM_FT_NONE:
		return f->size;
	case SSM_FT_GCPHYS:
	case SSM_FT_GCPTR:
		return 8;
	case SSM_FT_HCPTR_NI:
		return 1;
	case SSM_FT_CALLBACK:
		return UINT32_MAX;
	default:
		return 0;
	}
}
