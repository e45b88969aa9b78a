#!/usr/bin/env bash
# What the first TestPki costs a crate that depends on certlab (benches/first-call), built
# twice in release mode: as such a crate gets it by default (aws-lc seeds its random generator
# with CPU-jitter entropy too), and with the one line a dependent crate adds to its own
# `.cargo/config.toml` (`[env] AWS_LC_SYS_NO_JITTER_ENTROPY = "1"`). certlab's own
# .cargo/config.toml does not reach dependent crates: the environment variable is read by
# aws-lc-sys's build script when the dependent crate builds it.
set -euo pipefail
cd "$(dirname "$0")/../benches/first-call"
runs="${RUNS:-10}"
for mode in default no-jitter; do
  target="${TMPDIR:-/tmp}/certlab-first-call-$mode"
  if [ "$mode" = no-jitter ]; then export AWS_LC_SYS_NO_JITTER_ENTROPY=1; else export AWS_LC_SYS_NO_JITTER_ENTROPY=0; fi
  # Run from outside the repository so that certlab's .cargo/config.toml is not read.
  (cd / && cargo build --release --quiet --manifest-path "$OLDPWD/Cargo.toml" --target-dir "$target")
  echo "== $mode (AWS_LC_SYS_NO_JITTER_ENTROPY=$AWS_LC_SYS_NO_JITTER_ENTROPY), $runs fresh processes"
  for _ in $(seq "$runs"); do "$target/release/certlab-first-call"; done
done
