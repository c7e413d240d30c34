/* schema.h - `vmm schema`: the units' layouts as text or JSON, and the
 * check of an older JSON dump against this build (docs/inspect.md). */
#ifndef VMM_SCHEMA_H
#define VMM_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* Every unit of unit_schema.h as the documented JSON object; NULL on OOM. */
json_t *schema_dump(void);

/* The changes from the dump old to the dump cur that would stop files of
 * old's versions loading: a JSON array of one-line strings (empty: none).
 * *notes (may be NULL) gets an array of lines that do not break loading
 * (a unit added).  NULL with err set if old (or cur) is not a schema
 * dump; err names what is wrong. */
json_t *schema_compare(const json_t *old, const json_t *cur, json_t **notes, char *err,
		       size_t errlen);

/* vmm schema [--json] [--check OLD.json]: exit 0, 1 (changes found, or a
 * bad OLD.json) or 2 (bad arguments). */
int schema_main(int argc, char **argv);

#endif
