#!/usr/bin/env bash
# RAM above 4 GiB (docs/architecture.md, "Guest memory map"): a 16 GiB
# guest whose churn area is 1 GiB spread over both sides of the hole (512M
# below 3 GiB, 512M from 4 GiB) is saved, restored, live-saved and live-
# migrated, and must carry on exactly.  The test kernel folds each page's
# old contents into its checksum when it rewrites the page and probes a
# random word of the area every page, so a page above 4 GiB that the save,
# the dirty log of the high slot or the restore got wrong turns up as a
# wrong "step N sum" line once the guest comes round to it again (the
# save lands after the area was filled, and the guest then rewrites all of
# it before it ends).  Untouched RAM costs nothing (MAP_NORESERVE) and is
# saved as zero runs: the file holds the 1 GiB, not 16.  The edges: the
# last page of a 64 GiB guest, 1M above the hole, and a state file asking
# for 1 TiB, refused before anything is allocated.
# e2e-timeout: 400
. "$(dirname "$0")/lib.sh"

FORGE=${FORGE:-$(dirname "$VMM")/tests/forge/forge}
BM_MEM=16G
BM_STEPS=$((700 * E2E_SLOW))
# 1024 pages (4 MiB) a step, one mixing round a word: the 1 GiB is filled
# by step 256, in a second or two rather than the default workload's ten.
BM_CMD="steps=$BM_STEPS at=2560M mem=1G pages=1024 rounds=1 check=1"
BM_AT=320                       # save/migrate once this step was printed
BANNER_RE='^ssm test kernel 1: ram 16G, churn 1G at 0xa0000000 \(512M\) \+ 0x100000000 \(512M\),'

# info TEXT: a figure for the log (not a result line).
info() {
	echo "  info: $*"
}

# banner_ok FILE [ERE]: the guest says its area spans the hole as intended
# (else the test would prove nothing about RAM above 4 GiB).
banner_ok() {
	if ! grep -aqE "${2:-$BANNER_RE}" "$1"; then
		fail "$1: the guest's churn area is not 512M below 3 GiB + 512M from 4 GiB"
		show "$1"
		return 1
	fi
}

# joined_ok REF: a.txt + b.txt is the uninterrupted run REF, and a.txt
# ends after the area was filled, early enough for the rest to revisit it.
joined_ok() {
	local n
	n=$(last_step a.txt)
	if [ "$n" -lt 257 ] || [ "$n" -gt $((BM_STEPS - 256)) ]; then
		fail "a.txt ends at step $n: need 257..$((BM_STEPS - 256)) (area filled, then revisited)"
		return 1
	fi
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$BM_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$1" ab.txt "a.txt + b.txt" || return 1
}

# stop_at TAG SIGNAL [FILE STEP]: send SIGNAL to the background vmm TAG once
# its guest printed step STEP (default BM_AT) to FILE (default a.txt).
stop_at() {
	if ! wait_until 120 has_line "${3:-a.txt}" "^step ${4:-$BM_AT} "; then
		fail "$1: the guest did not reach step ${4:-$BM_AT}"
		show "${3:-a.txt}"
		show "$1.err"
		return 1
	fi
	bg_kill "$1" "$2"
}

# size_ok FILE: the state file holds the touched 1 GiB and not the zeros:
# on disk (a plain save's RAM is a sparse extent, its zero pages holes, so
# its length is that of the whole RAM).
size_ok() {
	local bytes disk
	bytes=$(stat -c %s "$1")
	disk=$(($(stat -c %b "$1") * $(stat -c %B "$1")))
	if [ "$disk" -lt $((1 << 30)) ] || [ "$disk" -gt $(((1 << 30) + (64 << 20))) ]; then
		fail "$1 takes $disk bytes on disk: expected the 1 GiB touched plus little"
		return 1
	fi
	info "$1: $bytes bytes, $disk on disk"
}

# 1. Save (SIGTERM) and restore of the 16 GiB guest.
t_save_restore() {
	local ref
	ref=$(reference "$BM_MEM" "$BM_CMD") || return 1
	banner_ok "$ref" || return 1
	bg_vmm save --mem "$BM_MEM" --cmdline "$BM_CMD" --serial file:a.txt --save s.sav
	stop_at save TERM || return 1
	bg_wait save
	saved_ok save s.sav || return 1
	size_ok s.sav || return 1
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || { show b.txt; return 1; }
	joined_ok "$ref" || return 1
	info "16G guest, 1G touched: $(grep -ao 'saved to s.sav in [0-9.]* s' save.err)," \
		"$(grep -ao 'restored from s.sav in [0-9.]* s' restore.err)"
}

