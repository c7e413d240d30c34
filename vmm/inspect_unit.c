/* inspect_unit.c - decode one unit record into named fields for
 * `vmm inspect --unit`: through the unit's field tables (unit_schema.h)
 * where it has them, else by its documented payload (docs/units.md).
 * Every count and length read from the file is bounded before use; the
 * values are shown, not judged (that is `vmm verify`). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpu_codec.h"
#include "vmm/inspect.h"
#include "vmm/kvm.h"
#include "vmm/serial_backend.h"
#include "vmm/chain_id.h"
#include "vmm/unit_schema.h"
#include "vmm/units.h"

#define PAGE 4096u
#define RAM_RUN_MAX 256u           /* pages per run (ram.c RUN_MAX_PAGES) */

int inspect_add_uint(json_t *a, const char *name, const char *type, uint64_t v)
{
	char hex[24];
	json_t *o;

	snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
	o = json_pack("{s:s, s:s, s:s}", "name", name, "type", type, "hex", hex);
	/* JSON integers here are signed 64-bit: larger values only as hex. */
	if (o && v <= INT64_MAX && json_object_set_new(o, "value", json_integer((json_int_t)v)))
		o = (json_decref(o), NULL);
	return o ? json_array_append_new(a, o) : -1;
}

json_t *inspect_text(const char *s, size_t n)
{
	char *t = malloc(4 * n + 1), *p = t;
	json_t *j;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c <= 0x7e && c != '\\')
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p = 0;
	j = json_string(t);
	free(t);
	return j;
}

int inspect_add_text(json_t *a, const char *name, const char *s, size_t n)
{
	return json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "name", name, "type", "str",
						  "text", inspect_text(s, n)));
}

static int add_bytes(json_t *a, const char *name, const uint8_t *b, size_t n)
{
	char *hex = malloc(2 * n + 1);
	int rc;

	if (!hex)
		return -1;
	for (size_t i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	hex[2 * n] = 0;
	rc = json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", name, "type",
						"bytes", "hex", hex));
	free(hex);
	return rc;
}

static uint64_t le_at(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;

	/* Struct members are in this host's order; the VMM runs on x86. */
	memcpy(&v, p, size);
	return v;
}

/* Each stored field of table t over the struct at base, named
 * "PREFIX.FIELD". */
static int add_table(json_t *a, const char *prefix, const struct unit_table *t,
		     const uint8_t *base)
{
	char name[160];
	int rc = 0;

	for (const ssm_field *f = t->fields; !rc && f->transform != SSM_FT_INVALID; f++) {
		const uint8_t *p = base + f->off;

		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", f->name);
		switch (f->transform) {
		case SSM_FT_NONE:
			if (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8)
				rc = inspect_add_uint(a, name, "none", le_at(p, f->size));
			else
				rc = add_bytes(a, name, p, f->size);
			break;
		case SSM_FT_GCPHYS:
		case SSM_FT_GCPTR:
			rc = inspect_add_uint(a, name, unit_field_type(f->transform), le_at(p, 8));
			break;
		case SSM_FT_HCPTR_NI:
			rc = inspect_add_uint(a, name, "hcptr_ni", le_at(p, f->size) != 0);
			break;
		default:
			break;      /* not stored */
		}
	}
	return rc;
}

/* One table's struct read from h, then listed. */
static int get_table(ssm_handle *h, json_t *a, const char *prefix, const struct unit_table *t)
{
	uint8_t *buf = calloc(1, t->size);
	int rc;

	if (!buf)
		return SSM_ERR_NOMEM;
	rc = ssm_get_struct(h, buf, t->size, t->flags, t->fields, NULL);
	if (!rc && add_table(a, prefix, t, buf))
		rc = SSM_ERR_NOMEM;
	free(buf);
	return rc;
}

static int get_u32_field(ssm_handle *h, json_t *a, const char *name, uint32_t *out)
{
	uint32_t v;
	int rc;

	ssm_handle_set_field(h, name);
	rc = ssm_get_u32(h, &v);
	ssm_handle_set_field(h, NULL);
	if (!rc && inspect_add_uint(a, name, "u32", v))
		rc = SSM_ERR_NOMEM;
	if (out)
		*out = v;
	return rc;
}

