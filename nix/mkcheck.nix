# lib.mkCheck: turns any package into a check derivation that audits it with stowaway.
#
#   checks.x86_64-linux.closure = stowaway.lib.mkCheck { package = self.packages.x86_64-linux.default; };
#
# stowaway itself is the builder: no shell, no nixpkgs, no `nix` command in the build. With
# __structuredAttrs and exportReferencesGraph, Nix hands it the package's reference graph with
# real sizes (see src/nix_builder.rs); `audited` tells it which derivation built them, for the
# report to name. On success the JSON report is $out/report.json; on failure the human report
# is in the build log (`nix log`) and the build fails.
#
# This file uses builtins only, so that it can be tested with a plain Nix (tests/mkcheck.rs).
{ stowaway }:
{
  # The derivation to audit; every output of it is audited.
  package,
  # A policy file (stowaway.toml), or null for the defaults.
  config ? null,
  # Every executable must be static (`--static`).
  static ? false,
  # Package-name globs to accept (`--allow`), each a reference you have decided to keep.
  allow ? [ ],
  # More `stowaway check` flags, as strings.
  extraArgs ? [ ],
  # The check's name.
  name ? null,
}:
let
  fail = msg: throw "stowaway.lib.mkCheck: ${msg}";
  target =
    if !(builtins.isAttrs package) then
      fail "`package` must be a derivation, got ${builtins.typeOf package}"
    else if (package.type or null) != "derivation" then
      fail "`package` must be a derivation, got an attribute set with attributes ${
        builtins.concatStringsSep ", " (builtins.attrNames package)
      }"
    else
      package;
  outputNames = target.outputs or [ "out" ];
  outputs = map (output: target.${output}) outputNames;
  policy =
    if config == null then
      [ ]
    else if builtins.isPath config || builtins.isString config then
      [ "--config" "${config}" ]
    else
      fail "`config` must be a path to a stowaway.toml or null, got ${builtins.typeOf config}";
in
builtins.derivation {
  name = if name != null then name else "stowaway-check-${target.name}";
  system = target.system;
  # `target` first: a bad `package` is reported as such, whatever stowaway is.
  builder = builtins.seq target "${stowaway}/bin/stowaway";
  args =
    [ "check" "--nix-builder" ]
    ++ policy
    ++ (if static then [ "--static" ] else [ ])
    ++ builtins.concatMap (glob: [ "--allow" glob ]) allow
    ++ extraArgs
    ++ map toString outputs;
  __structuredAttrs = true;
  exportReferencesGraph.graph = outputs;
  # Named in the report as the audited outputs' deriver: the exported graph has none. The
  # drvPath's string context is dropped. Kept, it would mean every output of every derivation
  # in the package's build closure (compilers and bootstrap included), all of which the check
  # would then have to build or download; even reduced to the .drv files alone, it would
  # copy thousands of them to a remote builder. The check reads the outputs, which are its
  # inputs already, and only names the .drv.
  audited = {
    drvPath =
      if target ? drvPath then builtins.unsafeDiscardStringContext target.drvPath else null;
    outputs = builtins.listToAttrs (
      map (output: {
        name = output;
        value = target.${output}.outPath;
      }) outputNames
    );
  };
  # The check only reads; there is nothing to gain from a binary cache.
  preferLocalBuild = true;
  allowSubstitutes = false;
}
