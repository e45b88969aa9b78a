#!/usr/bin/env bash
# `certlab serve` under a CI suite's load, side by side with `openssl s_server` on the same
# certificate, in one run (loopback only; every client bounded in count and time):
#   - handshakes/s with `openssl s_time -new`
#   - 200 and 1,000 clients at once doing handshake + GET (examples/load.rs burst)
#   - a normal client's wait while 500 idle and 200 slowloris connections are held (load held)
#   - a TCP connect/close loop (load churn)
#   - RSS / threads / fds of each server before and after each phase
# Usage: scripts/bench-serve.sh [SECONDS per s_time run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
# 1,000 clients + 1,000 server sockets + the held ones: raise the open-file limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet --bin certlab --example load
bin=target/release/certlab
load=target/release/examples/load
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" generate -o "$work/pki" >/dev/null
pki=$work/pki
ca=$pki/ca.pem

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
res() { # RSS, threads, open fds of a process
  local pid=$1
  printf 'rss %s kB, threads %s, fds %s' "$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")" \
    "$(awk '/^Threads/{print $2}' "/proc/$pid/status")" "$(ls "/proc/$pid/fd" | wc -l)"
}

# certlab serve, stderr (one line per connection) to a file.
"$bin" serve --cert "$pki/localhost.chain.pem" --key "$pki/localhost.key" --name localhost \
  >"$work/certlab.out" 2>"$work/certlab.err" &
cpid=$!; pids+=("$cpid")
for _ in $(seq 100); do grep -q listening "$work/certlab.out" 2>/dev/null && break; sleep 0.05; done
caddr=$(sed -nE 's/^listening on ([0-9.:]+) .*/\1/p' "$work/certlab.out")

# openssl s_server on the same leaf, chain and key.
oport=$(free_port)
openssl s_server -quiet -www -accept "127.0.0.1:$oport" -cert "$pki/localhost.pem" \
  -cert_chain "$pki/intermediate.pem" -key "$pki/localhost.key" >/dev/null 2>&1 </dev/null &
opid=$!; pids+=("$opid")
oaddr=127.0.0.1:$oport
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$oport") 2>/dev/null && break; sleep 0.05; done

echo "certlab serve $caddr (pid $cpid), openssl s_server $oaddr (pid $opid); $(openssl version)"
declare -A base
base[certlab]=$(res "$cpid"); base[openssl]=$(res "$opid")
echo "baseline: certlab ${base[certlab]}; openssl ${base[openssl]}"

settle() { sleep 6; } # the server's deadlines (5 s) and lingering (1 s) run out

echo
echo "== handshakes/s: openssl s_time -new -time $secs (three rounds each, alternating; the"
echo "   machine is shared, so the median round counts), and the server's CPU per handshake"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
tick=$(getconf CLK_TCK)
declare -A hs us
for round in 1 2 3; do
  for who in certlab openssl; do
    addr=$caddr pid=$cpid
    [ "$who" = openssl ] && addr=$oaddr pid=$opid
    c0=$(cpu "$pid")
    t0=$(date +%s.%N)
    n=$(openssl s_time -connect "$addr" -new -time "$secs" 2>/dev/null |
      sed -nE 's/^([0-9]+) connections in [0-9.]+s;.*/\1/p' | head -1)
    t1=$(date +%s.%N)
    c1=$(cpu "$pid")
    rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')
    per=$(awk -v c=$((c1 - c0)) -v t="$tick" -v n="$n" 'BEGIN{printf "%.0f", c/t*1e6/n}')
    echo "round $round $who: $n handshakes, $rate/s, server CPU $per us/handshake"
    hs[$who]="${hs[$who]:-} $rate"
    us[$who]="${us[$who]:-} $per"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
for who in certlab openssl; do
  hs[$who]=$(echo "${hs[$who]}" | median)
  us[$who]=$(echo "${us[$who]}" | median)
done
echo "median: certlab ${hs[certlab]}/s, openssl ${hs[openssl]}/s, ratio $(awk -v a="${hs[certlab]}" -v b="${hs[openssl]}" 'BEGIN{printf "%.2f", a/b}')x;" \
  "server CPU per handshake: certlab ${us[certlab]} us, openssl ${us[openssl]} us"

phase() { # phase NAME MODE ARGS... : run the load tool against both servers, resources after
  local name=$1 mode=$2; shift 2
  echo
  echo "== $name"
  for who in certlab openssl; do
    local addr=$caddr pid=$cpid
    [ "$who" = openssl ] && addr=$oaddr pid=$opid
    echo "$who: $("$load" "$mode" "$addr" "$@")"
    echo "$who right after: $(res "$pid")"
  done
  settle
  echo "after: certlab $(res "$cpid"); openssl $(res "$opid")"
}

phase "200 clients at once, handshake + GET" burst "$ca" 200
phase "1,000 clients at once, handshake + GET" burst "$ca" 1000
echo
echo "== a normal client's wait while 500 idle + 200 slowloris connections are held"
echo "certlab: $("$load" held "$caddr" "$ca" 500 200 20)"
echo "certlab right after: $(res "$cpid")"
echo "openssl: $("$load" held "$oaddr" "$ca" 500 200 3)"
settle
echo "after: certlab $(res "$cpid"); openssl $(res "$opid")"
phase "TCP connect + close loop, 3 s" churn 3

echo
echo "baseline was: certlab ${base[certlab]}; openssl ${base[openssl]}"
dropped=$(grep -c 'log lines dropped' "$work/certlab.err" || true)
echo "certlab log lines: $(wc -l <"$work/certlab.err") (drop reports: $dropped)"
