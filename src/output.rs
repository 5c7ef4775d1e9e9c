//! Where reports go: stdout, and files written whole. A file is written beside itself and
//! renamed over it, so a run cancelled halfway leaves the old file, never half a new one.
//! What exists and is not a regular file (`/dev/stdout`, a FIFO) is written into as it is:
//! it is never replaced.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::escape::escape_path;

/// Writes to stdout; a reader that went away (`stowaway check | head`) is not an error: the
/// exit code still says what the audit found.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context("writing the output")),
        Ok(()) => Ok(()),
    }
}

/// Writes `file` whole with what `write` produces; `what` names it in an error.
pub fn to_file(
    file: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let context = || format!("writing {what} {}", escape_path(file));
    if std::fs::metadata(file).is_ok_and(|m| !m.is_file()) {
        let mut out = io::BufWriter::new(std::fs::File::create(file).with_context(context)?);
        return write(&mut out)
            .and_then(|()| out.flush())
            .with_context(context);
    }
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let partial = file.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::File::create(&partial).and_then(|created| {
        let mut out = io::BufWriter::new(created);
        write(&mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&partial, file)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.json");
        std::fs::write(&file, "old").unwrap();
        to_file(&file, "report", |out| out.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        let failed = to_file(&file, "report", |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        let message = format!("{:#}", failed.unwrap_err());
        assert!(message.starts_with("writing report "), "{message}");
        assert!(message.ends_with("report.json: disk full"), "{message}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "new",
            "the old one stays"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn what_is_not_a_regular_file_is_written_into_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        to_file(&fifo, "report", |out| out.write_all(b"through")).unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
