/* inspect.h - `vmm inspect` and the per-unit decoders it shares with
 * `vmm verify` (docs/inspect.md). */
#ifndef VMM_INSPECT_H
#define VMM_INSPECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"

/* Decode the unit record h is positioned at (ssm_seek/ssm_seek_entry) of
 * unit name, saved version `version` and pass, into a JSON array of
 * {"name", "type", and "value"+"hex" (integers), "hex" (bytes) or "text"
 * (strings)}, one per field, by the unit's field tables (unit_schema.h) or
 * its documented payload.  NULL with err set (naming unit, field, offset)
 * if the data is refused. */
json_t *inspect_unit_fields(ssm_handle *h, const char *name, uint32_t version, uint32_t pass,
			    char *err, size_t errlen);

/* Append one decoded field to a fields array; 0 or -1 (out of memory). */
int inspect_add_uint(json_t *a, const char *name, const char *type, uint64_t v);
/* Text from a file, escaped to printable ASCII (\xNN) so any bytes are
 * valid JSON: as a JSON string (NULL on OOM), or appended as a field. */
json_t *inspect_text(const char *s, size_t n);
int inspect_add_text(json_t *a, const char *name, const char *s, size_t n);

/* vmm inspect FILE [--json] [--unit NAME[:INSTANCE]]: exit 0, 1 (a refused
 * file or unit) or 2 (bad arguments). */
int inspect_main(int argc, char **argv);

#endif
