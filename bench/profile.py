#!/usr/bin/env python3
"""Summarises a profile of `stowaway check` by stage and by function (bench/profile.sh).

  profile.py perf CHILDREN.txt SELF.txt [--top N]
      CHILDREN.txt: `perf report --stdio --children --sort sym -g none` (inclusive shares,
      from a call-graph recording); SELF.txt: `perf report --stdio --no-children --sort
      dso,sym` (self shares).
  profile.py callgrind ANNOTATE_INCLUSIVE.txt ANNOTATE_SELF.txt [--top N]
      the same from `callgrind_annotate --inclusive=yes` and `callgrind_annotate` output
      (instructions instead of time).

Prints the share of the run spent in each stage (mostly inclusive: a stage's callees count
in it; stages nest, so the shares do not add up to 100) and the N functions with the most
self time.
"""

import re
import sys

# Stages: ("incl", patterns): the largest inclusive share of a symbol matching a pattern;
# ("self", pattern): the sum of the self shares of the symbols matching it, whoever calls them;
# ("diff", a, b): inclusive share of a minus that of b. Inlined frames appear under their short
# name (`open_regular`), so some patterns are anchored short names.
STAGES = [
    # Before 8305282 the walk was walkdir's; since, it is inputs::walk (directories read in
    # parallel, files opened relative to their directory). Both are listed so that a profile
    # of either binary reads.
    ("walk: list directories (walkdir's iterator | inputs::walk's listing)",
     ("incl", [r"<walkdir::IntoIter as .*Iterator>::next$",
               r"^stowaway::inputs::walk::Walking::list(::\{\{closure\}\})?$"])),
    ("walk: sort each directory's entries by name",
     ("incl", [r"^core::slice::sort::stable::driftsort_main$",
               r"^core::slice::sort::unstable::ipnsort$",
               r"^sort_unstable_by<\(std::ffi::os_str::OsString, .*inputs::walk::"])),
    ("walk: getdents64 syscall", ("incl", [r"__x64_sys_getdents64$"])),
    # Since 8305282 the walk builds each entry inline (Walking::entry, which also runs the
    # scan): only the escaping of its name can be told apart.
    ("entry: relative path, name, kind (inputs::classify | escaping the name)",
     ("incl", [r"^stowaway::inputs::classify$", r"^stowaway::escape::escape_bytes$",
               r"^stowaway::escape::push_escaped$"])),
    ("entry: std::path parsing, self time, all callers", ("self", r"std::path::")),
    ("file: everything per regular file (scan_file | scan_opened)",
     ("incl", [r"^stowaway::file_scan::scan_file$", r"^stowaway::scan::files::scan_opened$"])),
    ("file: open and fstat (open_regular | FileRef::open, inlined as `open`)",
     ("incl", [r"^open_regular$", r"^stowaway::inputs::open::FileRef::open$", r"^open$"])),
    ("file: openat syscall", ("incl", [r"__x64_sys_openat$"])),
    ("file: stat syscalls (at open, and again after reading: statx | fstat)",
     ("incl", [r"__x64_sys_statx$", r"__do_sys_newfstat$"])),
    ("file: pread64 syscall", ("incl", [r"__x64_sys_pread64$"])),
    ("file: kernel copying file data to the buffer", ("incl", [r"^_copy_to_iter$"])),
    ("file: close syscall", ("incl", [r"__x64_sys_close$"])),
    ("file: files over 16 MiB, in parallel ranges (scan_ranges)",
     ("incl", [r"^scan_ranges$", r"stowaway::file_scan::scan_ranges$",
               r"stowaway::scan::files::scan_ranges$"])),
    ("scan: byte search (scan_region)",
     ("incl", [r"^stowaway::scan::Scanner::scan_region$",
               r"^stowaway::scan::x86::scan_region_(avx2|sse2)$",
               r"^stowaway::scan::bytes::x86::scan_region_(avx2|sse2)$"])),
    ("scan: region work: ELF/ar structure (first chunk), signatures, rule strings",
     ("incl", [r"^<stowaway::file_scan::FileSink as stowaway::scan::ScanSink>::region$",
               r"^<stowaway::scan::files::FileSink as stowaway::scan::bytes::ScanSink>::region$"])),
    ("inspect: place hits in sections and symbols (Parsed::inspect)",
     ("incl", [r"^stowaway::inspect::Parsed::inspect$"])),
    ("libraries: signature strings (Signatures::search)",
     ("incl", [r"^stowaway::libraries::Signatures::search$"])),
    ("after the scan: gather, closure, report (audit::check minus scan_all)",
     ("diff", r"^stowaway::audit::check$",
      r"^scan_all$|^stowaway::file_scan::scan_all$|^stowaway::scan::files::scan_all$")),
    ("report: JSON output", ("incl", [r"^stowaway::report::json::write$"])),
    ("memory: malloc/free, self time, all callers",
     ("self", r"^(_int_malloc|malloc|_int_free|cfree.*|free|realloc|_int_realloc|"
              r"malloc_consolidate|unlink_chunk.*|__rdl_alloc|__rust_(alloc|dealloc|realloc))$")),
]


def parse(path, pattern):
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            m = pattern.match(line)
            if m:
                rows.append(m.groups())
    return rows


def perf(children_path, self_path, top):
    # "    12.34%     1.23%  [k] symbol" or "[.] symbol"
    children = [(float(c), re.sub(r" \(inlined\)$", "", s.strip()))
                for c, _, s in parse(children_path,
                                     re.compile(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*)"))]
    selfs = [(float(p), dso.strip(), s.strip())
             for p, dso, s in parse(self_path,
                                    re.compile(r"\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)"))]
    return children, selfs


def callgrind(inclusive_path, self_path, top):
    pattern = re.compile(r"\s*([\d,]+) \([ \d.]+%\)\s+(?:\S+:)?(.*?)(?: \[.*\])?\s*$")
    def rows(path):
        total, out = None, []
        for n, name in parse(path, pattern):
            n = int(n.replace(",", ""))
            if "PROGRAM TOTALS" in name:
                total = n
            else:
                out.append((n, name))
        return [(100.0 * n / total, name) for n, name in out]
    children = rows(inclusive_path)
    selfs = [(p, "", name) for p, name in rows(self_path)]
    return children, selfs


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("perf", "callgrind"):
        sys.exit(__doc__)
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    children, selfs = (perf if sys.argv[1] == "perf" else callgrind)(sys.argv[2], sys.argv[3], top)
    unit = "time" if sys.argv[1] == "perf" else "instructions"
    print("by stage (share of all %s; stages nest, so they do not add up):" % unit)
    def incl(patterns):
        return max((c for c, s in children if any(re.search(p, s) for p in patterns)),
                   default=0.0)
    for stage, (kind, *spec) in STAGES:
        if kind == "incl":
            share = incl(spec[0])
        elif kind == "self":
            share = sum(p for p, _, s in selfs if re.search(spec[0], s))
        else:
            share = incl([spec[0]]) - incl([spec[1]])
        print("  %6.2f%%  %s" % (share, stage))
    print("top %d functions by self %s:" % (top, unit))
    for p, dso, s in sorted(selfs, reverse=True)[:top]:
        print("  %6.2f%%  %-18s %s" % (p, dso[:18], s[:110]))


if __name__ == "__main__":
    main()
