//! The final filesystem of a tar or a stack of image layers, computed from their headers
//! alone (pass 1), and the visit of the members that are part of it (pass 2).
//!
//! Pass 1 lists every member of every layer (path, kind, size: no contents) and applies
//! the layers in order into one map from path to the member that supplies it. Memory is
//! bounded by the number of paths ([`Limits::max_members`]), not by their bytes. Rules
//! (OCI image spec, "Applying changesets"):
//! - a layer's whiteouts apply first, and only to the layers below: `dir/.wh.name` removes
//!   `dir/name` and everything under it, `dir/.wh..wh..opq` removes everything under `dir`;
//!   whiteouts are never visited themselves (in a plain tar they are ordinary files);
//! - a later member at the same path replaces an earlier one (this is also how a plain tar
//!   with duplicate names extracts); a non-directory replacing a directory removes what
//!   was under it; a directory over a directory keeps the children;
//! - a hard link takes the file its target names at that point (in its layer or below);
//!   if that file is later removed or replaced, the link keeps the contents, so the first
//!   such link is visited as the file itself and later ones link to it;
//! - paths are taken literally: a member under a path that a lower layer made a symlink is
//!   listed at its own path (extractors that resolve symlinks inside the root would put it
//!   elsewhere; an audit sees its bytes either way).
//!
//! Pass 2 reads the same streams again and visits a member only if the map says it
//! supplies its path. Each layer's member count and a hash of its headers are compared
//! between the passes, so an archive that changes in between is an error, not a silently
//! different audit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;

use super::error::{shown, Error};
use super::member::{Contents, FileMember, Listed, ListedKind, Member, MemberKind};
use super::member_path::{resolve_symlink, whiteout, Whiteout};

/// Symlinks followed to find a layer member before giving up (a loop).
const MAX_SYMLINK_HOPS: usize = 16;
use super::limits::Limits;
use super::tar_stream::{TarEntry, TarKind, TarStream};

/// The headers of one layer (or of a plain tar), in archive order.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerListing {
    pub(crate) entries: Vec<(Vec<u8>, TarKind, u64)>,
    /// The bytes of the uncompressed tar.
    pub(crate) tar_bytes: u64,
    pub(crate) check: LayerCheck,
}

/// What pass 2 must find again in a layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LayerCheck {
    pub(crate) members: u64,
    pub(crate) fingerprint: u64,
}

#[derive(Default)]
struct Fingerprint {
    hasher: DefaultHasher,
    members: u64,
}

impl Fingerprint {
    fn add(&mut self, entry: &TarEntry) {
        self.members += 1;
        (&entry.path, &entry.kind, entry.size).hash(&mut self.hasher);
    }

    fn check(&self) -> LayerCheck {
        LayerCheck {
            members: self.members,
            fingerprint: self.hasher.finish(),
        }
    }
}

/// Counts members across a whole archive against [`Limits::max_members`].
pub(crate) struct MemberBudget {
    left: u64,
    max: u64,
}

impl MemberBudget {
    pub(crate) fn new(limits: &Limits) -> MemberBudget {
        MemberBudget {
            left: limits.max_members,
            max: limits.max_members,
        }
    }

    fn take(&mut self) -> Result<(), Error> {
        if self.left == 0 {
            return Err(Error::limit(format!(
                "the archive has more than {} members (the bound on members)",
                self.max
            )));
        }
        self.left -= 1;
        Ok(())
    }
}

/// Builds a layer's listing one header at a time.
#[derive(Default)]
pub(crate) struct ListingBuilder {
    listing: LayerListing,
    fingerprint: Fingerprint,
}

impl ListingBuilder {
    pub(crate) fn add(&mut self, entry: TarEntry, budget: &mut MemberBudget) -> Result<(), Error> {
        budget.take()?;
        self.fingerprint.add(&entry);
        self.listing
            .entries
            .push((entry.path, entry.kind, entry.size));
        Ok(())
    }

