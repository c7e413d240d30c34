#!/usr/bin/env bash
# A VM saved part-way and restored prints exactly what an uninterrupted run
# prints: no step lost, none repeated, every checksum equal.
. "$(dirname "$0")/lib.sh"

# Save after 300 ms to a.txt, restore to b.txt: a.txt + b.txt (raw bytes: a
# line may be cut between the two) is the uninterrupted output.
t_continuity() {
	local ref n
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm save --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--save s.sav --save-after 300ms
	saved_ok save s.sav || { show a.txt; return 1; }
	n=$(last_step a.txt)
	if [ "$n" -lt 1 ] || [ "$n" -ge "$STD_STEPS" ]; then
		fail "save did not land part-way: a.txt ends at step $n of $STD_STEPS"
		show a.txt
		return 1
	fi
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	if ! grep -q '^vmm: restored from ' restore.err; then
		fail "restore: no 'vmm: restored from' line on stderr"
		show restore.err
		return 1
	fi
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$STD_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
	if [ -s save.out ] || [ -s restore.out ]; then
		fail "with --serial file: nothing should reach stdout"
		show save.out
		show restore.out
	fi
}

# Named again on restore, the console file is appended to, so one log holds
# the whole run.  (Without --serial the console is stdout: the path stored in
# the state file is never opened -- test-state-files.sh.)
t_continuity_same_file() {
	local ref size
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm save --mem "$STD_MEM" --cmdline "$STD_CMD" --serial "file:$TDIR/log.txt" \
		--save s.sav --save-after 300ms
	saved_ok save s.sav || { show log.txt; return 1; }
	cp log.txt log-at-save.txt
	size=$(wc -c <log-at-save.txt)
	if [ "$(last_step log.txt)" -ge "$STD_STEPS" ]; then
		fail "save did not land part-way"
		show log.txt
		return 1
	fi
	vmm restore --restore s.sav --serial "file:$TDIR/log.txt"
	expect_rc restore 0 || { show log.txt; return 1; }
	if [ -s restore.out ]; then
		fail "restore with --serial file:log.txt wrote guest output to stdout"
		show restore.out
		return 1
	fi
	if ! cmp -s -n "$size" log-at-save.txt log.txt; then
		fail "log.txt no longer starts with what it held at the save (truncated, not appended?)"
		show log-at-save.txt
		show log.txt
		return 1
	fi
	check_steps log.txt "$STD_STEPS" || { show log.txt; return 1; }
	same_output "$ref" log.txt || return 1
}

run_test continuity t_continuity
run_test continuity_same_file_appends t_continuity_same_file
