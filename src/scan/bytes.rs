//! Finds store references in bytes.
//!
//! This module owns the byte-level search and nothing else: it knows the store directory and,
//! when the closure is known, the set of candidate hashes, and it turns a stream of bytes into
//! [`Hit`]s (offset, hash, name, subpath, excerpt). It does not open files, parse store-path
//! names into packages, or decide what a hit costs.
//!
//! The search is one pass over *runs* of hash characters (nix-base32 plus `e`, so that nuked
//! `eeee…` hashes are seen too) at least 32 long, and each run is classified:
//!
//! * a run of exactly 32 followed by `-<name>` and preceded by `<store-dir>/` is a store path;
//! * the same without the store dir is a probable bare-hash reference;
//! * when candidate hashes are known, every 32-byte window of any run is looked up, as Nix does,
//!   so a hash glued to other text (`<hash>-hi.c` in `.symtab`) is found too.
//!
//! Runs are found by one of several kernels with the same answers (tests compare them with
//! a reference that checks every position). Nix's own reference scanner
//! (`libstore/references.cc`) looks at the last byte of a 32-byte window and, if it cannot be
//! in a hash, jumps past it: one byte in 32 on binaries, but on text made of hash characters
//! (checksum lists, lock files) it never jumps and crawls. The x86_64 kernels classify bytes
//! with SIMD instead: they sample 4 bytes in every 16 (a run of 32 always holds such a unit
//! whole), search exactly only where a sample is clean, and cross a run 64 bytes a step. A
//! long run's windows are looked up with one filter probe per 16 bytes (`KnownHashes`).
//! Other CPUs use Nix's loop.
//!
//! Files are read in chunks into one reused, page-aligned buffer, with an overlap carried
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
/// The page size that file reads are aligned to.
const PAGE: usize = 4096;
/// Reads are page-aligned when a chunk is at least this large: the first chunk then still
/// holds the up to `PAGE - 1` extra bytes before the range besides the usual context.
const ALIGNED_READS_FROM: usize = 2 * PAGE + CARRY;

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

/// Hashes a key by its first 8 bytes: store-path hashes are uniformly random already, but
/// their bytes are ASCII, so the word is multiplied to spread them over every bit (the table
/// takes its bucket from the low bits and its tag from the top ones).
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let len = bytes.len().min(8);
        word[..len].copy_from_slice(&bytes[..len]);
        self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(GOLDEN);
    }
}

/// 2^64 divided by the golden ratio: an odd multiplier that mixes low bits into high ones.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

type HashIndex = HashSet<[u8; HASH_LEN], BuildHasherDefault<PrefixHasher>>;

/// One probe of a long run covers the windows that start in the `PROBE_STRIDE` bytes up to it.
/// A probe reads 8 bytes, which lie inside each of those windows as long as the stride is at
/// most `HASH_LEN - 8 + 1`.
const PROBE_STRIDE: usize = 16;
/// Filter bits per 8-byte piece of a candidate: about one probe in this many passes the filter
/// by chance and costs an exact look-up of its windows.
const FILTER_BITS_PER_PIECE: usize = 64;

/// The candidate hashes (the known closure), and a filter that lets a long run of hash
/// characters be searched for them with one probe every [`PROBE_STRIDE`] bytes rather than
/// a table look-up of every 32-byte window, as Nix does.
///
/// A window at `k` that holds a candidate contains the probe `p` (the first on the run's
/// probe grid at or after `k`) at `d = p - k < PROBE_STRIDE`, so the 8 bytes at `p` are the
/// candidate's bytes `d..d + 8`. The filter holds those pieces, for every `d`, of every
/// candidate: a probe that misses rules out every window it covers.
#[derive(Debug, Clone, Default)]
struct KnownHashes {
    exact: HashIndex,
    /// A bit per slot (see [`KnownHashes::slot`]); empty when there are no candidates.
    pieces: Vec<u64>,
    /// 64 minus the number of bits of a slot.
    shift: u32,
}

