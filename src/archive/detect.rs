//! Recognising an archive by its first bytes, never by its name.
//!
//! - NAR: the string `nix-archive-1` as NAR writes it: u64 LE 13, the bytes, 3 bytes of
//!   zero padding.
//! - tar: `ustar` at offset 257 (POSIX ustar `ustar\0` and GNU `ustar `). An old v7 tar has
//!   no magic; it is accepted only when its first header is internally consistent: a
//!   non-empty NUL-terminated name, octal mode, size and checksum fields, a known type
//!   flag and a checksum that matches the block. Random or text data practically never
//!   passes all of that, so a plain file is not mistaken for a tar.
//! - gzip `1f 8b`, xz `fd 37 7a 58 5a 00`, zstd `28 b5 2f fd`, bzip2 `BZh` + a block-size
//!   digit: what is inside is then sniffed the same way.

/// The compression around a NAR or tar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
}

impl Compression {
    /// The name of the tool that writes it (`xz`, `zstd`, …), or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// What the first bytes of a stream say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Nar,
    Tar,
    Compressed(Compression),
    Other,
}

/// How many leading bytes [`sniff`] wants (a whole tar header block).
pub(crate) const SNIFF_BYTES: usize = 512;

/// The NAR magic: `str("nix-archive-1")`.
pub(crate) const NAR_MAGIC: &[u8; 24] = b"\x0d\0\0\0\0\0\0\0nix-archive-1\0\0\0";

pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(NAR_MAGIC) {
        return Sniffed::Nar;
    }
    if let Some(compression) = compression(head) {
        return Sniffed::Compressed(compression);
    }
    if head.len() >= SNIFF_BYTES && (&head[257..262] == b"ustar" || is_v7_tar_header(head)) {
        return Sniffed::Tar;
    }
    Sniffed::Other
}

fn compression(head: &[u8]) -> Option<Compression> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Compression::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        Some(Compression::Bzip2)
    } else {
        None
    }
}

/// An old (pre-POSIX) tar header that is consistent in every field v7 defines.
fn is_v7_tar_header(block: &[u8]) -> bool {
    let name = &block[..100];
    let name_end = name.iter().position(|&b| b == 0).unwrap_or(100);
    if name_end == 0 || !name[name_end..].iter().all(|&b| b == 0) {
        return false;
    }
    // mode, uid, gid (8 bytes), size, mtime (12), checksum (8): octal digits, then spaces or
    // NULs.
    let fields: [(usize, usize); 6] =
        [(100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (148, 8)];
    if !fields
        .iter()
        .all(|&(at, len)| is_octal_field(&block[at..at + len]))
    {
        return false;
    }
    if !matches!(block[156], 0 | b'0'..=b'7') {
        return false;
    }
    let Some(stored) = octal(&block[148..156]) else {
        return false;
    };
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

fn is_octal_field(field: &[u8]) -> bool {
    let spaces = field.iter().take_while(|&&b| b == b' ').count();
    let rest = &field[spaces..];
    let octal_len = rest
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    octal_len > 0 && rest[octal_len..].iter().all(|&b| b == 0 || b == b' ')
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c| c == ' ' || c == '\0');
    u64::from_str_radix(digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v7_header(name: &str) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.set_path(name).unwrap();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_uid(1000);
        header.set_gid(1000);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        header.as_bytes().to_vec()
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(NAR_MAGIC), Sniffed::Nar);
        assert_eq!(
            sniff(&[0x1f, 0x8b, 8]),
            Sniffed::Compressed(Compression::Gzip)
        );
        assert_eq!(sniff(b"\xfd7zXZ\0\0"), Sniffed::Compressed(Compression::Xz));
        assert_eq!(
            sniff(b"\x28\xb5\x2f\xfd\0"),
            Sniffed::Compressed(Compression::Zstd)
        );
        assert_eq!(sniff(b"BZh91AY"), Sniffed::Compressed(Compression::Bzip2));
        assert_eq!(sniff(b"BZhx"), Sniffed::Other);
        assert_eq!(sniff(b"\x7fELF"), Sniffed::Other);
        let mut ustar = vec![0; 512];
        ustar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&ustar), Sniffed::Tar);
    }

    #[test]
    fn old_tar_needs_a_consistent_header() {
        let header = v7_header("hello.txt");
        assert_eq!(sniff(&header), Sniffed::Tar);
        let mut wrong_sum = header.clone();
        wrong_sum[0] = b'j';
        assert_eq!(sniff(&wrong_sum), Sniffed::Other);
        assert_eq!(sniff(&[0; 512]), Sniffed::Other);
        assert_eq!(sniff(&[b'a'; 512]), Sniffed::Other);
    }
}
