/* board.h - the PC board the VMM builds: every absolute port number, port
 * range and IRQ line lives here and nowhere else in vmm/.  Devices see
 * offsets inside their range. */
#ifndef VMM_BOARD_H
#define VMM_BOARD_H

#define BOARD_PIC_MASTER_BASE   0x20
#define BOARD_PIC_MASTER_LEN    2
#define BOARD_PIC_SLAVE_BASE    0xa0
#define BOARD_PIC_SLAVE_LEN     2
#define BOARD_ELCR_BASE         0x4d0
#define BOARD_ELCR_LEN          2

#define BOARD_PIT_BASE          0x40
#define BOARD_PIT_LEN           4
#define BOARD_PORT61            0x61    /* PIT channel 2 gate, speaker, OUT2 */
#define BOARD_PIT_IRQ           0

#define BOARD_COM1_BASE         0x3f8
#define BOARD_COM1_LEN          8
#define BOARD_COM1_IRQ          4

/* Any byte written powers the machine off; the byte is the VMM's exit
 * status (the test kernel writes 0 after its last step). */
#define BOARD_POWEROFF_PORT     0x501

/* isa-debug-exit: byte V written ends the VM with status (V << 1) | 1. */
#define BOARD_DEBUG_EXIT_PORT   0xf4

/* fw_cfg: 16-bit selector at BASE, 8-bit data at BASE + 1. */
#define BOARD_FW_CFG_BASE       0x510
#define BOARD_FW_CFG_LEN        2

/* Vector bases the guest programs are its own business; the VMM only ever
 * asks the PIC model which vector to inject. */

#endif
