/* cpu_forge.c - rewrite a state file with values of its cpu unit changed,
 * every CRC recomputed by libssm, for the end-to-end tests of the cpu
 * unit's checks (tests/e2e/test-cpu-state.sh).  Every other unit is copied
 * as the decoded bytes of its final pass.
 *
 *   cpu_forge --info FILE          print the cpu unit's version and sizes
 *   cpu_forge IN OUT SET...        SET: FIELD=VALUE, VALUE in C notation;
 *                                  FIELD one of those in fields[] below,
 *                                  msr.INDEX (replaced or appended), or
 *                                  cpuid.LEAF.SUB.REG (|= VALUE), or
 *                                  version (the cpu unit's version: 1
 *                                  drops the CPUID and TSC frequency)
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "vmm/cpu_codec.h"

struct unit {
	ssm_unit_info ui;
	uint8_t *data;          /* decoded data (for cpu: what follows the codec) */
	size_t len;
};

static struct unit units[64];
static unsigned nunits;
static struct cpu_snapshot cpu;
static uint32_t cpu_version;

#define F64(name, expr) { name, 8, offsetof(struct cpu_snapshot, expr) }
#define F32(name, expr) { name, 4, offsetof(struct cpu_snapshot, expr) }
#define F8(name, expr) { name, 1, offsetof(struct cpu_snapshot, expr) }

