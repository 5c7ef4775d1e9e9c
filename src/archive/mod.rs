//! Outputs that arrive as archives (issue 14): NARs, tars, docker-archives and OCI image
//! layouts, recognised by content and read as streams, never extracted to disk.
//!
//! [`open`] looks at a path: a file whose first bytes are a NAR, a tar, or one of those
//! compressed with gzip, xz, zstd or bzip2; a directory with `oci-layout` and
//! `index.json`. Anything else is `Ok(None)`: the caller audits it as a plain file or
//! directory. A compressed file holding neither a NAR nor a tar is an error, never a pass.
//! [`Archive::visit`] then hands each member of the archive's final filesystem to the
//! caller's visitor, with a reader over exactly its bytes ([`Contents`]).
//!
//! Passes and memory:
//! - a NAR (compressed or not) is read once, in one streaming pass;
//! - a tar is read twice: [`open`] lists its headers (for an image, every layer's) and
//!   computes the final filesystem (whiteouts, duplicates, hard links: see `layers`);
//!   [`Archive::visit`] reads it again and visits only what is visible. Memory is bounded
//!   by the number of paths ([`Limits::max_members`], about 150 bytes plus the path each),
//!   the JSON metadata ([`Limits::max_metadata_bytes`]) and the decoders' own state (at
//!   most 96 MiB for xz, 128 MiB for zstd windows), never by the members' bytes.
//!
//! Every error is one line naming what and where (layer, member, byte offset), of an
//! [`ErrorKind`]; the caller adds the archive's own path. Hostile input: see
//! `member_path` for names, `nar` and `tar_stream` for structure, `decompress` for bombs;
//! a symlink member is data (its target is handed over, never followed), and nothing is
//! ever written.
//!
//! This module depends on nothing else in stowaway, only on std and these crates:
//! - `tar` for decoding header fields (octal and base-256 numbers, ustar prefixes); the
//!   stream around them is read here to bound extension headers (`tar_stream`);
//! - `flate2` with the `zlib-rs` backend: pure Rust, the fastest of its backends;
//! - `zstd` (libzstd, built from its bundled C source by `cc`): the reference decoder,
//!   about twice as fast as the pure-Rust `ruzstd`;
//! - `liblzma` (the maintained fork of `xz2`; its `static` feature builds the bundled
//!   xz 5.8 sources rather than linking the system's): several times faster than the
//!   pure-Rust `lzma-rs`;
//! - `bzip2` 0.6, whose default backend is `libbz2-rs-sys`, pure Rust.
//!
//! All build without system libraries, so a static musl (pkgsStatic) build needs only a
//! C compiler for the two bundled C decoders.
//!
//! Measured with `examples/archive_peak` (release build, CPU time per pass, on the shared
//! 2-core VM while a fuzzer ran on the other core) on a 429 MB tar of `/usr/bin` and
//! `/usr/lib/gcc`: zstd 0.44 s a pass (about 970 MB/s; the `zstd` tool 0.42 s), gzip
//! 1.0 s (430 MB/s; GNU `gzip -d` 2.3 s), xz 4.5 s (95 MB/s; `xz -d` 5.4 s), bzip2 11.9 s
//! (36 MB/s; `bzip2 -d` 11.6 s). Peak memory (VmHWM of the whole process) on a 1.07 GB
//! docker-archive, plain or gzipped, and its OCI layout: 4.2 MB with a 1.2 MB ELF member
//! held; on the 429 MB tar, whose ELF members up to 35 MB are each held whole, 57-62 MB. The NAR reader is written here: the one
//! NAR crate, `nix-nar`, takes paths as UTF-8 (NAR names are bytes), does not check entry
//! order, and gives no bound on string lengths.

mod decompress;
mod detect;
mod error;
mod image;
mod layers;
mod limits;
mod member;
mod member_path;
mod nar;
mod oci_dir;
mod tar_archive;
mod tar_stream;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use detect::Compression;
pub use error::{Error, ErrorKind};
pub use image::{Image, ImageFormat, Layer};
pub use limits::Limits;
pub use member::{Contents, FileMember, Listed, ListedKind, Member, MemberKind};
pub use nar::nar_node_bytes;

use decompress::{decompress, Peeked};
use detect::{sniff, Sniffed};

/// What kind of archive a path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Nar(Compression),
    /// A tar that is not an image.
    Tar(Compression),
    DockerArchive(Compression),
    /// An OCI image layout: a directory (`tar: None`) or packed as a tar.
    OciLayout {
        tar: Option<Compression>,
    },
}

/// What a whole visit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Members handed to the visitor.
    pub members: u64,
    /// For a NAR, the length of its serialisation (a store path's `narSize`).
    pub nar_size: Option<u64>,
}

/// An archive recognised by [`open`], ready to be visited (any number of times).
pub struct Archive {
    path: PathBuf,
    format: Format,
    limits: Limits,
    body: Body,
}

