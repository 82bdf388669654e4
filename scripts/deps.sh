#!/usr/bin/env bash
# The one list of Debian packages this project needs. Installs only what is missing.
# Usage: scripts/deps.sh [--train]   (--train adds the offline model-training tooling)
# Idempotent; quiet when everything is present; uses sudo when not root.
set -euo pipefail

BUILD_PACKAGES=(
    build-essential cmake ninja-build pkg-config
    qt6-base-dev qt6-charts-dev qt6-svg-dev zlib1g-dev libqt6opengl6-dev qt6-qpa-plugins libgl-dev libxkbcommon-dev fonts-dejavu-core
    libeigen3-dev libtbb-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
    clang-format-14 clang-14 libclang-rt-14-dev
)
TRAIN_PACKAGES=(
    python3-torch python3-numpy libopenblas0-pthread python3-sentencepiece bible-kjv bible-kjv-text
)

wanted=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--train" ]]; then
    wanted+=("${TRAIN_PACKAGES[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    SUDO="sudo"
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
