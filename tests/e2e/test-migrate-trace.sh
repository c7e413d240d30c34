#!/usr/bin/env bash
# --trace-ssm on both ends of a migration: the source runs the live
# callbacks (ram every pass, the other units pass 0 only) and then the final
# pass; the destination loads exactly the records the source sent, in the
# same (unit, pass) order, ending with the final pass.
#     ssm-trace: <unit>/<instance> <flavour> <callback> [pass <n|final>]
. "$(dirname "$0")/lib.sh"

TR_MEM=64M
TR_CMD="steps=1000 mem=16M"
TR_STEPS=1000
TRACE_RE='^ssm-trace: [^ /]+/[0-9]+ [a-z_]+ ([a-z_]+_(exec|vote) pass ([0-9]+|final)|[a-z_]+_(prep|done))$'

# passes FILE UNIT CALLBACK: the passes of UNIT's CALLBACK lines, one a line.
passes() {
	awk -v u="$2" -v c="$3" '$1 == u && $4 == c { print $6 }' "$1"
}

t_migrate_trace() {
	local ref port k want u flav got bad live
	ref=$(reference "$TR_MEM" "$TR_CMD") || return 1
	port=$(free_port 47171) || { fail "no free TCP port from 47171"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt --trace-ssm || return 1
	vmm src --mem "$TR_MEM" --cmdline "$TR_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 300ms --trace-ssm
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || return 1
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$TR_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt (traced migration)" || return 1

	if grep -h '^ssm-trace:' src.err dst.err | grep -vqE "$TRACE_RE"; then
		fail "malformed trace line: $(grep -h '^ssm-trace:' src.err dst.err | grep -vE "$TRACE_RE" | head -n1)"
		return 1
	fi
	# Fields: unit instance flavour callback ["pass" n]
	grep '^ssm-trace:' src.err | sed 's/^ssm-trace: //; s|/| |' >src.tr
	grep '^ssm-trace:' dst.err | sed 's/^ssm-trace: //; s|/| |' >dst.tr
	if [ ! -s src.tr ] || [ ! -s dst.tr ]; then
		fail "no trace lines ($(wc -l <src.tr) on the source, $(wc -l <dst.tr) on the destination)"
		show src.err
		show dst.err
		return 1
	fi
	if awk '$4 ~ /^load_/' src.tr | grep -q . || awk '$4 !~ /^load_/' dst.tr | grep -q .; then
		fail "the source ran load callbacks or the destination save/live ones"
		show src.err
		show dst.err
		return 1
	fi

	# ram: live_prep, then live_exec and live_vote for passes 0..k, k + 1
	# being the live passes the summary counts.
	if ! grep -qx 'ram 0 internal live_prep' src.tr; then
		fail "source: no live_prep for ram"
		show src.err
		return 1
	fi
	k=$(grep -E '^vmm: migrated: ' src.err | sed -E 's/^vmm: migrated: ([0-9]+) live passes.*/\1/')
	if [ -z "$k" ] || [ "$k" -lt 1 ]; then
		fail "source: no 'vmm: migrated: N live passes' summary"
		show src.err
		return 1
	fi
	want=$(seq 0 $((k - 1)))
	if [ "$(passes src.tr ram live_exec)" != "$want" ] ||
		[ "$(passes src.tr ram live_vote)" != "$want" ]; then
		fail "source: ram live_exec passes [$(passes src.tr ram live_exec | tr '\n' ' ')]," \
			"live_vote passes [$(passes src.tr ram live_vote | tr '\n' ' ')], expected 0..$((k - 1))"
		show src.err
		return 1
	fi
	# The other units send one live record, in pass 0 (KVM's chips none:
	# the machine record's mode says which chips to expect).
	live="machine:external serial:device serial-backend:driver"
	[ "$CHIP_UNIT" = pic ] && live="$live pic:device pit:device"
	for u in $live; do
		flav=${u#*:}
		u=${u%%:*}
		got=$(awk -v u="$u" '$1 == u && $4 == "live_exec" { print $3, $5, $6 }' src.tr)
		if [ "$got" != "$flav pass 0" ]; then
			fail "source: $u live_exec lines are [$(printf '%s' "$got" | tr '\n' ';')], expected one '$flav ... pass 0'"
			show src.err
			return 1
		fi
	done

	# The destination loads the (unit, pass) records in the order they
	# were sent: live passes, then the final pass.
	awk '$4 == "live_exec" || $4 == "save_exec" { print $1, $6 }' src.tr >sent.seq
	awk '$4 == "load_exec" { print $1, $6 }' dst.tr >loaded.seq
	if ! cmp -s sent.seq loaded.seq; then
		bad=$(diff sent.seq loaded.seq | head -n 6 | tr '\n' ';')
		fail "the destination's load_exec (unit, pass) sequence differs from what the source sent: $bad"
		show src.err
		show dst.err
		return 1
	fi
	if [ "$(tail -n1 loaded.seq | cut -d' ' -f2)" != final ] ||
		! grep -q ' final$' loaded.seq || grep -c ' 0$' loaded.seq | grep -qx 0; then
		fail "the destination's load_exec sequence does not go from pass 0 to pass final"
		show dst.err
		return 1
	fi
}

run_test migrate_trace t_migrate_trace
