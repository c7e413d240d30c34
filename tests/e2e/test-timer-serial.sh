#!/usr/bin/env bash
# After a restore the guest's timer keeps ticking from where it was and the
# UART still takes input: bytes written to stdin come back on stdout.
. "$(dirname "$0")/lib.sh"

t_timer_serial() {
	local ref ta tb_first tb_last delta t0 t1 ms residue bad want
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm save --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--save s.sav --save-after 300ms
	saved_ok save s.sav || { show a.txt; return 1; }
	ta=$(ticks_of a.txt | tail -n1)
	if [ -z "$ta" ]; then
		fail "no complete step line before the save"
		show a.txt
		return 1
	fi
	# Downtime between save and restore: the guest's clock must not see it.
	sleep 1

	# Input arrives while the restored guest runs; the kernel echoes each
	# byte, a CR as CR LF.
	mkfifo in.fifo
	(sleep 0.5; printf 'hello-echo\r'; sleep 0.3; printf 'second-line\n') >in.fifo &
	local writer=$!
	t0=$(date +%s%N)
	VMM_STDIN=in.fifo vmm b --restore s.sav --serial stdio
	t1=$(date +%s%N)
	kill "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null
	expect_rc b 0 || { show b.out; return 1; }
	ms=$(((t1 - t0) / 1000000))

	# Timer: continues from the saved count, rises line by line, at about
	# 1 kHz of the time the restored VM ran.
	tb_first=$(ticks_of b.out | head -n1)
	tb_last=$(ticks_of b.out | tail -n1)
	if [ -z "$tb_first" ]; then
		fail "restored run printed no complete step line"
		show b.out
		return 1
	fi
	bad=$(ticks_of b.out | awk -v a="$ta" '$1 < a { printf "ticks went back from %d to %d at line %d\n", a, $1, NR; exit } { a = $1 }')
	if [ -n "$bad" ]; then
		fail "$bad"
		show a.txt
		show b.out
		return 1
	fi
	if [ $((tb_first - ta)) -gt 500 ]; then
		fail "ticks jumped from $ta at the save to $tb_first after restore: the 1 s downtime leaked into the guest clock"
		return 1
	fi
	delta=$((tb_last - ta))
	note "ticks: $ta at the save, $tb_first..$tb_last after restore; restored run took $ms ms"
	if [ "$delta" -lt 200 ]; then
		fail "ticks barely moved after restore: $ta at the save, $tb_last at the end"
		show b.out
		return 1
	fi
	if [ "$delta" -gt $((ms * 12 / 10 + 50)) ] || [ "$delta" -lt $((ms / 4)) ]; then
		fail "timer rate off: $delta ticks in $ms ms of running (expected ~1 per ms)"
		return 1
	fi

	# Serial: strip the banner and the step lines (a step line may be cut
	# between a.txt and b.out); what is left is the echo, in order.
	cat a.txt b.out >ab.txt
	residue=$(tail -n +2 ab.txt | sed -E "s/$STEP_RE ticks [0-9]+//g" | tr -d '\n')
	want=$'hello-echo\rsecond-line'
	if [ "$residue" != "$want" ]; then
		fail "echo after restore: expected 'hello-echo\\r\\nsecond-line\\n' between the step lines, got '$(printf '%s' "$residue" | od -An -c | tr -s ' ' | head -c 200)'"
		show b.out
		return 1
	fi
	# The workload itself did not notice the input.
	if ! cmp -s <(steps_of "$ref") <(grep -aoE "$STEP_RE" ab.txt); then
		fail "steps after restore with input differ from the uninterrupted run"
		diff <(steps_of "$ref") <(grep -aoE "$STEP_RE" ab.txt) | head -n 8 >>"$TDIR/.details"
		return 1
	fi
}

run_test timer_and_serial_after_restore t_timer_serial
