#!/usr/bin/env bash
# Fuzzes every parser that reads user or network bytes (tests/it/fuzz.rs, proptest on stable
# Rust) with many cases per target in a release build, and prints the count of each target.
#
# Usage: scripts/fuzz.sh [CASES]        (default 100000 per target)
#   CERTLAB_FUZZ_PROBE_CASES=N          cases of the network target (default: CASES)
#   FUZZ_THREADS=N                      targets run at once (default 2)
#   FUZZ_ONLY=NAME                      only the targets whose test name contains NAME
#   FUZZ_LOG=FILE                       keep the whole test output there
# `cargo test` runs the same targets with a few thousand cases each.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-${CERTLAB_FUZZ_CASES:-100000}}
export CERTLAB_FUZZ_CASES=$cases
export CERTLAB_FUZZ_PROBE_CASES=${CERTLAB_FUZZ_PROBE_CASES:-$cases}
if [ -n "${FUZZ_LOG:-}" ]; then
    log=$FUZZ_LOG
else
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
fi

cargo test --release --test it --no-run --quiet
echo "== fuzz: $CERTLAB_FUZZ_CASES cases per target (probe: $CERTLAB_FUZZ_PROBE_CASES), release build"
start=$(date +%s)
status=0
# Panic messages of shrinking go to stderr too; the counts are the `fuzz NAME: N cases` lines
# (libtest may print `test fuzz::x ... ` in front of them).
cargo test --release --test it --quiet "fuzz::${FUZZ_ONLY:-}" -- --nocapture \
    --test-threads="${FUZZ_THREADS:-2}" >"$log" 2>&1 || status=$?
end=$(date +%s)
grep -aoE 'fuzz [a-z-]+: [0-9]+ cases, .*' "$log" | sort || true
if [ "$status" -ne 0 ]; then
    echo "== FAILED (exit $status): the minimised input follows"
    grep -E -A20 "panicked at|minimal failing input" "$log" | head -80
    exit "$status"
fi
echo "== all targets passed, 0 panics; wall time $((end - start)) s"
