//! Visits an archive with `stowaway::archive`, reading every member's bytes in 64 KiB
//! chunks as a scanner would (ELF members up to 64 MiB are read into memory instead, as
//! the audit will for random access), and prints what it saw, the CPU time, and the
//! process's peak resident memory (VmHWM): how the readers' memory and throughput are
//! measured (see src/archive/mod.rs).
//!
//!     cargo run --release --example archive_peak -- image.tar.gz

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use stowaway::archive::{self, Limits, MemberKind};

fn main() -> anyhow::Result<()> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: archive_peak ARCHIVE"))?
        .into();
    let started = Instant::now();
    let archive = archive::open(&path, &Limits::default())?
        .ok_or_else(|| anyhow::anyhow!("{}: not an archive", path.display()))?;
    let listed = started.elapsed();
    let mut bytes = 0u64;
    let mut held = 0u64;
    let mut chunk = vec![0u8; 64 << 10];
    let summary = archive.visit(&mut |member| {
        if let MemberKind::File(mut file) = member.kind {
            let mut magic = [0u8; 4];
            let head = file.contents.read(&mut magic)?;
            bytes += head as u64;
            if head == 4 && &magic == b"\x7fELF" && file.size <= 64 << 20 {
                let rest = file.contents.read_to_vec(64 << 20)?;
                held = held.max(rest.len() as u64 + 4);
                bytes += rest.len() as u64;
            } else {
                loop {
                    let n = file.contents.read(&mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    bytes += n as u64;
                }
            }
        }
        Ok(())
    })?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {:?}, {} members, {} content bytes, largest ELF held {} bytes, listed in {:.2?}, total {:.2?}, {peak}",
        path.display(),
        archive.format(),
        summary.members,
        bytes,
        held,
        listed,
        started.elapsed()
    )?;
    Ok(())
}
