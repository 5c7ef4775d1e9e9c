//! Turns a symbol name into what it says: a Rust path, a C++ signature, or a GHC binding with
//! its package and module, so that a report can name `warp-3.3.25:Paths_warp.getBinDir`
//! rather than `warpzm3zi3zi25_Pathszuwarp_getBinDir_closure`.
//!
//! It owns the decoding only. Finding the symbol that encloses an offset is the ELF reader's
//! job, and deciding what a `Paths_<pkg>` module means is the rules' job. Symbol names come
//! from files that strangers built, so nothing here panics, every step is linear in the input
//! or bounded by the output cap, and every decoded string is cut at `MAX_CHARS` (4096) characters
//! (the last one then being `…`). The result may still hold control characters: escape it
//! before printing.
//!
//! The schemes are tried in this order, and the first that accepts the name wins:
//! 1. Rust, through `rustc-demangle`: v0 names (`_R…`) and legacy names (`_ZN…E`), the latter
//!    only when the last path element is rustc's hash (`17h` + 16 hex digits), because
//!    `rustc-demangle` also accepts a hashless `_ZN3foo3barE`, which is a C++ variable.
//! 2. Itanium C++ (`_Z…`), through `cpp_demangle`.
//! 3. GHC's z-encoded labels (see [`demangle`]); GHC has no marker, so this is a heuristic.
//! 4. Anything else is a plain C name.

use std::fmt::{self, Write as _};

/// The most characters any decoded string holds; a longer one ends with `…` at this length.
const MAX_CHARS: usize = 4096;

/// The longest name handed to the Rust and C++ demanglers. Their worst cases are not all
/// linear (`cpp_demangle` issue 282: a real 390-byte Qt symbol once took half a second), and no
/// real mangled name comes near this (the longest of 120,000 in Debian's libraries: 836
/// bytes); a longer one is shown as it is.
const MAX_FOREIGN_INPUT: usize = 16 * 1024;

/// The label kinds GHC appends to a binding's name (`ppIdFlavor` in `GHC.Cmm.CLabel`), then
/// `fast`, `str`, `srt` and `ret` of other labels. Two-word ones come first so that
/// `…_con_info` is tried before `…_info`. The flag says whether the kind is also taken
/// after a label of the `main` unit, which has one part less to check it by.
const GHC_SUFFIXES: &[(&str, bool)] = &[
    ("con_info", true),
    ("con_entry", true),
    ("closure_tbl", true),
    ("closure", true),
    ("info", true),
    ("entry", true),
    ("slow", true),
    ("bytes", true),
    ("ct", false),
    ("fast", false),
    ("str", false),
    ("srt", false),
    ("ret", false),
];

/// What a symbol name says, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Demangled {
    /// Not mangled (a C name) — the name as is.
    Plain(String),
    /// A Rust path, without rustc's hash (`std::rt::lang_start`).
    Rust(String),
    /// A C++ name with its parameters (`foo::bar()`).
    Cpp(String),
    /// A GHC label: `<unit>_<Module>_<name>_<kind>`, each part z-encoded.
    Ghc {
        /// The unit id as GHC spells it: `base`, `warp-3.3.25`,
        /// `warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu`; `main` for an executable's own modules,
        /// whose labels carry no unit.
        package: String,
        /// The module (`GHC.Base`, `Paths_warp`, `:Main`).
        module: String,
        /// The binding, decoded, without the label kind (`++`, `$trModule`, `getBinDir3`):
        /// `getBinDir_closure` and `getBinDir_info` both name `getBinDir`.
        name: String,
    },
}

impl Demangled {
    /// One line for reports: the decoded text, or `package:Module.name` for GHC, where the
    /// package is cut after its version (`warp-3.3.25`, not the unit id's hash).
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Demangled::Plain(s) | Demangled::Rust(s) | Demangled::Cpp(s) => s.clone(),
            Demangled::Ghc {
                package,
                module,
                name,
            } => {
                let mut out = Capped::new();
                // A full buffer only ends the line early; `finish` marks the cut.
                let _ = write!(out, "{}:{module}.{name}", package_and_version(package));
                out.finish()
            }
        }
    }
}

