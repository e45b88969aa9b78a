#!/usr/bin/env bash
# Bulk identities, side by side in one run (numbers for the README's Benchmarks section):
#   - `certlab generate`: 10,000 P-256 client identities end to end (spec parse, issue on every
#     core, write 30,000 files + manifest), on tmpfs and on the disk of $TMPDIR: fresh
#     directories, right after `rm -rf` of the previous fleet, and a regenerate over it; and
#     with CERTLAB_THREADS=1;
#   - the same fleet with `files = "combined"` (one file per identity: 10,000 files instead of
#     30,000) beside the default layout, interleaved, on tmpfs and on the disk: fresh
#     directories and right after `rm -rf` of the previous fleet of the same layout
#     (BULK_ONLY=layouts runs this part alone; LAYOUT_RUNS=N runs per case, default 5);
#   - a shell loop of `openssl req -x509 -CA …` (one process per identity) for OPENSSL_N
#     identities, extrapolated to 10,000;
#   - trustme (PyPI; installed with pip if missing) issuing 10,000 in a Python loop, in memory
#     and with the PEM files written;
#   - a shell loop of `cfssl gencert | cfssljson -bare` (Debian's golang-cfssl, installed with
#     apt-get if missing; one pair of processes per identity) for CFSSL_N identities,
#     extrapolated to 10,000.
# Usage: scripts/bench-bulk.sh [COUNT] (default 10000). Needs hyperfine, openssl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
openssl_n=${OPENSSL_N:-200}
cfssl_n=${CFSSL_N:-200}
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --quiet
bin=$PWD/target/release/certlab
work=$(mktemp -d)

cat > "$work/fleet.toml" <<TOML
[[ca]]
name = "root"
[[ca]]
name = "issuing"
issuer = "root"
[[leaf]]
name = "client-{n}"
issuer = "issuing"
role = "client"
key = "ecdsa-p256"
count = $count
dir = "clients"
uri = ["spiffe://fleet.test/client-{n}"]
TOML

