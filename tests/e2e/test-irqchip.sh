#!/usr/bin/env bash
# --irqchip kernel: KVM's LAPIC, IOAPIC, PIC pair and PIT.  The test kernel
# (PIC + PIT, COM1 input on IRQ 4) and the multiboot guest run on them; the
# bench's LAPIC-timer guest (bench/guest/tickguest.S, a tick every 100 ms)
# is saved and restored mid-run and live-migrated, and its ticks carry on
# exactly (the first after = the last before + 1); a state of one mode is
# refused by the other; a forged lapic, ioapic or kvm-pit field is refused
# with one line naming it.  The modes are chosen here: E2E_IRQCHIP does
# not change this file.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=$(dirname "$VMM")
REAL_VMM=$BUILD_DIR/vmm     # not run-e2e.sh's wrapper: each boot names its mode
TICK=$BUILD_DIR/bench-guest/tickguest.bin
FORGE=$BUILD_DIR/tests/forge/forge

kvmm() {
	local tag=$1
	shift
	timeout -k 5 "$VMM_TIMEOUT" "$REAL_VMM" "$@" <"${VMM_STDIN:-/dev/null}" >"$tag.out" \
		2>"$tag.err"
	RC=$?
	echo "[$tag] vmm $* -> exit $RC" >>cmds.log
}

bg_kvmm() {
	local tag=$1
	shift
	timeout -k 5 "$VMM_TIMEOUT" "$REAL_VMM" "$@" <"${VMM_STDIN:-/dev/null}" >"$tag.out" \
		2>"$tag.err" &
	bg_track "$tag" $! "vmm $*"
}

need_tick() {
	[ -f "$TICK" ] && return 0
	fail "$TICK is missing (make all builds it)"
	return 1
}

# ticks_in FILE: the tick numbers, one a line.
ticks_in() {
	grep -aoE '^tick [0-9]+' "$1" | awk '{ print $2 }'
}

# continues BEFORE AFTER: AFTER's ticks start at BEFORE's last + 1 and
# step by one.
continues() {
	local last first bad
	last=$(ticks_in "$1" | tail -n1)
	first=$(ticks_in "$2" | head -n1)
	if [ -z "$last" ] || [ -z "$first" ]; then
		fail "no ticks before ($1: '$last') or after ($2: '$first')"
		show "$1"
		show "$2"
		return 1
	fi
	if [ "$first" -ne $((last + 1)) ]; then
		fail "ticks jump from $last (before) to $first (after)"
		show "$1"
		show "$2"
		return 1
	fi
	bad=$(ticks_in "$2" | awk 'NR > 1 && $1 != p + 1 { print p " -> " $1; exit } { p = $1 }')
	[ -z "$bad" ] || { fail "$2: ticks skip: $bad"; return 1; }
	note "ticks $last | $first.. $(ticks_in "$2" | tail -n1)"
}

t_boots() {
	local t0
	# The test kernel: PIC and PIT interrupts, and COM1 input (IRQ 4
	# through KVM_IRQ_LINE) echoed.
	( sleep 0.3; printf 'irqchip-input\r'; sleep 5 ) |
		timeout -k 5 60 "$REAL_VMM" --irqchip kernel --serial stdio \
			--cmdline "steps=1000" >k.out 2>k.err
	RC=$?
	echo "[k] vmm --irqchip kernel --cmdline steps=1000 -> exit $RC" >>cmds.log
	expect_rc k 0 || return 1
	check_steps k.out 1000 || return 1
	grep -aq 'irqchip-input' k.out || { fail "COM1 input was not echoed (IRQ 4)"; show k.out; return 1; }
	[ "$(ticks_of k.out | tail -n1)" -gt 0 ] || { fail "no PIT ticks"; show k.out; return 1; }
	# The multiboot guest reads fw_cfg and exits through isa-debug-exit.
	kvmm mb --irqchip kernel --mem 64M --serial stdout --kernel "$BUILD_DIR/tests/guests/mbtest.elf"
	expect_rc mb 1 || return 1
	grep -aq '^mbtest: exit 0' mb.out || { fail "mbtest did not finish"; show mb.out; return 1; }
	# The LAPIC timer: without the kernel irqchip the guest stops at its
	# first LAPIC access.
	need_tick || return 1
	t0=$(date +%s%N)
	VMM_TIMEOUT=3 kvmm tick --irqchip kernel --mem 64M --kernel "$TICK" --serial stdout
	[ "$(ticks_in tick.out | tail -n1)" -ge 10 ] ||
		{ fail "tickguest: fewer than 10 ticks in 3 s"; show tick.out; return 1; }
	VMM_TIMEOUT=3 kvmm utick --mem 64M --kernel "$TICK" --serial stdout
	grep -aq 'MMIO at 0xfee' utick.err || { fail "user irqchip: no LAPIC, expected an MMIO stop"; show utick.err; return 1; }
}

# Save at ~1.5 s, restore: the LAPIC timer's count, the guest's tick
# number and the TSC carry on.
t_lapic_timer_save_restore() {
	need_tick || return 1
	kvmm save --irqchip kernel --mem 64M --kernel "$TICK" --cmdline "fill=4" \
		--serial file:a.txt --save s.sav --save-after 1500ms
	expect_rc save 0 || return 1
	kvmm inspect inspect s.sav --unit lapic:0
	grep -qE '^ *lvt_timer +0x2....' inspect.out ||
		{ fail "lapic:0 not periodic"; show inspect.out; return 1; }
	VMM_TIMEOUT=2 kvmm restore --restore s.sav --serial file:b.txt
	continues a.txt b.txt || return 1
	[ "$(ticks_in b.txt | wc -l)" -ge 5 ] || { fail "fewer than 5 ticks after restore"; show b.txt; return 1; }
}

