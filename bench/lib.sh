# bench/lib.sh: what the benchmark scripts share (sourced, not run).
#
# After `source bench/lib.sh`:
#   BENCH, ROOT, WORK     this directory, the repository, bench/work (git-ignored)
#   die MSG               prints "SCRIPT: MSG" and exits 1
#   usage                 prints the script's header comment (its --help)
#   check_runs            dies unless $RUNS is a positive integer
#   need CMD HINT...      records a missing command; `need_done` dies listing them all
#   build_stowaway        cargo build --release, copied to $WORK/stowaway (so that a build by
#                         someone else in the shared target directory cannot swap it mid-run);
#                         sets STOWAWAY. With STOWAWAY_BIN set, uses that binary instead.
#   timed TSV INPUT TOOL RUN OUT CMD...
#                         runs CMD once with stdout to OUT, under /usr/bin/time, and appends a
#                         row to TSV: input, tool, run, wall seconds ($EPOCHREALTIME), peak RSS
#                         KB, user s, sys s, blocks read from disk, major faults, exit code,
#                         checksum of the sorted output. Exit 0 and 1 are success (stowaway:
#                         passed or failed; rg: found or not); more stops the script. RUN 0 is
#                         a warm-up and is not recorded.
#   machine_line          one line: CPUs, model, memory, kernel, load average

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname "$BENCH")
WORK=$BENCH/work
SCRIPT=$(basename "$0")
mkdir -p "$WORK"

die() { echo "$SCRIPT: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
check_runs() { [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, not '$RUNS'"; }

MISSING=()
need() {
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null || MISSING+=("$cmd ($*)")
}
need_done() {
    (( BASH_VERSINFO[0] >= 5 )) || MISSING+=("bash >= 5 (for \$EPOCHREALTIME)")
    [[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' true >/dev/null 2>&1 \
        || MISSING+=("GNU time at /usr/bin/time (apt install time)")
    (( ${#MISSING[@]} == 0 )) || die "missing: ${MISSING[*]}"
}

build_stowaway() {
    STOWAWAY=$WORK/stowaway
    if [[ -n ${STOWAWAY_BIN:-} ]]; then
        [[ -x $STOWAWAY_BIN ]] || die "STOWAWAY_BIN=$STOWAWAY_BIN is not executable"
        STOWAWAY=$(realpath "$STOWAWAY_BIN")
        return
    fi
    echo "== building stowaway (release)"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build failed"
    local target
    target=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    cp "$target/release/stowaway" "$STOWAWAY.tmp" && mv -f "$STOWAWAY.tmp" "$STOWAWAY"
}

timed() {
    local tsv=$1 input=$2 tool=$3 run=$4 out=$5
    shift 5
    local t0 t1 rc timefile=$WORK/.time.$$ errfile=$WORK/.stderr.$$
    rc=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S %I %F' -o "$timefile" "$@" >"$out" 2>"$errfile" || rc=$?
    t1=$EPOCHREALTIME
    if (( rc > 1 )); then
        echo "$SCRIPT: $tool on $input failed with exit $rc: $*" >&2
        head -c 2000 "$errfile" >&2
        exit 1
    fi
    (( run == 0 )) && return 0
    local m u s i f
    # GNU time writes "Command exited with non-zero status 1" first; the numbers are last.
    read -r m u s i f < <(tail -n 1 "$timefile")
    local wall
    wall=$(python3 -c "print('%.6f' % (${t1/,/.} - ${t0/,/.}))")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$input" "$tool" "$run" "$wall" \
        "$m" "$u" "$s" "$i" "$f" "$rc" "$(LC_ALL=C sort "$out" | cksum | cut -d' ' -f1)" >>"$tsv"
    printf '   %-14s %-16s run %2d: %8.3f s %8s KB\n' "$input" "$tool" "$run" "$wall" "$m"
}

timings_header() {
    printf '# input\ttool\trun\twall_s\tmaxrss_kb\tuser_s\tsys_s\tfs_in\tmajflt\texit\tcksum\n' >"$1"
}

machine_line() {
    local model
    model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    printf '%s CPUs, %s, %s GB RAM, Linux %s, load average %s\n' "$(nproc)" "$model" \
        "$(awk '/MemTotal/ {printf "%.1f", $2 / 1e6}' /proc/meminfo)" "$(uname -r)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}
