/* dev_identity.h - a device model's identity record for live pass 0.
 *
 * Record, little-endian: str model (u32 length + bytes, no NUL), then one
 * u32 per parameter, in table order ("version" first by convention).  A
 * destination compares it with its own model and refuses a foreign one
 * before any RAM is sent.  Pure: no I/O beyond the SSM handle.
 */
#ifndef DEVICES_DEV_IDENTITY_H
#define DEVICES_DEV_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"

#define DEV_ID_MODEL_MAX 31u   /* longest model name a loader reads */

struct dev_id_param {
	const char *name;
	uint32_t value;
	uint32_t oldest;   /* non-zero: oldest..value accepted (a version range) */
};

struct dev_identity {
	const char *unit;          /* "pic": prefix of messages */
	const char *model;         /* "8259A-pair" */
	const char *article;       /* "a" or "an", before the model in messages */
	const struct dev_id_param *params;
	size_t nparams;
};

/* Put id's record into h; SSM_OK or the stream error. */
int dev_identity_put(const struct dev_identity *id, ssm_handle *h);
/* Read a record from h and compare it with id: SSM_OK, or
 * SSM_ERR_LOAD_VALUE with a message naming the first difference. */
int dev_identity_check(const struct dev_identity *id, ssm_handle *h);
/* live_vote of a unit that sends its identity once. */
int dev_identity_vote(void *ctx, ssm_handle *h, uint32_t pass);

#endif
