#!/usr/bin/env bash
# SMP (--cpus N): the smpguest (tests/guests/) starts its APs by INIT/SIPI
# through the in-kernel LAPIC and every CPU prints its ticks; booted with 2
# and 3 vCPUs, saved and restored mid-run, live-migrated mid-run, every
# vCPU carries on (each CPU's ticks 0..T-1 exactly once, in order, across
# the break).  The cpu unit has one instance per vCPU, and a file whose
# instances do not match its vCPU count is refused.  kvm-unit-tests'
# smptest with 2 and 3 vCPUs runs when the suite is built (it uses
# ../shared/peers or KUT_DIR, and skips loudly otherwise).
. "$(dirname "$0")/lib.sh"

GUEST=$(dirname "$VMM")/tests/guests/smpguest.elf
TOOL=$(dirname "$VMM")/tests/tools/ssm_units
TICKS=$((30 * E2E_SLOW))
SMP_CMD="ticks=$TICKS spin=20000 exit=5"
# The file's irqchip mode is repeated on restore.
IRQ=(--irqchip kernel)

# ticks_ok FILE N [WHAT]: in FILE every CPU 0..N-1 printed ticks 0..TICKS-1
# once each, in order, and the guest said it was done.
ticks_ok() {
	local f=$1 n=$2 what=${3:-$1} c got want
	want=$(seq 0 $((TICKS - 1)) | tr '\n' ' ')
	for c in $(seq 0 $((n - 1))); do
		got=$(grep -aoE "^smp: cpu $c tick [0-9]+\$" "$f" | awk '{print $5}' | tr '\n' ' ')
		if [ "$got" != "$want" ]; then
			fail "$what: cpu $c ticks [$got], expected 0..$((TICKS - 1)) once each"
			show "$f"
			return 1
		fi
	done
	if grep -aqE "^smp: cpu ([0-9]+) tick" "$f" &&
		[ "$(grep -aoE '^smp: cpu [0-9]+ ' "$f" | sort -u | wc -l)" -ne "$n" ]; then
		fail "$what: ticks from other CPUs than 0..$((n - 1))"
		show "$f"
		return 1
	fi
	grep -aqx 'smp: done' "$f" || { fail "$what: no 'smp: done'"; show "$f"; return 1; }
}

# after_break FILE N: every CPU printed ticks in FILE (it ran after the
# restore or migration, not only the BSP).
after_break() {
	local f=$1 n=$2 c
	for c in $(seq 0 $((n - 1))); do
		if ! grep -aqE "^smp: cpu $c tick " "$f"; then
			fail "cpu $c printed nothing after the break"
			show "$f"
			return 1
		fi
	done
}

t_boot() {
	local n
	[ -f "$GUEST" ] || { fail "$GUEST missing (make all)"; return 1; }
	for n in 2 3; do
		vmm "b$n" --kernel "$GUEST" --cpus "$n" "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD"
		expect_rc "b$n" 11 || return 1
		grep -aqx "smp: fwcfg cpus $n" "b$n.out" ||
			{ fail "b$n: fw_cfg does not report $n CPUs"; show "b$n.out"; return 1; }
		grep -aqx "smp: up $((n - 1))" "b$n.out" ||
			{ fail "b$n: not $((n - 1)) APs up"; show "b$n.out"; return 1; }
		ticks_ok "b$n.out" "$n" || return 1
	done
	# One vCPU: no AP, fw_cfg says 1, either irqchip.
	vmm b1 --kernel "$GUEST" --cpus 1 --mem 32M --cmdline "$SMP_CMD"
	expect_rc b1 11 || return 1
	grep -aqx 'smp: fwcfg cpus 1' b1.out && grep -aqx 'smp: up 0' b1.out ||
		{ fail "b1: not one CPU"; show b1.out; return 1; }
	ticks_ok b1.out 1 || return 1
}

t_usage() {
	vmm u1 --kernel "$GUEST" --cpus 2
	expect_rc u1 2 && one_vmm_line u1 '--cpus 2: more than one vCPU needs --irqchip kernel' ||
		return 1
	vmm u2 --kernel "$GUEST" --cpus 2 --irqchip user
	expect_rc u2 2 && one_vmm_line u2 'needs --irqchip kernel' || return 1
	vmm u3 --cpus 0
	expect_rc u3 2 && one_vmm_line u3 '--cpus 0: expected a vCPU count from 1 to 64' || return 1
	vmm u4 --cpus 65 "${IRQ[@]}"
	expect_rc u4 2 && one_vmm_line u4 '--cpus 65: expected' || return 1
	vmm u5 --cpus 2x
	expect_rc u5 2 && one_vmm_line u5 '--cpus 2x: expected' || return 1
}

