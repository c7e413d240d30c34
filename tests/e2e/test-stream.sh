#!/usr/bin/env bash
# State through pipes: --save - writes the state to stdout and --restore -
# reads it from stdin in one pass, so a guest suspended into a pipe (also
# through a compressor, also live) resumes exactly where it stopped on the
# other end; a truncated stream is refused before the guest runs, a reader
# that goes away fails the save and the VM keeps running, and a stalled
# pipe never makes the VMM deaf to a signal.
. "$(dirname "$0")/lib.sh"

SHORT_MEM=16M
SHORT_STEPS=300
SHORT_CMD="steps=$SHORT_STEPS mem=8M"
MAGIC_HEX='89 53 53 4d'     # the first bytes of every state file
# The piped saves: long enough that a save 500 ms in lands part-way.
PIPE_MEM=32M
PIPE_STEPS=$((700 * E2E_SLOW))
PIPE_CMD="steps=$PIPE_STEPS mem=16M"

# pipe_run TAG "SAVE OPTS" FILTER...: vmm --save - ... | FILTER | vmm --restore -,
# with the source's console in a.txt and the destination's in b.txt; the
# statuses go to RC_SRC, RC_FLT, RC_DST.
pipe_run() {
	local tag=$1 sopts=$2
	shift 2
	# shellcheck disable=SC2086
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" --mem "$PIPE_MEM" --cmdline "$PIPE_CMD" \
		--serial file:a.txt $sopts </dev/null 2>"$tag-src.err" |
		"$@" |
		timeout -k 5 "$VMM_TIMEOUT" "$VMM" --restore - --serial file:b.txt \
			>"$tag-dst.out" 2>"$tag-dst.err"
	local st=("${PIPESTATUS[@]}")
	RC_SRC=${st[0]} RC_FLT=${st[1]} RC_DST=${st[2]}
	echo "[$tag] vmm --save - $sopts | $* | vmm --restore - -> $RC_SRC $RC_FLT $RC_DST" >>cmds.log
}

# through_ok TAG: both ends exited 0 and a.txt + b.txt is the uninterrupted run.
through_ok() {
	local tag=$1 ref=$2 k
	if [ "$RC_SRC" -ne 0 ] || [ "$RC_FLT" -ne 0 ] || [ "$RC_DST" -ne 0 ]; then
		fail "$tag: statuses $RC_SRC | $RC_FLT | $RC_DST, expected 0 | 0 | 0"
		show "$tag-src.err"
		show "$tag-dst.err"
		return 1
	fi
	grep -q '^vmm: restored from stdin in ' "$tag-dst.err" ||
		{ fail "$tag: no 'restored from stdin' line"; show "$tag-dst.err"; return 1; }
	k=$(last_step a.txt)
	if [ "$k" -lt 1 ] || [ "$k" -ge "$PIPE_STEPS" ]; then
		fail "$tag: the save did not land part-way: a.txt ends at step $k"
		return 1
	fi
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$PIPE_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "$tag: a.txt + b.txt" || return 1
	rm -f a.txt b.txt ab.txt
}

# 1. Through a plain pipe and through a compressor and back.
t_stream_pipe() {
	local ref comp
	ref=$(reference "$PIPE_MEM" "$PIPE_CMD") || return 1
	pipe_run plain "--save - --save-after 500ms" cat
	through_ok plain "$ref" || return 1
	comp=
	command -v zstd >/dev/null 2>&1 && comp=zstd
	[ -z "$comp" ] && command -v gzip >/dev/null 2>&1 && comp=gzip
	[ -n "$comp" ] || { note "no zstd or gzip: the compressed case is not run"; return 0; }
	pipe_run "$comp" "--save - --save-after 500ms" sh -c "$comp -1 -c | $comp -d -c"
	through_ok "$comp" "$ref" || return 1
}

# 2. A live save into a pipe.
t_stream_live() {
	local ref
	ref=$(reference "$PIPE_MEM" "$PIPE_CMD") || return 1
	pipe_run live "--save - --live --save-after 500ms" cat
	through_ok live "$ref" || return 1
	grep -qE '^vmm: live-saved: ' live-src.err ||
		{ fail "live: no 'live-saved' summary"; show live-src.err; return 1; }
}

# 3. Without --serial the console goes to stderr, so stdout is the state
# alone; an explicit stdio console is refused.
t_stream_console() {
	local f=$E2E_CACHE/console.sav
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" --mem "$SHORT_MEM" --cmdline "$SHORT_CMD" \
		--save - --save-after 300ms </dev/null >"$f" 2>c.err
	RC=$?
	expect_rc c 0 || return 1
	if [ "$(od -An -tx1 -N4 "$f" | sed 's/^ //')" != "$MAGIC_HEX" ]; then
		fail "stdout does not start with the state file magic"
		od -An -c -N32 "$f" >>"$TDIR/.details"
		return 1
	fi
	grep -aqE "^$STEP_RE" c.err || { fail "the console did not go to stderr"; show c.err; return 1; }
	if LC_ALL=C grep -aqE "^$STEP_RE" "$f"; then
		fail "console output inside the state stream"
		return 1
	fi
	vmm u1 --save - --serial stdio
	expect_rc u1 2 && one_vmm_line u1 'serial stdio: with --save - the state goes to stdout' || return 1
	VMM_STDIN=$f vmm u2 --restore - --serial stdio
	expect_rc u2 2 && one_vmm_line u2 'serial stdio: with --restore - the state comes from stdin' || return 1
	VMM_STDIN=$f vmm u3 --restore - --mem 64M
	expect_rc u3 2 && one_vmm_line u3 'machine comes from the stream' || return 1
	vmm u4 --save - --continue
	expect_rc u4 2 && one_vmm_line u4 'second save' || return 1
	# The restored guest's console defaults to stdout (stdin is the state).
	VMM_STDIN=$f vmm r --restore -
	expect_rc r 0 || return 1
	[ "$(last_step r.out)" -eq "$SHORT_STEPS" ] ||
		{ fail "the restored guest's console is not on stdout"; show r.out; return 1; }
}

