#!/usr/bin/env bash
# Writes the throwaway TLS certificates the tests use (tests/data/tls/ by default): two CAs and one
# certificate + key signed by each, valid for 127.0.0.1 and localhost for 100 years. They are
# committed, so tests never run openssl; rerun this only to replace them. The keys are public:
# never use them outside tests.
#   ca1.pem, ca1.key        test CA 1
#   node1.pem, node1.key    signed by CA 1; SAN IP:127.0.0.1, DNS:localhost, DNS:r1-node
#   ca2.pem, ca2.key        test CA 2 (another cluster's CA)
#   node2.pem, node2.key    signed by CA 2; the same names
set -euo pipefail
out="${1:-$(cd "$(dirname "$0")/.." && pwd)/tests/data/tls}"
mkdir -p "$out"
cd "$out"
days=36500
ext=$(mktemp)
trap 'rm -f "$ext" ./*.csr ./*.srl' EXIT
cat > "$ext" <<'EXT'
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:r1-node
EXT
for n in 1 2; do
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -keyout "ca$n.key" \
    -out "ca$n.pem" -subj "/CN=r1 test CA $n" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "node$n.key" -out "node$n.csr" \
    -subj "/CN=r1-node" 2>/dev/null
  openssl x509 -req -in "node$n.csr" -CA "ca$n.pem" -CAkey "ca$n.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "node$n.pem" 2>/dev/null
done
chmod 0644 ./*.key ./*.pem
echo "wrote $out: ca1.pem ca1.key node1.pem node1.key ca2.pem ca2.key node2.pem node2.key"
