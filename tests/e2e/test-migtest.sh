#!/usr/bin/env bash
# The migtest guest (tests/guests/migtest.c, in-kernel irqchip) sets CPU,
# LAPIC, IOAPIC and PIT state, prints kvm-unit-tests' migration marker and
# waits for a key on COM1; here it is saved and restored, and separately
# live-migrated, at that moment, the key goes to the new vmm's serial
# input, and every check it then makes must pass ("SUMMARY: N tests, 0
# unexpected failures", vmm exit 1 = isa-debug-exit 0).  Without the key
# nothing continues; with the user-space chips it cannot run at all.
. "$(dirname "$0")/lib.sh"

MIG=$(dirname "$VMM")/tests/guests/migtest.elf
MARK='Now migrate the VM, then press a key to continue'

# passed TAG FILE...: the guest's checks passed in the concatenated output.
passed() {
	local tag=$1
	shift
	cat "$@" >"$tag.all"
	if ! grep -aqE '^SUMMARY: [0-9]+ tests, 0 unexpected failures' "$tag.all" ||
		grep -aq '^FAIL' "$tag.all"; then
		fail "$tag: the guest's checks did not all pass"
		grep -a -e '^FAIL' -e '^SUMMARY' "$tag.all" | head -n 20 >&2
		show "$tag.err"
		return 1
	fi
	grep -aq '^migtest: key after' "$tag.all" || { fail "$tag: no key reached the guest"; return 1; }
}

# key_fifo NAME: a FIFO held open on fd 7 (a write end that never closes).
key_fifo() {
	rm -f "$1"
	mkfifo "$1"
	exec 7<>"$1"
}

t_plain() {
	key_fifo in
	VMM_STDIN=in bg_vmm plain --kernel "$MIG" --mem 32M --irqchip kernel --serial stdio
	wait_until 20 has_line plain.out "$MARK" || { fail "no marker"; show plain.out; return 1; }
	sleep 0.3
	bg_alive plain || { fail "the guest went on without a key"; return 1; }
	echo >&7
	bg_wait plain
	expect_rc plain 1 && passed plain plain.out
}

t_save_restore() {
	key_fifo in
	bg_vmm save --kernel "$MIG" --mem 32M --irqchip kernel --serial stdio --save s.sav
	wait_until 20 has_line save.out "$MARK" || { fail "no marker"; show save.out; return 1; }
	bg_kill save TERM
	bg_wait save
	saved_ok save s.sav || return 1
	VMM_STDIN=in bg_vmm res --restore s.sav --serial stdio
	echo >&7
	bg_wait res
	expect_rc res 1 && passed res save.out res.out
}

t_migrate() {
	local port
	key_fifo in
	port=$(free_port 47400) || { fail "no free port"; return 1; }
	VMM_STDIN=in bg_incoming dst "$port" --serial stdio || return 1
	bg_vmm src --kernel "$MIG" --mem 32M --irqchip kernel --serial stdio \
		--migrate "tcp:127.0.0.1:$port"
	wait_until 20 has_line src.out "$MARK" || { fail "no marker"; show src.out; return 1; }
	bg_kill src USR1
	bg_wait src
	expect_rc src 0 || return 1
	echo >&7
	bg_wait dst
	expect_rc dst 1 && passed dst src.out dst.out || return 1
	grep -aq '^PASS' dst.out || { fail "no check ran at the destination"; return 1; }
}

t_user_chips() {
	vmm user --kernel "$MIG" --mem 32M --irqchip user --cmdline nokey=1 --serial stdio
	expect_rc user 1 || return 1
	grep -q 'KVM exit MMIO at 0xfee00' user.err ||
		{ fail "expected the LAPIC access to stop the guest"; show user.err; return 1; }
	grep -aq '^SUMMARY' user.out && { fail "the guest finished without a LAPIC"; return 1; }
	return 0
}

run_test migtest_plain t_plain
run_test migtest_save_restore_at_marker t_save_restore
run_test migtest_migrate_at_marker t_migrate
run_test migtest_user_chips_cannot_run t_user_chips
