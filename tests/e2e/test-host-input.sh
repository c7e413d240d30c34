#!/usr/bin/env bash
# Bounded, interruptible input: a kernel or state file that is not a regular
# file (/dev/zero, /dev/urandom, a FIFO) or is absurdly big is refused at
# once, before it is read and without blocking in open(); SIGTERM and Ctrl-C
# stop a restore that is busy loading a big state file, or a destination
# waiting for a migration, within a fraction of a second.
. "$(dirname "$0")/lib.sh"

TOOL=$(dirname "$VMM")/tests/tools/ssm_units
FAST_MS=2000    # "at once", with room for a loaded 2-core host

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# quick TAG MS PATTERN ARGS...: vmm ARGS exits 1 within MS milliseconds with
# one line matching PATTERN, and the guest never ran.
quick() {
	local tag=$1 lim=$2 pat=$3 t0 ms
	shift 3
	t0=$(now_ms)
	VMM_TIMEOUT=20 vmm "$tag" "$@"
	ms=$(($(now_ms) - t0))
	note "$tag: $ms ms"
	expect_rc "$tag" 1 || return 1
	one_vmm_line "$tag" "$pat" || return 1
	if [ "$ms" -ge "$lim" ]; then
		fail "$tag: refused after $ms ms (limit $lim ms)"
		return 1
	fi
	if grep -aq step "$tag.out"; then
		fail "$tag: the guest ran"
		return 1
	fi
}

t_kernel_devices() {
	quick zero "$FAST_MS" 'kernel /dev/zero: not a regular file' \
		--kernel /dev/zero --serial stdio || return 1
	quick urandom "$FAST_MS" 'kernel /dev/urandom: not a regular file' \
		--kernel /dev/urandom --serial stdio || return 1
	# A FIFO nobody writes: open(2) without O_NONBLOCK would wait forever.
	mkfifo k.fifo
	quick fifo "$FAST_MS" 'kernel k\.fifo: not a regular file' \
		--kernel k.fifo --serial stdio
}

# 5 GiB of holes: refused by its size, not after checksumming it (12 s).
t_kernel_sparse_5g() {
	truncate -s 5G big.elf || { skip "*** cannot make a 5 GiB sparse file here ***"; return 0; }
	quick sparse 1000 'kernel big\.elf: 5368709120 bytes, need 1 byte to' \
		--kernel big.elf --serial stdio || return 1
	# The limit follows RAM: a 5 MiB kernel cannot fit a 4 MiB guest.
	truncate -s 5M five.elf
	quick ram 1000 'kernel five\.elf: 5242880 bytes, need 1 byte to 4096 KiB' \
		--mem 4M --kernel five.elf --serial stdio
}

t_restore_not_regular() {
	mkfifo s.fifo
	quick fifo "$FAST_MS" 'cannot restore from s\.fifo: not a regular file' \
		--restore s.fifo --serial stdio || return 1
	quick zero "$FAST_MS" 'cannot restore from /dev/zero: not a regular file' \
		--restore /dev/zero --serial stdio
}

# A state file that takes a while to load: 512M of RAM, every page filled
# (made once per session from a short run).
big_state() {
	local f=$E2E_CACHE/host-input-big.sav
	if [ ! -s "$f" ]; then
		[ -x "$TOOL" ] || { fail "$TOOL is missing (make all builds it)"; return 1; }
		vmm small --mem 512M --cmdline "steps=400 mem=8M" --serial none \
			--save small.sav --save-after 200ms
		saved_ok small small.sav || return 1
		if ! "$TOOL" small.sav "$f.tmp" --fill-ram 2>tool.err; then
			fail "ssm_units --fill-ram failed"
			show tool.err
			return 1
		fi
		mv "$f.tmp" "$f"
		rm -f small.sav
	fi
	echo "$f"
}

# load_under_way TAG FILE: wait (up to 10 s) until vmm TAG has FILE open
# with its read offset past the first MiB; false if it never did.
load_under_way() {
	local pid fd pos _
	pid=$(bg_pid "$1") || return 1
	for _ in $(seq 1 2000); do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$2" ] || continue
			pos=$(sed -n 's/^pos:[[:space:]]*//p' /proc/"$pid"/fdinfo/"${fd##*/}" 2>/dev/null)
			[ -n "$pos" ] && [ "$pos" -gt 1048576 ] && return 0
		done
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

# stop_restore SIGNAL STATUS: the signal lands while the file loads; vmm
# exits STATUS within 1 s, saying the restore was stopped, guest never ran.
stop_restore() {
	local sig=$1 want=$2 f t0 ms
	f=$(big_state) || return 1
	bg_vmm r --restore "$f" --serial stdio
	# Signal once the load is seen under way (the file's read offset is past
	# its first MiB), not after a fixed sleep: a quiet host with the file
	# in the page cache loads 512M in ~0.4 s.
	load_under_way r "$f" || { fail "never saw vmm reading $f"; show r.err; return 1; }
	t0=$(now_ms)
	bg_kill r "$sig" || { fail "vmm exited before the signal"; show r.err; return 1; }
	bg_wait r
	ms=$(($(now_ms) - t0))
	note "exit $RC $ms ms after SIG$sig"
	if [ "$RC" -ne "$want" ]; then
		fail "exit status $RC after SIG$sig during the load, expected $want"
		show r.err
		return 1
	fi
	if ! grep -q "restore from .* failed: stopped by" r.err; then
		fail "SIG$sig did not land in the load (the restore was too quick?)"
		show r.err
		return 1
	fi
	[ "$ms" -lt 1000 ] || { fail "vmm took $ms ms to stop after SIG$sig"; return 1; }
	if grep -aq step r.out; then
		fail "the guest ran after SIG$sig"
		return 1
	fi
}

t_sigterm_restore() { stop_restore TERM 143; }
t_sigint_restore()  { stop_restore INT 130; }

# --serial file:FIFO with nobody reading: open() must not block (the stop
# signals are already blocked then).
t_serial_fifo() {
	mkfifo out.fifo
	quick serial "$FAST_MS" 'serial file:out\.fifo: a FIFO with no reader' \
		--cmdline steps=5 --serial file:out.fifo
}

# Waiting for a migration that never comes: SIGTERM ends the wait at once.
t_sigterm_incoming_wait() {
	local port t0 ms
	port=$(free_port 47350) || { fail "no free port"; return 1; }
	bg_incoming in "$port" --serial none || return 1
	t0=$(now_ms)
	bg_kill in TERM || { fail "vmm --incoming exited before the signal"; show in.err; return 1; }
	bg_wait in
	ms=$(($(now_ms) - t0))
	[ "$RC" -eq 143 ] || { fail "exit status $RC after SIGTERM while waiting, expected 143"; show in.err; return 1; }
	[ "$ms" -lt 1000 ] || fail "vmm --incoming took $ms ms to stop after SIGTERM"
}

run_test kernel_not_regular_refused_fast t_kernel_devices
run_test kernel_sparse_5g_refused_fast t_kernel_sparse_5g
run_test restore_not_regular_refused_without_blocking t_restore_not_regular
run_test serial_fifo_without_reader_refused t_serial_fifo
run_test sigterm_during_restore_load t_sigterm_restore
run_test sigint_during_restore_load t_sigint_restore
run_test sigterm_while_waiting_for_migration t_sigterm_incoming_wait
