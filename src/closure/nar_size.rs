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
const fn string(len: u64) -> u64 {
    8 + len.div_ceil(8) * 8
}

/// The NAR header, `nix-archive-1`.
pub const HEADER: u64 = string(13);

/// One node of a NAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NarNode {
    Regular { executable: bool, size: u64 },
    Symlink { target_len: u64 },
    Directory,
}

/// The bytes one entry adds to a NAR: its node, and, unless it is the root (`name_len` is
/// `None`), the `entry ( name <name> node … )` around it.
pub fn entry_bytes(name_len: Option<u64>, node: NarNode) -> u64 {
    // "(" "type" <type> … ")"
    let mut total = string(1) + string(4) + string(1);
    total += match node {
        NarNode::Directory => string(9),
        NarNode::Symlink { target_len } => string(7) + string(6) + string(target_len),
        NarNode::Regular { executable, size } => {
            // "regular" ["executable" ""] "contents" <bytes>
            string(7)
                + if executable {
                    string(10) + string(0)
                } else {
                    0
                }
                + string(8)
                + string(size)
        }
    };
    if let Some(name_len) = name_len {
        total += string(5) + string(1) + string(4) + string(name_len) + string(4) + string(1);
    }
    total
}

/// The NAR size of the file, directory or symlink at `path` (not followed).
pub fn nar_size(path: &Path) -> Result<u64> {
    let mut total = HEADER;
    for item in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = item.with_context(|| format!("NAR size of {}", path.display()))?;
        let kind = entry.file_type();
        let node = if kind.is_dir() {
            NarNode::Directory
        } else if kind.is_symlink() {
            let target = fs::read_link(entry.path())
                .with_context(|| format!("reading link {}", entry.path().display()))?;
            NarNode::Symlink {
                target_len: target.as_os_str().len() as u64,
            }
        } else {
            let meta = entry
                .metadata()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            NarNode::Regular {
                executable: meta.permissions().mode() & 0o100 != 0,
                size: meta.len(),
            }
        };
        let name_len = (entry.depth() > 0).then(|| entry.file_name().as_bytes().len() as u64);
        total += entry_bytes(name_len, node);
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
