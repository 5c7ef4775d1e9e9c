#!/usr/bin/env bash
# bench/profile.sh: where `stowaway check` spends its time on a tree of many files.
#
# Usage: bench/profile.sh [--tree DIR] [--threads N] [--freq HZ] [BIN...]
#   --tree DIR    what to audit (default bench/work/many/tree, built by bench/manyfiles.sh)
#   --threads N   stowaway -j N (default 1: shares of one thread are shares of CPU time)
#   --freq HZ     perf's sampling frequency (default 1999)
#   BIN...        binaries to profile, e.g. a build before a change and one after (default:
#                 this checkout, built in release mode)
# Needs: perf (apt install linux-perf), python3, strace (apt install strace); perf record
# must work (kernel.perf_event_paranoid <= 2 as root is enough; a VM without a PMU still
# samples the cpu-clock). If `perf record` is unavailable it falls back to valgrind's
# callgrind (apt install valgrind), which counts instructions instead of time, and says so.
#
# For each binary it records a profile with call graphs (DWARF unwinding: release builds
# keep line tables, no frame pointers) of `BIN check DIR --format json -j N`, and prints:
#   * the share of the run in each stage: the walk (listing, sorting, getdents), each entry's
#     bookkeeping (paths, names), each file's syscalls (open, fstat, pread, close) and the
#     kernel's copying of its data, the byte search, the other searches of each region,
#     ELF/archive inspection, signatures, rule strings, the report, malloc (inclusive shares:
#     stages nest, so they do not add up to 100 %);
#   * the top functions by self time;
#   * the syscalls per file (strace -c -f): what each file costs in kernel crossings.
# Raw data: bench/work/profile/<n>.perf.data (perf report -i FILE to explore).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TREE=$WORK/many/tree
THREADS=1
FREQ=1999
BINS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tree) TREE=${2:?}; shift 2 ;;
        --threads) THREADS=${2:?}; shift 2 ;;
        --freq) FREQ=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown argument: $1 (see --help)" ;;
        *) BINS+=("$(realpath "$1")"); shift ;;
    esac
done
[[ -d $TREE ]] || die "no tree at $TREE (run bench/manyfiles.sh first, or give --tree)"
need python3 "apt install python3"
need strace "apt install strace"
(( ${#MISSING[@]} == 0 )) || die "missing: ${MISSING[*]}"
if (( ${#BINS[@]} == 0 )); then
    build_stowaway
    BINS=("$STOWAWAY")
fi

OUT=$WORK/profile
mkdir -p "$OUT"
USE_PERF=0
if command -v perf >/dev/null && perf record -q -o "$OUT/probe.data" -- true >/dev/null 2>&1; then
    USE_PERF=1
else
    need valgrind "apt install valgrind"
    (( ${#MISSING[@]} == 0 )) || die "perf record does not work here, and: missing ${MISSING[*]}"
    echo "NOTE: perf record is unavailable here; profiling with callgrind (instruction counts, not time)"
fi
files=$(find "$TREE" -type f | wc -l)
echo "== $(machine_line)"
echo "== tree $TREE: $files files, $(du -sb --apparent-size "$TREE" | cut -f1) bytes; stowaway -j $THREADS"

n=0
for bin in "${BINS[@]}"; do
    n=$((n + 1))
    echo
    echo "=== $bin ($("$bin" --version))"
    # Warm the page cache, so the profile shows the work, not the disk.
    "$bin" check "$TREE" --format json -j "$THREADS" >/dev/null || (( $? == 1 ))
    if (( USE_PERF )); then
        data=$OUT/$n.perf.data
        perf record -q -F "$FREQ" --call-graph dwarf,16384 -o "$data" -- \
            "$bin" check "$TREE" --format json -j "$THREADS" >/dev/null 2>"$OUT/$n.perf.log" \
            || (( $? == 1 )) || die "perf record failed: $(tail -n 3 "$OUT/$n.perf.log")"
        perf report -i "$data" --stdio --children --sort sym -g none 2>/dev/null >"$OUT/$n.children.txt"
        perf report -i "$data" --stdio --no-children --sort dso,sym -g none 2>/dev/null >"$OUT/$n.self.txt"
        python3 "$BENCH/profile.py" perf "$OUT/$n.children.txt" "$OUT/$n.self.txt"
    else
        cg=$OUT/$n.callgrind
        valgrind --tool=callgrind --callgrind-out-file="$cg" "$bin" check "$TREE" --format json \
            -j "$THREADS" >/dev/null 2>"$OUT/$n.callgrind.log" || (( $? == 1 ))
        callgrind_annotate --inclusive=yes "$cg" >"$OUT/$n.children.txt" 2>/dev/null
        callgrind_annotate "$cg" >"$OUT/$n.self.txt" 2>/dev/null
        python3 "$BENCH/profile.py" callgrind "$OUT/$n.children.txt" "$OUT/$n.self.txt"
    fi
    strace -f -c -o "$OUT/$n.strace.txt" "$bin" check "$TREE" --format json -j "$THREADS" \
        >/dev/null 2>&1 || true
    echo "syscalls per file (strace -c -f, $files files):"
    awk -v files="$files" '/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ {
            if ($4 / files >= 0.05) printf "  %-12s %6.2f per file\n", $NF, $4 / files
        }' "$OUT/$n.strace.txt"
done
