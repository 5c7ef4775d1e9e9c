#!/usr/bin/env bash
# bench/growth.sh: how stowaway's cost grows with the number of files, with the bytes, and
# with threads, next to ripgrep's.
#
# Usage: bench/growth.sh [--runs N] [--fresh] [--counts "1000 10000 100000"]
#                        [--sizes-mib "128 512 1024"]
#   --runs N       timed runs of each command, alternating, after one warm-up (default 5)
#   --counts LIST  small-file trees to build (default 1000 10000 100000 files)
#   --sizes-mib L  single files to build, in MiB (default 128 512 1024)
#   --fresh        rebuild the inputs
# Needs bench/manyfiles.sh's tree (bench/work/many/tree: it runs that script's input step if
# the tree is missing), python3, rg, GNU time; ~2 GB free under bench/work/growth/. Set
# STOWAWAY_BIN=path to time a given binary.
#
# Inputs, under bench/work/growth/:
#   files-N    N copies of real small files (1 to 16 KiB) of the many-file tree, 1000 to a
#              directory, one store path planted per 100 files
#   bytes-M    one file of M MiB: real binaries of the many-file tree concatenated, with one
#              store path planted per 16 MiB
# Each is searched with `stowaway check INPUT --format json -j1` and `-j2`, and with
# `rg -uu -a -F -o -c /nix/store/ INPUT -j1` and `-j2`. Prints the timing table (median wall,
# MB/s, us per file, user and sys CPU), then the growth: per-file cost as the slope between
# the smallest and largest tree (wall and CPU microseconds per added file, per tool and thread
# count), per-byte cost as the slope between the smallest and largest file (MB/s), and the
# speed-up of 2 threads over 1. Recall is checked on every input (exit 1 if short).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=5
FRESH=0
COUNTS="1000 10000 100000"
SIZES="128 512 1024"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        --counts) COUNTS=${2:?}; shift 2 ;;
        --sizes-mib) SIZES=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
check_runs

need rg "apt install ripgrep"
need python3 "apt install python3"
need cargo "https://rustup.rs"
need_done

MANY=$WORK/many/tree
if [[ ! -d $MANY ]]; then
    echo "== the many-file tree is missing: building it with bench/manyfiles.sh"
    "$BENCH/manyfiles.sh" --runs 1 >/dev/null || die "bench/manyfiles.sh failed"
fi
build_stowaway

G=$WORK/growth
PLANT=(python3 "$BENCH/plant.py")
mkdir -p "$G"
stamp="counts=$COUNTS sizes=$SIZES"
if (( FRESH )) || [[ ! -f $G/stamp || $(cat "$G/stamp") != "$stamp" ]]; then
    echo "== building the inputs under $G"
    rm -rf "${G:?}"/*
    for n in $COUNTS; do
        "${PLANT[@]}" smalltree "$MANY" "$G/files-$n" --files "$n"
        "${PLANT[@]}" plant "$G/files-$n" - "$G/files-$n.truth.json" --plants $((n / 100)) \
            --big-plants 0 >/dev/null
    done
    largest=$(printf '%s\n' $SIZES | sort -n | tail -n 1)
    "${PLANT[@]}" concat "$MANY" "$G/binaries" --min-bytes $((largest << 20))
    for m in $SIZES; do
        mkdir -p "$G/bytes-$m"
        head -c $((m << 20)) "$G/binaries" >"$G/bytes-$m/data"
        "${PLANT[@]}" plant "$G/bytes-$m" - "$G/bytes-$m.truth.json" --plants $((m / 16)) \
            --big-plants 0 >/dev/null
    done
    rm -f "$G/binaries"
    echo "$stamp" >"$G/stamp"
fi

inputs=()
args=()
for n in $COUNTS; do
    inputs+=("files-$n")
    args+=(--files "files-$n=$n" --bytes "files-$n=$(find "$G/files-$n" -type f -printf '%s\n' \
        | awk '{s += $1} END {printf "%.0f", s}')")
done
for m in $SIZES; do
    inputs+=("bytes-$m")
    args+=(--files "bytes-$m=1" --bytes "bytes-$m=$((m << 20))")
done

TSV=$WORK/growth.tsv
timings_header "$TSV"
echo "== $(machine_line)"
for run in $(seq 0 "$RUNS"); do
    (( run == 0 )) && echo "== warm-up (untimed)"
    (( run == 1 )) && echo "== $RUNS timed rounds"
    for input in "${inputs[@]}"; do
        for j in 1 2; do
            timed "$TSV" "$input" "stowaway -j$j" "$run" "$G/$input.j$j.json" \
                "$STOWAWAY" check "$G/$input" --format json -j "$j"
            timed "$TSV" "$input" "rg -j$j" "$run" "$G/$input.rg" \
                rg -uu -a -F -o -c -j "$j" /nix/store/ "$G/$input"
        done
    done
done

echo
python3 "$BENCH/timings.py" "$TSV" --baseline "rg -j1" --json "$WORK/growth.json" "${args[@]}"
echo
python3 - "$WORK/growth.json" "$COUNTS" "$SIZES" <<'EOF'
import json, sys
stats = json.load(open(sys.argv[1]))["stats"]
counts = [int(n) for n in sys.argv[2].split()]
sizes = [int(m) for m in sys.argv[3].split()]
get = {(s["input"], s["tool"]): s for s in stats}
tools = sorted({s["tool"] for s in stats})
print("growth (slopes between the smallest and the largest input):")
if len(counts) > 1:
    lo, hi = "files-%d" % min(counts), "files-%d" % max(counts)
    for tool in tools:
        a, b = get[(lo, tool)], get[(hi, tool)]
        added = b["files"] - a["files"]
        wall = (b["median_s"] - a["median_s"]) / added * 1e6
        cpu = ((b["user_s"] + b["sys_s"]) - (a["user_s"] + a["sys_s"])) / added * 1e6
        print("  %-13s per file: %6.1f us wall, %6.1f us CPU" % (tool, wall, cpu))
if len(sizes) > 1:
    lo, hi = "bytes-%d" % min(sizes), "bytes-%d" % max(sizes)
    for tool in tools:
        a, b = get[(lo, tool)], get[(hi, tool)]
        rate = (b["bytes"] - a["bytes"]) / (b["median_s"] - a["median_s"]) / 1e6
        print("  %-13s per byte: %6.0f MB/s wall" % (tool, rate))
print("speed-up of -j2 over -j1 (median wall):")
for s in stats:
    if s["tool"].endswith("-j2"):
        one = get[(s["input"], s["tool"][:-1] + "1")]
        print("  %-13s %-12s %.2fx" % (s["input"], s["tool"][:-4], one["median_s"] / s["median_s"]))
EOF

echo
status=0
for input in "${inputs[@]}"; do
    echo "$input:"
    "${PLANT[@]}" score --truth "$G/$input.truth.json" --stowaway "$G/$input.j2.json" \
        || status=1
done
exit $status
