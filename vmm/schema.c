/* schema.c - `vmm schema`: print the units' versions and field tables
 * (unit_schema.h), and compare an older dump with this build.
 *
 * The JSON (docs/inspect.md): {"schema": 1, "units": [{"name", "flavour",
 * "version", "version_min", "payload", "tables": [{"name", "size",
 * "flags": [...], "since", "fields": [{"name", "type", "offset", "size",
 * "stored", "pad32", "pad64"}]}]}]}.  A dump read back (--check) is
 * untrusted: every member is checked before use.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/schema.h"
#include "vmm/unit_schema.h"

#define SCHEMA_FORMAT 1

static json_t *flags_json(uint32_t flags)
{
	json_t *a = json_array();

	if (a && (flags & SSM_STRUCT_FULL))
		json_array_append_new(a, json_string("full"));
	if (a && (flags & SSM_STRUCT_NO_MARKERS))
		json_array_append_new(a, json_string("no_markers"));
	if (a && (flags & SSM_STRUCT_DONT_IGNORE))
		json_array_append_new(a, json_string("dont_ignore"));
	return a;
}

static json_t *field_json(const ssm_field *f)
{
	uint32_t stored = unit_field_stored(f);

	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:i, s:i}", "name", f->name ? f->name : "",
			 "type", unit_field_type(f->transform), "offset", (json_int_t)f->off,
			 "size", (json_int_t)f->size,
			 "stored", stored == UINT32_MAX ? json_null() : json_integer(stored),
			 "pad32", f->pad32, "pad64", f->pad64);
}

static json_t *table_json(const struct unit_table *t)
{
	json_t *fields = json_array();

	for (const ssm_field *f = t->fields; fields && f->transform != SSM_FT_INVALID; f++)
		if (json_array_append_new(fields, field_json(f))) {
			json_decref(fields);
			fields = NULL;
		}
	if (!fields)
		return NULL;
	return json_pack("{s:s, s:I, s:o, s:I, s:o}", "name", t->name, "size",
			 (json_int_t)t->size, "flags", flags_json(t->flags), "since",
			 (json_int_t)t->since, "fields", fields);
}

static json_t *unit_json(const struct unit_schema *u)
{
	json_t *tables = json_array();

	for (size_t i = 0; tables && i < u->ntables; i++)
		if (json_array_append_new(tables, table_json(&u->tables[i]))) {
			json_decref(tables);
			tables = NULL;
		}
	if (!tables)
		return NULL;
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:o}", "name", u->name, "flavour",
			 ssm_flavour_name(u->flavour), "version", (json_int_t)u->version,
			 "version_min", (json_int_t)u->version_min, "payload", u->payload,
			 "tables", tables);
}

json_t *schema_dump(void)
{
	json_t *units = json_array();

	for (size_t i = 0; units && i < unit_schema_count; i++)
		if (json_array_append_new(units, unit_json(&unit_schemas[i]))) {
			json_decref(units);
			units = NULL;
		}
	if (!units)
		return NULL;
	return json_pack("{s:i, s:o}", "schema", SCHEMA_FORMAT, "units", units);
}

/* ---- comparison ------------------------------------------------------------ */

struct cmp {
	json_t *changes, *notes;
	char *err;
	size_t errlen;
	const char *which;         /* "old" or "new", for err */
};

static int bad(struct cmp *c, const char *what, const char *where)
{
	snprintf(c->err, c->errlen, "%s dump: %s%s%s", c->which, where ? where : "",
		 where ? ": " : "", what);
	return -1;
}

static const char *str_of(struct cmp *c, const json_t *o, const char *key, const char *where)
{
	const json_t *v = json_object_get(o, key);
	char what[96];

	if (!json_is_string(v)) {
		snprintf(what, sizeof(what), "\"%s\" is missing or not a string", key);
		bad(c, what, where);
		return NULL;
	}
	return json_string_value(v);
}

/* A member that must be an integer 0..UINT32_MAX (or null if nullable). */
static int u32_of(struct cmp *c, const json_t *o, const char *key, const char *where,
		  bool nullable, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	char what[96];

	if (nullable && json_is_null(v)) {
		*out = -1;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > UINT32_MAX) {
		snprintf(what, sizeof(what), "\"%s\" is missing or not an integer from 0 to %u",
			 key, UINT32_MAX);
		return bad(c, what, where);
	}
	*out = json_integer_value(v);
	return 0;
}

