/* fw_cfg.c - minimal fw_cfg: selector, data port and a fixed item table. */
#include "devices/fw_cfg.h"

#include <stdio.h>
#include <string.h>

#include "devices/dev_identity.h"

/* ---- State ---------------------------------------------------------------- */

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus)
{
	memset(f, 0, sizeof(*f));
	f->ram_size = ram_size;
	f->nb_cpus = nb_cpus;
}

/* ---- Register logic -------------------------------------------------------- */

static unsigned put_le(uint8_t *buf, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	return n;
}

unsigned fw_cfg_item(const struct fw_cfg *f, uint16_t key, uint8_t *buf)
{
	switch (key) {
	case FW_CFG_SIGNATURE:
		memcpy(buf, "QEMU", 4);
		return 4;
	case FW_CFG_ID:
		return put_le(buf, 1, 4);
	case FW_CFG_RAM_SIZE:
		return put_le(buf, f->ram_size, 8);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return put_le(buf, f->nb_cpus, 2);
	default:
		return 0;
	}
}

static uint8_t read_data(struct fw_cfg *f)
{
	uint8_t buf[FW_CFG_ITEM_MAX];
	unsigned len = fw_cfg_item(f, (uint16_t)f->st.selector, buf);

	if (f->st.offset >= len)
		return 0;
	return buf[f->st.offset++];
}

void fw_cfg_io(struct fw_cfg *f, uint16_t offset, bool is_write, unsigned size,
	       uint32_t *val)
{
	if (is_write) {
		if (offset == FW_CFG_PORT_SELECTOR && size == 2) {
			f->st.selector = *val & 0xffff;
			f->st.offset = 0;
		}
		return;
	}
	*val = 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		*val |= (uint32_t)read_data(f) << (8 * i);
}

/* ---- Load validation ------------------------------------------------------- */

static bool state_check(const struct fw_cfg *f, const struct fw_cfg_state *st, char *why,
			size_t len)
{
	uint8_t buf[FW_CFG_ITEM_MAX];
	unsigned n;

	if (st->selector > 0xffff) {
		snprintf(why, len, "selector 0x%x is wider than 16 bits", st->selector);
		return false;
	}
	n = fw_cfg_item(f, (uint16_t)st->selector, buf);
	if (st->offset > n) {
		snprintf(why, len, "offset %u is past the end of item 0x%04x (%u bytes)",
			 st->offset, st->selector, n);
		return false;
	}
	return true;
}

/* ---- Saved state ----------------------------------------------------------- */

const ssm_field fw_cfg_fields[] = {
	SSM_FIELD(struct fw_cfg_state, selector),
	SSM_FIELD(struct fw_cfg_state, offset),
	SSM_FIELD_TERM()
};

_Static_assert(sizeof(struct fw_cfg_state) == 8, "fw_cfg_state changed: update the table");

/* Live pass 0: the model identity (devices/dev_identity.h), so a
 * destination with another model refuses before RAM is sent. */
static const struct dev_id_param fw_cfg_id_params[] = {
	{ "version", FW_CFG_SSM_VERSION, FW_CFG_SSM_VERSION_MIN },
	{ "ports", FW_CFG_PORTS },
};

static const struct dev_identity fw_cfg_identity = {
	.unit = "fw-cfg",
	.model = FW_CFG_SSM_MODEL,
	.article = "a",
	.params = fw_cfg_id_params,
	.nparams = sizeof fw_cfg_id_params / sizeof fw_cfg_id_params[0],
};

static int fw_cfg_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	return dev_identity_put(&fw_cfg_identity, h);
}

static int fw_cfg_save_exec(void *ctx, ssm_handle *h)
{
	struct fw_cfg *f = ctx;

	return ssm_put_struct(h, &f->st, sizeof f->st, SSM_STRUCT_FULL, fw_cfg_fields, NULL);
}

static int fw_cfg_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct fw_cfg *f = ctx;
	struct fw_cfg_state tmp;
	char why[128];
	int rc;

	rc = ssm_check_unit_version(h, "fw-cfg", version, FW_CFG_SSM_VERSION_MIN,
				    FW_CFG_SSM_VERSION);
	if (rc != SSM_OK)
		return rc;
	if (pass != SSM_PASS_FINAL)
		return dev_identity_check(&fw_cfg_identity, h);
	memset(&tmp, 0, sizeof tmp);
	rc = ssm_get_struct(h, &tmp, sizeof tmp, SSM_STRUCT_FULL, fw_cfg_fields, NULL);
	if (rc != SSM_OK)
		return rc;
	if (!state_check(f, &tmp, why, sizeof why))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "fw-cfg: %s", why);
	f->st = tmp;
	return SSM_OK;
}

/* ---- Registration ---------------------------------------------------------- */

int fw_cfg_ssm_register(struct fw_cfg *f, ssm *reg, uint32_t instance)
{
	static const ssm_callbacks cb = {
		.live_exec = fw_cfg_live_exec,
		.live_vote = dev_identity_vote,
		.save_exec = fw_cfg_save_exec,
		.load_exec = fw_cfg_load_exec,
	};

	return ssm_register_device(reg, f, "fw-cfg", instance, FW_CFG_SSM_VERSION,
				   sizeof f->st, NULL, 0, &cb);
}