static int get_str_field(ssm_handle *h, json_t *a, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	int rc;

	ssm_handle_set_field(h, name);
	rc = ssm_get_str(h, buf, size, &len);
	ssm_handle_set_field(h, NULL);
	if (!rc && inspect_add_text(a, name, buf, len))
		rc = SSM_ERR_NOMEM;
	return rc;
}

/* Live pass 0 of a device: str model, then u32 parameters. */
static int show_identity(ssm_handle *h, json_t *a, const char *const *params, size_t n)
{
	char model[64];
	int rc = get_str_field(h, a, "model", model, sizeof(model));

	for (size_t i = 0; !rc && i < n; i++)
		rc = get_u32_field(h, a, params[i], NULL);
	return rc;
}

static int show_device(ssm_handle *h, json_t *a, const struct unit_schema *u, uint32_t pass)
{
	static const char *const pic_id[] = { "version", "chips", "cascade_ir" };
	static const char *const pit_id[] = { "version", "channels", "clock_hz" };
	static const char *const serial_id[] = { "version", "fifo_size" };
	static const char *const fw_cfg_id[] = { "version", "ports" };
	uint64_t now;
	int rc;

	if (pass != SSM_PASS_FINAL) {
		if (!strcmp(u->name, "pic"))
			return show_identity(h, a, pic_id, 3);
		if (!strcmp(u->name, "pit"))
			return show_identity(h, a, pit_id, 3);
		if (!strcmp(u->name, "fw-cfg"))
			return show_identity(h, a, fw_cfg_id, 2);
		return show_identity(h, a, serial_id, 2);
	}
	rc = get_table(h, a, "", &u->tables[0]);
	if (!rc && !strcmp(u->name, "pit")) {
		rc = ssm_get_u64(h, &now);
		if (!rc && inspect_add_uint(a, "saved_now", "u64", now))
			rc = SSM_ERR_NOMEM;
	}
	return rc;
}

static int show_machine(ssm_handle *h, json_t *a, uint32_t version)
{
	struct saved_config *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return SSM_ERR_NOMEM;
	/* The machine unit's own reader, with its own bounds. */
	rc = units_get_config(h, version, c);
	if (!rc && (inspect_add_uint(a, "ram_size", "u64", c->ram_size) ||
		    inspect_add_text(a, "cmdline", c->cmdline, strlen(c->cmdline)) ||
		    inspect_add_text(a, "kernel", c->kernel, strlen(c->kernel)) ||
		    inspect_add_uint(a, "kernel_size", "u64", c->kernel_size) ||
		    inspect_add_uint(a, "kernel_crc", "u32", c->kernel_crc) ||
		    inspect_add_text(a, "serial", c->serial, strlen(c->serial)) ||
		    (version >= 2 && (inspect_add_uint(a, "multiboot", "u8", c->multiboot) ||
				      inspect_add_uint(a, "nmodules", "u32", c->nmodules))) ||
		    (version >= 3 && inspect_add_uint(a, "irqchip", "u8", c->irqchip)) ||
		    inspect_add_uint(a, "clock_ns", "u64", c->clock_ns)))
		rc = SSM_ERR_NOMEM;
	for (uint32_t i = 0; !rc && i < c->nmodules; i++)
		if (inspect_add_text(a, "module.spec", c->module[i].spec,
				     strlen(c->module[i].spec)) ||
		    inspect_add_uint(a, "module.size", "u64", c->module[i].size) ||
		    inspect_add_uint(a, "module.crc", "u32", c->module[i].crc))
			rc = SSM_ERR_NOMEM;
	free(c);
	return rc;
}

static int show_parent(ssm_handle *h, json_t *a, uint32_t version)
{
	struct chain_parent_rec p;
	int rc = chain_get_record(h, version, &p);

	if (!rc && (add_bytes(a, "id", p.id, CHAIN_ID_LEN) ||
		    inspect_add_text(a, "name", p.name, strlen(p.name))))
		rc = SSM_ERR_NOMEM;
	return rc;
}

