/* inspect.c - `vmm inspect FILE [--json] [--unit NAME[:INSTANCE]]`: what a
 * state file holds, without loading it (docs/inspect.md).  The JSON is
 * built with jansson; the text form prints the same object. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/chain_id.h"
#include "vmm/inspect.h"
#include "vmm/unit_schema.h"
#include "vmm/units.h"

struct inspect_args {
	const char *path;
	bool json;
	const char *unit;          /* --unit NAME (points at unit_name) */
	uint32_t instance;
	char unit_name[SSM_NAME_MAX + 1];
};

/* The file this one is an increment of (chain_id.h): its name, as the
 * record gives it (resolved beside this file), or null for a base. */
static json_t *chain_parent(ssm_handle *h)
{
	struct chain_parent_rec p;
	uint32_t version;

	if (ssm_seek(h, "parent", 0, &version) || chain_get_record(h, version, &p))
		return json_null();
	return inspect_text(p.name, strlen(p.name));
}

/* Its identity, in hex, as the parent must have it. */
static json_t *chain_parent_id(ssm_handle *h)
{
	struct chain_parent_rec p;
	char hex[2 * CHAIN_ID_LEN + 1];
	uint32_t version;

	if (ssm_seek(h, "parent", 0, &version) || chain_get_record(h, version, &p))
		return json_null();
	for (unsigned i = 0; i < CHAIN_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", p.id[i]);
	return json_string(hex);
}

static json_t *pass_json(uint32_t pass)
{
	return pass == SSM_PASS_FINAL ? json_string("final") : json_integer(pass);
}

static json_t *kinds_json(uint32_t kinds)
{
	json_t *a = json_array();
	char other[16];

	for (unsigned t = 0; a && t < 32; t++) {
		const char *n = ssm_record_kind_name(t);

		if (!(kinds & (1u << t)))
			continue;
		snprintf(other, sizeof(other), "type %u", t);
		json_array_append_new(a, json_string(n ? n : other));
	}
	return a;
}

/* One row of the unit table: the directory entry, then what reading the
 * unit record through found (*bad set and "error" given if it failed). */
static json_t *unit_row(ssm_handle *h, uint32_t i, bool *bad)
{
	const struct unit_schema *u;
	ssm_unit_info ui;
	ssm_unit_stats st;
	json_t *o;
	int rc;

	if (ssm_unit_info_get(h, i, &ui))
		return NULL;
	u = unit_schema_find(ui.name);
	o = json_pack("{s:s, s:I, s:o, s:I, s:o, s:b, s:I, s:I}", "name", ui.name, "instance",
		      (json_int_t)ui.instance, "flavour",
		      u ? json_string(ssm_flavour_name(u->flavour)) : json_null(), "version",
		      (json_int_t)ui.version, "pass", pass_json(ui.pass), "optional",
		      (ui.flags & SSM_UNIT_OPTIONAL) != 0, "offset", (json_int_t)ui.offset,
		      "data_len", (json_int_t)ui.data_len);
	if (!o)
		return NULL;
	rc = ssm_unit_check(h, i, &st);
	if (rc) {
		*bad = true;
		json_object_set_new(o, "checksum", json_string("bad"));
		json_object_set_new(o, "error", json_string(ssm_handle_error(h)[0] ?
							    ssm_handle_error(h) : ssm_strerror(rc)));
		return o;
	}
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)st.stored_bytes));
	json_object_set_new(o, "records", json_integer(st.records));
	json_object_set_new(o, "compression", kinds_json(st.kinds));
	json_object_set_new(o, "checksum", json_string("ok"));
	return o;
}

static json_t *fields_to_object(const json_t *fields)
{
	json_t *o = json_object();
	size_t i;
	const json_t *f;

	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *v = json_object_get(f, "value");

		if (!v)
			v = json_object_get(f, "text");
		if (!v)
			v = json_object_get(f, "hex");
		json_object_set(o, name, v);
	}
	return o;
}

static json_t *machine_json(ssm_handle *h, bool *bad, char *err, size_t errlen)
{
	uint32_t version;
	json_t *fields, *m;

	if (ssm_seek(h, "machine", 0, &version)) {
		snprintf(err, errlen, "machine: %s", ssm_handle_error(h));
		*bad = true;
		return json_null();
	}
	fields = inspect_unit_fields(h, "machine", version, SSM_PASS_FINAL, err, errlen);
	if (!fields) {
		*bad = true;
		return json_null();
	}
	m = fields_to_object(fields);
	json_decref(fields);
	return m ? m : json_null();
}

