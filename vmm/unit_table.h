/* unit_table.h - one SSM field table of a unit's payload, described for the
 * tools that list or decode saved state (vmm schema, vmm inspect). */
#ifndef VMM_UNIT_TABLE_H
#define VMM_UNIT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"

/* where: UNIT_TABLE_ARRAY for a table saved once per entry of a counted
 * array (the cpu unit's CPUID entries). */
#define UNIT_TABLE_ARRAY SIZE_MAX

struct unit_table {
	const char *name;          /* part of the payload: "regs", "state" */
	const ssm_field *fields;   /* the table the unit's code saves with */
	uint32_t size;             /* sizeof the struct the table describes */
	uint32_t flags;            /* SSM_STRUCT_* flags it is saved with */
	uint32_t since;            /* first unit version holding it */
	size_t where;              /* cpu: offset of the struct in cpu_snapshot */
};

#endif
