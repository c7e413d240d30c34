/* test_schema.c - vmm schema (vmm/schema.c, vmm/unit_schema.c): this
 * build's tables against the dump committed as tests/data/schema.json (a
 * table changed without a version bump fails here), and the comparison
 * rules on crafted dumps. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/schema.h"
#include "vmm/unit_schema.h"

/* The unit tests run from the top of the tree (scripts/run-unit.sh). */
#define COMMITTED "tests/data/schema.json"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	cr_assert_not_null(j, "bad test JSON: %s", e.text);
	return j;
}

/* Run the comparison; the changes (asserted non-NULL) as one string. */
static char *changes_of(const json_t *old, const json_t *cur, size_t *count)
{
	char err[256] = "", *out;
	json_t *c = schema_compare(old, cur, NULL, err, sizeof(err));
	size_t i, len = 1;
	const json_t *l;

	cr_assert_not_null(c, "compare refused: %s", err);
	json_array_foreach(c, i, l)
		len += strlen(json_string_value(l)) + 1;
	out = calloc(1, len);
	json_array_foreach(c, i, l) {
		strcat(out, json_string_value(l));
		strcat(out, "\n");
	}
	*count = json_array_size(c);
	json_decref(c);
	return out;
}

/* A small dump: unit "u" version V (min M) with table "t" of fields. */
static json_t *dump(int version, int version_min, const char *fields)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "{\"schema\": 1, \"units\": [{\"name\": \"u\", \"flavour\": \"device\", "
		 "\"version\": %d, \"version_min\": %d, \"payload\": \"t\", \"tables\": "
		 "[{\"name\": \"t\", \"size\": 16, \"flags\": [\"full\"], \"since\": 1, "
		 "\"fields\": [%s]}]}]}", version, version_min, fields);
	return parse(text);
}

#define F(name, type, size) \
	"{\"name\": \"" name "\", \"type\": \"" type "\", \"offset\": 0, \"size\": " #size \
	", \"stored\": " #size ", \"pad32\": 0, \"pad64\": 0}"
#define AB F("a", "none", 4) ", " F("b", "none", 8)

Test(schema, this_build_matches_the_committed_dump)
{
	json_error_t e;
	json_t *old = json_load_file(COMMITTED, 0, &e), *cur = schema_dump();
	size_t n;
	char *text;

	cr_assert_not_null(old, "%s: %s (regenerate it with vmm schema --json)", COMMITTED,
			   e.text);
	cr_assert_not_null(cur);
	text = changes_of(old, cur, &n);
	cr_expect_eq(n, 0, "a unit's table changed without a version bump (bump the unit's "
		     "version and regenerate %s with build/vmm schema --json):\n%s", COMMITTED,
		     text);
	/* Same versions must mean the very same tables, offsets included. */
	cr_expect(json_equal(old, cur), "%s is stale: regenerate it with build/vmm schema "
		  "--json", COMMITTED);
	free(text);
	json_decref(old);
	json_decref(cur);
}

Test(schema, dump_holds_every_unit_and_table)
{
	json_t *d = schema_dump();
	const json_t *units = json_object_get(d, "units");

	cr_assert_eq(json_array_size(units), unit_schema_count);
	for (size_t i = 0; i < unit_schema_count; i++) {
		const json_t *u = json_array_get(units, i);

		cr_expect_str_eq(json_string_value(json_object_get(u, "name")),
				 unit_schemas[i].name);
		cr_expect_eq(json_array_size(json_object_get(u, "tables")),
			     unit_schemas[i].ntables);
	}
	/* cpu: regs first, rax first in it, 18 registers. */
	{
		const json_t *cpu = json_array_get(units, 5);
		const json_t *regs = json_array_get(json_object_get(cpu, "tables"), 0);
		const json_t *f = json_object_get(regs, "fields");

		cr_assert_str_eq(json_string_value(json_object_get(cpu, "name")), "cpu");
		cr_expect_eq(json_array_size(f), 18);
		cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "name")),
				 "rax");
	}
	json_decref(d);
}

Test(schema, unchanged_reports_nothing)
{
	json_t *a = dump(1, 1, AB), *b = dump(1, 1, AB);
	size_t n;
	char *t = changes_of(a, b, &n);

	cr_expect_eq(n, 0, "%s", t);
	free(t);
	json_decref(a);
	json_decref(b);
}

static void expect_change(json_t *old, json_t *cur, const char *needle)
{
	size_t n;
	char *t = changes_of(old, cur, &n);

	cr_expect_geq(n, 1, "no change reported, wanted '%s'", needle);
	cr_expect_not_null(strstr(t, needle), "wanted '%s' in:\n%s", needle, t);
	free(t);
	json_decref(old);
	json_decref(cur);
}

Test(schema, field_removed)
{
	expect_change(dump(1, 1, AB), dump(1, 1, F("a", "none", 4)),
		      "u.t: field b removed without a version bump");
}

Test(schema, field_added)
{
	expect_change(dump(1, 1, F("a", "none", 4)), dump(1, 1, AB),
		      "u.t: field b added without a version bump");
}

Test(schema, field_retyped)
{
	expect_change(dump(1, 1, AB), dump(1, 1, F("a", "none", 4) ", " F("b", "gcphys", 8)),
		      "field b retyped from none to gcphys");
}

Test(schema, field_resized)
{
	expect_change(dump(1, 1, AB), dump(1, 1, F("a", "none", 2) ", " F("b", "none", 8)),
		      "field a resized from 4 to 2 bytes");
}

Test(schema, fields_reordered)
{
	expect_change(dump(1, 1, AB), dump(1, 1, F("b", "none", 8) ", " F("a", "none", 4)),
		      "moved (reordered)");
}

Test(schema, version_min_raised_above_old)
{
	expect_change(dump(1, 1, AB), dump(2, 2, F("a", "none", 4)),
		      "u: version_min 2 is above the old version 1");
}

Test(schema, unit_removed)
{
	json_t *old = dump(1, 1, AB);

	expect_change(old, parse("{\"schema\": 1, \"units\": []}"), "unit u removed");
}

Test(schema, bumped_version_may_change_its_table)
{
	json_t *a = dump(1, 1, AB), *b = dump(2, 1, F("a", "none", 4));
	size_t n;
	char *t = changes_of(a, b, &n);

	cr_expect_eq(n, 0, "a bumped version that still loads 1 broke nothing:\n%s", t);
	free(t);
	json_decref(a);
	json_decref(b);
}

Test(schema, malformed_dumps_are_refused_naming_what)
{
	static const char *const bad[] = {
		"[]",
		"{\"schema\": 2, \"units\": []}",
		"{\"schema\": 1}",
		"{\"schema\": 1, \"units\": [{\"name\": 5}]}",
		"{\"schema\": 1, \"units\": [{\"name\": \"u\", \"version\": -1, "
		"\"version_min\": 1, \"tables\": []}]}",
		"{\"schema\": 1, \"units\": [{\"name\": \"u\", \"version\": 1, "
		"\"version_min\": 1, \"tables\": [{\"name\": \"t\", \"since\": 1, "
		"\"flags\": [], \"fields\": [{\"name\": \"a\"}]}]}]}",
	};
	json_t *cur = schema_dump();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *old = parse(bad[i]);
		char err[256] = "";
		json_t *c = schema_compare(old, cur, NULL, err, sizeof(err));

		cr_expect_null(c, "accepted: %s", bad[i]);
		cr_expect_not_null(strstr(err, "old dump"), "%s: message '%s'", bad[i], err);
		json_decref(c);
		json_decref(old);
	}
	json_decref(cur);
}
