#!/usr/bin/env bash
# gen-certs.sh: make a test CA and node certificates for the transport's mTLS.
#
#   scripts/gen-certs.sh OUTDIR NODE [NODE...]
#
# Creates, in OUTDIR:
#   ca.pem, ca.key          a self-signed ECDSA P-256 CA (valid 10 years)
#   NODE.pem, NODE.key      per node: ECDSA P-256, CN=NODE, DNS SAN=NODE and
#                           IP SAN 127.0.0.1, serverAuth+clientAuth, valid 825
#                           days, signed by the CA
# Keys are unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), mode 0600. Nothing is
# written outside OUTDIR but a temporary directory, removed on exit (with any
# half-written OUTDIR/*.key.tmp). ca.key stays in OUTDIR to issue more nodes
# later: keep OUTDIR out of version control (.gitignore covers /certs/ and
# *.key).
#
# Idempotent: an existing CA is reused, and an existing node certificate is
# kept if it verifies against the CA, names the node, matches its key and is
# valid for another 30 days; otherwise it is (re)issued. FORCE=1 regenerates
# everything, CA included (a new CA always reissues every node named).
#
# Use with: tlsstate.NewSecureConfig(OUTDIR/NODE.pem, OUTDIR/NODE.key, OUTDIR/ca.pem)
# These are for tests and labs; production certificates come from your PKI.
set -euo pipefail

usage() {
	cat >&2 <<'USAGE'
usage: gen-certs.sh OUTDIR NODE [NODE...]

  Creates OUTDIR/ca.pem + ca.key and, per NODE, OUTDIR/NODE.pem + NODE.key
  (ECDSA P-256, CN and DNS SAN = NODE, serverAuth+clientAuth, 825 days).
  Existing valid files are kept; FORCE=1 regenerates everything.
  Node names: letters, digits, '.', '_' and '-', starting with a letter or digit.
USAGE
	exit 2
}

[[ $# -ge 1 ]] || usage
case "$1" in -h | --help) usage ;; esac
[[ $# -ge 2 ]] || usage
command -v openssl >/dev/null 2>&1 || {
	echo "gen-certs.sh: openssl not found in PATH" >&2
	exit 1
}

out=$1
shift
for node in "$@"; do
	if [[ ! $node =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ || $node == ca ]]; then
		echo "gen-certs.sh: invalid node name '$node'" >&2
		exit 2
	fi
done

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f "$out"/*.key.tmp' EXIT
force=${FORCE:-0}

# newkey FILE: an unencrypted PKCS#8 ECDSA P-256 key, mode 0600.
newkey() {
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp")
	mv "$1.tmp" "$1"
}

serial() { echo "0x$(openssl rand -hex 16)"; }

ca_pem=$out/ca.pem
ca_key=$out/ca.key
if [[ $force == 1 || ! -s $ca_pem || ! -s $ca_key ]]; then
	echo "gen-certs.sh: creating CA $ca_pem"
	newkey "$ca_key"
	cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
O = tensorchain test
CN = tensorchain test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
	openssl req -new -x509 -config "$tmp/ca.cnf" -key "$ca_key" -sha256 -days 3650 \
		-set_serial "$(serial)" -out "$tmp/ca.pem"
	mv "$tmp/ca.pem" "$ca_pem"
	chmod 644 "$ca_pem"
	force=1 # a new CA invalidates every node certificate
else
	echo "gen-certs.sh: reusing CA $ca_pem"
fi

# node_ok NODE: is the existing certificate still usable?
node_ok() {
	local pem=$out/$1.pem key=$out/$1.key
	[[ -s $pem && -s $key ]] || return 1
	openssl verify -CAfile "$ca_pem" "$pem" >/dev/null 2>&1 || return 1
	openssl x509 -in "$pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 || return 1
	openssl x509 -in "$pem" -noout -subject -nameopt RFC2253 2>/dev/null | grep -qxF "subject=CN=$1" || return 1
	[[ "$(openssl x509 -in "$pem" -noout -pubkey 2>/dev/null)" == "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ]]
}

for node in "$@"; do
	if [[ $force != 1 ]] && node_ok "$node"; then
		echo "gen-certs.sh: keeping $out/$node.pem"
		continue
	fi
	echo "gen-certs.sh: issuing $out/$node.pem (CN=$node)"
	newkey "$out/$node.key"
	cat >"$tmp/$node.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $node
CNF
	cat >"$tmp/$node.ext" <<CNF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$node, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
	openssl req -new -config "$tmp/$node.cnf" -key "$out/$node.key" -out "$tmp/$node.csr"
	openssl x509 -req -in "$tmp/$node.csr" -CA "$ca_pem" -CAkey "$ca_key" -set_serial "$(serial)" \
		-days 825 -sha256 -extfile "$tmp/$node.ext" -out "$tmp/$node.pem" 2>/dev/null
	mv "$tmp/$node.pem" "$out/$node.pem"
	chmod 644 "$out/$node.pem"
done
echo "gen-certs.sh: done: $out"
