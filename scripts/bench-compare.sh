#!/usr/bin/env bash
# Two certlab binaries side by side, for the README's `lab` and `probe` rows: whole-command times
# on a small VM drift by milliseconds from one minute to the next, so the binaries are
# interleaved (ROUNDS rounds of hyperfine over both, pooled) instead of measured one after the
# other. Measures `lab`, `lab --json`, `probe --ca`, `probe --pki` (of a `certlab serve`
# endpoint of the lab PKI on loopback) and `--version`; prints mean ± sd, median and min per
# command. Wait a minute after other loopback-heavy work (TIME_WAIT sockets slow connects).
# Usage: scripts/bench-compare.sh OLD_BINARY NEW_BINARY [ROUNDS=4] [RUNS=15]
set -euo pipefail
old=${1:?usage: bench-compare.sh OLD_BINARY NEW_BINARY [ROUNDS] [RUNS]}
new=${2:?usage: bench-compare.sh OLD_BINARY NEW_BINARY [ROUNDS] [RUNS]}
rounds=${3:-4}
runs=${4:-15}
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Runs ROUNDS rounds of hyperfine over the given commands and pools the times per command.
compare() {
  for r in $(seq 1 "$rounds"); do
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/round-$r.json" "$@" >/dev/null
  done
  python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
pooled = {}
for r in range(1, rounds + 1):
    for res in json.load(open(f"{work}/round-{r}.json"))["results"]:
        pooled.setdefault(res["command"], []).extend(t * 1000 for t in res["times"])
for cmd, t in pooled.items():
    t.sort()
    print(f"  {statistics.mean(t):6.1f} ms ± {statistics.stdev(t):4.1f}  median {statistics.median(t):6.1f}"
          f"  min {t[0]:6.1f}  (n={len(t)})  {cmd}")
PY
}

uptime
echo "== certlab lab"
compare "$old lab" "$new lab" "$old lab --json" "$new lab --json"

echo "== certlab probe of a served endpoint on loopback, and the process floor"
"$new" generate --template lab -o "$work/lab" >/dev/null
"$new" serve --pki "$work/lab" --scenario good >"$work/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
addr=$(grep -o 'listening on [^ ]*' "$work/serve.out" | head -n 1 | awk '{print $3}')
port=${addr##*:}
"$new" probe "localhost:$port" --pki "$work/lab" >/dev/null
runs=$((runs + 10)) compare \
  "$old probe localhost:$port --ca $work/lab/ca.pem" "$new probe localhost:$port --ca $work/lab/ca.pem" \
  "$old probe localhost:$port --pki $work/lab" "$new probe localhost:$port --pki $work/lab" \
  "$old --version" "$new --version"
