/* machine_devs.c - the board's devices for guests written elsewhere
 * (kvm-unit-tests, QEMU-style guests): isa-debug-exit and fw_cfg, wired
 * to their ports.  Their handlers run under the VM lock like every port
 * handler (bus.h). */
#include "vmm/board.h"
#include "vmm/machine.h"

static void debug_exit_port_write(void *dev, uint16_t off, uint8_t val)
{
	struct machine *m = dev;

	machine_assert_locked(m);
	(void)off;
	debug_exit_write(&m->debug_exit, val);
}

/* isa-debug-exit's request: the VM ends like a power-off with status. */
static void debug_exit_end(void *opaque, int status)
{
	machine_end(opaque, status);
}

static void fw_cfg_port_io(void *dev, uint16_t off, bool is_write, unsigned size,
			   uint32_t *val)
{
	struct machine *m = dev;

	machine_assert_locked(m);
	fw_cfg_io(&m->fw_cfg, off, is_write, size, val);
}

void machine_init_guest_devices(struct machine *m)
{
	/* RAM size 0 until machine_build knows it (it sets it again). */
	fw_cfg_init(&m->fw_cfg, 0, 1);
	debug_exit_init(&m->debug_exit, debug_exit_end, m);
}

int machine_wire_guest_devices(struct machine *m)
{
	if (bus_register(&m->bus, BOARD_DEBUG_EXIT_PORT, 1, "isa-debug-exit", m, NULL,
			 debug_exit_port_write) ||
	    bus_register_wide(&m->bus, BOARD_FW_CFG_BASE, BOARD_FW_CFG_LEN, "fw-cfg", m,
			      fw_cfg_port_io))
		return -1;
	return 0;
}
