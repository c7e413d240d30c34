#!/usr/bin/env bash
# test-monitor.sh - the control socket (--monitor unix:PATH, docs/monitor.md)
# driven by a python3 client (monitor_client.py) and by vmm ctl: greeting,
# query-status, stop/cont and their events, save and restore, live save and
# query-migrate, migration to a vmm --incoming, migrate-cancel, the
# operator's decision after an unconfirmed migration, hostile clients (bad
# JSON, unknown commands, wrong types, a line too long, one vanishing
# mid-line, one half-closing, one that never reads), clients in turn and a
# refused second one, the socket's mode 0600, stale and live socket files,
# SIGTERM and quit removing the socket.
. "$(dirname "$0")/lib.sh"

CLIENT=$(cd "$(dirname "$0")" && pwd)/monitor_client.py
PROXY=$(dirname "$VMM")/tests/tools/migproxy
LONG_CMD="steps=1000000 mem=32M"        # runs until the test ends it

need_python() {
	command -v python3 >/dev/null 2>&1 || { skip "python3 is missing"; return 1; }
}

# mon SCRIPT-LINES...: run the client on ./s.sock; its output goes to
# mon.out (appended), its status to RC.
mon() {
	printf '%s\n' "$@" | timeout -k 5 90 python3 "$CLIENT" "$PWD/s.sock" >>mon.out 2>>mon.err
	RC=$?
	echo "[mon] $* -> exit $RC" >>cmds.log
}

# mon_ok SCRIPT-LINES...: mon, which must succeed.
mon_ok() {
	mon "$@"
	if [ "$RC" -ne 0 ]; then
		fail "monitor client failed (exit $RC): $(tail -n1 mon.err)"
		show mon.out
		show vm.err
		return 1
	fi
}

# has_reply REGEX [WHAT]: a line of mon.out matches REGEX.
has_reply() {
	if ! grep -qE -e "$1" mon.out; then
		fail "${2:-no reply matching /$1/}"
		show mon.out
		show vm.err
		return 1
	fi
}

# ctl COMMAND [ARGS...]: vmm ctl on ./s.sock; stdout ctl.out, stderr ctl.err.
ctl() {
	timeout -k 5 60 "$VMM" ctl "$PWD/s.sock" "$@" >ctl.out 2>ctl.err
	RC=$?
	echo "[ctl] vmm ctl s.sock $* -> exit $RC: $(head -c 200 ctl.out)$(head -c 200 ctl.err)" >>cmds.log
}

# ctl_ok COMMAND [ARGS...]: ctl, exit 0.
ctl_ok() {
	ctl "$@"
	if [ "$RC" -ne 0 ]; then
		fail "vmm ctl $1 failed (exit $RC): $(cat ctl.err)"
		show vm.err
		return 1
	fi
}

# ctl_refused CLASS COMMAND [ARGS...]: ctl exits 1 with the error class
# on stderr and nothing on stdout.
ctl_refused() {
	local cls=$1
	shift
	ctl "$@"
	if [ "$RC" -ne 1 ] || ! grep -q "^vmm ctl: $cls: " ctl.err || [ -s ctl.out ]; then
		fail "vmm ctl $*: expected exit 1 and a $cls error, got exit $RC: $(cat ctl.err ctl.out)"
		return 1
	fi
}

# start_vm [ARGS...]: a background vmm with its monitor on ./s.sock, waited
# for until the socket exists.
start_vm() {
	bg_vmm vm --monitor "unix:$PWD/s.sock" "$@"
	if ! wait_until 20 test -S s.sock; then
		fail "vm: no socket s.sock"
		show vm.err
		return 1
	fi
}

# end_vm STATUS: quit over the monitor; the vmm exits STATUS and removes
# its socket.
end_vm() {
	ctl_ok quit || return 1
	bg_wait vm
	expect_rc vm "$1" || return 1
	if [ -e s.sock ]; then
		fail "the socket file is still there after the vmm exited"
		return 1
	fi
}

bigger_than() {
	[ "$(wc -c <"$1")" -gt "$2" ]
}

# grows FILE: FILE grows within 10 s (its guest runs).
grows() {
	wait_until 10 bigger_than "$1" "$(wc -c <"$1")"
}

