#!/usr/bin/env bash
# bench/run.sh: how fast `stowaway check` is, next to ripgrep, and whether it finds every
# store path, on ≥ 1 GiB of real binaries.
#
# Usage: bench/run.sh [--runs N] [--fresh] [--plants N] [--big-plants N] [--seed N]
#   --runs N        timed runs of each command (default 5), after one untimed warm-up each
#   --fresh         rebuild the inputs even if the cached ones are intact
#   --plants N      store paths planted into the tree (default 2000)
#   --big-plants N  store paths planted into the big file (default 200)
#   --seed N        seed of every random choice (default 1); inputs are deterministic
# Runs from any directory. Needs: cargo, rustc, python3, rg (apt install ripgrep) and GNU time
# at /usr/bin/time (apt install time). Needs ~3 GB free under bench/work/. On a 2-core VM it
# took 15 s the first time (copying and planting) and 8 s after, plus the build.
# Other work on the machine (a cargo build, tests) skews the times: run it on a quiet one.
#
# What it does:
#  1. `cargo build --release`, and copies the binary to bench/work/stowaway so that a build
#     by someone else in the shared target directory cannot swap it mid-benchmark.
#  2. Prepares, once, under bench/work/ (git-ignored), re-created when missing, changed or
#     when --fresh is given:
#     TREE = bench/work/tree/: copies (cp -a, never hard links) of real binaries: the Rust
#       toolchain's bin/, lib/, libexec/ (`rustc --print sysroot`), /usr/lib/gcc,
#       /usr/lib/x86_64-linux-gnu, and more if still short, until it holds ≥ 1 GiB; plus
#       hidden `.NAME-wrapped` copies of every bin/ executable (as Nix's wrappers leave them)
#       and a hidden `.odd/` directory whose names need escaping.
#     BIG = bench/work/big.bin: one file of ≥ 1 GiB, real binaries of TREE concatenated.
#     Then bench/plant.py overwrites N store paths `/nix/store/<32 nix-base32>-<name>
#     <subpath>\0` into random files of TREE (seeded) and M into BIG, never into the
#     originals and never overlapping, and writes the truth to bench/work/truth.json,
#     with the `/nix/store/` occurrences that were already there (found by rg).
#  3. Runs each command once untimed (warm page cache), then R rounds of, alternating:
#       stowaway check TREE --format json > out     (exit 0 or 1 is success, 2 failure)
#       rg -uu -a -F -o -c /nix/store/ TREE > out   (exit 0 or 1 is success)
#       and the same two on BIG
#     each under `/usr/bin/time -f '%e %M %U %S %I %F'` (wall, peak RSS, CPU, blocks read from
#     disk and major faults: non-zero means the page cache was not warm), with the wall time
#     also taken from bash's $EPOCHREALTIME around it (microseconds; %e has only 10 ms).
#  4. Prints, per input and tool: median wall time, throughput (input bytes / median),
#     peak RSS (max over runs), stowaway/rg ratio of medians; stowaway's recall against the
#     truth (file + offset in findings[].locations[]); rg's count total against the planted
#     count (a lower bound: -c counts lines); the machine and the input sizes.
#  5. Writes the same to bench/work/results.json (raw runs in bench/work/timings.tsv).
set -euo pipefail

die() { echo "run.sh: $*" >&2; exit 1; }

RUNS=5
FRESH=0
PLANTS=2000
BIG_PLANTS=200
SEED=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --fresh) FRESH=1; shift ;;
        --plants) PLANTS=${2:?}; shift 2 ;;
        --big-plants) BIG_PLANTS=${2:?}; shift 2 ;;
        --seed) SEED=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, not '$RUNS'"

