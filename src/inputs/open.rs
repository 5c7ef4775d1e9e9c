//! Opening the files the walk found: without following a symlink, without blocking on a
//! FIFO put in a file's place, and remembering the size and time they had, so that a file
//! that changes while it is read is an error rather than a silent partial scan.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{FileType, Mode, OFlags};

use super::io_message;

/// A regular file the walk found: its directory (open, when the walk keeps one) and name.
#[derive(Debug)]
pub struct FileRef {
    /// The directory it is in, opened by the walk; `None` where the walk goes by path.
    pub dir: Option<Arc<OwnedFd>>,
    /// That directory's path.
    pub dir_path: Arc<PathBuf>,
    pub name: OsString,
}

impl FileRef {
    /// A file known by its path alone.
    pub fn at(path: &Path) -> FileRef {
        FileRef {
            dir: None,
            dir_path: Arc::new(path.parent().unwrap_or(Path::new("/")).to_path_buf()),
            name: path.file_name().unwrap_or_default().to_os_string(),
        }
    }

    /// Its path (what the loader and the reports name).
    pub fn path(&self) -> PathBuf {
        self.dir_path.join(&self.name)
    }

    /// Opens it like [`open_regular`]: relative to its directory when the walk keeps that
    /// open, which spares the kernel the lookup of every directory above it.
    pub fn open(&self) -> io::Result<Option<Opened>> {
        let Some(dir) = &self.dir else {
            return open_regular(&self.path());
        };
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&**dir, self.name.as_os_str(), flags, Mode::empty())?;
        Opened::from(File::from(fd))
    }
}

/// A regular file opened for reading, with what its NAR serialisation needs.
pub struct Opened {
    pub file: File,
    /// The size at open time: nothing past it is read, so a growing file cannot stall us.
    pub size: u64,
    pub executable: bool,
    /// The modification and change times at open time (seconds, nanoseconds): the change
    /// time moves on every write even where the modification time is put back.
    times: [(i64, u64); 2],
}

impl Opened {
    /// A file just opened, if it is still a regular file.
    fn from(file: File) -> io::Result<Option<Opened>> {
        let stat = rustix::fs::fstat(&file)?;
        Ok(
            (FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile).then(|| Opened {
                size: stat.st_size as u64,
                executable: stat.st_mode & 0o100 != 0,
                times: times(&stat),
                file,
            }),
        )
    }

    /// Fails unless `read` bytes were read and the file is still as it was when opened: what
    /// was scanned is then exactly the file, not a mix of two versions of it.
    pub fn unchanged(&self, read: u64) -> Result<(), String> {
        let now = rustix::fs::fstat(&self.file).map_err(|e| io_message(&e.into()))?;
        let changed = if read < self.size {
            format!("it shrank from {} to {read} bytes", self.size)
        } else if now.st_size as u64 != self.size {
            format!("its size went from {} to {} bytes", self.size, now.st_size)
        } else if times(&now) != self.times {
            "it was modified".to_string()
        } else {
            return Ok(());
        };
        Err(format!(
            "changed while it was read ({changed}); audit a finished build"
        ))
    }
}

fn times(stat: &rustix::fs::Stat) -> [(i64, u64); 2] {
    [
        (stat.st_mtime, stat.st_mtime_nsec),
        (stat.st_ctime, stat.st_ctime_nsec),
    ]
}

/// Opens a regular file for reading without following a symlink or blocking on a FIFO;
/// `None` if it is no longer a regular file.
pub fn open_regular(path: &Path) -> io::Result<Option<Opened>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    Opened::from(file)
}
