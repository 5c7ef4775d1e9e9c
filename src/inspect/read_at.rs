//! Reading a file's bytes by position, from the file or from what is already in memory.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes read by position: a file (with `pread`), or a buffer (tests and fuzzing).
pub trait ReadAt {
    /// Fills `buf` from `offset`, or fails if the source ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for &[u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let source = usize::try_from(offset)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(source);
        Ok(())
    }
}

/// A file whose first bytes are already in memory (the scan's first chunk): reads inside
/// them cost no system call, the rest go to the file.
pub struct Prefixed<'a> {
    pub prefix: &'a [u8],
    pub file: &'a File,
}

impl ReadAt for Prefixed<'_> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let inside = usize::try_from(offset)
            .ok()
            .and_then(|start| self.prefix.get(start..start.checked_add(buf.len())?));
        match inside {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => FileExt::read_exact_at(self.file, buf, offset),
        }
    }
}
