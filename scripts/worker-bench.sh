#!/usr/bin/env bash
# Benchmark of team mode (docs/team.md): attempts per second with 1, 2 and 4 `aistr worker`s on
# one run in a throwaway PostgreSQL, against the loopback server answering in 20 ms, and the
# journal's rows and bytes per 10,000 attempts. Not a test: a measurement, quoted with its command.
#
# Usage: scripts/worker-bench.sh [WORKER_COUNTS] [ATTACKS]   e.g. scripts/worker-bench.sh "1 2 4" 9
#   builds nothing: run `cargo build -p aistr -p aistr-test-support --bins` first.
# Each run: jbb-harmful + jbb-benign (200 probes) x (plain + ATTACKS L2 methods), judge `rules`,
# `--concurrency 8` per worker, batches of 50.
set -euo pipefail
counts="${1:-1 2 4}"
n_attacks="${2:-9}"
bin="${AISTR_BIN:-target/debug/aistr}"
mock="${AISTR_MOCK_BIN:-target/debug/aistr-mock-openai}"
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
work=$(mktemp -d /tmp/aistr-worker-bench.XXXXXX)
chmod 755 "$work"
as_pg=()
if [[ $(id -u) == 0 ]]; then chown postgres: "$work"; as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U aistr --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w \
  -o "-p $port -k $work/data -c listen_addresses=127.0.0.1" start >/dev/null
"$mock" 20 > "$work/mock.out" &
mock_pid=$!
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q listening "$work/mock.out" && break; sleep 0.1; done
base="http://$(sed -n 's/listening on //p' "$work/mock.out")/v1"
all_attacks=(hijack.ignore_previous hijack.goal roleplay.persona roleplay.fiction distortion.false_premise
  masking.base64 masking.rot13 interference.forced_consent interference.distractor)
attack_flags=()
for a in "${all_attacks[@]:0:$n_attacks}"; do attack_flags+=(--attacks "$a"); done

for n in $counts; do
  db="bench_$n"
  "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U aistr "$db"
  url="postgres://aistr@127.0.0.1:$port/$db"
  "$bin" scan --target openai --base-url "$base" --model mock --dataset jbb-harmful --dataset jbb-benign \
    "${attack_flags[@]}" --judge rules --concurrency 8 --run-id bench --no-progress --db "$url" \
    --detach --out "$work/out" >/dev/null 2>&1
  start=$(date +%s.%N)
  pids=()
  for i in $(seq "$n"); do
    "$bin" worker --db "$url" --batch 50 --lease-secs 30 --poll-secs 0.2 --exit-when-idle 2>"$work/w$n-$i.log" &
    pids+=($!)
  done
  wait "${pids[@]}"
  end=$(date +%s.%N)
  psql() { command psql -h 127.0.0.1 -p "$port" -U aistr -d "$db" -Atc "$1"; }
  attempts=$(psql "SELECT COUNT(*) FROM attempts WHERE run_id = 'bench' AND status = 'done'")
  bytes=$(psql "SELECT pg_total_relation_size('attempts') + pg_total_relation_size('runs') + pg_total_relation_size('turns') + pg_total_relation_size('run_results')")
  rows=$(psql "SELECT (SELECT COUNT(*) FROM attempts) + (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM turns) + (SELECT COUNT(*) FROM run_results)")
  python3 - "$n" "$attempts" "$start" "$end" "$bytes" "$rows" <<'EOF'
import sys
n, attempts, start, end, size, rows = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
secs = end - start
print(f"workers {n}: {attempts} attempts in {secs:.1f} s = {attempts / secs:.1f} attempts/s; "
      f"journal {rows} rows, {size / 1e6:.2f} MB = {rows * 10000 / attempts:.0f} rows and "
      f"{size * 10000 / attempts / 1e6:.1f} MB per 10,000 attempts")
EOF
done
