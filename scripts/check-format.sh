#!/usr/bin/env bash
# Fails, listing the files, if any tracked .cpp/.h differs from what clang-format-14 makes of it
# with the project's .clang-format. Fix with: clang-format-14 --style=file -i FILES
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files -- '*.cpp' '*.h')
else # an unpacked source archive: everything but build folders
    mapfile -t files < <(find . -path './build*' -prune -o -type f \( -name '*.cpp' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
fi
bad=()
for f in "${files[@]}"; do
    if ! clang-format-14 --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if ((${#bad[@]} > 0)); then
    echo "check-format.sh: ${#bad[@]} of ${#files[@]} files are not formatted; fix with" >&2
    echo "  clang-format-14 --style=file -i ${bad[*]}" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-format.sh: ${#files[@]} files formatted" >&2
