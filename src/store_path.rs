//! Store-path syntax and store-path names.
//!
//! This module owns the nix-base32 alphabet, the rules for what a store path looks like
//! (`<store-dir>/<hash>-<name>`, optionally followed by a subpath), and the reading of a
//! store-path *name* into package facts: package name and version as
//! `builtins.parseDrvName` splits them, the output, the host platform of cross and
//! `pkgsStatic` builds, and whether the path is a `.drv`. It does not scan bytes for
//! references (that is `scan`'s job) and it does no I/O: nothing here checks that a path
//! exists, only that it is well formed.

use std::fmt;

/// Length of the hash part of a store path: 160 bits in nix-base32.
pub const HASH_LEN: usize = 32;

/// Longest store-path name Nix accepts (`StorePath::MaxPathLen` in `libstore/path.cc`).
pub const MAX_NAME_LEN: usize = 211;

/// The nix-base32 alphabet, `0123456789abcdfghijklmnpqrsvwxyz`.
///
/// It omits `e`, `o`, `t` and `u` so that hashes never spell words; `remove-references-to`
/// relies on that when it overwrites a hash with 32 `e` characters.
pub const NIX_BASE32: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Membership table for [`NIX_BASE32`], indexed by byte value.
static BASE32_TABLE: [bool; 256] = base32_table();

/// Builds [`BASE32_TABLE`] at compile time from [`NIX_BASE32`], so the two cannot disagree.
const fn base32_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < NIX_BASE32.len() {
        table[NIX_BASE32[i] as usize] = true;
        i += 1;
    }
    table
}

/// True if `b` is one of the 32 characters of the nix-base32 alphabet.
#[inline]
pub fn is_nix_base32(b: u8) -> bool {
    BASE32_TABLE[b as usize]
}

/// True if `b` may appear in a store-path name: `A-Za-z0-9` and `+ - . _ ? =`.
#[inline]
pub fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_' | b'?' | b'=')
}

/// True for the hash of 32 `e` characters that `remove-references-to` and `nuke-refs` write.
///
/// `e` is not in nix-base32, so such a hash can never name a live store path.
pub fn is_nuked_hash(hash: &[u8]) -> bool {
    hash.len() == HASH_LEN && hash.iter().all(|&b| b == b'e')
}

/// A store path, split into its hash part and its name; the store directory is not kept.
///
/// Both parts are validated on construction, so every value is a well-formed path. The
/// hash may be the nuked hash of 32 `e` characters (see [`is_nuked_hash`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct StorePath {
    hash: String,
    name: String,
}

impl StorePath {
    /// Builds a store path from its hash part and its name.
    ///
    /// The hash must be 32 nix-base32 characters, or 32 `e` (nuked). The name must be 1 to
    /// 211 name characters (see [`is_name_char`]) and must not start with `.`.
    ///
    /// # Errors
    ///
    /// The [`StorePathError`] for the first rule the hash or the name breaks.
    pub fn new(hash: &str, name: &str) -> Result<StorePath, StorePathError> {
        check_hash(hash)?;
        check_name(name)?;
        Ok(StorePath {
            hash: hash.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Parses exactly `<store_dir>/<hash>-<name>`, or the bare base name `<hash>-<name>`
    /// when `text` does not start with `/` (newer Nix prints paths that way in its JSON).
    ///
    /// No subpath is allowed, not even a trailing `/`; use [`StorePath::parse_with_subpath`]
    /// for that. A trailing `/` on `store_dir` is ignored.
    ///
    /// # Errors
    ///
    /// [`StorePathError::NotInStore`] for an absolute path outside `store_dir`,
    /// [`StorePathError::UnexpectedSubpath`] if anything follows the name, and otherwise the
    /// error of [`StorePath::new`] for a bad hash or name.
    pub fn parse(text: &str, store_dir: &str) -> Result<StorePath, StorePathError> {
        let (path, subpath) = StorePath::parse_with_subpath(text, store_dir)?;
        if subpath.is_empty() {
            Ok(path)
        } else {
            Err(StorePathError::UnexpectedSubpath)
        }
    }

    /// Like [`StorePath::parse`], but accepts a subpath after the name: returns the store
    /// path and the rest of `text`, which is either empty or starts with `/`.
    ///
    /// # Errors
    ///
    /// As [`StorePath::parse`], except that a subpath is not an error.
    pub fn parse_with_subpath<'a>(
        text: &'a str,
        store_dir: &str,
    ) -> Result<(StorePath, &'a str), StorePathError> {
        let rest = if text.starts_with('/') {
            strip_store_dir(text, store_dir).ok_or(StorePathError::NotInStore)?
        } else {
            text
        };
        let (base, subpath) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        Ok((parse_base_name(base)?, subpath))
    }

    /// The 32-character hash part.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The name after the hash and its dash, e.g. `openssl-3.0.12-etc`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full path in `store_dir`: `<store_dir>/<hash>-<name>`.
    pub fn to_path_string(&self, store_dir: &str) -> String {
        format!("{}/{}-{}", trim_store_dir(store_dir), self.hash, self.name)
    }

    /// True if this is a derivation (`.drv`) rather than a build output.
    pub fn is_derivation(&self) -> bool {
        self.name.ends_with(".drv")
    }

    /// The package facts read from the name; see [`parse_name`].
    pub fn package(&self) -> PackageName {
        parse_name(&self.name)
    }
}

/// Why a string is not a well-formed store path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorePathError {
    /// The path starts with `/` but not with the store directory followed by `/`.
    NotInStore,
    /// The base name is too short to hold a hash, a dash and a name.
    TooShort,
    /// The hash part does not have exactly [`HASH_LEN`] bytes.
    HashLength {
        /// The length in bytes that was found.
        len: usize,
    },
    /// The hash part holds a character outside nix-base32 (and is not the nuked hash).
    HashChar {
        /// The first offending character.
        ch: char,
    },
    /// The hash part is not followed by `-`.
    MissingDash,
    /// The name is empty.
    EmptyName,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong {
        /// The length in bytes that was found.
        len: usize,
    },
    /// The name starts with `.`.
    NameStartsWithDot,
    /// The name holds a character that store-path names may not contain.
    NameChar {
        /// The first offending character.
        ch: char,
    },
    /// Something follows the name (a subpath or a trailing `/`) where none is allowed.
    UnexpectedSubpath,
}

impl fmt::Display for StorePathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorePathError::NotInStore => f.write_str("path is not inside the store directory"),
            StorePathError::TooShort => {
                f.write_str("store path is too short to hold a hash and a name")
            }
            StorePathError::HashLength { len } => {
                write!(
                    f,
                    "store path hash has {len} characters instead of {HASH_LEN}"
                )
            }
            StorePathError::HashChar { ch } => {
                write!(
                    f,
                    "store path hash contains {ch:?}, which is not nix-base32"
                )
            }
            StorePathError::MissingDash => f.write_str("store path hash is not followed by '-'"),
            StorePathError::EmptyName => f.write_str("store path name is empty"),
            StorePathError::NameTooLong { len } => {
                write!(
                    f,
                    "store path name has {len} characters, more than {MAX_NAME_LEN}"
                )
            }
            StorePathError::NameStartsWithDot => f.write_str("store path name starts with '.'"),
            StorePathError::NameChar { ch } => {
                write!(f, "store path name contains {ch:?}, which is not allowed")
            }
            StorePathError::UnexpectedSubpath => {
                f.write_str("store path is followed by a subpath where none is allowed")
            }
        }
    }
}

