//! The scan: every audited entry read once, in parallel, into what it holds.
//!
//! [`bytes`] finds store references in a stream of bytes (Nix's skip loop); [`files`] walks
//! the targets, reads each file through it, inspects ELF files and archives on the way, and
//! hands back one [`Outcome`] per entry. What the hits mean is decided later, by
//! [`crate::attribute`] and the checks.

pub mod archive;
mod bytes;
mod files;

pub use bytes::{Hit, ScanBuffer, ScanSink, Scanner, CONTEXT, MAX_STORE_DIR_LEN};
pub use files::{scan_all, scan_file, scanned_nar_bytes, Outcome, Records, Tools};
