#!/usr/bin/env bash
# Mapped restore (ram unit version 2): a plain save lays RAM out as one
# page-aligned extent with zero pages as holes; --restore maps it into the
# guest MAP_PRIVATE, so the guest continues exactly as an uninterrupted run
# while the state file stays byte for byte unchanged.  RAM checksums:
# --verify (and ssm_validate) catch a changed RAM byte; a default restore
# does not read RAM, so it does not (docs/security.md) - the guest gets the
# byte, here in a page it never uses, and runs on unaffected.
. "$(dirname "$0")/lib.sh"

TOOL=$(dirname "$VMM")/tests/tools/ssm_units
M_MEM=256M
M_STEPS=$((250 * E2E_SLOW))
M_CMD="steps=$M_STEPS mem=32M"

good_file() { cached_save mapped-good "$M_MEM" "$M_CMD"; }

u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }

# ram_data FILE: file offset of the first byte of RAM: the ram unit's
# header (44 + 3), its RAW record (16 + kind u8 + size u64), then the
# EXTENT record, whose payload starts with data_off.
ram_data() {
	local o
	o=$(unit_offset "$1" ram) || return 1
	[ "$(od -An -tu1 -j $((o + 72)) -N1 "$1" | tr -d ' ')" = 5 ] || return 1   # type 5, EXTENT
	u64 "$1" $((o + 72 + 16))
}

# A fresh copy of the good file, so each case sees the same bytes.
copy_good() {
	local g
	g=$(good_file) || return 1
	cp --sparse=always "$g" "$1"
}

# restore_runs_on TAG FILE [ARGS]: restore FILE; the guest runs to the end
# of its steps, every step line equal to the uninterrupted run's.
restore_runs_on() {
	local tag=$1 f=$2 ref first
	shift 2
	ref=$(reference "$M_MEM" "$M_CMD") || return 1
	vmm "$tag" --restore "$f" --serial "file:$tag.txt" "$@"
	expect_rc "$tag" 0 || { show "$tag.err"; return 1; }
	steps_of "$tag.txt" >got.steps
	first=$(head -n1 got.steps | awk '{print $2}')
	[ -n "$first" ] || { fail "$tag: the restored guest printed no step"; return 1; }
	steps_of "$ref" | awk -v f="$first" '$2 >= f' >want.steps
	if ! cmp -s want.steps got.steps; then
		fail "$tag: the restored guest's steps from $first differ from the uninterrupted run"
		diff want.steps got.steps | head -n 8 >>"$TDIR/.details"
		return 1
	fi
	[ "$(last_step "$tag.txt")" = "$M_STEPS" ] || { fail "$tag: did not reach step $M_STEPS"; return 1; }
}

t_layout_sparse_page_aligned() {
	local d ram size alloc
	copy_good s.sav || return 1
	d=$(ram_data s.sav) || { fail "no EXTENT record at the start of the ram unit"; return 1; }
	[ $((d % 4096)) -eq 0 ] || { fail "RAM starts at offset $d, not page-aligned"; return 1; }
	ram=$((256 << 20))
	size=$(stat -c %s s.sav)
	[ "$size" -gt $((d + ram)) ] || { fail "file of $size bytes cannot hold RAM at $d"; return 1; }
	alloc=$(($(stat -c %b s.sav) * $(stat -c %B s.sav)))
	note "file $size bytes, $alloc allocated, RAM at $d"
	# The guest touched its 32M churn area and its kernel: the rest of
	# the 256M must be holes.
	[ "$alloc" -lt $((96 << 20)) ] || { fail "$alloc bytes allocated: zero pages are not holes"; return 1; }
}

t_restore_maps_guest_continues_file_unchanged() {
	local before pid maps
	copy_good s.sav || return 1
	before=$(sha256sum <s.sav)
	# While it runs, the state file is mapped into the vmm (not read).
	bg_vmm probe --restore "$TDIR/s.sav" --serial none
	wait_until 30 has_line probe.err '^vmm: restored from ' ||
		{ fail "the restore did not finish"; show probe.err; return 1; }
	pid=$(bg_pid probe) || { fail "no vmm process"; return 1; }
	maps=$(grep -c "$TDIR/s.sav" "/proc/$pid/maps" 2>/dev/null)
	bg_kill probe TERM
	bg_wait probe
	[ "${maps:-0}" -ge 1 ] || { fail "the state file is not mapped into the restored vmm"; return 1; }
	restore_runs_on run s.sav || return 1
	[ "$(sha256sum <s.sav)" = "$before" ] ||
		{ fail "the state file changed while the restored guest wrote its RAM"; return 1; }
}

# The last byte of RAM: a page the test kernel never uses.
flip_last_ram_byte() {
	local d
	copy_good "$1" || return 1
	d=$(ram_data "$1") || { fail "no EXTENT record in the ram unit"; return 1; }
	flip_byte "$1" $((d + (256 << 20) - 1))
}

t_verify_catches_flipped_ram_byte() {
	flip_last_ram_byte bad.sav || return 1
	vmm verify --restore bad.sav --verify --serial stdio
	expect_rc verify 1 || return 1
	one_vmm_line verify "ram.*extent chunk 255 .*CRC mismatch" || return 1
	if grep -aq step verify.out; then
		fail "the guest ran although --verify refused the file"
		return 1
	fi
	if "$TOOL" --validate bad.sav 2>val.err; then
		fail "ssm_validate accepted a file with a changed RAM byte"
		return 1
	fi
	grep -q "extent chunk 255" val.err || { fail "validate: $(cat val.err)"; return 1; }
	# The same file unchanged passes --verify.
	copy_good good.sav || return 1
	restore_runs_on verified good.sav --verify
}

t_default_restore_does_not_read_ram() {
	flip_last_ram_byte bad.sav || return 1
	restore_runs_on plain bad.sav
}

t_cut_in_ram_refused_before_mapping() {
	local d
	copy_good s.sav || return 1
	d=$(ram_data s.sav) || { fail "no EXTENT record"; return 1; }
	truncate -s $((d + (128 << 20))) s.sav
	vmm cut --restore s.sav --serial stdio
	expect_rc cut 1 || return 1
	one_vmm_line cut "truncated" || return 1
	! grep -aq step cut.out || { fail "the guest ran"; return 1; }
}

run_test mapped_layout_sparse_page_aligned t_layout_sparse_page_aligned
run_test mapped_restore_file_unchanged t_restore_maps_guest_continues_file_unchanged
run_test mapped_verify_catches_flipped_ram_byte t_verify_catches_flipped_ram_byte
run_test mapped_default_restore_does_not_read_ram t_default_restore_does_not_read_ram
run_test mapped_cut_in_ram_refused t_cut_in_ram_refused_before_mapping
