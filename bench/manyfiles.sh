#!/usr/bin/env bash
# bench/manyfiles.sh: stowaway against ripgrep on a tree of many files (>= 60,000 files and
# >= 2 GB) of this machine's Rust toolchain, /usr/share and /usr/lib, with planted store
# paths, some in hidden files.
#
# Usage: bench/manyfiles.sh [--runs N] [--fresh] [--plants N] [--seed N] [-j N]
#   --runs N    timed runs of each command, alternating, after one warm-up each (default 7)
#   --fresh     rebuild the tree even if the cached one is intact
#   --plants N  store paths planted into the tree (default 2000)
#   -j N        pass -j N to stowaway (default: its own, one thread per core)
# Needs: cargo, rustc, python3, rg (apt install ripgrep), GNU time (apt install time), and
# ~3 GB free under bench/work/many/. Set STOWAWAY_BIN=path to time a given binary.
#
# The tree (bench/work/many/tree, built once, re-built when changed or with --fresh): copies
# (cp -a, never hard links) of `rustc --print sysroot`, /usr/share, then directories of
# /usr/lib in name order until it holds at least 60,000 files and 2 GB; then bench/plant.py
# adds hidden `.NAME-wrapped` copies of every bin/ executable and a `.odd/` directory of
# escaped names, and overwrites N store paths `/nix/store/<hash>-<name><subpath>\0` into
# random files (a quarter of the first ones into hidden files; at starts, ends, across 1 MiB
# read boundaries and uniformly), recording the truth in bench/work/many/truth.json.
#
# Then, alternating, each once untimed and N times timed:
#   stowaway check TREE --format json          (every inspection and rule on)
#   rg -uu -a -F -o -c /nix/store/ TREE
# and prints the timing table (median wall, MB/s, us per file, peak RSS, user and sys CPU,
# stowaway/rg) and stowaway's recall (every planted path at its file and offset; exit 1
# when short). Other work on the machine skews the times: run it on a quiet one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=7
FRESH=0
PLANTS=2000
SEED=1
THREADS=()
MIN_FILES=60000
MIN_BYTES=2000000000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        --plants) PLANTS=${2:?}; shift 2 ;;
        --seed) SEED=${2:?}; shift 2 ;;
        -j) THREADS=(-j "${2:?}"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
check_runs

need rg "apt install ripgrep"
need python3 "apt install python3"
need cargo "https://rustup.rs"
need rustc "https://rustup.rs"
need_done
build_stowaway

MANY=$WORK/many
TREE=$MANY/tree
TRUTH=$MANY/truth.json
STAMP=$MANY/stamp
PLANT=(python3 "$BENCH/plant.py")
mkdir -p "$MANY"

tree_counts() { find "$TREE" -type f -printf '%s\n' | awk '{n++; s += $1} END {printf "%d %.0f\n", n, s}'; }

prepare() {
    echo "== building the tree under $TREE (once; --fresh forces it)"
    rm -rf "$TREE" "$TRUTH" "$STAMP"
    mkdir -p "$TREE"
    local sysroot sources=() entry src dest files bytes
    sysroot=$(cd "$ROOT" && rustc --print sysroot)
    sources=("$sysroot:rust" "/usr/share:usr-share")
    for src in /usr/lib/*/; do
        src=${src%/}
        sources+=("$src:usr-lib/$(basename "$src")")
    done
    for entry in "${sources[@]}"; do
        read -r files bytes < <(tree_counts)
        (( files >= MIN_FILES && bytes >= MIN_BYTES )) && break
        src=${entry%%:*}
        dest=$TREE/${entry#*:}
        [[ -d $src ]] || continue
        echo "   copying $src ($files files, $((bytes >> 20)) MiB so far)"
        mkdir -p "$(dirname "$dest")"
        cp -a --no-preserve=links "$src" "$dest" 2>"$MANY/cp.err" \
            || echo "   (some files of $src could not be copied: $(head -c 300 "$MANY/cp.err"))"
    done
    # Unreadable leftovers and special files would make the audit incomplete (exit 2).
    find "$TREE" -type f ! -readable -delete
    find "$TREE" \( -type p -o -type s -o -type b -o -type c \) -delete
    chmod -R u+rwX "$TREE"
    read -r files bytes < <(tree_counts)
    (( files >= MIN_FILES && bytes >= MIN_BYTES )) \
        || die "could only gather $files files and $bytes bytes"
    "${PLANT[@]}" decorate "$TREE"
    "${PLANT[@]}" plant "$TREE" - "$TRUTH" --plants "$PLANTS" --big-plants 0 --seed "$SEED"
    echo "seed=$SEED plants=$PLANTS" >"$STAMP"
}

if (( FRESH )) || [[ ! -f $STAMP || $(cat "$STAMP") != "seed=$SEED plants=$PLANTS" ]] \
    || ! "${PLANT[@]}" verify "$TRUTH" >/dev/null; then
    prepare
fi
read -r files bytes < <(tree_counts)

TSV=$WORK/manyfiles.tsv
timings_header "$TSV"
echo "== $(machine_line)"
echo "== tree: $files files, $bytes bytes, $(find "$TREE" -type l | wc -l) symlinks"
for run in $(seq 0 "$RUNS"); do
    (( run == 0 )) && echo "== warm-up (untimed)"
    (( run == 1 )) && echo "== $RUNS timed rounds"
    timed "$TSV" many stowaway "$run" "$MANY/stowaway.json" \
        "$STOWAWAY" check "$TREE" --format json "${THREADS[@]}"
    timed "$TSV" many rg "$run" "$MANY/rg.txt" rg -uu -a -F -o -c /nix/store/ "$TREE"
done

echo
python3 "$BENCH/timings.py" "$TSV" --bytes "many=$bytes" --files "many=$files" \
    --json "$WORK/manyfiles.json"
[[ -d /nix/store ]] && echo "(/nix/store exists here with $(ls /nix/store | wc -l) entries: stowaway also searches their hashes)"
echo
"${PLANT[@]}" score --truth "$TRUTH" --stowaway "$MANY/stowaway.json" --rg "$MANY/rg.txt"
