#!/usr/bin/env bash
# With --save, SIGTERM (like Ctrl-C) suspends the VM to the file; SIGQUIT
# stops it without saving.
. "$(dirname "$0")/lib.sh"

# start_bg ARGS...: run vmm in the background (its pid in BG), then wait
# until the guest has printed at least 100 steps to a.txt.
start_bg() {
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" "$@" </dev/null >bg.out 2>bg.err &
	BG=$!
	echo "[bg] vmm $* (background)" >>cmds.log
	local _
	for _ in $(seq 1 200); do
		[ "$(last_step a.txt 2>/dev/null)" -ge 100 ] 2>/dev/null && return 0
		kill -0 "$BG" 2>/dev/null || break
		sleep 0.05
	done
	fail "the guest did not reach step 100 within 10 s"
	show a.txt
	show bg.err
	kill "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	return 1
}

# stop_bg SIGNAL: send SIGNAL to vmm (timeout passes it on); RC = status.
stop_bg() {
	kill -"$1" "$BG"
	wait "$BG"
	RC=$?
	echo "[bg] kill -$1 -> exit $RC" >>cmds.log
}

t_sigterm_saves() {
	local ref
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	start_bg --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt --save s.sav || return 1
	stop_bg TERM
	saved_ok bg s.sav || { show a.txt; return 1; }
	if [ "$(last_step a.txt)" -ge "$STD_STEPS" ]; then
		fail "the guest had finished before SIGTERM arrived"
		return 1
	fi
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$STD_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

t_sigquit_no_save() {
	start_bg --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt --save s.sav || return 1
	stop_bg QUIT
	# 131 is also what dying of SIGQUIT looks like: the "stopping" line below
	# tells that vmm handled it.
	if [ "$RC" -ne 131 ]; then
		fail "exit status $RC after SIGQUIT, expected 131 (128 + 3)"
		show bg.err
		return 1
	fi
	local left
	left=$(find . -maxdepth 1 -name 's.sav*' | tr '\n' ' ')
	if [ -n "$left" ]; then
		fail "SIGQUIT left a state file: $left"
		return 1
	fi
	one_vmm_line bg '^vmm: quit, stopping$' || return 1
}

run_test sigterm_saves t_sigterm_saves
run_test sigquit_stops_without_saving t_sigquit_no_save