static int show_backend(ssm_handle *h, json_t *a)
{
	char spec[UNITS_PATH_MAX];
	uint8_t kind, buf[SERIAL_BACKEND_BUF];
	uint32_t n;
	int rc;

	ssm_handle_set_field(h, "kind");
	rc = ssm_get_u8(h, &kind);
	ssm_handle_set_field(h, NULL);
	if (!rc && inspect_add_uint(a, "kind", "u8", kind))
		rc = SSM_ERR_NOMEM;
	if (!rc)
		rc = get_str_field(h, a, "spec", spec, sizeof(spec));
	if (!rc)
		rc = get_u32_field(h, a, "pending", &n);
	if (!rc && n > sizeof(buf))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial-backend: %u pending "
					  "bytes (at most %zu)", n, sizeof(buf));
	if (!rc)
		rc = ssm_get_mem(h, buf, n);
	if (!rc && n && inspect_add_text(a, "pending bytes", (const char *)buf, n))
		rc = SSM_ERR_NOMEM;
	return rc;
}

/* ram: a summary, not 4096 bytes a page. */
static int show_ram(ssm_handle *h, json_t *a)
{
	uint8_t kind, *page = malloc(PAGE);
	uint64_t size = 0, pages = 0, zero = 0, runs = 0;
	int rc;

	if (!page)
		return SSM_ERR_NOMEM;
	rc = ssm_get_u8(h, &kind);
	if (!rc && inspect_add_uint(a, "kind", "u8", kind))
		rc = SSM_ERR_NOMEM;
	if (!rc && kind == 0) {
		bool in_zero = false;

		ssm_handle_set_field(h, "size");
		rc = ssm_get_u64(h, &size);
		ssm_handle_set_field(h, NULL);
		/* The bound keeps a file of zero records from describing
		 * more RAM than there is time to count. */
		if (!rc && (size % PAGE || size > KVM_RAM_MAX))
			rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: field size %" PRIu64
						" is not a whole number of pages up to %llu", size,
						(unsigned long long)KVM_RAM_MAX);
		/* Bounded by the unit's data: a short one fails the read. */
		for (; !rc && pages < size / PAGE; pages++) {
			static const uint8_t zeros[PAGE];
			bool z;

			rc = ssm_get_mem(h, page, PAGE);
			z = !rc && !memcmp(page, zeros, PAGE);
			zero += z;
			runs += z && !in_zero;
			in_zero = z;
		}
		if (!rc && (inspect_add_uint(a, "size", "u64", size) ||
			    inspect_add_uint(a, "pages", "count", pages) ||
			    inspect_add_uint(a, "zero_pages", "count", zero) ||
			    inspect_add_uint(a, "zero_runs", "count", runs)))
			rc = SSM_ERR_NOMEM;
	} else if (!rc && kind == 1) {
		uint64_t first, lo = UINT64_MAX, hi = 0;
		uint32_t n;

		for (;;) {
			rc = ssm_get_u64(h, &first);
			if (!rc)
				rc = ssm_get_u32(h, &n);
			if (rc || !n)
				break;
			if (n > RAM_RUN_MAX || first > UINT64_MAX / PAGE - n) {
				rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: page run %" PRIu64
							"+%u: at most %u pages, inside 2^64 bytes",
							first, n, RAM_RUN_MAX);
				break;
			}
			rc = ssm_skip(h, (uint64_t)n * PAGE);
			runs++;
			pages += n;
			lo = first < lo ? first : lo;
			hi = first + n > hi ? first + n : hi;
		}
		if (!rc && (inspect_add_uint(a, "runs", "count", runs) ||
			    inspect_add_uint(a, "pages", "count", pages) ||
			    (runs && inspect_add_uint(a, "first_page", "u64", lo)) ||
			    (runs && inspect_add_uint(a, "end_page", "u64", hi))))
			rc = SSM_ERR_NOMEM;
	} else if (!rc) {
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "ram: record kind %u unknown", kind);
	}
	free(page);
	return rc;
}

static int add_pairs(json_t *a, const char *what, uint32_t n, const uint32_t *idx,
		     size_t istride, const uint64_t *val, size_t vstride)
{
	char name[48];

	for (uint32_t i = 0; i < n; i++) {
		const uint32_t *ip = (const uint32_t *)((const char *)idx + i * istride);
		const uint64_t *vp = (const uint64_t *)((const char *)val + i * vstride);

		snprintf(name, sizeof(name), "%s[%u].index", what, i);
		if (inspect_add_uint(a, name, "u32", *ip))
			return -1;
		snprintf(name, sizeof(name), "%s[%u].value", what, i);
		if (inspect_add_uint(a, name, "u64", *vp))
			return -1;
	}
	return 0;
}

