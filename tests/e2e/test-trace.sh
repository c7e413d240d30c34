#!/usr/bin/env bash
# --trace-ssm shows every save and load callback, one line each:
#     ssm-trace: <unit>/<instance> <flavour> <callback> [pass <n|final>]
# (exec and vote callbacks name their pass; prep and done have none)
. "$(dirname "$0")/lib.sh"

TR_MEM=64M
TR_CMD="steps=800 mem=16M"
TRACE_RE='^ssm-trace: [^ /]+/[0-9]+ [a-z_]+ ([a-z_]+_(exec|vote) pass ([0-9]+|final)|[a-z_]+_(prep|done))$'

# require WHAT LIST FILE FIELD: every word of LIST appears as FIELD.
require() {
	local what=$1 list=$2 f=$3 field=$4 w missing=
	for w in $list; do
		awk -v w="$w" -v k="$field" '$k == w { found = 1 } END { exit !found }' "$f" ||
			missing="$missing $w"
	done
	if [ -n "$missing" ]; then
		fail "trace lacks $what:$missing"
		return 1
	fi
}

t_trace() {
	local ref first
	ref=$(reference "$TR_MEM" "$TR_CMD") || return 1
	vmm save --mem "$TR_MEM" --cmdline "$TR_CMD" --serial file:a.txt \
		--save s.sav --save-after 300ms --trace-ssm
	saved_ok save s.sav || return 1
	vmm restore --restore s.sav --serial file:b.txt --trace-ssm
	expect_rc restore 0 || return 1
	cat a.txt b.txt >ab.txt
	same_output "$ref" ab.txt "a traced save and restore" || return 1

	grep '^ssm-trace:' save.err | sed 's/^ssm-trace: //; s|/| |' >save.tr
	grep '^ssm-trace:' restore.err | sed 's/^ssm-trace: //; s|/| |' >restore.tr
	# Fields now: unit instance flavour callback "pass" n
	if grep '^ssm-trace:' save.err restore.err | cut -d: -f2- | grep -vqE "$TRACE_RE"; then
		fail "malformed trace line: $(grep -h '^ssm-trace:' save.err restore.err | grep -vE "$TRACE_RE" | head -n1)"
		return 1
	fi
	if [ ! -s save.tr ] || [ ! -s restore.tr ]; then
		fail "no trace lines ($(wc -l <save.tr) on save, $(wc -l <restore.tr) on restore)"
		show save.err
		show restore.err
		return 1
	fi
	cat save.tr restore.tr >all.tr
	require flavours "device driver internal external" all.tr 3 || { show save.err; show restore.err; return 1; }
	require callbacks "save_prep save_exec save_done load_prep load_exec load_done" all.tr 4 ||
		{ show save.err; show restore.err; return 1; }
	require "units on save" "machine ram cpu $CHIP_UNITS serial serial-backend" save.tr 1 ||
		{ show save.err; return 1; }
	require "units on restore" "machine ram cpu $CHIP_UNITS serial serial-backend" restore.tr 1 ||
		{ show restore.err; return 1; }
	if awk '$4 !~ /^save_/' save.tr | grep -q . || awk '$4 !~ /^load_/' restore.tr | grep -q .; then
		fail "a save ran load callbacks or a restore ran save callbacks"
		show save.err
		show restore.err
		return 1
	fi
	# The machine unit (what the VM is) comes first in the file and is the
	# first unit saved.
	first=$(awk '$4 == "save_exec" { print $1; exit }' save.tr)
	if [ "$first" != machine ]; then
		fail "first unit saved is '$first', expected machine"
		show save.err
		return 1
	fi
	if [ "$(unit_offset s.sav machine)" != 64 ]; then
		fail "the machine unit is not the first unit in the file (right after the 64-byte header)"
		return 1
	fi
}

run_test trace_ssm t_trace