# save_restore N: saved mid-run, restored (and the restored VM saved and
# restored once more), every vCPU continues.
save_restore() {
	local n=$1
	vmm "s$n" --kernel "$GUEST" --cpus "$n" "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial file:a$n.txt --save "s$n.sav" --save-after 1500ms
	saved_ok "s$n" "s$n.sav" || return 1
	grep -aqx 'smp: done' "a$n.txt" && { skip "the guest finished before the save"; return 2; }
	# One cpu unit instance per vCPU, each its own APIC ID in CPUID.
	"$VMM" inspect "s$n.sav" >"i$n.txt" || { fail "inspect s$n.sav"; return 1; }
	if [ "$(awk '$1 == "cpu" { print $2 }' "i$n.txt" | tr '\n' ' ')" != \
		"$(seq 0 $((n - 1)) | tr '\n' ' ')" ]; then
		fail "s$n.sav: cpu instances are not 0..$((n - 1))"
		show "i$n.txt"
		return 1
	fi
	"$VMM" inspect "s$n.sav" --unit "cpu:$((n - 1))" >"c$n.txt" ||
		{ fail "inspect --unit cpu:$((n - 1))"; return 1; }
	"$VMM" verify "s$n.sav" >"v$n.txt" 2>&1 || { fail "verify s$n.sav"; show "v$n.txt"; return 1; }
	vmm "r$n" --restore "s$n.sav" "${IRQ[@]}" --serial "file:b$n.txt" --save "t$n.sav" \
		--save-after 700ms
	if [ "$RC" -eq 11 ]; then
		note "$n vCPUs: the restored guest finished before the second save"
		: >"c2$n.txt"
	else
		saved_ok "r$n" "t$n.sav" || return 1
		vmm "q$n" --restore "t$n.sav" "${IRQ[@]}" --serial "file:c2$n.txt"
		expect_rc "q$n" 11 || return 1
	fi
	cat "a$n.txt" "b$n.txt" "c2$n.txt" >"all$n.txt"
	ticks_ok "all$n.txt" "$n" "$n vCPUs across save/restore" || return 1
	cat "b$n.txt" "c2$n.txt" >"after$n.txt"
	after_break "after$n.txt" "$n" || return 1
	note "$n vCPUs: $(grep -ac tick "a$n.txt") ticks before the save, $(grep -ac tick "after$n.txt") after"
}

t_save_restore() {
	local n rc
	for n in 2 3; do
		save_restore "$n"
		rc=$?
		[ "$rc" -eq 2 ] && return 0
		[ "$rc" -eq 0 ] || return 1
	done
}

# consecutive FILE N: each CPU's ticks in FILE run k..TICKS-1 without a gap
# (a restore from a point-in-time snapshot carries on from the request).
consecutive() {
	local f=$1 n=$2 c got first
	for c in $(seq 0 $((n - 1))); do
		got=$(grep -aoE "^smp: cpu $c tick [0-9]+\$" "$f" | awk '{print $5}' | tr '\n' ' ')
		first=${got%% *}
		if [ -z "$got" ] || [ "$got" != "$(seq "$first" $((TICKS - 1)) | tr '\n' ' ')" ]; then
			fail "cpu $c ticks after the restore [$got], expected k..$((TICKS - 1))"
			show "$f"
			return 1
		fi
	done
}

# A point-in-time snapshot reads every vCPU before the fork: the guest
# runs on to its end, and the file restores all of them at the request.
t_point_in_time() {
	vmm p --kernel "$GUEST" --cpus 3 "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial file:pa.txt --save p.sav --continue --background --save-after 1500ms
	expect_rc p 11 || return 1
	grep -q 'point-in-time snapshot for p.sav taken' p.err && grep -q '^vmm: saved to p.sav' p.err ||
		{ fail "p: no point-in-time snapshot written"; show p.err; return 1; }
	ticks_ok pa.txt 3 "the guest that ran on" || return 1
	vmm pr --restore p.sav "${IRQ[@]}" --serial file:pb.txt
	expect_rc pr 11 || return 1
	consecutive pb.txt 3 || return 1
	grep -aqx 'smp: done' pb.txt || { fail "pr: no 'smp: done'"; show pb.txt; return 1; }
}