    pub(crate) fn finish(mut self, tar_bytes: u64) -> LayerListing {
        self.listing.tar_bytes = tar_bytes;
        self.listing.check = self.fingerprint.check();
        self.listing
    }
}

/// Pass 1 over one tar stream.
pub(crate) fn list<R: Read>(
    mut stream: TarStream<'_, R>,
    budget: &mut MemberBudget,
) -> Result<LayerListing, Error> {
    let mut builder = ListingBuilder::default();
    while let Some(entry) = stream.next_entry()? {
        builder.add(entry, budget)?;
    }
    Ok(builder.finish(stream.position()))
}

/// Where a path of the final filesystem comes from.
#[derive(Clone, Debug)]
pub(crate) struct Visible {
    /// The layer that put the path there.
    layer: u32,
    /// The member (layer, ordinal) whose header puts the path there.
    member: (u32, u64),
    /// For a file or hard link, the member whose data are its contents.
    contents: (u32, u64),
    kind: ListedKind,
}

/// The final filesystem: path → the member that supplies it.
#[derive(Default)]
pub(crate) struct Filesystem {
    entries: BTreeMap<Vec<u8>, Visible>,
    /// Files whose own path is gone but that a hard link keeps: member → the link's path.
    kept_by_link: HashMap<(u32, u64), Vec<u8>>,
}

impl Filesystem {
    /// Applies one layer's listing on top of what is there. `whiteouts` is false for a
    /// plain tar, whose `.wh.` names are ordinary files.
    pub(crate) fn apply(
        &mut self,
        layer: u32,
        listing: LayerListing,
        whiteouts: bool,
    ) -> Result<(), Error> {
        if whiteouts {
            for (path, _, _) in &listing.entries {
                match whiteout(path).map_err(|e| e.at(format!("layer {layer}")))? {
                    Some(Whiteout::Delete(target)) => {
                        self.entries.remove(&target);
                        self.remove_under(&target);
                    }
                    Some(Whiteout::Opaque(directory)) => self.remove_under(directory),
                    Some(Whiteout::AufsMeta) | None => {}
                }
            }
        }
        for (ordinal, (path, kind, size)) in listing.entries.into_iter().enumerate() {
            let member = (layer, ordinal as u64);
            if path.is_empty() {
                if kind != TarKind::Directory {
                    return Err(Error::malformed("the root of the tar is not a directory"));
                }
                continue;
            }
            if whiteouts && whiteout(&path)?.is_some() {
                continue;
            }
            let mut contents = member;
            let kind = match kind {
                TarKind::Directory => ListedKind::Directory,
                TarKind::File { executable } => ListedKind::File { size, executable },
                TarKind::Symlink(target) => ListedKind::Symlink { target },
                TarKind::Special => ListedKind::Special,
                TarKind::HardLink(target) => match self.entries.get(&target) {
                    Some(Visible {
                        contents: linked,
                        kind:
                            ListedKind::File { size, executable }
                            | ListedKind::HardLink {
                                size, executable, ..
                            },
                        ..
                    }) => {
                        contents = *linked;
                        ListedKind::HardLink {
                            target,
                            size: *size,
                            executable: *executable,
                        }
                    }
                    _ => {
                        return Err(Error::malformed(format!(
                            "hard link {} names {}, which is not a regular file before it",
                            shown(&path),
                            shown(&target)
                        )))
                    }
                },
            };
            let replaces_directory = self
                .entries
                .get(&path)
                .is_some_and(|old| old.kind == ListedKind::Directory);
            if replaces_directory && kind != ListedKind::Directory {
                self.remove_under(&path);
            }
            let visible = Visible {
                layer,
                member,
                contents,
                kind,
            };
            self.entries.insert(path, visible);
        }
        Ok(())
    }

