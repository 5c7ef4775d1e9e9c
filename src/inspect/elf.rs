//! Reads what the audit needs from an ELF file, piece by piece with `pread`.
//!
//! The file is never loaded whole: the header, program headers, section headers and the
//! dynamic section are read always (they are small), the symbol tables only when the caller
//! has offsets to place or symbol names to look for. goblin parses each piece; every count and
//! offset is checked against the file size and the limits below before anything is read, so a
//! hostile header (a section table past the end, 10^8 symbols claimed) is an error, not an
//! allocation.

use std::collections::{HashMap, HashSet};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{DF_1_PIE, DT_FLAGS_1, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME};
use goblin::elf::header::{ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD};
use goblin::elf::section_header::{
    SHF_ALLOC, SHF_EXECINSTR, SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERSYM, SHT_NOBITS, SHT_PROGBITS,
    SHT_STRTAB, SHT_SYMTAB,
};
use goblin::elf::sym::{Sym, Symtab};
use goblin::elf::{Elf, ProgramHeader, SectionHeader};

use super::demangle::demangle;
use super::place::Place;
use super::read_at::ReadAt;
use crate::escape::escape_bytes;
use crate::libraries::Area;
use crate::model::{ElfFacts, ElfType};

/// The largest table (symbols, their names, section headers) read from one file.
pub const MAX_TABLE_BYTES: u64 = 256 << 20;

/// One section, as the placing of offsets needs it.
#[derive(Debug, Clone)]
struct Section {
    name: String,
    offset: u64,
    size: u64,
    addr: u64,
    alloc: bool,
    exec: bool,
    kind: u32,
    link: u32,
    /// `sh_info`: for a version definition section, how many definitions it holds.
    info: u32,
}

impl Section {
    /// Whether the file offset lies in the section's bytes (sizes come from the file: no
    /// overflow, whatever they claim).
    fn contains(&self, offset: u64) -> bool {
        (self.offset..self.offset.saturating_add(self.size)).contains(&offset)
    }
}

/// A parsed ELF file: its facts, and what is needed to place offsets and find symbols.
#[derive(Debug)]
pub struct ElfFile {
    pub facts: ElfFacts,
    ctx: Ctx,
    sections: Vec<Section>,
    /// File ranges of `PT_LOAD` segments.
    loads: Vec<(u64, u64)>,
    /// File range of the interpreter path, and of each RPATH/RUNPATH string.
    interp: Option<(u64, u64)>,
    search_paths: Vec<(u64, u64, &'static str)>,
    /// Where the ELF data starts in the file (an archive member's data) and its length.
    base: u64,
    len: u64,
}

/// One symbol table with its string table.
struct Symbols {
    symbols: Vec<Sym>,
    names: Vec<u8>,
    /// Where the names lie in the file.
    names_at: u64,
}

impl Symbols {
    /// Records which of `wanted` the table defines (names compared as bytes: most symbols
    /// are neither wanted nor near a hit).
    fn defined(&self, wanted: &HashSet<&str>, defined: &mut HashSet<String>) {
        if wanted.is_empty() {
            return;
        }
        let wanted: HashSet<&[u8]> = wanted.iter().map(|w| w.as_bytes()).collect();
        for sym in self.symbols.iter().filter(|s| s.st_shndx != 0) {
            if let Some(name) = raw_name_at(&self.names, sym.st_name).filter(|n| wanted.contains(n))
            {
                defined.insert(String::from_utf8_lossy(name).into_owned());
            }
        }
    }