/* cpu: the codec's own reader, then its tables over the snapshot. */
static int show_cpu(ssm_handle *h, json_t *a, uint32_t version)
{
	struct cpu_snapshot s;
	char name[48];
	bool line, deferred;
	int rc = cpu_codec_get(h, version, &s);

	if (!rc)
		rc = ssm_get_bool(h, &line);
	if (!rc)
		rc = ssm_get_bool(h, &deferred);
	for (size_t i = 0; !rc && i < CPU_CODEC_NTABLES; i++) {
		const struct unit_table *t = &cpu_codec_tables[i];

		if (version < t->since)
			continue;
		if (t->where != UNIT_TABLE_ARRAY) {
			rc = add_table(a, t->name, t, (const uint8_t *)&s + t->where) ? -1 : 0;
			continue;
		}
		for (uint32_t k = 0; !rc && k < s.ncpuid; k++) {
			snprintf(name, sizeof(name), "%s[%u]", t->name, k);
			rc = add_table(a, name, t, (const uint8_t *)&s.cpuid[k]) ? -1 : 0;
		}
	}
	if (!rc && (inspect_add_uint(a, "xcrs.n", "u32", s.xcrs.nr_xcrs) ||
		    add_pairs(a, "xcrs", s.xcrs.nr_xcrs, &s.xcrs.xcrs[0].xcr, sizeof(s.xcrs.xcrs[0]),
			      (const uint64_t *)&s.xcrs.xcrs[0].value, sizeof(s.xcrs.xcrs[0])) ||
		    inspect_add_uint(a, "xsave.len", "u32", s.xsave_len) ||
		    inspect_add_uint(a, "msrs.n", "u32", s.nmsrs) ||
		    add_pairs(a, "msrs", s.nmsrs, &s.msrs[0].index, sizeof(s.msrs[0]),
			      (const uint64_t *)&s.msrs[0].data, sizeof(s.msrs[0])) ||
		    inspect_add_uint(a, "mp_state", "u32", s.mp_state) ||
		    (version >= 2 && inspect_add_uint(a, "tsc_khz", "u32", s.tsc_khz)) ||
		    inspect_add_uint(a, "irq_line", "bool", line) ||
		    inspect_add_uint(a, "tick_deferred", "bool", deferred)))
		rc = SSM_ERR_NOMEM;
	cpu_snapshot_free(&s);
	return rc;
}

json_t *inspect_unit_fields(ssm_handle *h, const char *name, uint32_t version, uint32_t pass,
			    char *err, size_t errlen)
{
	const struct unit_schema *u = unit_schema_find(name);
	json_t *a;
	int rc;

	if (!u) {
		snprintf(err, errlen, "unit '%s' is not one this vmm knows: no field table to "
			 "decode it with", name);
		return NULL;
	}
	if (version < u->version_min || version > u->version) {
		snprintf(err, errlen, "unit '%s' version %u: this vmm reads %u..%u", name, version,
			 u->version_min, u->version);
		return NULL;
	}
	a = json_array();
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!strcmp(name, "machine"))
		rc = show_machine(h, a, version);
	else if (!strcmp(name, "ram"))
		rc = show_ram(h, a);
	else if (!strcmp(name, "cpu"))
		rc = show_cpu(h, a, version);
	else if (!strcmp(name, "serial-backend"))
		rc = show_backend(h, a);
	else if (!strcmp(name, "parent"))
		rc = show_parent(h, a, version);
	else
		rc = show_device(h, a, u, pass);
	/* A payload longer than its layout was not written by this layout. */
	if (!rc && ssm_handle_remaining(h) && ssm_handle_remaining(h) != UINT64_MAX)
		rc = ssm_set_load_error(h, SSM_ERR_DATA_LEFT, "%" PRIu64 " bytes left after "
					"the documented payload", ssm_handle_remaining(h));
	if (rc) {
		snprintf(err, errlen, "unit '%s': %s", name, ssm_handle_error(h)[0] ?
			 ssm_handle_error(h) : ssm_strerror(rc));
		json_decref(a);
		return NULL;
	}
	return a;
}
