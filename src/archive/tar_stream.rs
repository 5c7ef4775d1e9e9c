//! A streaming tar reader with bounds: headers, GNU long names, PAX records, member data.
//!
//! The header fields are decoded by the `tar` crate's [`tar::Header`] (octal and base-256
//! numbers, the ustar prefix); the stream around them is read here rather than with
//! `tar::Archive`, because that reads a GNU long-name or PAX extension member wholly into
//! memory whatever size it declares (a 10 GiB long name backed by a decompression bomb
//! would be allocated), and expands GNU sparse members into zeros of a declared real size.
//! Here extension members are bounded ([`MAX_PAX_BYTES`], [`Limits::max_path_bytes`]),
//! sparse members are refused, member names are normalised
//! ([`member_path`](super::member_path)), and the archive must end with its
//! end-of-archive block followed by nothing but zeros: a tar cut short at a member boundary
//! is truncated, not complete. Member data is never held: it is read through
//! [`TarStream::data`] or skipped.
//!
//! Type flags follow POSIX: unknown ones are regular files; header-only types (links,
//! devices, directories, FIFOs) that declare data are refused rather than guessed at, as
//! tar implementations disagree on whether to skip it.

use std::io::{self, Read};

use super::error::{shown, Error};
use super::limits::Limits;
use super::member_path::normalise;

/// The most bytes of PAX records one member may carry (POSIX sets no bound; real ones
/// are a few hundred bytes).
pub(crate) const MAX_PAX_BYTES: u64 = 1 << 20;

const BLOCK: u64 = 512;

/// One member's header, extensions applied.
#[derive(Debug)]
pub(crate) struct TarEntry {
    /// Normalised (empty for the root directory).
    pub(crate) path: Vec<u8>,
    pub(crate) kind: TarKind,
    /// Bytes of data that follow the header (0 for header-only types).
    pub(crate) size: u64,
    /// Where its data starts.
    pub(crate) data_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TarKind {
    File {
        executable: bool,
    },
    Directory,
    Symlink(Vec<u8>),
    /// The normalised path of the member it links to.
    HardLink(Vec<u8>),
    Special,
}

pub(crate) struct TarStream<'l, R> {
    inner: R,
    pos: u64,
    /// Where the current member's data ends, and where the next header starts.
    data_end: u64,
    next_header: u64,
    limits: &'l Limits,
}

#[derive(Default)]
struct Extensions {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
    pax_link: Option<Vec<u8>>,
    pax_size: Option<u64>,
    any: bool,
}

impl<'l, R: Read> TarStream<'l, R> {
    pub(crate) fn new(inner: R, limits: &'l Limits) -> TarStream<'l, R> {
        TarStream {
            inner,
            pos: 0,
            data_end: 0,
            next_header: 0,
            limits,
        }
    }

    /// The position of the next byte in the (uncompressed) tar.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// The current member's data not read yet.
    pub(crate) fn data(&mut self) -> impl Read + '_ {
        let left = self.data_end.saturating_sub(self.pos);
        Counting {
            inner: &mut self.inner,
            pos: &mut self.pos,
        }
        .take(left)
    }

