#!/usr/bin/env bash
# Live snapshots (--save FILE --live): RAM is copied while the guest runs.
# Without --continue vmm exits 0 after the final pass and --restore carries
# on exactly; with --continue the guest runs to its end here and the file
# still restores to a VM that carries on from the save point.
. "$(dirname "$0")/lib.sh"

LIVE_RE='^vmm: live-saved: [0-9]+ live passes \+ final \[.*\]; [0-9.]+ MB total; total time [0-9.]+ s; '

# live_saved_ok TAG FILE: exit 0, one summary line, a state file.
live_saved_ok() {
	local tag=$1 f=$2
	expect_rc "$tag" 0 || return 1
	if [ "$(grep -cE "$LIVE_RE" "$tag.err")" -ne 1 ]; then
		fail "$tag: expected one 'vmm: live-saved: ...' summary line on stderr"
		show "$tag.err"
		return 1
	fi
	[ -n "${MIGRATE_LOG:-}" ] && grep -E "$LIVE_RE" "$tag.err" >>"$MIGRATE_LOG"
	if [ ! -s "$f" ]; then
		fail "$tag: exit 0 but no state file $f"
		show "$tag.err"
		return 1
	fi
	if grep -q 'failed' "$tag.err"; then
		fail "$tag: a failure on stderr"
		show "$tag.err"
		return 1
	fi
}

# 4a. --save --live, then --restore: a.txt + b.txt is the uninterrupted run.
t_live_save_restore() {
	local ref n
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm save --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--save s.sav --live --save-after 500ms
	live_saved_ok save s.sav || { show a.txt; return 1; }
	if ! grep -qE "$LIVE_RE.*guest stopped for the final pass [0-9.]+ ms" save.err; then
		fail "save: the summary does not give the final pass's pause"
		show save.err
		return 1
	fi
	n=$(last_step a.txt)
	if [ "$n" -lt 1 ] || [ "$n" -ge "$STD_STEPS" ]; then
		fail "the live save did not land part-way: a.txt ends at step $n of $STD_STEPS"
		show a.txt
		return 1
	fi
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$STD_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

# 4b. --save --live --continue: the source runs all its steps; the file
# restores to the save point.  b.txt starts exactly where a.txt was at the
# save, possibly inside a line: its bytes before its first whole step line
# (step S) end a.txt's line of step S-1, and a.txt up to that line followed
# by the rest of b.txt is the uninterrupted run.
t_live_save_continue() {
	local ref off s line head
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm save --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--save s.sav --live --continue --save-after 500ms
	live_saved_ok save s.sav || { show a.txt; return 1; }
	if ! grep -qE "$LIVE_RE.*downtime [0-9.]+ ms" save.err; then
		fail "save: the summary does not give the downtime"
		show save.err
		return 1
	fi
	check_steps a.txt "$STD_STEPS" || { show a.txt; return 1; }
	same_output "$ref" a.txt || return 1

	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	off=$(grep -abm1 -E "^$STEP_RE" b.txt | cut -d: -f1)
	if [ -z "$off" ]; then
		fail "the restored VM printed no whole step line"
		show b.txt
		return 1
	fi
	s=$(tail -c +$((off + 1)) b.txt | head -n1 | awk '{ print $2 }')
	if [ "$s" -lt 2 ] || [ "$s" -ge "$STD_STEPS" ]; then
		fail "the live save did not land part-way: the restored VM goes on at step $s of $STD_STEPS"
		show b.txt
		return 1
	fi
	if [ "$off" -gt 0 ]; then
		head=$(head -c "$off" b.txt; echo x)
		head=${head%x}
		line=$(grep -a -m1 -E "^step $((s - 1)) sum " a.txt; echo x)
		line=${line%x}
		if [ "${line%"$head"}" = "$line" ]; then
			fail "b.txt starts with '$(printf '%s' "$head" | head -c 80)', not the end of step $((s - 1))'s line in a.txt"
			show b.txt
			return 1
		fi
	fi
	awk -v s=$((s - 1)) '{ print } $1 == "step" && $2 == s { exit }' a.txt >m.txt
	tail -c +$((off + 1)) b.txt >>m.txt
	check_steps m.txt "$STD_STEPS" || { show b.txt; return 1; }
	same_output "$ref" m.txt "a.txt to step $((s - 1)) + b.txt" || return 1
}

run_test live_save_restore t_live_save_restore
run_test live_save_continue t_live_save_continue