# An incremental chain of a 2-vCPU guest: base, then a child, each taken
# with every vCPU paused; the child restores both vCPUs where they were.
t_incremental() {
	bg_vmm inc --kernel "$GUEST" --cpus 2 "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial file:ia.txt --save i.sav --continue --incremental || return 1
	wait_until 20 has_line ia.txt '^smp: cpu 1 tick 3$' ||
		{ fail "the AP did not tick"; show ia.txt; return 1; }
	bg_kill inc INT
	wait_until 20 has_line inc.err '^vmm: saved to i.sav ' || { fail "no base"; show inc.err; return 1; }
	wait_until 20 has_line ia.txt '^smp: cpu 1 tick 6$' || { fail "no ticks after the base"; return 1; }
	bg_kill inc INT
	wait_until 20 has_line inc.err '^vmm: saved to i.sav.1 .*incremental' ||
		{ fail "no child"; show inc.err; return 1; }
	bg_wait inc
	expect_rc inc 11 || return 1
	vmm ir --restore i.sav.1 --serial file:ib.txt
	expect_rc ir 11 || return 1
	consecutive ib.txt 2 || return 1
}

# The monitor's stop pauses every vCPU (no CPU prints while stopped), cont
# resumes them all.
t_monitor() {
	local a b
	bg_vmm mon --kernel "$GUEST" --cpus 3 "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial file:mo.txt --monitor "unix:$PWD/m.sock" || return 1
	wait_until 20 has_line mo.txt '^smp: cpu [12] tick 2$' ||
		{ fail "the APs did not tick"; show mo.txt; return 1; }
	"$VMM" ctl "$PWD/m.sock" stop >ctl.out 2>&1 || { fail "ctl stop"; show ctl.out; return 1; }
	a=$(grep -ac tick mo.txt)
	sleep 1
	b=$(grep -ac tick mo.txt)
	[ "$a" -eq "$b" ] || { fail "ticks went on while stopped ($a -> $b)"; return 1; }
	"$VMM" ctl "$PWD/m.sock" cont >ctl.out 2>&1 || { fail "ctl cont"; show ctl.out; return 1; }
	bg_wait mon
	expect_rc mon 11 || return 1
	ticks_ok mo.txt 3 "3 vCPUs stopped and continued" || return 1
}

# migrate N: live-migrated mid-run, every vCPU runs on at the destination.
migrate() {
	local n=$1 port
	port=$(free_port 47400) || { fail "no free port"; return 1; }
	bg_incoming "d$n" "$port" --serial "file:dst$n.txt" || return 1
	vmm "m$n" --kernel "$GUEST" --cpus "$n" "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial "file:src$n.txt" --migrate "tcp:127.0.0.1:$port" --migrate-after 1500ms
	expect_rc "m$n" 0 || { show "d$n.err"; return 1; }
	bg_wait "d$n"
	expect_rc "d$n" 11 || { show "dst$n.txt"; return 1; }
	cat "src$n.txt" "dst$n.txt" >"mall$n.txt"
	ticks_ok "mall$n.txt" "$n" "$n vCPUs across the migration" || return 1
	after_break "dst$n.txt" "$n" || return 1
}

t_migrate() {
	migrate 2 && migrate 3
}

