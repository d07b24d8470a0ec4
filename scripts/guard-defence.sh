#!/usr/bin/env bash
# The defence measurement of docs/guard.md: the same suite against the embedded model bare and
# through `aistr guard --upstream local`, then `aistr compare`.
# Usage: scripts/guard-defence.sh [OUT_DIR] [POLICY_FILE]   (needs the models: AISTR_MODELS_DIR)
# Extra scan flags (e.g. --limit 10) can be passed in AISTR_DEFENCE_FLAGS.
set -euo pipefail
out="${1:-aistr-out/defence}"
policy="${2:-}"
aistr="${AISTR_BIN:-target/debug/aistr}"
mkdir -p "$out"
rm -f "$out/journal.db" "$out/keys.toml"
# Two L2 families beside the default suite (jbb-harmful 30, jbb-benign 20, jade-zh 20, the L1
# baseline): instruction hijacking and prompt masking, one method each (AISTR_DEFENCE_ATTACKS to change).
read -r -a attacks <<< "${AISTR_DEFENCE_ATTACKS:---attacks hijack.ignore_previous --attacks masking.base64}"
# shellcheck disable=SC2086
"$aistr" scan "${attacks[@]}" --no-progress --db "$out/journal.db" --out "$out/bare" --run-id bare \
  ${AISTR_DEFENCE_FLAGS:-}
key=$("$aistr" guard keys add defence --keys "$out/keys.toml")
"$aistr" guard --upstream local --listen 127.0.0.1:0 --keys "$out/keys.toml" \
  --audit-log "$out/audit.jsonl" ${policy:+--policy "$policy"} > "$out/guard.stdout" &
guard=$!
trap 'kill $guard 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$out/guard.stdout" 2>/dev/null && break; sleep 0.2; done
addr=$(sed -n 's|.*http://\([^ ]*\).*|\1|p' "$out/guard.stdout" | head -1)
# shellcheck disable=SC2086
GUARD_KEY="$key" "$aistr" scan "${attacks[@]}" --no-progress --target openai --base-url "http://$addr/v1" \
  --model SmolLM2-135M-Instruct --api-key-env GUARD_KEY --concurrency 1 \
  --db "$out/journal.db" --out "$out/guarded" --run-id guarded ${AISTR_DEFENCE_FLAGS:-}
"$aistr" compare bare guarded --db "$out/journal.db" | tee "$out/compare.txt"
"$aistr" compare bare guarded --db "$out/journal.db" --json > "$out/compare.json"
kill "$guard"; wait "$guard" || true
# The latency the guard added (its own measure: time in the guard minus time waiting on the model).
sed -n 's/.*"added_ms":\([0-9.e+-]*\).*/\1/p' "$out/audit.jsonl" | sort -g | awk '
  function at(q,   i) { i = int(NR * q + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
  { v[NR] = $1 }
  END { if (NR == 0) exit
    printf "guard added latency over %d requests: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n", NR, at(0.50), at(0.95), at(0.99) }' | tee "$out/latency.txt"