sed 's/^dir = "clients"$/dir = "clients"\nfiles = "combined"/' "$work/fleet.toml" > "$work/fleet-combined.toml"
grep -q '^files = "combined"$' "$work/fleet-combined.toml"
shm=$(mktemp -d /dev/shm/certlab-bench.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT

# The two layouts side by side: 3 files per identity (the default) and 1 (`files =
# "combined"`), interleaved run by run so that the machine's load falls on both alike. On the
# disk, nothing is deleted between the fresh runs (a deletion in the last minutes slows every
# new file down on an ext4 without a journal, see the README); the `rm -rf` case removes the
# previous fleet of the same layout just before each run.
layouts() {
  local runs=${LAYOUT_RUNS:-5}
  echo "== layouts: $count identities, default (3 files each) vs files = \"combined\" (1 file each); $(uptime)"
  for base in "$shm" "$work"; do
    local fs
    fs=$(findmnt -n -o FSTYPE -T "$base" | head -1)
    if [ "$base" = "$work" ]; then
      # Let the inodes of earlier deletions on the disk age past ext4's 60 s window.
      sync
      sleep "${SETTLE_S:-70}"
    fi
    echo "-- on $fs ($base): fresh directories, interleaved, $runs runs each (wall, user, sys)"
    for i in $(seq 1 "$runs"); do
      for layout in separate combined; do
        local spec="$work/fleet.toml"
        [ "$layout" = combined ] && spec="$work/fleet-combined.toml"
        /usr/bin/time -f "$layout %e %U %S" -a -o "$work/layouts-$fs.txt" \
          "$bin" generate --quiet --spec "$spec" -o "$base/layout-$layout-$i"
      done
    done
    python3 - "$work/layouts-$fs.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for layout in ("separate", "combined"):
    wall = sorted(float(r[1]) for r in rows if r[0] == layout)
    user = statistics.median(float(r[2]) for r in rows if r[0] == layout)
    sys_ = statistics.median(float(r[3]) for r in rows if r[0] == layout)
    print(f"{layout:9} min {wall[0]:.3f} s, median {statistics.median(wall):.3f} s, max {wall[-1]:.3f} s wall; median {user:.2f} s user + {sys_:.2f} s sys")
PY
    ls "$base/layout-separate-1/clients" | wc -l | xargs echo "files in clients/, default:"
    ls "$base/layout-combined-1/clients" | wc -l | xargs echo "files in clients/, combined:"
    rm -rf "$base"/layout-*
    echo "-- on $fs: right after rm -rf of the previous fleet of the same layout"
    hyperfine --warmup 1 --runs "$runs" --export-json "$work/rm-$fs.json" \
      --prepare "rm -rf $base/pki-separate" -n separate "$bin generate --quiet --spec $work/fleet.toml -o $base/pki-separate" \
      --prepare "rm -rf $base/pki-combined" -n combined "$bin generate --quiet --spec $work/fleet-combined.toml -o $base/pki-combined"
    python3 - "$work/rm-$fs.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(r["times"])
    print(f"{r['command']:9} min {t[0]:.3f} s, median {statistics.median(t):.3f} s, max {t[-1]:.3f} s wall (after rm -rf)")
PY
    rm -rf "$base"/pki-*
  done
}
if [ "${BULK_ONLY:-}" = layouts ]; then
  layouts
  exit 0
fi

# Two file systems (tmpfs, and the disk that holds $TMPDIR), and on each two cases: fresh
# directories (nothing deleted nearby in the last minutes) and a regenerate right after
# `rm -rf` of the previous fleet. On an ext4 without a journal the second is much slower:
# ext4 does not reuse an inode freed in the last 60 s (+300 s while its inode-table block is
# dirty) and scans past each one for every new file (see the README).
echo "== certlab generate: $count P-256 client identities, end to end ($(nproc) cores); $(uptime)"
for base in "$shm" "$work"; do
  fs=$(findmnt -n -o FSTYPE -T "$base")
  echo "-- on $fs ($base): fresh directories, one run each"
  for i in 1 2 3 4 5; do
    /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB max RSS" \
      "$bin" generate --quiet --spec "$work/fleet.toml" -o "$base/fresh-$i"
  done
  echo "-- on $fs: right after rm -rf of the previous fleet (hyperfine --prepare 'rm -rf')"
  hyperfine --warmup 1 --runs 5 --prepare "rm -rf $base/pki" \
    "$bin generate --quiet --spec $work/fleet.toml -o $base/pki"
  echo "-- on $fs: regenerate over the previous fleet (no rm: new leaves, the CAs kept)"
  hyperfine --warmup 1 --runs 5 "$bin generate --quiet --spec $work/fleet.toml -o $base/pki"
  rm -rf "$base"/fresh-*
done
echo "== the same on one thread (CERTLAB_THREADS=1), tmpfs, fresh directories"
for i in 1 2 3; do
  CERTLAB_THREADS=1 /usr/bin/time -f "%e s wall, %U s user, %S s sys" \
    "$bin" generate --quiet --spec "$work/fleet.toml" -o "$shm/one-$i"
done
rm -rf "$shm"/one-*
ls "$work/pki/clients" | wc -l | xargs echo "files in clients/:"
layouts

echo "== openssl req -x509 -CA loop: $openssl_n identities (one process each), extrapolated to $count"
mkdir -p "$work/ossl"
cp "$work/pki/issuing.pem" "$work/pki/issuing.key" "$work/ossl/"
cat > "$work/ossl/loop.sh" <<SH
set -e
cd "$work/ossl"
for i in \$(seq 1 $openssl_n); do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c\$i.key -out c\$i.pem \
    -subj /CN=client-\$i -CA issuing.pem -CAkey issuing.key -days 397 \
    -addext extendedKeyUsage=clientAuth -addext subjectAltName=URI:spiffe://fleet.test/client-\$i 2>/dev/null
done
SH
hyperfine --runs 3 --export-json "$work/ossl.json" "bash $work/ossl/loop.sh"
python3 - "$work/ossl.json" "$openssl_n" "$count" <<'PY'
import json, sys
mean = json.load(open(sys.argv[1]))["results"][0]["mean"]
n, count = int(sys.argv[2]), int(sys.argv[3])
print(f"openssl: {mean:.2f} s for {n} = {mean / n * 1e3:.2f} ms each -> {mean / n * count:.1f} s for {count} (extrapolated)")
PY

echo "== trustme: $count identities in a Python loop"
python3 -c "import trustme" 2>/dev/null || pip install -q trustme
python3 - "$count" "$work/tm" <<'PY'
import os, sys, time
import trustme
count, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
start = time.perf_counter()
certs = [ca.issue_cert(f"client-{i}.fleet.test", key_type=trustme.KeyType.ECDSA) for i in range(1, count + 1)]
issued = time.perf_counter() - start
for i, c in enumerate(certs, 1):
    c.cert_chain_pems[0].write_to_path(f"{out}/client-{i}.pem")
    c.private_key_pem.write_to_path(f"{out}/client-{i}.key")
total = time.perf_counter() - start
print(f"trustme {trustme.__version__}: {issued:.2f} s to issue {count} in memory, {total:.2f} s with the PEM files written")
PY
echo "== cfssl gencert loop: $cfssl_n identities (one cfssl + cfssljson per identity, as users script it), extrapolated to $count"
command -v cfssl >/dev/null || { apt-get update -qq && apt-get install -y -qq golang-cfssl; }
cfssl version | head -1
mkdir -p "$work/cfssl"
cp "$work/pki/issuing.pem" "$work/pki/issuing.key" "$work/cfssl/"
cat > "$work/cfssl/config.json" <<'JSON'
{"signing": {"profiles": {"client": {"expiry": "9528h", "usages": ["digital signature", "client auth"]}}}}
JSON
cat > "$work/cfssl/loop.sh" <<SH
set -e
cd "$work/cfssl"
for i in \$(seq 1 $cfssl_n); do
  echo '{"CN": "client-'\$i'", "key": {"algo": "ecdsa", "size": 256}}' |
    cfssl gencert -loglevel 5 -ca issuing.pem -ca-key issuing.key -config config.json -profile client \
      -hostname spiffe://fleet.test/client-\$i - | cfssljson -bare c\$i
done
SH
hyperfine --runs 3 --prepare "rm -f $work/cfssl/c*.pem $work/cfssl/c*.csr" --export-json "$work/cfssl.json" "bash $work/cfssl/loop.sh"
python3 - "$work/cfssl.json" "$cfssl_n" "$count" <<'PY'
import json, sys
mean = json.load(open(sys.argv[1]))["results"][0]["mean"]
n, count = int(sys.argv[2]), int(sys.argv[3])
print(f"cfssl: {mean:.2f} s for {n} = {mean / n * 1e3:.2f} ms each -> {mean / n * count:.1f} s for {count} (extrapolated)")
PY
