#!/bin/bash
# Makes one small PKI per client-aligned rule with `openssl` alone (not certlab), for
# tests/it/check_strict.rs. Usage: make.sh OUTDIR. Each OUTDIR/RULE/ holds ca.pem (the trust
# anchors), chain.pem (leaf first, then intermediates) and, for the CRL rules, crl.pem.
# Every leaf is for the host strict.test. Only `openssl` (3.x) is needed.
set -euo pipefail
out=$1
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# csr NAME SUBJECT
csr() { openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null; }
# selfsign NAME EXTFILE
selfsign() {
  openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 3650 -set_serial "0x$(openssl rand -hex 8)" \
    -extfile "$2" -out "$1.pem" 2>/dev/null
}
# sign NAME ISSUER EXTFILE
sign() {
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -days 365 \
    -set_serial "0x$(openssl rand -hex 8)" -extfile "$3" -out "$1.pem" 2>/dev/null
}
ext() { printf '%s\n' "$@" > "$EXT"; }

ROOT_OK='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash'
INT_OK='basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always'
LEAF_OK='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:strict.test
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always'

# case DIR ROOT_EXT INT_EXT(or -) LEAF_EXT [INT_SUBJECT or -] [LEAF_SUBJECT] (`/`: the empty name)
case_() {
  local d=$1 root_ext=$2 int_ext=$3 leaf_ext=$4 int_subj=${5:--} leaf_subj=${6:-/CN=strict.test}
  [ "$int_subj" = - ] && int_subj="/CN=Strict Intermediate"
  mkdir -p "$d"
  (
    cd "$d"
    EXT=ext.cnf
    key root; csr root "/CN=Strict Root $d"; printf '%s\n' "$root_ext" > ext.cnf; selfsign root ext.cnf
    issuer=root
    if [ "$int_ext" != - ]; then
      key int
      csr int "$int_subj"
      printf '%s\n' "$int_ext" > ext.cnf; sign int root ext.cnf; issuer=int
    fi
    key leaf; csr leaf "$leaf_subj"; printf '%s\n' "$leaf_ext" > ext.cnf; sign leaf "$issuer" ext.cnf
    cp root.pem ca.pem
    if [ "$issuer" = int ]; then cat leaf.pem int.pem > chain.pem; else cp leaf.pem chain.pem; fi
    rm -f ext.cnf ./*.csr ./*.srl
  )
}

# crl DIR [CRL_EXTENSION_LINE]: a CRL of the root (no revoked certificates).
crl() {
  (
    cd "$1"
    : > index.txt
    cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = index.txt
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
${2:-}
CNF
    [ -z "${2:-}" ] && echo 1000 > crlnumber && sed -i 's/^\[d\]$/[d]\ncrlnumber = crlnumber/' ca.cnf
    openssl ca -gencrl -config ca.cnf -keyfile root.key -cert root.pem -out crl.pem 2>/dev/null
    rm -f index.txt* ca.cnf crlnumber*
  )
}

# 1. an intermediate whose basicConstraints is not critical (easy-rsa's default).
case_ ca-bc-not-critical "$ROOT_OK" "${INT_OK/basicConstraints=critical,/basicConstraints=}" "$LEAF_OK"
# 2. a leaf without authorityKeyIdentifier.
case_ missing-aki "$ROOT_OK" - "${LEAF_OK/authorityKeyIdentifier=keyid:always/authorityKeyIdentifier=none}"
# 3. an intermediate without subjectKeyIdentifier.
# (The leaf's AKI key id is written out: OpenSSL cannot derive it from an issuer without SKI.)
case_ missing-ski "$ROOT_OK" "${INT_OK/subjectKeyIdentifier=hash/subjectKeyIdentifier=none}" \
  "${LEAF_OK/authorityKeyIdentifier=keyid:always/2.5.29.35=DER:30:16:80:14:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14}"
# 4. an intermediate whose keyUsage lacks keyCertSign.
case_ ca-ku-no-keycertsign "$ROOT_OK" "${INT_OK/keyCertSign,cRLSign/digitalSignature,cRLSign}" "$LEAF_OK"
# 5. a root with CA:TRUE and a keyUsage without keyCertSign.
case_ root-inconsistent-ca-extensions "${ROOT_OK/keyCertSign,cRLSign/digitalSignature}" - "$LEAF_OK"
# 6. a CRL signed by a root whose keyUsage lacks cRLSign.
case_ crl-issuer-no-crlsign "${ROOT_OK/keyCertSign,cRLSign/keyCertSign}" - "$LEAF_OK"
crl crl-issuer-no-crlsign
# 7. a root with a critical authorityKeyIdentifier (on the leaf, rustls rejects it too).
case_ critical-aki "$ROOT_OK
authorityKeyIdentifier=critical,keyid:always" - "$LEAF_OK"
# 8. a root with a critical subjectKeyIdentifier (on the leaf, rustls rejects it too).
case_ critical-ski "${ROOT_OK/subjectKeyIdentifier=/subjectKeyIdentifier=critical,}" - "$LEAF_OK"
# 9. a leaf (CA:FALSE) whose keyUsage asserts keyCertSign.
case_ leaf-keycertsign "$ROOT_OK" - "${LEAF_OK/digitalSignature/digitalSignature,keyCertSign}"
# 10. an intermediate CA with an empty subject.
case_ ca-empty-subject "$ROOT_OK" "$INT_OK" "$LEAF_OK" /
# 11. a leaf with an empty subject and a non-critical subjectAltName.
case_ san-noncritical-empty-subject "$ROOT_OK" - "$LEAF_OK" - /
# 12. a CRL whose CRL number extension is critical.
case_ crl-number-critical "$ROOT_OK" - "$LEAF_OK"
crl crl-number-critical '2.5.29.20 = critical,ASN1:INTEGER:1000'
# 13. a root without basicConstraints.
case_ root-missing-basic-constraints "${ROOT_OK/basicConstraints=critical,CA:TRUE/}" - "$LEAF_OK"
# 14. a trust anchor that another root cross-signed, without authorityKeyIdentifier.
case_ cross-signed-anchor-missing-aki "$ROOT_OK" "${INT_OK/authorityKeyIdentifier=keyid:always/authorityKeyIdentifier=none}" "$LEAF_OK"
(cd cross-signed-anchor-missing-aki && cp int.pem ca.pem && cp leaf.pem chain.pem)
# The controls: every extension as the rules want it, with an intermediate, and with a CRL.
case_ good "$ROOT_OK" "$INT_OK" "$LEAF_OK"
case_ good-crl "$ROOT_OK" - "$LEAF_OK"
crl good-crl