    /// (file start, end or start when unsized, name) of the defined symbols in the sections
    /// that hold a hit, in order.
    fn spans(&self, elf: &ElfFile, hit_sections: &[bool]) -> Vec<(u64, u64, usize)> {
        let mut spans: Vec<(u64, u64, usize)> = self
            .symbols
            .iter()
            .filter(|sym| {
                sym.st_shndx != 0 && hit_sections.get(sym.st_shndx).copied().unwrap_or(false)
            })
            .map(|sym| {
                let section = &elf.sections[sym.st_shndx];
                let start = if elf.facts.kind == ElfType::Relocatable {
                    section.offset.saturating_add(sym.st_value)
                } else {
                    sym.st_value
                        .wrapping_sub(section.addr)
                        .wrapping_add(section.offset)
                };
                (start, start.saturating_add(sym.st_size), sym.st_name)
            })
            .collect();
        spans.sort_unstable();
        spans
    }

    /// The symbol name that `offset` falls in, if it lies in this table's names.
    fn name_around(&self, offset: u64) -> Option<String> {
        let at = usize::try_from(offset.checked_sub(self.names_at)?).ok()?;
        if at >= self.names.len() {
            return None;
        }
        let start = self.names[..at]
            .iter()
            .rposition(|&b| b == 0)
            .map_or(0, |p| p + 1);
        c_string(&self.names, start).map(|n| escape_bytes(demangle(&n).display().as_bytes()))
    }
}

/// Where an ELF image lies: a whole file, or an archive member's data inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub base: u64,
    pub len: u64,
}

/// Reads `len` bytes at `offset` of `span`, refusing what lies past its end or over the limit.
fn read_region(
    file: &dyn ReadAt,
    span: Span,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let end = offset.checked_add(len).filter(|&end| end <= span.len);
    if end.is_none() {
        return Err(format!(
            "{what} at {offset:#x}+{len:#x} lies past the end of the file"
        ));
    }
    if len > MAX_TABLE_BYTES {
        return Err(format!(
            "{what} of {len} bytes is over the {MAX_TABLE_BYTES}-byte limit"
        ));
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, span.base + offset)
        .map_err(|e| format!("reading {what}: {e}"))?;
    Ok(bytes)
}

/// The bytes of the name at `at` in a string table, up to its NUL (no copy, no UTF-8 check).
fn raw_name_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let tail = bytes.get(at..)?;
    let end = tail.iter().position(|&b| b == 0)?;
    Some(&tail[..end])
}

/// A symbol name at `at` in a string table, borrowed.
fn name_at(bytes: &[u8], at: usize) -> Option<&str> {
    std::str::from_utf8(raw_name_at(bytes, at)?).ok()
}

