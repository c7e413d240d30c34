#!/usr/bin/env bash
# Five save/restore cycles in a row, each restore saving again to the same
# path, end with the same output as a run that was never interrupted.
. "$(dirname "$0")/lib.sh"

CYCLES=5

t_chain() {
	local ref i prev=0 n all=()
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	vmm seg0 --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:out0.txt \
		--save s.sav --save-after 250ms
	saved_ok seg0 s.sav || { show out0.txt; return 1; }
	all+=(out0.txt)
	for i in $(seq 1 $((CYCLES - 1))); do
		cp s.sav prev.sav
		vmm "seg$i" --restore s.sav --serial "file:out$i.txt" --save s.sav --save-after 250ms
		saved_ok "seg$i" s.sav || { show "out$i.txt"; return 1; }
		if cmp -s s.sav prev.sav; then
			fail "seg$i: s.sav was not replaced by the new save"
			return 1
		fi
		all+=("out$i.txt")
	done
	vmm final --restore s.sav --serial "file:out$CYCLES.txt"
	expect_rc final 0 || { show "out$CYCLES.txt"; return 1; }
	all+=("out$CYCLES.txt")
	cat "${all[@]}" >all.txt
	# Every segment must have moved the guest on.
	for i in $(seq 0 $((CYCLES - 1))); do
		cat "${all[@]:0:$((i + 1))}" >upto.txt
		n=$(last_step upto.txt)
		if [ "$n" -le "$prev" ]; then
			fail "segment $i ran no step (at step $n after it)"
			return 1
		fi
		prev=$n
	done
	check_steps all.txt "$STD_STEPS" || { for i in "${all[@]}"; do show "$i"; done; return 1; }
	same_output "$ref" all.txt "the $((CYCLES + 1)) segments" || return 1
}

run_test chain_5_cycles t_chain
