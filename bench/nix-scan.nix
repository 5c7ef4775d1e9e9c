# A derivation whose output is a given file, built so that Nix's own reference scanner
# (libstore/references.cc, run when the output is registered) searches it for the hashes of
# `candidates` store paths, which are the build's inputs. bench/nix-scan.sh times it.
#
# The input file is read from outside the store (the sandbox must be off): importing 200 MiB
# into the store would time something else. The first candidate's path is written into the
# output at byte 1,000,000, so Nix must find that one reference.
{ input, candidates ? 1000, nonce ? "", timing }:
let
  inputs = builtins.genList
    (i: builtins.toFile "nix-scan-candidate-${toString i}" "candidate ${toString i}\n")
    candidates;
in
builtins.derivation {
  name = "nix-scan";
  system = builtins.currentSystem;
  builder = "/bin/bash";
  # `nonce` makes a new derivation each run, so Nix builds (and scans) again.
  inherit nonce input timing inputs;
  planted = builtins.head inputs;
  args = [ "-c" ''
    # Nix 2.8 on some kernels SIGKILLs a builder that exits normally; a short-lived child
    # left behind avoids it (see fixtures/nix/mk.nix).
    trap '(/bin/sleep 0.5) &' EXIT
    set -euo pipefail
    /bin/date +%s.%N > "$timing"
    /bin/cp "$input" "$out"
    /bin/chmod u+w "$out"
    printf '%s' "$planted" | /bin/dd of="$out" bs=1 seek=1000000 conv=notrunc status=none
    /bin/date +%s.%N >> "$timing"
  '' ];
}
