#!/usr/bin/env bash
# stowaway as a Nix post-build-hook: audit every output a build produced, keep one JSON report
# per output, and log one line per output.
#
#   nix.conf:     post-build-hook = /etc/nix/stowaway-post-build-hook.sh
#   one build:    nix-build --option post-build-hook "$PWD/ci/nix/post-build-hook.sh" …
#
# Environment:
#   STOWAWAY             the stowaway binary (default: `stowaway` on PATH)
#   STOWAWAY_ARGS        extra flags for `stowaway check`, split on whitespace
#                        (e.g. "--static --config /etc/stowaway.toml")
#   STOWAWAY_REPORT_DIR  where reports go, as <output's base name>.json (default:
#                        /var/log/stowaway for root, else ${XDG_STATE_HOME:-~/.local/state}/stowaway)
#   STOWAWAY_ENFORCE=1   exit 1 when an output fails its audit or cannot be audited
#
# What Nix does with a post-build-hook (nix.conf(5) of Nix 2.8, and its source; tests/ci.rs
# checks the environment, the log and the failure on a real nix-build):
# - It runs the hook after every build it performs itself (never for a substituted path),
#   with no arguments: DRV_PATH is the derivation, OUT_PATHS its outputs, space-separated.
#   The rest of the environment, and the working directory, are those of the process that
#   builds: nix-build itself in a single-user install, the daemon (as root) otherwise. So
#   stowaway looks for ./stowaway.toml there, unless STOWAWAY_ARGS has --config.
# - The hook's stdout and stderr go to the build log, prefixed with "post-build-hook: ".
# - The hook blocks the build loop, and when it fails Nix stops: the output just built stays
#   valid (the hook never runs for it again), nothing more is built, and the command fails.
#   So a failing audit fails the hook only with STOWAWAY_ENFORCE=1, and without it no error
#   of the hook itself does either.
set -euo pipefail

enforce=${STOWAWAY_ENFORCE:-0}
tmp=
logged=0

log() { printf 'stowaway: %s\n' "$*" >&2; }

# Logs why nothing (more) is audited and stops; finish decides the exit code.
give_up() {
    log "$*"
    logged=1
    exit 1
}

finish() {
    local status=$?
    if [[ -n $tmp ]]; then rm -f -- "$tmp" "$tmp.err"; fi
    if [[ $status != 0 && $enforce != 1 ]]; then
        if [[ $logged == 0 ]]; then log "the hook failed (exit $status)"; fi
        exit 0
    fi
}
trap finish EXIT

stowaway=${STOWAWAY:-}
if [[ -z $stowaway ]]; then
    stowaway=$(command -v stowaway) || give_up "stowaway is not on PATH and STOWAWAY is unset; nothing audited"
fi
[[ -x $stowaway ]] || give_up "STOWAWAY=$stowaway is not executable; nothing audited"

if [[ -n ${STOWAWAY_REPORT_DIR:-} ]]; then
    report_dir=$STOWAWAY_REPORT_DIR
elif [[ $EUID == 0 ]]; then
    report_dir=/var/log/stowaway
elif [[ -n ${XDG_STATE_HOME:-} || -n ${HOME:-} ]]; then
    report_dir=${XDG_STATE_HOME:-$HOME/.local/state}/stowaway
else
    give_up "set STOWAWAY_REPORT_DIR (there is no HOME); nothing audited"
fi
if [[ $report_dir != /* ]]; then report_dir=$PWD/$report_dir; fi
store_dir=${NIX_STORE_DIR:-/nix/store}
case $report_dir/ in
    "$store_dir"/*) give_up "$report_dir is inside the store; nothing audited" ;;
esac
mkdir -p -- "$report_dir" || give_up "cannot create $report_dir; nothing audited"

# Split on whitespace without globbing: a store path's name may hold '?' and '=', never a
# space. (read -d '' stops at the end of the text, with a status of 1.)
outputs=()
extra_args=()
read -r -d '' -a outputs <<<"${OUT_PATHS:-}" || true
read -r -d '' -a extra_args <<<"${STOWAWAY_ARGS:-}" || true

# Nix 2.8.0 passes an empty OUT_PATHS (NixOS/nix#6446): ask the store for the outputs of
# DRV_PATH, keeping those that exist (after a local build, all of them).
if [[ ${#outputs[@]} == 0 && -n ${DRV_PATH:-} ]]; then
    while IFS= read -r path; do
        if [[ -e $path ]]; then outputs+=("$path"); fi
    done < <(nix-store --query --outputs "$DRV_PATH" || true)
fi
if [[ ${#outputs[@]} == 0 ]]; then
    give_up "no output paths for ${DRV_PATH:-an unknown derivation}; nothing audited"
fi

failed=0
for path in "${outputs[@]}"; do
    report=$report_dir/${path##*/}.json
    # Written beside the report and renamed, so that no one reads half a report.
    tmp=$(mktemp "$report.XXXXXX")
    status=0
    "$stowaway" check --format json ${extra_args[@]+"${extra_args[@]}"} -- "$path" \
        >"$tmp" 2>"$tmp.err" || status=$?
    case $status in
        0) verdict=pass ;;
        1) verdict=FAIL ;;
        *) verdict="ERROR (exit $status: $(head -n 1 "$tmp.err"))" ;;
    esac
    if [[ -s $tmp ]]; then
        # mktemp made it private; a report is as public as the store paths it names.
        chmod "$(printf '%o' $((0666 & ~$(umask))))" "$tmp"
        mv -f -- "$tmp" "$report"
        log "$verdict $path (report: $report)"
    else
        log "$verdict $path (no report)"
    fi
    rm -f -- "$tmp" "$tmp.err"
    tmp=
    if [[ $status != 0 ]]; then failed=$((failed + 1)); fi
done

if [[ $failed != 0 && $enforce == 1 ]]; then
    give_up "$failed of ${#outputs[@]} outputs of ${DRV_PATH:-the build} failed the audit; failing the build (STOWAWAY_ENFORCE=1)"
fi
