#!/usr/bin/env bash
# Benchmarks of the live wing, with numbers for the README:
#   1. the whole `certlab lab` run (build the lab PKI, serve every scenario on loopback, probe
#      each, compare): target under 1 second on a 2-core machine;
#   2. one `certlab probe` of a served endpoint on loopback, as a process (includes process
#      start-up) with hyperfine, and in process with criterion (benches/probe.rs): target under
#      5 ms per probe.
# Needs hyperfine (installed here if missing). Usage: scripts/bench-lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --quiet
bin=target/release/certlab
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== certlab lab (every scenario: build, serve, probe, compare)"
"$bin" lab >/dev/null # fails the script if any scenario does not match
hyperfine --warmup 3 --runs 30 "$bin lab"

echo "== certlab lab --json"
hyperfine --warmup 3 --runs 30 "$bin lab --json"

echo "== certlab probe of a served endpoint on loopback (process start-up included)"
"$bin" generate --template lab -o "$work/lab" >/dev/null
"$bin" serve --pki "$work/lab" --scenario good >"$work/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
addr=$(grep -o 'listening on [^ ]*' "$work/serve.out" | head -n 1 | awk '{print $3}')
port=${addr##*:}
"$bin" probe "localhost:$port" --pki "$work/lab" >/dev/null
hyperfine --warmup 5 --runs 100 -N "$bin probe localhost:$port --ca $work/lab/ca.pem" \
  "$bin probe 127.0.0.1:$port --ca $work/lab/ca.pem --servername localhost" \
  "$bin probe localhost:$port --pki $work/lab" "$bin --version"

echo "== probe in process (criterion, benches/probe.rs)"
cargo bench --quiet --bench probe -- --noplot 2>/dev/null | grep -E 'probe/|time:'