/// A string at `at` in a string-table region (up to its NUL).
fn c_string(bytes: &[u8], at: usize) -> Option<String> {
    let tail = bytes.get(at..)?;
    let end = tail.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

impl ElfFile {
    /// Parses the headers of the ELF image at `span` of `file`.
    pub fn parse(file: &dyn ReadAt, span: Span) -> Result<ElfFile, String> {
        let head = read_region(file, span, 0, span.len.min(64), "ELF header")?;
        let header = Elf::parse_header(&head).map_err(|e| format!("ELF header: {e}"))?;
        let container = header.container().map_err(|e| e.to_string())?;
        let endian = header.endianness().map_err(|e| e.to_string())?;
        let ctx = Ctx::new(container, endian);

        let phdr_size = ProgramHeader::size(ctx) as u64;
        let phdr_bytes = read_region(
            file,
            span,
            header.e_phoff,
            u64::from(header.e_phnum) * phdr_size,
            "program headers",
        )?;
        let phdrs = ProgramHeader::parse(&phdr_bytes, 0, usize::from(header.e_phnum), ctx)
            .map_err(|e| format!("program headers: {e}"))?;

        let sections = if header.e_shoff == 0 {
            Vec::new()
        } else {
            Self::sections(
                file,
                span,
                header.e_shoff,
                header.e_shnum,
                header.e_shstrndx,
                ctx,
            )?
        };

        let loads = phdrs
            .iter()
            .filter(|p| p.p_type == PT_LOAD)
            .map(|p| (p.p_offset, p.p_offset.saturating_add(p.p_filesz)))
            .collect();
        let mut elf = ElfFile {
            facts: ElfFacts {
                kind: ElfType::Other,
                interpreter: None,
                needed: Vec::new(),
                soname: None,
                rpath: Vec::new(),
                runpath: Vec::new(),
                stripped: !sections.iter().any(|s| s.kind == SHT_SYMTAB),
            },
            ctx,
            sections,
            loads,
            interp: None,
            search_paths: Vec::new(),
            base: span.base,
            len: span.len,
        };
        if let Some(p) = phdrs.iter().find(|p| p.p_type == PT_INTERP) {
            let bytes = read_region(file, span, p.p_offset, p.p_filesz, "interpreter")?;
            elf.interp = Some((p.p_offset, p.p_offset + p.p_filesz));
            elf.facts.interpreter =
                c_string(&bytes, 0).or_else(|| Some(String::from_utf8_lossy(&bytes).into_owned()));
        }
        let mut pie = false;
        if let Some(p) = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC) {
            pie = elf.read_dynamic(file, p)?;
        }
        elf.facts.kind = match header.e_type {
            ET_REL => ElfType::Relocatable,
            ET_EXEC if elf.facts.interpreter.is_some() => ElfType::DynamicExecutable,
            ET_EXEC => ElfType::StaticExecutable,
            ET_DYN if elf.facts.interpreter.is_some() => ElfType::DynamicExecutable,
            ET_DYN if pie => ElfType::StaticPie,
            ET_DYN => ElfType::SharedObject,
            _ => ElfType::Other,
        };
        Ok(elf)
    }

    fn sections(
        file: &dyn ReadAt,
        span: Span,
        shoff: u64,
        shnum: u16,
        shstrndx: u16,
        ctx: Ctx,
    ) -> Result<Vec<Section>, String> {
        let size = SectionHeader::size(ctx) as u64;
        // A count of 0 with a table present means the count is in the first header's sh_size.
        let first = read_region(file, span, shoff, size, "section headers")?;
        let first = SectionHeader::parse_from(&first, 0, 1, ctx)
            .map_err(|e| format!("section headers: {e}"))?;
        let count = match shnum {
            0 => first.first().map_or(0, |h| h.sh_size),
            n => u64::from(n),
        };
        let table = read_region(
            file,
            span,
            shoff,
            count.saturating_mul(size),
            "section headers",
        )?;
        let headers = SectionHeader::parse_from(&table, 0, count as usize, ctx)
            .map_err(|e| format!("section headers: {e}"))?;
        let names = headers
            .get(usize::from(shstrndx))
            .filter(|h| h.sh_type != SHT_NOBITS)
            .map(|h| read_region(file, span, h.sh_offset, h.sh_size, "section names"))
            .transpose()?
            .unwrap_or_default();
        Ok(headers
            .iter()
            .map(|h| Section {
                name: c_string(&names, h.sh_name).unwrap_or_default(),
                offset: h.sh_offset,
                size: if h.sh_type == SHT_NOBITS {
                    0
                } else {
                    h.sh_size
                },
                addr: h.sh_addr,
                alloc: h.sh_flags & u64::from(SHF_ALLOC) != 0,
                exec: h.sh_flags & u64::from(SHF_EXECINSTR) != 0,
                kind: h.sh_type,
                link: h.sh_link,
                info: h.sh_info,
            })
            .collect())
    }

    fn span(&self) -> Span {
        Span {
            base: self.base,
            len: self.len,
        }
    }

    /// Reads DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH; returns whether DF_1_PIE is set.
    fn read_dynamic(&mut self, file: &dyn ReadAt, dynamic: &ProgramHeader) -> Result<bool, String> {
        let bytes = read_region(
            file,
            self.span(),
            dynamic.p_offset,
            dynamic.p_filesz,
            "dynamic section",
        )?;
        let word = if self.ctx.container == Container::Big {
            8
        } else {
            4
        };
        let read_word = |at: usize| -> Option<u64> {
            let raw = bytes.get(at..at + word)?;
            let mut buf = [0u8; 8];
            Some(match (word, self.ctx.le) {
                (8, Endian::Little) => {
                    buf.copy_from_slice(raw);
                    u64::from_le_bytes(buf)
                }
                (8, _) => {
                    buf.copy_from_slice(raw);
                    u64::from_be_bytes(buf)
                }
                (_, Endian::Little) => {
                    u64::from(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
                }
                _ => u64::from(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]])),
            })
        };
        let mut entries = Vec::new();
        let mut at = 0;
        while let (Some(tag), Some(value)) = (read_word(at), read_word(at + word)) {
            if tag == 0 {
                break;
            }
            entries.push((tag, value));
            at += 2 * word;
        }
        let pie = entries
            .iter()
            .any(|&(tag, value)| tag == DT_FLAGS_1 && value & DF_1_PIE != 0);
        // The strings live in the section the dynamic section links to (.dynstr).
        let Some(strtab) = self
            .sections
            .iter()
            .find(|s| s.offset == dynamic.p_offset)
            .and_then(|s| self.sections.get(s.link as usize))
            .cloned()
        else {
            return Ok(pie);
        };
        let strings = read_region(
            file,
            self.span(),
            strtab.offset,
            strtab.size,
            "dynamic strings",
        )?;
        for (tag, value) in entries {
            let Some(text) = usize::try_from(value)
                .ok()
                .and_then(|v| c_string(&strings, v))
            else {
                continue;
            };
            let range = (
                strtab.offset + value,
                strtab.offset + value + text.len() as u64,
            );
            match tag {
                DT_NEEDED => self.facts.needed.push(text),
                DT_SONAME => self.facts.soname = Some(text),
                DT_RPATH => {
                    self.search_paths.push((range.0, range.1, "rpath"));
                    self.facts.rpath.extend(text.split(':').map(str::to_string));
                }
                DT_RUNPATH => {
                    self.search_paths.push((range.0, range.1, "runpath"));
                    self.facts
                        .runpath
                        .extend(text.split(':').map(str::to_string));
                }
                _ => {}
            }
        }
        Ok(pie)
    }

    /// The parts of the file where strings and symbol names live: string tables and loaded
    /// data (not code, not debug info). `None` when the file has no section table, so all of
    /// it must be searched.
    pub fn string_ranges(&self) -> Option<Vec<(u64, u64, Area)>> {
        if self.sections.is_empty() {
            return None;
        }
        let mut ranges: Vec<(u64, u64, Area)> = self
            .sections
            .iter()
            .filter(|s| s.size > 0)
            .filter_map(|s| {
                let area = match s.kind {
                    SHT_STRTAB => Area::Names,
                    SHT_PROGBITS if s.alloc && !s.exec => Area::Data,
                    _ => return None,
                };
                let start = self.base.saturating_add(s.offset);
                Some((start, start.saturating_add(s.size), area))
            })
            .collect();
        ranges.sort_unstable_by_key(|&(start, end, _)| (start, end));
        Some(ranges)
    }

    /// Where each of `offsets` sits (section, loaded, dynamic-linkage role), and, with the
    /// symbol tables read once, the enclosing symbol of each and which of `wanted` symbol
    /// names the file defines.
    pub fn place(
        &self,
        file: &dyn ReadAt,
        offsets: &[u64],
        wanted: &HashSet<&str>,
    ) -> Result<(Vec<Place>, HashSet<String>), String> {
        let mut places: Vec<Place> = offsets
            .iter()
            .map(|&offset| self.place_section(offset))
            .collect();
        let mut defined = HashSet::new();
        if offsets.is_empty() && wanted.is_empty() {
            return Ok((places, defined));
        }
        // The sections that hold an offset: only their symbols can enclose one.
        let mut hit_sections = vec![false; self.sections.len()];
        for &offset in offsets {
            if let Some(index) = self
                .sections
                .iter()
                .position(|s| s.size > 0 && s.contains(offset))
            {
                hit_sections[index] = true;
            }
        }
        // .symtab when present (a linked file's .symtab holds its dynamic symbols too), else
        // .dynsym.
        let mut tables: Vec<&Section> = self
            .sections
            .iter()
            .filter(|s| s.kind == SHT_SYMTAB || s.kind == SHT_DYNSYM)
            .collect();
        if tables.iter().any(|s| s.kind == SHT_SYMTAB) {
            tables.retain(|s| s.kind == SHT_SYMTAB);
        }
        for table in tables {
            let Some(table) = self.symbols(file, table)? else {
                continue;
            };
            table.defined(wanted, &mut defined);
            let spans = table.spans(self, &hit_sections);
            for (place, &offset) in places.iter_mut().zip(offsets) {
                if place.symbol.is_none() {
                    place.symbol = self.enclosing(&spans, offset, &table.names);
                }
                // A hit inside this table's own names is the name of a symbol (`<hash>-hi.c`).
                if place.symbol.is_none() && place.dynamic.is_none() {
                    place.symbol = table.name_around(offset);
                }
            }
        }
        Ok((places, defined))
    }

    /// The version node each of `wanted` is defined with by default (`name@@NODE`) in the
    /// dynamic symbols: how a shared build of a library marks its API, where a copy linked
    /// into another object exports it unversioned. Empty for a file without version
    /// definitions.
    pub fn default_versions(
        &self,
        file: &dyn ReadAt,
        wanted: &HashSet<&str>,
    ) -> Result<HashMap<String, String>, String> {
        let mut versions = HashMap::new();
        let find = |kind: u32| self.sections.iter().find(|s| s.kind == kind && s.size > 0);
        let (Some(dynsym), Some(versym), Some(verdef)) =
            (find(SHT_DYNSYM), find(SHT_GNU_VERSYM), find(SHT_GNU_VERDEF))
        else {
            return Ok(versions);
        };
        if wanted.is_empty() {
            return Ok(versions);
        }
        let Some(table) = self.symbols(file, dynsym)? else {
            return Ok(versions);
        };
        let indices = read_region(
            file,
            self.span(),
            versym.offset,
            versym.size,
            "symbol versions",
        )?;
        let nodes = self.version_nodes(file, verdef)?;
        let wanted: HashSet<&[u8]> = wanted.iter().map(|w| w.as_bytes()).collect();
        for (n, sym) in table.symbols.iter().enumerate() {
            let Some(name) = raw_name_at(&table.names, sym.st_name).filter(|n| wanted.contains(n))
            else {
                continue;
            };
            let Some(raw) = indices.get(2 * n..2 * n + 2) else {
                break;
            };
            let index = self.u16_at(raw);
            // The top bit hides a version (`name@NODE`): only the default one counts.
            if sym.st_shndx == 0 || index & 0x8000 != 0 {
                continue;
            }
            if let Some(node) = nodes.get(&index) {
                versions.insert(String::from_utf8_lossy(name).into_owned(), node.clone());
            }
        }
        Ok(versions)
    }

    /// The version definitions of a `.gnu.version_d` section: index → node name.
    fn version_nodes(
        &self,
        file: &dyn ReadAt,
        verdef: &Section,
    ) -> Result<HashMap<u16, String>, String> {
        let bytes = read_region(
            file,
            self.span(),
            verdef.offset,
            verdef.size,
            "version definitions",
        )?;
        let names = match self.sections.get(verdef.link as usize) {
            Some(strings) => read_region(
                file,
                self.span(),
                strings.offset,
                strings.size,
                "version names",
            )?,
            None => return Ok(HashMap::new()),
        };
        let mut nodes = HashMap::new();
        let mut at = 0usize;
        // Elf_Verdef: version, flags, ndx (u16), cnt (u16), hash, aux, next (u32); then
        // Elf_Verdaux at +aux: name, next (u32). At most sh_info of them, each inside.
        for _ in 0..verdef.info.min(1 << 16) {
            let Some(entry) = bytes.get(at..at + 20) else {
                break;
            };
            let index = self.u16_at(&entry[4..6]);
            let aux = self.u32_at(&entry[12..16]) as usize;
            let next = self.u32_at(&entry[16..20]) as usize;
            if let Some(name) = bytes
                .get(at.saturating_add(aux)..at.saturating_add(aux).saturating_add(4))
                .map(|raw| self.u32_at(raw) as usize)
                .and_then(|name| c_string(&names, name))
            {
                nodes.insert(index, name);
            }
            if next == 0 {
                break;
            }
            at = at.saturating_add(next);
        }
        Ok(nodes)
    }

    fn u16_at(&self, raw: &[u8]) -> u16 {
        let raw = [raw[0], raw[1]];
        if self.ctx.le == Endian::Little {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        }
    }

    fn u32_at(&self, raw: &[u8]) -> u32 {
        let raw = [raw[0], raw[1], raw[2], raw[3]];
        if self.ctx.le == Endian::Little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        }
    }

    /// A symbol table and its names, read from the file; `None` when it links to no section.
    fn symbols(&self, file: &dyn ReadAt, table: &Section) -> Result<Option<Symbols>, String> {
        let Some(names_section) = self.sections.get(table.link as usize) else {
            return Ok(None);
        };
        let bytes = read_region(file, self.span(), table.offset, table.size, "symbol table")?;
        let names = read_region(
            file,
            self.span(),
            names_section.offset,
            names_section.size,
            "symbol names",
        )?;
        let count = (table.size / Sym::size(self.ctx.container) as u64) as usize;
        let symtab =
            Symtab::parse(&bytes, 0, count, self.ctx).map_err(|e| format!("symbol table: {e}"))?;
        Ok(Some(Symbols {
            symbols: symtab.iter().collect(),
            names,
            names_at: names_section.offset,
        }))
    }

    /// The name of the symbol that encloses `offset`, demangled: the last of `spans`
    /// starting at or before it, if it is unsized (GHC's string literals, assembler labels)
    /// or long enough, in the same section.
    fn enclosing(&self, spans: &[(u64, u64, usize)], offset: u64, names: &[u8]) -> Option<String> {
        let at = spans.partition_point(|&(start, _, _)| start <= offset);
        let &(start, end, name) = spans.get(at.checked_sub(1)?)?;
        let section = self.sections.iter().find(|s| s.contains(offset));
        let same_section = section.is_some_and(|s| s.contains(start));
        if same_section && (end == start || offset < end) {
            name_at(names, name).map(|n| escape_bytes(demangle(n).display().as_bytes()))
        } else {
            None
        }
    }

    /// The section, loadedness and dynamic-linkage role of one offset.
    fn place_section(&self, offset: u64) -> Place {
        let section = self
            .sections
            .iter()
            .filter(|s| s.size > 0)
            .find(|s| s.contains(offset));
        let loaded = if self.loads.is_empty() {
            // A relocatable object: what is allocated will be loaded once linked.
            section.map(|s| s.alloc)
        } else {
            Some(
                self.loads
                    .iter()
                    .any(|&(start, end)| (start..end).contains(&offset)),
            )
        };
        let dynamic = if self
            .interp
            .is_some_and(|(start, end)| (start..end).contains(&offset))
        {
            Some("interpreter")
        } else {
            self.search_paths
                .iter()
                .find(|&&(start, end, _)| (start..end).contains(&offset))
                .map(|&(_, _, role)| role)
        };
        Place {
            section: section.map(|s| s.name.clone()),
            loaded,
            symbol: None,
            member: None,
            dynamic,
        }
    }
}