t_lapic_timer_migrate() {
	local port
	need_tick || return 1
	port=$(free_port 47420) || { fail "no free port"; return 1; }
	bg_kvmm dst --incoming "tcp:127.0.0.1:$port" --serial file:b.txt
	wait_until 10 has_line dst.err '^vmm: waiting for a migration on ' ||
		{ fail "destination not listening"; show dst.err; return 1; }
	kvmm src --irqchip kernel --mem 64M --kernel "$TICK" --cmdline "fill=4 dirty=2" \
		--serial file:a.txt --migrate "tcp:127.0.0.1:$port" --migrate-after 1500ms
	expect_rc src 0 || return 1
	wait_until 10 eval '[ "$(ticks_in b.txt | wc -l)" -ge 5 ]' ||
		{ fail "the destination did not tick on"; show dst.err; show b.txt; return 1; }
	bg_kill dst TERM
	bg_wait dst
	continues a.txt b.txt
}

# A file's mode wins; an explicit other one is refused, both ways and over
# a migration.
t_cross_mode_refused() {
	local port answer
	kvmm ku --irqchip kernel --cmdline "steps=100000" --serial none --save k.sav \
		--save-after 300ms
	expect_rc ku 0 || return 1
	kvmm uu --cmdline "steps=100000" --serial none --save u.sav --save-after 300ms
	expect_rc uu 0 || return 1
	kvmm r1 --restore k.sav --irqchip user --serial none
	expect_rc r1 2 || return 1
	one_vmm_line r1 '--irqchip user: k.sav was saved with --irqchip kernel' || return 1
	kvmm r2 --restore u.sav --irqchip kernel --serial none
	expect_rc r2 2 || return 1
	one_vmm_line r2 '--irqchip kernel: u.sav was saved with --irqchip user' || return 1
	kvmm insp inspect k.sav --unit machine
	grep -qE '^ *irqchip +0x1 ' insp.out || { fail "machine unit: no irqchip 1"; show insp.out; return 1; }
	port=$(free_port 47430) || { fail "no free port"; return 1; }
	bg_kvmm in --incoming "tcp:127.0.0.1:$port" --irqchip user --serial none
	wait_until 10 has_line in.err '^vmm: waiting for a migration on ' ||
		{ fail "destination not listening"; show in.err; return 1; }
	# The source keeps its guest when the destination refuses: it runs
	# on to its end.
	kvmm mig --irqchip kernel --cmdline "steps=2000" --serial none \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 300ms
	bg_wait in
	[ "$RC" -eq 1 ] || { fail "destination exit $RC, expected 1"; show in.err; return 1; }
	grep -q "the stream's VM uses --irqchip kernel; this vmm was started with --irqchip user" in.err ||
		{ fail "destination did not name the modes"; show in.err; return 1; }
	expect_rc mig 0 || return 1
	if grep -q '^vmm: migrated:' mig.err; then
		fail "the source believes it migrated"
		show mig.err
		return 1
	fi
	return 0
}

# forged UNIT FIELD [MUTATION-ERE]: the forge's case of the field (default:
# its first illegal value) is refused naming unit and field, before the
# guest runs.
forged() {
	local unit=$1 field=$2 what=${3:-first illegal} n
	n=$(awk -F'\t' -v u="$unit" -v f="$field" -v w="$what" '$3 == u && $4 == f && $5 ~ w { print $1; exit }' \
		cases.txt)
	[ -n "$n" ] || { fail "forge has no case /$what/ of $unit $field"; return 1; }
	"$FORGE" make good.sav "$n" "f-$n.sav" 2>forge.err || { fail "forge make $n"; show forge.err; return 1; }
	kvmm "f-$n" --restore "f-$n.sav" --serial file:"f-$n.txt"
	expect_rc "f-$n" 1 || return 1
	one_vmm_line "f-$n" "$unit( [0-9]+)?: field ${field//[/\\[}" || return 1
	[ ! -s "f-$n.txt" ] || { fail "the forged guest ran"; return 1; }
}

t_forged_fields_refused() {
	[ -x "$FORGE" ] || { fail "$FORGE is missing (make all)"; return 1; }
	kvmm good --irqchip kernel --cmdline "steps=100000" --serial none --save good.sav \
		--save-after 300ms
	expect_rc good 0 || return 1
	"$FORGE" list good.sav >cases.txt 2>forge.err || { fail "forge list"; show forge.err; return 1; }
	forged lapic lvt_timer || return 1
	forged lapic x2apic || return 1
	forged ioapic ioregsel || return 1
	forged ioapic 'redir[4]' || return 1
	forged kvm-pit ch[0].count || return 1
	forged kvm-pit flags '^\\+1: 0x1 ' || return 1
	forged kvm-pic chip[0].priority_add || return 1
	forged machine irqchip 'byte set to 0xff' || return 1
}

run_test irqchip_boots t_boots
run_test irqchip_lapic_timer_save_restore t_lapic_timer_save_restore
run_test irqchip_lapic_timer_migrate t_lapic_timer_migrate
run_test irqchip_cross_mode_refused t_cross_mode_refused
run_test irqchip_forged_fields_refused t_forged_fields_refused