t_status_stop_cont() {
	need_python || return 0
	start_vm --mem "$STD_MEM" --cmdline "$LONG_CMD" --serial file:a.txt || return 1
	if [ "$(stat -c %a s.sock)" != 600 ]; then
		fail "the socket's mode is $(stat -c %a s.sock), not 600"
		return 1
	fi
	mon_ok '{"execute":"query-status","id":1}' '{"execute":"stop","id":2}' '#wait STOP' \
		'{"execute":"query-status","id":3}' || return 1
	has_reply '^\{"QMP":\{"version":\{"vmm":"[0-9.]+","protocol":1\},"capabilities":\[\]\}\}$' \
		"no greeting" || return 1
	has_reply '^\{"return":\{"status":"running","running":true\},"id":1\}$' || return 1
	has_reply '^\{"return":\{\},"id":2\}$' || return 1
	has_reply '^\{"event":"STOP","data":\{"status":"paused"\},"timestamp":\{"seconds":[0-9]+,"microseconds":[0-9]+\}\}$' || return 1
	has_reply '^\{"return":\{"status":"paused","running":false\},"id":3\}$' || return 1
	# Paused: the guest prints nothing.
	local n
	n=$(wc -c <a.txt)
	sleep 0.5
	[ "$(wc -c <a.txt)" -eq "$n" ] || { fail "the guest ran while stopped"; return 1; }
	: >mon.out
	mon_ok '{"execute":"cont"}' '#wait RESUME' '{"execute":"query-status"}' || return 1
	has_reply '^\{"event":"RESUME","data":\{"status":"running"\}' || return 1
	has_reply '^\{"return":\{"status":"running","running":true\}\}$' || return 1
	grows a.txt || { fail "the guest did not run on after cont"; return 1; }
	# The same through vmm ctl; stop twice is fine, so is cont twice.
	ctl_ok stop && ctl_ok stop && ctl_ok query-status || return 1
	grep -qx '{"status":"paused","running":false}' ctl.out || { fail "ctl: $(cat ctl.out)"; return 1; }
	ctl_ok cont && ctl_ok cont || return 1
	: >mon.out
	mon_ok '{"execute":"quit","id":"q"}' '#wait SHUTDOWN' || return 1
	has_reply '^\{"event":"SHUTDOWN","data":\{"status":0\}' || return 1
	bg_wait vm
	expect_rc vm 0 || return 1
	[ ! -e s.sock ] || { fail "the socket file is left after quit"; return 1; }
	grep -q '^vmm: monitor: quit$' vm.err || { fail "no 'monitor: quit' line"; show vm.err; }
}

t_hostile() {
	need_python || return 0
	start_vm --mem "$STD_MEM" --cmdline "$LONG_CMD" --serial file:a.txt || return 1
	mon_ok '#raw {"execute": "stop"' '#raw [1,2]' '#raw {"execute":"format-disk","id":9}' \
		'{"execute":"save","arguments":{"file":7}}' \
		'{"execute":"save","arguments":{"file":"x","bogus":1}}' \
		'{"execute":"save","arguments":{"file":"x","mode":"incremental"}}' \
		'{"execute":"save","arguments":{"file":"x","mode":"sideways"}}' \
		'{"execute":"migrate","arguments":{"uri":"udp:1:2"}}' \
		'{"execute":"migrate-cancel"}' '{"execute":"migrate-resolve","arguments":{"action":"resume"}}' \
		"#raw $(head -c 100000 /dev/zero | tr '\0' ' ')" \
		'{"execute":"query-status","id":"after"}' || return 1
	has_reply '^\{"error":\{"class":"ParseError","desc":"invalid JSON' || return 1
	has_reply '^\{"error":\{"class":"ParseError","desc":"a request is a JSON object"' || return 1
	has_reply '^\{"error":\{"class":"CommandNotFound","desc":"unknown command .format-disk.*"id":9\}$' || return 1
	has_reply '"class":"InvalidArgument","desc":"save: argument .file. must be a string"' || return 1
	has_reply '"class":"InvalidArgument","desc":"save: unknown argument .bogus."' || return 1
	has_reply '"class":"InvalidArgument","desc":"save: mode incremental keeps the guest running' || return 1
	has_reply '"class":"InvalidArgument","desc":"save: mode .sideways.' || return 1
	has_reply '"class":"InvalidArgument","desc":"migrate: uri .udp:1:2.: expected tcp:HOST:PORT"' || return 1
	has_reply '"class":"WrongState","desc":"migrate-cancel: no migration' || return 1
	has_reply '"class":"WrongState","desc":"migrate-resolve: no unconfirmed migration' || return 1
	has_reply '"class":"ParseError","desc":"request line longer than 65536 bytes' || return 1
	has_reply '^\{"return":\{"status":"running","running":true\},"id":"after"\}$' || return 1
	[ -e .fail ] && return 1
	# Gone mid-line: the half request never runs.
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(4096); s.sendall(b"{\"execute\": \"qu"); s.close()' "$PWD/s.sock" ||
		{ fail "mid-line client failed"; return 1; }
	# One that half-closes after its requests still gets the replies.
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"query-status\",\"id\":2}\n")
s.shutdown(socket.SHUT_WR); s.settimeout(10); data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
print(data.decode())
' "$PWD/s.sock" >half.out || { fail "half-closing client failed"; return 1; }
	grep -q '"id":2}$' half.out || { fail "a half-closing client lost its replies: $(cat half.out)"; return 1; }
	# One that floods requests and never reads: dropped or held back, the
	# guest and the next client carry on.
	timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(2)
