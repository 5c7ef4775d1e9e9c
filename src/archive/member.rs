//! What a visitor is handed: one member of an archive, its kind, and for a regular file a
//! reader over exactly its bytes. Also the kinds kept for the listing of an image (the same
//! facts without contents).

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;

use super::error::limit_io_error;

/// One member of an archive, as the visitor sees it.
///
/// The path is relative to the archive's root, normalised (`a/b`, no `./`, no leading or
/// trailing `/`) and raw bytes: not necessarily UTF-8, and the caller escapes it for
/// display. The root of a NAR has the empty path (a NAR of a single file is one member with
/// the empty path); a tar's root directory is never visited.
pub struct Member<'a> {
    pub path: &'a [u8],
    /// For an image, the index in [`Image::layers`](super::Image::layers) of the layer that
    /// put this path in the final filesystem; `None` for a NAR or a plain tar.
    pub layer: Option<usize>,
    pub kind: MemberKind<'a>,
}

impl Member<'_> {
    /// The path as an `OsStr` (the same bytes).
    pub fn path_os(&self) -> &OsStr {
        OsStr::from_bytes(self.path)
    }
}

/// What a member is.
pub enum MemberKind<'a> {
    Directory,
    /// A symbolic link: its target, as stored. It is data: the readers never follow it, and
    /// it may point anywhere (absolute, `../..`).
    Symlink {
        target: &'a [u8],
    },
    /// A tar hard link: the same contents as the regular file visited at `target` during
    /// the same visit (before it within a layer; across layers of a docker-archive the
    /// order of visits is the order of the layers in the archive, so it may come after).
    HardLink {
        target: &'a [u8],
        size: u64,
        executable: bool,
    },
    /// A device node or FIFO (tar only): no contents.
    Special,
    File(FileMember<'a>),
}

/// A regular file member.
pub struct FileMember<'a> {
    /// For a NAR, its `executable` flag; for a tar, the owner's execute bit (as Nix reads it).
    pub executable: bool,
    /// The declared size. [`Contents`] yields exactly this many bytes or fails.
    pub size: u64,
    /// The byte offset of the first content byte in the uncompressed stream that holds it:
    /// the NAR, or the (layer) tar. For a NAR this is where `nix-store --dump` puts it.
    pub offset: u64,
    pub contents: Contents<'a>,
}

/// A reader over exactly one member's bytes, straight from the archive stream.
///
/// Contract:
/// - It yields exactly [`size`](Contents::size) bytes, then `Ok(0)`. If the archive ends
///   early, a read fails with `UnexpectedEof`; if the archive is corrupt (a decompressor
///   error), a read fails with that error. Either way the visit then ends with that error.
/// - The visitor may read all of it, part of it or none: the reader skips what is left.
/// - It cannot be kept past the visitor call (it borrows the stream).
/// - Chunked scanning: call `read` in a loop with the caller's buffer. Random access (ELF):
///   [`read_to_vec`](Contents::read_to_vec) with the caller's bound, or spool it with
///   `io::copy` to a temporary file when it is over that bound.
pub struct Contents<'a> {
    inner: &'a mut dyn Read,
    size: u64,
    done: u64,
}

impl<'a> Contents<'a> {
    pub(crate) fn new(inner: &'a mut dyn Read, size: u64) -> Contents<'a> {
        Contents {
            inner,
            size,
            done: 0,
        }
    }

    /// The member's declared size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many bytes have been read so far.
    pub fn position(&self) -> u64 {
        self.done
    }

    /// Reads the rest of the member into memory, or fails without reading if more than
    /// `max_bytes` are left. The memory is allocated once at the declared size (within
    /// the caller's bound), so a large member costs its size, not twice it.
    pub fn read_to_vec(&mut self, max_bytes: u64) -> io::Result<Vec<u8>> {
        let left = self.size - self.done;
        if left > max_bytes {
            return Err(limit_io_error(format!(
                "a member of {} bytes is over the {max_bytes}-byte bound for reading it into memory",
                self.size
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(left).unwrap_or(usize::MAX));
        self.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

impl Read for Contents<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size - self.done;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends after {} of the member's {} bytes",
                    self.done, self.size
                ),
            ));
        }
        self.done += got as u64;
        Ok(got)
    }
}

/// A member of an image's (or tar's) final filesystem as listed before any contents are
/// read: [`Archive::listing`](super::Archive::listing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListedKind {
    Directory,
    File {
        size: u64,
        executable: bool,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// The same contents as the file listed at `target` (a path of the final filesystem).
    HardLink {
        target: Vec<u8>,
        size: u64,
        executable: bool,
    },
    Special,
}

/// One path of the final filesystem of a tar or image.
#[derive(Debug)]
pub struct Listed<'a> {
    pub path: &'a [u8],
    /// The layer that put it there (index in [`Image::layers`](super::Image::layers));
    /// `None` for a plain tar.
    pub layer: Option<usize>,
    pub kind: &'a ListedKind,
}
