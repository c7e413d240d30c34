/* irqchip_state.h - the saved form of KVM's in-kernel interrupt controllers
 * (--irqchip kernel) and the checks a load makes before any of it reaches
 * KVM.  Pure: no KVM calls, no I/O (the unit code, verify and the tests
 * share it).
 *
 * Four units, each one struct saved with its field table (SSM_STRUCT_FULL):
 *   lapic    (instance = vCPU index) the 1 KiB KVM_GET_LAPIC page decoded
 *            into its architectural registers, the TSC deadline MSR and the
 *            APIC mode (xAPIC / x2APIC) it was read in;
 *   kvm-pic  KVM_GET_IRQCHIP's PIC master and slave;
 *   ioapic   KVM_GET_IRQCHIP's IOAPIC;
 *   kvm-pit  KVM_GET_PIT2 (channels and flags; not count_load_time, a host
 *            clock reading that KVM_SET_PIT2 replaces anyway).
 * Each check returns 0, or -1 with why = "field NAME VALUE: reason".
 */
#ifndef VMM_IRQCHIP_STATE_H
#define VMM_IRQCHIP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "ssm/ssm.h"

#define KIRQ_LAPIC_VERSION 1
#define KIRQ_LAPIC_VERSION_MIN 1
#define KIRQ_PIC_VERSION 1
#define KIRQ_PIC_VERSION_MIN 1
#define KIRQ_IOAPIC_VERSION 1
#define KIRQ_IOAPIC_VERSION_MIN 1
#define KIRQ_PIT_VERSION 1
#define KIRQ_PIT_VERSION_MIN 1

#define KIRQ_IOAPIC_PINS 24             /* KVM_IOAPIC_NUM_PINS */
#define KIRQ_IOAPIC_BASE 0xfec00000ull  /* where KVM's IOAPIC answers */

struct kirq_lapic {
	uint64_t tsc_deadline;          /* MSR 0x6e0 (0 unless that mode) */
	uint32_t id, version, tpr, ldr, dfr, svr;
	uint32_t isr[8], tmr[8], irr[8];
	uint32_t esr, icr_lo, icr_hi;
	uint32_t lvt_cmci, lvt_timer, lvt_thermal, lvt_perf, lvt_lint0, lvt_lint1, lvt_error;
	uint32_t timer_initial, timer_current, timer_divide;
	uint32_t x2apic;                /* 1: read in x2APIC mode */
};

struct kirq_pic_chip {
	uint8_t last_irr, irr, imr, isr, priority_add, irq_base, read_reg_select, poll;
	uint8_t special_mask, init_state, auto_eoi, rotate_on_auto_eoi;
	uint8_t special_fully_nested_mode, init4, elcr, elcr_mask;
};

struct kirq_pic {
	struct kirq_pic_chip chip[2];   /* master, slave */
};

struct kirq_ioapic {
	uint64_t base_address;
	uint64_t redir[KIRQ_IOAPIC_PINS];
	uint32_t ioregsel, id, irr;
	uint32_t pins;                  /* KIRQ_IOAPIC_PINS */
};

struct kirq_pit_channel {
	uint32_t count;
	uint16_t latched_count;
	uint8_t count_latched, status_latched, status, read_state, write_state;
	uint8_t write_latch, rw_mode, mode, bcd, gate;
};

struct kirq_pit {
	struct kirq_pit_channel ch[3];
	uint32_t flags;
};

extern const ssm_field kirq_lapic_fields[];
extern const ssm_field kirq_pic_fields[];
extern const ssm_field kirq_ioapic_fields[];
extern const ssm_field kirq_pit_fields[];

/* KVM's register page <-> the saved registers.  encode writes only the
 * registers kirq_lapic holds into page (the rest stays as the caller had
 * it: a fresh vCPU's page); tsc_deadline and x2apic are not in the page. */
void kirq_lapic_decode(const struct kvm_lapic_state *page, struct kirq_lapic *l);
void kirq_lapic_encode(const struct kirq_lapic *l, struct kvm_lapic_state *page);
void kirq_pic_decode(const struct kvm_pic_state *master, const struct kvm_pic_state *slave,
		     struct kirq_pic *p);
void kirq_pic_encode(const struct kirq_pic *p, struct kvm_pic_state *master,
		     struct kvm_pic_state *slave);
void kirq_ioapic_decode(const struct kvm_ioapic_state *k, struct kirq_ioapic *s);
void kirq_ioapic_encode(const struct kirq_ioapic *s, struct kvm_ioapic_state *k);
void kirq_pit_decode(const struct kvm_pit_state2 *k, struct kirq_pit *s);
void kirq_pit_encode(const struct kirq_pit *s, struct kvm_pit_state2 *k);

/* The architecture's rules for vCPU index's LAPIC (reserved bits, vector
 * ranges, delivery and timer modes, x2APIC's fixed ID and LDR). */
int kirq_lapic_check(const struct kirq_lapic *l, uint32_t index, char *why, size_t len);
/* KVM's PIC pair: flags 0/1, ranges, KVM's fixed ELCR masks. */
int kirq_pic_check(const struct kirq_pic *p, char *why, size_t len);
/* Base address, ID, IOREGSEL and every redirection entry. */
int kirq_ioapic_check(const struct kirq_ioapic *s, char *why, size_t len);
/* Channel counts, modes, access states, gates; flags. */
int kirq_pit_check(const struct kirq_pit *s, char *why, size_t len);

/* The four units for code that reads them whole (load, verify). */
struct kirq_unit {
	const char *name;               /* "lapic", "kvm-pic", "ioapic", "kvm-pit" */
	uint32_t version, version_min;  /* written, oldest loaded */
	const ssm_field *fields;
	size_t size;                    /* of the struct the table describes */
	int (*check)(const void *st, uint32_t instance, char *why, size_t len);
};

extern const struct kirq_unit kirq_unit_lapic, kirq_unit_pic, kirq_unit_ioapic,
	kirq_unit_pit;

/* Read unit u's record (saved version `version`, the unit's instance) from
 * h into st (u->size bytes) and check it: SSM_OK, or the refusal recorded
 * in h as one line "UNIT[ INSTANCE]: field NAME VALUE: reason". */
int kirq_unit_get(ssm_handle *h, const struct kirq_unit *u, uint32_t instance,
		  uint32_t version, void *st);

#endif
