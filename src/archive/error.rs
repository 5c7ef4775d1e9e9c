//! The one error type of the archive readers: what went wrong and where, on one line.
//!
//! A message is built where the problem is seen ("truncated after 12 of 4096 bytes") and
//! each enclosing reader prefixes its place ("layer 2 (blobs/sha256/ab…)", "member
//! usr/bin/x", "byte 1024"), so the caller prints `archive.tar.gz: layer 2 (…): member
//! usr/bin/x: truncated after 12 of 4096 bytes`. Errors returned by the caller's visitor
//! travel through unchanged in kind ([`ErrorKind::Visitor`]) so the caller can tell its own
//! failures from a bad archive.

use std::fmt;
use std::io;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The archive is corrupt, truncated or hostile (`../` names, unsorted NAR entries, …).
    Malformed,
    /// The archive goes past one of the caller's [`Limits`](super::Limits).
    Limit,
    /// A well-formed feature the readers do not handle (sparse tar members, several images
    /// in one archive, encrypted layers, …).
    Unsupported,
    /// Reading the input failed (permissions, I/O).
    Io,
    /// The caller's visitor returned an error; its text is the message.
    Visitor,
}

/// An archive that could not be read to the end. `Display` gives one line.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    /// Places from the outermost to the innermost.
    places: Vec<String>,
    message: String,
    visitor: Option<anyhow::Error>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            places: Vec::new(),
            message: message.into(),
            visitor: None,
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Limit, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub(crate) fn visitor(error: anyhow::Error) -> Error {
        Error {
            kind: ErrorKind::Visitor,
            places: Vec::new(),
            message: format!("{error:#}"),
            visitor: Some(error),
        }
    }

    /// An I/O error from reading the input or a decompressor, classified: corrupt data and
    /// early ends are [`ErrorKind::Malformed`], a tripped bound is [`ErrorKind::Limit`].
    pub(crate) fn from_io(error: io::Error) -> Error {
        if let Some(limit) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<LimitExceeded>())
        {
            return Error::limit(limit.0.clone());
        }
        let kind = match error.kind() {
            io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::InvalidInput => ErrorKind::Malformed,
            _ => ErrorKind::Io,
        };
        Error::new(kind, error.to_string())
    }

    /// Adds the place where this happened, outside the places already named.
    pub(crate) fn at(mut self, place: impl fmt::Display) -> Error {
        self.places.insert(0, place.to_string());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The places, outermost first (layer, member, byte offset), without the message.
    pub fn places(&self) -> &[String] {
        &self.places
    }

    /// The error the caller's visitor returned, if that is what stopped the visit.
    pub fn into_visitor_error(self) -> Option<anyhow::Error> {
        self.visitor
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for place in &self.places {
            write!(f, "{place}: ")?;
        }
        // Messages from decompressors and visitors may span lines; the contract is one line.
        let mut first = true;
        for line in self.message.lines() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line.trim())?;
            first = false;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The payload of an `io::Error` raised by a bound (decompression bomb, member size), so
/// [`Error::from_io`] can tell it from corrupt data.
#[derive(Debug)]
pub(crate) struct LimitExceeded(pub(crate) String);

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitExceeded {}

pub(crate) fn limit_io_error(message: String) -> io::Error {
    io::Error::other(LimitExceeded(message))
}

/// Bytes from an archive (a member name, a symlink target) made printable for an error
/// message: valid UTF-8 stays as is, control characters and invalid bytes become `\xNN`.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}
