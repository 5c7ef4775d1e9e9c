//! Finds store references in bytes.
//!
//! This module owns the byte-level search and nothing else: it knows the store directory and,
//! when the closure is known, the set of candidate hashes, and it turns a stream of bytes into
//! [`Hit`]s (offset, hash, name, subpath, excerpt). It does not open files, parse store-path
//! names into packages, or decide what a hit costs.
//!
//! The search is one pass with the skip loop of Nix's own reference scanner
//! (`libstore/references.cc`): look at the last byte of a 32-byte window; if it cannot be part
//! of a hash, no window that contains it can be one, so jump past it. On binaries this touches
//! about one byte in thirty. Every window that survives lies in a *run* of hash characters
//! (nix-base32 plus `e`, so that nuked `eeee…` hashes are seen too), and each run is classified:
//!
//! * a run of exactly 32 followed by `-<name>` and preceded by `<store-dir>/` is a store path;
//! * the same without the store dir is a probable bare-hash reference;
//! * when candidate hashes are known, every 32-byte window of any run is looked up, as Nix does,
//!   so a hash glued to other text (`<hash>-hi.c` in `.symtab`) is found too.
//!
//! Files are read in chunks into one reused, 64-byte-aligned buffer, with an overlap carried
//! from chunk to chunk, so memory stays bounded whatever the file size, and a file that shrinks
//! while it is read simply ends early (no memory map, so no SIGBUS).

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;

use crate::model::Anchor;
use crate::store_path::{is_name_char, is_nix_base32, HASH_LEN, MAX_NAME_LEN, NIX_BASE32};

/// The longest subpath recorded after a store path name (`/share/x86_64-linux-ghc-…/…`).
pub const MAX_SUBPATH_LEN: usize = 256;
/// The longest store directory accepted (`/nix/store` is 10 bytes; Guix's `/gnu/store` too).
pub const MAX_STORE_DIR_LEN: usize = 256;
/// Printable context kept on each side of a hit for the report's excerpt.
const EXCERPT_CONTEXT: usize = 24;
/// Bytes that must follow a hash start inside one chunk so a hit is never split.
const RESERVE: usize = HASH_LEN + 1 + MAX_NAME_LEN + MAX_SUBPATH_LEN + EXCERPT_CONTEXT;
/// Bytes kept before the first unscanned position: the store dir and the excerpt's lead.
const HEAD: usize = MAX_STORE_DIR_LEN + 1 + EXCERPT_CONTEXT;
/// The overlap carried between chunks, rounded to keep the read area aligned.
const CARRY: usize = (HEAD + RESERVE).div_ceil(64) * 64;
/// The default read size: large enough to amortise syscalls, small enough to stay in L2.
pub const DEFAULT_CHUNK: usize = 1 << 20;

/// One store reference found in a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte offset of the match: the store dir's first byte, or the hash's for bare hits.
    pub offset: u64,
    /// Bytes of the match: store dir (if any), hash, name and subpath.
    pub len: u64,
    pub anchor: Anchor,
    /// The 32 hash characters (nix-base32, or 32 `e` for a nuked reference).
    pub hash: String,
    /// The name text after `<hash>-` as found; empty for a known hash with no `-<name>`.
    pub name: String,
    /// What follows the name: `""` or `/etc/ssl`.
    pub subpath: String,
    /// The hit with a little printable context around it, escaped for display.
    pub excerpt: String,
    /// Its 1-based line, when the caller counts lines (the scanner leaves it `None`).
    pub line: Option<u64>,
}

impl Hit {
    /// What identifies the store path it names: its hash, and for a nuked hash its name too,
    /// since every nuked hash is the same 32 `e`s (issue 11: `eeee…-openssl-…` and
    /// `eeee…-openssl-…-etc` are two references). A live hash names one path whatever text
    /// follows it, so the hash alone is enough there.
    pub fn reference_key(&self) -> String {
        if crate::store_path::is_nuked_hash(self.hash.as_bytes()) {
            format!("{}-{}", self.hash, self.name)
        } else {
            self.hash.clone()
        }
    }
}

