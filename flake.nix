{
  description = "stowaway: a closure auditor for static binaries";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;

      # Only what the build needs, so that editing the README rebuilds nothing.
      src = nixpkgs.lib.fileset.toSource {
        root = ./.;
        fileset = nixpkgs.lib.fileset.unions [
          ./Cargo.toml
          ./Cargo.lock
          ./src
          ./rules
          ./tests
          ./fixtures
          ./README.md
        ];
      };

      stowaway = pkgs: pkgs.rustPlatform.buildRustPackage {
        pname = "stowaway";
        inherit version src;
        cargoLock.lockFile = ./Cargo.lock;
        # The integration tests build derivations with Nix and read npm tools, neither of
        # which a Nix build can do; the unit tests run here, the rest in `checks.tests`.
        cargoTestFlags = [ "--lib" ];
        meta = {
          description = "Closure auditor for static binaries built with Nix";
          mainProgram = "stowaway";
          license = with pkgs.lib.licenses; [ mit asl20 ];
        };
      };

      # lib.mkCheck for one system: its default stowaway is this flake's static build.
      mkCheck = args:
        import ./nix/mkcheck.nix
          { stowaway = args.stowaway or self.packages.${args.package.system}.static; }
          (builtins.removeAttrs args [ "stowaway" ]);
    in
    {
      packages = forAllSystems (pkgs: {
        default = stowaway pkgs;
        # A static (musl) stowaway: what mkCheck runs, and what the project audits itself on.
        static = stowaway pkgs.pkgsStatic;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/stowaway";
        };
      });

      overlays.default = final: prev: {
        stowaway = stowaway final;
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (stowaway pkgs) ];
          packages = [ pkgs.clippy pkgs.rustfmt pkgs.nodejs pkgs.shellcheck ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);

      checks = forAllSystems (pkgs:
        let system = pkgs.stdenv.hostPlatform.system; in {
          # The unit tests (buildRustPackage's check phase).
          tests = self.packages.${system}.default;
          clippy = (stowaway pkgs).overrideAttrs (old: {
            pname = "stowaway-clippy";
            nativeBuildInputs = old.nativeBuildInputs ++ [ pkgs.clippy ];
            buildPhase = "cargo clippy --all-targets --offline -- -D warnings";
            installPhase = "touch $out";
            doCheck = false;
          });
          # The project eats its own cooking: its static build must reference no store path.
          self-audit = mkCheck {
            package = self.packages.${system}.static;
            stowaway = self.packages.${system}.static;
            static = true;
          };
        });

      # mkCheck { package; config ? null; static ? false; allow ? [ ]; extraArgs ? [ ];
      #           name ? null; stowaway ? this flake's static build }: a derivation for your
      # flake's `checks` that fails when `package` references what it should not.
      lib.mkCheck = mkCheck;
    };
}