static const json_t *array_of(struct cmp *c, const json_t *o, const char *key,
			      const char *where)
{
	const json_t *v = json_object_get(o, key);
	char what[96];

	if (!json_is_array(v)) {
		snprintf(what, sizeof(what), "\"%s\" is missing or not an array", key);
		bad(c, what, where);
		return NULL;
	}
	return v;
}

static int change(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int change(json_t *list, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return json_array_append_new(list, json_string(line)) ? -1 : 0;
}

/* Index of the object in array a whose "name" is name, or -1. */
static long find_named(const json_t *a, const char *name)
{
	size_t i;
	const json_t *v;

	json_array_foreach(a, i, v) {
		const json_t *n = json_object_get(v, "name");

		if (json_is_string(n) && !strcmp(json_string_value(n), name))
			return (long)i;
	}
	return -1;
}

/* Every field object of a table is well formed (checked before any use). */
static int check_fields(struct cmp *c, const json_t *fields, const char *where)
{
	size_t i;
	const json_t *f;
	int64_t v;

	json_array_foreach(fields, i, f) {
		if (!json_is_object(f))
			return bad(c, "a field is not an object", where);
		if (!str_of(c, f, "name", where) || !str_of(c, f, "type", where) ||
		    u32_of(c, f, "size", where, false, &v) ||
		    u32_of(c, f, "stored", where, true, &v) ||
		    u32_of(c, f, "pad32", where, false, &v) || u32_of(c, f, "pad64", where, false, &v))
			return -1;
	}
	return 0;
}

static int check_tables(struct cmp *c, const json_t *tables, const char *unit)
{
	size_t i;
	const json_t *t;
	char where[160];
	int64_t v;

	json_array_foreach(tables, i, t) {
		const json_t *fields, *flags;
		const char *name;

		snprintf(where, sizeof(where), "unit %s, table %zu", unit, i);
		if (!json_is_object(t))
			return bad(c, "not an object", where);
		name = str_of(c, t, "name", where);
		if (!name || u32_of(c, t, "since", where, false, &v))
			return -1;
		snprintf(where, sizeof(where), "unit %s, table %s", unit, name);
		flags = array_of(c, t, "flags", where);
		fields = array_of(c, t, "fields", where);
		if (!flags || !fields || check_fields(c, fields, where))
			return -1;
	}
	return 0;
}

static int check_dump(struct cmp *c, const json_t *d, const json_t **units)
{
	size_t i;
	const json_t *u;
	int64_t v;

	if (!json_is_object(d))
		return bad(c, "not a JSON object", NULL);
	if (u32_of(c, d, "schema", NULL, false, &v))
		return -1;
	if (v != SCHEMA_FORMAT)
		return bad(c, "\"schema\" is not 1 (a dump of another layout)", NULL);
	*units = array_of(c, d, "units", NULL);
	if (!*units)
		return -1;
	json_array_foreach(*units, i, u) {
		char where[32];
		const char *name;
		const json_t *tables;

		snprintf(where, sizeof(where), "unit %zu", i);
		if (!json_is_object(u))
			return bad(c, "not an object", where);
		name = str_of(c, u, "name", where);
		if (!name || u32_of(c, u, "version", name, false, &v) ||
		    u32_of(c, u, "version_min", name, false, &v))
			return -1;
		tables = array_of(c, u, "tables", name);
		if (!tables || check_tables(c, tables, name))
			return -1;
	}
	return 0;
}

static bool same_json(const json_t *a, const json_t *b, const char *key)
{
	return json_equal(json_object_get(a, key), json_object_get(b, key));
}

static const char *name_of(const json_t *o)
{
	return json_string_value(json_object_get(o, "name"));
}

/* The common fields of a and b appear in the same order in both. */
static int compare_order(struct cmp *c, const json_t *a, const json_t *b, const char *where)
{
	size_t i, j = 0;
	const json_t *f;

	json_array_foreach(a, i, f) {
		long at = find_named(b, name_of(f));

		if (at < 0)
			continue;
		if ((size_t)at < j)
			return change(c->changes, "%s: field %s moved (reordered) without a "
				      "version bump", where, name_of(f));
		j = (size_t)at;
	}
	return 0;
}

static int compare_fields(struct cmp *c, const json_t *a, const json_t *b, const char *where)
{
	size_t i;
	const json_t *f;
	int rc = 0;

	json_array_foreach(a, i, f) {
		long at = find_named(b, name_of(f));
		const json_t *g;

		if (at < 0) {
			rc |= change(c->changes, "%s: field %s removed without a version bump",
				     where, name_of(f));
			continue;
		}
		g = json_array_get(b, (size_t)at);
		if (!same_json(f, g, "type"))
			rc |= change(c->changes, "%s: field %s retyped from %s to %s without a "
				     "version bump", where, name_of(f),
				     json_string_value(json_object_get(f, "type")),
				     json_string_value(json_object_get(g, "type")));
		else if (!same_json(f, g, "size") || !same_json(f, g, "stored") ||
			 !same_json(f, g, "pad32") || !same_json(f, g, "pad64"))
			rc |= change(c->changes, "%s: field %s resized from %lld to %lld bytes "
				     "without a version bump", where, name_of(f),
				     (long long)json_integer_value(json_object_get(f, "size")),
				     (long long)json_integer_value(json_object_get(g, "size")));
	}
	json_array_foreach(b, i, f)
		if (find_named(a, name_of(f)) < 0)
			rc |= change(c->changes, "%s: field %s added without a version bump",
				     where, name_of(f));
	return rc | compare_order(c, a, b, where);
}

/* Same unit, same version: every table must be the same. */
static int compare_tables(struct cmp *c, const json_t *a, const json_t *b, const char *unit)
{
	size_t i;
	const json_t *t;
	char where[160];
	int rc = 0;

	json_array_foreach(a, i, t) {
		long at = find_named(b, name_of(t));
		const json_t *u;

		snprintf(where, sizeof(where), "%s.%s", unit, name_of(t));
		if (at < 0) {
			rc |= change(c->changes, "%s: table removed without a version bump", where);
			continue;
		}
		u = json_array_get(b, (size_t)at);
		if ((size_t)at != i)
			rc |= change(c->changes, "%s: table moved from position %zu to %ld without "
				     "a version bump", where, i, at);
		if (!same_json(t, u, "flags"))
			rc |= change(c->changes, "%s: flags changed without a version bump", where);
		if (!same_json(t, u, "since"))
			rc |= change(c->changes, "%s: first version holding it changed without a "
				     "version bump", where);
		rc |= compare_fields(c, json_object_get(t, "fields"), json_object_get(u, "fields"),
				     where);
	}
	json_array_foreach(b, i, t)
		if (find_named(a, name_of(t)) < 0)
			rc |= change(c->changes, "%s.%s: table added without a version bump", unit,
				     name_of(t));
	return rc;
}

static int compare_unit(struct cmp *c, const json_t *a, const json_t *b)
{
	const char *name = name_of(a);
	json_int_t ov = json_integer_value(json_object_get(a, "version"));
	json_int_t nv = json_integer_value(json_object_get(b, "version"));
	json_int_t nmin = json_integer_value(json_object_get(b, "version_min"));
	int rc = 0;

	if (nmin > ov)
		rc |= change(c->changes, "%s: version_min %lld is above the old version %lld: "
			     "files of version %lld no longer load", name, (long long)nmin,
			     (long long)ov, (long long)ov);
	if (nv < ov)
		rc |= change(c->changes, "%s: version went down from %lld to %lld", name,
			     (long long)ov, (long long)nv);
	if (nv == ov)
		rc |= compare_tables(c, json_object_get(a, "tables"), json_object_get(b, "tables"),
				     name);
	return rc;
}

json_t *schema_compare(const json_t *old, const json_t *cur, json_t **notes, char *err,
		       size_t errlen)
{
	struct cmp c = { .err = err, .errlen = errlen, .which = "old" };
	const json_t *ou, *nu, *u;
	size_t i;
	int rc = 0;

	if (notes)
		*notes = NULL;
	if (check_dump(&c, old, &ou))
		return NULL;
	c.which = "new";
	if (check_dump(&c, cur, &nu))
		return NULL;
	c.changes = json_array();
	c.notes = json_array();
	if (!c.changes || !c.notes) {
		snprintf(err, errlen, "out of memory");
		json_decref(c.changes);
		json_decref(c.notes);
		return NULL;
	}
	json_array_foreach(ou, i, u) {
		long at = find_named(nu, name_of(u));

		if (at < 0)
			rc |= change(c.changes, "unit %s removed: files holding it no longer load",
				     name_of(u));
		else
			rc |= compare_unit(&c, u, json_array_get(nu, (size_t)at));
	}
	json_array_foreach(nu, i, u)
		if (find_named(ou, name_of(u)) < 0)
			rc |= change(c.notes, "unit %s added (old files lack it: a loader must "
				     "accept its absence)", name_of(u));
	if (rc) {
		snprintf(err, errlen, "out of memory");
		json_decref(c.changes);
		json_decref(c.notes);
		return NULL;
	}
	if (notes)
		*notes = c.notes;
	else
		json_decref(c.notes);
	return c.changes;
}

/* ---- the command ------------------------------------------------------------- */

static void print_text(const json_t *d)
{
	size_t i, j, k;
	const json_t *u, *t, *f;

	json_array_foreach(json_object_get(d, "units"), i, u) {
		printf("%s (%s), version %lld, loads %lld..%lld\n", name_of(u),
		       json_string_value(json_object_get(u, "flavour")),
		       (long long)json_integer_value(json_object_get(u, "version")),
		       (long long)json_integer_value(json_object_get(u, "version_min")),
		       (long long)json_integer_value(json_object_get(u, "version")));
		printf("  payload: %s\n", json_string_value(json_object_get(u, "payload")));
		json_array_foreach(json_object_get(u, "tables"), j, t) {
			const json_t *fl;
			size_t n;

			printf("  table %s: %lld bytes, since version %lld", name_of(t),
			       (long long)json_integer_value(json_object_get(t, "size")),
			       (long long)json_integer_value(json_object_get(t, "since")));
			json_array_foreach(json_object_get(t, "flags"), n, fl)
				printf(", %s", json_string_value(fl));
			printf("\n");
			printf("    %6s %4s %6s  %-8s %s\n", "OFFSET", "SIZE", "STORED", "TYPE",
			       "FIELD");
			json_array_foreach(json_object_get(t, "fields"), k, f) {
				const json_t *st = json_object_get(f, "stored");
				char stored[16];

				snprintf(stored, sizeof(stored), "%lld",
					 (long long)json_integer_value(st));
				printf("    %6lld %4lld %6s  %-8s %s\n",
				       (long long)json_integer_value(json_object_get(f, "offset")),
				       (long long)json_integer_value(json_object_get(f, "size")),
				       json_is_null(st) ? "cb" : stored,
				       json_string_value(json_object_get(f, "type")), name_of(f));
			}
		}
	}
}

static int check_against(const char *path, const json_t *cur)
{
	json_error_t jerr;
	json_t *old, *changes, *notes;
	char err[256];
	size_t i;
	const json_t *line;
	int status;

	old = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!old) {
		fprintf(stderr, "vmm schema: --check %s: not JSON: %s (line %d)\n", path,
			jerr.text, jerr.line);
		return 1;
	}
	changes = schema_compare(old, cur, &notes, err, sizeof(err));
	json_decref(old);
	if (!changes) {
		fprintf(stderr, "vmm schema: --check %s: %s\n", path, err);
		return 1;
	}
	json_array_foreach(changes, i, line)
		printf("%s\n", json_string_value(line));
	json_array_foreach(notes, i, line)
		printf("note: %s\n", json_string_value(line));
	status = json_array_size(changes) ? 1 : 0;
	if (status)
		fprintf(stderr, "vmm schema: %zu change(s) that stop files of %s loading\n",
			json_array_size(changes), path);
	json_decref(changes);
	json_decref(notes);
	return status;
}

static void schema_usage(FILE *f)
{
	fprintf(f, "Usage: vmm schema [--json] [--check OLD.json]\n"
		"Print each unit's name, version range and field tables; with --check,\n"
		"list the changes since the dump OLD.json that would stop old files\n"
		"loading (exit 1 if any).\n");
}

int schema_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "check", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *check = NULL;
	bool as_json = false;
	json_t *d;
	int o, status = 0;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == 'j') {
			as_json = true;
		} else if (o == 'c') {
			check = optarg;
		} else if (o == 'h') {
			schema_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vmm schema: %s: unknown option or missing value "
				"(try vmm schema --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmm schema: unexpected argument '%s' (try vmm schema --help)\n",
			argv[optind]);
		return 2;
	}
	if (check && as_json) {
		fprintf(stderr, "vmm schema: --json and --check exclude each other\n");
		return 2;
	}
	d = schema_dump();
	if (!d) {
		fprintf(stderr, "vmm schema: out of memory\n");
		return 1;
	}
	if (check)
		status = check_against(check, d);
	else if (as_json)
		status = json_dumpf(d, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF;
	else
		print_text(d);
	json_decref(d);
	return status;
}
