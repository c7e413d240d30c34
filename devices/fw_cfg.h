/* fw_cfg.h - a minimal QEMU firmware configuration device (pure model).
 *
 * The board maps two ports (QEMU's x86 I/O interface, at 0x510): offset 0
 * is the 16-bit selector, offset 1 the 8-bit data port.  A 16-bit write at
 * offset 0 selects an item and rewinds it; each data read returns the
 * item's next byte, 0 past its end (or for an item that does not exist).
 * Byte reads at offset 0 read data too, as on QEMU; other writes are
 * ignored (data writes have done nothing since QEMU 2.4).  No DMA
 * interface, no file directory.
 *
 * Items (little-endian):
 *   0x0000 FW_CFG_SIGNATURE  "QEMU"
 *   0x0001 FW_CFG_ID         u32 1: the traditional interface only
 *   0x0003 FW_CFG_RAM_SIZE   u64 guest RAM in bytes
 *   0x0005 FW_CFG_NB_CPUS    u16 vCPUs
 *   0x000f FW_CFG_MAX_CPUS   u16 vCPUs
 * kvm-unit-tests also reads 0x0011 (its "MAX_RAM", 0 = no limit): absent,
 * so it reads 0.
 *
 * Saved state: the selector and the read offset, so a guest restored in
 * the middle of reading an item reads on from the same byte.
 */
#ifndef DEVICES_FW_CFG_H
#define DEVICES_FW_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "ssm/ssm.h"

#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID        0x0001
#define FW_CFG_RAM_SIZE  0x0003
#define FW_CFG_NB_CPUS   0x0005
#define FW_CFG_MAX_CPUS  0x000f

#define FW_CFG_PORT_SELECTOR 0
#define FW_CFG_PORT_DATA     1
#define FW_CFG_PORTS         2

#define FW_CFG_ITEM_MAX 8u              /* bytes of the longest item */

/* Saved-state layout this build writes, and the oldest it still loads. */
#define FW_CFG_SSM_VERSION 1
#define FW_CFG_SSM_VERSION_MIN 1
#define FW_CFG_SSM_MODEL "qemu-fw-cfg-io"

/* Both u32 so the table covers the struct without padding. */
struct fw_cfg_state {
	uint32_t selector;              /* 0..0xffff */
	uint32_t offset;                /* next byte, <= the item's length */
};

struct fw_cfg {
	struct fw_cfg_state st;         /* saved */
	/* What the board tells the guest: the machine's configuration. */
	uint64_t ram_size;
	uint16_t nb_cpus;
};

/* Set f up at reset (selector 0, offset 0) with the machine's facts. */
void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus);
/* The bytes of item key into buf (FW_CFG_ITEM_MAX); its length, 0 if the
 * item does not exist. */
unsigned fw_cfg_item(const struct fw_cfg *f, uint16_t key, uint8_t *buf);
/* Guest access of size bytes at port offset (bus_io_fn semantics). */
void fw_cfg_io(struct fw_cfg *f, uint16_t offset, bool is_write, unsigned size,
	       uint32_t *val);
/* Register the "fw-cfg" device unit (field table: selector, offset). */
/* The saved state's field table (the tools list and decode it). */
extern const ssm_field fw_cfg_fields[];
int fw_cfg_ssm_register(struct fw_cfg *f, ssm *reg, uint32_t instance);

#endif
