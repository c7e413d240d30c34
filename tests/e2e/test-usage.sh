#!/usr/bin/env bash
# Command-line errors: one "vmm: " line and exit 2, before any VM exists;
# on --restore, flags may repeat the saved machine but not contradict it.
. "$(dirname "$0")/lib.sh"

R_CMD="steps=400 mem=16M"       # with the default --mem (256M)

t_restore_flags() {
	local ref kernel
	ref=$(reference 256M "$R_CMD") || return 1
	kernel=$(dirname "$VMM")/guest/kernel.elf
	vmm save --cmdline "$R_CMD" --serial file:a.txt --save s.sav --save-after 300ms
	saved_ok save s.sav || return 1
	cp "$kernel" other.elf
	printf 'x' >>other.elf

	vmm mem --restore s.sav --mem 512M --serial stdio
	expect_rc mem 2 && one_vmm_line mem '--mem 512M contradicts the saved machine \(256M\)' || return 1
	vmm cmd --restore s.sav --cmdline "steps=5" --serial stdio
	expect_rc cmd 2 && one_vmm_line cmd 'contradicts' || return 1
	vmm kern --restore s.sav --kernel other.elf --serial stdio
	expect_rc kern 2 && one_vmm_line kern 'not the kernel' || return 1
	if grep -aq step mem.out cmd.out kern.out; then
		fail "a refused restore ran the guest"
		return 1
	fi
	# Repeating what the file says is fine.
	vmm same --restore s.sav --mem 256M --cmdline "$R_CMD" --kernel "$kernel" \
		--serial file:b.txt
	expect_rc same 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt 400 || return 1
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

t_usage() {
	local i=0 args bad=
	while IFS= read -r args; do
		i=$((i + 1))
		eval "set -- $args"
		vmm "u$i" "$@"
		if crashed "u$i"; then
			return 1
		fi
		if [ "$RC" -ne 2 ] || [ "$(wc -l <"u$i.err")" -ne 1 ] ||
			! grep -q '^vmm: ' "u$i.err" || [ -s "u$i.out" ]; then
			bad="$bad [$args: exit $RC, $(wc -l <"u$i.err") stderr lines: $(head -c 120 "u$i.err" | tr '\n' '|')]"
		fi
	done <<'CASES'
--bogus
--bogus=1
--help=yes
--save-after 1s
--save s.sav --save-after 5x
--save s.sav --save-after 0
--save s.sav --save-after ''
--mem 3M
--mem 1000K
--mem lots
--serial tcp:1234
--serial file:
--mem
stray-argument
--save ''
--save . --save-after 1s
--restore ''
--save s.sav --serial file:s.sav --save-after 1s
--restore u1.err --serial file:./u1.err
--module ''
--module ,args
--initrd x --incoming tcp:127.0.0.1:1
--module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a --module a
CASES
	[ -z "$bad" ] || fail "usage errors not refused with exit 2 and one line:$bad"
	[ ! -e s.sav ] || fail "a usage error created s.sav"
}

run_test restore_flags_contradict t_restore_flags
run_test usage_errors t_usage
