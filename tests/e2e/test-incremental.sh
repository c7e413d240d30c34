#!/usr/bin/env bash
# Incremental snapshots (--save F --continue --incremental): a chain of a
# full base and four children, each holding only the pages dirtied since
# the file before; restoring the last child resumes the guest exactly
# where it was saved; a missing, changed or swapped parent is refused
# naming the file; a file with children is not overwritten unless forced.
. "$(dirname "$0")/lib.sh"

INC_MEM=64M
INC_STEPS=$((4000 * E2E_SLOW))
# 8 pages a step: ~300 steps between saves dirty ~2400 pages, far from all
# 8192 of the area, so a child that held more than its dirty pages shows.
INC_CMD="steps=$INC_STEPS mem=32M pages=8"
INC_AT="300 600 900 1200 1500"     # the steps after which a save is asked for

# make_chain [ARGS]: c, c.1 .. c.4 in $TDIR, saved at the steps of INC_AT
# (vmm also gets ARGS); leaves the guest's output in a.txt and the saves'
# lines in run.err.
make_chain() {
	local s k=0 want
	bg_vmm run --mem "$INC_MEM" --cmdline "$INC_CMD" --serial "file:$TDIR/a.txt" \
		--save "$TDIR/c" --continue --incremental "$@"
	for s in $INC_AT; do
		if ! wait_until 60 has_line a.txt "^step $s "; then
			fail "the guest never reached step $s"
			show a.txt
			show run.err
			return 1
		fi
		bg_kill run TERM || return 1
		want=c
		[ $k -gt 0 ] && want=c.$k
		if ! wait_until 30 has_line run.err "^vmm: saved to $TDIR/$want in "; then
			fail "save $k: no 'vmm: saved to $want' line"
			show run.err
			return 1
		fi
		k=$((k + 1))
	done
	bg_kill run QUIT
	bg_wait run
	return 0
}

t_chain_restores() {
	local ref k line pages size lim parent
	ref=$(reference "$INC_MEM" "$INC_CMD") || return 1
	make_chain "$@" || return 1
	grep -q "saved to $TDIR/c in .*(full: base" run.err ||
		{ fail "the first save was not a full base"; show run.err; return 1; }
	for k in 1 2 3 4; do
		line=$(grep "^vmm: saved to $TDIR/c.$k in " run.err)
		pages=$(echo "$line" | sed -nE 's/.*incremental: ([0-9]+) dirty pages.*/\1/p')
		parent=c
		[ "$k" -gt 1 ] && parent=c.$((k - 1))
		if [ -z "$pages" ] || [ "$pages" -lt 1 ] || ! echo "$line" | grep -q "parent $parent,"; then
			fail "c.$k: not saved as an increment: $line"
			return 1
		fi
		# <= 1.05 x the dirty bytes + 64 KiB for the CPU, devices, directory
		size=$(stat -c %s "c.$k")
		lim=$((pages * 4096 * 105 / 100 + 65536))
		if [ "$size" -gt "$lim" ]; then
			fail "c.$k: $size bytes for $pages dirty pages (limit $lim)"
			return 1
		fi
		# far from the whole 64 MiB: it is not a full save
		if [ "$pages" -ge 8192 ]; then
			fail "c.$k: $pages dirty pages, the whole churn area: not incremental"
			return 1
		fi
	done
	vmm verify verify c.4
	expect_rc verify 0 || return 1
	grep -q "chain of 5 files" verify.out || { fail "verify does not report the chain"; show verify.out; return 1; }
	vmm restore --restore c.4 --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	suffix_of "$ref" b.txt || return 1
	# It resumes at the last save, not at the base's (step ~300).
	local first
	first=$(grep -aE "^$STEP_RE ticks [0-9]+$" b.txt | head -n1 | awk '{print $2}')
	if [ "${first:-0}" -lt 1500 ]; then
		fail "the restored guest resumed at step $first, before the last save (step 1500+)"
		return 1
	fi
	check_steps <(cat <(grep -aE "^$STEP_RE" "$ref" | head -n $((first - 1))) b.txt) \
		"$INC_STEPS" || return 1
}

t_inspect_shows_parent() {
	make_chain || return 1
	vmm ins inspect c.3
	expect_rc ins 0 || return 1
	grep -qE '^parent +c\.2 \(sha256 [0-9a-f]{16}' ins.out ||
		{ fail "inspect c.3 does not name c.2 as parent"; show ins.out; return 1; }
	vmm insb inspect c
	grep -qE '^parent +none' insb.out || { fail "inspect of the base names a parent"; show insb.out; return 1; }
	vmm insj inspect --json c.1
	python3 -c 'import json,sys; d=json.load(open("insj.out")); sys.exit(d["parent"]!="c" or len(d["parent_id"])!=64)' ||
		{ fail "inspect --json c.1: parent is not c with a 64-digit id"; show insj.out; return 1; }
}