try:
    s.sendall(b"{\"execute\":\"query-commands\"}\n" * 200000)
except OSError:
    pass
' "$PWD/s.sock"
	grows a.txt || { fail "the guest stopped after the flooding client"; show vm.err; return 1; }
	# Clients in turn; a second one at the same time is refused.
	for i in 1 2 3; do
		ctl_ok query-status || return 1
	done
	python3 -c '
import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1]); a.recv(4096)
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1])
b.settimeout(10); print(b.recv(4096).decode().strip())
' "$PWD/s.sock" >busy.out || { fail "busy client failed"; return 1; }
	grep -qx '{"error":{"class":"Busy","desc":"another client is connected; the monitor serves one at a time"}}' busy.out ||
		{ fail "a second client was not refused with Busy: $(cat busy.out)"; return 1; }
	ctl_refused CommandNotFound no-such-command || return 1
	ctl_refused InvalidArgument save file=x.sav continue=maybe || return 1
	bg_alive vm || { fail "the vmm died"; show vm.err; return 1; }
	end_vm 0
}

t_save_restore() {
	local ref
	need_python || return 0
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	start_vm --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt || return 1
	sleep 0.3
	mon_ok "{\"execute\":\"save\",\"arguments\":{\"file\":\"$PWD/s.sav\"},\"id\":1}" \
		'#wait SAVE_COMPLETED' '#wait SHUTDOWN' || return 1
	has_reply "^\\{\"return\":\\{\"file\":\"$PWD/s.sav\",\"mode\":\"plain\",\"seconds\":[0-9.e-]+,\"continue\":false\\},\"id\":1\\}$" || return 1
	has_reply "^\\{\"event\":\"SAVE_COMPLETED\",\"data\":\\{\"file\":\"$PWD/s.sav\",\"mode\":\"plain\",\"ok\":true\\}" || return 1
	bg_wait vm
	saved_ok vm s.sav || return 1
	[ ! -e s.sock ] || { fail "socket left after the save ended the VM"; return 1; }
	vmm restore --restore s.sav --serial file:b.txt
	expect_rc restore 0 || return 1
	cat a.txt b.txt >ab.txt
	same_output "$ref" ab.txt "the monitor-saved and restored run"
}

t_live_save_query() {
	need_python || return 0
	start_vm --mem "$STD_MEM" --cmdline "$LONG_CMD" --serial file:a.txt || return 1
	ctl_ok query-migrate || return 1
	grep -qx '{"status":"none"}' ctl.out || { fail "query-migrate before any: $(cat ctl.out)"; return 1; }
	ctl_ok save file="$PWD/l.sav" mode=live continue=true || return 1
	grep -q '"mode":"live","status":"started"' ctl.out || { fail "live save: $(cat ctl.out)"; return 1; }
	if ! wait_until 60 eval "ctl_ok query-migrate && grep -q '\"status\":\"completed\"' ctl.out"; then
		fail "the live save did not complete: $(cat ctl.out)"
		show vm.err
		return 1
	fi
	if ! grep -qE '^\{"status":"completed","kind":"live-save","file":"[^"]*l.sav","passes":[1-9][0-9]*,"bytes":[1-9][0-9]+,"total-time-ms":[0-9]+,"downtime-ms":[0-9.e-]+\}$' ctl.out; then
		fail "query-migrate after the live save: $(cat ctl.out)"
		return 1
	fi
	[ -s l.sav ] || { fail "no live-saved file"; return 1; }
	grows a.txt || { fail "the guest did not run on after the live save"; return 1; }
	# A stopped VM is saved plainly and stays stopped; a live save is refused.
	ctl_ok stop && ctl_ok save file="$PWD/p.sav" continue=true || return 1
	ctl_refused WrongState save file="$PWD/q.sav" mode=live || return 1
	ctl_ok query-status || return 1
	grep -q '"status":"paused"' ctl.out || { fail "not paused after a save of a stopped VM: $(cat ctl.out)"; return 1; }
	[ -s p.sav ] || { fail "no p.sav"; return 1; }
	end_vm 0
}