impl KnownHashes {
    fn new(exact: HashIndex) -> KnownHashes {
        if exact.is_empty() {
            return KnownHashes::default();
        }
        // At least a page, at most 2 MiB of filter: a store of 100,000 paths still fits, with
        // more probes passing by chance.
        let bits = (exact.len() * PROBE_STRIDE * FILTER_BITS_PER_PIECE)
            .next_power_of_two()
            .clamp(1 << 15, 1 << 24);
        let mut known = KnownHashes {
            pieces: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
            exact: HashIndex::default(),
        };
        for hash in &exact {
            for d in 0..PROBE_STRIDE {
                let slot = known.slot(piece(hash, d));
                known.pieces[slot / 64] |= 1 << (slot % 64);
            }
        }
        known.exact = exact;
        known
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    fn contains(&self, window: &[u8]) -> bool {
        <[u8; HASH_LEN]>::try_from(window).is_ok_and(|w| self.exact.contains(&w))
    }

    /// Where 8 bytes of a candidate would be in the filter.
    #[inline(always)]
    fn slot(&self, piece: u64) -> usize {
        (piece.wrapping_mul(GOLDEN) >> self.shift) as usize
    }

    /// Whether these 8 bytes may be a piece of a candidate.
    #[inline(always)]
    fn may_hold(&self, piece: u64) -> bool {
        let slot = self.slot(piece);
        // The mask keeps the index in bounds without a check (the length is a power of two).
        self.pieces[(slot / 64) & (self.pieces.len() - 1)] & (1 << (slot % 64)) != 0
    }

    /// Calls `found` with every `k` in `first..=last`, in order, whose window `buf[k..k + 32]`
    /// is a candidate. Every byte from `first` to `last + 32` must be a hash character.
    fn search(&self, buf: &[u8], first: usize, last: usize, mut found: impl FnMut(usize)) {
        // The last probe is the first on the grid at or after `last`.
        let probes_end = last + PROBE_STRIDE;
        let mut from = first;
        while let Some(probe) = self.next_probe_hit(buf, from, probes_end) {
            // The windows whose probe this is: those starting after the previous one.
            for k in probe.saturating_sub(PROBE_STRIDE - 1).max(first)..=probe.min(last) {
                if self.may_hold(piece(buf, k)) && self.contains(&buf[k..k + HASH_LEN]) {
                    found(k);
                }
            }
            from = probe + PROBE_STRIDE;
        }
    }

    /// The first probe of `from, from + 16, …` before `end` whose 8 bytes may be a piece of a
    /// candidate. Kept apart, so that this loop, which a long run spends its time in, keeps
    /// its few values in registers.
    #[inline(never)]
    fn next_probe_hit(&self, buf: &[u8], from: usize, end: usize) -> Option<usize> {
        let mut probe = from;
        while probe < end {
            if self.may_hold(piece(buf, probe)) {
                return Some(probe);
            }
            probe += PROBE_STRIDE;
        }
        None
    }
}

/// The 8 bytes at `at`, as a word.
#[inline(always)]
fn piece(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The compiled search: built once per audit, shared by reference across worker threads.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// `<store-dir>/`, the anchor of a full store path.
    store_prefix: Vec<u8>,
    /// Hashes of the known closure; empty when no closure is known.
    candidates: KnownHashes,
    /// How runs of hash characters are found on this CPU.
    kernel: Kernel,
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
        let chunk = chunk.max(PAGE);
        // The read area starts on a page, as the file reads do (see `scan_file_range`).
        let storage = vec![0u8; CARRY + chunk + PAGE];
        let misalign = storage[CARRY..].as_ptr().align_offset(PAGE);
        ScanBuffer {
            read_at: CARRY + misalign.min(PAGE - 1),
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
            candidates: KnownHashes::new(candidates),
            kernel: Kernel::detect(),
        }
    }

    /// The same scanner with another kernel, for tests that compare them.
    #[cfg(test)]
    fn with_kernel(mut self, kernel: Kernel) -> Scanner {
        self.kernel = kernel;
        self
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
        let mut from = range.start.saturating_sub(HEAD as u64);
        if buffer.chunk >= ALIGNED_READS_FROM {
            // Every read then starts on a page boundary of the file, so the kernel copies whole
            // pages to the aligned read area, rather than two part pages per page at
            // mismatched alignments (the ranges of a split file start anywhere).
            from -= from % PAGE as u64;
        }
        let reader = RangeReader {
            file,
            position: from,
            // Knowing where to stop saves the read that would only report the end of file.
            end: range.end.saturating_add(RESERVE as u64).min(file_len),
        };
        self.scan_stream(reader, from, range, buffer, sink)
    }