    /// Skips what is left of the current member and reads the next one's header; `None`
    /// at the end of the archive (after checking that only zeros follow).
    pub(crate) fn next_entry(&mut self) -> Result<Option<TarEntry>, Error> {
        self.skip_to(self.next_header)?;
        let mut extensions = Extensions::default();
        let mut header_at = self.pos;
        loop {
            let at = self.pos;
            let mut block = [0u8; BLOCK as usize];
            let filled = self.fill(&mut block)?;
            if filled == 0 {
                return Err(Error::malformed(format!(
                    "the tar ends at byte {at} without its end-of-archive block (truncated?)"
                )));
            }
            if filled < block.len() {
                return Err(Error::malformed(format!(
                    "the tar is truncated at byte {} inside a header",
                    self.pos
                )));
            }
            if block.iter().all(|&b| b == 0) {
                if extensions.any {
                    return Err(Error::malformed(format!(
                        "extension header at byte {header_at} is followed by the end of the archive, not a member"
                    )));
                }
                self.check_only_zeros_follow()?;
                return Ok(None);
            }
            let mut header = tar::Header::new_old();
            header.as_mut_bytes().copy_from_slice(&block);
            check_checksum(&header).map_err(|e| e.at(format!("byte {at}")))?;
            // An empty size field (some writers leave it so for links) is 0.
            let size = if block[124..136].iter().all(|&b| b == 0 || b == b' ') {
                0
            } else {
                header.entry_size().map_err(|_| {
                    Error::malformed(format!("bad size field in the header at byte {at}"))
                })?
            };
            let type_flag = block[156];
            match type_flag {
                b'L' | b'K' => {
                    let name =
                        self.extension_data(size, self.limits.max_path_bytes as u64 + BLOCK, at)?;
                    let name = trim_nuls(name);
                    let slot = if type_flag == b'L' {
                        &mut extensions.long_name
                    } else {
                        &mut extensions.long_link
                    };
                    if slot.replace(name).is_some() {
                        return Err(Error::malformed(format!(
                            "two GNU long names for one member at byte {at}"
                        )));
                    }
                    extensions.any = true;
                    continue;
                }
                b'x' => {
                    if extensions.pax_path.is_some()
                        || extensions.pax_size.is_some()
                        || extensions.pax_link.is_some()
                    {
                        return Err(Error::malformed(format!(
                            "two PAX headers for one member at byte {at}"
                        )));
                    }
                    let records = self.extension_data(size, MAX_PAX_BYTES, at)?;
                    parse_pax(&records, &mut extensions).map_err(|e| e.at(format!("byte {at}")))?;
                    extensions.any = true;
                    continue;
                }
                // A global PAX header (defaults for what follows, used by `git archive` for a
                // comment) and a volume label carry nothing a member needs.
                b'g' | b'V' => {
                    self.extension_data(size, MAX_PAX_BYTES, at)?;
                    if !extensions.any {
                        header_at = self.pos;
                    }
                    continue;
                }
                b'S' => {
                    return Err(Error::unsupported(format!(
                        "GNU sparse member at byte {at} (stowaway does not read sparse members)"
                    )))
                }
                b'M' => {
                    return Err(Error::unsupported(format!(
                        "multi-volume continuation member at byte {at}"
                    )))
                }
                _ => {}
            }
            let raw_path = extensions
                .pax_path
                .take()
                .or(extensions.long_name.take())
                .unwrap_or_else(|| header.path_bytes().into_owned());
            let raw_link = extensions
                .pax_link
                .take()
                .or(extensions.long_link.take())
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
                .unwrap_or_default();
            let size = extensions.pax_size.unwrap_or(size);
            let place = || format!("the member at byte {header_at}");
            let path = normalise(&raw_path, self.limits).map_err(|e| e.at(place()))?;
            let mode = if block[100..108].iter().all(|&b| b == 0 || b == b' ') {
                0
            } else {
                header.mode().map_err(|_| {
                    Error::malformed(format!("bad mode field in the header at byte {at}"))
                })?
            };
            let kind = match type_flag {
                b'0' | 0 | b'7' if raw_path.ends_with(b"/") => TarKind::Directory,
                b'5' | b'D' => TarKind::Directory,
                b'1' => {
                    let target = normalise(&raw_link, self.limits)
                        .map_err(|e| e.at(format!("hard link {}", shown(&path))).at(place()))?;
                    TarKind::HardLink(target)
                }
                b'2' => {
                    if raw_link.len() > self.limits.max_path_bytes || raw_link.contains(&0) {
                        return Err(Error::malformed(format!(
                            "symlink {} has a target over {} bytes or with a NUL byte",
                            shown(&path),
                            self.limits.max_path_bytes
                        ))
                        .at(place()));
                    }
                    TarKind::Symlink(raw_link)
                }
                b'3' | b'4' | b'6' => TarKind::Special,
                _ => TarKind::File {
                    executable: mode & 0o100 != 0,
                },
            };
            let header_only = matches!(type_flag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6');
            if header_only && size > 0 {
                return Err(Error::malformed(format!(
                    "{} (type {}) declares {size} bytes of data",
                    shown(&path),
                    type_flag as char
                ))
                .at(place()));
            }
            let data_at = self.pos;
            self.data_end = data_at
                .checked_add(size)
                .filter(|end| end.checked_add(BLOCK).is_some())
                .ok_or_else(|| {
                    Error::malformed(format!("member size {size} overflows")).at(place())
                })?;
            self.next_header = self.data_end.div_ceil(BLOCK) * BLOCK;
            return Ok(Some(TarEntry {
                path,
                // A GNU dumpdir's data is a listing of names, not a member's contents.
                size: if type_flag == b'D' { 0 } else { size },
                kind,
                data_at,
            }));
        }
    }

    /// Reads into `buf` until it is full or the stream ends; how many bytes came.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(e).at(format!("byte {}", self.pos))),
            }
        }
        Ok(filled)
    }

    fn skip_to(&mut self, target: u64) -> Result<(), Error> {
        if self.pos >= target {
            return Ok(());
        }
        let want = target - self.pos;
        let mut counted = Counting {
            inner: &mut self.inner,
            pos: &mut self.pos,
        };
        let skipped = io::copy(&mut (&mut counted).take(want), &mut io::sink())
            .map_err(|e| Error::from_io(e).at(format!("byte {}", self.pos)))?;
        if skipped < want {
            return Err(Error::malformed(format!(
                "the tar is truncated at byte {} inside a member's data",
                self.pos
            )));
        }
        Ok(())
    }

    /// The data of an extension member, at most `max` bytes.
    fn extension_data(&mut self, size: u64, max: u64, at: u64) -> Result<Vec<u8>, Error> {
        if size > max {
            return Err(Error::limit(format!(
                "extension header at byte {at} declares {size} bytes, over the {max}-byte bound"
            )));
        }
        let mut data = vec![0; size as usize];
        if self.fill(&mut data)? < data.len() {
            return Err(Error::malformed(format!(
                "the tar is truncated at byte {} inside an extension header",
                self.pos
            )));
        }
        self.skip_to(self.pos.div_ceil(BLOCK) * BLOCK)?;
        Ok(data)
    }

    fn check_only_zeros_follow(&mut self) -> Result<(), Error> {
        let mut buf = [0u8; 8192];
        loop {
            let at = self.pos;
            let n = self.fill(&mut buf)?;
            if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
                return Err(Error::malformed(format!(
                    "data after the end of the tar at byte {}",
                    at + i as u64
                )));
            }
            if n < buf.len() {
                return Ok(());
            }
        }
    }
}

