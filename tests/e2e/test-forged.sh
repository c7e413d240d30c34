#!/usr/bin/env bash
# Forged state files: a real state file rewritten by tests/forge/forge with
# one value changed and every CRC recomputed (an attacker who fixes the
# checksums), restored by the ASan+UBSan vmm (build-asan/vmm, `make
# asan-vmm`).  Each case must end one of two ways:
#   refused  non-zero exit, exactly one "vmm: " line naming the unit
#            (file-level framing: the offset, header, directory or footer);
#   ran      the guest ran; the vmm saved it again after 50 ms, the re-saved
#            file restores too, and a forged value outside the field's legal
#            range (forge's table) is not what the re-saved file holds.
#            A re-saved file that is refused passes only when the forged
#            file, run without a save, shuts its guest down by itself (it
#            was saved mid-fault: ran-stopped).
# Never a crash, a hang (CASE_TIMEOUT), a sanitizer report, a refusal that
# names nothing, illegal state kept, or a case forge marks must-refuse
# (reserved fields, mismatched framing, a dropped unit, version 0, bytes
# left over or after the footer, ...) that runs.
#
# By default the CI subset (forge list --ci: every field at least twice,
# of the CPUID table the vendor and compared feature leaves only, every
# structural case; ~1440 cases, 2 at a time, about 5 minutes);
# FORGE_SWEEP=full runs the whole sweep (~28000 cases, well over an hour,
# not within this file's e2e-timeout); FORGE_UNITS=ERE only the
# units it matches ("-" is the file's own framing).  One test per unit, so a
# failure says where; the summary gives the outcomes and the failing
# classes (unit, field, mutation, outcome).
# e2e-timeout: 1500
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF=$ROOT/tests/e2e/test-forged.sh
FORGE=${FORGE:-$(dirname "$VMM")/tests/forge/forge}
FORGE_VMM=${FORGE_VMM:-$ROOT/build-asan/vmm}
CASE_TIMEOUT=${CASE_TIMEOUT:-15}
FORGE_JOBS=${FORGE_JOBS:-2}
SAN_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation|core dumped'
export VMM E2E_CACHE FORGE FORGE_VMM CASE_TIMEOUT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- one case (run by xargs: test-forged.sh --case GOOD N EXPECT MUST) -----

# san_or_crash RC ERR: the outcome word if the run crashed, hung or a
# sanitizer spoke, else nothing.
san_or_crash() {
	local rc=$1 err=$2
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo HANG
	elif grep -aqE "$SAN_RE" "$err"; then echo SANITIZER
	elif [ "$rc" -ge 128 ]; then echo CRASH
	fi
}

# one_line FILE: FILE's first lines as one tab-free line of at most 300 bytes.
one_line() {
	head -n "${2:-3}" "$1" | tr '\t\n' '  ' | cut -c1-300
}

# restore TAG FILE AFTER: the ASan vmm restores FILE and saves it to
# TAG.sav after AFTER of running; RC gets the status, and out/detail the
# outcome if it crashed, hung or a sanitizer spoke.
restore() {
	local tag=$1
	timeout -k 2 "$CASE_TIMEOUT" "$FORGE_VMM" --restore "$2" --serial none \
		--save "$d/$tag.sav" --save-after "$3" </dev/null >"$d/$tag.out" 2>"$d/$tag.err"
	RC=$?
	out=$(san_or_crash "$RC" "$d/$tag.err")
	[ -n "$out" ] || return 1
	grep -aE "$SAN_RE|^vmm:" "$d/$tag.err" >"$d/e"
	detail="$tag: exit $RC: $(one_line "$d/e")"
}

# dies_alone FILE: restored without a save, the guest shuts itself down
# (triple fault) within CASE_TIMEOUT and nothing else goes wrong.
dies_alone() {
	timeout -k 2 "$CASE_TIMEOUT" "$FORGE_VMM" --restore "$1" --serial none \
		</dev/null >"$d/alone.out" 2>"$d/alone.err"
	[ -z "$(san_or_crash $? "$d/alone.err")" ] &&
		grep -aq '^vmm: guest reset the CPU' "$d/alone.err"
}

