#!/usr/bin/env bash
# Rebuilds NOTICE from the per-crate attribution fragments in NOTICE-fragments/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{
  echo "aistr"
  echo "Copyright the aistr authors. Licensed under the Apache License, Version 2.0."
  echo
  echo "This product includes third-party data, model weights and test fixtures, each under its own"
  echo "licence. Their attributions follow; the licence texts sit next to the copied files."
  for f in NOTICE-fragments/*.md; do
    echo
    cat "$f"
  done
} > NOTICE
