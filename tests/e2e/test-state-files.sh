#!/usr/bin/env bash
# What a state file may and may not decide: it never picks a host path (a
# restore without --serial uses stdout, not the file: path stored in it);
# it is created 0600; it must hold every mandatory unit (a copy with one
# left out, by tests/tools/ssm_units with every CRC recomputed, is refused,
# from a file and over a migration stream, before the guest runs); unit
# version 0 and an absurd clock are refused; the whole command line boot
# takes (4095 bytes) is kept, and --cmdline refuses more.
. "$(dirname "$0")/lib.sh"

TOOL=$(dirname "$VMM")/tests/tools/ssm_units
S_MEM=64M
S_CMD="steps=600 mem=16M"
UNITS="machine $CHIP_UNITS serial ram cpu serial-backend"

# One saved state for the cases that rewrite it, made once.
good_file() {
	[ -x "$TOOL" ] || { fail "$TOOL is missing (make all builds it)"; return 1; }
	cached_save state-files-good "$S_MEM" "$S_CMD"
}

# craft OUT ARGS...: OUT is the good file rewritten by ssm_units ARGS.
craft() {
	local out=$1 good
	shift
	good=$(good_file) || return 1
	if ! "$TOOL" "$good" "$out" "$@" 2>tool.err; then
		fail "ssm_units $* failed"
		show tool.err
		return 1
	fi
}

# refused TAG FILE PATTERN: restoring FILE exits 1 with one line matching
# PATTERN and the guest never runs.
refused() {
	local tag=$1 f=$2 pat=$3
	vmm "$tag" --restore "$f" --serial stdio
	expect_rc "$tag" 1 || return 1
	one_vmm_line "$tag" "$pat" || return 1
	if grep -aq step "$tag.out"; then
		fail "$tag: the guest ran although the restore was refused"
		return 1
	fi
}

t_mode_0600() {
	umask 022
	vmm s --mem "$S_MEM" --cmdline "$S_CMD" --serial none --save s.sav --save-after 200ms
	saved_ok s s.sav || return 1
	local mode
	mode=$(stat -c %a s.sav)
	[ "$mode" = 600 ] || fail "state file mode $mode, expected 600 (umask 022)"
}

# The state file stores --serial file:PATH; restoring without --serial must
# leave PATH alone (neither appended to nor created) and use stdout.
t_restore_default_console() {
	local ref
	ref=$(reference "$S_MEM" "$S_CMD") || return 1
	vmm s --mem "$S_MEM" --cmdline "$S_CMD" --serial "file:$TDIR/log.txt" \
		--save s.sav --save-after 300ms
	saved_ok s s.sav || return 1
	if ! grep -aq "$TDIR/log.txt" s.sav; then
		fail "the state file does not even mention the serial path (test premise)"
		return 1
	fi
	cp log.txt first.txt
	vmm r --restore s.sav
	expect_rc r 0 || return 1
	cmp -s log.txt first.txt || { fail "restore without --serial wrote to the stored path"; return 1; }
	cat first.txt r.out >all.txt
	check_steps all.txt 600 || return 1
	same_output "$ref" all.txt "first.txt + restore's stdout" || return 1
	# Nor is the path created when it does not exist.
	rm -f log.txt
	vmm r2 --restore s.sav --serial none
	expect_rc r2 0 || return 1
	[ ! -e log.txt ] || fail "restore without --serial created the stored path"
}

t_missing_units() {
	local u
	for u in $UNITS; do
		craft "no-$u.sav" --drop "$u" || return 1
		refused "no-$u" "no-$u.sav" "no '$u' unit|no unit '$u'|holds no (vCPU|machine)" || return 1
	done
	# The copy itself is fine: only the missing unit is the problem.
	craft all.sav || return 1
	vmm all --restore all.sav --serial none
	expect_rc all 0
}

