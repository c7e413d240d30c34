#!/usr/bin/env bash
# A save that cannot be written (full disk, no such directory, no
# permission) says so in one line, leaves no debris and no damaged file, and
# the VM runs on to its end; the exit status is then 1.
. "$(dirname "$0")/lib.sh"

BIG_MEM=96M
BIG_CMD="steps=600 mem=64M"     # 64M of churned RAM: far more than the disk
SMALL_MEM=64M
SMALL_CMD="steps=400 mem=16M"

# failed_save TAG PATH PATTERN: one line, 'vmm: saving to PATH failed: ...
# PATTERN ...; the VM keeps running ...', and exit status 1.
failed_save() {
	local tag=$1 path=$2 pat=$3
	expect_rc "$tag" 1 || return 1
	one_vmm_line "$tag" "^vmm: saving to $path failed: .*($pat).*; the VM keeps running" ||
		return 1
}

# ran_to_end TAG OUT REF STEPS: the guest finished, unchanged by the save.
ran_to_end() {
	check_steps "$2" "$4" || { show "$2"; return 1; }
	same_output "$3" "$2" || return 1
}

# no_debris DIR [KEEP]: DIR holds nothing but KEEP.
no_debris() {
	local d=$1 keep=${2:-} left
	left=$(ls -A "$d" | grep -vxF "${keep:-//}")
	if [ -n "$left" ]; then
		fail "the failed save left files in $d: $(printf '%s ' $left)"
		return 1
	fi
}

t_disk_full() {
	local ref
	ref=$(reference "$BIG_MEM" "$BIG_CMD") || return 1
	mount_tmpfs "$TDIR/full" 2m || return 0
	vmm big --mem "$BIG_MEM" --cmdline "$BIG_CMD" --serial file:out.txt \
		--save "$TDIR/full/s.sav" --save-after 400ms
	failed_save big "$TDIR/full/s.sav" 'no space' || return 1
	ran_to_end big out.txt "$ref" 600 || return 1
	no_debris "$TDIR/full"
}

# The same, saving over a good state file that already sits on the full
# disk: it must still be there, byte for byte, and still restore.
t_disk_full_keeps_old() {
	local ref gref
	ref=$(reference "$BIG_MEM" "$BIG_CMD") || return 1
	gref=$(reference 8M "steps=300 mem=1M") || return 1
	mount_tmpfs "$TDIR/full" 4m || return 0
	vmm good --mem 8M --cmdline "steps=300 mem=1M" --serial file:g1.txt \
		--save "$TDIR/full/vm.sav" --save-after 150ms
	saved_ok good "$TDIR/full/vm.sav" || return 1
	cp full/vm.sav vm.copy
	note "good file: $(wc -c <vm.copy) bytes; tmpfs: $(df -k full | tail -n1)"
	vmm big --mem "$BIG_MEM" --cmdline "$BIG_CMD" --serial file:out.txt \
		--save "$TDIR/full/vm.sav" --save-after 400ms
	failed_save big "$TDIR/full/vm.sav" 'no space' || return 1
	ran_to_end big out.txt "$ref" 600 || return 1
	if ! cmp -s vm.copy full/vm.sav; then
		fail "the failed save changed the existing state file"
		return 1
	fi
	no_debris "$TDIR/full" vm.sav || return 1
	vmm restore --restore "$TDIR/full/vm.sav" --serial file:g2.txt
	expect_rc restore 0 || { show g2.txt; return 1; }
	cat g1.txt g2.txt >g.txt
	ran_to_end restore g.txt "$gref" 300
}

t_no_dir() {
	local ref
	ref=$(reference "$SMALL_MEM" "$SMALL_CMD") || return 1
	vmm run --mem "$SMALL_MEM" --cmdline "$SMALL_CMD" --serial file:out.txt \
		--save "$TDIR/no-such-dir/s.sav" --save-after 200ms
	failed_save run "$TDIR/no-such-dir/s.sav" 'No such file or directory' || return 1
	ran_to_end run out.txt "$ref" 400 || return 1
	[ ! -e no-such-dir ] || fail "the failed save created no-such-dir"
}

t_no_permission() {
	local ref wrap=()
	ref=$(reference "$SMALL_MEM" "$SMALL_CMD") || return 1
	mkdir ro
	chmod 0555 ro
	if [ "$(id -u)" -eq 0 ]; then
		# root writes anywhere; drop the capabilities that let it.
		wrap=(setpriv --bounding-set=-dac_override,-dac_read_search,-fowner
		      --inh-caps=-dac_override,-dac_read_search,-fowner)
		if ! command -v setpriv >/dev/null || ! "${wrap[@]}" true 2>/dev/null; then
			skip "*** running as root and setpriv cannot drop CAP_DAC_OVERRIDE: no directory is unwritable ***"
			return 0
		fi
		"${wrap[@]}" sh -c ': >ro/probe' 2>/dev/null
		if [ -e ro/probe ]; then
			rm -f ro/probe
			skip "*** running as root and still able to write to a 0555 directory after setpriv ***"
			return 0
		fi
	fi
	timeout -k 5 "$VMM_TIMEOUT" "${wrap[@]}" "$VMM" --mem "$SMALL_MEM" --cmdline "$SMALL_CMD" \
		--serial file:out.txt --save "$TDIR/ro/s.sav" --save-after 200ms \
		</dev/null >run.out 2>run.err
	RC=$?
	echo "[run] ${wrap[*]} vmm ... --save $TDIR/ro/s.sav --save-after 200ms -> exit $RC" >>cmds.log
	failed_save run "$TDIR/ro/s.sav" 'Permission denied' || return 1
	ran_to_end run out.txt "$ref" 400 || return 1
	no_debris ro
}

run_test save_disk_full t_disk_full
run_test save_disk_full_keeps_old_file t_disk_full_keeps_old
run_test save_no_such_directory t_no_dir
run_test save_no_permission t_no_permission
