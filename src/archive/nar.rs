//! The NAR reader: one streaming pass over a Nix archive (`nix-store --dump`), handing each
//! node to the visitor in archive order (a directory, then its entries sorted by name,
//! depth first), with each file's contents as a reader and its offset in the NAR.
//!
//! Format (Nix manual, "Nix Archive (NAR) format"): every token is `str(s)` = u64 LE
//! length, the bytes, zero padding to a multiple of 8; the archive is `str("nix-archive-1")`
//! then one node, `( type regular [executable ""] contents <bytes> )`,
//! `( type symlink target <target> )` or `( type directory (entry ( name <n> node <node> ))* )`.
//!
//! Checked as Nix checks it, and bounded: entries strictly sorted (so no duplicates),
//! names neither empty, `.`, `..`, nor holding `/` or NUL; padding all zero; strings no
//! longer than [`Limits::max_path_bytes`] (keywords no longer than 16 bytes); nesting no
//! deeper than [`Limits::max_depth`]; nothing after the end. Nesting is kept on an
//! explicit stack, never the call stack.

use std::io::{self, Read};

use super::error::{shown, Error};
use super::limits::Limits;
use super::member::{Contents, FileMember, ListedKind, Member, MemberKind};
use super::member_path::{check_nar_name, join};

/// What a whole NAR pass found.
#[derive(Debug)]
pub(crate) struct NarPass {
    /// The length of the serialisation: `nix path-info`'s narSize for a store path's NAR.
    pub(crate) nar_size: u64,
    pub(crate) members: u64,
}

/// The longest keyword in the format is `executable`; a longer token where a keyword is
/// due is an error before any of it is read.
const MAX_KEYWORD_BYTES: u64 = 16;

/// The bytes `str(s)` takes for an `s` of `len` bytes.
fn token_bytes(len: u64) -> u64 {
    8 + len.div_ceil(8) * 8
}

/// The bytes a node adds to the NAR serialisation of the tree it is in: with `name` for a
/// directory entry (the entry's framing and name included), or `None` for the root (the
/// `nix-archive-1` header included). The sum over a tree's root and all its descendants is
/// its `narSize`, which is how the size of a store path is computed from an image's
/// listing. A hard link counts as the file it links to; a special file counts 0 (a NAR
/// cannot hold one).
pub fn nar_node_bytes(name: Option<&[u8]>, kind: &ListedKind) -> u64 {
    let framing = token_bytes(1) + token_bytes(4) + token_bytes(1); // "(" "type" … ")"
    let node = match kind {
        ListedKind::Directory => framing + token_bytes(9),
        ListedKind::File { size, executable }
        | ListedKind::HardLink {
            size, executable, ..
        } => {
            let flag = if *executable {
                token_bytes(10) + token_bytes(0)
            } else {
                0
            };
            framing + token_bytes(7) + flag + token_bytes(8) + token_bytes(*size)
        }
        ListedKind::Symlink { target } => {
            framing + token_bytes(7) + token_bytes(6) + token_bytes(target.len() as u64)
        }
        ListedKind::Special => return 0,
    };
    match name {
        // "entry" "(" "name" <name> "node" <node> ")"
        Some(name) => {
            node + token_bytes(5)
                + token_bytes(1)
                + token_bytes(4)
                + token_bytes(name.len() as u64)
                + token_bytes(4)
                + token_bytes(1)
        }
        None => node + token_bytes(13),
    }
}

