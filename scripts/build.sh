#!/usr/bin/env bash
# Configures (once) and builds (incrementally) the project in build/. Used by run.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/deps.sh"
if [[ ! -f "$ROOT/build/build.ninja" ]]; then
    cmake --preset default -S "$ROOT" >/dev/null
fi
cmake --build "$ROOT/build" -- -j"$(nproc)"
