#!/usr/bin/env bash
# make-test-certs.sh DIR - throw-away TLS material for the TLS tests and
# bench (tests/e2e/test-tls.sh, bench/tls_bench.sh), made with certtool
# (gnutls-bin) into DIR, valid for two days:
#   ca.pem/key        the CA both sides trust
#   dst, src          peer certificates from it (localhost, 127.0.0.1;
#                     server and client use)
#   old               one from it that expired in 2020
#   evilca, evil      a foreign CA and a peer certificate from it
#   psk.txt, psk2.txt two different pre-shared keys (NAME:HEXKEY)
# Exit status 0 once DIR/done exists, 1 if certtool is missing or failed.
set -u
dir=$1
[ -s "$dir/done" ] && exit 0
command -v certtool >/dev/null 2>&1 || exit 1
mkdir -p "$dir" && cd "$dir" || exit 1

# cert NAME CA|self TEMPLATE-LINES...
cert() {
	local name=$1 ca=$2
	shift 2
	printf '%s\n' "$@" >"$name.tmpl"
	certtool --generate-privkey --key-type=ecdsa --outfile "$name.key" >/dev/null 2>&1 || return 1
	if [ "$ca" = self ]; then
		certtool --generate-self-signed --load-privkey "$name.key" --template "$name.tmpl" \
			--outfile "$name.pem" >/dev/null 2>&1
	else
		certtool --generate-certificate --load-privkey "$name.key" --load-ca-certificate "$ca.pem" \
			--load-ca-privkey "$ca.key" --template "$name.tmpl" --outfile "$name.pem" >/dev/null 2>&1
	fi
}

psk() {
	printf 'vmm:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$1"
}

peer=('dns_name = "localhost"' 'ip_address = "127.0.0.1"' tls_www_server tls_www_client
      signing_key encryption_key)
cert ca self 'cn = "vmm test CA"' ca cert_signing_key 'expiration_days = 2' &&
cert dst ca 'cn = "localhost"' "${peer[@]}" 'expiration_days = 2' &&
cert src ca 'cn = "source"' "${peer[@]}" 'expiration_days = 2' &&
cert old ca 'cn = "localhost"' "${peer[@]}" 'activation_date = "2020-01-01 00:00:00 UTC"' \
	'expiration_date = "2020-02-01 00:00:00 UTC"' &&
cert evilca self 'cn = "other CA"' ca cert_signing_key 'expiration_days = 2' &&
cert evil evilca 'cn = "localhost"' "${peer[@]}" 'expiration_days = 2' &&
psk psk.txt && psk psk2.txt && echo ok >done
