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
# Issue 11, real systems as the test. fixtures/debian/build.sh copies Debian's OpenSSL and curl
# and links programs against libssl-dev; fixtures/nix/openssl-twice.nix needs gcc, the OpenSSL
# headers and patchelf. The rest are the packages whose files are the negative controls of the
# built-in rules and library signatures (the allocator libraries, GnuTLS's OpenSSL
# compatibility library, NSS, heaptrack's malloc interposer, Perl's Compress::Raw::Zlib,
# OpenSSL users such as psql and python3-cryptography, and for the other rules a Rust, a Go
# and a Haskell program, real .pc/.la/.cmake files, a static-pie, scripts): the /usr sweep
# test reads them.
# --no-upgrade: installed packages stay at the version the committed fixtures came from.
apt-get install -y --no-upgrade gcc libc6-dev binutils openssl libssl3 libssl-dev curl libcurl4 \
    patchelf zlib1g-dev libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev liburing-dev \
    libgnutls-openssl27 libgnutls30 libnss3 heaptrack libperl5.36 libxmlsec1-openssl \
    python3-cryptography libpython3.11-minimal postgresql-client-15 libpq5 \
    qemu-utils strace ripgrep skopeo lsb-release man-db libexpat1-dev libxmlsec1-dev \
    libproc2-0 libunistring2 libc-bin
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
# @actions/core (node and npm come with the machine).
npm ci --prefix tests/validators --no-audit --no-fund
