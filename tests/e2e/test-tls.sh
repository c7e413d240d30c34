#!/usr/bin/env bash
# Migration over TLS (--migrate/--incoming tls:HOST:PORT): a guest moved
# with mutual X.509 authentication (and with a pre-shared key) continues
# exactly as an uninterrupted run; every peer that cannot prove itself is
# refused with one line naming why, and the guest then runs only on the
# source.  The certificates are made here with certtool (gnutls-bin), in
# this run's scratch directory (scripts/make-test-certs.sh): nothing
# secret is committed.
. "$(dirname "$0")/lib.sh"

SUMMARY_RE='^vmm: migrated: [0-9]+ live passes \+ final \[.*\]; [0-9.]+ MB total; total time [0-9.]+ s; downtime [0-9.]+ ms'
CERTS=$E2E_CACHE/tls-certs
# A short guest for the refusals: it runs to its end on the source.
SHORT_MEM=16M
SHORT_STEPS=200
SHORT_CMD="steps=$SHORT_STEPS mem=8M"

MAKE_CERTS=$(cd "$(dirname "$0")/../../scripts" && pwd)/make-test-certs.sh
make_certs() {
	bash "$MAKE_CERTS" "$CERTS"
}

# tls_opts NAME [CA]: the --tls-* options for certificate NAME, trusting CA.
tls_opts() {
	echo "--tls-cert $CERTS/$1.pem --tls-key $CERTS/$1.key --tls-ca $CERTS/${2:-ca}.pem"
}

need_certs() {
	make_certs && return 0
	skip "certtool (gnutls-bin) is missing or failed: no certificates to test with"
	return 1
}