/// Reads a whole NAR from `input` (already decompressed), calling `visit` for each node.
pub(crate) fn read(
    input: impl Read,
    limits: &Limits,
    visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
) -> Result<NarPass, Error> {
    let mut nar = NarStream {
        inner: input,
        pos: 0,
    };
    let mut members = 0;
    let magic = nar.string(MAX_KEYWORD_BYTES, "the NAR header")?;
    if magic != b"nix-archive-1" {
        return Err(Error::malformed(format!(
            "not a NAR: it starts with {} instead of nix-archive-1",
            shown(&magic)
        )));
    }
    let mut path: Vec<u8> = Vec::new();
    // The directories being read, innermost last.
    let mut open: Vec<OpenDirectory> = Vec::new();
    let mut state = State::Node;
    loop {
        state = match state {
            State::Node => {
                members += 1;
                nar.expect(b"(")?;
                nar.expect(b"type")?;
                let node_at = nar.pos;
                match &nar.keyword()?[..] {
                    b"regular" => {
                        nar.regular(&path, visit)
                            .map_err(|e| e.at(member_place(&path)))?;
                        nar.expect(b")")?;
                        State::AfterNode
                    }
                    b"symlink" => {
                        nar.expect(b"target")?;
                        let target =
                            nar.string(limits.max_path_bytes as u64, "a symlink target")?;
                        call(visit, &path, MemberKind::Symlink { target: &target })?;
                        nar.expect(b")")?;
                        State::AfterNode
                    }
                    b"directory" => {
                        call(visit, &path, MemberKind::Directory)?;
                        if open.len() >= limits.max_depth {
                            return Err(Error::limit(format!(
                                "directories nested deeper than {} at byte {node_at}",
                                limits.max_depth
                            )));
                        }
                        open.push(OpenDirectory {
                            path_len: path.len(),
                            last_name: None,
                        });
                        State::Entries
                    }
                    other => {
                        return Err(Error::malformed(format!(
                            "unknown node type {} at byte {node_at}",
                            shown(other)
                        )))
                    }
                }
            }
            State::AfterNode => match open.last() {
                None => break,
                Some(directory) => {
                    // The ")" that closes `entry (`.
                    nar.expect(b")")?;
                    path.truncate(directory.path_len);
                    State::Entries
                }
            },
            State::Entries => {
                let at = nar.pos;
                match &nar.keyword()?[..] {
                    b"entry" => {
                        nar.expect(b"(")?;
                        nar.expect(b"name")?;
                        let name_at = nar.pos;
                        let name = nar.string(limits.max_path_bytes as u64, "an entry name")?;
                        check_nar_name(&name).map_err(|e| e.at(format!("byte {name_at}")))?;
                        let directory = open.last_mut().expect("Entries only inside a directory");
                        if directory
                            .last_name
                            .as_ref()
                            .is_some_and(|last| *last >= name)
                        {
                            return Err(Error::malformed(format!(
                                "entry {} at byte {name_at} is not after {} (NAR entries are sorted and unique)",
                                shown(&join(&path, &name)),
                                shown(&join(&path, directory.last_name.as_deref().unwrap_or_default()))
                            )));
                        }
                        path = join(&path, &name);
                        if path.len() > limits.max_path_bytes {
                            return Err(Error::limit(format!(
                                "a path of {} bytes at byte {name_at} is longer than the {}-byte bound",
                                path.len(),
                                limits.max_path_bytes
                            )));
                        }
                        directory.last_name = Some(name);
                        nar.expect(b"node")?;
                        State::Node
                    }
                    b")" => {
                        open.pop();
                        State::AfterNode
                    }
                    other => {
                        return Err(Error::malformed(format!(
                            "expected entry or ) at byte {at}, found {}",
                            shown(other)
                        )))
                    }
                }
            }
        };
    }
    let nar_size = nar.pos;
    let mut extra = [0u8; 1];
    if nar.inner.read(&mut extra).map_err(Error::from_io)? > 0 {
        return Err(Error::malformed(format!(
            "data after the end of the NAR at byte {nar_size}"
        )));
    }
    Ok(NarPass { nar_size, members })
}

fn member_place(path: &[u8]) -> String {
    if path.is_empty() {
        "the NAR's root file".to_string()
    } else {
        format!("member {}", shown(path))
    }
}

fn call<'a>(
    visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
    path: &'a [u8],
    kind: MemberKind<'a>,
) -> Result<(), Error> {
    visit(Member {
        path,
        layer: None,
        kind,
    })
    .map_err(|e| Error::visitor(e).at(member_place(path)))
}

enum State {
    /// A node is due at `path`.
    Node,
    /// A node has ended: close the entry around it, or the archive.
    AfterNode,
    /// Inside a directory: an entry or the directory's `)` is due.
    Entries,
}

struct OpenDirectory {
    /// The length of the directory's own path in `path`.
    path_len: usize,
    last_name: Option<Vec<u8>>,
}

