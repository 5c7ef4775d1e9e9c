{
  description = "stowaway: a closure auditor for static binaries";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      stowaway = pkgs: pkgs.rustPlatform.buildRustPackage {
        pname = "stowaway";
        version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;
        src = pkgs.lib.cleanSource ./.;
        cargoLock.lockFile = ./Cargo.lock;
        # The integration tests build derivations with Nix, which is not possible inside a
        # Nix build; the unit tests run.
        cargoTestFlags = [ "--lib" ];
        meta = {
          description = "Closure auditor for static binaries built with Nix";
          mainProgram = "stowaway";
          license = with pkgs.lib.licenses; [ mit asl20 ];
        };
      };
    in
    {
      packages = forAllSystems (pkgs: {
        default = stowaway pkgs;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/stowaway";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (stowaway pkgs) ];
          packages = [ pkgs.clippy pkgs.rustfmt pkgs.ripgrep ];
        };
      });
    };
}