# The live cases: a guest that runs until stopped (steps=0), 256M spread
# over the hole (128M each side), 1 MiB a step: how long a live pass over
# 16 GiB takes depends on the host's load, and the guest must still be
# running when it ends.
LV_CMD="at=2944M mem=256M pages=256 rounds=1"
LV_BANNER_RE='^ssm test kernel 1: ram 16G, churn 256M at 0xb8000000 \(128M\) \+ 0x100000000 \(128M\),'
LV_AT=300                       # the area is full from step 256
LV_MORE=300                     # steps compared after the save point

# first_step FILE: the number of FILE's first whole step line.
first_step() {
	steps_of "$1" | head -n1 | awk '{ print $2 }'
}

# quit_at TAG FILE STEP: once FILE shows step STEP, quit the background
# vmm TAG without a save (SIGQUIT: exit 131).
quit_at() {
	if ! wait_until 120 has_line "$2" "^step $3 "; then
		fail "$1: the guest did not reach step $3"
		show "$2"
		show "$1.err"
		return 1
	fi
	bg_kill "$1" QUIT
	bg_wait "$1"
	if [ "$RC" -ne 131 ] || grep -aqE 'Sanitizer|runtime error:' "$1.err"; then
		fail "$1: exit $RC after SIGQUIT, expected 131"
		show "$1.err"
		return 1
	fi
}

# same_steps A B FROM TO: steps FROM..TO (ticks aside) are the same in A
# and B, and both have all of them.
same_steps() {
	local a b
	a=$(steps_of "$1" | awk -v f="$3" -v t="$4" '$2 >= f && $2 <= t')
	b=$(steps_of "$2" | awk -v f="$3" -v t="$4" '$2 >= f && $2 <= t')
	if [ "$(printf '%s\n' "$a" | grep -c .)" -ne $(($4 - $3 + 1)) ] || [ "$a" != "$b" ]; then
		fail "steps $3..$4 of $2 are not those of $1"
		note "--- first differences (< $1, > $2) ---"
		diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -n 12 >>"$TDIR/.details"
		return 1
	fi
}

# 2. A live save with --continue (RAM copied while the guest runs, the
# pages dirtied meanwhile, in both slots, taken from the dirty log in later
# passes): the source runs on and is the reference; the file, restored,
# must carry on from the save point exactly as the source did.
t_live_save() {
	local s
	bg_vmm save --mem "$BM_MEM" --cmdline "$LV_CMD" --serial file:a.txt --save s.sav \
		--live --continue --max-passes 4
	if ! wait_until 120 has_line a.txt "^step $LV_AT "; then
		fail "save: the guest did not reach step $LV_AT"
		show a.txt
		show save.err
		return 1
	fi
	banner_ok a.txt "$LV_BANNER_RE" || return 1
	bg_kill save TERM
	if ! wait_until 240 has_line save.err '^vmm: live-saved: '; then
		fail "save: no 'vmm: live-saved:' line"
		show save.err
		return 1
	fi
	vmm_bg_restore s.sav || return 1
	s=$(first_step b.txt)
	if [ -z "$s" ] || [ "$s" -le "$LV_AT" ]; then
		fail "the restored guest goes on at step ${s:-?}, not after step $LV_AT"
		show b.txt
		return 1
	fi
	quit_at restore b.txt $((s + LV_MORE)) || return 1
	quit_at save a.txt $((s + LV_MORE)) || return 1
	same_steps a.txt b.txt "$s" $((s + LV_MORE)) || { show save.err; return 1; }
	info "$(grep -a '^vmm: live-saved: ' save.err | cut -c1-240)"
}

# vmm_bg_restore FILE: restore FILE in the background (tag restore, output
# b.txt), waited for until it printed a step.
vmm_bg_restore() {
	bg_vmm restore --restore "$1" --serial file:b.txt
	if ! wait_until 120 has_line b.txt "^$STEP_RE"; then
		fail "restore: the restored guest printed no step"
		show restore.err
		return 1
	fi
}