/// Receives what a scan finds.
pub trait ScanSink {
    /// One store reference, in offset order; `buf` (whose `buf[0]` is at file offset `base`)
    /// holds it and the region it was found in.
    fn hit(&mut self, hit: Hit, buf: &[u8], base: u64);

    /// Each region as it is scanned: the hits of `buf[owned]` are being reported; the bytes
    /// around it are context (at least [`CONTEXT`] on each side, unless the file ends).
    /// `buf[0]` is at file offset `base`.
    fn region(&mut self, buf: &[u8], owned: Range<usize>, base: u64) {
        let _ = (buf, owned, base);
    }
}

impl<F: FnMut(Hit)> ScanSink for F {
    fn hit(&mut self, hit: Hit, _buf: &[u8], _base: u64) {
        self(hit)
    }
}

/// Bytes of context every region has on each side (unless the file ends there), for other
/// searches run alongside.
pub const CONTEXT: usize = HEAD;

/// Hashes the first 8 bytes of a key: store-path hashes are uniformly random already.
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(17) ^ u64::from_le_bytes(word);
        }
    }
}

type HashIndex = HashSet<[u8; HASH_LEN], BuildHasherDefault<PrefixHasher>>;

/// The compiled search: built once per audit, shared by reference across worker threads.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// `<store-dir>/`, the anchor of a full store path.
    store_prefix: Vec<u8>,
    /// Hashes of the known closure; empty when no closure is known.
    candidates: HashIndex,
}

/// A reusable read buffer for one worker: the carry area followed by an aligned read area.
pub struct ScanBuffer {
    storage: Vec<u8>,
    read_at: usize,
    chunk: usize,
}

impl ScanBuffer {
    /// A buffer that reads `chunk` bytes at a time (at least 4 KiB).
    pub fn new(chunk: usize) -> ScanBuffer {
        let chunk = chunk.max(4096);
        let storage = vec![0u8; CARRY + chunk + 64];
        let misalign = storage[CARRY..].as_ptr().align_offset(64);
        ScanBuffer {
            read_at: CARRY + misalign.min(63),
            storage,
            chunk,
        }
    }
}

impl Default for ScanBuffer {
    fn default() -> ScanBuffer {
        ScanBuffer::new(DEFAULT_CHUNK)
    }
}

/// Bytes that can be part of a hash run: nix-base32, and the `e` of a nuked hash. One table,
/// so the hot loop costs one load and one branch per probe.
static RUN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    table[b'e' as usize] = true;
    let mut k = 0;
    while k < NIX_BASE32.len() {
        table[NIX_BASE32[k] as usize] = true;
        k += 1;
    }
    table
};

/// A byte that can be part of a hash run: nix-base32, or `e` of a nuked hash.
#[inline(always)]
fn is_run_byte(b: u8) -> bool {
    RUN_BYTES[b as usize]
}

/// A byte allowed in a subpath after the name: a conservative file-name set that stops at
/// NUL, whitespace, quotes and the `:` of search paths.
#[inline]
fn is_subpath_char(b: u8) -> bool {
    is_name_char(b) || matches!(b, b'/' | b'~' | b'@' | b'%' | b',' | b'+')
}

