#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root); safe to run again.
#   bash tests/setup.sh                   install
#   bash tests/setup.sh --print-packages  print the Debian packages it would install
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

# The Debian packages, one list: tests/host-packages.txt (tests/prerequisites.rs checks that
# every host file the tests and their fixtures read comes from one of them).
mapfile -t packages < <(sed -e 's/#.*//' tests/host-packages.txt | awk 'NF == 1 { print $1 }')
if [ "${1:-}" = "--print-packages" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

apt-get update
apt-get install -y "${packages[@]}"
command -v nix-build >/dev/null || { echo "nix-build is missing after install" >&2; exit 1; }
# tests/ci.rs validates the GitHub and GitLab jobs against their schemas (vendored: offline).
pip install check-jsonschema==0.39.0
# The reference tools tests/formats.rs compares with: Microsoft's SARIF Multitool and GitHub's
# @actions/core (node and npm come with the machine).
npm ci --prefix tests/validators --no-audit --no-fund
