#!/usr/bin/env bash
# vmm inspect, vmm verify and vmm schema on a state file the vmm saved (and
# on the golden files of tests/data): the table of units, JSON that parses
# with the documented keys, --unit cpu:0 fields that match the guest's
# state and a value forged into the file, verify accepting good files and
# refusing a damaged byte or a forged value with one line naming the unit,
# schema --check against the committed dump and against one with a field
# removed, and bad arguments (exit 2) / bad files (exit 1) without a crash.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FORGE=$(dirname "$VMM")/tests/tools/cpu_forge
MEM=32M
CMD="steps=100000 mem=8M"

good_file() { cached_save inspect-good "$MEM" "$CMD"; }

# one_tool_line TAG TOOL PATTERN: stderr is one line "vmm TOOL: ..."
# matching the extended regex PATTERN.
one_tool_line() {
	local tag=$1 tool=$2 pat=$3 n
	n=$(wc -l <"$tag.err")
	if [ "$n" -ne 1 ] || ! grep -q "^vmm $tool: " "$tag.err"; then
		fail "$tag: expected one 'vmm $tool: ' line on stderr, got $n lines"
		show "$tag.err"
		return 1
	fi
	grep -qE -e "$pat" "$tag.err" && return 0
	fail "$tag: message does not say /$pat/: $(head -c 300 "$tag.err")"
	return 1
}

t_table() {
	local f
	f=$(good_file) || return 1
	vmm insp inspect "$f"
	expect_rc insp 0 || return 1
	for u in machine $CHIP_UNITS serial ram cpu serial-backend; do
		grep -qE "^$u +0 +[a-z]+ +[0-9]+ +final .* ok$" insp.out ||
			{ fail "no ok line for unit $u"; show insp.out; return 1; }
	done
	grep -q '^machine    RAM 32M' insp.out && grep -q '^cmdline    "steps=100000 mem=8M"' insp.out &&
		grep -q '^parent     none' insp.out ||
		{ fail "header facts missing or wrong"; show insp.out; return 1; }
}

t_json() {
	local f
	f=$(good_file) || return 1
	vmm insp inspect --json "$f"
	expect_rc insp 0 || return 1
	python3 -m json.tool insp.out >/dev/null || { fail "--json output is not JSON"; show insp.out; return 1; }
	python3 - insp.out "$f" <<'EOF' >check.txt 2>&1 || { fail "JSON content: $(tail -1 check.txt)"; return 1; }
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["file"] == sys.argv[2], d["file"]
assert d["format"] == {"major": 1, "minor": 1}, d["format"]
assert d["host"]["bits"] == 64 and d["host"]["endian"] == "little"
assert d["created"] is None and d["parent"] is None
m = d["machine"]
assert m["ram_size"] == 32 << 20 and m["cmdline"] == "steps=100000 mem=8M", m
names = [u["name"] for u in d["units"]]
# Save order: the user chips are devices; KVM's are after the vCPUs they
# load into (docs/architecture.md, the restore order).
if os.environ.get("E2E_IRQCHIP", "user") == "kernel":
    want = ["machine", "serial", "fw-cfg", "ram", "cpu", "lapic", "kvm-pic", "ioapic", "kvm-pit",
            "serial-backend"]
else:
    want = ["machine", "pic", "pit", "serial", "fw-cfg", "ram", "cpu", "serial-backend"]
assert names == want, names
for u in d["units"]:
    assert u["checksum"] == "ok" and u["pass"] == "final", u
    assert u["stored_bytes"] > 0 and u["records"] >= 1, u
ram = [u for u in d["units"] if u["name"] == "ram"][0]
# A plain save's RAM is one page-aligned extent (docs/format.md).
assert ram["data_len"] == 9 + (32 << 20) and "extent" in ram["compression"], ram
# Each record: its header, data records and END (32 bytes) before the next.
us = d["units"]
for a, b in zip(us, us[1:]):
    assert a["offset"] + a["stored_bytes"] <= b["offset"], (a, b)
for u in us:
    assert u["stored_bytes"] >= 44 + len(u["name"]) + 32 + 16 * u["records"], u
assert us[-1]["offset"] + us[-1]["stored_bytes"] + 44 + 32 <= d["size"]
EOF
}