impl std::error::Error for StorePathError {}

/// Returns `store_dir` without trailing slashes (`/nix/store/` and `/nix/store` are one dir).
fn trim_store_dir(store_dir: &str) -> &str {
    store_dir.trim_end_matches('/')
}

/// Returns what follows `<store_dir>/` in `text`, or `None` if `text` is not in that dir.
fn strip_store_dir<'a>(text: &'a str, store_dir: &str) -> Option<&'a str> {
    text.strip_prefix(trim_store_dir(store_dir))?
        .strip_prefix('/')
}

/// The character that starts at byte `at` of `text`, for error messages.
///
/// Callers pass the first byte that failed an ASCII-only check, so every byte before it is
/// ASCII and `at` is a character boundary; the fallback only keeps this total.
fn char_at(text: &str, at: usize) -> char {
    text.get(at..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Checks a hash part: exactly 32 nix-base32 characters, or exactly 32 `e`.
fn check_hash(hash: &str) -> Result<(), StorePathError> {
    if hash.len() != HASH_LEN {
        return Err(StorePathError::HashLength { len: hash.len() });
    }
    if is_nuked_hash(hash.as_bytes()) {
        return Ok(());
    }
    match hash.bytes().position(|b| !is_nix_base32(b)) {
        Some(at) => Err(StorePathError::HashChar {
            ch: char_at(hash, at),
        }),
        None => Ok(()),
    }
}

/// Checks a name the way this project defines it: 1 to 211 name characters, no leading `.`.
///
/// Current Nix only rejects `.`, `..` and names starting `.-` or `..-`; leading dots were
/// rejected before 2.4 and only officially allowed later (NixOS/nix#912). No nixpkgs output
/// starts with one, so the stricter rule costs nothing and keeps scanner false positives out.
fn check_name(name: &str) -> Result<(), StorePathError> {
    if name.is_empty() {
        return Err(StorePathError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(StorePathError::NameTooLong { len: name.len() });
    }
    if name.starts_with('.') {
        return Err(StorePathError::NameStartsWithDot);
    }
    match name.bytes().position(|b| !is_name_char(b)) {
        Some(at) => Err(StorePathError::NameChar {
            ch: char_at(name, at),
        }),
        None => Ok(()),
    }
}

/// Parses `<hash>-<name>` with nothing before or after it.
fn parse_base_name(base: &str) -> Result<StorePath, StorePathError> {
    if base.len() < HASH_LEN + 1 {
        return Err(StorePathError::TooShort);
    }
    let bytes = base.as_bytes();
    // Check the hash bytes before slicing: a non-ASCII byte would make `base[..32]` panic.
    let hash_bytes = bytes.get(..HASH_LEN).ok_or(StorePathError::TooShort)?;
    if !is_nuked_hash(hash_bytes) {
        if let Some(at) = hash_bytes.iter().position(|&b| !is_nix_base32(b)) {
            return Err(StorePathError::HashChar {
                ch: char_at(base, at),
            });
        }
    }
    if bytes.get(HASH_LEN) != Some(&b'-') {
        return Err(StorePathError::MissingDash);
    }
    let hash = base.get(..HASH_LEN).ok_or(StorePathError::TooShort)?;
    let name = base.get(HASH_LEN + 1..).ok_or(StorePathError::EmptyName)?;
    check_name(name)?;
    Ok(StorePath {
        hash: hash.to_owned(),
        name: name.to_owned(),
    })
}

/// The facts a store-path name tells about the package it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PackageName {
    /// The package name, without platform or static marker: `openssl`.
    pub package: String,
    /// The version, without the output suffix: `3.0.12`; `None` when the name has none.
    pub version: Option<String>,
    /// The output; `None` means the default output `out`. `Some("etc")`, `Some("dev")`, …
    pub output: Option<String>,
    /// The host platform of a cross or static build (`x86_64-unknown-linux-musl`), or the
    /// target platform of a cross toolchain named with a target prefix.
    pub platform: Option<String>,
    /// True for `pkgsStatic` builds, which put `-static-<platform>` after the package name.
    pub is_static: bool,
    /// True if the name ended in `.drv` (stripped before the rest of the parse).
    pub is_derivation: bool,
}

/// Output names nixpkgs appends as `-<output>` to the version of a non-default output.
///
/// `out` is left out on purpose: the default output never gets a suffix, and `None` in
/// [`PackageName::output`] already means `out`.
const OUTPUT_NAMES: &[&str] = &[
    "bin",
    "dev",
    "lib",
    "man",
    "doc",
    "info",
    "devdoc",
    "devman",
    "static",
    "debug",
    "etc",
    "data",
    "modules",
    "terminfo",
    "python",
    "py",
    "tex",
    "getent",
    "libgcc",
    "sbin",
    "include",
    "share",
    "examples",
    "installedTests",
    "lib32",
    "lib64",
];

/// CPU names that start a GNU target triple (the `cpu` field of nixpkgs'
/// `lib/systems/parse.nix`, plus the spellings its `config` strings use).
const ARCH_WORDS: &[&str] = &[
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "aarch64",
    "aarch64_be",
    "arm",
    "armv5tel",
    "armv6l",
    "armv6m",
    "armv7l",
    "armv7a",
    "armv7m",
    "armv8a",
    "riscv32",
    "riscv64",
    "powerpc",
    "powerpcle",
    "powerpc64",
    "powerpc64le",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "mipsisa32r6",
    "mipsisa32r6el",
    "mipsisa64r6",
    "mipsisa64r6el",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm32",
    "wasm64",
    "loongarch64",
    "m68k",
    "microblaze",
    "microblazeel",
    "or1k",
    "avr",
    "vc4",
    "msp430",
    "mmix",
    "rx",
    "alpha",
    "javascript",
];

/// Kernel and ABI words that can end a target triple: after one of these the triple is
/// complete (`x86_64-unknown-linux-musl`, `aarch64-apple-darwin`, `x86_64-w64-mingw32`).
const FINAL_OS_WORDS: &[&str] = &[
    "gnu",
    "gnux32",
    "gnuabi64",
    "gnuabin32",
    "gnuabielfv1",
    "gnuabielfv2",
    "gnueabi",
    "gnueabihf",
    "musl",
    "muslabi64",
    "muslabin32",
    "musleabi",
    "musleabihf",
    "uclibc",
    "uclibceabi",
    "uclibceabihf",
    "eabi",
    "eabihf",
    "elf",
    "android",
    "androideabi",
    "darwin",
    "ios",
    "mingw32",
    "msvc",
    "cygwin",
    "wasi",
    "freebsd",
    "netbsd",
    "openbsd",
    "redox",
    "ghcjs",
    "mmixware",
];

/// Kernel words that may end a triple but may also be followed by an ABI word
/// (`linux` in `…-linux-gnu`, `none` in `arm-none-eabi`, `windows` in `…-windows-msvc`).
const OPEN_OS_WORDS: &[&str] = &["linux", "none", "windows"];

/// Most tokens a triple can have: `arch-vendor-kernel-abi`.
const MAX_TRIPLE_TOKENS: usize = 4;

/// How a token relates to the end of a target triple.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OsWord {
    /// Not a kernel or ABI word.
    No,
    /// Can end a triple, and nothing more may follow.
    Final,
    /// Can end a triple, or be followed by an ABI word.
    Open,
}

/// Classifies `token` as a kernel/ABI word.
///
/// A kernel version may trail the word (`freebsd14`, `darwin20`), so trailing digits and
/// dots are ignored when the token is not listed as it is (`mingw32` is).
fn os_word(token: &str) -> OsWord {
    let classify = |t: &str| {
        if FINAL_OS_WORDS.contains(&t) {
            OsWord::Final
        } else if OPEN_OS_WORDS.contains(&t) {
            OsWord::Open
        } else {
            OsWord::No
        }
    };
    match classify(token) {
        OsWord::No => {
            let bare = token.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            if bare.is_empty() || bare.len() == token.len() {
                OsWord::No
            } else {
                classify(bare)
            }
        }
        found => found,
    }
}

/// True if `token` is a CPU name that can start a target triple.
fn is_arch_word(token: &str) -> bool {
    ARCH_WORDS.contains(&token)
}

/// If `tokens` starts with a target triple, returns how many tokens it spans.
///
/// The triple is an architecture token followed by at most three more tokens, the last of
/// which is a kernel or ABI word; it stops at the first word after which nothing may follow.
fn triple_len(tokens: &[&str]) -> Option<usize> {
    let (first, rest) = tokens.split_first()?;
    if !is_arch_word(first) {
        return None;
    }
    let mut len = None;
    for (i, token) in rest.iter().take(MAX_TRIPLE_TOKENS - 1).enumerate() {
        match os_word(token) {
            OsWord::No => {}
            OsWord::Open => len = Some(i + 2),
            OsWord::Final => return Some(i + 2),
        }
    }
    len
}

/// `builtins.parseDrvName`: splits at the first `-` that is not followed by a letter.
///
/// Nix uses C `isalpha` in the C locale, i.e. ASCII letters only, and never splits at a
/// final `-` (`libexpr/names.cc`).
fn parse_drv_name(name: &str) -> (&str, Option<&str>) {
    let bytes = name.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'-' {
            continue;
        }
        match bytes.get(i + 1) {
            Some(next) if !next.is_ascii_alphabetic() => {
                // `-` is ASCII, so both `i` and `i + 1` are character boundaries.
                if let (Some(package), Some(version)) = (name.get(..i), name.get(i + 1..)) {
                    return (package, Some(version));
                }
            }
            _ => {}
        }
    }
    (name, None)
}

