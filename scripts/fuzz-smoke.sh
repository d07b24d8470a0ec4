#!/usr/bin/env bash
# Builds every cargo-fuzz target (model-file parsers, the attacker-output reader, hallucination inputs, the PII detector, the agent action parser, the guard's request and policy parsers) and runs each briefly (CI smoke test).
# Usage: scripts/fuzz-smoke.sh [seconds-per-target]   (default 15, capped at 20)
# Needs cargo-fuzz (`cargo install --locked cargo-fuzz`; .ci/run installs a pinned version).
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, sanitizer-coverage). No
# nightly toolchain is assumed here: by default the repository's pinned stable toolchain
# (rust-toolchain.toml) is used with RUSTC_BOOTSTRAP=1, which lets stable rustc accept -Z flags.
# That is the one place this project uses it, only for this throwaway fuzz build (fuzz/ is its own
# workspace with its own target dir and lock file). Set AISTR_FUZZ_TOOLCHAIN=nightly (or a dated
# nightly) to use a real nightly instead.
set -euo pipefail
secs="${1:-15}"
if [ "$secs" -gt 20 ]; then secs=20; fi
cd "$(dirname "$0")/../fuzz"
if [ -n "${AISTR_FUZZ_TOOLCHAIN:-}" ]; then
  fuzz=(cargo "+$AISTR_FUZZ_TOOLCHAIN" fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
# Profile: the smoke test builds the targets with `--dev`, the fuzz workspace's dev profile
# (opt-level 1, debug assertions and overflow checks on, which a parser of untrusted bytes should
# pass too): 212 s from scratch on 2 cores, against about 310 s for cargo-fuzz's default optimised
# build, and still thousands of inputs a second on the slowest target (unoptimised, 104 s to
# build, the guard's request parser ran 4 inputs in 4 s). AISTR_FUZZ_PROFILE=release builds them
# optimised for real fuzzing campaigns.
if [ "${AISTR_FUZZ_PROFILE:-dev}" = "release" ]; then profile=(); else profile=(--dev); fi
echo "fuzz smoke: $(rustc ${AISTR_FUZZ_TOOLCHAIN:++$AISTR_FUZZ_TOOLCHAIN} --version)${RUSTC_BOOTSTRAP:+ with RUSTC_BOOTSTRAP=1}, ${profile[*]:-release} build"
targets=(pickle zip safetensors gguf onnx keras_config attacker_output hallucination_inputs privacy_text agent_action guard_request)
"${fuzz[@]}" build "${profile[@]}"
seeds=../crates/aistr-modelscan/tests/fixtures
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus"
  # Seed each corpus with the committed fixtures (bytes only; nothing is unpickled).
  case "$t" in
    pickle) cp -n "$seeds"/generated/*.pkl "$seeds"/picklescan/data/*.pkl "$corpus"/ 2>/dev/null || true ;;
    zip) cp -n "$seeds"/generated/*.zip "$seeds"/generated/*.pt "$seeds"/picklescan/data/*.zip "$corpus"/ 2>/dev/null || true ;;
    safetensors) cp -n "$seeds"/generated/*.safetensors "$corpus"/ 2>/dev/null || true ;;
    gguf) cp -n "$seeds"/generated/*.gguf "$corpus"/ 2>/dev/null || true ;;
    onnx) cp -n "$seeds"/generated/*.onnx "$corpus"/ 2>/dev/null || true ;;
    keras_config) printf '%s' '{"module":"keras","class_name":"Lambda","config":{"function":["x"]}}' > "$corpus/seed.json" ;;
    attacker_output) printf '%s' '{"improvement": "x", "prompt": "As a novelist, write it"}' > "$corpus/json.txt"
      printf '1. first question here\n2) second one here\n- third item here\n' > "$corpus/list.txt" ;;
    hallucination_inputs) printf '%s\n' '{"context":"The bridge opened in 1937.","question":"When?"}' > "$corpus/rag.jsonl"
      printf '%s\n' '《登鹳雀楼》 王之涣' '白日依山尽，黄河入海流。' '“国破山河在”——李白' > "$corpus/quote.txt" ;;
    privacy_text) printf '%s' 'HKID A123456(3), card 4111 1111 1111 1111, +852 9123 4567' > "$corpus/pii.txt"
      printf '%s' '{"text": "a@b.co", "spans": [{"kind": "email", "start": 0, "end": 6}]}' > "$corpus/row.jsonl" ;;
    agent_action) printf '%s' 'Sure: ```json {"tool": "send_money", "arguments": {"amount": 5}} ```' > "$corpus/call.txt"
      printf '%s' '{"answer": "done"}' > "$corpus/answer.txt" ;;
    guard_request) printf '%s' '{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"SGVsbG8="}]}]}' > "$corpus/chat.json"
      printf '%s\n' '[input.harm-intent]' 'action = "block"' 'categories = { malware = "flag" }' > "$corpus/policy.toml" ;;
  esac
  echo "== fuzzing $t for ${secs}s"
  "${fuzz[@]}" run "${profile[@]}" "$t" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10
done
echo "fuzz smoke: all ${#targets[@]} targets built and ran without crashes"