# A file whose cpu instances do not match its vCPU count is refused, by
# restore and by verify, naming the instance.
t_instances() {
	local good
	[ -x "$TOOL" ] || { fail "$TOOL is missing (make all builds it)"; return 1; }
	vmm g --kernel "$GUEST" --cpus 2 "${IRQ[@]}" --mem 32M --cmdline "$SMP_CMD" \
		--serial none --save g.sav --save-after 800ms
	saved_ok g g.sav || return 1
	good=g.sav
	# missing: instance 1 left out; the count says 3; extra: the count says 1.
	"$TOOL" "$good" miss.sav --drop cpu:1 &&
		"$TOOL" "$good" three.sav --ncpus 3 &&
		"$TOOL" "$good" one.sav --ncpus 1 &&
		"$TOOL" "$good" far.sav --renumber cpu 1 7 &&
		"$TOOL" "$good" nolapic.sav --drop lapic:1 2>tool.err ||
		{ fail "ssm_units failed"; show tool.err; return 1; }
	vmm miss --restore miss.sav "${IRQ[@]}" --serial none
	expect_rc miss 1 && one_vmm_line miss "no 'cpu' unit instance 1.*2 vCPUs" || return 1
	vmm three --restore three.sav "${IRQ[@]}" --serial none
	expect_rc three 1 && one_vmm_line three "no 'cpu' unit instance 2.*3 vCPUs" || return 1
	# A machine built for the file's count knows only those instances.
	vmm one --restore one.sav --serial none
	expect_rc one 1 && one_vmm_line one "unit 'cpu' instance 1 .*not known" || return 1
	vmm far --restore far.sav "${IRQ[@]}" --serial none
	expect_rc far 1 && one_vmm_line far "unit 'cpu' instance 7 .*not known" || return 1
	# Over a stream the machine is built from its first record: every
	# instance is known until then, and the count check names it.
	VMM_STDIN=one.sav vmm onep --restore - --serial none
	expect_rc onep 1 && one_vmm_line onep "cpu: instance 1, but the machine has 1 vCPU" ||
		return 1
	vmm nolapic --restore nolapic.sav --serial none
	expect_rc nolapic 1 && one_vmm_line nolapic "no 'lapic' unit \(instance 1" || return 1
	# Two vCPUs in a file of the user irqchip: the count needs KVM's LAPIC.
	vmm u --kernel "$GUEST" --mem 32M --cmdline "$SMP_CMD" --serial none --save u.sav \
		--save-after 800ms
	saved_ok u u.sav || return 1
	"$TOOL" u.sav user2.sav --ncpus 2 2>tool.err || { fail "ssm_units failed"; show tool.err; return 1; }
	vmm user2 --restore user2.sav --serial none
	expect_rc user2 1 && one_vmm_line user2 "machine: field ncpus 2 needs field irqchip 1" ||
		return 1
	for f in miss three one far nolapic user2; do
		if "$VMM" verify "$f.sav" >"vf-$f.txt" 2>&1; then
			fail "verify accepted $f.sav"
			show "vf-$f.txt"
			return 1
		fi
		grep -qE "instance (1|2|7)|lapic 1|ncpus 2" "vf-$f.txt" ||
			{ fail "verify $f.sav does not name the instance"; show "vf-$f.txt"; return 1; }
	done
	# --cpus on restore may only repeat the file's count.
	vmm c3 --restore "$good" --cpus 3 "${IRQ[@]}" --serial none
	expect_rc c3 2 && one_vmm_line c3 '--cpus 3 contradicts the saved machine \(2 vCPUs\)' ||
		return 1
}

# kvm-unit-tests' smptest, 2 and 3 vCPUs: uses the suite from
# ../shared/peers built under KUT_DIR (default: build/kut/kvm-unit-tests
# beside the vmm binary, built from ../shared/peers per its README).
t_kut_smptest() {
	local kut=${KUT_DIR:-$(dirname "$VMM")/kut/kvm-unit-tests} n
	if [ ! -f "$kut/x86/smptest.flat" ]; then
		skip "kvm-unit-tests not built at $kut (build ../shared/peers/kvm-unit-tests-*.tar.gz there, or set KUT_DIR)"
		return 0
	fi
	for n in 2 3; do
		vmm "k$n" --kernel "$kut/x86/smptest.flat" --cpus "$n" "${IRQ[@]}" --mem 256M
		expect_rc "k$n" 1 || return 1
		tr -d '\r' <"k$n.out" >"k$n.txt"
		grep -aqx "found $n cpus" "k$n.txt" && grep -aq '^PASS: IPI to each CPU' "k$n.txt" ||
			{ fail "smptest with $n vCPUs did not pass"; show "k$n.out"; return 1; }
	done
}

run_test smp_boot t_boot
run_test smp_usage t_usage
run_test smp_save_restore t_save_restore
run_test smp_point_in_time t_point_in_time
run_test smp_monitor t_monitor
run_test smp_incremental t_incremental
run_test smp_migrate t_migrate
run_test smp_instances t_instances
run_test smp_kut_smptest t_kut_smptest