# refused TAG FILE REGEX: the last run failed (not crashed) with one line
# naming FILE and matching REGEX.
refused() {
	crashed "$1" && return 1
	if [ "$RC" -eq 0 ]; then
		fail "$1: exit 0, expected a refusal"
		return 1
	fi
	one_vmm_line "$1" "$2" || return 1
	grep -qiE -e "$3" "$1.err" || { fail "$1: message does not say /$3/"; show "$1.err"; return 1; }
}

t_bad_parents() {
	make_chain || return 1
	mv c.2 c.2.away
	vmm missing --restore c.4 --serial none
	refused missing "failed: c\.2 \(parent of c\.3\)" "no such file" || return 1
	# Another file in its place (a sibling of the chain, valid itself).
	cp c.1 c.2
	vmm swapped --restore c.4 --serial none
	refused swapped "failed: c\.2 \(parent of c\.3\)" "not the file c\.3 was saved from" || return 1
	# The parent changed in place: one byte of its directory.
	mv c.2.away c.2
	cp c.2 c.2.good
	flip_byte c.2 $(( $(stat -c %s c.2) - 40 ))
	vmm changed --restore c.4 --serial none
	refused changed "failed: c\.2 \(parent of c\.3\)" "not the file c\.3 was saved from" || return 1
	vmm vchanged verify c.4
	[ "$RC" -ne 0 ] && grep -q "c\.2" vchanged.err ||
		{ fail "verify c.4 accepted a changed c.2"; show vchanged.err; return 1; }
	# The base gone: named too.
	mv c.2.good c.2
	rm c
	vmm nobase --restore c.4 --serial none
	refused nobase "failed: c \(parent of c\.1\)" "no such file" || return 1
}

t_overwrite_refused() {
	make_chain || return 1
	cp c.2 c.2.before
	# A restore of c.4 knows its chain: saving over c.2 (a parent) is refused.
	save_over over "saving to .*c\.2 failed: .*part of a snapshot chain" \
		"a save over c.2 (parent of c.3) was not refused" || return 1
	cmp -s c.2 c.2.before || { fail "c.2 changed although the save was refused"; return 1; }
	save_over force "^vmm: saved to $TDIR/c\.2 " "--force did not let the save overwrite c.2" \
		--force || return 1
}

# save_over TAG REGEX WHY [ARGS]: restore c.4 with --save c.2 --continue
# (and ARGS), ask for a save; stderr must then match REGEX (else fail WHY).
save_over() {
	local tag=$1 re=$2 why=$3
	shift 3
	bg_vmm "$tag" --restore c.4 --serial none --save "$TDIR/c.2" --continue "$@"
	sleep 0.5
	bg_kill "$tag" TERM || return 1
	if ! wait_until 20 has_line "$tag.err" "$re"; then
		fail "$why"
		show "$tag.err"
		return 1
	fi
	bg_kill "$tag" QUIT
	bg_wait "$tag"
}

# The monitor's save mode incremental: full, then a child of it; a plain
# save over the parent is refused (GenericError) and the file kept.
t_monitor() {
	bg_vmm vm --mem "$INC_MEM" --cmdline "$INC_CMD" --serial "file:$TDIR/a.txt" \
		--monitor "unix:$TDIR/s.sock"
	wait_until 20 test -S s.sock || { fail "no monitor socket"; show vm.err; return 1; }
	wait_until 30 has_line a.txt '^step 100 ' || { fail "the guest never reached step 100"; return 1; }
	mctl m1 save file="$TDIR/m" mode=incremental continue=true
	[ "$RC" -eq 0 ] && grep -q '"status": *"saved"' m1.out ||
		{ fail "monitor incremental base: exit $RC"; show m1.out; show m1.err; return 1; }
	sleep 0.3
	mctl m2 save file="$TDIR/m.next" mode=incremental continue=true
	[ "$RC" -eq 0 ] || { fail "monitor incremental child: exit $RC"; show m2.err; return 1; }
	grep -q "saved to $TDIR/m.next in .*incremental: .* parent m," vm.err ||
		{ fail "the second incremental save is not a child of m"; show vm.err; return 1; }
	cp m m.before
	mctl m3 save file="$TDIR/m" mode=plain continue=true
	[ "$RC" -ne 0 ] && grep -q "part of a snapshot chain" m3.err ||
		{ fail "a plain save over the parent m was not refused"; show m3.out; show m3.err; return 1; }
	cmp -s m m.before || { fail "m changed although the save was refused"; return 1; }
	mctl m4 save file="$TDIR/elsewhere/x" mode=incremental continue=true
	[ "$RC" -ne 0 ] || { fail "a child outside its parent's directory was accepted"; return 1; }
	bg_kill vm QUIT
	bg_wait vm
	vmm r --restore m.next --serial none --save-after 200ms --save "$TDIR/after"
	expect_rc r 0 || return 1
}