static json_t *file_json(ssm_handle *h, const char *path, bool *bad, char *err, size_t len)
{
	ssm_file_info fi;
	json_t *units, *o;

	ssm_file_info_get(h, &fi);
	units = json_array();
	for (uint32_t i = 0; units && i < fi.unit_count; i++)
		if (json_array_append_new(units, unit_row(h, i, bad)))
			units = (json_decref(units), NULL);
	if (!units)
		return NULL;
	o = json_pack("{s:o, s:I, s:{s:i, s:i}, s:{s:i, s:s, s:I, s:s}, s:n}", "file",
		      inspect_text(path, strlen(path)),
		      "size", (json_int_t)fi.file_size, "format", "major", fi.major, "minor",
		      fi.minor, "host", "bits", fi.host_bits, "endian",
		      fi.little_endian ? "little" : "big", "page_size", (json_int_t)fi.page_size,
		      "build_id", fi.build_id, "created");
	if (!o) {
		json_decref(units);
		return NULL;
	}
	json_object_set_new(o, "machine", machine_json(h, bad, err, len));
	json_object_set_new(o, "parent", chain_parent(h));
	json_object_set_new(o, "parent_id", chain_parent_id(h));
	json_object_set_new(o, "units", units);
	return o;
}

/* ---- text output --------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_machine(const json_t *m)
{
	if (!json_is_object(m)) {
		printf("machine    (unreadable)\n");
		return;
	}
	/* Files before machine version 3 have one vCPU and no ncpus field. */
	printf("machine    RAM %lluM, %lld vCPU%s, clock %.3f s\n",
	       (unsigned long long)num(m, "ram_size") >> 20,
	       json_object_get(m, "ncpus") ? num(m, "ncpus") : 1,
	       json_object_get(m, "ncpus") && num(m, "ncpus") != 1 ? "s" : "",
	       (double)num(m, "clock_ns") / 1e9);
	printf("cmdline    \"%s\"\n", str(m, "cmdline"));
	printf("kernel     %s (%lld bytes, CRC32 %08llx)\n", str(m, "kernel"),
	       num(m, "kernel_size"), (unsigned long long)num(m, "kernel_crc"));
	printf("serial     %s\n", str(m, "serial"));
}

static void print_file(const json_t *o)
{
	const json_t *u, *host = json_object_get(o, "host");
	size_t i;

	printf("file       %s (%lld bytes)\n", str(o, "file"), num(o, "size"));
	printf("format     %lld.%lld, written by \"%s\"\n",
	       num(json_object_get(o, "format"), "major"),
	       num(json_object_get(o, "format"), "minor"), str(host, "build_id"));
	printf("host       %lld-bit, %s-endian, page size %lld\n", num(host, "bits"),
	       str(host, "endian"), num(host, "page_size"));
	printf("created    not recorded by the format\n");
	print_machine(json_object_get(o, "machine"));
	if (json_is_string(json_object_get(o, "parent")))
		printf("parent     %s (sha256 %.16s...)\n", str(o, "parent"), str(o, "parent_id"));
	else
		printf("parent     none\n");
	printf("\n%-16s %4s %-8s %3s %5s %10s %12s %12s %5s %-10s %s\n", "UNIT", "INST",
	       "FLAVOUR", "VER", "PASS", "OFFSET", "STORED", "LOGICAL", "RECS", "COMPRESS",
	       "CHECKSUM");
	json_array_foreach(json_object_get(o, "units"), i, u) {
		const json_t *p = json_object_get(u, "pass"), *k;
		char pass[12], comp[48] = "", stored[24] = "-", recs[12] = "-";
		size_t j;

		if (json_is_string(p))
			snprintf(pass, sizeof(pass), "%s", json_string_value(p));
		else
			snprintf(pass, sizeof(pass), "%lld", (long long)json_integer_value(p));
		json_array_foreach(json_object_get(u, "compression"), j, k)
			snprintf(comp + strlen(comp), sizeof(comp) - strlen(comp), "%s%s",
				 j ? "," : "", json_string_value(k));
		if (json_object_get(u, "stored_bytes")) {
			snprintf(stored, sizeof(stored), "%lld", num(u, "stored_bytes"));
			snprintf(recs, sizeof(recs), "%lld", num(u, "records"));
		}
		printf("%-16s %4lld %-8s %3lld %5s %10lld %12s %12lld %5s %-10s %s\n",
		       str(u, "name"), num(u, "instance"),
		       json_is_string(json_object_get(u, "flavour")) ? str(u, "flavour") : "?",
		       num(u, "version"), pass, num(u, "offset"), stored, num(u, "data_len"),
		       recs, comp[0] ? comp : "-", str(u, "checksum"));
		if (json_object_get(u, "error"))
			printf("  %s\n", str(u, "error"));
	}
}