static const struct field {
	const char *name;
	unsigned size;
	size_t off;
} fields[] = {
	F64("regs.rip", regs.rip), F64("regs.rflags", regs.rflags),
	F64("sregs.cr0", sregs.cr0), F64("sregs.cr3", sregs.cr3), F64("sregs.cr4", sregs.cr4),
	F64("sregs.cr8", sregs.cr8), F64("sregs.efer", sregs.efer),
	F64("sregs.apic_base", sregs.apic_base), F8("sregs.cs.db", sregs.cs.db),
	F8("sregs.cs.type", sregs.cs.type), F8("sregs.ss.dpl", sregs.ss.dpl),
	F64("sregs.interrupt_bitmap0", sregs.interrupt_bitmap[0]),
	F32("xcrs.n", xcrs.nr_xcrs), F64("xcrs.xcr0", xcrs.xcrs[0].value),
	F64("debugregs.dr7", dbg.dr7), F8("events.smi.smm", ev.smi.smm),
	F8("events.exception.nr", ev.exception.nr),
	F8("events.exception.injected", ev.exception.injected),
	F32("mp_state", mp_state), F64("kvmclock.clock", clk.clock),
	F32("tsc_khz", tsc_khz),
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "cpu_forge: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* Read every final-pass unit of path into units[], the cpu unit decoded. */
static int read_file(const char *path)
{
	ssm_file_info fi;
	ssm_handle *h = NULL;
	ssm_stream st;
	int rc;

	if (ssm_stream_file_open(&st, path) || ssm_open(st, &h) || ssm_file_info_get(h, &fi))
		return die("cannot open %s", path);
	for (uint32_t i = 0; i < fi.unit_count; i++) {
		struct unit *u = &units[nunits];

		if (ssm_unit_info_get(h, i, &u->ui) || u->ui.pass != SSM_PASS_FINAL)
			continue;
		if (nunits == 64 || ssm_seek(h, u->ui.name, u->ui.instance, NULL))
			return die("cannot read unit %s", u->ui.name);
		if (!strcmp(u->ui.name, "cpu")) {
			cpu_version = u->ui.version;
			if (cpu_codec_get(h, cpu_version, &cpu))
				return die("%s", ssm_handle_error(h));
		}
		u->len = (size_t)ssm_handle_remaining(h);
		u->data = malloc(u->len ? u->len : 1);
		if (!u->data)
			return die("out of memory for %s", u->ui.name);
		rc = ssm_get_mem(h, u->data, u->len);
		if (rc)
			return die("%s", ssm_handle_error(h));
		nunits++;
	}
	ssm_close(h);
	return cpu.xsave ? 0 : die("%s has no cpu unit", path);
}

static int save_exec(void *ctx, ssm_handle *h)
{
	struct unit *u = ctx;
	int rc = SSM_OK;

	if (!strcmp(u->ui.name, "cpu"))
		rc = cpu_codec_put(h, &cpu, cpu_version);
	return rc ? rc : ssm_put_mem(h, u->data, u->len);
}

static int write_file(const char *path)
{
	static const ssm_callbacks cb = { .save_exec = save_exec };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	int rc = s ? SSM_OK : SSM_ERR_NOMEM;

	for (unsigned i = 0; !rc && i < nunits; i++)
		rc = ssm_register_external(s, units[i].ui.name, units[i].ui.instance,
					   units[i].ui.version, units[i].len + 16384, NULL,
					   units[i].ui.flags, &cb, &units[i]);
	if (!rc)
		rc = ssm_stream_file_create(&st, path);
	if (!rc)
		rc = ssm_save(s, st, NULL);
	if (rc)
		fprintf(stderr, "cpu_forge: writing %s: %s\n", path,
			s && ssm_last_error(s)[0] ? ssm_last_error(s) : ssm_strerror(rc));
	ssm_destroy(s);
	return rc ? 1 : 0;
}

static int set_msr(uint32_t idx, uint64_t v)
{
	struct kvm_msr_entry *m;

	for (uint32_t i = 0; i < cpu.nmsrs; i++)
		if (cpu.msrs[i].index == idx) {
			cpu.msrs[i].data = v;
			return 0;
		}
	m = realloc(cpu.msrs, (cpu.nmsrs + 1) * sizeof(*m));
	if (!m)
		return 1;
	cpu.msrs = m;
	cpu.msrs[cpu.nmsrs].index = idx;
	cpu.msrs[cpu.nmsrs++].data = v;
	return 0;
}

static int or_cpuid(const char *spec, uint64_t v)
{
	unsigned fn, sub;
	char reg[4];

	if (sscanf(spec, "%x.%u.%3s", &fn, &sub, reg) != 3)
		return die("bad cpuid spec %s (LEAF.SUB.REG)", spec);
	for (uint32_t i = 0; i < cpu.ncpuid; i++) {
		struct kvm_cpuid_entry2 *e = &cpu.cpuid[i];

		if (e->function != fn || e->index != sub)
			continue;
		if (!strcmp(reg, "eax"))
			e->eax |= (uint32_t)v;
		else if (!strcmp(reg, "ebx"))
			e->ebx |= (uint32_t)v;
		else if (!strcmp(reg, "ecx"))
			e->ecx |= (uint32_t)v;
		else
			e->edx |= (uint32_t)v;
		return 0;
	}
	return die("no cpuid leaf %s in the file", spec);
}

static int apply(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[64];
	uint64_t v;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return die("bad setting %s (FIELD=VALUE)", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = 0;
	v = strtoull(eq + 1, NULL, 0);
	if (!strncmp(name, "msr.", 4))
		return set_msr((uint32_t)strtoul(name + 4, NULL, 0), v);
	if (!strncmp(name, "cpuid.", 6))
		return or_cpuid(name + 6, v);
	if (!strcmp(name, "version")) {
		cpu_version = (uint32_t)v;
		for (unsigned i = 0; i < nunits; i++)
			if (!strcmp(units[i].ui.name, "cpu"))
				units[i].ui.version = cpu_version;
		return 0;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint8_t *p = (uint8_t *)&cpu + fields[i].off;

		if (strcmp(fields[i].name, name))
			continue;
		for (unsigned b = 0; b < fields[i].size; b++)
			p[b] = (uint8_t)(v >> (8 * b));
		return 0;
	}
	return die("unknown field %s", name);
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--info")) {
		if (read_file(argv[2]))
			return 1;
		printf("cpu version %u cpuid %u tsc_khz %u xsave %u msrs %u\n", cpu_version,
		       cpu.ncpuid, cpu.tsc_khz, cpu.xsave_len, cpu.nmsrs);
		return 0;
	}
	if (argc < 4)
		return die("usage: cpu_forge --info FILE | cpu_forge IN OUT FIELD=VALUE...%s", "");
	if (read_file(argv[1]))
		return 1;
	for (int i = 3; i < argc; i++)
		if (apply(argv[i]))
			return 1;
	rc = write_file(argv[2]);
	cpu_snapshot_free(&cpu);
	for (unsigned i = 0; i < nunits; i++)
		free(units[i].data);
	return rc;
}