struct Counting<'a, R> {
    inner: &'a mut R,
    pos: &'a mut u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.pos += n as u64;
        Ok(n)
    }
}

fn check_checksum(header: &tar::Header) -> Result<(), Error> {
    let bytes = header.as_bytes();
    let field = 148..156;
    let unsigned: u64 = bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| if field.contains(&i) { 32 } else { u64::from(b) })
        .sum();
    let signed: i64 = bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if field.contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    match header.cksum() {
        Ok(stored) if u64::from(stored) == unsigned || i64::from(stored) == signed => Ok(()),
        _ => Err(Error::malformed(
            "tar header checksum does not match (not a tar, or corrupt)",
        )),
    }
}

fn trim_nuls(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// PAX records: `<length> <key>=<value>\n`, the length counting the whole record.
fn parse_pax(mut records: &[u8], extensions: &mut Extensions) -> Result<(), Error> {
    let bad = || Error::malformed("malformed PAX record");
    while !records.is_empty() {
        // Some writers pad the records with NULs.
        if records.iter().all(|&b| b == 0) {
            break;
        }
        let space = records.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&records[..space])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > records.len() || records[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &records[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => extensions.pax_path = Some(value.to_vec()),
            b"linkpath" => extensions.pax_link = Some(value.to_vec()),
            b"size" => {
                let size = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| Error::malformed("PAX size is not a number"))?;
                extensions.pax_size = Some(size);
            }
            _ if key.starts_with(b"GNU.sparse.") => {
                return Err(Error::unsupported(
                    "PAX sparse member (stowaway does not read sparse members)",
                ))
            }
            _ => {}
        }
        records = &records[len..];
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::archive::ErrorKind;

    /// (path, kind, data) of every member.
    pub(crate) fn list(bytes: &[u8]) -> Result<Vec<(String, TarKind, Vec<u8>)>, Error> {
        let limits = Limits::default();
        let mut stream = TarStream::new(bytes, &limits);
        let mut out = Vec::new();
        while let Some(entry) = stream.next_entry()? {
            let mut data = Vec::new();
            stream.data().read_to_end(&mut data).unwrap();
            out.push((String::from_utf8(entry.path).unwrap(), entry.kind, data));
        }
        Ok(out)
    }

    /// A header block with a raw name (no checks, as a hostile writer would do).
    pub(crate) fn raw_header(name: &[u8], type_flag: u8, size: u64, link: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_size(size);
        header.set_mode(0o755);
        header.as_mut_bytes()[156] = type_flag;
        header.set_cksum();
        header.as_bytes().to_vec()
    }

    pub(crate) fn member(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = raw_header(name, b'0', data.len() as u64, b"");
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    pub(crate) fn end(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes.extend_from_slice(&[0; 1024]);
        bytes
    }

    #[test]
    fn reads_what_the_tar_crate_writes_long_names_included() {
        let mut builder = tar::Builder::new(Vec::new());
        let long = format!("{}/file", "d".repeat(150));
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o755);
        builder
            .append_data(&mut header, &long, &b"abc"[..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        builder
            .append_link(&mut link, "lnk", "../../x".repeat(30))
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let members = list(&bytes).unwrap();
        assert_eq!(
            members[0],
            (long, TarKind::File { executable: true }, b"abc".to_vec())
        );
        assert_eq!(
            members[1].1,
            TarKind::Symlink("../../x".repeat(30).into_bytes())
        );
    }

    #[test]
    fn pax_records_override_the_header() {
        let records = b"14 path=a/b/c\n";
        let mut bytes = raw_header(b"PaxHeaders/x", b'x', records.len() as u64, b"");
        bytes.extend_from_slice(records);
        bytes.resize(1024, 0);
        bytes.extend(member(b"short", b"hello"));
        let members = list(&end(bytes)).unwrap();
        assert_eq!(members[0].0, "a/b/c");
        assert_eq!(members[0].2, b"hello");
    }

    fn error_of(bytes: &[u8]) -> Error {
        list(bytes).expect_err("accepted")
    }

    #[test]
    fn hostile_tars_are_refused_with_the_place() {
        let e = error_of(&end(member(b"../../etc/passwd", b"x")));
        assert!(
            e.to_string()
                .contains("the member at byte 0: member name ../../etc/passwd climbs out"),
            "{e}"
        );

        let abs = list(&end(member(b"/etc/passwd", b"x"))).unwrap();
        assert_eq!(abs[0].0, "etc/passwd");

        let e = error_of(&member(b"a", b"x"));
        assert!(
            e.to_string().contains("without its end-of-archive block"),
            "{e}"
        );

        let whole = end(member(b"a", &[7; 2000]));
        let e = error_of(&whole[..1000]);
        assert!(e.to_string().contains("truncated"), "{e}");

        let mut garbage = end(member(b"a", b"x"));
        garbage.extend_from_slice(b"junk");
        let e = error_of(&garbage);
        assert!(
            e.to_string()
                .contains("data after the end of the tar at byte 2048"),
            "{e}"
        );

        // A GNU long name that declares 1 TiB is refused before anything is read.
        let e = error_of(&end(raw_header(b"././@LongLink", b'L', 1 << 40, b"")));
        assert_eq!(e.kind(), ErrorKind::Limit);

        // A member declaring 2^60 bytes in a short archive: truncated, no allocation.
        let e = error_of(&end(raw_header(b"big", b'0', 1 << 60, b"")));
        assert!(e.to_string().contains("truncated"), "{e}");

        let e = error_of(&end(raw_header(b"dir/", b'5', 10, b"")));
        assert!(e.to_string().contains("declares 10 bytes of data"), "{e}");

        let mut bad_sum = member(b"a", b"x");
        bad_sum[0] = b'b';
        assert!(error_of(&end(bad_sum)).to_string().contains("checksum"));

        let e = error_of(&end(raw_header(b"s", b'S', 0, b"")));
        assert_eq!(e.kind(), ErrorKind::Unsupported);

        let e = error_of(&end(raw_header(b"hl", b'1', 0, b"../x")));
        assert!(e.to_string().contains("climbs out"), "{e}");

        let records = b"8 path=\n";
        let mut empty = raw_header(b"PaxHeaders/x", b'x', records.len() as u64, b"");
        empty.extend_from_slice(records);
        empty.resize(1024, 0);
        empty.extend(member(b"short", b""));
        assert!(error_of(&end(empty)).to_string().contains("empty name"));
    }
}