    /// Removes everything strictly under `directory` (the whole tree for the empty path).
    fn remove_under(&mut self, directory: &[u8]) {
        let doomed: Vec<Vec<u8>> = if directory.is_empty() {
            self.entries.keys().cloned().collect()
        } else {
            let mut start = directory.to_vec();
            start.push(b'/');
            let mut end = directory.to_vec();
            end.push(b'/' + 1);
            self.entries
                .range(start..end)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for path in doomed {
            self.entries.remove(&path);
        }
    }

    /// After the last layer: each hard link names a path that is visited as a file. Where
    /// the linked file's own path is gone, the first link takes its place as the file.
    pub(crate) fn finish(&mut self) {
        let wanted: HashSet<(u32, u64)> = self
            .entries
            .values()
            .filter(|v| matches!(v.kind, ListedKind::HardLink { .. }))
            .map(|v| v.contents)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let mut file_at: HashMap<(u32, u64), Vec<u8>> = self
            .entries
            .iter()
            .filter(|(_, v)| {
                matches!(v.kind, ListedKind::File { .. }) && wanted.contains(&v.contents)
            })
            .map(|(path, v)| (v.contents, path.clone()))
            .collect();
        for (path, visible) in self.entries.iter_mut() {
            let ListedKind::HardLink {
                size, executable, ..
            } = visible.kind
            else {
                continue;
            };
            match file_at.get(&visible.contents) {
                Some(file) => {
                    visible.kind = ListedKind::HardLink {
                        target: file.clone(),
                        size,
                        executable,
                    }
                }
                None => {
                    visible.kind = ListedKind::File { size, executable };
                    file_at.insert(visible.contents, path.clone());
                    self.kept_by_link.insert(visible.contents, path.clone());
                }
            }
        }
    }

    /// The final filesystem, in path order.
    pub(crate) fn listing(&self, image: bool) -> impl Iterator<Item = Listed<'_>> {
        self.entries.iter().map(move |(path, v)| Listed {
            path,
            layer: image.then_some(v.layer as usize),
            kind: &v.kind,
        })
    }

    /// The ordinal of the member whose data the regular file at `path` shows, following
    /// symlinks inside the tree (a plain tar: how a docker-archive's manifest finds its
    /// layer members; skopeo writes `<id>/layer.tar` as a symlink to `<digest>.tar`).
    pub(crate) fn file_member(&self, path: &[u8]) -> Option<u64> {
        let mut path = path.to_vec();
        for _ in 0..MAX_SYMLINK_HOPS {
            let visible = self.entries.get(&path)?;
            match &visible.kind {
                ListedKind::File { .. } | ListedKind::HardLink { .. } => {
                    return Some(visible.contents.1)
                }
                ListedKind::Symlink { target } => path = resolve_symlink(&path, target)?,
                ListedKind::Directory | ListedKind::Special => return None,
            }
        }
        None
    }

    /// How member `ordinal` of `layer`, found at `path`, is visited, if it is.
    fn visit_as<'a>(
        &'a self,
        member: (u32, u64),
        path: &'a [u8],
    ) -> Option<(&'a [u8], &'a Visible)> {
        if let Some(visible) = self.entries.get(path) {
            // A link turned into a file is visited from the member holding the contents.
            if visible.member == member
                && (visible.contents == member
                    || matches!(visible.kind, ListedKind::HardLink { .. }))
            {
                return Some((path, visible));
            }
        }
        let kept = self.kept_by_link.get(&member)?;
        Some((kept, self.entries.get(kept)?))
    }
}

