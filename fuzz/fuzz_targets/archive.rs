//! Arbitrary bytes as an archive file (NAR, tar, docker-archive or OCI layout as a tar,
//! plain or compressed): recognised or not, listed, and visited with every member read,
//! part by chunks and part into memory. Each is read or refused with an error, never a
//! panic, and a listed archive visits the paths it listed. An archive the bounded visit
//! accepts is then audited whole, as `stowaway check` does (members scanned and inspected,
//! the archive's own closure, roots, chains and dead weight): an exit code, never a panic.

#![no_main]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stowaway::archive::{self, Limits, MemberKind};

/// One file per fuzzing process, rewritten for each input.
fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("stowaway-fuzz-archive-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = input_path();
    std::fs::write(path, data).expect("writing the input");
    // Small bounds keep each run fast; the code paths are the same as with the defaults.
    let limits = Limits {
        max_unpacked_bytes: 16 << 20,
        max_members: 10_000,
        ..Limits::default()
    };
    let Ok(Some(archive)) = archive::open(path, &limits) else {
        return;
    };
    let listed: Option<BTreeSet<Vec<u8>>> = archive
        .listing()
        .map(|listing| listing.map(|l| l.path.to_vec()).collect());
    let mut visited = BTreeSet::new();
    let result = archive.visit(&mut |member| {
        visited.insert(member.path.to_vec());
        if let MemberKind::File(mut file) = member.kind {
            if file.size % 2 == 0 {
                file.contents.read_to_vec(1 << 20)?;
            } else {
                let mut chunk = [0u8; 100];
                while file.contents.read(&mut chunk)? > 0 {}
            }
        }
        Ok(())
    });
    if let (Ok(_), Some(listed)) = (&result, listed) {
        assert_eq!(listed, visited, "a listed archive visits what it listed");
    }
    if result.is_ok() {
        // Within the small bounds above, so the whole audit is as quick.
        if let Ok(code) = stowaway::parts::check_exit_code(path) {
            assert!((0..=2).contains(&code), "exit code {code}");
        }
    }
});
