#!/usr/bin/env bash
# bench/nix-scan.sh: what Nix's own reference scanner does on the hash-character inputs.
#
# Usage: bench/nix-scan.sh [--runs N] [--mib N] [--candidates N]
#   --runs N        builds of each input (default 1: Nix takes minutes on these inputs)
#   --mib N         bytes of each input to use, from the start of bench/work/hc/*.txt
#                   (default 200, the whole input)
#   --candidates N  store paths in the build's inputs, whose hashes Nix searches for
#                   (default 1000, as many as bench/hashchars.sh's closure.json holds)
# Needs: nix-build (Debian: apt install nix-bin; run as root, no daemon), and the inputs of
# bench/hashchars.sh (run it first, or this script runs its input step). It writes each
# input into /nix/store once per build and deletes it afterwards, and deletes its candidate
# paths and derivations at the end.
#
# This is Nix itself, not a port: bench/nix-scan.nix is a builtins.derivation whose builder
# copies the input to $out and writes one candidate's store path into it. When the builder
# exits, Nix registers the output: it serialises it as a NAR, hashes it (SHA-256) and runs its
# reference scanner over the same bytes (libstore/references.cc: for each 32-byte window,
# test the last byte, skip past a non-base32 byte, else look the window up among the
# candidates). The script times, per build:
#   builder   the builder's own run (its first and last timestamps: the copy)
#   register  from the builder's end until nix-build returns: NAR serialisation, SHA-256,
#             reference scan, registration
# and runs the same build on a control input of the same size without hash characters (all
# `-`), where the scanner skips 32 bytes per probe. register(input) - register(control) is
# the extra time Nix's scanner spends on that input; the input's size over it is its rate.
# It also checks that Nix found the planted reference (nix-store --query --references).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=1
MIB=200
CANDIDATES=1000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --mib) MIB=${2:?}; shift 2 ;;
        --candidates) CANDIDATES=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
need nix-build "apt install nix-bin"
need nix-store "apt install nix-bin"
need python3 "apt install python3"
(( ${#MISSING[@]} == 0 )) || die "missing: ${MISSING[*]}"

export NIX_CONFIG=$'sandbox = false\nbuild-users-group =\nsubstituters =\nexperimental-features = nix-command flakes'
HC=$WORK/hc
NS=$WORK/nix-scan
mkdir -p "$NS"
if [[ ! -f $HC/base32.txt || ! -f $HC/sha256.txt ]]; then
    echo "== building the hash-character inputs"
    (cd "$HC" 2>/dev/null || mkdir -p "$HC" && cd "$HC" \
        && python3 "$BENCH/hashchars.py" base32 base32.txt base32.truth.json --mib "$MIB" \
        && python3 "$BENCH/hashchars.py" sha256 sha256.txt sha256.truth.json --mib "$MIB")
fi
bytes=$((MIB << 20))
for input in base32 sha256; do
    # The checksum lines stop short of a whole line: a few bytes under N MiB.
    head -c "$bytes" "$HC/$input.txt" >"$NS/$input.txt"
    (( $(stat -c %s "$NS/$input.txt") > bytes - 4096 )) || die "$HC/$input.txt is shorter than $MIB MiB"
done
head -c "$bytes" /dev/zero | tr '\0' '-' >"$NS/control.txt"

echo "== $(machine_line)"
echo "== $(nix-build --version), $CANDIDATES candidate hashes, $MIB MiB per input"
RESULTS=$NS/results.tsv
printf '# input\trun\ttotal_s\tbuilder_s\tregister_s\tfound_planted\n' >"$RESULTS"
for run in $(seq 1 "$RUNS"); do
    for input in control base32 sha256; do
        timing=$NS/$input.timing
        rm -f "$timing"
        t0=$EPOCHREALTIME
        out=$(nix-build "$BENCH/nix-scan.nix" --no-out-link --quiet \
            --arg candidates "$CANDIDATES" --argstr input "$NS/$input.txt" \
            --argstr timing "$timing" --argstr nonce "$input-$run-$t0" 2>"$NS/$input.log") \
            || { cat "$NS/$input.log" >&2; die "nix-build failed on $input"; }
        t1=$EPOCHREALTIME
        planted=$(nix-instantiate --eval --strict --json -E "builtins.head (builtins.genList \
            (i: builtins.toFile \"nix-scan-candidate-\${toString i}\" \"candidate \${toString i}\n\") 1)" \
            | tr -d '"')
        found=no
        nix-store --query --references "$out" | grep -qxF "$planted" && found=yes
        nix-store --delete "$out" >/dev/null 2>&1 || true
        { read -r b0; read -r b1; } <"$timing"
        python3 - "$input" "$run" "${t0/,/.}" "${t1/,/.}" "$b0" "$b1" "$found" >>"$RESULTS" <<'EOF'
import sys
input_, run, t0, t1, b0, b1, found = sys.argv[1:]
t0, t1, b0, b1 = map(float, (t0, t1, b0, b1))
print("%s\t%s\t%.3f\t%.3f\t%.3f\t%s" % (input_, run, t1 - t0, b1 - b0, t1 - b1, found))
EOF
        tail -n 1 "$RESULTS" | awk -F'\t' '{printf "   %-8s run %s: total %7.2f s, builder %6.2f s, register %7.2f s, planted reference found: %s\n", $1, $2, $3, $4, $5, $6}'
    done
done

# The candidates and derivations are this script's own: leave the store as it was.
shopt -s nullglob
leftovers=(/nix/store/*-nix-scan-candidate-* /nix/store/*-nix-scan.drv)
(( ${#leftovers[@]} == 0 )) || nix-store --delete "${leftovers[@]}" >/dev/null 2>&1 || true

python3 - "$RESULTS" "$NS" <<'EOF'
import os, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")]
size = {i: os.path.getsize(os.path.join(sys.argv[2], i + ".txt")) for i in ("base32", "sha256")}
reg = {}
for input_, run, total, builder, register, found in rows:
    reg.setdefault(input_, []).append(float(register))
base = statistics.median(reg["control"])
print()
print("%-8s %14s %16s %22s" % ("input", "register s", "minus control s", "Nix scan MB/s (est.)"))
for input_ in ("control", "base32", "sha256"):
    med = statistics.median(reg[input_])
    extra = med - base
    rate = "%.1f" % (size[input_] / extra / 1e6) if input_ != "control" and extra > 0 else ""
    print("%-8s %14.2f %16s %22s" % (input_, med, "%.2f" % extra if input_ != "control" else "",
                                     rate))
missing = [r for r in rows if r[5] != "yes"]
if missing:
    print("WARNING: Nix did not find the planted reference in %d builds" % len(missing))
EOF