/// Decodes a symbol name; a name no scheme accepts comes back as [`Demangled::Plain`].
///
/// GHC labels look like `<unit>_<Module>_<name>_<kind>` (`base_GHCziBase_zpzp_info` is
/// `++` in `GHC.Base` of `base`), or `<Module>_<name>_<kind>` for the modules of the `main`
/// unit, an executable's own (`Main_main_closure`, `Pathszuwarp_getBinDir1_closure`).
/// z-encoding turns every `_` inside a part into `zu`, so a literal `_` always separates
/// parts. A name is taken for GHC when it splits that way with a known kind and:
/// - every part is a complete z-encoding (letters and digits, no unknown escape);
/// - the unit decodes to letters, digits, `-` and `.` and has a version (`warp-3.3.25`), or
///   is a wired-in unit (`base`, `ghc-prim`, …);
/// - the module decodes to capitalised dot-separated identifiers; without a unit it must
///   also hold a lower-case letter, which keeps out OpenSSL's `RAND_priv_bytes`;
/// - after a `con_info` or `con_entry` kind, the name is a constructor; otherwise
///   `foozm1zi0_Bar_con_info` is the binding `con` of `foo-1.0:Bar` with the kind `info`.
#[must_use]
pub fn demangle(symbol: &str) -> Demangled {
    if let Some(s) = rust(symbol) {
        return Demangled::Rust(s);
    }
    if let Some(s) = cpp(symbol) {
        return Demangled::Cpp(s);
    }
    if let Some(ghc) = ghc(symbol) {
        return ghc;
    }
    let mut out = Capped::new();
    out.push_str(symbol);
    Demangled::Plain(out.finish())
}

/// A string that keeps at most `MAX_CHARS` characters and remembers that it lost some.
struct Capped {
    text: String,
    chars: usize,
    cut: bool,
}

impl Capped {
    fn new() -> Self {
        Capped {
            text: String::new(),
            chars: 0,
            cut: false,
        }
    }

    /// Appends one character; false once the cap is reached.
    fn push(&mut self, c: char) -> bool {
        if self.chars >= MAX_CHARS {
            self.cut = true;
            return false;
        }
        self.text.push(c);
        self.chars += 1;
        true
    }

    /// Appends what fits; false if not all of it did.
    fn push_str(&mut self, s: &str) -> bool {
        s.chars().all(|c| self.push(c))
    }

    /// The text, its last character replaced by `…` if anything was cut.
    fn finish(mut self) -> String {
        if self.cut {
            self.text.pop();
            self.text.push('…');
        }
        self.text
    }
}

/// Demanglers write through this; the error at the cap stops them early.
impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.push_str(s) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

fn rust(symbol: &str) -> Option<String> {
    let v0 = symbol.starts_with("_R") || symbol.starts_with("__R");
    if symbol.len() > MAX_FOREIGN_INPUT || !(v0 || has_rust_hash(symbol)) {
        return None;
    }
    let demangled = rustc_demangle::try_demangle(symbol).ok()?;
    let mut out = Capped::new();
    // `{:#}` leaves out the hash (legacy) and the crate disambiguators (v0). An error can
    // only come from the cap, and then the text so far is what we want.
    let _ = write!(out, "{demangled:#}");
    Some(out.finish())
}

/// Whether a legacy name's last path element is rustc's `h` + 16 hex digits hash.
fn has_rust_hash(symbol: &str) -> bool {
    let Some(path) = symbol
        .strip_prefix("_ZN")
        .or_else(|| symbol.strip_prefix("__ZN"))
    else {
        return false;
    };
    let bytes = path.as_bytes();
    let mut at = 0usize;
    let mut last: &[u8] = &[];
    loop {
        match bytes.get(at) {
            Some(b'E') => break,
            Some(b) if b.is_ascii_digit() => {}
            _ => return false,
        }
        let mut len = 0usize;
        while let Some(&d) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            let Some(l) = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(d - b'0')))
            else {
                return false;
            };
            len = l;
            at += 1;
        }
        let Some(element) = at.checked_add(len).and_then(|end| bytes.get(at..end)) else {
            return false;
        };
        last = element;
        at += len;
    }
    matches!(last, [b'h', hex @ ..] if hex.len() == 16 && hex.iter().all(u8::is_ascii_hexdigit))
}

fn cpp(symbol: &str) -> Option<String> {
    if symbol.len() > MAX_FOREIGN_INPUT || !(symbol.starts_with("_Z") || symbol.starts_with("__Z"))
    {
        return None;
    }
    let parsed = cpp_demangle::Symbol::new(symbol.as_bytes()).ok()?;
    let mut out = Capped::new();
    let written = parsed.structured_demangle(&mut out, &cpp_demangle::DemangleOptions::default());
    // An error at the cap still leaves a good prefix; any other error means no demangling.
    if (written.is_err() && !out.cut) || out.text.is_empty() {
        return None;
    }
    Some(out.finish())
}

