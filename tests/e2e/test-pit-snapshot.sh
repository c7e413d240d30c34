#!/usr/bin/env bash
# Point-in-time snapshots (--save F --continue --background): the file holds
# the guest as it was at the request, not as it was when the background
# writer got to it, and the guest that runs on is not disturbed; a writer
# that fails or dies leaves the old file alone.
. "$(dirname "$0")/lib.sh"

PIT_MEM=64M
PIT_STEPS=$((1200 * E2E_SLOW))
PIT_CMD="steps=$PIT_STEPS mem=32M"
# The writer waits this long before writing (a test hook, see
# docs/architecture.md), so the guest is far past the request by then.
PIT_DELAY_MS=1000

# first_step FILE: the number of the first complete step line.
first_step() {
	grep -aE "^$STEP_RE ticks [0-9]+$" "$1" | head -n1 | awk '{print $2}'
}

# start_pit TAG FILE: a guest saving point-in-time to FILE on SIGTERM.
start_pit() {
	VMM_TEST_BGSAVE_DELAY_MS=$PIT_DELAY_MS bg_vmm "$1" --mem "$PIT_MEM" \
		--cmdline "$PIT_CMD" --serial "file:$TDIR/a.txt" --save "$2" --continue --background
}

# request TAG: SIGTERM once the guest is at step 200; prints the step it
# had printed before the signal went out.
request() {
	local lo
	if ! wait_until 30 has_line a.txt '^step 200 '; then
		fail "$1: the guest never reached step 200"
		show a.txt
		return 1
	fi
	lo=$(last_step a.txt)
	bg_kill "$1" TERM || return 1
	if ! wait_until 20 has_line "$1.err" '^vmm: point-in-time snapshot for .* taken'; then
		fail "$1: no 'point-in-time snapshot ... taken' line after SIGTERM"
		show "$1.err"
		return 1
	fi
	echo "$lo"
}

t_pit_state_at_request() {
	local ref lo hi done_step first
	ref=$(reference "$PIT_MEM" "$PIT_CMD") || return 1
	start_pit run s.sav
	lo=$(request run) || return 1
	hi=$(last_step a.txt)
	if ! wait_until 30 has_line run.err '^vmm: saved to s.sav in .*point-in-time'; then
		fail "the background write never finished"
		show run.err
		return 1
	fi
	done_step=$(last_step a.txt)
	bg_wait run
	expect_rc run 0 || return 1
	# The guest that ran on printed exactly the uninterrupted run.
	check_steps a.txt "$PIT_STEPS" || return 1
	same_output "$ref" a.txt "the running guest's output" || return 1
	if [ "$done_step" -le $((hi + 20)) ]; then
		skip "the guest made only $((done_step - hi)) steps while the snapshot was written; cannot tell request-time state from write-time state"
		return 0
	fi
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	suffix_of "$ref" b.txt || return 1
	first=$(first_step b.txt)
	# At the request the guest had printed step lo..hi (hi: read after the
	# pause); the restored one goes on from there: its first complete
	# line is the one after (or, cut, the one after that).
	if [ -z "$first" ] || [ "$first" -le "$lo" ] || [ "$first" -gt $((hi + 2)) ]; then
		fail "restored transcript starts at step ${first:-none}: the request was made at step $lo..$hi, the file written at step $done_step"
		show b.txt
		return 1
	fi
	note "request at step $lo..$hi, restored from step $first, write done at step $done_step"
}

# finish_failed TAG FILE PATTERN: the writer failed as PATTERN says, in one
# line; FILE still holds its old bytes; the guest ran on to its end.
finish_failed() {
	local tag=$1 f=$2 pat=$3 ref=$4 n
	bg_wait "$tag"
	expect_rc "$tag" 1 || return 1
	n=$(grep -c '^vmm: saving to ' "$tag.err")
	if [ "$n" -ne 1 ] || ! grep -qE "^vmm: saving to $f failed: .*($pat).*; $f is unchanged and the VM keeps running$" "$tag.err"; then
		fail "$tag: expected one line 'vmm: saving to $f failed: ...$pat...; ... unchanged ...'"
		show "$tag.err"
		return 1
	fi
	if ! cmp -s old.sav "$f"; then
		fail "$tag: the old file $f changed"
		return 1
	fi
	check_steps a.txt "$PIT_STEPS" || return 1
	same_output "$ref" a.txt "the running guest's output" || return 1
}

t_pit_disk_full() {
	local ref
	ref=$(reference "$PIT_MEM" "$PIT_CMD") || return 1
	mount_tmpfs "$TDIR/small" 4M || return 0
	head -c 100000 /dev/urandom >old.sav
	cp old.sav small/s.sav
	start_pit run "$TDIR/small/s.sav"
	request run >/dev/null || return 1
	finish_failed run "$TDIR/small/s.sav" "No space left|space" "$ref" || return 1
	if [ "$(ls -A small)" != s.sav ]; then
		fail "debris left on the full disk: $(ls -A small)"
		return 1
	fi
}

t_pit_writer_killed() {
	local ref pid child
	ref=$(reference "$PIT_MEM" "$PIT_CMD") || return 1
	head -c 100000 /dev/urandom >old.sav
	cp old.sav s.sav
	start_pit run "$TDIR/s.sav"
	request run >/dev/null || return 1
	pid=$(bg_pid run) || return 1
	child=$(_children "$pid")
	child=${child%%[!0-9]*}
	if [ -z "$child" ]; then
		fail "no writer process under vmm $pid"
		return 1
	fi
	echo "[run] kill -KILL $child (the writer)" >>cmds.log
	kill -KILL "$child"
	finish_failed run "$TDIR/s.sav" "writer died of signal 9" "$ref" || return 1
}

# SIGQUIT quits at once: the writer is abandoned, the old file stays.
t_pit_quit_abandons() {
	head -c 100000 /dev/urandom >old.sav
	cp old.sav s.sav
	start_pit run "$TDIR/s.sav"
	request run >/dev/null || return 1
	bg_kill run QUIT
	bg_wait run
	if [ "$RC" -ne 131 ]; then
		fail "SIGQUIT during the write: exit $RC, expected 131"
		show run.err
		return 1
	fi
	if ! grep -q "^vmm: point-in-time snapshot to $TDIR/s.sav abandoned; .* is unchanged$" run.err; then
		fail "no 'abandoned' line"
		show run.err
		return 1
	fi
	cmp -s old.sav s.sav || fail "the old file changed"
	if ls -A | grep -q 'tmp'; then
		fail "debris left: $(ls -A)"
	fi
}

t_pit_usage() {
	vmm u1 --save s.sav --background
	expect_rc u1 2 || return 1
	one_vmm_line u1 "--background needs --save FILE and --continue" || return 1
	vmm u2 --save s.sav --continue --live --background
	expect_rc u2 2 || return 1
}

run_test pit_usage t_pit_usage
run_test pit_state_at_request t_pit_state_at_request
run_test pit_disk_full t_pit_disk_full
run_test pit_writer_killed t_pit_writer_killed
run_test pit_quit_abandons t_pit_quit_abandons
