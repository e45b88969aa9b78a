#!/usr/bin/env bash
# Benchmarks with numbers for the README. Needs hyperfine (installed here if missing).
# Usage: scripts/bench.sh   (generate, leaf issuance, scripts/bench-serve.sh: `certlab serve`
# under load beside openssl s_server, then scripts/bench-lab.sh: lab and probe)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --quiet
bin=target/release/certlab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== certlab generate (dev PKI, end to end, fresh directory each run)"
hyperfine --warmup 3 --runs 50 --prepare "rm -rf $work/pki" "$bin generate -o $work/pki"

echo "== certlab generate --template lab (every fault)"
hyperfine --warmup 2 --runs 20 --prepare "rm -rf $work/lab" "$bin generate --template lab -o $work/lab"

echo "== in-process leaf issuance (criterion)"
cargo bench --quiet --bench issue -- --noplot 2>/dev/null | grep -E 'leaf/|fixture/|time:'

# `certlab serve` under a CI suite's load, side by side with openssl s_server.
scripts/bench-serve.sh

# Fleets: 10,000 client identities beside an openssl loop and trustme.
scripts/bench-bulk.sh

# The live wing: the whole lab and one probe.
exec scripts/bench-lab.sh
