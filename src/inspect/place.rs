//! Where a byte offset sits inside a binary: what inspecting a file says of each hit.

use serde::Serialize;

/// Where one byte offset sits inside a binary.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    /// The ELF section holding it.
    pub section: Option<String>,
    /// Whether it is loaded at run time (inside a `PT_LOAD` segment; for a `.o`, an
    /// allocated section).
    pub loaded: Option<bool>,
    /// The enclosing symbol, demangled.
    pub symbol: Option<String>,
    /// The archive member (`bar.o` of `libfoo.a`).
    pub member: Option<String>,
    /// `interpreter`, `rpath` or `runpath` when it is part of one.
    #[serde(skip)]
    pub dynamic: Option<&'static str>,
}