fn ghc(symbol: &str) -> Option<Demangled> {
    // Real labels have at most five parts (unit, module, name and a two-word kind); stop
    // splitting a long name as soon as it has more.
    let mut parts: Vec<&str> = Vec::with_capacity(5);
    for part in symbol.split('_') {
        if parts.len() == 5 {
            return None;
        }
        parts.push(part);
    }
    for &(suffix, main_unit) in GHC_SUFFIXES {
        let kind_parts = suffix.split('_').count();
        let Some(split) = parts.len().checked_sub(kind_parts) else {
            continue;
        };
        let (head, kind) = parts.split_at(split);
        if !suffix.split('_').eq(kind.iter().copied()) {
            continue;
        }
        let (unit, module, name) = match *head {
            [unit, module, name] => (Some(unit), module, name),
            [module, name] if main_unit => (None, module, name),
            _ => continue,
        };
        let constructor = suffix.starts_with("con_");
        if let Some(found) = ghc_parts(unit, module, name, constructor) {
            return Some(found);
        }
    }
    None
}

fn ghc_parts(unit: Option<&str>, module: &str, name: &str, constructor: bool) -> Option<Demangled> {
    let module = strict_decode(module).filter(|m| is_module_name(m))?;
    let package = match unit {
        Some(unit) => strict_decode(unit).filter(|u| is_unit_id(u))?,
        // Without a unit, C names such as OpenSSL's `RAND_priv_bytes` fit too; their
        // prefixes are in capitals, which a module of a program rarely is.
        None if module.contains(char::is_lowercase) => "main".to_string(),
        None => return None,
    };
    let name = strict_decode(name)?;
    if constructor && !name.starts_with(|c: char| c.is_uppercase() || matches!(c, ':' | '(' | '['))
    {
        return None;
    }
    Some(Demangled::Ghc {
        package,
        module,
        name,
    })
}

/// Decodes a part of a GHC label; `None` unless it is something GHC's encoder could have
/// written: letters and digits only, every escape known and complete.
fn strict_decode(encoded: &str) -> Option<String> {
    if encoded.is_empty() || !encoded.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut out = Capped::new();
    decode_into(encoded, &mut out)?;
    Some(out.finish())
}

/// `warp-3.3.25`, `warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu`: letters, digits, `-` and `.`, with a
/// version, as Cabal names every unit; or one of the wired-in units, which GHC names without
/// one (`wiredInUnitIds` in `GHC.Unit.Types`, over the versions). Asking for either keeps
/// out the RTS's `stg_AP_NOUPD_info` and C names such as `foo_Bar_baz_info`.
fn is_unit_id(unit: &str) -> bool {
    const WIRED_IN: &[&str] = &[
        "base",
        "ghc",
        "ghc-bignum",
        "ghc-experimental",
        "ghc-internal",
        "ghc-prim",
        "integer-gmp",
        "integer-simple",
        "interactive",
        "rts",
        "template-haskell",
    ];
    unit.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !unit.ends_with(['-', '.'])
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        && (WIRED_IN.contains(&unit) || unit.split('-').skip(1).any(is_version))
}

/// `3.3.25`: digits and dots, a digit at each end.
fn is_version(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.ends_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `GHC.Base`, `Paths_warp`, and `:Main` (the module GHC makes around `main`).
fn is_module_name(module: &str) -> bool {
    let module = module.strip_prefix(':').unwrap_or(module);
    module.split('.').all(|component| {
        let mut chars = component.chars();
        chars.next().is_some_and(char::is_uppercase)
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '\''))
    })
}

/// The unit id up to its version: `warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu` → `warp-3.3.25`. One
/// without a version (`base`, `ghc-prim`) stays whole.
fn package_and_version(unit: &str) -> &str {
    let mut end = None;
    let mut at = 0;
    for component in unit.split('-') {
        at += component.len();
        if is_version(component) {
            end = Some(at);
        }
        at += 1;
    }
    end.and_then(|end| unit.get(..end)).unwrap_or(unit)
}