# ---- requirements ----
missing=()
command -v rg >/dev/null || missing+=("rg (apt install ripgrep)")
command -v python3 >/dev/null || missing+=("python3 (apt install python3)")
[[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' "$BASH" -c : >/dev/null 2>&1 \
    || missing+=("GNU time at /usr/bin/time (apt install time)")
command -v cargo >/dev/null || missing+=("cargo (https://rustup.rs)")
command -v rustc >/dev/null || missing+=("rustc (https://rustup.rs)")
(( ${#missing[@]} == 0 )) || die "missing: ${missing[*]}"
(( BASH_VERSINFO[0] >= 5 )) || die "needs bash >= 5 (for \$EPOCHREALTIME)"

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname "$BENCH")
WORK=$BENCH/work
TREE=$WORK/tree
BIG=$WORK/big.bin
TRUTH=$WORK/truth.json
STAMP=$WORK/prepared.json
PLANT=(python3 "$BENCH/plant.py")
MIN_BYTES=$((1 << 30))
mkdir -p "$WORK"

# ---- 1. build ----
echo "== building stowaway (release)"
(cd "$ROOT" && cargo build --release --quiet)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
[[ -x $TARGET_DIR/release/stowaway ]] || die "no binary at $TARGET_DIR/release/stowaway"
STOWAWAY=$WORK/stowaway
cp "$TARGET_DIR/release/stowaway" "$STOWAWAY.tmp" && mv -f "$STOWAWAY.tmp" "$STOWAWAY"

# The machine and the build, for the report.
META=$WORK/meta.json
python3 - "$META" "$STOWAWAY" "$ROOT" "$RUNS" <<'EOF'
import hashlib, json, os, subprocess, sys, time
meta_path, stowaway, root, runs = sys.argv[1:5]
def out(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, check=False).stdout.strip()
    except OSError:
        return ""
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
              if l.startswith("model name")), "unknown")
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
git = out(["git", "rev-parse", "--short", "HEAD"], root) or "?"
if out(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"], root):
    git += "+dirty"
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "nproc": int(out(["nproc"]) or 0), "cpu_model": model, "mem_gb": round(mem_kb / 1e6, 1),
    "kernel": os.uname().release, "stowaway_version": out([stowaway, "--version"]),
    "stowaway_binary": stowaway, "git": git,
    "stowaway_sha256": hashlib.sha256(open(stowaway, "rb").read()).hexdigest(),
    "rg_version": out(["rg", "--version"]).splitlines()[0] if out(["rg", "--version"]) else "?",
    "runs": int(runs),
    # What stowaway finds around it: a store on disk turns on known-hash search and pricing.
    "store_dir_entries": len(os.listdir("/nix/store")) if os.path.isdir("/nix/store") else None,
    "nix_on_path": any(os.path.isfile(os.path.join(d, "nix"))
                       for d in os.environ.get("PATH", "").split(":") if d),
}, open(meta_path, "w"), indent=1)
EOF

# ---- 2. inputs ----
want_stamp=$(printf '{"version": 1, "seed": %s, "plants": %s, "big_plants": %s, "min_bytes": %s}' \
    "$SEED" "$PLANTS" "$BIG_PLANTS" "$MIN_BYTES")

tree_bytes() { find "$TREE" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

prepare() {
    echo "== preparing inputs under $WORK (once; --fresh forces it)"
    rm -rf "$TREE" "$BIG" "$TRUTH" "$STAMP"
    mkdir -p "$TREE"
    local sysroot
    sysroot=$(cd "$ROOT" && rustc --print sysroot)
    # In order, until the tree holds MIN_BYTES: binaries first, then whatever is big.
    local sources=(
        "$sysroot/bin:rust/bin" "$sysroot/lib:rust/lib" "$sysroot/libexec:rust/libexec"
        "/usr/lib/gcc:usr-lib/gcc" "/usr/lib/x86_64-linux-gnu:usr-lib/x86_64-linux-gnu"
        "/usr/libexec:usr-libexec" "/usr/bin:usr-bin" "$sysroot/share:rust/share"
    )
    local entry src dest have
    for entry in "${sources[@]}"; do
        have=$(tree_bytes)
        (( have >= MIN_BYTES )) && break
        src=${entry%%:*}
        dest=$TREE/${entry#*:}
        [[ -d $src ]] || continue
        echo "   copying $src ($((have >> 20)) MiB so far)"
        mkdir -p "$(dirname "$dest")"
        # Never hard links: planting must not reach the originals or a second copy.
        cp -a --no-preserve=links "$src" "$dest" 2>"$WORK/cp.err" \
            || echo "   (some files of $src could not be copied: $(head -c 300 "$WORK/cp.err"))"
    done
    # Unreadable leftovers would make stowaway report an incomplete audit (exit 2).
    find "$TREE" -type f ! -readable -delete
    chmod -R u+rwX "$TREE"
    have=$(tree_bytes)
    (( have >= MIN_BYTES )) || die "could only gather $have bytes of binaries for the tree"
    "${PLANT[@]}" decorate "$TREE"
    "${PLANT[@]}" concat "$TREE" "$BIG" --min-bytes "$MIN_BYTES" --seed "$SEED"
    "${PLANT[@]}" plant "$TREE" "$BIG" "$TRUTH" --plants "$PLANTS" --big-plants "$BIG_PLANTS" \
        --seed "$SEED"
    printf '%s\n' "$want_stamp" > "$STAMP"
}

if (( FRESH )) || [[ ! -f $STAMP ]] || [[ $(cat "$STAMP") != "$want_stamp" ]] \
    || [[ ! -d $TREE ]] || [[ ! -f $BIG ]] || ! "${PLANT[@]}" verify "$TRUTH"; then
    prepare
fi

# ---- 3. timed runs ----
TIMINGS=$WORK/timings.tsv
OUT_SW_TREE=$WORK/stowaway-tree.json
OUT_SW_BIG=$WORK/stowaway-big.json
OUT_RG_TREE=$WORK/rg-tree.txt
OUT_RG_BIG=$WORK/rg-big.txt
TIME_OUT=$WORK/time.txt
ERR_OUT=$WORK/stderr.txt

# run_one INPUT TOOL RUN OUTFILE COMMAND...: one measured run, appended to $TIMINGS
# (RUN 0 is the warm-up and is not recorded). The output's checksum is taken over its sorted
# lines, since rg prints files in whatever order its threads finish.
run_one() {
    local input=$1 tool=$2 run=$3 out=$4
    shift 4
    local t0 t1 rc
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %M %U %S %I %F' -o "$TIME_OUT" "$@" >"$out" 2>"$ERR_OUT"
    rc=$?
    set -e
    t1=$EPOCHREALTIME
    if (( rc > 1 )); then
        echo "run.sh: $tool on $input failed with exit $rc:" >&2
        cat "$ERR_OUT" >&2
        exit 1
    fi
    (( run == 0 )) && return 0
    local e m u s i f
    # GNU time writes "Command exited with non-zero status 1" first; the numbers are last.
    read -r e m u s i f < <(tail -n 1 "$TIME_OUT")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$input" "$tool" "$run" \
        "${t0/,/.}" "${t1/,/.}" "$e" "$m" "$u" "$s" "$i" "$f" "$rc" \
        "$(LC_ALL=C sort "$out" | cksum | cut -d' ' -f1)" >>"$TIMINGS"
    printf '   %-4s %-8s run %d: %.3f s, %s KB\n' "$input" "$tool" "$run" \
        "$(python3 -c "print(${t1/,/.} - ${t0/,/.})")" "$m"
}

round() {
    local run=$1
    run_one tree stowaway "$run" "$OUT_SW_TREE" "$STOWAWAY" check "$TREE" --format json
    run_one tree rg "$run" "$OUT_RG_TREE" rg -uu -a -F -o -c /nix/store/ "$TREE"
    run_one big stowaway "$run" "$OUT_SW_BIG" "$STOWAWAY" check "$BIG" --format json
    run_one big rg "$run" "$OUT_RG_BIG" rg -uu -a -F -o -c /nix/store/ "$BIG"
}

echo "== warm-up (untimed)"
round 0
printf '# input\ttool\trun\tt0\tt1\ttime_e\tmaxrss_kb\tuser\tsys\tfs_in\tmajflt\texit\tcksum\n' \
    >"$TIMINGS"
echo "== $RUNS timed rounds"
for ((r = 1; r <= RUNS; r++)); do
    round "$r"
done

# ---- 4, 5. report ----
"${PLANT[@]}" report --truth "$TRUTH" --timings "$TIMINGS" --meta "$META" \
    --results "$WORK/results.json" --stowaway-tree "$OUT_SW_TREE" --stowaway-big "$OUT_SW_BIG" \
    --rg-tree "$OUT_RG_TREE" --rg-big "$OUT_RG_BIG"
