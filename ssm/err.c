/* err.c - error messages and names for the SSM's enums. */
#include "ssm/ssm.h"

const char *ssm_strerror(int err)
{
	switch (err) {
	case SSM_OK: return "success";
	case SSM_ERR_NOMEM: return "out of memory";
	case SSM_ERR_INVALID_ARG: return "invalid argument";
	case SSM_ERR_DUPLICATE_UNIT: return "a unit with this name and instance is already registered";
	case SSM_ERR_NO_SUCH_UNIT: return "no such unit";
	case SSM_ERR_IO: return "input/output error on the stream";
	case SSM_ERR_TRUNCATED: return "stream is truncated";
	case SSM_ERR_BAD_MAGIC: return "not a saved-state file (bad magic)";
	case SSM_ERR_FORMAT_MAJOR: return "unsupported saved-state format version";
	case SSM_ERR_CRC: return "checksum mismatch: the data is damaged";
	case SSM_ERR_FORMAT: return "malformed saved-state data";
	case SSM_ERR_UNKNOWN_UNIT: return "saved state holds a unit that is not registered";
	case SSM_ERR_UNIT_VERSION: return "unsupported unit version";
	case SSM_ERR_READ_PAST_END: return "unit read past the end of its data";
	case SSM_ERR_DATA_LEFT: return "unit left part of its data unread";
	case SSM_ERR_STRING_TOO_LONG: return "string does not fit the buffer";
	case SSM_ERR_CANCELLED: return "operation cancelled";
	case SSM_ERR_CALLBACK: return "a unit callback failed";
	case SSM_ERR_STRUCT_MARKER: return "struct marker mismatch: data saved with another field table";
	case SSM_ERR_STRUCT_COVERAGE: return "field table does not cover the struct";
	case SSM_ERR_NOT_SUPPORTED: return "operation not supported by the stream";
	case SSM_ERR_LIVE_GAVE_UP: return "live save gave up: state changes faster than it can be sent";
	case SSM_ERR_BAD_STATE: return "call not valid in the current state";
	case SSM_ERR_COMPRESS: return "compression or decompression failed";
	case SSM_ERR_LOAD_VALUE: return "a loaded value is invalid";
	case SSM_ERR_NO_SPACE: return "no space left on device";
	case SSM_ERR_CONN_LOST: return "connection lost";
	case SSM_ERR_BAD_VALUE: return "stored value out of range for its type";
	case SSM_ERR_TIMEOUT: return "timed out: the peer stopped responding";
	case SSM_ERR_TOO_MANY_PASSES: return "live save did not converge within the maximum number of passes";
	}
	return "unknown error";
}

const char *ssm_flavour_name(ssm_flavour f)
{
	static const char *const names[] = { "device", "driver", "internal", "external" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

const char *ssm_cb_kind_name(ssm_cb_kind k)
{
	static const char *const names[SSM_CB__COUNT] = {
		"live_prep", "live_exec", "live_vote", "save_prep", "save_exec",
		"save_done", "load_prep", "load_exec", "load_done",
	};

	return (unsigned)k < SSM_CB__COUNT ? names[k] : "?";
}
