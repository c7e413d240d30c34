#!/usr/bin/env bash
# A migration that fails part-way -- destination killed, connection closed,
# stream refused -- leaves the guest running on the source with its output
# intact, and a later migration (SIGUSR1) still moves it with full
# continuity.
#
# The source here has --migrate but no --migrate-after: each attempt is
# started with SIGUSR1 sent to vmm itself.  Exit statuses: see
# test-migrate.sh (a source whose last attempt failed exits 1 when the guest
# powers off with 0; one whose last attempt succeeded exits 0).
. "$(dirname "$0")/lib.sh"

# A big guest, so the transfer takes long enough to be cut: 1G of RAM, 512M
# of it rewritten.
F_MEM=1G
F_CMD="steps=2500 mem=512M"
F_STEPS=2500

# start_src PORT: the source, migrating to 127.0.0.1:PORT on SIGUSR1, waited
# for until the guest has printed 200 steps.
start_src() {
	bg_vmm src --mem "$F_MEM" --cmdline "$F_CMD" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$1"
	if ! wait_until 30 steps_past a.txt 200; then
		fail "src: the guest did not reach step 200 within 30 s"
		show a.txt
		show src.err
		return 1
	fi
}

# steps_past FILE N: FILE's last complete step is beyond N.
steps_past() {
	[ -e "$1" ] && [ "$(last_step "$1")" -gt "$2" ]
}

# after_failure PORT WHAT: the source reported the failed attempt (its
# reason matching the regex WHAT), said the VM keeps running, and the guest
# then printed more steps.  K gets the last step printed at the failure.
after_failure() {
	local port=$1 what=$2 line
	if ! wait_until 30 has_line src.err '^vmm: migration to .* failed: '; then
		fail "src: no failure line within 30 s"
		show src.err
		return 1
	fi
	K=$(last_step a.txt)
	line=$(grep -m1 '^vmm: migration to .* failed: ' src.err)
	if ! printf '%s\n' "$line" |
		grep -qE "^vmm: migration to tcp:127.0.0.1:$port failed: .*$what.*; the VM keeps running here$"; then
		fail "src: unexpected failure line (wanted /$what/): $line"
		show src.err
		return 1
	fi
	if [ "$K" -ge "$F_STEPS" ]; then
		fail "the guest had finished (step $K) when the migration failed"
		return 1
	fi
	if ! wait_until 30 steps_past a.txt $((K + 50)); then
		fail "src: the guest did not go on after the failed migration (stuck at step $(last_step a.txt), failure at $K)"
		show a.txt
		show src.err
		return 1
	fi
}

