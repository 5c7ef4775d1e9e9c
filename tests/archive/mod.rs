//! The archive readers (`stowaway::archive`) on real archives: NARs dumped by Nix from
//! store paths it built, compressed by the real tools; tars by GNU tar; OCI layouts and
//! docker-archives by umoci and skopeo; and hostile archives written here on purpose.
//! Every tool must be installed (tests/setup.sh): a missing one fails, it never skips.

mod audit;
mod common;
mod hostile;
mod images;
mod nar;
mod refused;