/// The z-decoder: `Pathszuwarp` → `Paths_warp`, `zdtrModule` → `$trModule`,
/// `warpzm3zi3zi25` → `warp-3.3.25`, `ZC` → `:`, `Z3T` → `(,,)`, `z2cU` → `,`. It gives up
/// (`None`) on anything GHC's encoder (`zEncodeString`) never writes, since GHC symbols have
/// no marker and a name that does not decode is not GHC's. It stops once `out` is full, so
/// the work is bounded by the cap, not the input.
fn decode_into(encoded: &str, out: &mut Capped) -> Option<()> {
    let mut rest = encoded;
    while let Some(c) = rest.chars().next() {
        if out.cut {
            break;
        }
        let after = &rest[c.len_utf8()..];
        if !matches!(c, 'z' | 'Z') {
            out.push(c);
            rest = after;
            continue;
        }
        // A lone `z` or `Z` at the end: GHC's encoder never ends so.
        let next = after.chars().next()?;
        if next.is_ascii_digit() {
            let escape = if c == 'Z' {
                tuple(after, out)
            } else {
                code_point(after, out)
            };
            rest = &after[escape?..];
            continue;
        }
        let decoded = if c == 'Z' {
            upper_escape(next)
        } else {
            lower_escape(next)
        };
        out.push(decoded?);
        rest = &after[next.len_utf8()..];
    }
    Some(())
}

fn upper_escape(c: char) -> Option<char> {
    Some(match c {
        'L' => '(',
        'R' => ')',
        'M' => '[',
        'N' => ']',
        'C' => ':',
        'Z' => 'Z',
        _ => return None,
    })
}

fn lower_escape(c: char) -> Option<char> {
    Some(match c {
        'z' => 'z',
        'a' => '&',
        'b' => '|',
        'c' => '^',
        'd' => '$',
        'e' => '=',
        'g' => '>',
        'h' => '#',
        'i' => '.',
        'l' => '<',
        'm' => '-',
        'n' => '!',
        'p' => '+',
        'q' => '\'',
        'r' => '\\',
        's' => '/',
        't' => '*',
        'u' => '_',
        'v' => '%',
        _ => return None,
    })
}

/// `<digits>T` (a boxed tuple) or `<digits>H` (an unboxed one) after a `Z`: writes it and
/// says how many bytes it used, or `None` if it is not one.
fn tuple(s: &str, out: &mut Capped) -> Option<usize> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    // Seven digits is ten million elements, far past GHC's 64; more cannot be real.
    if digits > 7 {
        return None;
    }
    let arity: usize = s.get(..digits)?.parse().ok()?;
    let commas = arity.saturating_sub(1);
    match s.as_bytes().get(digits)? {
        b'T' => {
            let _ = out.push('(') && push_repeated(out, ',', commas) && out.push(')');
        }
        b'H' if arity == 1 => {
            out.push_str("(# #)");
        }
        b'H' => {
            let _ = out.push_str("(#") && push_repeated(out, ',', commas) && out.push_str("#)");
        }
        _ => return None,
    }
    Some(digits + 1)
}

/// `<hex>U` after a `z`: the character with that code point, written to `out`, and how many
/// bytes it used, or `None` if it is not one.
fn code_point(s: &str, out: &mut Capped) -> Option<usize> {
    let digits = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    // GHC writes at most one leading zero before six hex digits (U+10FFFF).
    if digits > 8 || s.as_bytes().get(digits) != Some(&b'U') {
        return None;
    }
    let value = u32::from_str_radix(s.get(..digits)?, 16).ok()?;
    out.push(char::from_u32(value)?);
    Some(digits + 1)
}