t_migrate() {
	local ref port
	need_python || return 0
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	port=$(free_port 47401) || { fail "no free TCP port"; return 1; }
	bg_incoming dst "$port" --serial file:b.txt || return 1
	start_vm --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt || return 1
	sleep 0.3
	mon_ok "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$port\"},\"id\":1}" \
		'{"execute":"query-migrate","id":2}' '{"execute":"stop","id":3}' \
		'#wait MIGRATION completed' '#wait SHUTDOWN' || return 1
	has_reply "^\\{\"return\":\\{\"status\":\"active\",\"uri\":\"tcp:127.0.0.1:$port\"\\},\"id\":1\\}$" || return 1
	has_reply "^\\{\"event\":\"MIGRATION\",\"data\":\\{\"status\":\"active\",\"uri\":\"tcp:127.0.0.1:$port\"\\}" || return 1
	has_reply '^\{"return":\{"status":"active","kind":"migration","uri":"tcp:[^"]*","total-time-ms":[0-9]+\},"id":2\}$' || return 1
	has_reply '^\{"error":\{"class":"WrongState","desc":"stop: a migration is running.*"id":3\}$' || return 1
	bg_wait vm
	expect_rc vm 0 || return 1
	bg_wait dst
	expect_rc dst 0 || return 1
	cat a.txt b.txt >ab.txt
	same_output "$ref" ab.txt "the run migrated through the monitor"
}

# A destination that accepts and never reads: the migration hangs in its
# first pass until migrate-cancel, after which the guest runs on.
t_cancel() {
	local port
	need_python || return 0
	port=$(free_port 47501) || { fail "no free TCP port"; return 1; }
	python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); c, _ = s.accept(); time.sleep(80)
' "$port" &
	bg_track sink $! "sink on $port"
	wait_until 10 port_listening "$port" || { fail "the sink did not listen"; return 1; }
	start_vm --mem "$STD_MEM" --cmdline "$LONG_CMD" --serial file:a.txt || return 1
	mon_ok "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$port\"}}" \
		'#sleep 1' '{"execute":"query-status","id":1}' '{"execute":"migrate-cancel","id":2}' \
		'#wait MIGRATION cancelled' '{"execute":"query-status","id":3}' \
		'{"execute":"query-migrate","id":4}' '{"execute":"migrate-cancel","id":5}' || return 1
	has_reply '^\{"return":\{"status":"migrating","running":true\},"id":1\}$' || return 1
	has_reply '^\{"return":\{\},"id":2\}$' || return 1
	has_reply '^\{"event":"MIGRATION","data":\{"status":"cancelled","error":"[^"]+","uri":"tcp:' || return 1
	has_reply '^\{"return":\{"status":"running","running":true\},"id":3\}$' || return 1
	has_reply '^\{"return":\{"status":"cancelled","kind":"migration",.*"error":"[^"]+"\},"id":4\}$' || return 1
	has_reply '"class":"WrongState".*"id":5\}$' || return 1
	grows a.txt || { fail "the guest did not run on after the cancel"; return 1; }
	# The failed migration makes the exit status 1.
	end_vm 1
}