# 3. Live migration to a second vmm on this host, checked against an
# uninterrupted run of as many steps.
t_migrate() {
	local ref port s k
	port=$(free_port $((47900 + RANDOM % 300))) || { fail "no free TCP port"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	bg_vmm src --mem "$BM_MEM" --cmdline "$LV_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --max-passes 4
	stop_at src USR1 a.txt "$LV_AT" || return 1
	bg_wait src
	expect_rc src 0 || { show dst.err; return 1; }
	if ! grep -aq '^vmm: migrated: ' src.err; then
		fail "src: no 'vmm: migrated:' summary"
		show src.err
		return 1
	fi
	s=$(first_step b.txt)
	[ -n "$s" ] || wait_until 60 has_line b.txt "^$STEP_RE"
	s=$(first_step b.txt)
	if [ -z "$s" ] || [ "$s" -le "$LV_AT" ]; then
		fail "the destination goes on at step ${s:-?}, not after step $LV_AT"
		show b.txt
		show dst.err
		return 1
	fi
	k=$((s + LV_MORE))
	quit_at dst b.txt "$k" || return 1
	ref=$(reference "$BM_MEM" "steps=$k $LV_CMD") || return 1
	cat a.txt b.txt | awk -v k="$k" '{ print } $1 == "step" && $2 == k { exit }' >ab.txt
	check_steps ab.txt "$k" || { show a.txt; show b.txt; return 1; }
	# The banners differ in "steps N"; the steps must not.
	same_steps "$ref" ab.txt 1 "$k" || { show src.err; return 1; }
	info "$(grep -a '^vmm: migrated: ' src.err | head -n1 | cut -c1-240)"
}

# 4. The edges of the map: the top 4 MiB of a 64 GiB guest (GPA 65 GiB -
# 4 MiB up: the last page directory), and a guest 1M over 3 GiB whose
# area runs from below the hole into that last 1M.
t_edges() {
	vmm top --mem 64G --cmdline "steps=20 at=66556M mem=1G" --serial file:top.txt
	expect_rc top 0 || { show top.txt; return 1; }
	grep -aq '^ssm test kernel 1: ram 64G, churn 4M at 0x103fc00000,' top.txt ||
		{ fail "64G: the area is not the top 4 MiB"; show top.txt; return 1; }
	check_steps top.txt 20 || return 1
	vmm odd --mem 3073M --cmdline "steps=20 at=3070M mem=8M" --serial file:odd.txt
	expect_rc odd 0 || { show odd.txt; return 1; }
	grep -aq '^ssm test kernel 1: ram 3073M, churn 3M at 0xbfe00000 (2M) + 0x100000000 (1M),' \
		odd.txt || { fail "3073M: the area is not 2M + 1M around the hole"; show odd.txt; return 1; }
	check_steps odd.txt 20 || return 1
	vmm big --mem 65G
	expect_rc big 2 || return 1
	one_vmm_line big '--mem 65G: need a multiple of 1M from 4M to 64G' || return 1
}

# 5. A state file whose machine unit asks for 1 TiB + 64 MiB (every CRC
# fixed up): refused by name with the bound, before any RAM is set up (the
# refusal is the configuration check's, not an allocation's), and the same
# for the first size past 64 GiB.
t_huge_refused() {
	local good n what want
	[ -x "$FORGE" ] || { fail "$FORGE is missing (make unit-bins)"; return 1; }
	good=$(cached_save bigmem-small 64M "steps=100000 mem=8M") || return 1
	"$FORGE" list "$good" >cases.txt 2>forge.err || { fail "forge list failed"; show forge.err; return 1; }
	# mutation (forge list's wording) = the size the forged file asks for
	for what in 'byte \+1 \(data offset 5\)=1099578736640' \
		    'set to its first illegal value=68719476737'; do
		want=${what##*=}
		what=${what%=*}
		n=$(awk -F'\t' -v w="^$what" '$3 == "machine" && $4 == "ram_size" && $5 ~ w { print $1; exit }' cases.txt)
		[ -n "$n" ] || { fail "forge has no machine ram_size case /$what/"; return 1; }
		"$FORGE" make "$good" "$n" huge.sav 2>forge.err || { fail "forge make $n failed"; show forge.err; return 1; }
		vmm huge --restore huge.sav --serial none
		expect_rc huge 1 || return 1
		one_vmm_line huge "machine: field ram_size $want is not a multiple of 1M from 4M to 64G" ||
			return 1
	done
}

run_test bigmem_save_restore t_save_restore
run_test bigmem_live_save t_live_save
run_test bigmem_migrate t_migrate
run_test bigmem_edges t_edges
run_test bigmem_huge_refused t_huge_refused
