#!/usr/bin/env bash
# The compatibility promise (docs/compat.md): every golden state file under
# tests/data/ restores and the guest carries on exactly where it was saved.
# NAME.before is what the guest printed up to the save, NAME.expect the
# whole transcript (ticks removed) of the uninterrupted run; NAME.before
# plus the restored run's output must be exactly NAME.expect.
. "$(dirname "$0")/lib.sh"

DATA=$(cd "$(dirname "$0")/../data" && pwd)
ROOT=$(cd "$DATA/../.." && pwd)
# Golden files are only ever added (docs/compat.md): these must be there.
REQUIRED="plain live serial-input serial-pending zlib zstd plain-mboot"

have_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

# t_golden NAME: restore tests/data/NAME.sav, compare the transcript.
t_golden() {
	local name=$1 f=$DATA/$1 n
	if ! have_kvm; then
		echo "*** test-golden: SKIPPED $name: no usable /dev/kvm, the golden file was NOT checked ***" >&2
		skip "no usable /dev/kvm: golden file $name.sav NOT checked"
		return 0
	fi
	for ext in sav before expect; do
		[ -s "$f.$ext" ] || { fail "tests/data/$name.$ext is missing or empty"; return 1; }
	done
	vmm restore --restore "$f.sav" --serial file:after.txt
	expect_rc restore 0 || { show after.txt; return 1; }
	if ! grep -q '^vmm: restored from ' restore.err; then
		fail "restore: no 'vmm: restored from' line on stderr"
		show restore.err
		return 1
	fi
	cat "$f.before" after.txt | strip_ticks >got.txt
	if ! cmp -s got.txt "$f.expect"; then
		fail "$name.sav: the restored guest does not carry on exactly (saved part + restored part differs from $name.expect)"
		note "--- first differences (< $name.expect, > $name.before + restored output) ---"
		diff "$f.expect" got.txt | head -n 12 >>"$TDIR/.details"
		show restore.err
		return 1
	fi
	# The expectation itself must be a whole run: guards against an
	# empty or cut NAME.expect making the comparison meaningless.
	n=$(grep -c '^step ' "$f.expect")
	check_steps got.txt "$n" || return 1
	if [ "$n" -lt 100 ] || [ "$(last_step "$f.before")" -ge "$n" ]; then
		fail "$name.expect holds $n steps and $name.before ends at step $(last_step "$f.before"): not a save part-way through a run"
		return 1
	fi
	if [ ! -s after.txt ] || [ "$(last_step after.txt)" -ne "$n" ]; then
		fail "the restored run did not reach step $n"
		show after.txt
		return 1
	fi
}

t_golden_set() {
	local r
	for r in $REQUIRED; do
		[ -e "$DATA/$r.sav" ] || fail "tests/data/$r.sav is gone: golden files are never removed (docs/compat.md)"
	done
}

# Every unit refuses versions outside its declared range, by name, and that
# range still holds the version the golden file has: plain.sav saved again
# (tests/data/recompress.c) with one unit relabelled 0 or 999999, its data
# unchanged.
t_golden_versions() {
	local unit fver v lo hi line n=0
	if ! have_kvm; then
		echo "*** test-golden: SKIPPED unit version ranges: no usable /dev/kvm ***" >&2
		skip "no usable /dev/kvm: unit version ranges NOT checked"
		return 0
	fi
	# From the sources, not a build's libssm.a: that may be an ASan one.
	if ! cc -std=c11 -D_GNU_SOURCE -O0 -I"$ROOT" -o recompress "$DATA/recompress.c" \
		"$ROOT"/ssm/*.c -lz -lzstd -lpthread 2>cc.err; then
		fail "cannot build tests/data/recompress.c"
		show cc.err
		return 1
	fi
	while read -r unit fver; do
		for v in 0 999999; do
			./recompress "$DATA/plain.sav" v.sav 0 "$unit:$v" 2>re.err ||
				{ fail "recompress $unit:$v failed"; show re.err; return 1; }
			vmm "v-$unit-$v" --restore v.sav --serial none
			expect_rc "v-$unit-$v" 1 || return 1
			one_vmm_line "v-$unit-$v" "$unit: unit version $v not supported \(loads [0-9]+\.\.[0-9]+\)" ||
				return 1
			line=$(grep -oE 'loads [0-9]+\.\.[0-9]+' "v-$unit-$v.err")
			lo=${line#loads }
			hi=${lo#*..}
			lo=${lo%%..*}
			if [ "$fver" -lt "$lo" ] || [ "$fver" -gt "$hi" ]; then
				fail "$unit loads $lo..$hi: the golden files' version $fver fell out of its range"
				return 1
			fi
			n=$((n + 1))
		done
	done < <(sed -n 's/^  \([a-z-]*\) \([0-9]*\)$/\1 \2/p' "$DATA/plain.info")
	[ "$n" -ge 14 ] || fail "checked $n unit versions, expected 2 for each of 7 units (plain.info)"
}

# run_test takes a function without arguments: the name goes in GOLDEN.
t_golden_current() {
	t_golden "$GOLDEN"
}

run_test golden_set_complete t_golden_set
run_test golden_unit_version_ranges t_golden_versions
for sav in "$DATA"/*.sav; do
	[ -e "$sav" ] || continue
	name=$(basename "$sav" .sav)
	GOLDEN=$name
	run_test "golden_$name" t_golden_current
done
