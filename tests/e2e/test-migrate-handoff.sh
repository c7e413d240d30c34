#!/usr/bin/env bash
# The migration handoff never leaves two running guests (docs/migration.md).
# A proxy (tests/tools/migproxy) between source and destination cuts the
# connection at every protocol step; each time exactly one guest goes on,
# and the right one:
#   right after the connect, during live passes, inside the final pass
#   (the source may notice while writing it or, the rest being in socket
#   buffers, only when READY does not come), inside the footer, before
#   READY reaches the source: the source resumes by itself, runs the guest
#   to its end (its output is the uninterrupted run's), and the destination
#   exits 1 without ever printing a step;
#   GO lost (cut, or held with the connection open): the source stays
#   paused and says so, the destination exits without running; SIGUSR2
#   then resumes the guest on the source, which finishes it exactly;
#   RUNNING lost: the destination runs the guest on (source + destination
#   output is the uninterrupted run's) while the source stays paused and
#   prints nothing more; SIGTERM then quits it.
# One line per drop point says which guest ran.
. "$(dirname "$0")/lib.sh"

PROXY=$(dirname "$VMM")/tests/tools/migproxy
STALL=3s                # both sides' --stall-timeout: keeps the held-GO case short
H_MEM=$STD_MEM
H_CMD=$STD_CMD
H_STEPS=$STD_STEPS

# setup PROXYMODE...: destination, proxy and source (migrating after 500 ms
# through the proxy).
setup() {
	local dport pport
	[ -x "$PROXY" ] || { fail "$PROXY is missing (make all builds it)"; return 1; }
	REF=$(reference "$H_MEM" "$H_CMD") || return 1
	dport=$(free_port 47301) || { fail "no free TCP port from 47301"; return 1; }
	bg_incoming dst "$dport" --serial file:b.txt --stall-timeout "$STALL" || return 1
	pport=$(free_port $((dport + 1))) || { fail "no free TCP port"; return 1; }
	timeout -k 5 "$VMM_TIMEOUT" "$PROXY" "$pport" "$dport" "$@" 2>proxy.err &
	bg_track proxy $! "migproxy $pport $dport $*"
	if ! wait_until 10 port_listening "$pport"; then
		fail "the proxy did not listen on $pport"
		show proxy.err
		return 1
	fi
	bg_vmm src --mem "$H_MEM" --cmdline "$H_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$pport" --migrate-after 500ms --stall-timeout "$STALL"
}

# proxy_cut: the proxy reached its step (exit 0) and cut there.
proxy_cut() {
	bg_wait proxy
	if [ "$RC" -ne 0 ]; then
		fail "the proxy did not reach its drop point (exit $RC): $(cat proxy.err)"
		show src.err
		show dst.err
		return 1
	fi
}

# dst_never_ran: the destination exited 1 saying the guest did not run
# there, and printed no step.
dst_never_ran() {
	bg_wait dst
	expect_rc dst 1 || return 1
	if ! grep -q 'the guest did not run here' dst.err; then
		fail "dst: does not say the guest did not run there"
		show dst.err
		return 1
	fi
	if [ -e b.txt ] && grep -aqE "$STEP_RE" b.txt; then
		fail "dst: the destination ran the guest (step lines in b.txt)"
		show b.txt
		return 1
	fi
}

# src_finishes STATUS: the source runs the guest to its end, exits STATUS,
# and a.txt alone is the uninterrupted run.
src_finishes() {
	bg_wait src
	expect_rc src "$1" || return 1
	check_steps a.txt "$H_STEPS" || { show a.txt; show src.err; return 1; }
	same_output "$REF" a.txt || return 1
}

# still_for SECONDS FILE: FILE does not grow for SECONDS (its guest is
# paused or gone).
still_for() {
	local before
	before=$(wc -c <"$2")
	sleep "$1"
	if [ "$(wc -c <"$2")" -ne "$before" ]; then
		fail "$2 grew while its guest should have been paused"
		show "$2"
		return 1
	fi
}

report() {
	echo "  handoff $1: $2"
}