# GO is lost: the source is in doubt until migrate-resolve decides.
t_unconfirmed() {
	local ref dport pport
	need_python || return 0
	[ -x "$PROXY" ] || { fail "$PROXY is missing (make all builds it)"; return 1; }
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	dport=$(free_port 47451) || { fail "no free TCP port"; return 1; }
	bg_incoming dst "$dport" --serial file:b.txt --stall-timeout 3s || return 1
	pport=$(free_port $((dport + 1))) || { fail "no free TCP port"; return 1; }
	timeout -k 5 "$VMM_TIMEOUT" "$PROXY" "$pport" "$dport" go 2>proxy.err &
	bg_track proxy $! "migproxy $pport $dport go"
	wait_until 10 port_listening "$pport" || { fail "the proxy did not listen"; return 1; }
	start_vm --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt --stall-timeout 3s || return 1
	sleep 0.3
	mon_ok "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$pport\"}}" \
		'#wait MIGRATION unconfirmed' '#wait STOP' '{"execute":"query-status","id":1}' \
		'{"execute":"cont","id":2}' '{"execute":"save","arguments":{"file":"x.sav"},"id":3}' \
		'{"execute":"migrate-resolve","arguments":{"action":"later"},"id":4}' \
		'{"execute":"migrate-resolve","arguments":{"action":"resume"},"id":5}' '#wait RESUME' || return 1
	has_reply '^\{"event":"STOP","data":\{"status":"in-doubt"\}' || return 1
	has_reply '^\{"return":\{"status":"in-doubt","running":false\},"id":1\}$' || return 1
	has_reply '"class":"WrongState","desc":"cont: the last migration is unconfirmed.*"id":2\}$' || return 1
	has_reply '"class":"WrongState","desc":"save: the last migration is unconfirmed.*"id":3\}$' || return 1
	has_reply '"class":"InvalidArgument".*"id":4\}$' || return 1
	has_reply '^\{"return":\{\},"id":5\}$' || return 1
	grep -q '^vmm: monitor: resuming the guest here' vm.err || { fail "no resume line"; show vm.err; return 1; }
	bg_wait dst
	expect_rc dst 1 || return 1
	# The guest finishes here; the migration failed, so the status is 1.
	bg_wait vm
	expect_rc vm 1 || return 1
	same_output "$ref" a.txt "the source resumed by migrate-resolve"
}

t_socket_files() {
	need_python || return 0
	# A stale socket (its owner died) is replaced.
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$PWD/s.sock"
	[ -S s.sock ] || { fail "could not make a stale socket"; return 1; }
	bg_vmm vm --monitor "unix:$PWD/s.sock" --mem "$STD_MEM" --cmdline "$LONG_CMD" --serial none
	if ! wait_until 20 eval '"$VMM" ctl s.sock query-status >/dev/null 2>&1'; then
		fail "the stale socket was not replaced"
		show vm.err
		return 1
	fi
	# A live one is not: a second vmm refuses to start, the first is untouched.
	vmm second --mem "$STD_MEM" --cmdline steps=1 --serial none --monitor "unix:$PWD/s.sock"
	expect_rc second 1 || return 1
	one_vmm_line second 'listens there' || return 1
	ctl_ok query-status || { fail "the first vmm's socket broke"; return 1; }
	# Ended by a signal, it removes its socket too.
	bg_kill vm TERM
	bg_wait vm
	[ "$RC" -eq 143 ] && grep -q '^vmm: Terminated, stopping$' vm.err ||
		{ fail "vm: SIGTERM: exit $RC"; show vm.err; return 1; }
	[ ! -e s.sock ] || { fail "the socket file is left after SIGTERM"; return 1; }
	# Nor is a file of another kind.
	echo keep >s.sock
	vmm regular --mem "$STD_MEM" --cmdline steps=1 --serial none --monitor "unix:$PWD/s.sock"
	expect_rc regular 1 || return 1
	one_vmm_line regular 'not a socket' || return 1
	[ "$(cat s.sock)" = keep ] || { fail "the regular file was changed"; return 1; }
	vmm usage --monitor tcp:1:2
	expect_rc usage 2 || return 1
	one_vmm_line usage 'expected unix:PATH' || return 1
	"$VMM" ctl --help | grep -q '^Usage: vmm ctl ' || { fail "vmm ctl --help"; return 1; }
	"$VMM" ctl s.sock 2>/dev/null
	[ $? -eq 2 ] || { fail "vmm ctl without a command is not a usage error"; return 1; }
	"$VMM" ctl s.sock save file 2>ctl.err
	[ $? -eq 2 ] && grep -q 'KEY=VALUE' ctl.err || { fail "vmm ctl: a bad word: $(cat ctl.err)"; return 1; }
	timeout 10 "$VMM" ctl "$PWD/nothing.sock" query-status >ctl.out 2>ctl.err
	[ $? -eq 1 ] && grep -q '^vmm ctl: .*nothing.sock: ' ctl.err ||
		{ fail "vmm ctl to no socket: $(cat ctl.err)"; return 1; }
}

run_test monitor-status-stop-cont t_status_stop_cont
run_test monitor-hostile-clients t_hostile
run_test monitor-save-restore t_save_restore
run_test monitor-live-save-query-migrate t_live_save_query
run_test monitor-migrate t_migrate
run_test monitor-migrate-cancel t_cancel
run_test monitor-migrate-unconfirmed t_unconfirmed
run_test monitor-socket-files t_socket_files