t_unit_version_0() {
	local u
	for u in machine ram serial-backend; do
		craft "v0-$u.sav" --version "$u" 0 || return 1
		refused "v0-$u" "v0-$u.sav" "$u: unit version 0 not supported \(loads 1\.\.[0-9]+\)" ||
			return 1
	done
	craft v9-machine.sav --version machine 9 || return 1
	refused v9-machine v9-machine.sav "machine: unit version 9 not supported" || return 1
}

# clock_ns >= 2^63 overflowed the clock; 2^64-1 never fired the timer.
t_clock_bounds() {
	local c
	for c in 9223372036854775808 18446744073709551615 4611686018427387905; do
		craft "clock-$c.sav" --clock "$c" || return 1
		refused "clock-$c" "clock-$c.sav" "machine: field clock_ns $c is beyond" || return 1
	done
	# The largest accepted clock still ticks: the guest runs to its end.
	craft clock-max.sav --clock 4611686018427387904 || return 1
	vmm max --restore clock-max.sav --serial file:max.txt
	expect_rc max 0 || return 1
	[ "$(last_step max.txt)" -eq 600 ] || { fail "at clock 2^62 the guest stopped at step $(last_step max.txt)"; show max.txt; return 1; }
	crashed max && return 1
	return 0
}

# 4095 bytes (the test kernel skips spaces) survive a save: restoring with
# the same --cmdline is accepted, and the guest runs to its end.
t_cmdline_whole() {
	local cmd ref
	cmd=$(printf '%-4095s' "$S_CMD")
	[ "${#cmd}" -eq 4095 ] || { fail "test setup: cmdline of ${#cmd} bytes"; return 1; }
	ref=$(reference "$S_MEM" "$S_CMD") || return 1
	vmm s --mem "$S_MEM" --cmdline "$cmd" --serial file:a.txt --save s.sav --save-after 300ms
	saved_ok s s.sav || return 1
	vmm r --restore s.sav --cmdline "$cmd" --serial file:b.txt
	expect_rc r 0 || return 1
	cat a.txt b.txt >ab.txt
	check_steps ab.txt 600 || return 1
	same_output "$ref" ab.txt || return 1
	vmm long --cmdline "$cmd " --serial none
	expect_rc long 2 || return 1
	one_vmm_line long '--cmdline: 4096 bytes, the limit is 4095'
}

# send_stream PORT FILE: play FILE to a vmm --incoming as a source would and
# print the destination's one-line answer.
send_stream() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
with open(sys.argv[2], "rb") as f:
    try:
        s.sendall(f.read())
    except OSError:
        pass        # the destination may refuse before the end
s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip())
PY
}

# Over migration the destination answers ERROR, not RUNNING, and exits.
t_incoming_missing_unit() {
	local u port answer
	if ! command -v python3 >/dev/null 2>&1; then
		skip "*** incoming_missing_unit needs python3 to play a stream ***"
		return 0
	fi
	for u in $CHIP_UNIT serial-backend; do
		craft "no-$u.sav" --drop "$u" || return 1
		port=$(free_port 47310) || { fail "no free port"; return 1; }
		bg_incoming "in-$u" "$port" --serial "file:in-$u.txt" || return 1
		answer=$(send_stream "$port" "no-$u.sav" 2>py.err)
		bg_wait "in-$u"
		note "$u dropped: destination answered '$answer', exit $RC"
		case $answer in
		ERROR*"'$u'"*) ;;
		*) fail "without '$u' the destination answered '$answer'"; show py.err; show "in-$u.err"; return 1 ;;
		esac
		[ "$RC" -eq 1 ] || { fail "destination exit $RC, expected 1"; show "in-$u.err"; return 1; }
		if [ -s "in-$u.txt" ]; then
			fail "the destination ran the guest of a stream lacking '$u'"
			return 1
		fi
	done
}

run_test state_file_mode_0600 t_mode_0600
run_test restore_without_serial_ignores_stored_path t_restore_default_console
run_test missing_unit_refused t_missing_units
run_test unit_version_0_refused t_unit_version_0
run_test clock_out_of_range_refused t_clock_bounds
run_test cmdline_4095_bytes_kept t_cmdline_whole
run_test incoming_missing_unit_refused t_incoming_missing_unit
