#!/usr/bin/env bash
# Paired benchmark of the embedded model: aistr's candle path and llama.cpp on the same GGUF files
# and the same rendered prompt, in one run, at 1 and 2 threads (greedy, 32 new tokens, median of
# RUNS), and aistr's aggregate tokens/s with 1, 4 and 8 conversations batched. Not part of CI. llama.cpp comes from the llama-cpp-python source package, built with pip
# into a throwaway venv (about 3 minutes on 2 cores); when it cannot be built the llama.cpp rows
# are skipped with a message and aistr's are still printed.
#
#   scripts/local-model-bench.sh [RUNS] [GGUF ...]     (default: the installed Q8_0 and Q4_1 files)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-5}"; shift || true
LLAMA_CPP_PYTHON="${LLAMA_CPP_PYTHON:-llama-cpp-python==0.3.16}"
VENV="${AISTR_BENCH_VENV:-${TMPDIR:-/tmp}/aistr-llamacpp-venv}"

# Release profile: the dev profile builds candle at opt-level 3 but with debug assertions and
# overflow checks: on 2026-12-03 the same Q8_0 file at 2 threads ran 46.5 prefill / 31.6 decode
# tokens/s in dev and 124.1 / 53.1 in release.
cargo build -q --release -p aistr-local-model --example bench
BENCH=target/release/examples/bench
MODELS="$(target/debug/aistr models dir 2>/dev/null || echo "$HOME/.local/share/aistr/models")"
if [ "$#" -eq 0 ]; then set -- "$MODELS/SmolLM2-135M-Instruct.Q8_0.gguf" "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"; fi

have_llama=0
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
  have_llama=1
elif python3 -m venv "$VENV" >/dev/null 2>&1 \
  && CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/pip" install -q "$LLAMA_CPP_PYTHON" >"$VENV.build.log" 2>&1; then
  have_llama=1
else
  echo "llama.cpp: could not build $LLAMA_CPP_PYTHON (see $VENV.build.log); its rows are skipped" >&2
fi

prompt=$(mktemp)
trap 'rm -f "$prompt"' EXIT
batch_lines=""
printf '%-34s %-9s %7s %12s %11s %7s\n' file engine threads prefill_t/s decode_t/s rss_mb
for gguf in "$@"; do
  for threads in 1 2; do
    batches=""
    [ "$threads" = 2 ] && batches="1,4,8"
    out=$(RAYON_NUM_THREADS=$threads AISTR_BENCH_BATCHES="$batches" AISTR_BENCH_PROMPT_OUT="$prompt" "$BENCH" "$gguf" "$RUNS" 2>&1)
    line=$(echo "$out" | grep '^RESULT aistr threads')
    batch_lines+="$(echo "$out" | { grep '^RESULT_BATCH' || true; } | sed "s|^RESULT_BATCH aistr|$(basename "$gguf") threads=2|")"$'\n'
    read -r _ _ _ p d r <<<"$(echo "$line" | sed 's/[a-z_]*=//g')"
    printf '%-34s %-9s %7s %12s %11s %7s\n' "$(basename "$gguf")" aistr "$threads" "$p" "$d" "$r"
    if [ "$have_llama" = 1 ]; then
      "$VENV/bin/python" - "$gguf" "$prompt" "$threads" "$RUNS" <<'PY'
import os, resource, statistics, sys, time
from llama_cpp import Llama
path, prompt_file, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=512, verbose=False)
tokens = llm.tokenize(open(prompt_file, encoding="utf-8").read().encode(), add_bos=False, special=True)
pre, dec = [], []
for _ in range(runs):
    llm.reset()
    t0 = time.perf_counter(); llm.eval(tokens); t1 = time.perf_counter()
    n = 0
    tok = llm.sample(temp=0.0)
    while n < 31 and tok != llm.token_eos():
        llm.eval([tok]); n += 1
        tok = llm.sample(temp=0.0)
    t2 = time.perf_counter()
    pre.append(len(tokens) / (t1 - t0)); dec.append(n / max(t2 - t1, 1e-9))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{os.path.basename(path):<34} {'llama.cpp':<9} {threads:>7} {statistics.median(pre):>12.1f} {statistics.median(dec):>11.1f} {rss:>7.0f}")
PY
    fi
  done
done
echo
echo "aistr, aggregate generated tokens/s with N different conversations decoded together (prefill included):"
printf '%s' "$batch_lines"