# run_case GOOD N EXPECT MUST: print "N<TAB>outcome<TAB>detail".
run_case() {
	local good=$1 n=$2 expect=$3 must=$4 d rc lines kept out detail
	d=$(mktemp -d "${TMPDIR:-/tmp}/forged.XXXXXX") || { printf '%s\tERROR\tmktemp\n' "$n"; return; }
	if ! "$FORGE" make "$good" "$n" "$d/case.sav" 2>"$d/forge.err"; then
		printf '%s\tERROR\tforge make: %s\n' "$n" "$(one_line "$d/forge.err")"
		rm -rf "$d"
		return
	fi
	restore again "$d/case.sav" 50ms
	rc=$RC
	if [ -n "$out" ]; then
		:
	elif ! grep -aq '^vmm: restored from ' "$d/again.err"; then
		lines=$(wc -l <"$d/again.err")
		out=UNNAMED
		if [ "$rc" -eq 0 ]; then
			detail="exit 0 without restoring"
		elif [ "$lines" -ne 1 ] || ! grep -aq '^vmm: ' "$d/again.err"; then
			detail="$lines lines on stderr: $(one_line "$d/again.err")"
		elif ! grep -aqiE -e "$expect" "$d/again.err"; then
			detail="does not name /$expect/: $(one_line "$d/again.err")"
		else
			out=refused
			detail=$(one_line "$d/again.err")
		fi
	elif [ ! -s "$d/again.sav" ] || ! grep -aq '^vmm: saved to ' "$d/again.err"; then
		detail="exit $rc: $(grep -a '^vmm:' "$d/again.err" | tail -n 2 | tr '\t\n' '  ' | cut -c1-300)"
		if [ "$rc" -ne 0 ] && grep -aqiE 'save|saving' "$d/again.err"; then
			out=RESAVE-FAILED
		else
			# The guest stopped by itself (power-off, triple fault) before
			# the save: it ran on what the file gave it, and the vmm shut
			# down cleanly.
			out=ran-stopped
		fi
	else
		kept=$("$FORGE" kept "$good" "$n" "$d/again.sav" 2>&1)
		rc=$?
		if [ $rc -eq 1 ]; then
			out=KEPT
			detail=$(printf '%s' "$kept" | tr '\t\n' '  ')
		elif restore third "$d/again.sav" 10ms; then
			detail="re-saved file, $detail"
		elif ! grep -aq '^vmm: restored from ' "$d/third.err"; then
			out=RESAVE-REFUSED
			detail=$(one_line "$d/third.err" 2)
			# A guest the forged value dooms (e.g. a GDT base that
			# faults the next segment load) may be saved mid-fault,
			# in a state KVM reports but no restore may take.  It
			# ran on what the file gave it and dies by itself.
			if dies_alone "$d/case.sav"; then
				out=ran-stopped
				detail="re-saved mid-fault state refused, the guest then shuts itself down: $detail"
			fi
		else
			out=ran-legal
			detail=$(printf '%s' "$kept" | head -n 1 | tr '\t' ' ')
		fi
	fi
	# A value the format or the VM's units require refused ran anyway.
	case $out in
	ran-*|KEPT|RESAVE-*) [ "$must" = 1 ] && { detail="ran ($out) although it must be refused: $detail"; out=ACCEPTED; } ;;
	esac
	printf '%s\t%s\t%s\n' "$n" "$out" "$detail"
	rm -rf "$d"
}

if [ "${1:-}" = --case ]; then
	run_case "$2" "$3" "$4" "$5"
	exit 0
fi

# ---- the sweep ---------------------------------------------------------------

FAIL_RE='^(HANG|CRASH|SANITIZER|UNNAMED|KEPT|ACCEPTED|RESAVE-FAILED|RESAVE-REFUSED|ERROR)$'

# The state file every case starts from, and the case list, made once.
forged_setup() {
	local f=$E2E_CACHE/forged-good.sav
	if [ ! -x "$FORGE" ]; then
		fail "$FORGE is missing (make unit-bins)"
		return 1
	fi
	if [ ! -x "$FORGE_VMM" ]; then
		fail "$FORGE_VMM is missing (make asan-vmm builds the ASan+UBSan vmm)"
		return 1
	fi
	if [ ! -s "$f" ]; then
		vmm good --mem 8M --cmdline "steps=100000 mem=2M" --serial none \
			--save "$f.tmp" --save-after 300ms
		saved_ok good "$f.tmp" || return 1
		mv "$f.tmp" "$f"
	fi
	if [ ! -s "$E2E_CACHE/forged-cases.txt" ]; then
		if [ "${FORGE_SWEEP:-ci}" = full ]; then
			"$FORGE" list "$f" >"$E2E_CACHE/forged-cases.txt" 2>forge.err
		else
			"$FORGE" list --ci "$f" >"$E2E_CACHE/forged-cases.txt" 2>forge.err
		fi || { fail "forge list failed"; show forge.err; return 1; }
	fi
	echo "$f"
}

# sweep UNIT: run the listed cases of UNIT ("-": the file's own framing),
# FORGE_JOBS at a time; results in results.txt (N, outcome, detail).
# FORGE_UNITS (an ERE) limits the sweep to the units it matches.
sweep() {
	local good pat=$1 t0
	if [ -n "${FORGE_UNITS:-}" ] && ! printf '%s\n' "$pat" | grep -qE -e "$FORGE_UNITS"; then
		skip "FORGE_UNITS=$FORGE_UNITS"
		return 0
	fi
	good=$(forged_setup) || return 1
	awk -F'\t' -v u="$pat" '$3 == u' "$E2E_CACHE/forged-cases.txt" >cases.txt
	[ -s cases.txt ] || { fail "no cases for unit $pat"; return 1; }
	t0=$(date +%s)
	awk -F'\t' '{ print $1; print $6; print $7 }' cases.txt |
		xargs -d '\n' -n 3 -P "$FORGE_JOBS" bash "$SELF" --case "$good" \
		>results.txt 2>sweep.err
	# Outcomes joined with the case descriptions: N outcome unit field what detail.
	awk -F'\t' 'NR == FNR { c[$1] = $3 "\t" $4 "\t" $5; next }
		{ print $1 "\t" $2 "\t" c[$1] "\t" $3 }' cases.txt results.txt | sort -n >joined.txt
	summarize "$pat" "$(($(date +%s) - t0))"
}

