#!/usr/bin/env bash
# Installs every build and test dependency of moesim from Debian 12 packages, non-interactively.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(build-essential cmake ninja-build pkg-config git
      libsimgrid-dev libboost-graph-dev libfmt-dev libtomlplusplus-dev
      libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
      libopenblas-dev openmpi-bin libopenmpi-dev
      gnuplot-nox    # gnuplot-nox: SVG plots of `moesim plot` (skipped with a note without it)
      jq)            # jq: the lab answer blocks (docs/labs/, tests/labs, scripts/labs_answers.sh)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
