#!/usr/bin/env bash
# --cpu: the guest sees the chosen CPUID (the mbtest guest prints leaves 0,
# 1 and 7 after each tick with cpuid=1), the cpu unit saves it, and a
# restore keeps it; bad specifications are refused in one line, a +FEAT
# the host's KVM cannot give is warned about (refused with enforce).
. "$(dirname "$0")/lib.sh"

ELF=$(dirname "$VMM")/tests/guests/mbtest.elf
X2APIC=$(( 1 << 21 ))
FORGE=$(dirname "$VMM")/tests/tools/cpu_forge

# ecx_of FILE: leaf 1 ECX of every cpuid line the guest printed, one a line.
ecx_of() {
	sed -nE 's/^mbtest: cpuid vendor \[.*\] 1\.ecx ([0-9a-f]+) .*/\1/p' "$1"
}

t_refused() {
	vmm model --kernel "$ELF" --cpu pentium9
	expect_rc model 2 && one_vmm_line model "unknown CPU model 'pentium9'" || return 1
	vmm feat --kernel "$ELF" --cpu qemu64,+x2apic,+bogus
	expect_rc feat 2 && one_vmm_line feat 'unknown CPU feature bogus' || return 1
	vmm opt --kernel "$ELF" --cpu host,nosuch_option
	expect_rc opt 2 && one_vmm_line opt "unknown CPU feature or option nosuch_option" ||
		return 1
	vmm vend --kernel "$ELF" --cpu host,vendor=Intel
	expect_rc vend 2 && one_vmm_line vend 'vendor=Intel: expected 12 characters' || return 1
	: >x.sav
	vmm rest --restore x.sav --cpu host
	expect_rc rest 2 && one_vmm_line rest 'keeps the CPUID it was saved with' || return 1
}

# A feature no host of this kind offers here: la57 where KVM lacks it.
t_unavailable() {
	vmm warn --kernel "$ELF" --mem 32M --cmdline "exit=0" --cpu host,+la57
	expect_rc warn 1 || return 1
	if ! grep -q 'vmm: warning: --cpu host,+la57: this host.s KVM cannot offer la57' warn.err; then
		grep -q 'cannot offer' warn.err || { skip "this host's KVM offers la57"; return 0; }
		fail "no warning naming la57"; show warn.err; return 1
	fi
	vmm enf --kernel "$ELF" --mem 32M --cmdline "exit=0" --cpu host,+la57,enforce
	expect_rc enf 1 && one_vmm_line enf 'feature la57: this host.s KVM cannot offer la57' ||
		return 1
	grep -aq 'mbtest: exit' enf.out && { fail "the refused guest ran"; return 1; }
	return 0
}

t_vendor() {
	vmm ven --kernel "$ELF" --mem 32M --cmdline "spin=1 cpuid=1" --cpu host,vendor=VmmTestCPU12
	expect_rc ven 1 || return 1
	grep -aq '^mbtest: cpuid vendor \[VmmTestCPU12\]' ven.out ||
		{ fail "the guest did not see the vendor"; show ven.out; return 1; }
}

# host,-x2apic: the guest lacks x2apic before the save and after the
# restore (which checks the saved table against the host and gives it to
# KVM), and the state file holds that table.
t_restore_keeps_cpuid() {
	local e
	vmm plain --kernel "$ELF" --mem 32M --cmdline "spin=1 cpuid=1"
	e=$(ecx_of plain.out | head -n1)
	[ -n "$e" ] || { fail "no cpuid line"; show plain.out; return 1; }
	(( 0x$e & X2APIC )) || { skip "this host's guests have no x2apic to remove"; return 0; }
	vmm save --kernel "$ELF" --mem 32M --cmdline "exit=2 spin=40 cpuid=1" \
		--cpu host,-x2apic --serial file:a.txt --save s.sav --save-after 800ms
	saved_ok save s.sav || return 1
	grep -aq 'mbtest: exit' a.txt && { skip "the guest finished before the save"; return 0; }
	"$VMM" inspect s.sav --unit cpu >insp.txt 2>&1 || { fail "inspect failed"; show insp.txt; return 1; }
	e=$(awk '$1 == "cpuid[1].ecx" {print $2}' insp.txt)
	[ -n "$e" ] && (( !(e & X2APIC) )) ||
		{ fail "saved cpuid[1].ecx '$e' still has x2apic"; return 1; }
	vmm res --restore s.sav --serial file:b.txt
	expect_rc res 5 || { show b.txt; return 1; }
	[ -n "$(ecx_of b.txt)" ] || { fail "nothing printed after the restore"; return 1; }
	for e in $(ecx_of a.txt) $(ecx_of b.txt); do
		(( 0x$e & X2APIC )) && { fail "the guest saw x2apic (1.ecx $e)"; return 1; }
	done
	# The saved table is checked against the host before it reaches KVM.
	"$FORGE" s.sav f.sav cpuid.0x7.0.ecx=0x10000 >forge.log 2>&1 ||
		{ fail "cpu_forge failed"; show forge.log; return 1; }
	vmm forged --restore f.sav --serial none
	if grep -aq 'mbtest: exit' forged.out; then
		skip "this host's KVM offers la57: the forged table is legal here"
		return 0
	fi
	expect_rc forged 1 && one_vmm_line forged 'cpu: cpuid: this host lacks la57' || return 1
	return 0
}

run_test cpu_model_refusals t_refused
run_test cpu_model_unavailable_feature t_unavailable
run_test cpu_model_vendor t_vendor
run_test cpu_model_restore_keeps_cpuid t_restore_keeps_cpuid
