#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root); safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

apt-get update
# nix-bin: the agreement tests build real derivations; musl-tools: those derivations compile
# static executables with musl-gcc; util-linux (setpriv) runs a test as an unprivileged user;
# shellcheck: tests/ci.rs lints the shell in ci/; skopeo, umoci and the compressors make the
# real images and compressed NARs tests/archive/ reads.
apt-get install -y nix-bin musl-tools util-linux shellcheck skopeo umoci xz-utils zstd bzip2 gzip tar
command -v nix-build >/dev/null || { echo "nix-build is missing after install" >&2; exit 1; }
# tests/ci.rs validates the GitHub and GitLab jobs against their schemas (vendored: offline).
pip install check-jsonschema==0.39.0
# The reference tools tests/formats.rs compares with: Microsoft's SARIF Multitool and GitHub's
# @actions/core (node and npm come with the machine).
npm ci --prefix tests/validators --no-audit --no-fund