/// The input with the position of the next byte.
struct NarStream<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Read for NarStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read> NarStream<R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let at = self.pos;
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(Error::malformed(format!(
                        "the NAR is truncated at byte {}",
                        at + filled as u64
                    )))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(e).at(format!("byte {}", self.pos))),
            }
        }
        Ok(())
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let mut bytes = [0u8; 8];
        self.exact(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn padding(&mut self, len: u64) -> Result<(), Error> {
        let pad = (len.div_ceil(8) * 8 - len) as usize;
        let mut zeros = [0u8; 8];
        let at = self.pos;
        self.exact(&mut zeros[..pad])?;
        if zeros[..pad].iter().any(|&b| b != 0) {
            return Err(Error::malformed(format!("non-zero padding at byte {at}")));
        }
        Ok(())
    }

    /// A string of at most `max` bytes.
    fn string(&mut self, max: u64, what: &str) -> Result<Vec<u8>, Error> {
        let at = self.pos;
        let len = self.u64()?;
        if len > max {
            return Err(Error::malformed(format!(
                "a string of {len} bytes at byte {at} where {what} of at most {max} bytes is due"
            )));
        }
        let mut bytes = vec![0; len as usize];
        self.exact(&mut bytes)?;
        self.padding(len)?;
        Ok(bytes)
    }

    fn keyword(&mut self) -> Result<Vec<u8>, Error> {
        self.string(MAX_KEYWORD_BYTES, "a keyword")
    }

    fn expect(&mut self, keyword: &[u8]) -> Result<(), Error> {
        let at = self.pos;
        let found = self.keyword()?;
        if found != keyword {
            return Err(Error::malformed(format!(
                "expected {} at byte {at}, found {}",
                shown(keyword),
                shown(&found)
            )));
        }
        Ok(())
    }

    /// `[executable ""] contents <bytes>`, the bytes handed to the visitor.
    fn regular(
        &mut self,
        path: &[u8],
        visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
    ) -> Result<(), Error> {
        let mut keyword = self.keyword()?;
        let executable = keyword == b"executable";
        if executable {
            self.expect(b"")?;
            keyword = self.keyword()?;
        }
        if keyword != b"contents" {
            return Err(Error::malformed(format!(
                "expected contents before byte {}, found {}",
                self.pos,
                shown(&keyword)
            )));
        }
        let size = self.u64()?;
        let offset = self.pos;
        let mut data = (&mut *self).take(size);
        let visited = visit(Member {
            path,
            layer: None,
            kind: MemberKind::File(FileMember {
                executable,
                size,
                offset,
                contents: Contents::new(&mut data, size),
            }),
        });
        // What the visitor left is skipped; an archive that ends early is reported as such
        // even when the visitor stopped on the read error first.
        let skipped = io::copy(&mut data, &mut io::sink());
        let end = offset.saturating_add(size);
        match skipped {
            Err(e) => return Err(Error::from_io(e).at(format!("byte {}", self.pos))),
            Ok(_) if self.pos < end => {
                return Err(Error::malformed(format!(
                    "the NAR is truncated at byte {} inside a file of {size} bytes starting at byte {offset}",
                    self.pos
                )))
            }
            Ok(_) => {}
        }
        visited.map_err(Error::visitor)?;
        self.padding(size)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::archive::ErrorKind;

    /// `str(s)`.
    pub(crate) fn token(s: &[u8]) -> Vec<u8> {
        let mut out = (s.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(s);
        out.resize(out.len() + (8 - s.len() % 8) % 8, 0);
        out
    }

    pub(crate) fn tokens(list: &[&[u8]]) -> Vec<u8> {
        list.iter().flat_map(|t| token(t)).collect()
    }

    /// A NAR of a directory holding `entries` (name, node tokens).
    pub(crate) fn directory(entries: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
        let mut out = tokens(&[b"(", b"type", b"directory"]);
        for (name, node) in entries {
            out.extend(tokens(&[b"entry", b"(", b"name", name, b"node"]));
            out.extend_from_slice(node);
            out.extend(token(b")"));
        }
        out.extend(token(b")"));
        out
    }

    pub(crate) fn file(contents: &[u8], executable: bool) -> Vec<u8> {
        let mut out = tokens(&[b"(", b"type", b"regular"]);
        if executable {
            out.extend(tokens(&[b"executable", b""]));
        }
        out.extend(tokens(&[b"contents", contents, b")"]));
        out
    }

    pub(crate) fn nar(node: Vec<u8>) -> Vec<u8> {
        let mut out = token(b"nix-archive-1");
        out.extend(node);
        out
    }

    /// (path, kind as text, contents) of every member.
    fn visit_all(bytes: &[u8]) -> Result<(Vec<(String, String)>, u64), Error> {
        let mut seen = Vec::new();
        let pass = read(bytes, &Limits::default(), &mut |member| {
            let path = String::from_utf8_lossy(member.path).to_string();
            let kind = match member.kind {
                MemberKind::Directory => "dir".to_string(),
                MemberKind::Symlink { target } => format!("-> {}", String::from_utf8_lossy(target)),
                MemberKind::File(mut file) => {
                    let mut text = String::new();
                    file.contents.read_to_string(&mut text)?;
                    format!(
                        "{}@{}:{text}",
                        if file.executable { "x" } else { "f" },
                        file.offset
                    )
                }
                MemberKind::HardLink { .. } | MemberKind::Special => unreachable!("not in a NAR"),
            };
            seen.push((path, kind));
            Ok(())
        })?;
        Ok((seen, pass.nar_size))
    }

    fn sample() -> Vec<u8> {
        let symlink = tokens(&[b"(", b"type", b"symlink", b"target", b"/etc/passwd", b")"]);
        nar(directory(&[
            (b"bin", directory(&[(b"hi", file(b"#!/bin/sh\n", true))])),
            (b"link", symlink),
            (b"readme", file(b"hello", false)),
        ]))
    }

    #[test]
    fn members_come_in_order_with_offsets_and_the_size() {
        let bytes = sample();
        let (seen, size) = visit_all(&bytes).unwrap();
        assert_eq!(size, bytes.len() as u64);
        let texts: Vec<String> = seen.iter().map(|(p, k)| format!("{p} {k}")).collect();
        let hi_offset = bytes.windows(10).position(|w| w == b"#!/bin/sh\n").unwrap();
        let readme_offset = bytes.windows(5).position(|w| w == b"hello").unwrap();
        assert_eq!(
            texts,
            [
                " dir".to_string(),
                "bin dir".to_string(),
                format!("bin/hi x@{hi_offset}:#!/bin/sh\n"),
                "link -> /etc/passwd".to_string(),
                format!("readme f@{readme_offset}:hello"),
            ]
        );
    }

    #[test]
    fn node_sizes_add_up_to_the_nar() {
        let bytes = sample();
        let kinds = [
            (None, ListedKind::Directory),
            (Some(&b"bin"[..]), ListedKind::Directory),
            (
                Some(b"hi"),
                ListedKind::File {
                    size: 10,
                    executable: true,
                },
            ),
            (
                Some(b"link"),
                ListedKind::Symlink {
                    target: b"/etc/passwd".to_vec(),
                },
            ),
            (
                Some(b"readme"),
                ListedKind::File {
                    size: 5,
                    executable: false,
                },
            ),
        ];
        let total: u64 = kinds
            .iter()
            .map(|(name, kind)| nar_node_bytes(*name, kind))
            .sum();
        assert_eq!(total, bytes.len() as u64);
    }

    fn error_of(bytes: &[u8]) -> Error {
        match visit_all(bytes) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn hostile_nars_are_refused_with_the_place() {
        let unsorted = nar(directory(&[
            (b"b", file(b"", false)),
            (b"a", file(b"", false)),
        ]));
        let e = error_of(&unsorted).to_string();
        assert!(
            e.contains("entry a at byte") && e.contains("sorted and unique"),
            "{e}"
        );

        let duplicate = nar(directory(&[
            (b"a", file(b"", false)),
            (b"a", file(b"", false)),
        ]));
        assert!(error_of(&duplicate)
            .to_string()
            .contains("sorted and unique"));

        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            let e = error_of(&nar(directory(&[(bad, file(b"", false))])));
            assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
            assert!(e.to_string().contains("directory entry with"), "{e}");
        }

        let whole = sample();
        for cut in [10, 30, 100, whole.len() - 8, whole.len() - 1] {
            let e = error_of(&whole[..cut]);
            assert!(e.to_string().contains("truncated"), "cut at {cut}: {e}");
        }

        let mut garbage = sample();
        garbage.extend_from_slice(b"trailing");
        let e = error_of(&garbage).to_string();
        assert!(
            e.contains(&format!(
                "data after the end of the NAR at byte {}",
                sample().len()
            )),
            "{e}"
        );

        // A declared string of 2^60 bytes is refused before anything is allocated.
        let mut huge = token(b"nix-archive-1");
        huge.extend(token(b"("));
        huge.extend(token(b"type"));
        huge.extend((1u64 << 60).to_le_bytes());
        assert!(error_of(&huge).to_string().contains("at most 16 bytes"));

        // A file that declares more bytes than the archive holds.
        let mut short = nar(tokens(&[b"(", b"type", b"regular", b"contents"]));
        short.extend((1u64 << 40).to_le_bytes());
        short.extend(b"abc");
        assert!(error_of(&short).to_string().contains("truncated"));

        let mut padding = nar(file(b"abc", false));
        let at = padding.len() - 16 - 5 + 3;
        padding[at] = 1;
        assert!(error_of(&padding).to_string().contains("non-zero padding"));

        assert!(error_of(&tokens(&[b"nix-archive-2"]))
            .to_string()
            .contains("not a NAR"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut node = file(b"", false);
        for _ in 0..300 {
            node = directory(&[(b"d", node)]);
        }
        let e = error_of(&nar(node));
        assert_eq!(e.kind(), ErrorKind::Limit);
        assert!(e.to_string().contains("nested deeper than 256"), "{e}");
    }

    #[test]
    fn a_visitor_error_names_the_member() {
        let bytes = sample();
        let e = read(&bytes[..], &Limits::default(), &mut |member| {
            if member.path == b"readme" {
                anyhow::bail!("cannot scan");
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Visitor);
        assert_eq!(e.to_string(), "member readme: cannot scan");
    }
}
