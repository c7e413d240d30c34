/* unit_schema.h - every unit the VMM saves, described for the tools:
 * name, flavour, the range of versions it loads, and its field tables in
 * payload order (the tables the units' own code saves with, not copies).
 * vmm schema prints and compares it; vmm inspect decodes with it.  Pure
 * data: no KVM, no I/O.
 */
#ifndef VMM_UNIT_SCHEMA_H
#define VMM_UNIT_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/unit_table.h"

struct unit_schema {
	const char *name;
	ssm_flavour flavour;
	uint32_t version;          /* the version this build writes */
	uint32_t version_min;      /* the oldest it loads */
	const struct unit_table *tables;
	size_t ntables;
	/* The payload as a whole, tables and primitives, in one line (the
	 * full description is docs/units.md). */
	const char *payload;
};

/* Every unit, in save order. */
extern const struct unit_schema unit_schemas[];
extern const size_t unit_schema_count;

/* The unit called name, or NULL. */
const struct unit_schema *unit_schema_find(const char *name);

/* "none", "gcphys", ... for a field transform ("?" if unknown). */
const char *unit_field_type(ssm_field_transform t);
/* Bytes a field of the table stores without SSM_STRUCT_DONT_IGNORE (what
 * the file holds for it; a CALLBACK field: UINT32_MAX, its callback's). */
uint32_t unit_field_stored(const ssm_field *f);

#endif
