//! What the audit learned about each binary: its linkage facts and the libraries in it.

use serde::Serialize;

/// What kind of object an ELF file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElfType {
    /// A static executable (`ET_EXEC` without interpreter).
    StaticExecutable,
    /// A static position-independent executable (`ET_DYN`, no interpreter, `DF_1_PIE`).
    StaticPie,
    /// An executable loaded by an interpreter.
    DynamicExecutable,
    SharedObject,
    /// A `.o` file.
    Relocatable,
    Other,
}

impl ElfType {
    /// The kebab-case name rules use for what a file is (`file_kind`).
    pub fn name(self) -> &'static str {
        match self {
            ElfType::StaticExecutable => "static-executable",
            ElfType::StaticPie => "static-pie",
            ElfType::DynamicExecutable => "dynamic-executable",
            ElfType::SharedObject => "shared-object",
            ElfType::Relocatable => "relocatable",
            ElfType::Other => "other-elf",
        }
    }

    /// Whether the file is a program that runs as a process of its own.
    pub fn is_executable(self) -> bool {
        matches!(
            self,
            ElfType::StaticExecutable | ElfType::StaticPie | ElfType::DynamicExecutable
        )
    }
}

/// The linkage facts of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElfFacts {
    #[serde(rename = "type")]
    pub kind: ElfType,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// No `.symtab`: only dynamic symbols (if any) are left.
    pub stripped: bool,
}

/// A part of a library found in one file, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Identity {
    pub library: String,
    pub part: String,
    /// The build it is, when something tells: its own items or a symbol version.
    pub flavour: Option<String>,
    /// Its symbols defined with a shared build's version (`OPENSSL_init_crypto@@OPENSSL_3.0.0`):
    /// the file is that part itself, built to be loaded, not a copy linked in.
    pub versioned: Vec<String>,
    /// Defined symbols that showed it.
    pub symbols: Vec<String>,
    /// Strings that showed it.
    pub strings: Vec<String>,
}

/// The linkage facts of one ELF file of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binary {
    pub target: String,
    pub file: String,
    #[serde(flatten)]
    pub facts: ElfFacts,
    pub libraries: Vec<Identity>,
}