/// Splits a known output suffix off a version: `2.39-52-bin` → (`2.39-52`, `bin`).
fn split_output(version: &str) -> (&str, Option<&str>) {
    if let Some((rest, suffix)) = version.rsplit_once('-') {
        if !rest.is_empty() && OUTPUT_NAMES.contains(&suffix) {
            return (rest, Some(suffix));
        }
    }
    (version, None)
}

/// What the package part of a name says once the platform is taken out of it.
struct PackagePart {
    package: String,
    platform: Option<String>,
    is_static: bool,
}

/// Finds a target triple in the package part of a name (before the version).
///
/// nixpkgs' `mkDerivation` names cross builds `<pname>-<config>-<version>` and `pkgsStatic`
/// builds `<pname>-static-<config>-<version>`; cross toolchains put the target first,
/// `<config>-<pname>-<version>`. The triple must end a kernel/ABI word so that names like
/// `gcc-arm-embedded` are not read as a platform.
fn split_platform(part: &str) -> PackagePart {
    let plain = PackagePart {
        package: part.to_owned(),
        platform: None,
        is_static: false,
    };
    let tokens: Vec<&str> = part.split('-').collect();

    // Target prefix of a cross toolchain: `x86_64-unknown-linux-musl-gcc-wrapper`.
    if let Some(len) = triple_len(&tokens) {
        if len < tokens.len() {
            return PackagePart {
                package: tokens[len..].join("-"),
                platform: Some(tokens[..len].join("-")),
                is_static: false,
            };
        }
    }

    // Host suffix of a cross or static build: `openssl-static-x86_64-unknown-linux-musl`.
    for start in 1..tokens.len() {
        let Some(len) = triple_len(&tokens[start..]) else {
            continue;
        };
        if start + len != tokens.len() {
            continue;
        }
        let platform = Some(tokens[start..].join("-"));
        // `static` only counts as the pkgsStatic marker right before the triple and with a
        // package name before it; `foo-static` alone or `libstatic` are ordinary names.
        let is_static = start >= 2 && tokens[start - 1] == "static";
        let package_end = if is_static { start - 1 } else { start };
        return PackagePart {
            package: tokens[..package_end].join("-"),
            platform,
            is_static,
        };
    }

    plain
}