# 4. A truncated stream (cut at several places) and garbage: refused with
# one line, exit 1, and the guest never runs.
t_stream_truncated() {
	local f size cut
	f=$(cached_save stream "$SHORT_MEM" "$SHORT_CMD") || return 1
	size=$(stat -c %s "$f")
	for cut in 0 100 $((size / 2)) $((size - 8)); do
		head -c "$cut" "$f" >cut.sav
		VMM_STDIN=cut.sav vmm t$cut --restore - --serial file:b$cut.txt
		expect_rc "t$cut" 1 || return 1
		if ! grep -qE '^vmm: restore from stdin failed: .+; the guest did not run$' "t$cut.err" ||
		   [ "$(wc -l <"t$cut.err")" -ne 1 ]; then
			fail "cut at $cut of $size: expected one 'restore from stdin failed' line"
			show "t$cut.err"
			return 1
		fi
		if [ -s "b$cut.txt" ] && grep -aqE "$STEP_RE" "b$cut.txt"; then
			fail "cut at $cut: the guest ran"
			show "b$cut.txt"
			return 1
		fi
	done
	# Through a real pipe that closes early, too.
	head -c $((size / 3)) "$f" | timeout -k 5 "$VMM_TIMEOUT" "$VMM" --restore - --serial none \
		>p.out 2>p.err
	RC=$?
	expect_rc p 1 && grep -q 'restore from stdin failed' p.err ||
		{ fail "a pipe closed part-way was not refused"; show p.err; return 1; }
}

# 5. The reader goes away: the save fails (EPIPE, not SIGPIPE), the VM
# keeps running to its end, and the exit status says the save failed.
t_stream_closed_reader() {
	local ref
	ref=$(reference "$SHORT_MEM" "$SHORT_CMD") || return 1
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" --mem "$SHORT_MEM" --cmdline "$SHORT_CMD" \
		--serial file:a.txt --save - --save-after 300ms </dev/null 2>s.err | true
	RC=${PIPESTATUS[0]}
	echo "[s] vmm --save - | true -> exit $RC" >>cmds.log
	expect_rc s 1 || return 1
	grep -qE '^vmm: saving to - failed: .*connection lost.*; the VM keeps running' s.err ||
		{ fail "no 'saving to - failed ... keeps running' line"; show s.err; return 1; }
	check_steps a.txt "$SHORT_STEPS" || { show a.txt; return 1; }
	same_output "$ref" a.txt || return 1
}

# 6. Stalled pipes: a restore waiting on a silent writer ends on SIGTERM,
# and a save blocked on a reader that does not read ends on SIGQUIT.
t_stream_stalled() {
	local t0 t1
	sleep 30 | { "$VMM" --restore - --serial none >w.out 2>w.err & echo $! >w.pid
		     wait $!; echo $? >w.rc; } &
	bg_track w $! "sleep 30 | vmm --restore -"
	wait_until 5 test -s w.pid || { fail "the restore did not start"; return 1; }
	sleep 0.5
	t0=$(date +%s%N)
	kill -TERM "$(cat w.pid)"
	wait_until 10 test -s w.rc || { fail "SIGTERM did not end a restore from a silent pipe"; return 1; }
	t1=$(date +%s%N)
	[ "$(cat w.rc)" -eq 143 ] || { fail "restore: exit $(cat w.rc) after SIGTERM, expected 143"; show w.err; return 1; }
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] || { fail "SIGTERM took $(((t1 - t0) / 1000000)) ms"; return 1; }
	grep -q 'restore from stdin failed: stopped by Terminated' w.err ||
		{ fail "restore: no 'stopped by' line"; show w.err; return 1; }
	{ "$VMM" --mem "$SHORT_MEM" --cmdline "steps=100000 mem=8M" --serial none --save - \
		--save-after 200ms </dev/null 2>r.err & echo $! >r.pid
	  wait $!; echo $? >r.rc; } | sleep 30 &
	bg_track r $! "vmm --save - | sleep 30"
	wait_until 5 test -s r.pid || { fail "the save did not start"; return 1; }
	sleep 1.5
	kill -QUIT "$(cat r.pid)"
	wait_until 10 test -s r.rc || { fail "SIGQUIT did not end a save blocked on its reader"; show r.err; return 1; }
	[ "$(cat r.rc)" -eq 131 ] || { fail "save: exit $(cat r.rc) after SIGQUIT, expected 131"; show r.err; return 1; }
}

run_test stream_pipe t_stream_pipe
run_test stream_live t_stream_live
run_test stream_console t_stream_console
run_test stream_truncated t_stream_truncated
run_test stream_closed_reader t_stream_closed_reader
run_test stream_stalled t_stream_stalled
