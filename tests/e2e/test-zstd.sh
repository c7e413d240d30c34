#!/usr/bin/env bash
# --compress zstd: a save, a live save and a migration of a guest whose RAM
# holds text (fill=text) carry the guest on exactly, and the zstd file is
# much smaller than the uncompressed one of the same guest.
. "$(dirname "$0")/lib.sh"

TEXT_MEM=64M
TEXT_STEPS=$((400 * E2E_SLOW))
# rate=40: once its area is full the guest rewrites 40 MB/s, so ~4 s of
# run are left for a live save or migration to converge after the fill.
TEXT_CMD="steps=$TEXT_STEPS mem=32M fill=text rate=40"
FILL_STEPS=64                   # 32M / (128 pages * 4 KiB): the area is full

# zstd_frames FILE: how many zstd frames (magic 28 B5 2F FD) FILE holds.
zstd_frames() {
	LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$1" | wc -l
}

filled() {
	[ -e "$1" ] && [ "$(last_step "$1")" -gt "$FILL_STEPS" ]
}

# run_filled TAG SIGNAL [ARGS...]: run the text guest (output in TAG.txt)
# and send it SIGNAL once its area is full; its status goes to RC.
run_filled() {
	local tag=$1 sig=$2
	shift 2
	bg_vmm "$tag" --mem "$TEXT_MEM" --cmdline "$TEXT_CMD" --serial "file:$tag.txt" "$@"
	if ! wait_until 60 filled "$tag.txt"; then
		fail "$tag: the guest did not fill its area within 60 s"
		show "$tag.txt"
		return 1
	fi
	bg_kill "$tag" "$sig"
	bg_wait "$tag"
}

# save_text TAG FILE [ARGS...]: save the text guest to FILE once its area
# is full; guest output in TAG.txt.
save_text() {
	local tag=$1 f=$2
	shift 2
	run_filled "$tag" TERM --save "$f" "$@" || return 1
	if [[ " $* " == *" --live "* ]]; then
		expect_rc "$tag" 0 && [ -s "$f" ] && grep -q '^vmm: live-saved: ' "$tag.err" ||
			{ fail "$tag: no live save to $f"; show "$tag.err"; return 1; }
	else
		saved_ok "$tag" "$f" || { show "$tag.txt"; return 1; }
	fi
	if [ "$(last_step "$tag.txt")" -ge "$TEXT_STEPS" ]; then
		fail "$tag: the guest finished before the save"
		return 1
	fi
}

# restore_continues FILE BEFORE: restoring FILE prints the rest of the
# uninterrupted run after BEFORE.
restore_continues() {
	local ref=$1 f=$2 before=$3
	vmm restore --restore "$f" --serial file:after.txt
	expect_rc restore 0 || { show after.txt; return 1; }
	cat "$before" after.txt >all.txt
	check_steps all.txt "$TEXT_STEPS" || return 1
	same_output "$ref" all.txt "$before + after.txt"
}

t_zstd_save() {
	local ref plain z
	ref=$(reference "$TEXT_MEM" "$TEXT_CMD") || return 1
	save_text none none.sav || return 1
	save_text zstd z.sav --compress zstd || return 1
	plain=$(stat -c %s none.sav)
	z=$(stat -c %s z.sav)
	note "uncompressed $plain bytes, zstd $z bytes"
	# 32M of text: ~3x smaller at level 1 (a broken codec, RAW records
	# or a file of zero pages would not be).
	if [ "$z" -ge $((plain / 2)) ]; then
		fail "zstd file is $z bytes, the uncompressed one $plain: not less than half"
		return 1
	fi
	if [ "$(zstd_frames z.sav)" -lt 32 ] || [ "$(zstd_frames none.sav)" -ne 0 ]; then
		fail "z.sav holds $(zstd_frames z.sav) zstd frames (expected one per MiB of text), none.sav $(zstd_frames none.sav)"
		return 1
	fi
	restore_continues "$ref" z.sav zstd.txt
}

# A live save (RAM copied while the guest runs, records compressed by the
# pool in every pass) at a higher level.
t_zstd_live() {
	local ref
	ref=$(reference "$TEXT_MEM" "$TEXT_CMD") || return 1
	# At most 3 live passes: the point is the records of every pass, not
	# convergence, and a loaded host compresses slowly.
	save_text live l.sav --live --compress zstd:3 --max-passes 3 || return 1
	[ "$(zstd_frames l.sav)" -ge 32 ] || { fail "l.sav holds $(zstd_frames l.sav) zstd frames"; return 1; }
	restore_continues "$ref" l.sav live.txt
}

t_zstd_migrate() {
	local ref port
	ref=$(reference "$TEXT_MEM" "$TEXT_CMD") || return 1
	port=$(free_port 47301) || { fail "no free TCP port from 47301"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	run_filled src USR1 --migrate "tcp:127.0.0.1:$port" --compress zstd:-3 \
		--max-passes 3 || return 1
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	cat src.txt b.txt >ab.txt
	check_steps ab.txt "$TEXT_STEPS" || return 1
	same_output "$ref" ab.txt "src.txt + b.txt"
}

t_zstd_usage() {
	vmm bad --save x.sav --compress zstd:20
	expect_rc bad 2 || return 1
	one_vmm_line bad "--compress zstd:20: expected none, zlib\[:1..9\] or zstd\[:-7..19\] \(try --help\)" || return 1
	[ ! -e x.sav ] || fail "a refused command line made x.sav"
}

run_test zstd_save_smaller_and_continues t_zstd_save
run_test zstd_live_save_continues t_zstd_live
run_test zstd_migration_continues t_zstd_migrate
run_test zstd_bad_level_refused t_zstd_usage
