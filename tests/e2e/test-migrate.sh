#!/usr/bin/env bash
# Live migration between two vmm processes on 127.0.0.1: the guest's output,
# the source's followed by the destination's, is exactly an uninterrupted
# run's; RAM converges within the pass limit, and a guest that cannot
# converge gives up as --on-giveup says.
#
# Exit statuses checked here (vmm/migrate.c migrate_finish, vmm/main.c run):
#  - source, migration confirmed ("RUNNING"): 0, whatever the guest later does;
#  - source whose last migration attempt failed: the guest runs on, and when it
#    powers off with 0 vmm exits 1 (a requested migration failed); a later
#    successful attempt clears that;
#  - destination: the guest's power-off status once the guest ran there, 1 if
#    the incoming stream failed.
. "$(dirname "$0")/lib.sh"

# The summary the source prints once the destination confirmed.
SUMMARY_RE='^vmm: migrated: [0-9]+ live passes \+ final \[.*\]; [0-9.]+ MB total; total time [0-9.]+ s; downtime [0-9.]+ ms'

# Churning a large area: 200M rewritten at the default 128 pages a step.
BIG_MEM=256M
BIG_STEPS=$((2000 * E2E_SLOW))
BIG_CMD="steps=$BIG_STEPS mem=200M"

# summary_ok TAG: the source printed exactly one summary line; it goes to
# the file MIGRATE_LOG too when that is set (for collecting downtimes).
summary_ok() {
	local tag=$1 n
	n=$(grep -cE "$SUMMARY_RE" "$tag.err")
	if [ "$n" -ne 1 ]; then
		fail "$tag: expected one 'vmm: migrated: ...' summary line on stderr, got $n"
		show "$tag.err"
		return 1
	fi
	[ -n "${MIGRATE_LOG:-}" ] && grep -E "$SUMMARY_RE" "$tag.err" >>"$MIGRATE_LOG"
	return 0
}

# live_passes TAG: the number of live passes the summary names.
live_passes() {
	grep -E "$SUMMARY_RE" "$1.err" | sed -E 's/^vmm: migrated: ([0-9]+) live passes.*/\1/'
}

# split_ok A B N: A ends part-way (at a step in 1..N-1) and B holds steps.
split_ok() {
	local a=$1 b=$2 n=$3 k
	k=$(last_step "$a")
	if [ "$k" -lt 1 ] || [ "$k" -ge "$n" ]; then
		fail "the migration did not land part-way: $a ends at step $k of $n"
		show "$a"
		return 1
	fi
	if [ -z "$(steps_of "$b")" ]; then
		fail "the destination printed no step line"
		show "$b"
		return 1
	fi
}

# continuity REF N A B: A + B (raw bytes) is the uninterrupted run.
continuity() {
	local ref=$1 n=$2 a=$3 b=$4
	cat "$a" "$b" >ab.txt
	check_steps ab.txt "$n" || { show "$a"; show "$b"; return 1; }
	same_output "$ref" ab.txt "$a + $b" || return 1
}

