#!/usr/bin/env bash
# The dirty-log path of hosts without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
# forced with the test hook VMM_NO_MANUAL_PROTECT=1: there KVM_GET_DIRTY_LOG
# clears the log as it reads it, so every page any read reports (the
# convergence vote's included) must still be sent.  A page lost that way
# leaves stale data on the destination, which the guest's checksums (each
# rewrite folds in the page's old contents, each step probes a random word)
# show as a wrong "step N sum" line once it comes round to the page again.
. "$(dirname "$0")/lib.sh"

# 32M rewritten at 128 pages a step: the guest comes round to every page
# every 64 steps, so a lost page shows up well before the last step.
DL_MEM=$STD_MEM
DL_CMD=$STD_CMD
DL_STEPS=$STD_STEPS
HOOK_RE='^vmm: VMM_NO_MANUAL_PROTECT=1: dirty log without manual protect'

# hook_ok TAG: the run used the forced path (else the test proves nothing).
hook_ok() {
	if ! grep -qE "$HOOK_RE" "$1.err"; then
		fail "$1: vmm did not say it took the path without manual protect"
		show "$1.err"
		return 1
	fi
}

# joined_ok REF STEPS LOG: a.txt + b.txt is the uninterrupted run REF of
# STEPS steps (LOG, the saving side's stderr, shown when it is not).
joined_ok() {
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$2" || { show a.txt; show b.txt; return 1; }
	same_output "$1" ab.txt "a.txt + b.txt" || { show "$3"; return 1; }
}

# forced_migration MEM CMDLINE STEPS AFTER MIN_PASSES: migrate a guest with
# the forced path after AFTER, check it ran at least MIN_PASSES live passes
# and that the guest's output carries on exactly on the destination.
forced_migration() {
	local mem=$1 cmd=$2 steps=$3 after=$4 min=$5 ref port n
	ref=$(reference "$mem" "$cmd") || return 1
	# A random base: other test runs on this host may be picking ports too.
	port=$(free_port $((47600 + RANDOM % 300))) || { fail "no free TCP port"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	VMM_NO_MANUAL_PROTECT=1 vmm src --mem "$mem" --cmdline "$cmd" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after "$after" --max-passes 10
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show src.err; show b.txt; return 1; }
	hook_ok src || return 1
	n=$(grep -oE '^vmm: migrated: [0-9]+ live passes' src.err | grep -oE '[0-9]+')
	if [ -z "$n" ] || [ "$n" -lt "$min" ]; then
		fail "src: ${n:-no} live passes, the test needs at least $min"
		show src.err
		return 1
	fi
	joined_ok "$ref" "$steps" src.err
}

# 1. Live migration with the forced path: the vote after pass 0 reads (and
# so clears) the pages written during pass 0.
t_migrate_no_manual_protect() {
	forced_migration "$DL_MEM" "$DL_CMD" "$DL_STEPS" 500ms 1
}

# 2. Several live passes (a guest rewriting 200M), so pages the vote reads
# after a dirty pass must go out with the next one.
t_migrate_passes_no_manual_protect() {
	forced_migration 256M "steps=2000 mem=200M" 2000 1s 2
}

# 3. Live snapshot with the forced path, then restore: the same.
t_live_save_no_manual_protect() {
	local ref n
	ref=$(reference "$DL_MEM" "$DL_CMD") || return 1
	VMM_NO_MANUAL_PROTECT=1 vmm save --mem "$DL_MEM" --cmdline "$DL_CMD" --serial file:a.txt \
		--save s.sav --live --save-after 500ms --max-passes 10
	expect_rc save 0 || { show a.txt; return 1; }
	hook_ok save || return 1
	n=$(last_step a.txt)
	if [ "$n" -lt 1 ] || [ "$n" -ge "$DL_STEPS" ]; then
		fail "the live save did not land part-way: a.txt ends at step $n of $DL_STEPS"
		return 1
	fi
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	joined_ok "$ref" "$DL_STEPS" save.err
}

run_test migrate_no_manual_protect t_migrate_no_manual_protect
run_test migrate_passes_no_manual_protect t_migrate_passes_no_manual_protect
run_test live_save_no_manual_protect t_live_save_no_manual_protect