static void print_fields(const json_t *o)
{
	const json_t *f;
	size_t i;

	printf("unit %s instance %lld, version %lld, pass ", str(o, "unit"), num(o, "instance"),
	       num(o, "version"));
	if (json_is_string(json_object_get(o, "pass")))
		printf("final\n");
	else
		printf("%lld\n", num(o, "pass"));
	json_array_foreach(json_object_get(o, "fields"), i, f) {
		const json_t *v = json_object_get(f, "value");

		if (json_object_get(f, "text"))
			printf("  %-28s \"%s\"\n", str(f, "name"), str(f, "text"));
		else if (v)
			printf("  %-28s %-18s %lld\n", str(f, "name"), str(f, "hex"),
			       (long long)json_integer_value(v));
		else
			printf("  %-28s %s\n", str(f, "name"), str(f, "hex"));
	}
}

/* ---- the command --------------------------------------------------------------- */

static int parse(struct inspect_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "unit", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'j') {
			a->json = true;
		} else if (o == 'h') {
			printf("Usage: vmm inspect FILE [--json] [--unit NAME[:INSTANCE]]\n"
			       "Show a state file's header, machine and units; with --unit,\n"
			       "every field of one unit by name and value.\n");
			return 0;
		} else if (o == 'u') {
			const char *colon = strrchr(optarg, ':');
			size_t n = colon ? (size_t)(colon - optarg) : strlen(optarg);
			char *end;
			unsigned long v = 0;

			if (colon) {
				errno = 0;
				v = strtoul(colon + 1, &end, 10);
				if (!colon[1] || *end || errno || v > UINT32_MAX || colon[1] == '-')
					n = 0;
			}
			if (!n || n > SSM_NAME_MAX) {
				fprintf(stderr, "vmm inspect: --unit %s: expected NAME or "
					"NAME:INSTANCE\n", optarg);
				return 2;
			}
			memcpy(a->unit_name, optarg, n);
			a->unit_name[n] = 0;
			a->unit = a->unit_name;
			a->instance = (uint32_t)v;
		} else {
			fprintf(stderr, "vmm inspect: %s: unknown option or missing value (try vmm "
				"inspect --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "vmm inspect: %s (try vmm inspect --help)\n", optind < argc ?
			"expected one FILE" : "no FILE given");
		return 2;
	}
	a->path = argv[optind];
	return -1;
}

static json_t *unit_json(ssm_handle *h, const struct inspect_args *a, char *err, size_t len)
{
	uint32_t version, pass = SSM_PASS_FINAL;
	json_t *fields;

	if (ssm_seek(h, a->unit, a->instance, &version)) {
		snprintf(err, len, "%s", ssm_handle_error(h));
		return NULL;
	}
	for (uint32_t i = 0; ; i++) {
		ssm_unit_info ui;

		if (ssm_unit_info_get(h, i, &ui))
			break;
		if (ui.instance == a->instance && !strcmp(ui.name, a->unit))
			pass = ui.pass;
	}
	fields = inspect_unit_fields(h, a->unit, version, pass, err, len);
	if (!fields)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "unit", a->unit, "instance",
			 (json_int_t)a->instance, "version", (json_int_t)version, "pass",
			 pass_json(pass), "fields", fields);
}

int inspect_main(int argc, char **argv)
{
	struct inspect_args a;
	ssm_handle *h = NULL;
	ssm_stream st;
	json_t *out;
	char err[600] = "";
	bool bad = false;
	int rc = parse(&a, argc, argv);

	if (rc >= 0)
		return rc;
	if (units_open_file(a.path, &st, err, sizeof(err))) {
		fprintf(stderr, "vmm inspect: %s: %s\n", a.path, err);
		return 1;
	}
	rc = ssm_open(st, &h);
	if (rc) {
		fprintf(stderr, "vmm inspect: %s: %s\n", a.path, h && ssm_handle_error(h)[0] ?
			ssm_handle_error(h) : ssm_strerror(rc));
		ssm_close(h);
		return 1;
	}
	out = a.unit ? unit_json(h, &a, err, sizeof(err)) : file_json(h, a.path, &bad, err,
								       sizeof(err));
	ssm_close(h);
	if (!out) {
		fprintf(stderr, "vmm inspect: %s: %s\n", a.path, err[0] ? err : "out of memory");
		return 1;
	}
	if (a.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else if (a.unit) {
		print_fields(out);
	} else {
		print_file(out);
	}
	json_decref(out);
	if (bad)
		fprintf(stderr, "vmm inspect: %s: %s\n", a.path, err[0] ? err :
			"a unit record is damaged (see its line)");
	return bad ? 1 : 0;
}
