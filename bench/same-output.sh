#!/usr/bin/env bash
# bench/same-output.sh: whether two stowaway binaries print byte-identical reports.
#
# Usage: bench/same-output.sh BEFORE_BIN AFTER_BIN [EXTRA_PATH...]
#
# For every directory under fixtures/ (and each EXTRA_PATH, e.g. bench/work/tree), runs
#   BIN check DIR --format json           (closure from the store on disk, if any)
#   BIN check DIR --format human --color never
#   BIN check DIR --format json --closure-info fixtures/DIR.closure.json   (when it exists)
#   BIN check DIR --format json --store-dir /nonexistent/store   (no closure: bare hashes only)
# with both binaries, and compares stdout and the exit code byte for byte. Each binary runs
# twice on the first fixture first, to show the reports themselves are deterministic.
# Prints one line per comparison and a summary; exits 0 when everything is identical, 1 when
# anything differs (the differing outputs are kept under a temporary directory it names).
# Needs only bash, cmp and diff. Runs from any directory.
set -uo pipefail

die() { echo "same-output.sh: $*" >&2; exit 2; }
(( $# >= 2 )) || die "usage: same-output.sh BEFORE_BIN AFTER_BIN [EXTRA_PATH...]"
BEFORE=$(realpath "$1") || die "no such binary: $1"
AFTER=$(realpath "$2") || die "no such binary: $2"
shift 2
[[ -x $BEFORE && -x $AFTER ]] || die "both binaries must be executable"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || die "cannot enter $ROOT"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/same-output.XXXXXX")

targets=()
for dir in fixtures/*/; do
    targets+=("${dir%/}")
done
targets+=("$@")
(( ${#targets[@]} > 0 )) || die "no fixture directories under $ROOT/fixtures"

# run BIN LABEL ARGS...: stdout to $OUT/LABEL.out, exit code appended as a last line.
run() {
    local bin=$1 label=$2
    shift 2
    "$bin" check "$@" >"$OUT/$label.out" 2>"$OUT/$label.err"
    echo "exit $?" >>"$OUT/$label.out"
}

same=0
differ=0
compare() {
    local name=$1
    shift
    run "$BEFORE" "$name.before" "$@"
    run "$AFTER" "$name.after" "$@"
    if cmp -s "$OUT/$name.before.out" "$OUT/$name.after.out"; then
        same=$((same + 1))
        printf '  same     %s (%s bytes)\n' "$*" "$(wc -c <"$OUT/$name.after.out")"
    else
        differ=$((differ + 1))
        printf '  DIFFERS  %s\n' "$*"
        diff "$OUT/$name.before.out" "$OUT/$name.after.out" | head -n 20 | sed 's/^/           /'
    fi
}

# The reports must not vary between two runs of one binary, or the comparison means nothing.
for bin in "$BEFORE" "$AFTER"; do
    run "$bin" det.1 "${targets[0]}" --format json
    run "$bin" det.2 "${targets[0]}" --format json
    cmp -s "$OUT/det.1.out" "$OUT/det.2.out" \
        || die "$bin prints different reports for ${targets[0]} on two runs; see $OUT"
done

echo "comparing $BEFORE"
echo "     with $AFTER"
n=0
for target in "${targets[@]}"; do
    [[ -e $target ]] || die "no such path: $target"
    n=$((n + 1))
    compare "$n.json" "$target" --format json
    compare "$n.human" "$target" --format human --color never
    compare "$n.nostore" "$target" --format json --store-dir /nonexistent/store
    closure=${target%/}.closure.json
    if [[ -f $closure ]]; then
        compare "$n.closure" "$target" --format json --closure-info "$closure"
    fi
done

echo "same-output.sh: $same identical, $differ different"
if (( differ > 0 )); then
    echo "outputs kept in $OUT"
    exit 1
fi
rm -rf "$OUT"