# 1. A plain migration part-way through the standard workload.
t_migrate() {
	local ref port
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	port=$(free_port 47101) || { fail "no free TCP port from 47101"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	vmm src --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 500ms
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	summary_ok src || return 1
	if ! grep -q '^vmm: migration received in [0-9.]* s; the guest runs here$' dst.err; then
		fail "dst: no 'vmm: migration received' line on stderr"
		show dst.err
		return 1
	fi
	split_ok a.txt b.txt "$STD_STEPS" || return 1
	continuity "$ref" "$STD_STEPS" a.txt b.txt || return 1
	if [ -s src.out ] || [ -s dst.out ]; then
		fail "with --serial file: nothing should reach stdout"
		show src.out
		show dst.out
	fi
}

# 2. A guest rewriting 200M converges within the pass limit.
t_migrate_converges() {
	local ref port max=10 n cmd=$BIG_CMD steps=$BIG_STEPS
	# A slowed-down vmm (E2E_SLOW, make tsan) copies RAM slower than the
	# flat-out churn dirties it: once the area is filled the guest then
	# dirties 5 MB/s (about a minute of steps), so each pass has a quarter
	# of the last one's to send.
	if [ "$E2E_SLOW" -gt 1 ]; then
		steps=1000
		cmd="steps=$steps mem=200M rate=5"
	fi
	ref=$(reference "$BIG_MEM" "$cmd") || return 1
	port=$(free_port 47111) || { fail "no free TCP port from 47111"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	vmm src --mem "$BIG_MEM" --cmdline "$cmd" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 1s --max-passes "$max"
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	summary_ok src || return 1
	n=$(live_passes src)
	if [ "$n" -lt 1 ] || [ "$n" -gt "$max" ]; then
		fail "$n live passes, expected 1..$max"
		show src.err
		return 1
	fi
	if grep -q 'gave up' src.err; then
		fail "the migration gave up instead of converging"
		show src.err
		return 1
	fi
	split_ok a.txt b.txt "$steps" || return 1
	continuity "$ref" "$steps" a.txt b.txt || return 1
}

# Cannot converge: one live pass allowed and a 1 ms downtime, while the
# guest dirties thousands of pages during the full first pass.  (With
# --max-passes 2 a host hiccup that stalls the guest during the short second
# pass lets it converge about one run in ten.)
GIVEUP_OPTS="--max-passes 1 --max-downtime 1"

# 2b. --on-giveup finish: the migration completes with a longer pause.
t_migrate_giveup_finish() {
	local ref port
	ref=$(reference "$BIG_MEM" "$BIG_CMD") || return 1
	port=$(free_port 47121) || { fail "no free TCP port from 47121"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	# shellcheck disable=SC2086
	vmm src --mem "$BIG_MEM" --cmdline "$BIG_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 1s $GIVEUP_OPTS --on-giveup finish
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	summary_ok src || return 1
	if ! grep -E "$SUMMARY_RE" src.err | grep -q '; gave up'; then
		fail "the summary does not say the migration gave up"
		show src.err
		return 1
	fi
	if grep -q 'failed' src.err; then
		fail "src: a failure was reported with --on-giveup finish"
		show src.err
		return 1
	fi
	split_ok a.txt b.txt "$BIG_STEPS" || return 1
	continuity "$ref" "$BIG_STEPS" a.txt b.txt || return 1
}

# 2c. --on-giveup abort: the source says why, keeps the guest and runs it to
# the end; the destination never runs it.
t_migrate_giveup_abort() {
	local ref port k
	ref=$(reference "$BIG_MEM" "$BIG_CMD") || return 1
	port=$(free_port 47131) || { fail "no free TCP port from 47131"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	# shellcheck disable=SC2086
	bg_vmm src --mem "$BIG_MEM" --cmdline "$BIG_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 1s $GIVEUP_OPTS --on-giveup abort
	if ! wait_until 30 has_line src.err '^vmm: migration to .* failed: '; then
		fail "src: no failure line within 30 s"
		show src.err
		return 1
	fi
	k=$(last_step a.txt)
	bg_wait src
	# The guest powered off with 0, but the requested migration failed.
	expect_rc src 1 || return 1
	bg_wait dst
	crashed dst && return 1
	if [ "$RC" -eq 0 ]; then
		fail "dst: exit status 0 after an aborted migration"
		show dst.err
		return 1
	fi
	if ! grep -qE "^vmm: migration to tcp:127.0.0.1:$port failed: .*gave up.*; the VM keeps running here$" src.err; then
		fail "src: the failure does not name the give-up: $(grep -m1 failed src.err)"
		show src.err
		return 1
	fi
	if grep -qE "$SUMMARY_RE" src.err; then
		fail "src: a 'migrated' summary after an aborted migration"
		show src.err
		return 1
	fi
	if [ -e b.txt ] && grep -aqE "$STEP_RE" b.txt; then
		fail "the destination printed step lines after an aborted migration"
		show b.txt
		return 1
	fi
	if [ "$k" -ge "$BIG_STEPS" ]; then
		fail "the guest had finished (step $k) when the migration gave up"
		return 1
	fi
	check_steps a.txt "$BIG_STEPS" || { show a.txt; return 1; }
	same_output "$ref" a.txt || return 1
}

run_test migrate_continuity t_migrate
run_test migrate_converges t_migrate_converges
run_test migrate_giveup_finish t_migrate_giveup_finish
run_test migrate_giveup_abort t_migrate_giveup_abort
