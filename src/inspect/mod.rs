//! Looks inside binaries: where in an ELF file or `ar` archive each hit sits, the linkage
//! facts of every ELF file, and which of a set of symbols it defines.
//!
//! Only files whose first bytes say ELF or `ar` are inspected ([`sniff`]); everything is read
//! with bounded `pread`s ([`elf`], [`archive`]), never by loading the file. A file that cannot
//! be parsed is still byte-scanned by the caller; its inspection just says why it failed.

pub mod archive;
pub mod demangle;
pub mod elf;
mod place;
mod read_at;

pub use place::Place;
pub use read_at::{Prefixed, ReadAt};

use std::collections::{HashMap, HashSet};

use self::elf::{ElfFile, Span};
use crate::libraries::Area;
use crate::model::ElfFacts;

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elf,
    Archive,
    Other,
}

/// Tells ELF and `ar` archives from the rest by their magic.
pub fn sniff(first: &[u8]) -> Format {
    if first.starts_with(b"\x7fELF") {
        Format::Elf
    } else if first.starts_with(archive::MAGIC) {
        Format::Archive
    } else {
        Format::Other
    }
}

/// What inspecting one file found.
#[derive(Debug, Default)]
pub struct Inspection {
    /// The linkage facts of an ELF file.
    pub elf: Option<ElfFacts>,
    /// One place per offset asked about, in the same order.
    pub places: Vec<Place>,
    /// Which of the wanted symbol names the file defines.
    pub defined: HashSet<String>,
    /// The version node each wanted symbol is defined with in the dynamic symbols
    /// (`name@@NODE`), where it has one.
    pub versions: HashMap<String, String>,
}

/// A file's structure, read once before its bytes are scanned and used after.
pub enum Parsed {
    Elf(Box<ElfFile>),
    Archive,
    Other,
}

impl Parsed {
    /// Reads the structure of `file` (`len` bytes) as `format` says it is. An `Err` says why
    /// it could not be parsed.
    pub fn read(file: &dyn ReadAt, len: u64, format: Format) -> Result<Parsed, String> {
        Ok(match format {
            Format::Elf => Parsed::Elf(Box::new(ElfFile::parse(file, Span { base: 0, len })?)),
            Format::Archive => Parsed::Archive,
            Format::Other => Parsed::Other,
        })
    }

    /// The file ranges worth searching for library strings and symbol names: an ELF file's
    /// string tables and loaded data; nothing in anything else.
    pub fn string_ranges(&self, len: u64) -> Vec<(u64, u64, Area)> {
        match self {
            Parsed::Elf(elf) => elf
                .string_ranges()
                .unwrap_or_else(|| vec![(0, len, Area::Names), (0, len, Area::Data)]),
            Parsed::Archive | Parsed::Other => Vec::new(),
        }
    }

    /// Places each of `offsets`, and looks for the `wanted` symbol names.
    pub fn inspect(
        self,
        file: &dyn ReadAt,
        len: u64,
        offsets: &[u64],
        wanted: &HashSet<&str>,
    ) -> Result<Inspection, String> {
        match self {
            Parsed::Elf(elf) => {
                let (places, defined) = elf.place(file, offsets, wanted)?;
                let versions = elf.default_versions(file, wanted)?;
                Ok(Inspection {
                    elf: Some(elf.facts),
                    places,
                    defined,
                    versions,
                })
            }
            Parsed::Archive => Ok(Inspection {
                places: archive::place(file, len, offsets)?,
                ..Inspection::default()
            }),
            Parsed::Other => Ok(Inspection {
                places: vec![Place::default(); offsets.len()],
                ..Inspection::default()
            }),
        }
    }
}

/// Inspects `file` (`len` bytes, of `format`) in one go: parses it, places each of
/// `offsets`, and looks for the `wanted` symbol names.
pub fn inspect(
    file: &dyn ReadAt,
    len: u64,
    format: Format,
    offsets: &[u64],
    wanted: &HashSet<&str>,
) -> Result<Inspection, String> {
    Parsed::read(file, len, format)?.inspect(file, len, offsets, wanted)
}