/// Reads package facts from a store-path name.
///
/// In order: a trailing `.drv` is stripped (`is_derivation`); the rest is split as
/// `builtins.parseDrvName` does; a known output name at the end of the version becomes
/// `output`; a target triple in the package part becomes `platform`, with a `static` token
/// right before it setting `is_static`. Never fails: a name it cannot read is a package
/// with no version.
pub fn parse_name(name: &str) -> PackageName {
    let (name, is_derivation) = match name.strip_suffix(".drv") {
        Some(stem) if !stem.is_empty() => (stem, true),
        _ => (name, false),
    };
    let (package_part, version) = parse_drv_name(name);
    let (version, output) = match version {
        Some(version) => {
            let (version, output) = split_output(version);
            (Some(version.to_owned()), output.map(str::to_owned))
        }
        None => (None, None),
    };
    let PackagePart {
        package,
        platform,
        is_static,
    } = split_platform(package_part);
    PackageName {
        package,
        version,
        output,
        platform,
        is_static,
        is_derivation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0c8yzjfz6bfd0cl24f5n0mgm2wp6bmky";
    const NUKED: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    /// Expected facts for one name: package, version, output, platform, static, drv.
    type Expected = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        bool,
    );

    const MUSL: Option<&str> = Some("x86_64-unknown-linux-musl");
    const DARWIN: Option<&str> = Some("aarch64-apple-darwin");

    #[rustfmt::skip]
    const NAMES: &[(&str, Expected)] = &[
        // pkgsStatic and pkgsMusl builds.
        ("postgrest-static-x86_64-unknown-linux-musl-11.2.0", ("postgrest", Some("11.2.0"), None, MUSL, true, false)),
        ("warp-static-x86_64-unknown-linux-musl-3.3.25", ("warp", Some("3.3.25"), None, MUSL, true, false)),
        ("HTTP-static-x86_64-unknown-linux-musl-4000.4.1", ("HTTP", Some("4000.4.1"), None, MUSL, true, false)),
        ("libpq-x86_64-unknown-linux-musl-16.1", ("libpq", Some("16.1"), None, MUSL, false, false)),
        ("libkrb5-static-x86_64-unknown-linux-musl-1.20.2", ("libkrb5", Some("1.20.2"), None, MUSL, true, false)),
        ("jemalloc-static-aarch64-apple-darwin-5.3.0", ("jemalloc", Some("5.3.0"), None, DARWIN, true, false)),
        ("rocksdb-static-aarch64-apple-darwin-9.1.1", ("rocksdb", Some("9.1.1"), None, DARWIN, true, false)),
        ("openssl-static-x86_64-unknown-linux-musl-3.0.12-etc", ("openssl", Some("3.0.12"), Some("etc"), MUSL, true, false)),
        ("openssl-static-x86_64-unknown-linux-musl-3.0.12.drv", ("openssl", Some("3.0.12"), None, MUSL, true, true)),
        ("musl-static-x86_64-unknown-linux-musl-1.2.3", ("musl", Some("1.2.3"), None, MUSL, true, false)),
        ("zlib-static-x86_64-unknown-linux-musl-1.3.1-dev", ("zlib", Some("1.3.1"), Some("dev"), MUSL, true, false)),
        ("python3.11-requests-static-x86_64-unknown-linux-musl-2.31.0", ("python3.11-requests", Some("2.31.0"), None, MUSL, true, false)),
        // pkgsCross builds.
        ("openssl-aarch64-unknown-linux-gnu-3.0.13", ("openssl", Some("3.0.13"), None, Some("aarch64-unknown-linux-gnu"), false, false)),
        ("hello-riscv64-unknown-linux-gnu-2.12.1", ("hello", Some("2.12.1"), None, Some("riscv64-unknown-linux-gnu"), false, false)),
        ("hello-x86_64-w64-mingw32-2.12.1", ("hello", Some("2.12.1"), None, Some("x86_64-w64-mingw32"), false, false)),
        ("zlib-armv7l-unknown-linux-gnueabihf-1.3.1-dev", ("zlib", Some("1.3.1"), Some("dev"), Some("armv7l-unknown-linux-gnueabihf"), false, false)),
        ("hello-wasm32-unknown-wasi-2.12.1", ("hello", Some("2.12.1"), None, Some("wasm32-unknown-wasi"), false, false)),
        ("zlib-powerpc64le-unknown-linux-gnu-1.3.1", ("zlib", Some("1.3.1"), None, Some("powerpc64le-unknown-linux-gnu"), false, false)),
        ("zlib-s390x-unknown-linux-gnu-1.3.1", ("zlib", Some("1.3.1"), None, Some("s390x-unknown-linux-gnu"), false, false)),
        ("hello-i686-unknown-linux-musl-2.12.1", ("hello", Some("2.12.1"), None, Some("i686-unknown-linux-musl"), false, false)),
        // Cross toolchains, named with the target first.
        ("x86_64-unknown-linux-musl-gcc-wrapper-12.3.0", ("gcc-wrapper", Some("12.3.0"), None, MUSL, false, false)),
        ("aarch64-unknown-linux-gnu-binutils-2.41", ("binutils", Some("2.41"), None, Some("aarch64-unknown-linux-gnu"), false, false)),
        ("arm-none-eabi-gcc-wrapper-13.2.0", ("gcc-wrapper", Some("13.2.0"), None, Some("arm-none-eabi"), false, false)),
        ("x86_64-w64-mingw32-gcc-13.2.0", ("gcc", Some("13.2.0"), None, Some("x86_64-w64-mingw32"), false, false)),
        // Native builds.
        ("glibc-2.39-52", ("glibc", Some("2.39-52"), None, None, false, false)),
        ("glibc-2.39-52-bin", ("glibc", Some("2.39-52"), Some("bin"), None, false, false)),
        ("glibc-2.39-52-getent", ("glibc", Some("2.39-52"), Some("getent"), None, false, false)),
        ("gcc-13.2.0-lib", ("gcc", Some("13.2.0"), Some("lib"), None, false, false)),
        ("gcc-13.2.0-libgcc", ("gcc", Some("13.2.0"), Some("libgcc"), None, false, false)),
        ("gcc-wrapper-13.2.0", ("gcc-wrapper", Some("13.2.0"), None, None, false, false)),
        ("gcc-arm-embedded-13.2.rel1", ("gcc-arm-embedded", Some("13.2.rel1"), None, None, false, false)),
        ("python3-3.11.9", ("python3", Some("3.11.9"), None, None, false, false)),
        ("perl5.38.2-URI-5.21", ("perl5.38.2-URI", Some("5.21"), None, None, false, false)),
        ("perl-5.38.2", ("perl", Some("5.38.2"), None, None, false, false)),
        ("source", ("source", None, None, None, false, false)),
        ("hello-2.12.1.drv", ("hello", Some("2.12.1"), None, None, false, true)),
        ("hello-2.12.1.tar.gz", ("hello", Some("2.12.1.tar.gz"), None, None, false, false)),
        ("hello.c", ("hello.c", None, None, None, false, false)),
        ("stdenv-linux", ("stdenv-linux", None, None, None, false, false)),
        ("openssl-3.0.13-dev", ("openssl", Some("3.0.13"), Some("dev"), None, false, false)),
        ("openssl-3.0.13-bin", ("openssl", Some("3.0.13"), Some("bin"), None, false, false)),
        ("zlib-1.3.1", ("zlib", Some("1.3.1"), None, None, false, false)),
        ("bash-5.2p26", ("bash", Some("5.2p26"), None, None, false, false)),
        ("bash-interactive-5.2p26-man", ("bash-interactive", Some("5.2p26"), Some("man"), None, false, false)),
        ("coreutils-9.4", ("coreutils", Some("9.4"), None, None, false, false)),
        ("binutils-2.41", ("binutils", Some("2.41"), None, None, false, false)),
        ("ghc-9.4.8", ("ghc", Some("9.4.8"), None, None, false, false)),
        ("ghc-9.4.8-doc", ("ghc", Some("9.4.8"), Some("doc"), None, false, false)),
        ("ghc-9.4.8-with-packages", ("ghc", Some("9.4.8-with-packages"), None, None, false, false)),
        ("rustc-1.77.2", ("rustc", Some("1.77.2"), None, None, false, false)),
        ("cargo-1.77.2", ("cargo", Some("1.77.2"), None, None, false, false)),
        ("go-1.22.2", ("go", Some("1.22.2"), None, None, false, false)),
        ("util-linux-minimal-2.39.3-lib", ("util-linux-minimal", Some("2.39.3"), Some("lib"), None, false, false)),
        ("linux-6.6.30-modules", ("linux", Some("6.6.30"), Some("modules"), None, false, false)),
        ("linux-headers-6.7", ("linux-headers", Some("6.7"), None, None, false, false)),
        ("libxml2-2.12.6-py", ("libxml2", Some("2.12.6"), Some("py"), None, false, false)),
        ("nss-cacert-3.98", ("nss-cacert", Some("3.98"), None, None, false, false)),
        ("tzdata-2024a", ("tzdata", Some("2024a"), None, None, false, false)),
        ("ncurses-6.4-dev", ("ncurses", Some("6.4"), Some("dev"), None, false, false)),
        ("libpq-16.1-dev", ("libpq", Some("16.1"), Some("dev"), None, false, false)),
        ("krb5-1.21.2-lib", ("krb5", Some("1.21.2"), Some("lib"), None, false, false)),
        ("zstd-1.5.5-bin", ("zstd", Some("1.5.5"), Some("bin"), None, false, false)),
        ("libcap-2.69-lib", ("libcap", Some("2.69"), Some("lib"), None, false, false)),
        ("nix-2.18.2-man", ("nix", Some("2.18.2"), Some("man"), None, false, false)),
        ("gmp-with-cxx-6.3.0", ("gmp-with-cxx", Some("6.3.0"), None, None, false, false)),
        ("gnu-config-2024-01-01", ("gnu-config", Some("2024-01-01"), None, None, false, false)),
        ("avr-libc-2.1.0", ("avr-libc", Some("2.1.0"), None, None, false, false)),
        ("arm-trusted-firmware-2.10", ("arm-trusted-firmware", Some("2.10"), None, None, false, false)),
        // "static" as an ordinary word never sets is_static.
        ("libstatic-1.0", ("libstatic", Some("1.0"), None, None, false, false)),
        ("foo-static-1.0", ("foo-static", Some("1.0"), None, None, false, false)),
        ("openssl-3.0.13-static", ("openssl", Some("3.0.13"), Some("static"), None, false, false)),
    ];

    #[test]
    fn parse_name_table() {
        let mut failures = Vec::new();
        for &(name, (package, version, output, platform, is_static, is_derivation)) in NAMES {
            let expected = PackageName {
                package: package.to_owned(),
                version: version.map(str::to_owned),
                output: output.map(str::to_owned),
                platform: platform.map(str::to_owned),
                is_static,
                is_derivation,
            };
            let got = parse_name(name);
            if got != expected {
                failures.push(format!(
                    "{name}:\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
        assert!(NAMES.len() >= 45);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn parse_name_edge_cases_do_not_panic() {
        for name in [
            "",
            "-",
            "--",
            ".drv",
            "-1",
            "a-",
            "x86_64",
            "x86_64-unknown-linux-musl",
            "static-x86_64-unknown-linux-musl-1.0",
            "foo--dev",
            "é-1",
            "a-é",
            "x86_64-é-linux-gnu-a",
        ] {
            let _ = parse_name(name);
        }
        assert_eq!(parse_name("").package, "");
        assert_eq!(parse_name(".drv").package, ".drv");
        assert!(!parse_name(".drv").is_derivation);
        // A trailing dash never splits (Nix checks i + 1 < size).
        assert_eq!(parse_name("a-").version, None);
        // The version may not become empty by stripping an output.
        assert_eq!(parse_name("foo--dev").version.as_deref(), Some("-dev"));
        // A triple with nothing else is a package name, not a platform.
        let bare = parse_name("x86_64-unknown-linux-musl");
        assert_eq!(bare.package, "x86_64-unknown-linux-musl");
        assert_eq!(bare.platform, None);
        // "static" with no package before it is the package itself.
        let lone = parse_name("static-x86_64-unknown-linux-musl-1.0");
        assert_eq!(lone.package, "static");
        assert!(!lone.is_static);
        assert_eq!(lone.platform.as_deref(), Some("x86_64-unknown-linux-musl"));
    }

    #[test]
    fn kernel_version_on_os_word() {
        let got = parse_name("hello-x86_64-unknown-freebsd14-2.12.1");
        assert_eq!(got.package, "hello");
        assert_eq!(got.platform.as_deref(), Some("x86_64-unknown-freebsd14"));
    }

    #[test]
    fn alphabet_table_matches_constant() {
        for b in 0..=255u8 {
            assert_eq!(is_nix_base32(b), NIX_BASE32.contains(&b), "byte {b}");
        }
        assert_eq!(NIX_BASE32, b"0123456789abcdfghijklmnpqrsvwxyz");
        for forbidden in [b'e', b'o', b't', b'u', b'A', b'Z', b'-', 0, 255] {
            assert!(!is_nix_base32(forbidden));
        }
    }

    #[test]
    fn name_chars() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"+-._?=".contains(&b);
            assert_eq!(is_name_char(b), expected, "byte {b}");
        }
    }

    #[test]
    fn nuked_hash() {
        assert!(is_nuked_hash(NUKED.as_bytes()));
        assert!(!is_nuked_hash(HASH.as_bytes()));
        assert!(!is_nuked_hash(&NUKED.as_bytes()[..31]));
        assert!(!is_nuked_hash(b"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"));
    }

    #[test]
    fn new_valid() {
        let path = StorePath::new(HASH, "openssl-3.0.12-etc").expect("valid path");
        assert_eq!(path.hash(), HASH);
        assert_eq!(path.name(), "openssl-3.0.12-etc");
        assert_eq!(
            path.to_path_string("/nix/store"),
            format!("/nix/store/{HASH}-openssl-3.0.12-etc")
        );
        assert_eq!(
            path.to_path_string("/nix/store"),
            format!("/nix/store/{HASH}-openssl-3.0.12-etc")
        );
        assert_eq!(
            path.to_path_string("/nix/store/"),
            format!("/nix/store/{HASH}-openssl-3.0.12-etc")
        );
        assert!(!is_nuked_hash(path.hash().as_bytes()));
        assert!(!path.is_derivation());
        assert_eq!(path.package().output.as_deref(), Some("etc"));
    }

    #[test]
    fn new_nuked() {
        let path = StorePath::new(NUKED, "openssl-3.0.12-etc").expect("nuked hash is accepted");
        assert!(is_nuked_hash(path.hash().as_bytes()));
    }

    #[test]
    fn new_rejects_bad_hashes() {
        assert_eq!(
            StorePath::new(&HASH[..31], "a"),
            Err(StorePathError::HashLength { len: 31 })
        );
        assert_eq!(
            StorePath::new(&format!("{HASH}0"), "a"),
            Err(StorePathError::HashLength { len: 33 })
        );
        assert_eq!(
            StorePath::new("", "a"),
            Err(StorePathError::HashLength { len: 0 })
        );
        for bad in ['e', 'o', 't', 'u', 'A', 'Z', '-'] {
            let hash = format!("{bad}{}", &HASH[1..]);
            assert_eq!(
                StorePath::new(&hash, "a"),
                Err(StorePathError::HashChar { ch: bad }),
                "{hash}"
            );
        }
        // Mixed 'e's are not the nuked hash.
        let almost = format!("{}0", &NUKED[..31]);
        assert_eq!(
            StorePath::new(&almost, "a"),
            Err(StorePathError::HashChar { ch: 'e' })
        );
        // Non-ASCII in a 32-byte hash reports the character, not a byte.
        let wide = format!("é{}", &HASH[2..]);
        assert_eq!(
            StorePath::new(&wide, "a"),
            Err(StorePathError::HashChar { ch: 'é' })
        );
    }

    #[test]
    fn new_rejects_bad_names() {
        assert_eq!(StorePath::new(HASH, ""), Err(StorePathError::EmptyName));
        assert_eq!(
            StorePath::new(HASH, ".hidden"),
            Err(StorePathError::NameStartsWithDot)
        );
        assert_eq!(
            StorePath::new(HASH, "a b"),
            Err(StorePathError::NameChar { ch: ' ' })
        );
        assert_eq!(
            StorePath::new(HASH, "a/b"),
            Err(StorePathError::NameChar { ch: '/' })
        );
        assert_eq!(
            StorePath::new(HASH, "naïve"),
            Err(StorePathError::NameChar { ch: 'ï' })
        );
        let longest = "a".repeat(MAX_NAME_LEN);
        assert!(StorePath::new(HASH, &longest).is_ok());
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            StorePath::new(HASH, &too_long),
            Err(StorePathError::NameTooLong { len: 212 })
        );
        assert!(StorePath::new(HASH, "A-z_0+9.?=").is_ok());
    }

    #[test]
    fn parse_full_path() {
        let text = format!("/nix/store/{HASH}-hello-2.12.1");
        let path = StorePath::parse(&text, "/nix/store").expect("valid path");
        assert_eq!(
            path,
            StorePath::new(HASH, "hello-2.12.1").expect("valid path")
        );
        assert_eq!(path.to_path_string("/nix/store"), text);
        assert_eq!(StorePath::parse(&text, "/nix/store/"), Ok(path));
    }

    #[test]
    fn parse_bare_base_name() {
        let path =
            StorePath::parse(&format!("{HASH}-hello-2.12.1.drv"), "/nix/store").expect("bare name");
        assert_eq!(path.name(), "hello-2.12.1.drv");
        assert!(path.is_derivation());
        assert!(path.package().is_derivation);
    }

    #[test]
    fn parse_custom_store_dir() {
        let text = format!("/gnu/store/{HASH}-guile-3.0.9");
        let path = StorePath::parse(&text, "/gnu/store").expect("guix path");
        assert_eq!(path.name(), "guile-3.0.9");
        assert_eq!(path.to_path_string("/gnu/store"), text);
        assert_eq!(
            StorePath::parse(&text, "/nix/store"),
            Err(StorePathError::NotInStore)
        );
        let lookalike = format!("/nix/storex/{HASH}-a");
        assert_eq!(
            StorePath::parse(&lookalike, "/nix/store"),
            Err(StorePathError::NotInStore)
        );
    }

    #[test]
    fn parse_rejects_malformed() {
        let dir = "/nix/store";
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}-a/"), dir),
            Err(StorePathError::UnexpectedSubpath)
        );
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}-a/bin"), dir),
            Err(StorePathError::UnexpectedSubpath)
        );
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}-"), dir),
            Err(StorePathError::EmptyName)
        );
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}"), dir),
            Err(StorePathError::TooShort)
        );
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}_a"), dir),
            Err(StorePathError::MissingDash)
        );
        assert_eq!(
            StorePath::parse(&format!("/nix/store/{HASH}-.a"), dir),
            Err(StorePathError::NameStartsWithDot)
        );
        assert_eq!(
            StorePath::parse("/nix/store/", dir),
            Err(StorePathError::TooShort)
        );
        assert_eq!(
            StorePath::parse("/nix/store", dir),
            Err(StorePathError::NotInStore)
        );
        assert_eq!(StorePath::parse("", dir), Err(StorePathError::TooShort));
        let short_hash = format!("/nix/store/{}-hello", &HASH[..31]);
        assert_eq!(
            StorePath::parse(&short_hash, dir),
            Err(StorePathError::HashChar { ch: '-' })
        );
        let upper = format!("/nix/store/{}-hello", HASH.to_ascii_uppercase());
        assert_eq!(
            StorePath::parse(&upper, dir),
            Err(StorePathError::HashChar { ch: 'C' })
        );
        let too_long = format!("/nix/store/{HASH}-{}", "a".repeat(212));
        assert_eq!(
            StorePath::parse(&too_long, dir),
            Err(StorePathError::NameTooLong { len: 212 })
        );
        // Multi-byte characters where the hash should be must not panic on slicing.
        for text in [
            "/nix/store/ééééééééééééééééé-a",
            "éééééééééééééééééééé",
            "0123456789abcdfghijklmnpqrsvwxyé-a",
        ] {
            assert!(StorePath::parse(text, dir).is_err(), "{text}");
        }
    }

    #[test]
    fn parse_nuked() {
        let path = StorePath::parse(
            &format!("/nix/store/{NUKED}-openssl-3.0.12-etc"),
            "/nix/store",
        )
        .expect("nuked");
        assert!(is_nuked_hash(path.hash().as_bytes()));
        assert_eq!(path.package().package, "openssl");
    }

    #[test]
    fn parse_with_subpath_splits() {
        let dir = "/nix/store";
        let text = format!("/nix/store/{HASH}-openssl-3.0.12-etc/etc/ssl");
        let (path, sub) = StorePath::parse_with_subpath(&text, dir).expect("valid");
        assert_eq!(path.name(), "openssl-3.0.12-etc");
        assert_eq!(sub, "/etc/ssl");

        let text = format!("/nix/store/{HASH}-hello-2.12.1");
        assert_eq!(
            StorePath::parse_with_subpath(&text, dir).map(|(_, s)| s),
            Ok("")
        );
        let text = format!("/nix/store/{HASH}-hello-2.12.1/");
        assert_eq!(
            StorePath::parse_with_subpath(&text, dir).map(|(_, s)| s),
            Ok("/")
        );
        let text = format!("{HASH}-ghc-9.4.8/share/x86_64-linux-ghc-9.4.8/warp-3.3.25");
        assert_eq!(
            StorePath::parse_with_subpath(&text, dir).map(|(p, s)| (p.name().to_owned(), s)),
            Ok((
                "ghc-9.4.8".to_owned(),
                "/share/x86_64-linux-ghc-9.4.8/warp-3.3.25"
            ))
        );
        let text = format!("/gnu/store/{HASH}-glibc-2.39/lib/libc.so.6");
        assert_eq!(
            StorePath::parse_with_subpath(&text, "/gnu/store").map(|(_, s)| s),
            Ok("/lib/libc.so.6")
        );
    }

    #[test]
    fn errors_display_as_lowercase_sentences() {
        let errors = [
            StorePathError::NotInStore,
            StorePathError::TooShort,
            StorePathError::HashLength { len: 3 },
            StorePathError::HashChar { ch: 'e' },
            StorePathError::MissingDash,
            StorePathError::EmptyName,
            StorePathError::NameTooLong { len: 212 },
            StorePathError::NameStartsWithDot,
            StorePathError::NameChar { ch: ' ' },
            StorePathError::UnexpectedSubpath,
        ];
        for error in errors {
            let text = error.to_string();
            assert!(
                text.chars().next().is_some_and(|c| c.is_ascii_lowercase()),
                "{text}"
            );
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