summarize() {
	local pat=$1 secs=$2 want got nfail
	want=$(wc -l <cases.txt)
	got=$(wc -l <joined.txt)
	echo "  forged [$pat]: $got of $want cases in ${secs} s:" \
		"$(cut -f2 joined.txt | sort | uniq -c | awk '{ printf "%s %s, ", $1, $2 }' | sed 's/, $//')"
	# Informational: the unit is required, the field is hoped for.
	awk -F'\t' '$2 == "refused" { m++; f = $4; sub(/.*\./, "", f); sub(/[[+].*/, "", f)
		if (f != "" && f !~ /^\(/ && index($6, f)) k++ }
		END { if (m) printf "  forged [%s]: %d of %d refusals also name the field\n", p, k, m }' \
		p="$pat" joined.txt
	cat joined.txt >>"$E2E_CACHE/forged-results.txt"
	if [ "$got" -ne "$want" ]; then
		fail "$((want - got)) of $want cases gave no result"
		show sweep.err
	fi
	nfail=$(awk -F'\t' -v re="$FAIL_RE" '$2 ~ re' joined.txt | wc -l)
	if [ "$nfail" -gt 0 ]; then
		fail "$nfail of $want forged cases failed ($(awk -F'\t' -v re="$FAIL_RE" \
			'$2 ~ re { print $2 }' joined.txt | sort | uniq -c |
			awk '{ printf "%s %s, ", $1, $2 }' | sed 's/, $//'))"
		note "--- failing classes (outcome unit field: cases, first mutation / message) ---"
		awk -F'\t' -v re="$FAIL_RE" '$2 ~ re {
			k = $2 "\t" $3 "\t" $4
			if (!(k in n)) { order[++m] = k; first[k] = $5 " | " $6 }
			n[k]++
		} END { for (i = 1; i <= m; i++) { k = order[i]; split(k, a, "\t")
			printf "%s %s %s: %d: %s\n", a[1], a[2], a[3], n[k], substr(first[k], 1, 220) } }' \
			joined.txt >>"$TDIR/.details"
	fi
	return 0
}

# The tool itself: the unchanged, re-encoded file restores and runs legally,
# and a forged value outside its range is caught by `forge kept` (so the
# KEPT outcome can fail).
t_forge_base() {
	local good line n
	good=$(forged_setup) || return 1
	line=$(bash "$SELF" --case "$good" 0 'x' 0)
	case $line in
	*$'\t'ran-legal$'\t'*) ;;
	*) fail "the re-encoded unchanged file does not restore and re-save: $line"; return 1 ;;
	esac
	n=$(awk -F'\t' '$3 == "pic" && $4 == "chip[0].priority_add" && $5 ~ /first illegal/ { print $1; exit }' \
		"$E2E_CACHE/forged-cases.txt")
	[ -n "$n" ] || { fail "no priority_add case in the list"; return 1; }
	"$FORGE" make "$good" "$n" forged.sav || { fail "forge make $n failed"; return 1; }
	if "$FORGE" kept "$good" "$n" forged.sav >kept.out 2>&1; then
		fail "forge kept does not see its own forged value in the forged file"
		show kept.out
		return 1
	fi
	"$FORGE" kept "$good" "$n" "$good" >kept.out 2>&1 ||
		{ fail "forge kept reports the original value as kept"; show kept.out; }
}

t_forged_framing()  { sweep -; }
t_forged_machine()  { sweep machine; }
t_forged_pic()      { sweep pic; }
t_forged_pit()      { sweep pit; }
t_forged_serial()   { sweep serial; }
t_forged_ram()      { sweep ram; }
t_forged_cpu()      { sweep cpu; }
t_forged_backend()  { sweep serial-backend; }
t_forged_fwcfg()    { sweep fw-cfg; }

t_forged_summary() {
	local r=$E2E_CACHE/forged-results.txt
	[ -s "$r" ] || { skip "no results"; return 0; }
	echo "  forged total: $(wc -l <"$r") cases:" \
		"$(cut -f2 "$r" | sort | uniq -c | awk '{ printf "%s %s, ", $1, $2 }' | sed 's/, $//')"
	if [ -n "${FORGE_RESULTS:-}" ]; then
		cp "$r" "$FORGE_RESULTS"
		echo "  forged: per-case results in $FORGE_RESULTS"
	fi
}

run_test forge-base t_forge_base
run_test forged-framing t_forged_framing
run_test forged-machine t_forged_machine
run_test forged-pic t_forged_pic
run_test forged-pit t_forged_pit
run_test forged-serial t_forged_serial
run_test forged-ram t_forged_ram
run_test forged-fw-cfg t_forged_fwcfg
run_test forged-cpu t_forged_cpu
run_test forged-serial-backend t_forged_backend
run_test forged-summary t_forged_summary
