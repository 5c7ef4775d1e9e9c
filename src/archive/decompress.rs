//! Decompressing readers with a bound on what they may produce, and the peek that lets a
//! reader look at a stream's first bytes and still hand on the whole stream.
//!
//! The bound (decompression bombs): a stream may produce at most
//! [`Limits::max_unpacked_bytes`](super::Limits::max_unpacked_bytes), and at most
//! [`Limits::max_expansion_ratio`](super::Limits::max_expansion_ratio) times the
//! compressed bytes consumed so far once past [`RATIO_GRACE_BYTES`]. Past either the read
//! fails with a [`Limit`](super::ErrorKind::Limit) error naming the bound. The decoders'
//! own memory is capped too: xz at [`XZ_MEMORY_LIMIT`], zstd windows at 2^27 bytes (its
//! default; `zstd --long=31` frames are refused rather than allocating 2 GiB).

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::detect::{Compression, SNIFF_BYTES};
use super::error::{limit_io_error, LimitExceeded};
use super::limits::Limits;

/// Output a stream may produce before the expansion ratio is checked: a small stream of
/// zeros legitimately expands far past any sane ratio.
pub(crate) const RATIO_GRACE_BYTES: u64 = 256 << 20;

/// The most memory liblzma may use for one stream: `xz -9` needs 65 MiB.
pub(crate) const XZ_MEMORY_LIMIT: u64 = 96 << 20;

const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// A stream handed on by value between readers.
pub(crate) type Stream<'a> = Box<dyn Read + 'a>;

/// `input` decompressed, bounded by `limits`.
pub(crate) fn decompress<'a>(
    compression: Compression,
    input: impl Read + 'a,
    limits: &Limits,
) -> io::Result<Stream<'a>> {
    decompress_with_grace(compression, input, limits, RATIO_GRACE_BYTES)
}

fn decompress_with_grace<'a>(
    compression: Compression,
    input: impl Read + 'a,
    limits: &Limits,
    ratio_grace: u64,
) -> io::Result<Stream<'a>> {
    if compression == Compression::None {
        return Ok(Box::new(input));
    }
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: input,
        count: Arc::clone(&consumed),
    };
    let decoder: Stream<'a> = match compression {
        Compression::None => unreachable!("handled above"),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(counted, stream))
        }
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(counted)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(decoder)
        }
    };
    Ok(Box::new(Bounded {
        inner: decoder,
        compression,
        consumed,
        produced: 0,
        max_bytes: limits.max_unpacked_bytes,
        max_ratio: limits.max_expansion_ratio,
        ratio_grace,
    }))
}

/// Counts the compressed bytes a decoder consumes.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

/// An error of the input under a decoder, marked so that it is not taken for corrupt
/// compressed data on its way out.
#[derive(Debug)]
struct InputError(io::Error);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InputError {}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), InputError(e)))?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Bounded<'a> {
    inner: Stream<'a>,
    compression: Compression,
    consumed: Arc<AtomicU64>,
    produced: u64,
    max_bytes: u64,
    max_ratio: u64,
    ratio_grace: u64,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| {
            let passes = e
                .get_ref()
                .is_some_and(|inner| inner.is::<InputError>() || inner.is::<LimitExceeded>());
            if passes || e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                // Whatever the decoder's own error kind (zstd says `Other`), it is corrupt data.
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("corrupt {} data: {e}", self.compression.name()),
                )
            }
        })?;
        self.produced += n as u64;
        if self.produced > self.max_bytes {
            return Err(limit_io_error(format!(
                "{} stream unpacks to more than {} bytes (the bound on unpacked bytes)",
                self.compression.name(),
                self.max_bytes
            )));
        }
        let consumed = self.consumed.load(Ordering::Relaxed).max(1);
        if self.produced > self.ratio_grace && self.produced / consumed > self.max_ratio {
            return Err(limit_io_error(format!(
                "{} stream unpacks {} bytes from {} (over the {}:1 bound on expansion: a decompression bomb?)",
                self.compression.name(),
                self.produced,
                consumed,
                self.max_ratio
            )));
        }
        Ok(n)
    }
}

/// A stream whose first bytes have been read to look at them, then handed back in front.
pub(crate) struct Peeked<R> {
    head: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: Read> Peeked<R> {
    /// Reads up to [`SNIFF_BYTES`] (fewer only at the end of the stream).
    pub(crate) fn new(mut inner: R) -> io::Result<Peeked<R>> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut inner)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)?;
        Ok(Peeked { head, at: 0, inner })
    }

    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.head.len() {
            let n = buf.len().min(self.head.len() - self.at);
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ErrorKind;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_bomb_trips_the_bound_on_unpacked_bytes() {
        let bomb = gzip(&vec![0; 8 << 20]);
        let limits = Limits {
            max_unpacked_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut stream = decompress(Compression::Gzip, &bomb[..], &limits).unwrap();
        let error = io::copy(&mut stream, &mut io::sink()).unwrap_err();
        let error = crate::archive::Error::from_io(error);
        assert_eq!(error.kind(), ErrorKind::Limit);
        assert!(
            error.to_string().contains("more than 1048576 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_bomb_trips_the_bound_on_expansion() {
        // Zeros gzip at about 1000:1, past a 100:1 bound once 1 MiB is out.
        let bomb = gzip(&vec![0; 8 << 20]);
        let limits = Limits {
            max_expansion_ratio: 100,
            ..Limits::default()
        };
        let mut stream =
            decompress_with_grace(Compression::Gzip, &bomb[..], &limits, 1 << 20).unwrap();
        let error =
            crate::archive::Error::from_io(io::copy(&mut stream, &mut io::sink()).unwrap_err());
        assert_eq!(error.kind(), ErrorKind::Limit);
        assert!(error.to_string().contains("100:1"), "{error}");
    }

    #[test]
    fn peeking_hands_back_every_byte() {
        let bytes: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        let mut peeked = Peeked::new(&bytes[..]).unwrap();
        assert_eq!(peeked.head(), &bytes[..512]);
        let mut all = Vec::new();
        peeked.read_to_end(&mut all).unwrap();
        assert_eq!(all, bytes);
        assert_eq!(Peeked::new(&b"ab"[..]).unwrap().head(), b"ab");
    }
}