impl Scanner {
    /// A scanner for `store_dir` (no trailing slash) that also finds the `candidates` hashes
    /// anywhere. Hashes that are not 32 nix-base32 characters are ignored.
    pub fn new<'a>(store_dir: &str, candidates: impl IntoIterator<Item = &'a str>) -> Scanner {
        let mut store_prefix = store_dir.trim_end_matches('/').as_bytes().to_vec();
        store_prefix.push(b'/');
        let candidates = candidates
            .into_iter()
            .filter_map(|hash| <[u8; HASH_LEN]>::try_from(hash.as_bytes()).ok())
            .filter(|hash| hash.iter().all(|&b| is_nix_base32(b)))
            .collect();
        Scanner {
            store_prefix,
            candidates,
        }
    }

    /// Scans the hits of `file` whose hash starts in `range` (reading a little before and
    /// after it for context, but never past `file_len`), so that a large file can be split
    /// among workers: the hits of adjacent ranges are exactly those of one pass. Returns the
    /// bytes of `range` that exist.
    pub fn scan_file_range(
        &self,
        file: &File,
        file_len: u64,
        range: Range<u64>,
        buffer: &mut ScanBuffer,
        sink: &mut impl ScanSink,
    ) -> io::Result<u64> {
        let from = range.start.saturating_sub(HEAD as u64);
        let reader = RangeReader {
            file,
            position: from,
            // Knowing where to stop saves the read that would only report the end of file.
            end: range.end.saturating_add(RESERVE as u64).min(file_len),
        };
        self.scan_stream(reader, from, range, buffer, sink)
    }

    /// The chunk loop: `reader` yields the bytes from file offset `first`; hits are reported
    /// when their hash starts inside `own`.
    fn scan_stream(
        &self,
        mut reader: impl Read,
        first: u64,
        own: Range<u64>,
        buffer: &mut ScanBuffer,
        sink: &mut impl ScanSink,
    ) -> io::Result<u64> {
        let ScanBuffer {
            storage,
            read_at,
            chunk,
        } = buffer;
        let (read_at, chunk) = (*read_at, *chunk);
        let mut carry = 0usize;
        let mut base = first;
        let mut lo = usize::try_from(own.start - first).unwrap_or(usize::MAX);
        let mut read_end = first;
        loop {
            let n = read_full(&mut reader, &mut storage[read_at..read_at + chunk])?;
            read_end += n as u64;
            let at_eof = n < chunk;
            let buf = &storage[read_at - carry..read_at + n];
            let mut hi = if at_eof {
                buf.len()
            } else {
                buf.len() - RESERVE
            };
            let own_end = own.end.saturating_sub(base);
            let done = at_eof || own_end <= hi as u64;
            if own_end < hi as u64 {
                hi = own_end as usize;
            }
            sink.region(buf, lo..hi.max(lo), base);
            self.scan_region(buf, lo, hi, base, sink);
            if done {
                return Ok(read_end.min(own.end).saturating_sub(own.start));
            }
            let keep_from = hi.saturating_sub(HEAD);
            let kept = buf.len() - keep_from;
            storage.copy_within(read_at - carry + keep_from..read_at + n, read_at - kept);
            base += keep_from as u64;
            lo = hi - keep_from;
            carry = kept;
        }
    }

    /// Scans one in-memory buffer (tests and small inputs).
    pub fn scan_bytes(&self, bytes: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.scan_region(bytes, 0, bytes.len(), 0, &mut |hit| hits.push(hit));
        hits
    }

    /// Reports every hit whose hash starts in `buf[lo..hi]`; `buf[0]` is at file offset `base`.
    /// The caller guarantees `RESERVE` bytes after `hi` unless `hi` is the end of the input.
    fn scan_region(&self, buf: &[u8], lo: usize, hi: usize, base: u64, sink: &mut impl ScanSink) {
        let mut i = lo;
        while i < hi && i + HASH_LEN <= buf.len() {
            // Nix's skip: the last byte that cannot be in a hash moves the window past it.
            let Ok(window) = <&[u8; HASH_LEN]>::try_from(&buf[i..i + HASH_LEN]) else {
                break;
            };
            if !is_run_byte(window[HASH_LEN - 1]) {
                i += HASH_LEN;
                continue;
            }
            if let Some(j) = window.iter().rposition(|&b| !is_run_byte(b)) {
                i += j + 1;
                continue;
            }
            let run_start = i == 0 || !is_run_byte(buf[i - 1]);
            let mut end = i + HASH_LEN;
            while end < buf.len() && is_run_byte(buf[end]) {
                end += 1;
            }
            let mut classified = false;
            if run_start && end == i + HASH_LEN {
                if let Some(hit) = self.classify(buf, i, base) {
                    classified = true;
                    sink.hit(hit, buf, base);
                }
            }
            if !self.candidates.is_empty() {
                let last = (end - HASH_LEN).min(hi - 1);
                for k in i..=last {
                    if k == i && classified {
                        continue;
                    }
                    if let Ok(window) = <[u8; HASH_LEN]>::try_from(&buf[k..k + HASH_LEN]) {
                        if self.candidates.contains(&window) {
                            sink.hit(self.known_hash_hit(buf, k, base), buf, base);
                        }
                    }
                }
            }
            i = end + 1;
        }
    }

    /// A run of exactly 32 hash bytes at `start`: a store path, a bare hash, or nothing.
    fn classify(&self, buf: &[u8], start: usize, base: u64) -> Option<Hit> {
        let hash = &buf[start..start + HASH_LEN];
        let nuked = hash.iter().all(|&b| b == b'e');
        if !nuked && !hash.iter().all(|&b| is_nix_base32(b)) {
            return None;
        }
        if buf.get(start + HASH_LEN) != Some(&b'-') {
            return None;
        }
        let name_start = start + HASH_LEN + 1;
        let name_len = buf[name_start..]
            .iter()
            .take(MAX_NAME_LEN)
            .take_while(|&&b| is_name_char(b))
            .count();
        if name_len == 0 || buf[name_start] == b'.' {
            return None;
        }
        let prefix = &self.store_prefix;
        let anchored = start >= prefix.len() && &buf[start - prefix.len()..start] == prefix;
        if !anchored
            && !self
                .candidates
                .contains(&<[u8; HASH_LEN]>::try_from(hash).ok()?)
            && is_hex(hash)
        {
            // A 32-digit hex string (an MD5) followed by `-word` is far likelier than a store
            // hash without its store dir; a known closure hash is still taken.
            return None;
        }
        let match_start = if anchored {
            start - prefix.len()
        } else {
            start
        };
        let name_end = name_start + name_len;
        Some(self.hit(
            buf,
            base,
            match_start,
            start,
            if anchored {
                Anchor::StoreDir
            } else {
                Anchor::BareHash
            },
            name_end,
        ))
    }

    /// A candidate hash found at `start`, with whatever name follows it.
    fn known_hash_hit(&self, buf: &[u8], start: usize, base: u64) -> Hit {
        let after = start + HASH_LEN;
        let name_end = if buf.get(after) == Some(&b'-') {
            after
                + 1
                + buf[after + 1..]
                    .iter()
                    .take(MAX_NAME_LEN)
                    .take_while(|&&b| is_name_char(b))
                    .count()
        } else {
            after
        };
        let prefix = &self.store_prefix;
        let match_start = if start >= prefix.len() && &buf[start - prefix.len()..start] == prefix {
            start - prefix.len()
        } else {
            start
        };
        self.hit(buf, base, match_start, start, Anchor::KnownHash, name_end)
    }

    /// Builds the hit: subpath after `name_end`, excerpt around the whole match.
    fn hit(
        &self,
        buf: &[u8],
        base: u64,
        match_start: usize,
        hash_start: usize,
        anchor: Anchor,
        name_end: usize,
    ) -> Hit {
        let hash_end = hash_start + HASH_LEN;
        let name = if name_end > hash_end {
            &buf[hash_end + 1..name_end]
        } else {
            &[][..]
        };
        let subpath_len = if buf.get(name_end) == Some(&b'/') {
            buf[name_end..]
                .iter()
                .take(MAX_SUBPATH_LEN)
                .take_while(|&&b| is_subpath_char(b))
                .count()
        } else {
            0
        };
        let match_end = name_end + subpath_len;
        let lead = buf[..match_start]
            .iter()
            .rev()
            .take(EXCERPT_CONTEXT)
            .take_while(|&&b| is_printable(b))
            .count();
        let trail = buf[match_end..]
            .iter()
            .take(EXCERPT_CONTEXT)
            .take_while(|&&b| is_printable(b))
            .count();
        Hit {
            offset: base + match_start as u64,
            len: (match_end - match_start) as u64,
            anchor,
            hash: String::from_utf8_lossy(&buf[hash_start..hash_end]).into_owned(),
            name: String::from_utf8_lossy(name).into_owned(),
            subpath: String::from_utf8_lossy(&buf[name_end..match_end]).into_owned(),
            excerpt: crate::escape::escape_bytes(&buf[match_start - lead..match_end + trail]),
            line: None,
        }
    }
}