# migrate_again PORT REF: a new destination on PORT, SIGUSR1 to the source:
# the guest moves there and a.txt + b.txt is REF, the uninterrupted run.
migrate_again() {
	local port=$1 ref=$2
	bg_incoming dst2 "$port" --serial file:b.txt || return 1
	bg_kill src USR1 || { fail "src: cannot find the vmm process to signal"; return 1; }
	bg_wait src
	expect_rc src 0 || { show dst2.err; return 1; }
	bg_wait dst2
	expect_rc dst2 0 || { show b.txt; return 1; }
	if [ "$(grep -c '^vmm: migrated: ' src.err)" -ne 1 ]; then
		fail "src: expected one 'vmm: migrated:' summary (for the second attempt)"
		show src.err
		return 1
	fi
	[ -n "${MIGRATE_LOG:-}" ] && grep '^vmm: migrated: ' src.err >>"$MIGRATE_LOG"
	if [ "$(last_step a.txt)" -le "$K" ]; then
		fail "a.txt ends at step $(last_step a.txt), not after the failure at step $K"
		return 1
	fi
	if [ -z "$(steps_of b.txt)" ]; then
		fail "the second destination printed no step line"
		show b.txt
		return 1
	fi
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$F_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

# 3a. SIGKILL the destination while RAM streams to it.
t_dest_killed() {
	local ref port pid
	ref=$(reference "$F_MEM" "$F_CMD") || return 1
	port=$(free_port 47141) || { fail "no free TCP port from 47141"; return 1; }
	bg_incoming dst1 "$port" --serial file:b1.txt || return 1
	start_src "$port" || return 1
	pid=$(bg_pid dst1) || { fail "dst1: no vmm process"; return 1; }
	bg_kill src USR1 || { fail "src: cannot find the vmm process to signal"; return 1; }
	# Kill once the source has started and the destination has the
	# connection: the transfer of 1G then takes far longer than the 20 ms
	# polling step.  ("migrating to" alone comes before the connect.)
	if ! wait_until 10 has_line src.err '^vmm: migrating to '; then
		fail "src: no 'migrating to' line within 10 s of SIGUSR1"
		show src.err
		return 1
	fi
	if ! wait_until 10 port_connected "$port"; then
		fail "the source did not connect to port $port within 10 s"
		show src.err
		return 1
	fi
	kill -KILL "$pid"
	echo "[dst1] kill -KILL $pid (connected)" >>cmds.log
	bg_wait dst1
	if grep -q 'migration received' dst1.err; then
		fail "dst1: the whole migration arrived before the kill; nothing was cut"
		show dst1.err
		return 1
	fi
	# The source was connected: not 'refused', but a lost connection.
	after_failure "$port" 'connection lost' || return 1
	if [ -e b1.txt ] && grep -aqE "$STEP_RE" b1.txt; then
		fail "the killed destination printed step lines"
		return 1
	fi
	migrate_again "$port" "$ref" || return 1
}

# fake_dest PORT BYTES: a listener (tag "fake") that reads BYTES of the
# stream and closes the connection -- python3, socat or nc, whichever
# exists (a pipeline runs in a subshell, so that $! and its descendants
# cover all of it).  Returns 1 if none does, 2 if it did not listen.
fake_dest() {
	local port=$1 n=$2 tool
	if command -v python3 >/dev/null 2>&1 && python3 -c 'import socket' 2>/dev/null; then
		cat >fake.py <<'EOF'
import socket, sys
port, want = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(1)
c, _ = s.accept()
s.close()
got = 0
while got < want:
    b = c.recv(min(1 << 16, want - got))
    if not b:
        break
    got += len(b)
c.close()
print("fake destination: read %d bytes, closed" % got)
EOF
		tool=python3
		timeout -k 5 30 python3 fake.py "$port" "$n" >fake.out 2>&1 &
	elif command -v socat >/dev/null 2>&1; then
		# head exits after BYTES; socat's next write fails and it exits.
		tool=socat
		(timeout -k 5 30 socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" STDOUT 2>fake.out |
			head -c "$n" >/dev/null) &
	elif command -v nc >/dev/null 2>&1; then
		tool=nc
		if nc -h 2>&1 | grep -qi openbsd; then
			(timeout -k 5 30 nc -l 127.0.0.1 "$port" 2>fake.out | head -c "$n" >/dev/null) &
		else    # netcat-traditional, busybox
			(timeout -k 5 30 nc -l -p "$port" 2>fake.out | head -c "$n" >/dev/null) &
		fi
	else
		return 1
	fi
	bg_track fake $! "$tool listening on $port, closing after $n bytes"
	if ! wait_until 10 port_listening "$port"; then
		fail "the fake destination ($tool) did not listen on port $port"
		show fake.out
		return 2
	fi
}

# 3b. The destination closes the connection after 8 MB of the stream.
t_socket_closed() {
	local ref port rc
	port=$(free_port 47151) || { fail "no free TCP port from 47151"; return 1; }
	fake_dest "$port" 8000000
	rc=$?
	if [ $rc -eq 1 ]; then
		echo "*** SKIPPED: migrate_socket_closed needs python3, socat or nc for a fake destination ***" >&2
		skip "no python3, socat or nc to play a destination that closes the connection"
		return 0
	fi
	[ $rc -eq 0 ] || return 1
	ref=$(reference "$F_MEM" "$F_CMD") || return 1
	start_src "$port" || return 1
	bg_kill src USR1 || { fail "src: cannot find the vmm process to signal"; return 1; }
	after_failure "$port" 'connection lost' || return 1
	# The port must be free again for the real destination.
	bg_wait fake
	migrate_again "$port" "$ref" || return 1
}

# 3c. A destination that cannot build the VM (its --serial file cannot be
# created) refuses the stream at the first record and says why; the source
# keeps the guest and runs it to the end.
t_dest_refuses() {
	local ref port
	ref=$(reference "$F_MEM" "$F_CMD") || return 1
	port=$(free_port 47161) || { fail "no free TCP port from 47161"; return 1; }
	bg_incoming dst "$port" --serial "file:$TDIR/no-such-dir/b.txt" || return 1
	start_src "$port" || return 1
	bg_kill src USR1 || { fail "src: cannot find the vmm process to signal"; return 1; }
	after_failure "$port" 'the destination refused the stream: .*cannot build the VM' || return 1
	bg_wait dst
	expect_rc dst 1 || return 1
	if ! grep -q 'no-such-dir/b.txt: No such file or directory' dst.err ||
		! grep -q '^vmm: incoming migration failed: ' dst.err; then
		fail "dst: does not say why it refused"
		show dst.err
		return 1
	fi
	bg_wait src
	# The guest powered off with 0, but the requested migration failed.
	expect_rc src 1 || return 1
	if grep -q '^vmm: migrated: ' src.err; then
		fail "src: a 'migrated' summary after a refused migration"
		show src.err
		return 1
	fi
	check_steps a.txt "$F_STEPS" || { show a.txt; return 1; }
	same_output "$ref" a.txt || return 1
}

# trickle PORT SECONDS: connect to PORT and send the file magic and then
# one byte a second (never silent for a --stall-timeout of 2 s), with
# bash's /dev/tcp; tag "trickle".
trickle() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf '\x89SSM\r\n\x1a\n' >&3
		for _ in $(seq 1 "$2"); do
			sleep 1
			printf '\0' >&3 2>/dev/null || exit 0
		done
	) 2>/dev/null &
	bg_track trickle $! "a peer trickling one byte a second to port $1"
}

