//! The size of a path's NAR serialisation, computed from the files without writing the NAR.
//!
//! Nix's `narSize` is the length of `nix-archive-1` followed by the path's tree as strings
//! (`libutil/archive.cc`): each string is an 8-byte length and its bytes padded to 8. Every
//! term depends on one entry only, so the order of the walk does not matter and the size is
//! exact to the byte.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// The serialised size of a NAR string of `len` bytes.
fn string(len: u64) -> u64 {
    8 + len.div_ceil(8) * 8
}

/// The NAR size of the file, directory or symlink at `path` (not followed).
pub fn nar_size(path: &Path) -> Result<u64> {
    let mut total = string(13); // "nix-archive-1"
    for item in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = item.with_context(|| format!("NAR size of {}", path.display()))?;
        if entry.depth() > 0 {
            // "entry" "(" "name" <name> "node" … ")"
            total += string(5)
                + string(1)
                + string(4)
                + string(entry.file_name().as_bytes().len() as u64)
                + string(4)
                + string(1);
        }
        // "(" "type" <type> … ")"
        total += string(1) + string(4) + string(1);
        let kind = entry.file_type();
        if kind.is_dir() {
            total += string(9);
        } else if kind.is_symlink() {
            let target = fs::read_link(entry.path())
                .with_context(|| format!("reading link {}", entry.path().display()))?;
            total += string(7) + string(6) + string(target.as_os_str().as_bytes().len() as u64);
        } else {
            let meta = entry
                .metadata()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            total += string(7);
            if meta.permissions().mode() & 0o100 != 0 {
                total += string(10) + string(0); // "executable" ""
            }
            total += string(8) + string(meta.len()); // "contents" <bytes>
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn matches_nix_for_a_small_tree() {
        // Nix 2.8 prints narSize 520 for an output holding bin/app = "/nix/store/<hash>-openssl-3.0.12-etc/etc/ssl\n"
        // (a 71-byte, non-executable file): the tree shape below.
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("bin")).expect("mkdir");
        fs::write(out.join("bin/app"), vec![b'x'; 71]).expect("write");
        assert_eq!(nar_size(&out).expect("size"), 520);
        symlink("/nix/store/x", out.join("bin/link")).expect("symlink");
        let link_cost = string(5)
            + string(1)
            + string(4)
            + string(4)
            + string(4)
            + string(1)
            + string(1)
            + string(4)
            + string(7)
            + string(6)
            + string(12)
            + string(1);
        assert_eq!(nar_size(&out).expect("size"), 520 + link_cost);
    }
}