# The guest runs in 64-bit mode: what --unit cpu:0 shows must say so.
t_unit_cpu() {
	local f
	f=$(good_file) || return 1
	vmm cpu inspect "$f" --unit cpu:0 --json
	expect_rc cpu 0 || return 1
	python3 - cpu.out <<'EOF' >check.txt 2>&1 || { fail "cpu fields: $(tail -1 check.txt)"; return 1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unit"] == "cpu" and d["instance"] == 0 and d["version"] == 2, d
v = {f["name"]: f for f in d["fields"]}
def val(n): return int(v[n]["hex"], 16)
assert val("cs.l") == 1 and val("cs.db") == 0, "cs not a 64-bit code segment"
assert val("control.efer") & 0x500 == 0x500, "EFER.LME/LMA not set"
assert val("control.cr0") & 0x80000001 == 0x80000001, "CR0.PG/PE not set"
assert val("control.cr4") & 0x20, "CR4.PAE not set"
assert val("mp_state") == 0 and val("xsave.len") >= 4096, "mp_state/xsave"
assert val("cpuid[0].function") == 0 and val("tsc_khz") > 1000, "cpuid/tsc"
assert len([n for n in v if n.startswith("regs.")]) == 18
EOF
	# Text form: one aligned line per field.
	vmm cput inspect "$f" --unit cpu
	expect_rc cput 0 || return 1
	grep -qE '^  regs\.rip +0x[0-9a-f]+ ' cput.out || { fail "no regs.rip line"; show cput.out; return 1; }
	# A value forged into the file (CRCs recomputed) is the value shown.
	[ -x "$FORGE" ] || { fail "$FORGE missing (make all builds it)"; return 1; }
	"$FORGE" "$f" forged.sav regs.rip=0x1234567 || { fail "cpu_forge failed"; return 1; }
	vmm cpuf inspect forged.sav --unit cpu
	expect_rc cpuf 0 || return 1
	grep -qE '^  regs\.rip +0x1234567 +19088743$' cpuf.out ||
		{ fail "forged rip not shown"; show cpuf.out; return 1; }
}

t_units_without_tables() {
	local f
	f=$(good_file) || return 1
	vmm ram inspect "$f" --unit ram
	expect_rc ram 0 || return 1
	grep -qE '^  pages +0x2000 +8192$' ram.out && grep -qE '^  zero_pages ' ram.out ||
		{ fail "ram summary wrong"; show ram.out; return 1; }
	vmm mach inspect "$f" --unit machine
	expect_rc mach 0 || return 1
	grep -qE '^  ram_size +0x2000000 ' mach.out && grep -q '"steps=100000 mem=8M"' mach.out ||
		{ fail "machine fields wrong"; show mach.out; return 1; }
	# A live file's ram record of the final pass is page runs.
	vmm live inspect "$ROOT/tests/data/live.sav" --unit ram
	expect_rc live 0 || return 1
	grep -qE '^  kind +0x1 ' live.out && grep -qE '^  runs +0x[1-9a-f]' live.out ||
		{ fail "live ram runs not shown"; show live.out; return 1; }
}

t_verify_good() {
	local f g
	f=$(good_file) || return 1
	for g in "$f" "$ROOT"/tests/data/*.sav; do
		vmm ver verify "$g"
		expect_rc ver 0 || return 1
		grep -q ': ok$' ver.out || { fail "no ok line for $g"; show ver.out; return 1; }
	done
}

t_verify_damaged() {
	local f off
	f=$(good_file) || return 1
	cp "$f" bad.sav
	off=$(unit_offset bad.sav cpu) || { fail "no cpu unit"; return 1; }
	flip_byte bad.sav $((off + 200))
	vmm ver verify bad.sav
	expect_rc ver 1 || return 1
	one_tool_line ver verify "CRC.*unit 'cpu'" || return 1
	vmm insp inspect bad.sav
	expect_rc insp 1 || return 1
	grep -qE '^cpu .* bad$' insp.out || { fail "inspect does not mark cpu bad"; show insp.out; return 1; }
}

# CRCs right, value wrong: the restore's own check refuses it, naming it.
t_verify_forged() {
	local f
	f=$(good_file) || return 1
	[ -x "$FORGE" ] || { fail "$FORGE missing (make all builds it)"; return 1; }
	"$FORGE" "$f" bad.sav mp_state=9 || { fail "cpu_forge failed"; return 1; }
	vmm ver verify bad.sav
	expect_rc ver 1 || return 1
	one_tool_line ver verify "cpu: .*mp_state.*offset" || return 1
	"$FORGE" "$f" bad2.sav sregs.efer=0xffffffffffffffff || { fail "cpu_forge failed"; return 1; }
	vmm ver2 verify bad2.sav
	expect_rc ver2 1 || return 1
	one_tool_line ver2 verify "cpu: .*efer" || return 1
	# Version 1 (no CPUID saved): the rules no CPUID relaxes still hold.
	"$FORGE" "$f" v1.sav version=1 || { fail "cpu_forge version=1 failed"; return 1; }
	vmm ver3 verify v1.sav
	expect_rc ver3 0 || return 1
	"$FORGE" "$f" bad3.sav version=1 sregs.cs.db=1 || { fail "cpu_forge failed"; return 1; }
	vmm ver4 verify bad3.sav
	expect_rc ver4 1 || return 1
	one_tool_line ver4 verify "cpu: .*cs" || return 1
}

t_schema() {
	vmm sch schema --json
	expect_rc sch 0 || return 1
	python3 -m json.tool sch.out >/dev/null || { fail "schema --json is not JSON"; return 1; }
	cmp -s sch.out "$ROOT/tests/data/schema.json" ||
		{ fail "tests/data/schema.json is stale (regenerate: vmm schema --json)"; return 1; }
	vmm chk schema --check "$ROOT/tests/data/schema.json"
	expect_rc chk 0 || return 1
	python3 - sch.out <<'EOF' >old.json || { fail "crafting old.json failed"; return 1; }
import json, sys
d = json.load(open(sys.argv[1]))
pit = [u for u in d["units"] if u["name"] == "pit"][0]
pit["tables"][0]["fields"].append({"name": "ch[3].count", "type": "none", "offset": 0,
    "size": 4, "stored": 4, "pad32": 0, "pad64": 0})
json.dump(d, sys.stdout)
EOF
	vmm chk2 schema --check old.json
	expect_rc chk2 1 || return 1
	grep -q '^pit.state: field ch\[3\].count removed without a version bump$' chk2.out ||
		{ fail "removed field not reported"; show chk2.out; return 1; }
	vmm txt schema
	expect_rc txt 0 || return 1
	grep -qE '^cpu \(internal\), version [0-9]+, loads [0-9]+\.\.[0-9]+$' txt.out ||
		{ fail "text form lacks the cpu line"; show txt.out; return 1; }
}

t_bad_input() {
	local what
	printf 'not a state file at all, not even close, but long enough to look' >junk.sav
	vmm a inspect;                       expect_rc a 2 || return 1; one_tool_line a inspect 'no FILE' || return 1
	vmm b inspect x.sav --unit ':';      expect_rc b 2 || return 1
	vmm c verify a.sav b.sav;            expect_rc c 2 || return 1; one_tool_line c verify 'one FILE' || return 1
	vmm d schema --bogus;                expect_rc d 2 || return 1
	vmm e verify junk.sav;               expect_rc e 1 || return 1; one_tool_line e verify 'not a saved-state file' || return 1
	vmm f inspect junk.sav;              expect_rc f 1 || return 1; one_tool_line f inspect 'not a saved-state file' || return 1
	vmm g inspect /nonexistent.sav;      expect_rc g 1 || return 1; one_tool_line g inspect 'No such file' || return 1
	echo '{"schema": 1, "units": [{"name": 7}]}' >bad.json
	vmm h schema --check bad.json;       expect_rc h 1 || return 1; one_tool_line h schema 'old dump' || return 1
	for what in "$ROOT"/tests/data/live.sav; do
		vmm i inspect "$what" --unit nosuch:0
		expect_rc i 1 || return 1
		one_tool_line i inspect "no unit 'nosuch'" || return 1
	done
}

run_test inspect_table t_table
run_test inspect_json t_json
run_test inspect_unit_cpu t_unit_cpu
run_test inspect_units_without_tables t_units_without_tables
run_test verify_good_files t_verify_good
run_test verify_damaged_byte t_verify_damaged
run_test verify_forged_value t_verify_forged
run_test schema_dump_and_check t_schema
run_test tools_bad_input t_bad_input