# elapsed_ok T0 MAX WHAT: at most MAX seconds since T0 (date +%s%N).
elapsed_ok() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	note "$3 took $ms ms"
	if [ "$ms" -gt $(($2 * 1000)) ]; then
		fail "$3 took $ms ms, more than $2 s"
		return 1
	fi
}

# 3d. A peer trickling a byte a second is cut off by --incoming-timeout,
# one that sends nothing by --stall-timeout; each in about that time, with
# one line saying which.
t_incoming_deadlines() {
	local port t0
	port=$(free_port 47171) || { fail "no free TCP port from 47171"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt --incoming-timeout 3s --stall-timeout 2s || return 1
	t0=$(date +%s%N)
	trickle "$port" 20
	bg_wait dst
	expect_rc dst 1 || return 1
	elapsed_ok "$t0" 8 "the trickled stream's refusal" || return 1
	if ! grep -q '^vmm: incoming migration failed: the stream did not arrive within 3 s (--incoming-timeout); the guest did not run here$' dst.err; then
		fail "dst: the trickle is not refused by the overall deadline"
		show dst.err
		return 1
	fi
	bg_incoming dst2 "$port" --serial file:b.txt --stall-timeout 2s || return 1
	t0=$(date +%s%N)
	exec 4<>"/dev/tcp/127.0.0.1/$port" || { fail "cannot connect to $port"; return 1; }
	bg_wait dst2
	exec 4>&-
	expect_rc dst2 1 || return 1
	elapsed_ok "$t0" 6 "the silent peer's refusal" || return 1
	if ! grep -q 'failed: the source sent nothing for 2 s (--stall-timeout)' dst2.err; then
		fail "dst2: a silent peer is not refused by the stall deadline"
		show dst2.err
		return 1
	fi
}

# 3e. SIGTERM ends a destination that is receiving (from a trickling
# peer) at once, with 128 + 15.
t_incoming_sigterm() {
	local port t0
	port=$(free_port 47181) || { fail "no free TCP port from 47181"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	trickle "$port" 30
	wait_until 10 port_connected "$port" || { fail "the peer did not connect"; return 1; }
	sleep 1
	t0=$(date +%s%N)
	bg_kill dst TERM || { fail "dst: cannot signal"; return 1; }
	bg_wait dst
	if [ "$RC" -ne 143 ]; then
		fail "dst: exit $RC after SIGTERM while receiving, expected 143"
		show dst.err
		return 1
	fi
	elapsed_ok "$t0" 3 "SIGTERM while receiving" || return 1
	if ! grep -q 'failed: the destination was stopped (Terminated)' dst.err; then
		fail "dst: does not say it was stopped"
		show dst.err
		return 1
	fi
}

# 3f. The guest powers off while the source is blocked sending to a
# destination that reads nothing (SIGSTOPped): the source ends promptly,
# not after its 60 s --stall-timeout.
t_abort_prompt() {
	local port t0 pid
	port=$(free_port 47191) || { fail "no free TCP port from 47191"; return 1; }
	bg_incoming dst "$port" --serial none || return 1
	pid=$(bg_pid dst) || { fail "dst: no vmm process"; return 1; }
	kill -STOP "$pid"
	t0=$(date +%s%N)
	vmm src --mem 256M --cmdline "steps=400 mem=8M" --serial file:a.txt \
		--migrate "tcp:127.0.0.1:$port" --migrate-after 100ms --stall-timeout 60s
	kill -CONT "$pid"
	crashed src && return 1
	check_steps a.txt 400 || { show src.err; return 1; }
	elapsed_ok "$t0" 20 "the source's exit after the guest powered off mid-migration" || return 1
	if grep -q '^vmm: migrated: ' src.err; then
		fail "src: the migration completed although the destination read nothing"
		show src.err
		return 1
	fi
	if ! grep -q 'failed: .*; the VM was ending here$' src.err; then
		fail "src: does not say the migration stopped because the VM ended"
		show src.err
		return 1
	fi
}

run_test migrate_dest_killed t_dest_killed
run_test migrate_socket_closed t_socket_closed
run_test migrate_dest_refuses t_dest_refuses
run_test incoming_deadlines t_incoming_deadlines
run_test incoming_sigterm t_incoming_sigterm
run_test migrate_abort_prompt t_abort_prompt
