/* dev_identity.c - identity records of the device models (live pass 0). */
#include <string.h>

#include "devices/dev_identity.h"

int dev_identity_put(const struct dev_identity *id, ssm_handle *h)
{
	int rc = ssm_put_str(h, id->model);

	for (size_t i = 0; rc == SSM_OK && i < id->nparams; i++)
		rc = ssm_put_u32(h, id->params[i].value);
	return rc;
}

int dev_identity_check(const struct dev_identity *id, ssm_handle *h)
{
	char model[DEV_ID_MODEL_MAX + 1];
	uint32_t v;
	int rc;

	rc = ssm_get_str(h, model, sizeof model, NULL);
	if (rc == SSM_ERR_STRING_TOO_LONG)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: model mismatch: stream "
					  "describes a model name longer than %u bytes, this VM "
					  "has %s %s", id->unit, DEV_ID_MODEL_MAX, id->article,
					  id->model);
	if (rc != SSM_OK)
		return rc;
	if (strcmp(model, id->model)) {
		/* The name comes from the stream: keep the message printable. */
		for (size_t i = 0; model[i]; i++)
			if ((unsigned char)model[i] < 0x20 || (unsigned char)model[i] > 0x7e)
				model[i] = '?';
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: model mismatch: stream "
					  "describes a %s, this VM has %s %s", id->unit,
					  model[0] ? model : "model without a name",
					  id->article, id->model);
	}
	for (size_t i = 0; i < id->nparams; i++) {
		const struct dev_id_param *p = &id->params[i];
		uint32_t lo;

		rc = ssm_get_u32(h, &v);
		if (rc != SSM_OK)
			return rc;
		lo = p->oldest ? p->oldest : p->value;
		if (v >= lo && v <= p->value)
			continue;
		if (p->oldest)
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: %s mismatch: "
						  "stream describes %s %s with %s %u, this VM "
						  "has %u (loads %u..%u)", id->unit, p->name,
						  id->article, id->model, p->name, v, p->value, lo,
						  p->value);
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: %s mismatch: "
					  "stream describes %s %s with %s %u, this VM "
					  "has %u", id->unit, p->name, id->article, id->model,
					  p->name, v, p->value);
	}
	return SSM_OK;
}

/* The identity does not change while the VM runs: once is enough. */
int dev_identity_vote(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)h;
	(void)pass;
	return SSM_VOTE_DONE_DONT_CALL_AGAIN;
}
