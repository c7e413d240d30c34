/* unit_version.c - the one check of a unit's declared range of loadable
 * versions, so every unit refuses an unknown layout the same way. */
#include "ssm/ssm.h"

int ssm_check_unit_version(ssm_handle *h, const char *unit, uint32_t version, uint32_t min,
			   uint32_t max)
{
	if (version >= min && version <= max)
		return SSM_OK;
	return ssm_set_load_error(h, SSM_ERR_UNIT_VERSION,
				  "%s: unit version %u not supported (loads %u..%u)", unit,
				  version, min, max);
}