/// Pass 2 over one tar stream that is layer `layers` of the image (one blob can be used
/// as several layers), or the plain tar (`image` false): visits the members of the final
/// filesystem. Returns how many were visited.
pub(crate) fn visit_layer<R: Read>(
    mut stream: TarStream<'_, R>,
    layers: &[u32],
    checks: &[LayerCheck],
    filesystem: &Filesystem,
    image: bool,
    visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
) -> Result<u64, Error> {
    let mut fingerprint = Fingerprint::default();
    let mut visited = 0;
    let mut ordinal = 0;
    while let Some(entry) = stream.next_entry()? {
        fingerprint.add(&entry);
        let found = layers
            .iter()
            .find_map(|&layer| filesystem.visit_as((layer, ordinal), &entry.path));
        ordinal += 1;
        let Some((path, visible)) = found else {
            continue;
        };
        visited += 1;
        let layer = image.then_some(visible.layer as usize);
        let place = || format!("member {}", shown(path));
        let kind = match (&visible.kind, &entry.kind) {
            (ListedKind::Directory, _) => MemberKind::Directory,
            (ListedKind::Special, _) => MemberKind::Special,
            (ListedKind::Symlink { target }, _) => MemberKind::Symlink { target },
            (
                ListedKind::HardLink {
                    target,
                    size,
                    executable,
                },
                _,
            ) => MemberKind::HardLink {
                target,
                size: *size,
                executable: *executable,
            },
            (ListedKind::File { size, executable }, _) => {
                let (size, executable, offset) = (*size, *executable, entry.data_at);
                let mut data = stream.data();
                let visited = visit(Member {
                    path,
                    layer,
                    kind: MemberKind::File(FileMember {
                        executable,
                        size,
                        offset,
                        contents: Contents::new(&mut data, size),
                    }),
                });
                // What the visitor left is skipped now so that an archive that ends early
                // is reported as such, even when the visitor stopped on the read error.
                let left = std::io::copy(&mut data, &mut std::io::sink());
                drop(data);
                match left {
                    Err(e) => return Err(Error::from_io(e).at(place())),
                    Ok(_) if stream.position() < entry.data_at + size => {
                        return Err(Error::malformed(format!(
                            "the tar is truncated at byte {} inside this member's {size} bytes",
                            stream.position()
                        ))
                        .at(place()))
                    }
                    Ok(_) => {}
                }
                visited.map_err(|e| Error::visitor(e).at(place()))?;
                continue;
            }
        };
        visit(Member { path, layer, kind }).map_err(|e| Error::visitor(e).at(place()))?;
    }
    let found = fingerprint.check();
    if layers.iter().any(|&layer| checks[layer as usize] != found) {
        return Err(Error::malformed(
            "the archive changed between the pass that listed it and the pass that read it",
        ));
    }
    Ok(visited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tar_stream::tests::{end, member, raw_header};

    fn listing(bytes: &[u8]) -> LayerListing {
        let limits = Limits::default();
        list(
            TarStream::new(bytes, &limits),
            &mut MemberBudget::new(&limits),
        )
        .unwrap()
    }

    /// The final filesystem of `layers` as "path kind" lines, and what pass 2 visits.
    fn final_view(layers: &[Vec<u8>], image: bool) -> (Vec<String>, Vec<String>) {
        let mut filesystem = Filesystem::default();
        let mut checks = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let listed = listing(layer);
            checks.push(listed.check);
            filesystem.apply(i as u32, listed, image).unwrap();
        }
        filesystem.finish();
        let listed = filesystem
            .listing(image)
            .map(|l| format!("{} {:?}", String::from_utf8_lossy(l.path), l.kind))
            .collect();
        let limits = Limits::default();
        let mut seen = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let stream = TarStream::new(&layer[..], &limits);
            visit_layer(stream, &[i as u32], &checks, &filesystem, image, &mut |m| {
                let kind = match m.kind {
                    MemberKind::File(mut f) => {
                        let mut text = String::new();
                        f.contents.read_to_string(&mut text)?;
                        format!("file {text}")
                    }
                    MemberKind::HardLink { target, .. } => {
                        format!("link {}", String::from_utf8_lossy(target))
                    }
                    MemberKind::Directory => "dir".into(),
                    MemberKind::Symlink { .. } => "symlink".into(),
                    MemberKind::Special => "special".into(),
                };
                seen.push(format!(
                    "{:?} {} {kind}",
                    m.layer,
                    String::from_utf8_lossy(m.path)
                ));
                Ok(())
            })
            .unwrap();
        }
        (listed, seen)
    }

    fn dir(name: &[u8]) -> Vec<u8> {
        raw_header(name, b'5', 0, b"")
    }

    #[test]
    fn whiteouts_and_opaque_directories_hide_lower_layers() {
        let lower = end([
            dir(b"etc/"),
            member(b"etc/passwd", b"root"),
            member(b"etc/motd", b"hi"),
            dir(b"var/"),
            member(b"var/a", b"a"),
            member(b"keep", b"k"),
        ]
        .concat());
        let upper = end([
            member(b"etc/.wh.passwd", b""),
            member(b"var/.wh..wh..opq", b""),
            member(b"var/b", b"b"),
            member(b"keep", b"new"),
        ]
        .concat());
        let (listed, seen) = final_view(&[lower, upper], true);
        assert_eq!(
            listed,
            [
                "etc Directory",
                "etc/motd File { size: 2, executable: true }",
                "keep File { size: 3, executable: true }",
                "var Directory",
                "var/b File { size: 1, executable: true }",
            ]
        );
        assert_eq!(
            seen,
            [
                "Some(0) etc dir",
                "Some(0) etc/motd file hi",
                "Some(0) var dir",
                "Some(1) var/b file b",
                "Some(1) keep file new",
            ]
        );
    }

    #[test]
    fn in_a_plain_tar_whiteouts_are_files_and_the_last_duplicate_wins() {
        let tar = end([
            member(b"a", b"old"),
            member(b".wh.a", b""),
            member(b"a", b"new"),
        ]
        .concat());
        let (_, seen) = final_view(&[tar], false);
        assert_eq!(seen, ["None .wh.a file ", "None a file new"]);
    }

    #[test]
    fn a_file_replacing_a_directory_hides_what_was_under_it() {
        let lower = end([dir(b"d/"), member(b"d/x", b"x")].concat());
        let upper = end(member(b"d", b"file"));
        let (listed, _) = final_view(&[lower, upper], true);
        assert_eq!(listed, ["d File { size: 4, executable: true }"]);
    }

    #[test]
    fn hard_links_keep_contents_whose_path_is_gone() {
        let lower = end([
            member(b"a", b"data"),
            raw_header(b"b", b'1', 0, b"a"),
            raw_header(b"c", b'1', 0, b"a"),
        ]
        .concat());
        let upper = end(member(b".wh.a", b""));
        let (listed, seen) = final_view(&[lower.clone(), upper], true);
        assert_eq!(
            listed,
            [
                "b File { size: 4, executable: true }",
                "c HardLink { target: [98], size: 4, executable: true }",
            ]
        );
        assert_eq!(seen, ["Some(0) b file data", "Some(0) c link b"]);
        let (_, seen) = final_view(&[lower], false);
        assert_eq!(seen, ["None a file data", "None b link a", "None c link a"]);
    }

    #[test]
    fn a_hard_link_to_nothing_is_an_error() {
        let mut filesystem = Filesystem::default();
        let e = filesystem
            .apply(
                0,
                listing(&end(raw_header(b"b", b'1', 0, b"missing"))),
                false,
            )
            .unwrap_err();
        assert!(e.to_string().contains("hard link b names missing"), "{e}");
    }

    #[test]
    fn a_changed_archive_is_caught_in_pass_2() {
        let first = end(member(b"a", b"1"));
        let second = end(member(b"b", b"1"));
        let mut filesystem = Filesystem::default();
        let listed = listing(&first);
        let checks = [listed.check];
        filesystem.apply(0, listed, false).unwrap();
        let limits = Limits::default();
        let e = visit_layer(
            TarStream::new(&second[..], &limits),
            &[0],
            &checks,
            &filesystem,
            false,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("changed between"), "{e}");
    }
}
