#!/usr/bin/env bash
# kill -9 at any moment of a save over an existing good state file leaves
# either the old file, byte for byte, or the complete new one (every CRC and
# record checked by ssm_validate), and nothing else in the directory: the
# temp file is anonymous (O_TMPFILE) or, where it is named, removed by the
# next save.  The moments are spread over one measured save of a 256M guest
# whose every page is filled, from its first byte to past its end.
. "$(dirname "$0")/lib.sh"

TOOL=$(dirname "$VMM")/tests/tools/ssm_units
MOMENTS=12      # at 0, 1/10, ..., 11/10 of the save's duration (then 2x, 4x if needed)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

t_kill9_during_save() {
	local d i ms t0 dur outcome res old=0 new=0 summary=
	[ -x "$TOOL" ] || { fail "$TOOL is missing (make all builds it)"; return 1; }
	# The old good file: a small, different machine.
	mkdir st probe
	vmm old --mem 8M --cmdline "steps=300 mem=1M" --serial none --save old.sav \
		--save-after 150ms
	saved_ok old old.sav || return 1
	# The guest to save: 256M, every page non-zero, so the save writes
	# (and fsyncs) a quarter of a GiB.
	vmm src --mem 256M --cmdline "steps=400 mem=8M" --serial none --save src0.sav \
		--save-after 200ms
	saved_ok src src0.sav || return 1
	"$TOOL" src0.sav src.sav --fill-ram 2>tool.err || { fail "ssm_units failed"; show tool.err; return 1; }
	rm -f src0.sav

	# One whole save, timed from the end of the restore to the exit.
	bg_vmm probe --restore src.sav --serial none --save probe/vm.sav --save-after 1ms
	wait_until 60 has_line probe.err '^vmm: restored from ' ||
		{ fail "the probe restore did not finish"; show probe.err; return 1; }
	t0=$(now_ms)
	bg_wait probe
	dur=$(($(now_ms) - t0))
	saved_ok probe probe/vm.sav || return 1
	note "one save of $(wc -c <probe/vm.sav) bytes: $dur ms"
	rm -rf probe

	# 12 moments across the measured save; on a host busier than when it
	# was measured a save may take longer, so later moments (2x, 4x) are
	# added until one lands after the commit.
	for i in $(seq 0 $((MOMENTS - 1))) 20 40; do
		[ "$i" -lt "$MOMENTS" ] || [ "$new" -eq 0 ] || break
		cp old.sav st/vm.sav
		d=$((dur * i / 10))
		bg_vmm "k$i" --restore src.sav --serial none --save "$TDIR/st/vm.sav" --save-after 1ms
		wait_until 60 has_line "k$i.err" '^vmm: restored from ' ||
			{ fail "k$i: the restore did not finish"; show "k$i.err"; return 1; }
		sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
		bg_kill "k$i" KILL 2>/dev/null
		bg_wait "k$i"
		res=$(ls -A st)
		if [ "$res" != vm.sav ]; then
			fail "kill -9 at +$d ms (exit $RC) left in the directory: $(printf '%s ' $res)"
			return 1
		fi
		if cmp -s old.sav st/vm.sav; then
			outcome=old
			old=$((old + 1))
		elif "$TOOL" --validate st/vm.sav 2>val.err; then
			outcome=new
			new=$((new + 1))
		else
			fail "kill -9 at +$d ms (exit $RC): vm.sav is neither the old file nor a complete new one: $(cat val.err)"
			return 1
		fi
		summary="$summary +${d}ms:$outcome"
		note "moment $i: +$d ms, exit $RC, $outcome"
	done
	echo "    kill -9 moments (save took $dur ms):$summary"
	# Both ends must have been reached, or the moments missed the save.
	[ "$old" -gt 0 ] || { fail "no kill landed before the save committed:$summary"; return 1; }
	[ "$new" -gt 0 ] || { fail "no save completed, even at 4x its duration:$summary"; return 1; }
}

run_test kill9_during_save_leaves_old_or_new_and_no_residue t_kill9_during_save
