#!/usr/bin/env bash
# Installs what is missing, builds if needed, and starts the playground's window on the default model.
# Extra arguments go to the app (e.g. --model FILE.gguf, or --demo --screenshot shot.png).
# Without a display (no DISPLAY / WAYLAND_DISPLAY / QT_QPA_PLATFORM) it runs the command-line
# generator instead, with the same arguments (e.g. --prompt "And God said" --threads 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/build.sh"
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
    echo "run.sh: no display; running the command-line generator (set QT_QPA_PLATFORM=offscreen for the window)" >&2
    exec "$ROOT/build/app/llm-playground-cli" generate "$@"
fi
exec "$ROOT/build/app/llm-playground" "$@"
