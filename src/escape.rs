//! Makes untrusted bytes safe to print: file names and excerpts come from files that strangers
//! built, so they may hold terminal escapes, newlines or invalid UTF-8.
//!
//! Printable ASCII passes through, a backslash is doubled, every other byte becomes `\xNN`
//! (valid UTF-8 beyond ASCII is kept). The result is one line with no control characters, and
//! the original bytes can be recovered from it.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Escapes a byte string for display on one line.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_escaped(&mut out, bytes);
    out
}

/// Appends `bytes` to `out`, escaped as [`escape_bytes`] does.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    // Most names are plain printable ASCII: nothing to escape, nothing to decode.
    if bytes
        .iter()
        .all(|&b| (b' '..=b'~').contains(&b) && b != b'\\')
    {
        if let Ok(text) = std::str::from_utf8(bytes) {
            out.push_str(text);
            return;
        }
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                ' '..='~' => out.push(c),
                c if c.is_control() || !c.is_ascii() && is_invisible(c) => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
}

/// Escapes a path for display.
pub fn escape_path(path: &Path) -> String {
    escape_bytes(path.as_os_str().as_bytes())
}

/// The bytes an [`escape_bytes`] string stands for: `\\` is a backslash and `\xNN` a byte.
/// Reporters that must carry the original bytes (a SARIF URI) start from here.
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || {
            bytes
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
        };
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x')) if hex().is_some() => {
                out.extend(hex());
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Escapes only the control and invisible characters of text that should already be
/// escaped (a report read back, which may have been written by anyone): a report stowaway
/// wrote comes back unchanged, a crafted one cannot reach a terminal raw.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_invisible(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || is_invisible(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters that change how a line reads without showing: bidirectional overrides and
/// zero-width marks.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_read_back_keeps_its_escapes_and_loses_its_controls() {
        let written = escape_bytes(b"tab\there\\ \x1b[31m");
        assert_eq!(escape_controls(&written), written);
        assert_eq!(
            escape_controls("a\n::error::x\u{1b}[2J\u{202e}b"),
            "a\\x0a::error::x\\x1b[2J\\xe2\\x80\\xaeb"
        );
    }

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape_bytes(b"plain/name.txt"), "plain/name.txt");
        assert_eq!(escape_bytes(b"a\nb\x1b[31mc"), "a\\x0ab\\x1b[31mc");
        assert_eq!(escape_bytes(b"back\\slash"), "back\\\\slash");
        assert_eq!(escape_bytes(b"bad\xffutf8"), "bad\\xffutf8");
        assert_eq!(escape_bytes("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(escape_bytes("x\u{202e}y".as_bytes()), "x\\xe2\\x80\\xaey");
    }

    #[test]
    fn unescaping_gives_back_every_byte() {
        let every: Vec<u8> = (0..=255u8).chain(*b"\\x41\\\\").collect();
        assert_eq!(unescape(&escape_bytes(&every)), every);
        for sample in [
            &b"a\\x4"[..],
            b"\\",
            b"caf\xc3\xa9 \xe2\x80\xae",
            b"\\\\xff",
        ] {
            assert_eq!(unescape(&escape_bytes(sample)), sample);
        }
    }
}