# The cut happens before GO left the source: it resumes on its own.
t_keep() {
	local what=$1
	shift
	setup "$@" || return 1
	proxy_cut || return 1
	if ! wait_until 30 has_line src.err '^vmm: migration to .* failed: .*; the VM keeps running here$'; then
		fail "src: no 'failed ... keeps running here' line"
		show src.err
		return 1
	fi
	if grep -q 'unconfirmed' src.err; then
		fail "src: in doubt although GO was never sent"
		show src.err
		return 1
	fi
	dst_never_ran || return 1
	src_finishes 1 || return 1
	report "$what" "the source resumed by itself ($(sed -n 's/^vmm: migration to [^ ]* failed: \(.*\); the VM keeps running here$/\1/p' src.err | head -n1 | cut -c1-90)) and finished the guest; the destination exited 1 without running"
}

t_connect() { t_keep "right-after-connect" bytes 1; }
t_live() { t_keep "during-live-pass" bytes 2000000; }
t_final_first() { t_keep "final-pass-start" final 1; }
t_final_mid() { t_keep "final-pass-middle" final 6; }
t_footer() { t_keep "stream-footer" footer; }
t_ready() { t_keep "READY-lost" ready; }

# in_doubt: the source printed the one in-doubt line naming SIGUSR2 and
# its pid, and its guest stays paused.
in_doubt() {
	local pid
	if ! wait_until 30 has_line src.err '^vmm: migration to .* unconfirmed: '; then
		fail "src: no 'unconfirmed' line"
		show src.err
		return 1
	fi
	pid=$(bg_pid src)
	if ! grep -qE "unconfirmed: .*paused here.*kill -USR2 $pid, else quit with kill -TERM $pid$" src.err; then
		fail "src: the in-doubt line does not say how to resume or quit: $(grep unconfirmed src.err)"
		return 1
	fi
	if grep -q 'keeps running here' src.err; then
		fail "src: resumed after sending GO"
		show src.err
		return 1
	fi
}

# GO never reaches the destination (cut, or held while both sides wait).
t_go_lost() {
	local what=$1 k
	shift
	setup "$@" || return 1
	in_doubt || return 1
	dst_never_ran || return 1
	k=$(last_step a.txt)
	still_for 1 a.txt || return 1
	# SIGUSR1 (migrate again) is refused while in doubt.
	bg_kill src USR1
	wait_until 5 has_line src.err '^vmm: SIGUSR1 refused' || { fail "src: SIGUSR1 not refused in doubt"; show src.err; return 1; }
	still_for 0.3 a.txt || return 1
	bg_kill src USR2 || { fail "src: cannot signal"; return 1; }
	proxy_cut || return 1
	# The guest powered off with 0, but the requested migration failed.
	src_finishes 1 || return 1
	grep -q '^vmm: SIGUSR2: resuming the guest here' src.err || { fail "src: no resume line"; show src.err; return 1; }
	report "$what" "the source stayed paused at step $k, the destination exited 1 without running; SIGUSR2 resumed the source, which finished"
}

t_go() { t_go_lost "GO-lost" go; }
t_go_held() { t_go_lost "GO-held-open" stall-go; }

# RUNNING never reaches the source: the destination has the guest.
t_running_lost() {
	local k
	setup running || return 1
	in_doubt || return 1
	proxy_cut || return 1
	k=$(last_step a.txt)
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$H_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$REF" ab.txt "a.txt + b.txt" || return 1
	if [ "$(last_step a.txt)" -ne "$k" ] || ! bg_alive src; then
		fail "src: the source did not stay paused while the destination ran"
		show src.err
		return 1
	fi
	bg_kill src TERM || { fail "src: cannot signal"; return 1; }
	bg_wait src
	if [ "$RC" -ne 143 ] || ! grep -q 'quitting; the guest was not resumed here' src.err; then
		fail "src: SIGTERM in doubt: exit $RC, expected 143 and a 'quitting' line"
		show src.err
		return 1
	fi
	report "RUNNING-lost" "the destination ran the guest from step $((k + 1)) to the end; the source stayed paused at step $k until SIGTERM"
}

# No cut: the proxy is transparent and the migration completes.
t_pass() {
	setup pass || return 1
	bg_wait src
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$H_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$REF" ab.txt "a.txt + b.txt" || return 1
	report "none" "the destination ran the guest from step $(($(last_step a.txt) + 1)); the source exited 0"
}

run_test handoff_no_cut t_pass
run_test handoff_cut_at_connect t_connect
run_test handoff_cut_live_pass t_live
run_test handoff_cut_final_start t_final_first
run_test handoff_cut_final_middle t_final_mid
run_test handoff_cut_footer t_footer
run_test handoff_ready_lost t_ready
run_test handoff_go_lost t_go
run_test handoff_go_held t_go_held
run_test handoff_running_lost t_running_lost