    /// The chunk loop: `reader` yields the bytes from file offset `first`; hits are reported
    /// when their hash starts inside `own`. (Crate-visible for archive members, which arrive
    /// as a stream: `scan::archive`.)
    pub(crate) fn scan_stream(
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

    /// Scans bytes already in memory as one region, reported to `sink` like a file's
    /// chunks: an archive member held whole for inspection (`scan::archive`). Returns the
    /// bytes scanned.
    pub(crate) fn scan_held(&self, bytes: &[u8], sink: &mut impl ScanSink) -> u64 {
        sink.region(bytes, 0..bytes.len(), 0);
        self.scan_region(bytes, 0, bytes.len(), 0, sink);
        bytes.len() as u64
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
        match self.kernel {
            // SAFETY: these two use no CPU feature; `Kernel::detect` chose the others only
            // where the CPU has their features.
            Kernel::Portable => unsafe { self.scan_runs::<NixSkip>(buf, lo, hi, base, sink) },
            #[cfg(test)]
            Kernel::ScalarBlocks => unsafe {
                self.scan_runs::<blocks::Sampled<blocks::ScalarBlocks>>(buf, lo, hi, base, sink);
            },
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => unsafe { x86::scan_region_sse2(self, buf, lo, hi, base, sink) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::scan_region_avx2(self, buf, lo, hi, base, sink) },
        }
    }

    /// [`Scanner::scan_region`] with the runs `F` finds; inlined into each kernel's entry, so
    /// that a region dense with short runs (checksum lines) pays for no call per run.
    ///
    /// # Safety
    /// The CPU must have the features `F` uses.
    #[inline(always)]
    unsafe fn scan_runs<F: RunFinder>(
        &self,
        buf: &[u8],
        lo: usize,
        hi: usize,
        base: u64,
        sink: &mut impl ScanSink,
    ) {
        let mut from = lo;
        while let Some(Run { start, end }) = F::next_run(buf, from, hi) {
            let run_start = start == 0 || !is_run_byte(buf[start - 1]);
            let mut classified = false;
            if run_start && end == start + HASH_LEN {
                if let Some(hit) = self.classify(buf, start, base) {
                    classified = true;
                    sink.hit(hit, buf, base);
                }
            }
            // A classified run is one window, already reported.
            if !self.candidates.is_empty() && !classified {
                let last = (end - HASH_LEN).min(hi - 1);
                self.candidates.search(buf, start, last, |k| {
                    sink.hit(self.known_hash_hit(buf, k, base), buf, base);
                });
            }
            from = end + 1;
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
        if !anchored && !self.candidates.contains(hash) && is_hex(hash) {
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

/// A run of hash characters `buf[start..end]` at least [`HASH_LEN`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Where the first window of the run that is searched starts (the run itself may begin
    /// earlier, before the region).
    start: usize,
    /// The first byte after the run that is not a hash character, or the end of the buffer.
    end: usize,
}

/// How runs of hash characters are found: the same answers, at the speed this CPU allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Nix's skip loop: one byte in 32 on binaries, byte by byte inside a run. Used where no
    /// classifier below is compiled in, and by the tests everywhere.
    #[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
    Portable,
    /// The block kernels' logic with a byte-by-byte classifier, so that tests cover it on
    /// every CPU.
    #[cfg(test)]
    ScalarBlocks,
    /// 64 bytes classified at a time with SSE2 (every x86_64 CPU has it).
    #[cfg(target_arch = "x86_64")]
    Sse2,
    /// 64 bytes classified at a time with AVX2 nibble look-ups.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// Every kernel this CPU runs, for tests.
    #[cfg(test)]
    fn all() -> Vec<Kernel> {
        let portable = [Kernel::Portable, Kernel::ScalarBlocks];
        #[cfg(target_arch = "x86_64")]
        let simd = [Kernel::Sse2, Kernel::Avx2]
            .into_iter()
            .filter(|&k| k != Kernel::Avx2 || std::arch::is_x86_feature_detected!("avx2"));
        #[cfg(not(target_arch = "x86_64"))]
        let simd = [];
        portable.into_iter().chain(simd).collect()
    }

    /// The fastest kernel this CPU runs.
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            Kernel::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Portable
    }
}

/// Finds runs of hash characters: what the kernels differ in.
trait RunFinder {
    /// The first run whose first window starts at or after `from` and before `hi` (and ends
    /// inside `buf`). Its `start` is that window: the run may begin before `from`.
    ///
    /// # Safety
    /// The CPU must have the features the implementation uses.
    unsafe fn next_run(buf: &[u8], from: usize, hi: usize) -> Option<Run>;
}

/// [`Kernel::Portable`].
struct NixSkip;

impl RunFinder for NixSkip {
    #[inline(always)]
    unsafe fn next_run(buf: &[u8], from: usize, hi: usize) -> Option<Run> {
        next_run_portable(buf, from, hi)
    }
}

/// Nix's skip loop (`libstore/references.cc`): if the last byte of a window cannot be in a
/// hash, no window that contains it can be one, so move past it.
fn next_run_portable(buf: &[u8], from: usize, hi: usize) -> Option<Run> {
    let mut i = from;
    while i < hi && i + HASH_LEN <= buf.len() {
        let window = &buf[i..i + HASH_LEN];
        if !is_run_byte(window[HASH_LEN - 1]) {
            i += HASH_LEN;
            continue;
        }
        if let Some(j) = window.iter().rposition(|&b| !is_run_byte(b)) {
            i += j + 1;
            continue;
        }
        let mut end = i + HASH_LEN;
        while end < buf.len() && is_run_byte(buf[end]) {
            end += 1;
        }
        return Some(Run { start: i, end });
    }
    None
}

/// The block kernels' shared logic: sampling, then exact 64-byte blocks where a sample says
/// so. Only the classifiers differ (see `x86`; `ScalarBlocks` in tests).
// Without a SIMD classifier for the target, only the tests use it.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
mod blocks {
    use std::marker::PhantomData;

    use super::{is_run_byte, Run, RunFinder, HASH_LEN};

    /// The block kernels: sampling, then exact blocks where a sample says so.
    pub(super) struct Sampled<C>(PhantomData<C>);

    impl<C: BlockClassifier> RunFinder for Sampled<C> {
        #[inline(always)]
        unsafe fn next_run(buf: &[u8], from: usize, hi: usize) -> Option<Run> {
            next_run_sampled::<C>(buf, from, hi)
        }
    }

    /// Bytes a block classifier looks at in one step.
    pub(super) const BLOCK: usize = 64;
    /// A run of 32 contains every byte of at least one aligned lane of 16 on any grid, so looking
    /// for lanes made only of hash characters finds every run, and on binaries and text finds
    /// almost nothing else.
    const LANE: usize = 16;

    /// Bytes the sampling stage looks at in one step.
    const SUPERBLOCK: usize = 128;
    /// The sampled units are this long...
    const UNIT: usize = 4;
    /// ...and start at most this far apart, so that every window of 32 holds a whole one.
    const UNIT_GAP: usize = 20;
    const _: () = assert!(UNIT_GAP + UNIT <= HASH_LEN);

    /// Classifies bytes many at a time.
    pub(super) trait BlockClassifier {
        /// Bit `j` is set when byte `j` of the 64 at `at` cannot be in a hash (the complement of
        /// [`is_run_byte`]).
        ///
        /// # Safety
        /// `at` must be valid for reads of [`BLOCK`] bytes, and the CPU must have the features the
        /// implementation uses.
        unsafe fn breaks(at: *const u8) -> u64;

        /// Whether any sampled unit of the [`SUPERBLOCK`] bytes at `at` is made of hash characters
        /// only. The units are [`UNIT`] bytes long, the first at offset 0, each starting at most
        /// [`UNIT_GAP`] bytes after the one before, the last at most [`UNIT_GAP`] bytes before the
        /// end: so every 32-byte window of hash characters holds a whole unit, and the superblock
        /// that holds the unit says yes.
        ///
        /// # Safety
        /// `at` must be valid for reads of [`SUPERBLOCK`] bytes, and the CPU must have the
        /// features the implementation uses.
        unsafe fn any_clean_unit(at: *const u8) -> bool;
    }

    /// Whether any 4-bit group of `breaks` is zero.
    #[inline(always)]
    pub(super) fn any_zero_nibble(breaks: u32) -> bool {
        breaks.wrapping_sub(0x1111_1111) & !breaks & 0x8888_8888 != 0
    }

    /// [`RunFinder::next_run`] by sampling: a quarter of the bytes are classified, in units of 4 (see
    /// [`BlockClassifier::any_clean_unit`]), and only a superblock with a clean unit (rare in
    /// binaries) is searched exactly, with [`next_run_blocks`].
    ///
    /// # Safety
    /// The CPU must have the features `C` uses.
    #[inline(always)]
    unsafe fn next_run_sampled<C: BlockClassifier>(
        buf: &[u8],
        from: usize,
        hi: usize,
    ) -> Option<Run> {
        let limit = hi.min((buf.len() + 1).saturating_sub(HASH_LEN));
        if from >= limit {
            // No window left (or none at all: every entry name is scanned, most are short).
            return None;
        }
        // A window starting before `limit` holds a unit that starts before `limit + 29`.
        let units_end = limit + HASH_LEN - UNIT + 1;
        let stop = units_end.min((buf.len() + 1).saturating_sub(SUPERBLOCK));
        let mut at = from;
        loop {
            // The hot loop: on binaries, one superblock in hundreds has a clean unit.
            while at < stop && !C::any_clean_unit(buf.as_ptr().add(at)) {
                at += SUPERBLOCK;
            }
            // The windows before `at - 28` hold a unit of an earlier superblock: no run there.
            let from_here = at.saturating_sub(HASH_LEN - UNIT).max(from);
            if at >= units_end {
                return None;
            }
            if at >= stop {
                return next_run_blocks::<C>(buf, from_here, hi);
            }
            let run = next_run_blocks::<C>(buf, from_here, hi.min(at + SUPERBLOCK));
            if run.is_some() {
                return run;
            }
            at += SUPERBLOCK;
        }
    }

    /// The breaks of the block at `at`; bytes past the end of `buf` count as breaks.
    ///
    /// # Safety
    /// The CPU must have the features `C` uses.
    #[inline(always)]
    unsafe fn breaks_at<C: BlockClassifier>(buf: &[u8], at: usize) -> u64 {
        if at + BLOCK <= buf.len() {
            C::breaks(buf.as_ptr().add(at))
        } else {
            // The end of every file comes here: a copy padded with NULs (breaks) is cheaper
            // than classifying byte by byte.
            let mut block = [0u8; BLOCK];
            let tail = buf.get(at..).unwrap_or_default();
            block[..tail.len()].copy_from_slice(tail);
            C::breaks(block.as_ptr())
        }
    }

    /// [`RunFinder::next_run`] on blocks: classify 64 bytes, look for a lane of 16 hash characters,
    /// and only there measure the run around it. A run is crossed 64 bytes a step, never byte by
    /// byte.
    ///
    /// # Safety
    /// The CPU must have the features `C` uses.
    #[inline(always)]
    unsafe fn next_run_blocks<C: BlockClassifier>(
        buf: &[u8],
        from: usize,
        hi: usize,
    ) -> Option<Run> {
        // Windows start before `limit`, and a window's first whole lane starts at most 15 bytes
        // after it.
        let limit = hi.min((buf.len() + 1).saturating_sub(HASH_LEN));
        let mut at = from;
        while at < limit + LANE - 1 {
            let lanes = clean_lanes(breaks_at::<C>(buf, at));
            if lanes == 0 {
                at += BLOCK;
                continue;
            }
            let lane = at + lanes.trailing_zeros() as usize / LANE * LANE;
            let start = run_start::<C>(buf, lane, from);
            if start >= limit {
                return None;
            }
            let end = run_end::<C>(buf, lane + LANE);
            if end - start >= HASH_LEN {
                return Some(Run { start, end });
            }
            at = end + 1;
        }
        None
    }

    /// Where the run of hash characters that reaches `at` begins, but not before `from`.
    ///
    /// # Safety
    /// The CPU must have the features `C` uses.
    #[inline(always)]
    unsafe fn run_start<C: BlockClassifier>(buf: &[u8], at: usize, from: usize) -> usize {
        if at >= BLOCK {
            // Bit 63 is the byte just before `at`.
            let breaks = C::breaks(buf.as_ptr().add(at - BLOCK));
            if breaks != 0 {
                return (at - breaks.leading_zeros() as usize).max(from);
            }
        }
        run_start_slowly(buf, at, from)
    }

    /// [`run_start`] byte by byte, near the start of a buffer or inside a long run.
    #[cold]
    #[inline(never)]
    fn run_start_slowly(buf: &[u8], at: usize, from: usize) -> usize {
        let mut start = at;
        while start > from && is_run_byte(buf[start - 1]) {
            start -= 1;
        }
        start
    }

    /// The first break at or after `at`, or the end of `buf`.
    ///
    /// # Safety
    /// The CPU must have the features `C` uses.
    #[inline(always)]
    unsafe fn run_end<C: BlockClassifier>(buf: &[u8], mut at: usize) -> usize {
        loop {
            let breaks = breaks_at::<C>(buf, at);
            if breaks != 0 {
                return (at + breaks.trailing_zeros() as usize).min(buf.len());
            }
            at += BLOCK;
        }
    }

    /// A mask whose lowest set bit lies in the first 16-bit lane of `breaks` that is zero (a lane
    /// of hash characters); zero if there is none. Lanes above the first may be flagged wrongly.
    #[inline(always)]
    fn clean_lanes(breaks: u64) -> u64 {
        const LOW: u64 = 0x0001_0001_0001_0001;
        const HIGH: u64 = 0x8000_8000_8000_8000;
        breaks.wrapping_sub(LOW) & !breaks & HIGH
    }

    /// The portable classifier, for tests on every CPU.
    #[cfg(test)]
    pub(super) struct ScalarBlocks;

    #[cfg(test)]
    impl BlockClassifier for ScalarBlocks {
        unsafe fn breaks(at: *const u8) -> u64 {
            let block = std::slice::from_raw_parts(at, BLOCK);
            block
                .iter()
                .enumerate()
                .filter(|&(_, &b)| !is_run_byte(b))
                .fold(0, |breaks, (j, _)| breaks | 1 << j)
        }

        unsafe fn any_clean_unit(at: *const u8) -> bool {
            let superblock = std::slice::from_raw_parts(at, SUPERBLOCK);
            superblock
                .chunks(16)
                .any(|lane| lane[..UNIT].iter().all(|&b| is_run_byte(b)))
        }
    }
}

/// The x86_64 classifiers.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::blocks::{any_zero_nibble, BlockClassifier, Sampled};
    use super::{ScanSink, Scanner};

    pub(super) struct Sse2;

    impl BlockClassifier for Sse2 {
        #[inline(always)]
        unsafe fn breaks(at: *const u8) -> u64 {
            let mut runs = 0u64;
            for k in 0..4 {
                let v = _mm_loadu_si128(at.add(16 * k).cast());
                runs |= (run_bytes_sse2(v) as u16 as u64) << (16 * k);
            }
            !runs
        }

        /// Dword `k` of each vector `k` of 16 bytes, four vectors at a time: units at offsets
        /// 0, 20, 40, 60, then 64, 84, 104, 124.
        #[inline(always)]
        unsafe fn any_clean_unit(at: *const u8) -> bool {
            let mut runs = 0u32;
            for half in 0..2 {
                let mut units = _mm_setzero_si128();
                for k in 0..4 {
                    let v = _mm_loadu_si128(at.add(64 * half + 16 * k).cast());
                    let dword = _mm_setr_epi32(
                        -((k == 0) as i32),
                        -((k == 1) as i32),
                        -((k == 2) as i32),
                        -((k == 3) as i32),
                    );
                    units = _mm_or_si128(units, _mm_and_si128(v, dword));
                }
                runs |= (run_bytes_sse2(units) as u16 as u32) << (16 * half);
            }
            any_zero_nibble(!runs)
        }
    }

    /// A bit per byte of `v` that can be in a hash: `0-9`, or `a-z` but `o`, `t`, `u`. SSE2
    /// compares signed bytes only, so each range is shifted to start at -128.
    #[inline(always)]
    unsafe fn run_bytes_sse2(v: __m128i) -> i32 {
        let digit = _mm_cmplt_epi8(
            _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(b'0') as i8)),
            _mm_set1_epi8(i8::MIN + 10),
        );
        let letter = _mm_cmplt_epi8(
            _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(b'a') as i8)),
            _mm_set1_epi8(i8::MIN + 26),
        );
        let excluded = _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'o' as i8)),
            _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b't' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'u' as i8)),
            ),
        );
        _mm_movemask_epi8(_mm_andnot_si128(excluded, _mm_or_si128(digit, letter)))
    }

    pub(super) struct Avx2;

    /// By low nibble, which high nibbles make a hash character: bit 0 for `3` (digits), bit 1
    /// for `6` (`a-n`, not `o`, and `` ` `` is excluded by its low nibble 0), bit 2 for `7`
    /// (`p-z`, not `t`, `u`).
    const BY_LOW_NIBBLE: [u8; 16] = {
        let mut table = [0u8; 16];
        let mut low = 0;
        while low < 16 {
            let digit = low <= 9;
            let a_to_n = low >= 1 && low <= 14;
            let p_to_z = low <= 10 && low != 4 && low != 5;
            table[low] = digit as u8 | (a_to_n as u8) << 1 | (p_to_z as u8) << 2;
            low += 1;
        }
        table
    };
    /// By high nibble, the bit of [`BY_LOW_NIBBLE`] it needs.
    const BY_HIGH_NIBBLE: [u8; 16] = [0, 0, 0, 1, 0, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0];

    impl BlockClassifier for Avx2 {
        #[inline(always)]
        unsafe fn breaks(at: *const u8) -> u64 {
            let first = breaks_avx2(_mm256_loadu_si256(at.cast()));
            let second = breaks_avx2(_mm256_loadu_si256(at.add(32).cast()));
            first | second << 32
        }

        /// Dword `k` of each 128-bit lane of vector `k` of 32 bytes, blended into one: units
        /// at offsets 0, 36, 72, 108 and 16, 52, 88, 124.
        #[inline(always)]
        unsafe fn any_clean_unit(at: *const u8) -> bool {
            let v0 = _mm256_loadu_si256(at.cast());
            let v1 = _mm256_loadu_si256(at.add(32).cast());
            let v2 = _mm256_loadu_si256(at.add(64).cast());
            let v3 = _mm256_loadu_si256(at.add(96).cast());
            let v01 = _mm256_blend_epi32::<0b0010_0010>(v0, v1);
            let v23 = _mm256_blend_epi32::<0b1000_1000>(v2, v3);
            let units = _mm256_blend_epi32::<0b1100_1100>(v01, v23);
            any_zero_nibble(breaks_avx2(units) as u32)
        }
    }

    /// A bit per byte of `v` that cannot be in a hash: its two nibbles' table entries share
    /// no bit.
    #[inline(always)]
    unsafe fn breaks_avx2(v: __m256i) -> u64 {
        let low_table = _mm256_broadcastsi128_si256(_mm_loadu_si128(BY_LOW_NIBBLE.as_ptr().cast()));
        let high_table =
            _mm256_broadcastsi128_si256(_mm_loadu_si128(BY_HIGH_NIBBLE.as_ptr().cast()));
        let nibble = _mm256_set1_epi8(0x0f);
        let low = _mm256_shuffle_epi8(low_table, _mm256_and_si256(v, nibble));
        let high = _mm256_shuffle_epi8(
            high_table,
            _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble),
        );
        let none = _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256());
        _mm256_movemask_epi8(none) as u32 as u64
    }

    /// [`Scanner::scan_region`] with SSE2.
    ///
    /// # Safety
    /// The CPU must have SSE2 (every x86_64 CPU does).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn scan_region_sse2(
        scanner: &Scanner,
        buf: &[u8],
        lo: usize,
        hi: usize,
        base: u64,
        sink: &mut impl ScanSink,
    ) {
        scanner.scan_runs::<Sampled<Sse2>>(buf, lo, hi, base, sink);
    }

    /// [`Scanner::scan_region`] with AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_region_avx2(
        scanner: &Scanner,
        buf: &[u8],
        lo: usize,
        hi: usize,
        base: u64,
        sink: &mut impl ScanSink,
    ) {
        scanner.scan_runs::<Sampled<Avx2>>(buf, lo, hi, base, sink);
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
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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
    use super::blocks::{BlockClassifier, ScalarBlocks, BLOCK};
    use super::*;

    const H1: &str = "0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f";
    const H2: &str = "yfqnqgyp8z830l3yf8pa8nglgapq7yk1";

    fn scanner() -> Scanner {
        Scanner::new("/nix/store", [])
    }

    /// The search as specified, one position at a time: the kernels must find exactly this.
    /// (The hits are built by the same `classify` and `known_hash_hit`: what is compared is
    /// which positions the kernels look at.)
    fn reference_hits(scanner: &Scanner, buf: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for p in 0..buf.len().saturating_sub(HASH_LEN - 1) {
            let window = &buf[p..p + HASH_LEN];
            if !window.iter().all(|&b| is_run_byte(b)) {
                continue;
            }
            let starts_run = p == 0 || !is_run_byte(buf[p - 1]);
            let ends_run = buf.get(p + HASH_LEN).is_none_or(|&b| !is_run_byte(b));
            if starts_run && ends_run {
                if let Some(hit) = scanner.classify(buf, p, 0) {
                    hits.push(hit);
                    continue;
                }
            }
            if scanner.candidates.contains(window) {
                hits.push(scanner.known_hash_hit(buf, p, 0));
            }
        }
        hits
    }

    /// xorshift64*: inputs that are random but the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
        fn hash(&mut self) -> String {
            (0..HASH_LEN)
                .map(|_| *self.pick(NIX_BASE32) as char)
                .collect()
        }
    }

    /// Bytes that mix what the search must tell apart: runs of hash characters of every
    /// length up to 100 (base32, hex, nuked `e`), candidate hashes alone and glued into runs,
    /// store dirs, dashes, names, subpaths, NULs, breaks and arbitrary bytes.
    fn random_input(rng: &mut Rng, candidates: &[String], len: usize) -> Vec<u8> {
        const HEX: &[u8] = b"0123456789abcdef";
        let mut out = Vec::with_capacity(len + 200);
        while out.len() < len {
            match rng.below(12) {
                0 | 1 => {
                    let run = rng.below(101);
                    let alphabet = *rng.pick(&[&NIX_BASE32[..], HEX, b"e"]);
                    out.extend((0..run).map(|_| *rng.pick(alphabet)));
                }
                2 => out.extend_from_slice(rng.pick(candidates).as_bytes()),
                3 => {
                    // A candidate inside a longer run, at any offset.
                    let (before, after) = (rng.below(40), rng.below(40));
                    out.extend((0..before).map(|_| *rng.pick(NIX_BASE32)));
                    out.extend_from_slice(rng.pick(candidates).as_bytes());
                    out.extend((0..after).map(|_| *rng.pick(NIX_BASE32)));
                }
                4 => out.extend_from_slice(rng.pick::<&[u8]>(&[b"/nix/store/", b"/gnu/store/"])),
                5 => out.push(b'-'),
                6 => {
                    let name = *rng.pick(&["openssl-3.0.12-etc", ".hidden", "hi.c", "a", "x+y=z?"]);
                    out.extend_from_slice(name.as_bytes());
                }
                7 => out.extend_from_slice(rng.pick::<&[u8]>(&[b"/etc/ssl", b"/lib/libz.so.1"])),
                8 => out.extend((0..rng.below(40)).map(|_| 0)),
                9 => out.push(*rng.pick(b"otu \n:\"/.")),
                10 => out.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
                _ => {
                    let store_path = format!("/nix/store/{}-{}", rng.hash(), "bash-5.2");
                    out.extend_from_slice(store_path.as_bytes());
                }
            }
        }
        out
    }

    /// Candidates enough that the filter passes probes by chance now and then, so that the
    /// exact look-up after a probe is exercised too.
    fn random_candidates(rng: &mut Rng) -> Vec<String> {
        (0..3000).map(|_| rng.hash()).collect()
    }

    #[test]
    fn every_kernel_finds_what_the_reference_finds_on_random_inputs() {
        let mut rng = Rng(0x5eed);
        let candidates = random_candidates(&mut rng);
        let planted = &candidates[..20];
        let scanners = [
            Scanner::new("/nix/store", []),
            Scanner::new("/nix/store", candidates.iter().map(String::as_str)),
        ];
        let mut total = 0;
        for case in 0..400 {
            let len = if case % 10 == 0 {
                20_000
            } else {
                rng.below(3000)
            };
            let data = random_input(&mut rng, planted, len);
            let shift = rng.below(300);
            for scanner in &scanners {
                let expected = reference_hits(scanner, &data);
                total += expected.len();
                for kernel in Kernel::all() {
                    let scanner = scanner.clone().with_kernel(kernel);
                    assert_eq!(
                        scanner.scan_bytes(&data),
                        expected,
                        "case {case}, {kernel:?}, whole buffer"
                    );
                    // In 4 KiB chunks, from a shifted start, so runs cross chunk boundaries.
                    let mut shifted = vec![0u8; shift];
                    shifted.extend_from_slice(&data);
                    let mut hits = Vec::new();
                    scanner
                        .scan_stream(
                            &shifted[..],
                            0,
                            shift as u64..u64::MAX,
                            &mut ScanBuffer::new(4096),
                            &mut |hit: Hit| {
                                hits.push(Hit {
                                    offset: hit.offset - shift as u64,
                                    ..hit
                                })
                            },
                        )
                        .expect("in-memory read");
                    assert_eq!(hits, expected, "case {case}, {kernel:?}, shift {shift}");
                }
            }
        }
        assert!(total > 2000, "the inputs hold hits of every kind: {total}");
    }

    #[test]
    fn every_kernel_finds_a_lone_run_at_every_offset() {
        let known = "0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f";
        let scanner = Scanner::new("/nix/store", [known]);
        let mut checked = 0;
        for run_len in [16, 31, 32, 33, 47, 64, 65, 200] {
            for at in 0..300 {
                for filler in [b'\0', b'-', b'T'] {
                    let mut data = vec![filler; 700];
                    for (k, byte) in data[at..at + run_len].iter_mut().enumerate() {
                        *byte = NIX_BASE32[(k * 7 + at) % 32];
                    }
                    if run_len >= 32 {
                        // The known hash at the end of the run: found only by its window.
                        let end = at + run_len;
                        data[end - 32..end].copy_from_slice(known.as_bytes());
                    }
                    data[at + run_len..at + run_len + 4].copy_from_slice(b"-foo");
                    let expected = reference_hits(&scanner, &data);
                    checked += expected.len();
                    for kernel in Kernel::all() {
                        let scanner = scanner.clone().with_kernel(kernel);
                        let found = scanner.scan_bytes(&data);
                        assert_eq!(found, expected, "{kernel:?}, run of {run_len} at {at}");
                        // Two regions that meet where the run's windows start find what one
                        // does (a region's end bounds where windows start).
                        let last_window = (at + run_len).saturating_sub(HASH_LEN);
                        for cut in [at, at + 1, at + 2, last_window, last_window + 1] {
                            let mut hits = Vec::new();
                            for (lo, hi) in [(0, cut), (cut, data.len())] {
                                scanner.scan_region(&data, lo, hi, 0, &mut |h| hits.push(h));
                            }
                            assert_eq!(hits, expected, "{kernel:?}, {run_len} at {at}, cut {cut}");
                        }
                    }
                }
            }
        }
        assert!(
            checked >= 6 * 300 * 3,
            "every run of 32 or more is found: {checked}"
        );
    }

    #[test]
    fn the_classifiers_agree_with_the_byte_table() {
        let bytes: Vec<u8> = (0..=255).collect();
        for block in bytes.chunks(BLOCK) {
            let expected = block
                .iter()
                .enumerate()
                .filter(|&(_, &b)| !is_run_byte(b))
                .fold(0u64, |m, (j, _)| m | 1 << j);
            // SAFETY: each block is 64 bytes; the classifiers' features are checked.
            unsafe {
                assert_eq!(ScalarBlocks::breaks(block.as_ptr()), expected);
                #[cfg(target_arch = "x86_64")]
                {
                    assert_eq!(x86::Sse2::breaks(block.as_ptr()), expected);
                    if std::arch::is_x86_feature_detected!("avx2") {
                        assert_eq!(x86::Avx2::breaks(block.as_ptr()), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn a_known_hash_in_a_long_run_is_found_at_every_offset_by_the_filter() {
        let mut rng = Rng(7);
        let candidates = random_candidates(&mut rng);
        let known = KnownHashes::new(
            candidates
                .iter()
                .map(|c| <[u8; HASH_LEN]>::try_from(c.as_bytes()).expect("32 bytes"))
                .collect(),
        );
        let mut run: Vec<u8> = (0..400).map(|_| *rng.pick(NIX_BASE32)).collect();
        for at in 0..=run.len() - HASH_LEN {
            let saved = run.clone();
            run[at..at + HASH_LEN].copy_from_slice(candidates[at % 3000].as_bytes());
            let mut found = Vec::new();
            known.search(&run, 0, run.len() - HASH_LEN, |k| found.push(k));
            assert_eq!(found, vec![at], "candidate at {at}");
            run = saved;
        }
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