# 1. A migration over TLS continues the guest exactly.
t_tls_migrate() {
	local ref port
	need_certs || return 0
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	port=$(free_port 47301) || { fail "no free TCP port from 47301"; return 1; }
	# shellcheck disable=SC2046
	bg_incoming dst "tls:127.0.0.1:$port" $(tls_opts dst) --serial file:b.txt || return 1
	# shellcheck disable=SC2046
	vmm src --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--migrate "tls:127.0.0.1:$port" --migrate-after 500ms $(tls_opts src)
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	if [ "$(grep -cE "$SUMMARY_RE" src.err)" -ne 1 ]; then
		fail "src: expected one 'vmm: migrated: ...' summary"
		show src.err
		return 1
	fi
	grep -q '^vmm: migration received in [0-9.]* s; the guest runs here$' dst.err ||
		{ fail "dst: no 'migration received' line"; show dst.err; return 1; }
	local k
	k=$(last_step a.txt)
	if [ "$k" -lt 1 ] || [ "$k" -ge "$STD_STEPS" ]; then
		fail "the migration did not land part-way: a.txt ends at step $k"
		return 1
	fi
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$STD_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

# 2. The same with a pre-shared key instead of certificates.
t_tls_psk() {
	local ref port
	need_certs || return 0
	ref=$(reference "$STD_MEM" "$STD_CMD") || return 1
	port=$(free_port 47311) || { fail "no free TCP port from 47311"; return 1; }
	bg_incoming dst "tls:127.0.0.1:$port" --tls-psk "$CERTS/psk.txt" --serial file:b.txt || return 1
	vmm src --mem "$STD_MEM" --cmdline "$STD_CMD" --serial file:a.txt \
		--migrate "tls:127.0.0.1:$port" --migrate-after 500ms --tls-psk "$CERTS/psk.txt"
	expect_rc src 0 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 0 || { show b.txt; return 1; }
	cat a.txt b.txt >ab.txt
	check_steps ab.txt "$STD_STEPS" || { show a.txt; show b.txt; return 1; }
	same_output "$ref" ab.txt "a.txt + b.txt" || return 1
}

# refused NAME SRC_PAT DST_PAT DST_SPEC_KIND SRC_SPEC_KIND "DST_OPTS" "SRC_OPTS":
# the migration fails; the source says SRC_PAT and runs the guest to its
# end (exit 1: the requested migration failed); the destination says
# DST_PAT, exits 1 and never runs the guest.
refused() {
	local src_pat=$1 dst_pat=$2 dkind=$3 skind=$4 dopts=$5 sopts=$6 ref port
	ref=$(reference "$SHORT_MEM" "$SHORT_CMD") || return 1
	port=$(free_port 47321) || { fail "no free TCP port from 47321"; return 1; }
	# shellcheck disable=SC2086
	bg_incoming dst "$dkind:127.0.0.1:$port" $dopts --serial file:b.txt || return 1
	# shellcheck disable=SC2086
	vmm src --mem "$SHORT_MEM" --cmdline "$SHORT_CMD" --serial file:a.txt \
		--migrate "$skind:127.0.0.1:$port" --migrate-after 300ms $sopts
	expect_rc src 1 || { show dst.err; return 1; }
	bg_wait dst
	expect_rc dst 1 || return 1
	if ! grep -qiE "^vmm: migration to $skind:127.0.0.1:$port failed: .*$src_pat.*; the VM keeps running here$" src.err; then
		fail "src: the failure does not say /$src_pat/: $(grep -m1 'failed' src.err)"
		show src.err
		return 1
	fi
	if [ "$(grep -c '^vmm: incoming migration' dst.err)" -ne 1 ] ||
	   ! grep -qiE "^vmm: incoming migration (refused|failed): .*$dst_pat.*; the guest did not run here$" dst.err; then
		fail "dst: expected one line saying /$dst_pat/: $(grep -m1 'incoming' dst.err)"
		show dst.err
		return 1
	fi
	if [ -e b.txt ] && grep -aqE "$STEP_RE" b.txt; then
		fail "the destination ran the guest"
		show b.txt
		return 1
	fi
	check_steps a.txt "$SHORT_STEPS" || { show a.txt; return 1; }
	same_output "$ref" a.txt || return 1
}

# 3. A plain-TCP source to a TLS destination, and a TLS source to a plain
# destination.
t_tls_plain_peer() {
	need_certs || return 0
	# shellcheck disable=SC2046
	refused 'the destination refused the stream|connection|TLS' 'does not speak TLS' \
		tls tcp "$(tls_opts dst)" "" || return 1
	rm -f b.txt a.txt
	refused 'the destination does not speak TLS' 'magic|not a state' \
		tcp tls "" "$(tls_opts src)" || return 1
}

# 4. The destination's certificate is from another CA, expired, or for
# another name: the source refuses it.
t_tls_bad_server_cert() {
	need_certs || return 0
	refused "destination's certificate was refused: .*(issuer is unknown|not trusted)" \
		'source refused the TLS session' tls tls "$(tls_opts evil evilca)" "$(tls_opts src)" ||
		return 1
	rm -f b.txt a.txt
	refused "destination's certificate was refused: .*expired" \
		'source refused the TLS session' tls tls "$(tls_opts old)" "$(tls_opts src)" || return 1
	rm -f b.txt a.txt
	refused "destination's certificate was refused: .*name .*does not match" \
		'source refused the TLS session' tls tls "$(tls_opts dst)" \
		"$(tls_opts src) --tls-name other.example" || return 1
}

# 5. The source's certificate is from another CA or expired: the
# destination refuses it (and the source hears why, from the alert).
t_tls_bad_client_cert() {
	need_certs || return 0
	refused 'TLS alert|refused|closed' "source's certificate was refused: .*(issuer is unknown|not trusted)" \
		tls tls "$(tls_opts dst)" "$(tls_opts evil)" || return 1
	rm -f b.txt a.txt
	refused 'TLS alert|refused|closed' "source's certificate was refused: .*expired" \
		tls tls "$(tls_opts dst)" "$(tls_opts old)" || return 1
}

# 6. A wrong pre-shared key is refused on both sides.
t_tls_psk_wrong() {
	need_certs || return 0
	refused 'TLS|refused' 'TLS|refused|decrypt|mac' \
		tls tls "--tls-psk $CERTS/psk.txt" "--tls-psk $CERTS/psk2.txt" || return 1
}

# 7. A client that presents no certificate (gnutls-cli trusting our CA) is
# refused by the destination, which never runs a guest.
t_tls_no_client_cert() {
	local port
	need_certs || return 0
	command -v gnutls-cli >/dev/null 2>&1 || { skip "gnutls-cli (gnutls-bin) is missing"; return 0; }
	port=$(free_port 47341) || { fail "no free TCP port from 47341"; return 1; }
	# shellcheck disable=SC2046
	bg_incoming dst "tls:127.0.0.1:$port" $(tls_opts dst) --serial file:b.txt || return 1
	timeout 20 gnutls-cli --x509cafile "$CERTS/ca.pem" --port "$port" localhost \
		</dev/null >cli.out 2>&1
	bg_wait dst
	expect_rc dst 1 || return 1
	if ! grep -qE '^vmm: incoming migration refused: the source presented no certificate; the guest did not run here$' dst.err; then
		fail "dst: does not say the source presented no certificate"
		show dst.err
		show cli.out
		return 1
	fi
}

# 8. The TLS handshake is under the deadlines and the stop signals: a peer
# that connects and says nothing is dropped after --stall-timeout, and
# SIGTERM during the handshake ends the destination at once.
t_tls_handshake_deadlines() {
	local port t0 t1
	need_certs || return 0
	port=$(free_port 47351) || { fail "no free TCP port from 47351"; return 1; }
	# shellcheck disable=SC2046
	bg_incoming dst "tls:127.0.0.1:$port" $(tls_opts dst) --stall-timeout 1s || return 1
	t0=$(date +%s%N)
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	bg_wait dst
	t1=$(date +%s%N)
	exec 3>&-
	expect_rc dst 1 || return 1
	grep -qE '^vmm: incoming migration refused: .*did not finish in time.*; the guest did not run here$' dst.err ||
		{ fail "dst: no handshake timeout line"; show dst.err; return 1; }
	if [ $(((t1 - t0) / 1000000)) -gt 8000 ]; then
		fail "dst: a silent peer held the handshake for $(((t1 - t0) / 1000000)) ms (--stall-timeout 1s)"
		return 1
	fi
	port=$(free_port 47361) || { fail "no free TCP port from 47361"; return 1; }
	# shellcheck disable=SC2046
	bg_incoming dst2 "tls:127.0.0.1:$port" $(tls_opts dst) || return 1
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	wait_until 5 port_connected "$port" || { fail "no connection"; return 1; }
	sleep 0.3
	bg_kill dst2 TERM
	bg_wait dst2
	exec 3>&-
	if [ "$RC" -ne 143 ]; then
		fail "dst2: exit status $RC after SIGTERM, expected 143"
		show dst2.err
		return 1
	fi
	grep -qE '^vmm: Terminated during the TLS handshake; the guest did not run here$' dst2.err ||
		{ fail "dst2: no 'during the TLS handshake' line"; show dst2.err; return 1; }
}

# 8b. The source's handshake too: a listener that accepts and never
# answers fails the migration after --stall-timeout, the guest runs on
# here, and SIGQUIT ends the VM at once in the middle of that handshake.
t_tls_source_silent_peer() {
	local port t0 t1
	need_certs || return 0
	command -v python3 >/dev/null 2>&1 || { skip "python3 is missing (the silent listener)"; return 0; }
	port=$(free_port 47371) || { fail "no free TCP port from 47371"; return 1; }
	python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
conns = []
while True:
    conns.append(s.accept()[0])' "$port" &
	bg_track listener $! "silent listener on $port"
	wait_until 5 port_listening "$port" || { fail "the silent listener did not start"; return 1; }
	# shellcheck disable=SC2046
	vmm src --mem "$SHORT_MEM" --cmdline "steps=1500 mem=8M" --serial file:a.txt \
		--stall-timeout 500ms --migrate "tls:127.0.0.1:$port" --migrate-after 300ms $(tls_opts src)
	expect_rc src 1 || return 1
	grep -qE "^vmm: migration to tls:127.0.0.1:$port failed: the TLS handshake did not finish in time; the VM keeps running here$" src.err ||
		{ fail "src: no handshake timeout line"; show src.err; return 1; }
	check_steps a.txt 1500 || { show a.txt; return 1; }
	# shellcheck disable=SC2046
	bg_vmm src2 --mem "$SHORT_MEM" --cmdline "steps=100000 mem=8M" --serial none \
		--migrate "tls:127.0.0.1:$port" --migrate-after 300ms $(tls_opts src)
	wait_until 20 has_line src2.err '^vmm: migrating to ' || { fail "src2 did not start migrating"; return 1; }
	sleep 0.5
	t0=$(date +%s%N)
	bg_kill src2 QUIT
	bg_wait src2
	t1=$(date +%s%N)
	[ "$RC" -eq 131 ] || { fail "src2: exit $RC after SIGQUIT, expected 131"; show src2.err; return 1; }
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] ||
		{ fail "SIGQUIT took $(((t1 - t0) / 1000000)) ms during the TLS handshake"; return 1; }
}

