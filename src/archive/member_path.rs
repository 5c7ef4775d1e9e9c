//! Member names: tar names normalised to a relative path inside the archive, NAR entry
//! names checked, whiteout names recognised. Nothing here touches the filesystem.
//!
//! Decisions on hostile names (issue 14):
//! - a leading `/` is dropped, as GNU tar does ("Removing leading `/'"): the member still
//!   names a place inside the archive's tree, never one on the host;
//! - `.` components and repeated or trailing `/` are dropped (`./a//b/` is `a/b`);
//! - a `..` component is an error: the member would climb out of the tree, and resolving
//!   it lexically could disagree with what an extractor does through symlinks;
//! - an empty name or one with a NUL byte is an error;
//! - a name longer than [`Limits::max_path_bytes`](super::Limits::max_path_bytes), or with
//!   more than [`Limits::max_depth`](super::Limits::max_depth) components, is an error.

use super::error::{shown, Error};
use super::limits::Limits;

/// The tree-relative path of a tar member name; empty for the root itself (`./`, `/`).
pub(crate) fn normalise(raw: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    if raw.is_empty() {
        return Err(Error::malformed("a member has an empty name"));
    }
    if raw.len() > limits.max_path_bytes {
        return Err(Error::limit(format!(
            "a member name of {} bytes is longer than the {}-byte bound: {}…",
            raw.len(),
            limits.max_path_bytes,
            shown(&raw[..64.min(raw.len())])
        )));
    }
    if raw.contains(&0) {
        return Err(Error::malformed(format!(
            "member name {} has a NUL byte",
            shown(raw)
        )));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut depth = 0;
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => continue,
            b".." => {
                return Err(Error::malformed(format!(
                    "member name {} climbs out of the archive with ..",
                    shown(raw)
                )))
            }
            _ => {}
        }
        depth += 1;
        if depth > limits.max_depth {
            return Err(Error::limit(format!(
                "member name {} is nested deeper than {} directories",
                shown(raw),
                limits.max_depth
            )));
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(component);
    }
    Ok(out)
}

/// Checks one NAR directory entry name as Nix does: not empty, `.` or `..`, no `/` or NUL.
pub(crate) fn check_nar_name(name: &[u8]) -> Result<(), Error> {
    let bad = match name {
        b"" => Some("an empty name"),
        b"." | b".." => Some("the name . or .."),
        _ if name.contains(&b'/') => Some("a name with /"),
        _ if name.contains(&0) => Some("a name with a NUL byte"),
        _ => None,
    };
    match bad {
        Some(what) => Err(Error::malformed(format!(
            "directory entry with {what}: {}",
            shown(name)
        ))),
        None => Ok(()),
    }
}

/// The parent directory of a normalised path (empty for a top-level name) and its last
/// component.
pub(crate) fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(cut) => (&path[..cut], &path[cut + 1..]),
        None => (&[], path),
    }
}

/// `parent/name`, or `name` at the top.
pub(crate) fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parent.len() + 1 + name.len());
    out.extend_from_slice(parent);
    if !parent.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// Where a symlink at `link` pointing to `target` leads inside the archive's tree,
/// resolved lexically (the tree is not on disk); `None` if it climbs above the root.
pub(crate) fn resolve_symlink(link: &[u8], target: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    if !target.starts_with(b"/") {
        let (parent, _) = split_last(link);
        parts.extend(parent.split(|&b| b == b'/').filter(|c| !c.is_empty()));
    }
    for component in target.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                parts.pop()?;
            }
            _ => parts.push(component),
        }
    }
    Some(parts.join(&b'/'))
}

/// What an image layer member's name says about the layers below it (OCI image spec,
/// "Whiteouts").
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// `dir/.wh.name`: `dir/name` is deleted from the layers below.
    Delete(Vec<u8>),
    /// `dir/.wh..wh..opq`: the children of `dir` in the layers below are hidden.
    Opaque(&'a [u8]),
    /// `.wh..wh.*` other than `.opq`: AUFS bookkeeping (`.wh..wh.plnk`), ignored.
    AufsMeta,
}

pub(crate) fn whiteout(path: &[u8]) -> Result<Option<Whiteout<'_>>, Error> {
    let (parent, name) = split_last(path);
    let Some(target) = name.strip_prefix(b".wh.") else {
        return Ok(None);
    };
    if target == b".wh..opq" {
        return Ok(Some(Whiteout::Opaque(parent)));
    }
    if target.starts_with(b".wh.") {
        return Ok(Some(Whiteout::AufsMeta));
    }
    if matches!(target, b"" | b"." | b"..") {
        return Err(Error::malformed(format!(
            "whiteout {} names no file",
            shown(path)
        )));
    }
    Ok(Some(Whiteout::Delete(join(parent, target))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> Result<String, String> {
        normalise(raw.as_bytes(), &Limits::default())
            .map(|p| String::from_utf8(p).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn names_normalise_to_relative_paths() {
        assert_eq!(norm("./usr//bin/"), Ok("usr/bin".into()));
        assert_eq!(norm("/etc/passwd"), Ok("etc/passwd".into()));
        assert_eq!(norm("./"), Ok("".into()));
        assert_eq!(norm("a/./b"), Ok("a/b".into()));
    }

    #[test]
    fn hostile_names_are_refused() {
        assert!(norm("../etc/passwd").unwrap_err().contains("climbs out"));
        assert!(norm("a/../../b").unwrap_err().contains("climbs out"));
        assert!(norm("").unwrap_err().contains("empty name"));
        assert!(norm("a\0b").unwrap_err().contains("NUL"));
        let deep = "d/".repeat(300);
        assert!(norm(&deep).unwrap_err().contains("deeper than 256"));
        let long = "x".repeat(5000);
        assert!(norm(&long)
            .unwrap_err()
            .contains("longer than the 4096-byte bound"));
    }

    #[test]
    fn nar_names_follow_nix() {
        assert!(check_nar_name(b"bin").is_ok());
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(check_nar_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn symlinks_resolve_inside_the_tree() {
        let resolve = |link: &str, target: &str| {
            resolve_symlink(link.as_bytes(), target.as_bytes())
                .map(|p| String::from_utf8(p).unwrap())
        };
        assert_eq!(resolve("ab/layer.tar", "../cd.tar"), Some("cd.tar".into()));
        assert_eq!(resolve("ab/layer.tar", "/x/y"), Some("x/y".into()));
        assert_eq!(resolve("a/b", "./c"), Some("a/c".into()));
        assert_eq!(resolve("a/b", "../../c"), None);
    }

    #[test]
    fn whiteouts_are_recognised() {
        assert_eq!(
            whiteout(b"etc/.wh.passwd").unwrap(),
            Some(Whiteout::Delete(b"etc/passwd".to_vec()))
        );
        assert_eq!(
            whiteout(b".wh.top").unwrap(),
            Some(Whiteout::Delete(b"top".to_vec()))
        );
        assert_eq!(
            whiteout(b"var/.wh..wh..opq").unwrap(),
            Some(Whiteout::Opaque(&b"var"[..]))
        );
        assert_eq!(whiteout(b".wh..wh.plnk").unwrap(), Some(Whiteout::AufsMeta));
        assert_eq!(whiteout(b"etc/passwd").unwrap(), None);
        assert!(whiteout(b"etc/.wh.").is_err());
        assert!(whiteout(b"etc/.wh...").is_err());
    }
}