/// Printable ASCII: what an excerpt may extend over.
fn is_printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Only the digits and letters of hexadecimal.
fn is_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_hexdigit)
}

/// Reads a byte range of a file with `pread`, so that workers can share one open file.
struct RangeReader<'a> {
    file: &'a File,
    position: u64,
    end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.position);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

/// Reads until `buf` is full or the reader is exhausted; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f";
    const H2: &str = "yfqnqgyp8z830l3yf8pa8nglgapq7yk1";

    fn scanner() -> Scanner {
        Scanner::new("/nix/store", [])
    }

    #[test]
    fn finds_a_store_path_with_its_subpath_and_offset() {
        let text = format!("\0\0OPENSSLDIR: \"/nix/store/{H1}-openssl-3.0.12-etc/etc/ssl\"\0");
        let hits = scanner().scan_bytes(text.as_bytes());
        assert_eq!(hits.len(), 1);
        let hit = &hits[0];
        assert_eq!(hit.offset, 15);
        assert_eq!(hit.anchor, Anchor::StoreDir);
        assert_eq!(hit.hash, H1);
        assert_eq!(hit.name, "openssl-3.0.12-etc");
        assert_eq!(hit.subpath, "/etc/ssl");
        assert_eq!(
            hit.excerpt,
            format!("OPENSSLDIR: \"/nix/store/{H1}-openssl-3.0.12-etc/etc/ssl\"")
        );
    }

    #[test]
    fn a_bare_hash_followed_by_a_name_is_probable() {
        let text = format!("\0{H1}-hello.c\0");
        let hits = scanner().scan_bytes(text.as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].anchor, Anchor::BareHash);
        assert_eq!(hits[0].offset, 1);
        assert_eq!(hits[0].name, "hello.c");
    }

    #[test]
    fn nuked_hashes_are_found() {
        let nuked = "e".repeat(32);
        let text = format!("x/nix/store/{nuked}-openssl-3.0.12-etc/etc/ssl");
        let hits = scanner().scan_bytes(text.as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].hash, nuked);
        assert_eq!(hits[0].offset, 1);
    }

    #[test]
    fn near_misses_are_not_hits() {
        let cases = [
            // 31 and 33 hash characters.
            format!("/nix/store/{}-foo", &H1[..31]),
            format!("/nix/store/a{H1}-foo"),
            // No name, a name starting with '.', no dash.
            format!("/nix/store/{H1}-"),
            format!("/nix/store/{H1}-.foo"),
            format!("/nix/store/{H1}/foo"),
            // A letter outside nix-base32 (and not a nuked hash).
            format!("/nix/store/{}t-foo", &H1[..31]),
            // A bare MD5 in hex followed by a word.
            "d41d8cd98f00b2049800998cf8427a12-build".to_string(),
        ];
        for case in cases {
            assert_eq!(scanner().scan_bytes(case.as_bytes()), vec![], "{case}");
        }
    }

    #[test]
    fn known_hashes_are_found_anywhere_like_nix_does() {
        let scanner = Scanner::new("/nix/store", [H2]);
        let text = format!("abc{H2}xyz and /nix/store/{H2}-openssl-3.0.12-etc and {H1}-foo");
        let hits = scanner.scan_bytes(text.as_bytes());
        let found: Vec<_> = hits
            .iter()
            .map(|h| (h.anchor, h.hash.as_str(), h.offset))
            .collect();
        assert_eq!(
            found,
            vec![
                (Anchor::KnownHash, H2, 3),
                (Anchor::StoreDir, H2, 43),
                (Anchor::BareHash, H1, 110),
            ]
        );
    }

    #[test]
    fn chunked_reads_equal_a_whole_buffer_scan_at_every_boundary() {
        let mut data = vec![0x90u8; 9000];
        let paths = [
            format!("/nix/store/{H1}-openssl-3.0.12-etc/etc/ssl\0"),
            format!("#!/nix/store/{H2}-bash-5.2.15/bin/bash\n"),
            format!("{H2}trailing"),
        ];
        for (n, path) in paths.iter().enumerate() {
            let at = 4090 + n * 100;
            data[at..at + path.len()].copy_from_slice(path.as_bytes());
        }
        let scanner = Scanner::new("/nix/store", [H2]);
        let whole = scanner.scan_bytes(&data);
        assert_eq!(whole.len(), 3);
        for shift in 0..200 {
            let mut shifted = vec![b'q'; shift];
            shifted.extend_from_slice(&data);
            let mut buffer = ScanBuffer::new(4096);
            let mut hits = Vec::new();
            let scanned = scanner
                .scan_stream(
                    &shifted[..],
                    0,
                    0..u64::MAX,
                    &mut buffer,
                    &mut |hit: Hit| hits.push(hit),
                )
                .expect("in-memory read");
            assert_eq!(scanned, shifted.len() as u64);
            let expected: Vec<_> = whole
                .iter()
                .map(|h| Hit {
                    offset: h.offset + shift as u64,
                    ..h.clone()
                })
                .collect();
            assert_eq!(hits, expected, "shift {shift}");
        }
    }

    #[test]
    fn adjacent_file_ranges_find_exactly_what_one_pass_finds() {
        let mut data = vec![0x90u8; 20_000];
        let path = format!("/nix/store/{H1}-openssl-3.0.12-etc/etc/ssl\0");
        for at in [0, 4000, 4090, 8100, 12_345, 19_990 - path.len()] {
            data[at..at + path.len()].copy_from_slice(path.as_bytes());
        }
        data[15_000..15_032].copy_from_slice(H2.as_bytes());
        let dir = tempfile::tempdir().expect("tempdir");
        let file_path = dir.path().join("data");
        std::fs::write(&file_path, &data).expect("write");
        let file = File::open(&file_path).expect("open");
        let scanner = Scanner::new("/nix/store", [H2]);
        let whole = scanner.scan_bytes(&data);
        assert_eq!(whole.len(), 7);
        let mut buffer = ScanBuffer::new(4096);
        for cut in (0..data.len() as u64)
            .step_by(37)
            .chain([4011, 4012, 4013, 15_000, 15_001])
        {
            let mut hits = Vec::new();
            let mut scanned = 0;
            for range in [
                0..cut,
                cut..9_000.max(cut),
                9_000.max(cut)..data.len() as u64 + 100,
            ] {
                scanned += scanner
                    .scan_file_range(
                        &file,
                        data.len() as u64,
                        range,
                        &mut buffer,
                        &mut |hit: Hit| hits.push(hit),
                    )
                    .expect("read");
            }
            assert_eq!(scanned, data.len() as u64, "cut {cut}");
            assert_eq!(hits, whole, "cut {cut}");
        }
    }

    #[test]
    fn a_file_that_shrinks_while_it_is_read_just_ends_early() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shrinking");
        let mut data = vec![0u8; 3 << 20];
        let store_path = format!("/nix/store/{H1}-openssl-3.0.12-etc");
        data[100..100 + store_path.len()].copy_from_slice(store_path.as_bytes());
        data[(2 << 20)..(2 << 20) + store_path.len()].copy_from_slice(store_path.as_bytes());
        std::fs::write(&path, &data).expect("write");
        let file = File::open(&path).expect("open");
        let len = data.len() as u64;
        // Another process truncates it after we looked at its size.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("reopen")
            .set_len(1 << 20)
            .expect("truncate");
        let mut hits = Vec::new();
        let scanned = scanner()
            .scan_file_range(
                &file,
                len,
                0..len,
                &mut ScanBuffer::new(1 << 16),
                &mut |hit: Hit| hits.push(hit),
            )
            .expect("a short file is not an error");
        assert_eq!(scanned, 1 << 20);
        assert_eq!(hits.len(), 1, "only what is still there");
        assert_eq!(hits[0].offset, 100);
    }

    #[test]
    fn a_long_hash_run_across_chunks_is_searched_linearly() {
        let mut data = vec![b'a'; 20_000];
        data[12_345..12_345 + 32].copy_from_slice(H2.as_bytes());
        let scanner = Scanner::new("/nix/store", [H2]);
        let mut hits = Vec::new();
        scanner
            .scan_stream(
                &data[..],
                0,
                0..u64::MAX,
                &mut ScanBuffer::new(4096),
                &mut |hit: Hit| hits.push(hit),
            )
            .expect("in-memory read");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].offset, 12_345);
    }
}