# 9. The command line: TLS options need a tls: address, and a tls: address
# needs its credentials.
t_tls_usage() {
	need_certs || return 0
	vmm u1 --migrate tcp:127.0.0.1:1 --tls-ca "$CERTS/ca.pem"
	expect_rc u1 2 && one_vmm_line u1 'TLS options need' || return 1
	vmm u2 --incoming tls:127.0.0.1:1 --tls-ca "$CERTS/ca.pem"
	expect_rc u2 2 && one_vmm_line u2 'needs --tls-cert' || return 1
	vmm u3 --incoming tls:127.0.0.1:1 --tls-cert nonexistent.pem --tls-key x --tls-ca x
	expect_rc u3 2 && one_vmm_line u3 'nonexistent.pem: No such file' || return 1
	vmm u4 --incoming tls:127.0.0.1:1 $(tls_opts dst) --tls-name x
	expect_rc u4 2 && one_vmm_line u4 'only the source' || return 1
}

run_test tls_migrate t_tls_migrate
run_test tls_psk t_tls_psk
run_test tls_plain_peer t_tls_plain_peer
run_test tls_bad_server_cert t_tls_bad_server_cert
run_test tls_bad_client_cert t_tls_bad_client_cert
run_test tls_psk_wrong t_tls_psk_wrong
run_test tls_no_client_cert t_tls_no_client_cert
run_test tls_handshake_deadlines t_tls_handshake_deadlines
run_test tls_source_silent_peer t_tls_source_silent_peer
run_test tls_usage t_tls_usage