enum Body {
    Nar,
    Tar(tar_archive::TarPlan),
    OciDir(oci_dir::DirPlan),
}

/// Recognises `path` by content and, for a tar or an image layout, lists it (pass 1).
/// `Ok(None)`: not an archive; the caller audits it as a plain file or directory.
///
/// A compressed file is decompressed just far enough to see what it holds; if that is
/// neither a NAR nor a tar, it is an error.
pub fn open(path: &Path, limits: &Limits) -> Result<Option<Archive>, Error> {
    let metadata = std::fs::metadata(path).map_err(Error::from_io)?;
    if metadata.is_dir() {
        if !oci_dir::is_layout(path) {
            return Ok(None);
        }
        let plan = oci_dir::pass1(path, limits)?;
        return Ok(Some(Archive::new(
            path,
            Format::OciLayout { tar: None },
            limits,
            Body::OciDir(plan),
        )));
    }
    if !metadata.is_file() {
        return Ok(None);
    }
    let file = File::open(path).map_err(Error::from_io)?;
    let head = Peeked::new(BufReader::new(file)).map_err(Error::from_io)?;
    let (compression, inner) = match sniff(head.head()) {
        Sniffed::Nar => (Compression::None, Sniffed::Nar),
        Sniffed::Tar => (Compression::None, Sniffed::Tar),
        Sniffed::Other => return Ok(None),
        Sniffed::Compressed(compression) => {
            let stream = decompress(compression, head, limits).map_err(Error::from_io)?;
            let inner =
                Peeked::new(stream).map_err(|e| Error::from_io(e).at(compression.name()))?;
            match sniff(inner.head()) {
                found @ (Sniffed::Nar | Sniffed::Tar) => (compression, found),
                Sniffed::Compressed(_) | Sniffed::Other => {
                    return Err(Error::malformed(format!(
                        "{} compressed file that holds neither a NAR nor a tar",
                        compression.name()
                    )))
                }
            }
        }
    };
    if inner == Sniffed::Nar {
        return Ok(Some(Archive::new(
            path,
            Format::Nar(compression),
            limits,
            Body::Nar,
        )));
    }
    let plan = tar_archive::pass1(path, compression, limits)?;
    let format = match plan.image.as_ref().map(|image| image.format) {
        None => Format::Tar(compression),
        Some(ImageFormat::DockerArchive) => Format::DockerArchive(compression),
        Some(ImageFormat::OciLayout) => Format::OciLayout {
            tar: Some(compression),
        },
    };
    Ok(Some(Archive::new(path, format, limits, Body::Tar(plan))))
}

impl Archive {
    fn new(path: &Path, format: Format, limits: &Limits, body: Body) -> Archive {
        Archive {
            path: path.to_path_buf(),
            format,
            limits: limits.clone(),
            body,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The image's metadata and layers, for a docker-archive or OCI layout.
    pub fn image(&self) -> Option<&Image> {
        match &self.body {
            Body::Nar => None,
            Body::Tar(plan) => plan.image.as_ref(),
            Body::OciDir(plan) => Some(&plan.image),
        }
    }

    /// The final filesystem as listed in pass 1, in path order, before any contents are
    /// read: what [`visit`](Archive::visit) will visit (each visited member's path is
    /// here, hard links as listed). `None` for a NAR, which is not listed ahead.
    pub fn listing(&self) -> Option<Box<dyn Iterator<Item = Listed<'_>> + '_>> {
        match &self.body {
            Body::Nar => None,
            Body::Tar(plan) => Some(Box::new(plan.filesystem.listing(plan.image.is_some()))),
            Body::OciDir(plan) => Some(Box::new(plan.filesystem.listing(true))),
        }
    }

    /// Reads the archive (again) and calls `visitor` for each member of its final
    /// filesystem. The first error — the archive's or the visitor's — ends the visit.
    pub fn visit(
        &self,
        visitor: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
    ) -> Result<Summary, Error> {
        match &self.body {
            Body::Nar => {
                let Format::Nar(compression) = self.format else {
                    unreachable!("a NAR body has a NAR format")
                };
                let file = File::open(&self.path).map_err(Error::from_io)?;
                let stream = decompress(
                    compression,
                    BufReader::with_capacity(256 << 10, file),
                    &self.limits,
                )
                .map_err(Error::from_io)?;
                let pass = nar::read(stream, &self.limits, visitor)?;
                Ok(Summary {
                    members: pass.members,
                    nar_size: Some(pass.nar_size),
                })
            }
            Body::Tar(plan) => Ok(Summary {
                members: tar_archive::pass2(&self.path, plan, &self.limits, visitor)?,
                nar_size: None,
            }),
            Body::OciDir(plan) => Ok(Summary {
                members: oci_dir::pass2(plan, &self.limits, visitor)?,
                nar_size: None,
            }),
        }
    }
}

/// Reads all of `reader` into a `Vec` (a helper for visitors in tests and examples).
#[doc(hidden)]
pub fn read_all(mut reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}
