#!/usr/bin/env bash
# bench/archive.sh: the memory and time of auditing archives of ≥ 1 GiB (issue 14).
#
# Usage: bench/archive.sh [--bin BIN] [--runs N] [SOURCE_DIR...]
#   --bin BIN   the stowaway binary (default: target/release/stowaway, built if missing)
#   --runs N    runs of each audit (default 3); the peak RSS is the largest, the time the median
#   SOURCE_DIR  directories of real binaries to pack (default: the Rust sysroot and
#               /usr/lib/x86_64-linux-gnu), each as one store path, until ≥ 1 GiB
# Needs: umoci, skopeo, gzip, zstd, nix-store, GNU time at /usr/bin/time; ~6 GB free under
# bench/work/archive/ (git-ignored), which it re-creates every run.
#
# What it does:
#  1. Lays out a root filesystem: each SOURCE_DIR copied (cp -a) to
#     nix/store/<hash>-<name>/ (a made-up nix-base32 hash per name), plus a customisation
#     layer with /bin links into them, as dockerTools lays out an image.
#  2. Packs it with umoci (an OCI layout, gzip layers) and skopeo (a docker-archive, plain and
#     gzipped), and the largest store path as a NAR (`nix-store --dump`), plain and zstd.
#  3. Audits each with `stowaway check --format json` under `/usr/bin/time -f '%e %M %U %S'`,
#     and the unpacked root filesystem for comparison; then each archive again with
#     `--max-elf-size 1K`, so that no ELF member is held in memory (the peak without it);
#     prints input size, median wall time, median CPU time and peak RSS (VmHWM), and the
#     largest ELF file (the one member a full audit holds at its peak).
set -euo pipefail

die() { echo "archive.sh: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BIN=$ROOT/target/release/stowaway
RUNS=3
SOURCES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bin) BIN=$(realpath "${2:?--bin needs a path}"); shift 2 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) SOURCES+=("$(realpath "$1")"); shift ;;
    esac
done
if [[ ${#SOURCES[@]} -eq 0 ]]; then
    SOURCES=("$(rustc --print sysroot)" /usr/lib/x86_64-linux-gnu)
fi
for tool in umoci skopeo gzip zstd nix-store /usr/bin/time; do
    command -v "$tool" >/dev/null || die "needs $tool"
done
if [[ ! -x $BIN ]]; then
    (cd "$ROOT" && cargo build --release) || die "cargo build failed"
fi
cp "$BIN" /tmp/stowaway-archive-bench.$$
BIN=/tmp/stowaway-archive-bench.$$
trap 'rm -f "$BIN"' EXIT

WORK=$ROOT/bench/work/archive
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

# A nix-base32 hash made from a name, so that runs repeat.
hash_of() {
    python3 -c 'import hashlib, sys
alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
digest = hashlib.sha256(sys.argv[1].encode()).digest()
print("".join(alphabet[b % 32] for b in digest[:32]))' "$1"
}

umoci init --layout oci >/dev/null
umoci new --image oci:t >/dev/null
umoci unpack --image oci:t bundle >/dev/null
rootfs=bundle/rootfs
mkdir -p "$rootfs/nix/store" "$rootfs/bin"
largest=
largest_size=0
for source in "${SOURCES[@]}"; do
    name=$(basename "$source" | tr -c 'A-Za-z0-9+._?=\n-' '-')
    store="nix/store/$(hash_of "$name")-$name"
    cp -a "$source" "$rootfs/$store"
    # One link per store path in the customisation layer: a root of the image.
    ln -s "/$store" "$rootfs/bin/$name"
    size=$(du -sb "$rootfs/$store" | cut -f1)
    if (( size > largest_size )); then largest=$store; largest_size=$size; fi
done
total=$(du -sb "$rootfs" | cut -f1)
(( total >= 1 << 30 )) || die "the sources hold $total bytes; give more (≥ 1 GiB)"
umoci repack --image oci:t bundle >/dev/null
skopeo --insecure-policy copy --quiet oci:oci:t docker-archive:image.tar:bench/archive:1
gzip -1 -k image.tar
nix-store --dump "$rootfs/$largest" > store-path.nar
zstd -q -T0 -3 -k store-path.nar

size_of() { du -sb "$1" | cut -f1; }
human() { numfmt --to=iec-i --suffix=B "$1"; }

# measure LABEL ARGS...: RUNS audits; prints median wall, median CPU, max peak RSS.
measure() {
    local label=$1 input=$2
    shift 2
    local walls=() cpus=() peak=0
    for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -o time.txt -f '%e %M %U %S' "$BIN" check "$input" --format json "$@" \
            >out.json 2>err.txt || [[ $? -le 2 && -s out.json ]] || die "$label: $(cat err.txt)"
        # GNU time says "Command exited with non-zero status 1" first when the audit fails.
        read -r wall rss user sys < <(tail -n 1 time.txt)
        walls+=("$wall")
        cpus+=("$(echo "$user + $sys" | bc)")
        (( rss > peak )) && peak=$rss
    done
    local wall cpu
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    printf '%-34s %10s %8ss %8ss %10s\n' "$label" "$(human "$(size_of "$input")")" "$wall" "$cpu" "$(human $((peak * 1024)))"
}

echo "machine: $(nproc) cores, $(uname -r); binary: $BIN ($(git -C "$ROOT" rev-parse --short HEAD))"
echo "root filesystem: $(human "$total") in $(find "$rootfs" -type f | wc -l) files; NAR of $largest"
largest_elf=$(find "$rootfs" -type f -size +1M -exec sh -c \
    'head -c 4 "$1" | grep -q ELF && stat -c "%s %n" "$1"' _ {} \; | sort -n | tail -n 1)
echo "largest ELF file: $(human "${largest_elf%% *}") (${largest_elf#* })"
printf '%-34s %10s %9s %9s %10s\n' "audit" "input" "wall" "cpu" "peak RSS"
for bound in "" 1K; do
    extra=()
    label=
    if [[ -n $bound ]]; then extra=(--max-elf-size "$bound"); label=", no ELF held"; fi
    measure "docker-archive$label" image.tar "${extra[@]}"
    measure "docker-archive.gz$label" image.tar.gz "${extra[@]}"
    measure "OCI layout, gzip$label" oci "${extra[@]}"
    measure "NAR$label" store-path.nar "${extra[@]}"
    measure "NAR.zst$label" store-path.nar.zst "${extra[@]}"
    [[ -z $bound ]] && measure "unpacked root filesystem" "$rootfs"
done
