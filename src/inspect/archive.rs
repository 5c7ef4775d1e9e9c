//! Reads the member table of an `ar` archive (`.a`, `.rlib`) in the GNU and BSD formats, and
//! places offsets in members, and inside ELF members in their sections and symbols.
//!
//! The format: `!<arch>\n`, then for each member a 60-byte header (name, dates, ids, mode,
//! decimal size, then a backquote and a newline) and its data, padded to an even offset. GNU keeps long names in a
//! `//` member and refers to them as `/<offset>`; BSD writes `#1/<length>` and puts the name
//! at the start of the data. Symbol-table members (`/`, `/SYM64/`, `__.SYMDEF…`) are members
//! like any other here.

use std::collections::HashSet;

use super::elf::{ElfFile, Span};
use super::place::Place;
use super::read_at::ReadAt;

/// The magic that starts every archive.
pub const MAGIC: &[u8] = b"!<arch>\n";
/// Members read from one archive at most.
pub const MAX_MEMBERS: usize = 1 << 20;
const HEADER_LEN: u64 = 60;

/// One member: its name and where its data lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub data: Span,
}

fn read_at(file: &dyn ReadAt, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, offset)
        .map_err(|e| format!("archive: {e}"))?;
    Ok(bytes)
}

fn decimal(field: &[u8], what: &str, at: u64) -> Result<u64, String> {
    let text = String::from_utf8_lossy(field);
    text.trim().parse().map_err(|_| {
        format!(
            "archive member header at {at:#x}: bad {what} {:?}",
            text.trim()
        )
    })
}

/// Lists the members of the archive `file` of `len` bytes.
pub fn members(file: &dyn ReadAt, len: u64) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    let mut long_names: Vec<u8> = Vec::new();
    let mut at = MAGIC.len() as u64;
    while at + HEADER_LEN <= len {
        if members.len() >= MAX_MEMBERS {
            return Err(format!("more than {MAX_MEMBERS} members"));
        }
        let header = read_at(file, at, HEADER_LEN as usize)?;
        if &header[58..60] != b"`\n" {
            return Err(format!("archive member header at {at:#x}: bad terminator"));
        }
        let size = decimal(&header[48..58], "size", at)?;
        let mut data = Span {
            base: at + HEADER_LEN,
            len: size,
        };
        if data.base.checked_add(size).is_none_or(|end| end > len) {
            return Err(format!(
                "archive member at {at:#x} claims {size} bytes, past the end"
            ));
        }
        let raw = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .to_string();
        let name = if let Some(length) = raw.strip_prefix("#1/") {
            // BSD: the name is the first <length> bytes of the data.
            let length = decimal(length.as_bytes(), "name length", at)?.min(size);
            let name = read_at(file, data.base, length as usize)?;
            data = Span {
                base: data.base + length,
                len: size - length,
            };
            String::from_utf8_lossy(&name)
                .trim_end_matches('\0')
                .to_string()
        } else if raw == "//" {
            long_names = read_at(file, data.base, size.min(16 << 20) as usize)?;
            raw
        } else if let Some(offset) = raw.strip_prefix('/').and_then(|o| o.parse::<usize>().ok()) {
            // GNU: "/<offset>" into the long-name table, each name ending in "/\n".
            let tail = long_names.get(offset..).unwrap_or_default();
            let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
            String::from_utf8_lossy(&tail[..end])
                .trim_end_matches('/')
                .to_string()
        } else if raw == "/" || raw == "/SYM64/" {
            raw
        } else {
            raw.trim_end_matches('/').to_string()
        };
        members.push(Member { name, data });
        at = at + HEADER_LEN + size + (size & 1);
    }
    Ok(members)
}

/// Places each offset in its member, and inside an ELF member in its section and symbol.
pub fn place(file: &dyn ReadAt, len: u64, offsets: &[u64]) -> Result<Vec<Place>, String> {
    let mut places = vec![Place::default(); offsets.len()];
    if offsets.is_empty() {
        return Ok(places);
    }
    let members = members(file, len)?;
    for member in &members {
        let end = member.data.base + member.data.len;
        let inside: Vec<usize> = (0..offsets.len())
            .filter(|&i| (member.data.base..end).contains(&offsets[i]))
            .collect();
        if inside.is_empty() {
            continue;
        }
        for &i in &inside {
            places[i].member = Some(member.name.clone());
        }
        let magic = read_at(file, member.data.base, member.data.len.min(4) as usize)?;
        if !magic.starts_with(b"\x7fELF") {
            continue;
        }
        // A member that is not a sound ELF file keeps just its name.
        let Ok(elf) = ElfFile::parse(file, member.data) else {
            continue;
        };
        let relative: Vec<u64> = inside
            .iter()
            .map(|&i| offsets[i] - member.data.base)
            .collect();
        if let Ok((inner, _)) = elf.place(file, &relative, &HashSet::new()) {
            for (&i, place) in inside.iter().zip(inner) {
                places[i] = Place {
                    member: Some(member.name.clone()),
                    ..place
                };
            }
        }
    }
    Ok(places)
}