# mctl TAG ARGS...: vmm ctl on ./s.sock; TAG.out, TAG.err, RC.
mctl() {
	local tag=$1
	shift
	timeout -k 5 60 "$VMM" ctl "$TDIR/s.sock" "$@" >"$tag.out" 2>"$tag.err"
	RC=$?
	echo "[$tag] vmm ctl s.sock $* -> exit $RC" >>cmds.log
}

t_usage() {
	vmm u1 --mem 64M --save x --incremental
	[ "$RC" -eq 2 ] && grep -q -- "--incremental needs --save FILE and --continue" u1.err ||
		{ fail "--incremental without --continue not refused as usage"; show u1.err; return 1; }
	vmm u2 --mem 64M --save x --continue --live --incremental
	[ "$RC" -eq 2 ] || { fail "--incremental with --live not refused"; show u2.err; return 1; }
}

# Point-in-time children (--background): the log is read at the request,
# the writer forked; the chain restores the same.
t_chain_background() {
	t_chain_restores --background || return 1
	grep -q "saved to $TDIR/c.4 in .*point-in-time, guest paused .*incremental: " run.err ||
		{ fail "c.4 was not a point-in-time child"; show run.err; return 1; }
}

# A point-in-time child whose writer dies loses no page: the next child
# (the same name again) still holds every page dirtied since the base.
t_failed_child_keeps_pages() {
	local ref pid child
	ref=$(reference "$INC_MEM" "$INC_CMD") || return 1
	VMM_TEST_BGSAVE_DELAY_MS=1000 bg_vmm run --mem "$INC_MEM" --cmdline "$INC_CMD" \
		--serial "file:$TDIR/a.txt" --save "$TDIR/c" --continue --incremental --background
	wait_until 60 has_line a.txt '^step 300 ' || { fail "the guest never reached step 300"; return 1; }
	bg_kill run TERM || return 1
	wait_until 30 has_line run.err "^vmm: saved to $TDIR/c in " || { fail "no base"; show run.err; return 1; }
	wait_until 60 has_line a.txt '^step 700 ' || { fail "the guest never reached step 700"; return 1; }
	bg_kill run TERM || return 1
	wait_until 20 has_line run.err "snapshot for $TDIR/c.1 taken" || { fail "no child request"; show run.err; return 1; }
	pid=$(bg_pid run) || return 1
	child=$(_children "$pid")
	child=${child%%[!0-9]*}
	[ -n "$child" ] || { fail "no writer process under vmm $pid"; return 1; }
	echo "[run] kill -KILL $child (the writer of c.1)" >>cmds.log
	kill -KILL "$child"
	wait_until 20 has_line run.err "saving to $TDIR/c.1 failed" || { fail "the dead writer was not reported"; show run.err; return 1; }
	wait_until 60 has_line a.txt '^step 1100 ' || { fail "the guest never reached step 1100"; return 1; }
	bg_kill run TERM || return 1
	wait_until 30 has_line run.err "^vmm: saved to $TDIR/c.1 in .*parent c," ||
		{ fail "the retried child c.1 was not saved as a child of c"; show run.err; return 1; }
	bg_kill run QUIT
	bg_wait run
	vmm restore --restore c.1 --serial file:b.txt
	expect_rc restore 0 || return 1
	suffix_of "$ref" b.txt || return 1
}

run_test incremental_chain_restores t_chain_restores
run_test incremental_failed_child_keeps_pages t_failed_child_keeps_pages
run_test incremental_chain_background t_chain_background
run_test incremental_inspect_parent t_inspect_shows_parent
run_test incremental_bad_parents t_bad_parents
run_test incremental_overwrite_refused t_overwrite_refused
run_test incremental_monitor t_monitor
run_test incremental_usage t_usage
