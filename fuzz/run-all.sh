#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 300) on one core and prints one
# line per target: its executions, its corpus and whether it found a crash. Needs cargo-fuzz;
# the stable toolchain runs it with RUSTC_BOOTSTRAP=1. Seeds: the ELF fixtures for `inspect`,
# the saved reports and baselines already in corpus/readers (see README.md) for `readers`.
set -uo pipefail
cd "$(dirname "$0")" || exit 2
seconds=${1:-300}
export RUSTC_BOOTSTRAP=1
sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v stowaway-fuzz | while read -r target; do
    mkdir -p "corpus/$target"
    seeds=()
    [ "$target" = inspect ] && seeds=(../fixtures/elf)
    log="artifacts/$target.log"
    mkdir -p artifacts
    cargo fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 </dev/null >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    files=$(find "corpus/$target" -type f | wc -l)
    verdict=$([ "$status" = 0 ] && echo "no crash" || echo "CRASH (exit $status), see $log")
    echo "$target: ${runs:-?} executions in ${seconds}s, corpus $files inputs, $verdict"
done
