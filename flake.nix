{
  description = "stowaway: a closure auditor for static binaries";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;

      sourceOf =
        files:
        lib.fileset.toSource {
          root = ./.;
          fileset = lib.fileset.unions files;
        };
      # What the package's build and its unit tests read (the rule packs are include_str!'d),
      # so that editing the README, the tests or the fixtures rebuilds nothing.
      packageFiles = [
        ./Cargo.toml
        ./Cargo.lock
        ./src
        ./rules
      ];

      # buildRustPackage with this project's settings; `args` adds to them or replaces them.
      rustPackage =
        pkgs: args:
        pkgs.rustPlatform.buildRustPackage (
          {
            pname = "stowaway";
            inherit version;
            src = sourceOf packageFiles;
            cargoLock.lockFile = ./Cargo.lock;
            # The unit tests. The integration tests need tests/ and fixtures/, which this
            # source leaves out; those that can run in a build sandbox run in checks.tests.
            cargoTestFlags = [ "--lib" ];
            meta = {
              description = "Closure auditor for static binaries built with Nix";
              mainProgram = "stowaway";
              license = with pkgs.lib.licenses; [
                mit
                asl20
              ];
            };
          }
          // args
        );

      stowaway = pkgs: rustPackage pkgs { };

      # lib.mkCheck. Its default stowaway is the static build where there is one (Linux), the
      # default package elsewhere.
      mkCheck =
        args:
        let
          system = args.package.system or "unknown";
          builds =
            self.packages.${system}
              or (throw "stowaway.lib.mkCheck: this flake builds no stowaway for ${system}; pass `stowaway`");
        in
        import ./nix/mkcheck.nix {
          stowaway = args.stowaway or builds.static or builds.default;
        } (builtins.removeAttrs args [ "stowaway" ]);

      # Integration tests that cannot run in a Nix build sandbox, skipped by name (libtest's
      # --skip matches a substring of the test's path).
      sandboxSkips = [
        # They build derivations with the host's nix-build, bash and compilers.
        "nix::"
        "ci::" # also: check-jsonschema's vendored schemas, shellcheck, ruamel.yaml
        "flake::"
        "mkcheck::a_clean_package_passes_with_the_json_report_in_out"
        "mkcheck::a_package_that_embeds_a_store_path_fails_its_check_with_the_finding_and_its_size"
        "mkcheck::a_policy_file_given_to_mkcheck_is_applied"
        "mkcheck::a_target_that_fails_to_build_is_named"
        "mkcheck::something_that_is_not_a_derivation_is_an_evaluation_error_that_says_so"
        "mkcheck::the_flakes_lib_mkcheck_runs_in_another_flakes_checks"
        # They run the npm reference tools of tests/validators (`npm ci` needs the network).
        "formats::github_commands_are_escaped_exactly_as_actions_core_escapes_them"
        "formats::limits_reached_are_reported_in_every_format_and_sarif_stays_valid"
        "formats::sarif_passes_the_multitool_with_its_github_rules"
      ];
      # The fixtures are x86-64 ELF files, which nixpkgs's binutils strips only on x86-64
      # (it is built for the host target alone).
      strippingSkips = [
        "elf::every_library_signature_recognises_its_library_with_and_without_symbols"
      ];
    in
    {
      packages = forAllSystems (
        pkgs:
        {
          default = stowaway pkgs;
        }
        # A static (musl) stowaway: what mkCheck runs, and what the project audits itself on.
        # stowaway inspects ELF files only, so it is built for Linux alone.
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          static = stowaway pkgs.pkgsStatic;
        }
      );

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/stowaway";
          meta.description = "Audit build outputs for Nix store references";
        };
      });

      overlays.default = final: prev: {
        stowaway = stowaway final;
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (stowaway pkgs) ];
          packages = [
            pkgs.clippy
            pkgs.rustfmt
            pkgs.nodejs
            pkgs.shellcheck
          ];
        };
      });

      # The official Nix formatter (RFC 166 style), which nixpkgs calls nixfmt since 25.11.
      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
        in
        {
          clippy = rustPackage pkgs {
            pname = "stowaway-clippy";
            src = sourceOf (
              packageFiles
              ++ [
                ./clippy.toml
                ./tests
              ]
            );
            # buildRustPackage's `cargo` is otherwise the cargo-auditable wrapper, which runs
            # `cargo auditable clippy`.
            auditable = false;
            nativeBuildInputs = [ pkgs.clippy ];
            buildPhase = ''
              runHook preBuild
              cargo clippy --all-targets --frozen -- -D warnings
              runHook postBuild
            '';
            installPhase = "touch $out";
            doCheck = false;
          };
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          # The unit tests and every integration test that a build sandbox allows (no network,
          # no nix, not root). Linux only: the tests read /proc and run util-linux's script.
          tests = rustPackage pkgs {
            pname = "stowaway-tests";
            src = sourceOf (
              packageFiles
              ++ [
                ./tests
                ./fixtures
                ./fuzz/regressions
              ]
            );
            cargoTestFlags = [ ];
            # script gives the progress test a terminal; python3 builds a deep tree.
            nativeCheckInputs = [
              pkgs.util-linux
              pkgs.python3
            ];
            checkFlags = map (name: "--skip=${name}") (
              sandboxSkips ++ lib.optionals (!pkgs.stdenv.hostPlatform.isx86_64) strippingSkips
            );
          };
          # The project eats its own cooking: its static build must reference no store path.
          self-audit = mkCheck {
            package = self.packages.${system}.static;
            stowaway = self.packages.${system}.static;
            static = true;
          };
        }
      );

      # mkCheck { package; config ? null; static ? false; allow ? [ ]; extraArgs ? [ ];
      #           name ? null; stowaway ? this flake's stowaway }: a derivation for your
      # flake's `checks` that fails when `package` references what it should not. By default
      # it runs the static build on Linux and the default package elsewhere.
      lib.mkCheck = mkCheck;
    };
}