/// Pushes `c` up to `n` times, stopping at the cap; false if it was reached.
fn push_repeated(out: &mut Capped, c: char, n: usize) -> bool {
    (0..n).all(|_| out.push(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ghc(package: &str, module: &str, name: &str) -> Demangled {
        Demangled::Ghc {
            package: package.to_string(),
            module: module.to_string(),
            name: name.to_string(),
        }
    }

    /// Real names, taken with `nm` from: the Rust 1.95 sysroot's `libstd-*.so` (v0), a
    /// program `m.rs` built with rustc 1.95 (legacy), Debian's `libstdc++.so.6.0.30`, GHC
    /// 9.0.2's libraries, and a `Paths_warp` module built with GHC 9.0.2, both as a library
    /// (`-this-unit-id warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu`) and linked into an executable.
    #[test]
    fn real_symbols() {
        let rust = |s: &str| Demangled::Rust(s.to_string());
        let cpp = |s: &str| Demangled::Cpp(s.to_string());
        let plain = |s: &str| Demangled::Plain(s.to_string());
        let table = [
            // Rust v0.
            (
                "_RNvXs2a_NtCsjrHSEGnQ3l9_3std4pathNtB6_16StripPrefixErrorNtNtCsgEmfK2I1SDS_4core3fmt5Debug3fmt",
                rust("<std::path::StripPrefixError as core::fmt::Debug>::fmt"),
            ),
            (
                "_RNvNvNtNtCsjrHSEGnQ3l9_3std3sys4exit18unique_thread_exit17EXITING_THREAD_ID",
                rust("std::sys::exit::unique_thread_exit::EXITING_THREAD_ID"),
            ),
            (
                "_RINvMNtCsgEmfK2I1SDS_4core3stre18trim_start_matchesReECsgY6Mt91CT9J_14rustc_demangle",
                rust("<str>::trim_start_matches::<&str>"),
            ),
            // Rust legacy.
            ("_ZN1m4main17h4009bc0cd8b193aaE", rust("m::main")),
            (
                "_ZN43_$LT$m..P$u20$as$u20$core..fmt..Display$GT$3fmt17h3ea2588c8839c655E",
                rust("<m::P as core::fmt::Display>::fmt"),
            ),
            (
                "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h168e94e611939a97E",
                rust("std::rt::lang_start::{{closure}}"),
            ),
            // The same with the suffix ThinLTO gives a symbol it renames.
            (
                "_ZN1m4main17h4009bc0cd8b193aaE.llvm.4711502245593522",
                rust("m::main"),
            ),
            // C++.
            ("_ZN3foo3barEv", cpp("foo::bar()")),
            ("_ZNKSt10bad_typeid4whatEv", cpp("std::bad_typeid::what() const")),
            (
                "_ZN9__gnu_cxx27__verbose_terminate_handlerEv",
                cpp("__gnu_cxx::__verbose_terminate_handler()"),
            ),
            (
                "_ZNSt14numeric_limitsIaE12min_exponentE",
                cpp("std::numeric_limits<signed char>::min_exponent"),
            ),
            // A C++ variable: `rustc-demangle` would take it, but it has no Rust hash.
            ("_ZN3foo3barE", cpp("foo::bar")),
            // GHC, library units.
            ("base_GHCziBase_zpzp_info", ghc("base", "GHC.Base", "++")),
            ("ghczmprim_GHCziTypes_ZC_con_info", ghc("ghc-prim", "GHC.Types", ":")),
            ("ghczmprim_GHCziTuple_Z0T_closure_tbl", ghc("ghc-prim", "GHC.Tuple", "()")),
            ("ghczmprim_GHCziTuple_Z3T_con_info", ghc("ghc-prim", "GHC.Tuple", "(,,)")),
            ("ghczmprim_GHCziTypes_ZMZN_closure", ghc("ghc-prim", "GHC.Types", "[]")),
            ("ghczmprim_GHCziTypes_Izh_con_info", ghc("ghc-prim", "GHC.Types", "I#")),
            (
                "ghczmprim_GHCziCString_unpackCStringzh_info",
                ghc("ghc-prim", "GHC.CString", "unpackCString#"),
            ),
            (
                "Cabalzm3zi4zi1zi0_PathszuCabal_getBinDir4_bytes",
                ghc("Cabal-3.4.1.0", "Paths_Cabal", "getBinDir4"),
            ),
            (
                "Cabalzm3zi4zi1zi0_DistributionziCompatziLens_z3fUz7eU_closure",
                ghc("Cabal-3.4.1.0", "Distribution.Compat.Lens", "?~"),
            ),
            (
                "base_GHCziShow_zdfShowZLz2cUz2cUZR_slow",
                ghc("base", "GHC.Show", "$fShow(,,)"),
            ),
            (
                "warpzm3zi3zi25zm5VeT8CMbLlSJbSPMhJfCvu_Pathszuwarp_zdtrModule_closure",
                ghc("warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu", "Paths_warp", "$trModule"),
            ),
            (
                "warpzm3zi3zi25zm5VeT8CMbLlSJbSPMhJfCvu_Pathszuwarp_getBinDir3_bytes",
                ghc("warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu", "Paths_warp", "getBinDir3"),
            ),
            (
                "warpzm3zi3zi25zm5VeT8CMbLlSJbSPMhJfCvu_Pathszuwarp_weirdzuname_info",
                ghc("warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu", "Paths_warp", "weird_name"),
            ),
            (
                "warpzm3zi3zi25zm5VeT8CMbLlSJbSPMhJfCvu_Pathszuwarp_z0dcUnz0efU_con_info",
                ghc("warp-3.3.25-5VeT8CMbLlSJbSPMhJfCvu", "Paths_warp", "Ünï"),
            ),
            // A package name with a dash (so `Paths_warp_lite`) and a hashed unit id, as
            // `cabal` writes them.
            (
                "warpzmlitezm3zi3zi25zmABCdef_Pathszuwarpzulite_getDataDir1_closure",
                ghc("warp-lite-3.3.25-ABCdef", "Paths_warp_lite", "getDataDir1"),
            ),
            // GHC, the executable's own modules (unit `main`, not written).
            ("Main_main_closure", ghc("main", "Main", "main")),
            ("ZCMain_main_info", ghc("main", ":Main", "main")),
            ("Pathszuwarp_getBinDir3_bytes", ghc("main", "Paths_warp", "getBinDir3")),
            ("Pathszuwarp_Pair_con_info", ghc("main", "Paths_warp", "Pair")),
            // Plain C, including names shaped a little like GHC's.
            ("main", plain("main")),
            ("io_uring_queue_init", plain("io_uring_queue_init")),
            ("_rjem_malloc", plain("_rjem_malloc")),
            ("stg_INTLIKE_closure", plain("stg_INTLIKE_closure")),
            ("stg_AP_NOUPD_info", plain("stg_AP_NOUPD_info")),
            ("RAND_priv_bytes", plain("RAND_priv_bytes")),
            ("BIO_sock_info", plain("BIO_sock_info")),
            ("Perl_scan_str", plain("Perl_scan_str")),
            ("SSL_enable_ct", plain("SSL_enable_ct")),
            ("foo_Bar_baz_info", plain("foo_Bar_baz_info")),
            ("stg_sel_0_upd_info", plain("stg_sel_0_upd_info")),
            ("add_hash_entry", plain("add_hash_entry")),
            ("c1B_str", plain("c1B_str")),
            ("__do_global_dtors_aux_fini_array_entry", plain("__do_global_dtors_aux_fini_array_entry")),
            ("_hs_bytestring_long_long_uint_dec", plain("_hs_bytestring_long_long_uint_dec")),
            ("", plain("")),
        ];
        for (symbol, want) in table {
            assert_eq!(demangle(symbol), want, "{symbol}");
        }
    }

    #[test]
    fn display() {
        let table = [
            (
                "warpzm3zi3zi25zm5VeT8CMbLlSJbSPMhJfCvu_Pathszuwarp_zdtrModule_closure",
                "warp-3.3.25:Paths_warp.$trModule",
            ),
            ("base_GHCziBase_zpzp_info", "base:GHC.Base.++"),
            ("ghczmprim_GHCziTypes_ZC_con_info", "ghc-prim:GHC.Types.:"),
            (
                "warpzmlitezm3zi3zi25zmABCdef_Pathszuwarpzulite_getDataDir1_closure",
                "warp-lite-3.3.25:Paths_warp_lite.getDataDir1",
            ),
            ("Main_main_closure", "main:Main.main"),
            ("ZCMain_main_info", "main::Main.main"),
            ("_ZN1m4main17h4009bc0cd8b193aaE", "m::main"),
            ("_ZN3foo3barEv", "foo::bar()"),
            ("memcpy", "memcpy"),
        ];
        for (symbol, want) in table {
            assert_eq!(demangle(symbol).display(), want, "{symbol}");
        }
        assert_eq!(package_and_version("text-1.2.5.0"), "text-1.2.5.0");
        assert_eq!(package_and_version("ghc-prim"), "ghc-prim");
        assert_eq!(
            package_and_version("warp-lite-3.3.25-abc-exe"),
            "warp-lite-3.3.25"
        );
    }

    #[test]
    fn z_decode_cases() {
        let table = [
            ("Pathszuwarp", Some("Paths_warp")),
            ("zdtrModule", Some("$trModule")),
            ("warpzm3zi3zi25", Some("warp-3.3.25")),
            ("ZC", Some(":")),
            ("zh", Some("#")),
            ("ZLZRZMZNZCZZ", Some("()[]:Z")),
            (
                "zzzazbzczdzezgzhzizlzmznzpzqzrzsztzuzv",
                Some("z&|^$=>#.<-!+'\\/*_%"),
            ),
            ("z20U", Some(" ")),
            ("z2cU", Some(",")),
            ("z0dcU", Some("Ü")),
            ("z1f600U", Some("😀")),
            ("z39UpH", Some("9pH")),
            ("Z0T", Some("()")),
            ("Z2T", Some("(,)")),
            ("Z5T", Some("(,,,,)")),
            ("Z1H", Some("(# #)")),
            ("Z3H", Some("(#,,#)")),
            ("ZLz2cUZR", Some("(,)")),
            ("fooZ3Tbar", Some("foo(,,)bar")),
            ("zm", Some("-")),
            ("zd800U", Some("$800U")),
            ("plain", Some("plain")),
            ("", None),
            // What GHC's encoder never writes is not a GHC name.
            ("Zq", None),
            ("zk", None),
            ("z", None),
            ("Z", None),
            ("Z9", None),
            ("Z12X", None),
            ("z41", None),
            ("z41x", None),
            ("z0d800U", None),
            ("z110000U", None),
            ("z123456789U", None),
            ("Z12345678T", None),
        ];
        for (encoded, want) in table {
            assert_eq!(strict_decode(encoded).as_deref(), want, "{encoded}");
        }
    }

    /// Encodes as GHC's `zEncodeString` does, to check that decoding undoes it.
    fn z_encode(s: &str) -> String {
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            match c {
                'z' => out.push_str("zz"),
                'Z' => out.push_str("ZZ"),
                '0'..='9' if i == 0 => out.push_str(&format!("z{:x}U", u32::from(c))),
                c if c.is_ascii_alphanumeric() => out.push(c),
                '(' => out.push_str("ZL"),
                ')' => out.push_str("ZR"),
                '[' => out.push_str("ZM"),
                ']' => out.push_str("ZN"),
                ':' => out.push_str("ZC"),
                '&' => out.push_str("za"),
                '|' => out.push_str("zb"),
                '^' => out.push_str("zc"),
                '$' => out.push_str("zd"),
                '=' => out.push_str("ze"),
                '>' => out.push_str("zg"),
                '#' => out.push_str("zh"),
                '.' => out.push_str("zi"),
                '<' => out.push_str("zl"),
                '-' => out.push_str("zm"),
                '!' => out.push_str("zn"),
                '+' => out.push_str("zp"),
                '\'' => out.push_str("zq"),
                '\\' => out.push_str("zr"),
                '/' => out.push_str("zs"),
                '*' => out.push_str("zt"),
                '_' => out.push_str("zu"),
                '%' => out.push_str("zv"),
                c => {
                    let hex = format!("{:x}", u32::from(c));
                    let zero = if hex.starts_with(|h: char| h.is_ascii_digit()) {
                        ""
                    } else {
                        "0"
                    };
                    out.push_str(&format!("z{zero}{hex}U"));
                }
            }
        }
        out
    }

    #[test]
    fn z_decode_round_trips() {
        let table = [
            "Paths_warp",
            "warp-3.3.25",
            "$trModule",
            "++",
            ">>=",
            "9pH-0.1",
            "Data.Map.Internal",
            "a_b_c",
            "ZzZz",
            "x' \\ / * % ! ? ~ @",
            "Ünïcödé λ → 😀",
            "[]:()",
        ];
        for text in table {
            let encoded = z_encode(text);
            assert!(
                encoded.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{encoded}"
            );
            assert_eq!(strict_decode(&encoded).as_deref(), Some(text), "{encoded}");
        }
    }

    #[test]
    fn malformed_names_do_not_panic() {
        let table = [
            "z",
            "Z",
            "zm",
            "Z9",
            "Z9T",
            "Z99999999999999999999T",
            "z99999999999999999999U",
            "zFFFFFFFFU",
            "z0d800U",
            "_",
            "__",
            "___",
            "____",
            "_____",
            "______",
            "_Z",
            "_ZN",
            "_ZNE",
            "_ZN3",
            "_ZN3fo",
            "_ZN99999999999999999999999foo",
            "_ZN3foo17hE",
            "_ZN3foo17h0123456789abcdefE",
            "_R",
            "_RN",
            "_RNvC",
            "__R",
            "__ZN",
            "_Z1",
            "_ZZZZ",
            "_ZSt",
            "a_b_c_info",
            "A_B_C_info",
            "a_B_c_info",
            "Foo_Bar_con_info",
            "zz_Z_z_closure",
            "Z9_Main_x_closure",
            "base_GHCziBase__info",
            "_GHCziBase_x_info",
            "base_GHCziBase_x_",
            "ZCMain_main_",
            "ä_Ö_ü_info",
            "base_GHCziBase_z_info",
            "base_GHCziBase_zk_info",
            "base_GHCziBase_z41_info",
            "base_GHCziBase_Z9_info",
        ];
        for symbol in table {
            let demangled = demangle(symbol);
            let _ = demangled.display();
            let _ = strict_decode(symbol);
        }
        // Parts GHC's encoder could not have written are not taken for GHC.
        for symbol in [
            "base_GHCziBase_z_info",
            "base_GHCziBase_zk_info",
            "base_GHCziBase_z41_info",
            "base_GHCziBase_Z9_info",
            "base_GHCziBase__info",
            "a_b_c_info",
            "ä_Ö_ü_info",
        ] {
            assert!(matches!(demangle(symbol), Demangled::Plain(_)), "{symbol}");
        }
        // `Foo_Bar_con_info`: `Bar` can be a constructor of `Foo` in the main unit.
        assert_eq!(demangle("Foo_Bar_con_info"), ghc("main", "Foo", "Bar"));
        // A binding `con` is read as such when the kind cannot be `con_info`.
        assert_eq!(
            demangle("foozm1zi0_Bar_con_info"),
            ghc("foo-1.0", "Bar", "con")
        );
    }

    #[test]
    fn output_is_capped() {
        let chars = |s: &str| s.chars().count();
        let long = "a".repeat(MAX_CHARS + 10);
        let Demangled::Plain(plain) = demangle(&long) else {
            panic!("a long C name is plain");
        };
        assert_eq!(chars(&plain), MAX_CHARS);
        assert!(plain.ends_with('…'));
        let exact = "a".repeat(MAX_CHARS);
        assert_eq!(demangle(&exact), Demangled::Plain(exact.clone()));

        let decoded = strict_decode(&"zi".repeat(MAX_CHARS * 2)).expect("decodes");
        assert_eq!(chars(&decoded), MAX_CHARS);
        assert!(decoded.ends_with('…'));
        // A tuple escape asking for a million commas stops at the cap.
        let tuple = strict_decode("Z1000000T").expect("decodes");
        assert_eq!(chars(&tuple), MAX_CHARS);
        assert!(tuple.starts_with("(,,,"));

        // A long GHC binding, and its display, stay within the cap.
        let symbol = format!("base_GHCziBase_{}_closure", "zp".repeat(MAX_CHARS * 2));
        let demangled = demangle(&symbol);
        let Demangled::Ghc { name, .. } = &demangled else {
            panic!("a long GHC name is still GHC: {demangled:?}");
        };
        assert_eq!(chars(name), MAX_CHARS);
        assert_eq!(chars(&demangled.display()), MAX_CHARS);

        // A long Rust path is cut too.
        let mut legacy = String::from("_ZN");
        for _ in 0..1000 {
            legacy.push_str("5abcde");
        }
        legacy.push_str("17h0123456789abcdefE");
        let Demangled::Rust(path) = demangle(&legacy) else {
            panic!("a long legacy name is Rust");
        };
        assert_eq!(chars(&path), MAX_CHARS);
        assert!(path.starts_with("abcde::abcde::"));
    }

    /// A hostile megabyte of each shape is handled quickly and within the cap.
    #[test]
    fn huge_names_are_bounded() {
        const MB: usize = 1 << 20;
        let inputs = [
            "a".repeat(MB),
            "_".repeat(MB),
            "z".repeat(MB),
            "Z9".repeat(MB / 2),
            "z1".repeat(MB / 2),
            format!("Z{}T", "9".repeat(MB)),
            format!("z{}U", "1".repeat(MB)),
            format!("_ZN{}E", "1a".repeat(MB / 2)),
            format!("_ZN{}17h0123456789abcdefE", "1a".repeat(MB / 2)),
            format!("_R{}", "B_".repeat(MB / 2)),
            format!("_Z{}", "S_".repeat(MB / 2)),
            format!("_Z1fI{}E", "S_".repeat(MB / 2)),
            format!("base_GHCziBase_{}_info", "zp".repeat(MB / 2)),
            format!("{}_GHCziBase_x_info", "a".repeat(MB)),
        ];
        // Just short enough to reach the Rust and C++ demanglers, each built to make them
        // expand or recurse.
        let near = MAX_FOREIGN_INPUT - 32;
        let repeat = |head: &str, unit: &str, tail: &str| {
            let n = (near - head.len() - tail.len()) / unit.len();
            format!("{head}{}{tail}", unit.repeat(n))
        };
        let foreign = [
            repeat("_Z1fI", "S_", "E"),
            repeat("_Z1fIJ", "S_", "EEvv"),
            repeat("_Z1fIiEvT_", "T_", ""),
            repeat("_Z1f", "PKc", ""),
            repeat("_ZN1aI1bI", "IS0_", "E"),
            repeat("_ZN", "1a", "17h0123456789abcdefE"),
            repeat("_RINvC1a1fTB4_", "B4_", "EE"),
            repeat("_RNvNvC1a1b", "B_", ""),
        ];
        let inputs = inputs.iter().chain(&foreign);
        let start = std::time::Instant::now();
        for input in inputs {
            let demangled = demangle(input);
            assert!(demangled.display().chars().count() <= MAX_CHARS);
            assert!(strict_decode(input).unwrap_or_default().chars().count() <= MAX_CHARS);
        }
        // Linear work on these is a few milliseconds each even unoptimised; quadratic would
        // be hours.
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }
}
