#!/usr/bin/env bash
# bench/hashchars.sh: stowaway on inputs made of hash characters, where a skip loop in the
# style of Nix's never skips: 200 MiB of nix-base32 characters, and 200 MiB of sha256sum
# lines (64 hex digits, two spaces, a file name), each with planted store paths.
#
# Usage: bench/hashchars.sh [--runs N] [--mib N] [--seed N] [--fresh] [-j N]
#   --runs N   timed runs of each command, alternating, after one warm-up each (default 7)
#   --mib N    size of each input in MiB (default 200)
#   --fresh    rebuild the inputs even if they exist
#   -j N       pass -j N to stowaway (default: its own, one thread per core)
# Needs: cargo, python3, rg (apt install ripgrep), GNU time (apt install time). Needs
# 2 x N MiB under bench/work/hc/. Set STOWAWAY_BIN=path to time a given binary instead of
# building this checkout.
#
# Inputs (bench/hashchars.py, deterministic for a seed), under bench/work/hc/:
#   base32.txt   random nix-base32 characters, no separator at all, with three store paths
#                planted (`/nix/store/<hash>-<name><subpath>\0`: uniform, across the 1 MiB
#                read boundary, at the end) and one bare candidate hash glued into the text
#   sha256.txt   `<64 hex>  <relative file name>\n` lines, three of whose file names are store
#                paths (one across the read boundary)
#   closure.json a closure-info file: the planted hashes and 1000 random ones
#
# Each input is searched four ways, alternating:
#   no-closure  stowaway check FILE --format json --store-dir /nonexistent/store
#               (no candidate hashes: runs are only classified; the plants are found as bare
#               hashes, since the store dir differs)
#   closure     stowaway check FILE --format json --closure-info closure.json
#               (1007 candidate hashes: every 32-byte window of every run is looked up, as
#               Nix does; the glued hash must be found too)
#   store       stowaway check FILE --format json   (only when /nix/store exists: its entries
#               are the candidates, as on a developer's machine)
#   rg          rg -uu -a -F -o -c /nix/store/ FILE
# Prints the timing table (median wall, MB/s = input bytes / median, peak RSS, ratio to rg)
# and each mode's recall (every planted path at its offset with its hash, name and subpath,
# and nothing else). Exit 1 if any recall is short.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=7
MIB=200
SEED=1
FRESH=0
THREADS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --mib) MIB=${2:?}; shift 2 ;;
        --seed) SEED=${2:?}; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        -j) THREADS=(-j "${2:?}"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
check_runs

need rg "apt install ripgrep"
need python3 "apt install python3"
need cargo "https://rustup.rs"
need_done
build_stowaway

HC=$WORK/hc
mkdir -p "$HC"
GEN=(python3 "$BENCH/hashchars.py")
stamp="mib=$MIB seed=$SEED"
if (( FRESH )) || [[ ! -f $HC/stamp || $(cat "$HC/stamp") != "$stamp" ]]; then
    echo "== building the inputs under $HC"
    (cd "$HC" && "${GEN[@]}" base32 base32.txt base32.truth.json --mib "$MIB" --seed "$SEED" \
        && "${GEN[@]}" sha256 sha256.txt sha256.truth.json --mib "$MIB" --seed "$SEED" \
        && "${GEN[@]}" closure base32.truth.json sha256.truth.json closure.json --seed "$SEED")
    echo "$stamp" >"$HC/stamp"
fi

MODES=(no-closure closure)
[[ -d /nix/store ]] && MODES+=(store)
command_of() { # MODE FILE
    case "$1" in
        no-closure) echo "$STOWAWAY check $2 --format json --store-dir /nonexistent/store" ;;
        closure) echo "$STOWAWAY check $2 --format json --closure-info $HC/closure.json" ;;
        store) echo "$STOWAWAY check $2 --format json" ;;
    esac
}

TSV=$WORK/hashchars.tsv
timings_header "$TSV"
echo "== $(machine_line)"
for run in $(seq 0 "$RUNS"); do
    (( run == 0 )) && echo "== warm-up (untimed)"
    (( run == 1 )) && echo "== $RUNS timed rounds"
    for input in base32 sha256; do
        file=$HC/$input.txt
        for mode in "${MODES[@]}"; do
            # shellcheck disable=SC2046
            timed "$TSV" "$input" "stowaway/$mode" "$run" "$HC/$input.$mode.json" \
                $(command_of "$mode" "$file") "${THREADS[@]}"
        done
        timed "$TSV" "$input" rg "$run" "$HC/$input.rg.txt" rg -uu -a -F -o -c /nix/store/ "$file"
    done
done

echo
python3 "$BENCH/timings.py" "$TSV" --json "$WORK/hashchars.json" \
    --bytes "base32=$(stat -c %s "$HC/base32.txt")" --bytes "sha256=$(stat -c %s "$HC/sha256.txt")"
[[ -d /nix/store ]] && echo "(store: /nix/store has $(ls /nix/store | wc -l) entries, the candidates of mode 'store')"

echo
status=0
for input in base32 sha256; do
    for mode in "${MODES[@]}"; do
        flags=()
        [[ $mode == no-closure ]] && flags=(--no-store)
        [[ $mode == closure ]] && flags=(--closure-known)
        echo "$input $mode:"
        "${GEN[@]}" score "$HC/$input.$mode.json" "$HC/$input.truth.json" "${flags[@]}" || status=1
    done
    echo "$input rg -c: $(cat "$HC/$input.rg.txt") lines with /nix/store/"
done
exit $status
