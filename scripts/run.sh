#!/usr/bin/env bash
# Installs what is missing, builds if needed, and starts the playground on the default model.
# Until the desktop window exists this runs the CLI's `generate` with a default prompt.
# Extra arguments are passed through, e.g. scripts/run.sh --threads 2 --prompt "And God said".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/build.sh"
exec "$ROOT/build/app/llm-playground-cli" generate "$@"
