#!/usr/bin/env bash
# bench/instructions.sh: instructions executed by two stowaway binaries on the same inputs,
# counted by valgrind's callgrind: stable on a busy machine, where wall times are not.
#
# Usage: bench/instructions.sh BEFORE_BIN AFTER_BIN [--quick]
#   --quick   only the small inputs (skips the many-file tree and the 1 GiB file)
# Needs: valgrind (apt install valgrind), python3, and the inputs of the other scripts
# (bench/hashchars.sh, bench/run.sh, bench/manyfiles.sh, bench/growth.sh); an input that is
# missing is skipped with a note. Every run is single-threaded (-j1) so that the counts do
# not depend on scheduling. Runs from any directory; takes minutes (callgrind runs programs
# about 50 times slower).
#
# For each input it prints the instructions of the whole run (user space only: the kernel's
# copying of file data and syscalls are not counted) and of the byte search (inclusive cost
# of the scan: Scanner::scan_region before the SIMD kernels, scan::x86::scan_region_* after),
# for both binaries, and the ratio after/before. Raw callgrind files are kept under
# bench/work/instructions/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(( $# >= 2 )) || die "usage: instructions.sh BEFORE_BIN AFTER_BIN [--quick]"
BEFORE=$(realpath "$1")
AFTER=$(realpath "$2")
QUICK=0
[[ ${3:-} == --quick ]] && QUICK=1
need valgrind "apt install valgrind"
need callgrind_annotate "apt install valgrind"
need python3 "apt install python3"
(( ${#MISSING[@]} == 0 )) || die "missing: ${MISSING[*]}"

OUT=$WORK/instructions
mkdir -p "$OUT"
HC=$WORK/hc
# Slices of the hash-character inputs: callgrind takes a minute per 20 MiB before the change.
for input in base32 sha256; do
    if [[ -f $HC/$input.txt ]]; then
        head -c $((20 << 20)) "$HC/$input.txt" >"$OUT/$input-20m.txt"
    fi
done

# label|path|extra arguments
cases=(
    "base32 20 MiB, no closure|$OUT/base32-20m.txt|--store-dir /nonexistent/store"
    "base32 20 MiB, 1007 candidates|$OUT/base32-20m.txt|--closure-info $HC/closure.json"
    "sha256 20 MiB, no closure|$OUT/sha256-20m.txt|--store-dir /nonexistent/store"
    "sha256 20 MiB, 1007 candidates|$OUT/sha256-20m.txt|--closure-info $HC/closure.json"
    "10,000 small files|$WORK/growth/files-10000|"
)
if (( ! QUICK )); then
    cases+=(
        "1 GiB of binaries (run.sh BIG)|$WORK/big.bin|"
        "many-file tree|$WORK/many/tree|"
    )
fi

count() { # BIN NAME PATH ARGS... -> "total scan"
    local bin=$1 name=$2 path=$3
    shift 3
    local file=$OUT/$name.callgrind
    # shellcheck disable=SC2068
    valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" check "$path" \
        --format json -j1 $@ >/dev/null 2>"$OUT/$name.log" || true
    callgrind_annotate --inclusive=yes "$file" 2>/dev/null | python3 -c '
import re, sys
total, scan = 0, 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in m.group(2):
        total = n
    elif re.search(r"scan::Scanner::scan_region\b|scan::x86::scan_region_", m.group(2)):
        scan = max(scan, n)
print(total, scan)'
}

echo "== $(machine_line)"
printf '%-34s %16s %16s %7s %14s %14s %7s\n' input "before" "after" ratio "scan before" \
    "scan after" ratio
k=0
for c in "${cases[@]}"; do
    IFS='|' read -r label path extra <<<"$c"
    if [[ ! -e $path ]]; then
        echo "$label: skipped ($path is missing: run the script that builds it)"
        continue
    fi
    k=$((k + 1))
    # shellcheck disable=SC2086
    read -r tb sb < <(count "$BEFORE" "$k.before" "$path" $extra)
    # shellcheck disable=SC2086
    read -r ta sa < <(count "$AFTER" "$k.after" "$path" $extra)
    python3 -c '
import sys
label, tb, ta, sb, sa = sys.argv[1], *map(int, sys.argv[2:])
r = lambda a, b: "%.3f" % (a / b) if b else ""
print("%-34s %16s %16s %7s %14s %14s %7s" % (label, f"{tb:,}", f"{ta:,}", r(ta, tb),
      f"{sb:,}", f"{sa:,}", r(sa, sb)))' "$label" "$tb" "$ta" "$sb" "$sa"
done
