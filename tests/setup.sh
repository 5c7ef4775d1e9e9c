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
# --no-upgrade: what is installed stays at its version (the fixtures in fixtures/debian were
# copied from bookworm's; a newer one need not be downloadable).
apt-get install -y --no-upgrade "${packages[@]}"
command -v nix-build >/dev/null || { echo "nix-build is missing after install" >&2; exit 1; }
# tests/ci.rs validates the GitHub and GitLab jobs against their schemas (vendored: offline).
pip install check-jsonschema==0.39.0
# fixtures/nix/openssl-twice.nix#openssl-two-builds unpacks the OpenSSL 1.1.1w libraries that
# the psycopg2-binary 2.9.9 wheel bundles (bookworm has no OpenSSL 1.1): the wheel is only
# downloaded, never installed, and checked against the sha256 the fixture was made with.
wheel=psycopg2_binary-2.9.9-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
pip download --no-deps --only-binary :all: --platform manylinux2014_x86_64 \
    --python-version 3.11 -d tests/cache/pypi psycopg2-binary==2.9.9
echo "977646e05232579d2e7b9c59e21dbe5261f403a88417f6a6512e70d3f8a046be  tests/cache/pypi/$wheel" |
    sha256sum -c -
# The reference tools tests/formats.rs compares with: Microsoft's SARIF Multitool and GitHub's
# @actions/core, installed by npm. Debian's nodejs comes without npm (a package of its own);
# NodeSource's nodejs, which some machines have instead, carries npm and conflicts with
# Debian's npm package: so npm is installed only where there is none.
command -v npm >/dev/null || apt-get install -y --no-upgrade npm
npm ci --prefix tests/validators --no-audit --no-fund
