#!/usr/bin/env python3
"""Helper of bench/run.sh: builds the inputs, plants store paths, scores the results.

Subcommands (run.sh calls them in this order; each can be run by hand):

  decorate TREE
      Adds hidden files to a copied tree, the way Nix leaves them: `.NAME-wrapped` copies of
      the executables in every `bin/` directory, plus a hidden `.odd/` directory whose file
      names need escaping (a backslash, invalid UTF-8, valid UTF-8, a control byte).

  concat TREE BIG --min-bytes N --seed S
      Writes BIG by concatenating real binaries (ELF files and `ar` archives) of TREE, in a
      seeded order, until it holds at least N bytes. Run it before `plant` so that BIG does
      not carry the tree's planted paths.

  plant TREE BIG TRUTH --plants N --big-plants M --seed S
      Records the `/nix/store/` occurrences already present (with `rg -b -o`), then overwrites
      N store paths `/nix/store/<32 nix-base32>-<name><subpath>\\0` at chosen offsets of
      randomly chosen files of TREE and M into BIG, never overlapping each other or a
      pre-existing occurrence, and writes the truth (file, offset, path) as JSON. Offsets
      are a mix of uniform, start of file, end of file and across a 1 MiB boundary (the
      scanner's read size). Refuses to write outside the bench work directory or into a
      file with more than one hard link.

      BIG may be `-` (with --big-plants 0): the tree alone (bench/manyfiles.sh).

  smalltree SOURCE TREE --files N --max-size BYTES --seed S
      Writes TREE with N copies of the small regular files of SOURCE (at most BYTES each, in
      a seeded order, cycling when SOURCE has fewer), 1000 to a directory: a tree of many
      small real files (bench/growth.sh). Plant into it afterwards with `plant TREE -`.

  verify TRUTH
      Exit 0 when every planted path is still in place and the inputs still have the
      recorded sizes (run.sh uses it to decide whether the cached inputs can be reused).

  score --truth TRUTH --stowaway REPORT.json [--rg RG.txt] [--input tree]
      Prints the recall of one stowaway JSON report against the plants of one input (every
      planted path at its file and offset, how many with the exact hash, name and subpath,
      by placement, any missed or extra location), and rg's count; exit 1 when any plant
      was missed.

  report --truth TRUTH --timings TSV --meta JSON --results OUT.json
      Prints the table (median wall time, throughput, peak RSS, stowaway/rg ratio), the
      recall of stowaway against the truth and rg's counts, and writes the same as JSON.

Only the standard library is used.
"""

import argparse
import base64
import bisect
import json
import os
import random
import shutil
import stat
import statistics
import subprocess
import sys
import unicodedata

NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
STORE_PREFIX = b"/nix/store/"
MIB = 1 << 20

# Realistic store-path names, and what programs append after them.
NAMES = [
    "openssl-3.0.12-etc", "openssl-3.0.12", "openssl-3.0.12-dev", "glibc-2.38-27",
    "glibc-2.38-27-bin", "gcc-13.2.0-lib", "gcc-13.2.0", "zlib-1.3.1", "zlib-1.3.1-dev",
    "bash-5.2p26", "bash-interactive-5.2p26", "coreutils-9.4", "python3-3.11.8",
    "python3.11-requests-2.31.0", "perl-5.38.2", "perl5.38.2-URI-5.21", "ncurses-6.4-dev",
    "libffi-3.4.6", "curl-8.6.0-bin", "curl-8.6.0", "gnugrep-3.11", "gnused-4.9",
    "llvm-17.0.6-lib", "clang-17.0.6", "rust-std-1.77.0-x86_64-unknown-linux-gnu",
    "rustc-1.77.0", "cargo-1.77.0", "libxml2-2.12.5", "icu4c-74.1", "sqlite-3.45.1",
    "systemd-255.2", "util-linux-2.39.3-lib", "xz-5.4.6", "bzip2-1.0.8", "libidn2-2.3.7",
    "libunistring-1.1", "tzdata-2024a", "cacert-3.95", "nss-cacert-3.95",
    "ghc-9.4.8", "nodejs-20.11.1", "go-1.21.7", "jdk-21.0.2+13", "gtk+3-3.24.41",
    "libpng-apng-1.6.40", "hello-static-x86_64-unknown-linux-musl-2.12.1",
    "source", "builder.sh", "xgcc-13.2.0-libgcc", "expand-response-params",
]
SUBPATHS = [
    "/etc/ssl", "/etc/ssl/certs/ca-bundle.crt", "/lib", "/lib/libc.so.6",
    "/lib/ld-linux-x86-64.so.2", "/bin/bash", "/bin/sh", "/share/terminfo", "/share/locale",
    "/lib/python3.11/site-packages", "/include", "/lib/pkgconfig", "/share/zoneinfo",
    "/libexec/gcc/x86_64-unknown-linux-gnu/13.2.0", "", "",
]

# Files created by `decorate` whose names need escaping in the JSON report.
ODD_NAMES = [
    b"back\\slash lib.so",
    b"caf\xe9-latin1.so",
    "na\u00efve-\u00fctf8.so".encode(),
    b"ctl\x1bname.so",
    b".hidden-in-odd.so",
]


# --- shared helpers -----------------------------------------------------------------------

def escape_bytes(raw):
    """stowaway's escape (src/escape.rs): printable ASCII passes, a backslash is doubled,
    control and invisible characters and invalid UTF-8 become \\xNN, other UTF-8 is kept."""
    out = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an invalid byte, as surrogateescape encodes it
            out.append("\\x%02x" % (code - 0xDC00))
        elif ch == "\\":
            out.append("\\\\")
        elif " " <= ch <= "~":
            out.append(ch)
        elif unicodedata.category(ch) == "Cc" or (code >= 0x80 and is_invisible(code)):
            out.extend("\\x%02x" % b for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def is_invisible(code):
    return (0x200B <= code <= 0x200F or 0x202A <= code <= 0x202E
            or 0x2066 <= code <= 0x2069 or code == 0xFEFF)


def regular_files(tree):
    """(relative path as bytes, size, nlink) of every regular file under `tree`, sorted."""
    root = os.fsencode(tree)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                found.append((os.path.relpath(full, root), st.st_size, st.st_nlink))
    found.sort()
    return found


def count_symlinks(tree):
    n = 0
    for dirpath, dirnames, filenames in os.walk(os.fsencode(tree)):
        for name in dirnames + filenames:
            if os.path.islink(os.path.join(dirpath, name)):
                n += 1
    return n


def rg_offsets(target):
    """`rg -uu -a -F -o -b` over `target`: {relative path bytes: [offsets]} of `/nix/store/`."""
    proc = subprocess.run(
        ["rg", "-uu", "-a", "-F", "-o", "-b", "--null", "--with-filename", "--no-line-number",
         STORE_PREFIX.decode(), target],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1):
        sys.exit("rg failed on %s: %s" % (target, proc.stderr.decode(errors="replace")))
    root = os.fsencode(target)
    found = {}
    for line in proc.stdout.split(b"\n"):
        if not line:
            continue
        path, rest = line.split(b"\0", 1)
        offset = int(rest.split(b":", 1)[0])
        rel = os.path.basename(root) if path == root else os.path.relpath(path, root)
        found.setdefault(rel, []).append(offset)
    return found


def is_binary_magic(path):
    with open(path, "rb") as f:
        head = f.read(8)
    return head.startswith(b"\x7fELF") or head.startswith(b"!<arch>\n")


# --- decorate -----------------------------------------------------------------------------

def cmd_decorate(args):
    tree = os.fsencode(args.tree)
    made = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        if os.path.basename(dirpath) != b"bin":
            continue
        for name in sorted(filenames):
            src = os.path.join(dirpath, name)
            if name.startswith(b".") or not stat.S_ISREG(os.lstat(src).st_mode):
                continue
            if not os.access(src, os.X_OK):
                continue
            shutil.copyfile(src, os.path.join(dirpath, b"." + name + b"-wrapped"))
            made += 1
    # Odd names: copies of a few mid-sized shared libraries.
    odd = os.path.join(tree, b".odd")
    os.makedirs(odd, exist_ok=True)
    donors = [rel for rel, size, _ in regular_files(args.tree)
              if rel.endswith(b".so") or b".so." in rel]
    donors = [rel for rel in donors if 64 * 1024 <= os.path.getsize(os.path.join(tree, rel)) <= 8 * MIB]
    if not donors:
        sys.exit("decorate: no shared library to copy under %s" % args.tree)
    for i, name in enumerate(ODD_NAMES):
        donor = donors[(i * 7919) % len(donors)]
        shutil.copyfile(os.path.join(tree, donor), os.path.join(odd, name))
        made += 1
    print("decorate: %d hidden or oddly named files added" % made)


# --- concat -------------------------------------------------------------------------------

def cmd_concat(args):
    files = [(rel, size) for rel, size, _ in regular_files(args.tree) if size > 0]
    root = os.fsencode(args.tree)
    binaries = [(rel, size) for rel, size in files if is_binary_magic(os.path.join(root, rel))]
    if not binaries:
        sys.exit("concat: no ELF or ar file under %s" % args.tree)
    rng = random.Random(args.seed)
    order = binaries[:]
    rng.shuffle(order)
    written, members, i = 0, 0, 0
    tmp = args.big + ".tmp"
    with open(tmp, "wb") as out:
        while written < args.min_bytes:
            rel, size = order[i % len(order)]
            i += 1
            with open(os.path.join(root, rel), "rb") as f:
                shutil.copyfileobj(f, out, 8 * MIB)
            written += size
            members += 1
    os.replace(tmp, args.big)
    print("concat: %s: %d bytes from %d binaries (%d distinct)"
          % (args.big, written, members, min(members, len(order))))


# --- smalltree ----------------------------------------------------------------------------

def cmd_smalltree(args):
    source = os.fsencode(args.source)
    small = [rel for rel, size, _ in regular_files(args.source) if 0 < size <= args.max_size]
    if not small:
        sys.exit("smalltree: no file of 1 to %d bytes under %s" % (args.max_size, args.source))
    rng = random.Random(args.seed)
    rng.shuffle(small)
    tree = os.fsencode(args.tree)
    if os.path.exists(tree):
        shutil.rmtree(tree)
    total = 0
    for i in range(args.files):
        rel = small[i % len(small)]
        directory = os.path.join(tree, b"d%03d" % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(directory)
        dest = os.path.join(directory, b"f%06d-" % i + os.path.basename(rel))
        shutil.copyfile(os.path.join(source, rel), dest)
        total += os.path.getsize(dest)
    print("smalltree: %s: %d files, %d bytes (from %d distinct small files)"
          % (args.tree, args.files, total, min(args.files, len(small))))


# --- plant --------------------------------------------------------------------------------

class Intervals:
    """Non-overlapping [start, end) byte ranges of one file."""

    def __init__(self):
        self.starts, self.ends = [], []

    def free(self, start, end):
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.ends[i - 1] > start:
            return False
        return i == len(self.starts) or self.starts[i] >= end

    def add(self, start, end):
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def make_path(rng):
    digest = "".join(rng.choice(NIX_BASE32) for _ in range(32))
    name = rng.choice(NAMES)
    subpath = rng.choice(SUBPATHS)
    text = "/nix/store/%s-%s%s" % (digest, name, subpath)
    return digest, name, subpath, text.encode() + b"\0"


def choose_offset(rng, size, length, kind):
    if kind == "start":
        return 0
    if kind == "end":
        return size - length
    if kind == "chunk-boundary":
        # Just before a multiple of 1 MiB: across the read boundary, or across the point
        # where the scanner stops a chunk and carries the tail over (RESERVE bytes before it).
        k = rng.randrange(1, (size - length) // MIB + 1)
        return k * MIB - rng.randrange(1, 1100)
    return rng.randrange(0, size - length + 1)


def pick_kind(rng, size, length):
    r = rng.random()
    if r < 0.04:
        return "start"
    if r < 0.08:
        return "end"
    if r < 0.25 and size >= MIB + length:
        return "chunk-boundary"
    return "uniform"


def plant_into(rng, label, size_of, candidates, count, forced, reserved, seen_hashes):
    """Chooses `count` plants over `candidates` (relative paths, bytes): first one in each of
    `forced`, then alternately a file drawn uniformly and one drawn by size."""
    plants = []
    files = sorted(candidates)
    cumulative, total = [], 0
    for rel in files:
        total += size_of[rel]
        cumulative.append(total)
    queue = list(forced)
    attempts = 0
    while len(plants) < count:
        attempts += 1
        if attempts > count * 200:
            sys.exit("plant: could not place %d paths in %s" % (count, label))
        if queue:
            rel, kind = queue.pop(0), "hidden-or-odd"
        elif len(plants) % 2 == 0:
            rel, kind = rng.choice(files), None  # uniform over files: many small ones
        else:
            rel, kind = files[bisect.bisect_right(cumulative, rng.randrange(total))], None
        digest, name, subpath, raw = make_path(rng)
        size = size_of[rel]
        if digest in seen_hashes or size < len(raw):
            continue
        spans = reserved.setdefault(rel, Intervals())
        placed = None
        for _ in range(50):
            k = kind or pick_kind(rng, size, len(raw))
            offset = choose_offset(rng, size, len(raw), k)
            if spans.free(offset, offset + len(raw)):
                spans.add(offset, offset + len(raw))
                placed = (k, offset)
                break
            kind = None
        if placed is None:
            continue
        seen_hashes.add(digest)
        k, offset = placed
        plants.append({
            "input": label,
            "file": escape_bytes(rel),
            "file_hex": rel.hex(),
            "offset": offset,
            "length": len(raw),
            "path": raw[:-1].decode(),
            "hash": digest,
            "name": name,
            "subpath": subpath,
            "kind": k,
        })
    return plants


def write_plants(path_of, plants, work):
    """Overwrites the planted bytes, one open per file; refuses anything outside `work`."""
    work = os.path.realpath(work)
    by_file = {}
    for p in plants:
        by_file.setdefault(p["file_hex"], []).append(p)
    for rel_hex, group in by_file.items():
        full = path_of(bytes.fromhex(rel_hex))
        real = os.path.realpath(full)
        if not real.startswith(os.fsencode(work) + b"/"):
            sys.exit("plant: refusing to write outside %s: %r" % (work, real))
        st = os.lstat(full)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            sys.exit("plant: refusing to write into %r (not a lone regular file)" % full)
        with open(full, "r+b") as f:
            for p in group:
                f.seek(p["offset"])
                f.write(p["path"].encode() + b"\0")


def cmd_plant(args):
    rng = random.Random(args.seed)
    tree_root = os.fsencode(os.path.abspath(args.tree))
    if args.big == "-" and args.big_plants:
        sys.exit("plant: --big-plants needs a BIG file")
    big = os.path.abspath(args.big) if args.big != "-" else None
    big_rel = os.path.basename(os.fsencode(big)) if big else b""
    work = os.path.dirname(big or os.path.dirname(os.fsdecode(tree_root)))

    files = regular_files(args.tree)
    multi = [rel for rel, _, nlink in files if nlink != 1]
    if multi:
        sys.exit("plant: %d files of the tree have hard links (e.g. %r); copy without them"
                 % (len(multi), multi[0]))
    size_of = {rel: size for rel, size, _ in files}
    candidates = [rel for rel, size, _ in files if size >= 512]
    forced = [rel for rel in candidates
              if any(part.startswith(b".") for part in rel.split(b"/"))]
    forced = forced[: args.plants // 4]

    pre_tree = rg_offsets(args.tree)
    pre_big = rg_offsets(big) if big else {}
    reserved = {}
    for rel, offsets in pre_tree.items():
        for off in offsets:
            reserved.setdefault(rel, Intervals()).add(off, off + 600)
    big_reserved = {}
    for off in pre_big.get(big_rel, []):
        big_reserved.setdefault(big_rel, Intervals()).add(off, off + 600)

    seen = set()
    tree_plants = plant_into(rng, "tree", size_of, candidates, args.plants, forced,
                             reserved, seen)
    big_size = os.path.getsize(big) if big else 0
    big_plants = plant_into(rng, "big", {big_rel: big_size}, [big_rel], args.big_plants,
                            [], big_reserved, seen) if big else []

    write_plants(lambda rel: os.path.join(tree_root, rel), tree_plants, work)
    if big:
        write_plants(lambda rel: os.fsencode(big), big_plants, work)

    def listing(found):
        return [{"file": escape_bytes(rel), "offset": off}
                for rel in sorted(found) for off in sorted(found[rel])]

    truth = {
        "seed": args.seed,
        "tree": os.fsdecode(tree_root),
        "big": big,
        "tree_bytes": sum(size_of.values()),
        "tree_files": len(files),
        "tree_symlinks": count_symlinks(args.tree),
        "big_bytes": big_size,
        "plants": tree_plants + big_plants,
        "preexisting": {"tree": listing(pre_tree), "big": listing(pre_big)},
    }
    tmp = args.truth + ".tmp"
    with open(tmp, "w") as f:
        json.dump(truth, f, indent=1)
    os.replace(tmp, args.truth)
    kinds = {}
    for p in truth["plants"]:
        kinds[(p["input"], p["kind"])] = kinds.get((p["input"], p["kind"]), 0) + 1
    print("plant: %d paths into %d files of the tree, %d into %s; kinds %s"
          % (len(tree_plants), len({p["file_hex"] for p in tree_plants}), len(big_plants),
             os.path.basename(big) if big else "no big file", ", ".join("%s/%s=%d" % (a, b, n) for (a, b), n in sorted(kinds.items()))))
    print("plant: pre-existing /nix/store/ occurrences (rg): tree %d, big %d"
          % (len(truth["preexisting"]["tree"]), len(truth["preexisting"]["big"])))


# --- verify -------------------------------------------------------------------------------

def cmd_verify(args):
    try:
        with open(args.truth) as f:
            truth = json.load(f)
        if truth["big"] and os.path.getsize(truth["big"]) != truth["big_bytes"]:
            raise ValueError("big changed size")
        files = regular_files(truth["tree"])
        if sum(size for _, size, _ in files) != truth["tree_bytes"] or len(files) != truth["tree_files"]:
            raise ValueError("tree changed")
        for p in truth["plants"]:
            full = (truth["big"] if p["input"] == "big"
                    else os.path.join(os.fsencode(truth["tree"]), bytes.fromhex(p["file_hex"])))
            with open(full, "rb") as f:
                f.seek(p["offset"])
                if f.read(p["length"]) != p["path"].encode() + b"\0":
                    raise ValueError("plant missing in %s at %d" % (p["file"], p["offset"]))
    except (OSError, ValueError, KeyError) as err:
        print("verify: cached inputs unusable: %s" % err, file=sys.stderr)
        sys.exit(1)
    print("verify: cached inputs intact (%d plants)" % len(truth["plants"]))


# --- report -------------------------------------------------------------------------------

def load_timings(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            (input_, tool, run, t0, t1, elapsed, maxrss, user, sys_, fs_in, majflt, rc,
             digest) = line.rstrip("\n").split("\t")
            rows.append({
                "input": input_, "tool": tool, "run": int(run),
                "wall_s": float(t1) - float(t0), "time_e_s": float(elapsed),
                "max_rss_kb": int(maxrss), "user_s": float(user), "sys_s": float(sys_),
                "fs_inputs": int(fs_in), "major_faults": int(majflt),
                "exit": int(rc), "output_digest": digest,
            })
    return rows


def score_stowaway(report_path, plants):
    with open(report_path) as f:
        report = json.load(f)
    located = {}
    more = 0
    for finding in report.get("findings", []):
        ref = finding.get("reference") or {}
        more += finding.get("more_locations", 0)
        for loc in finding.get("locations", []):
            located[(loc["file"], loc.get("offset"))] = (ref, loc)
    found = exact = 0
    missed = []
    by_kind = {}
    planted_keys = set()
    for p in plants:
        key = (p["file"], p["offset"])
        planted_keys.add(key)
        hit = located.get(key)
        kind = by_kind.setdefault(p["kind"], [0, 0])
        kind[1] += 1
        if hit is None:
            missed.append({"file": p["file"], "offset": p["offset"], "path": p["path"], "kind": p["kind"]})
            continue
        found += 1
        kind[0] += 1
        ref, loc = hit
        if ref.get("hash") == p["hash"] and ref.get("name") == p["name"] and loc.get("subpath") == p["subpath"]:
            exact += 1
    extras = [{"file": k[0], "offset": k[1], "store_path": v[0].get("store_path"),
               "anchor": v[1].get("anchor"), "excerpt": v[1].get("excerpt")}
              for k, v in sorted(located.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
              if k not in planted_keys]
    return {
        "planted": len(plants), "found": found, "exact": exact,
        "recall": found / len(plants) if plants else None,
        "by_kind": {k: {"found": v[0], "planted": v[1]} for k, v in sorted(by_kind.items())},
        "missed": missed, "extra_locations": extras, "more_locations": more,
        "findings": len(report.get("findings", [])),
        "summary": report.get("summary"), "errors": report.get("errors"),
        "verdict": report.get("verdict"),
    }


def score_rg(out_path, root_name):
    total, per_file = 0, {}
    with open(out_path, "rb") as f:
        for line in f.read().split(b"\n"):
            if not line:
                continue
            if b":" in line:
                path, count = line.rsplit(b":", 1)
            else:  # a single file searched: only the count is printed
                path, count = root_name, line
            per_file[path] = int(count)
            total += int(count)
    return total, per_file


def cmd_score(args):
    with open(args.truth) as f:
        truth = json.load(f)
    plants = [p for p in truth["plants"] if p["input"] == args.input]
    sw = score_stowaway(args.stowaway, plants)
    known = {(e["file"], e["offset"]) for e in truth["preexisting"][args.input]}
    unexplained = [e for e in sw["extra_locations"] if (e["file"], e["offset"]) not in known]
    print("stowaway recall: %d/%d planted found at file+offset (%.2f%%), %d with exact "
          "hash/name/subpath; %d other locations, %d of them not found by rg beforehand; "
          "findings %d"
          % (sw["found"], sw["planted"], 100 * (sw["recall"] or 0), sw["exact"],
             len(sw["extra_locations"]), len(unexplained), sw["findings"]))
    print("  by placement: %s" % ", ".join(
        "%s %d/%d" % (k, v["found"], v["planted"]) for k, v in sw["by_kind"].items()))
    for miss in sw["missed"][:10]:
        print("  missed: %s @%d (%s) %s" % (miss["file"], miss["offset"], miss["kind"], miss["path"]))
    for extra in unexplained[:10]:
        print("  extra : %s @%s %s [%s] %s" % (extra["file"], extra["offset"], extra["store_path"],
                                              extra["anchor"], extra["excerpt"]))
    if sw["errors"]:
        print("  errors: %s" % sw["errors"][:5])
    if args.rg:
        root = os.fsencode(truth["tree"] if args.input == "tree" else truth["big"])
        total, files = score_rg(args.rg, root)
        print("rg -c total: %d in %d files vs %d planted + %d pre-existing (a lower bound: -c "
              "counts lines)" % (total, len(files), len(plants),
                                 len(truth["preexisting"][args.input])))
    sys.exit(0 if sw["found"] == sw["planted"] else 1)


def cmd_report(args):
    with open(args.truth) as f:
        truth = json.load(f)
    with open(args.meta) as f:
        meta = json.load(f)
    rows = load_timings(args.timings)
    sizes = {"tree": truth["tree_bytes"], "big": truth["big_bytes"]}
    labels = {"tree": "TREE", "big": "BIG"}

    stats = []
    for input_ in ("tree", "big"):
        for tool in ("stowaway", "rg"):
            runs = [r for r in rows if r["input"] == input_ and r["tool"] == tool]
            if not runs:
                continue
            med = statistics.median(r["wall_s"] for r in runs)
            stats.append({
                "input": input_, "tool": tool, "runs": len(runs),
                "median_wall_s": med,
                "min_wall_s": min(r["wall_s"] for r in runs),
                "max_wall_s": max(r["wall_s"] for r in runs),
                "median_time_e_s": statistics.median(r["time_e_s"] for r in runs),
                "throughput_gb_s": sizes[input_] / med / 1e9,
                "peak_rss_mb": max(r["max_rss_kb"] for r in runs) * 1024 / 1e6,
                "median_user_s": statistics.median(r["user_s"] for r in runs),
                "median_sys_s": statistics.median(r["sys_s"] for r in runs),
                "distinct_outputs": len({r["output_digest"] for r in runs}),
                # Blocks read from disk (512 B) beyond 1% of the input: the cache was not warm.
                "cold_runs": sum(1 for r in runs if r["fs_inputs"] * 512 > sizes[input_] / 100),
                "max_disk_read_kb": max(r["fs_inputs"] for r in runs) // 2,
                "input_bytes": sizes[input_],
            })
    for s in stats:
        rg = next((t for t in stats if t["input"] == s["input"] and t["tool"] == "rg"), None)
        s["ratio_stowaway_over_rg"] = (s["median_wall_s"] / rg["median_wall_s"]
                                       if s["tool"] == "stowaway" and rg else None)

    recall = {}
    for input_, report_path, rg_path in (("tree", args.stowaway_tree, args.rg_tree),
                                         ("big", args.stowaway_big, args.rg_big)):
        plants = [p for p in truth["plants"] if p["input"] == input_]
        sw = score_stowaway(report_path, plants)
        root = os.fsencode(truth["tree"] if input_ == "tree" else truth["big"])
        rg_total, rg_files = score_rg(rg_path, root)
        pre = len(truth["preexisting"][input_])
        # Files where rg counted fewer than planted + pre-existing: it missed some (or lines merged).
        expect = {}
        for p in plants:
            expect[p["file"]] = expect.get(p["file"], 0) + 1
        for e in truth["preexisting"][input_]:
            expect[e["file"]] = expect.get(e["file"], 0) + 1
        rg_by_escaped = {}
        for path, count in rg_files.items():
            rel = os.path.basename(root) if path == root else os.path.relpath(path, root)
            rg_by_escaped[escape_bytes(rel)] = count
        short = sorted(f for f, n in expect.items() if rg_by_escaped.get(f, 0) < n)
        recall[input_] = {
            "stowaway": sw,
            "rg": {"count_total": rg_total, "planted": len(plants), "preexisting": pre,
                   "files_with_count_below_expected": short[:50],
                   "note": "rg -c counts matching lines per file (ripgrep 13 with -o counts "
                           "matches); a lower bound on occurrences"},
        }

    # ---- print ----
    m = meta
    print()
    print("stowaway benchmark  %s" % m["date"])
    print("machine : %s CPUs (nproc), %s, %s GB RAM, Linux %s"
          % (m["nproc"], m["cpu_model"], m["mem_gb"], m["kernel"]))
    print("tools   : %s (git %s), %s" % (m["stowaway_version"], m["git"], m["rg_version"]))
    print("inputs  : TREE %s  %s bytes (%.2f GiB) in %d files, %d symlinks"
          % (truth["tree"], f"{truth['tree_bytes']:,}", truth["tree_bytes"] / 2**30,
             truth["tree_files"], truth["tree_symlinks"]))
    print("          BIG  %s  %s bytes (%.2f GiB), one file"
          % (truth["big"], f"{truth['big_bytes']:,}", truth["big_bytes"] / 2**30))
    if m.get("store_dir_entries") is not None:
        print("store   : /nix/store exists here with %d entries (nix on PATH: %s), so stowaway "
              "searches their hashes too and prices its findings"
              % (m["store_dir_entries"], "yes" if m.get("nix_on_path") else "no"))
    print("runs    : %s timed runs per command after one warm-up, alternating, page cache warm"
          % m["runs"])
    print()
    head = ("input", "tool", "median s", "min s", "max s", "GB/s", "peak RSS MB",
            "user s", "sys s", "stowaway/rg")
    fmt = "%-5s %-9s %9s %8s %8s %7s %12s %7s %7s %12s"
    print(fmt % head)
    for s in stats:
        print(fmt % (labels[s["input"]], s["tool"], "%.3f" % s["median_wall_s"],
                     "%.3f" % s["min_wall_s"], "%.3f" % s["max_wall_s"],
                     "%.2f" % s["throughput_gb_s"], "%.1f" % s["peak_rss_mb"],
                     "%.2f" % s["median_user_s"], "%.2f" % s["median_sys_s"],
                     "%.2f" % s["ratio_stowaway_over_rg"] if s["ratio_stowaway_over_rg"] else ""))
    print("(wall: bash $EPOCHREALTIME around /usr/bin/time, microsecond resolution; "
          "/usr/bin/time %e agrees to 10 ms. user/sys: median CPU seconds.)")
    for s in stats:
        if s["cold_runs"]:
            print("WARNING: %s on %s read from disk in %d of %d runs (page cache not warm)"
                  % (s["tool"], labels[s["input"]], s["cold_runs"], s["runs"]))
        if s["distinct_outputs"] != 1:
            print("WARNING: %s on %s gave %d different outputs over the runs"
                  % (s["tool"], labels[s["input"]], s["distinct_outputs"]))
    print()
    for input_ in ("tree", "big"):
        r = recall[input_]
        sw, rg = r["stowaway"], r["rg"]
        print("%-4s stowaway recall: %d/%d planted found at file+offset (%.2f%%), "
              "%d with exact hash/name/subpath; %d other locations (pre-existing by rg: %d); "
              "bytes_scanned %s"
              % (labels[input_], sw["found"], sw["planted"], 100 * (sw["recall"] or 0),
                 sw["exact"], len(sw["extra_locations"]), rg["preexisting"],
                 f"{sw['summary']['bytes_scanned']:,}" if sw.get("summary") else "?"))
        print("     by placement: %s" % ", ".join(
            "%s %d/%d" % (k, v["found"], v["planted"]) for k, v in sw["by_kind"].items()))
        for miss in sw["missed"][:10]:
            print("     missed: %s @%d (%s) %s" % (miss["file"], miss["offset"], miss["kind"], miss["path"]))
        for extra in sw["extra_locations"][:10]:
            print("     extra : %s @%s %s [%s] %s" % (extra["file"], extra["offset"], extra["store_path"],
                                                     extra["anchor"], extra["excerpt"]))
        if sw["errors"]:
            print("     errors: %s" % sw["errors"][:5])
        print("%-4s rg -c total: %d vs %d planted + %d pre-existing (a lower bound: -c counts "
              "lines; ripgrep 13 counts matches when -o is given)%s"
              % (labels[input_], rg["count_total"], rg["planted"], rg["preexisting"],
                 "; %d files below expected" % len(rg["files_with_count_below_expected"])
                 if rg["files_with_count_below_expected"] else ""))

    results = {"meta": m, "inputs": {
        "tree": {k: truth[k] for k in ("tree", "tree_bytes", "tree_files", "tree_symlinks")},
        "big": {"path": truth["big"], "bytes": truth["big_bytes"]}},
        "timing": stats, "recall": recall, "runs": rows}
    tmp = args.results + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, args.results)
    print()
    print("results: %s" % args.results)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("decorate")
    p.add_argument("tree")
    p.set_defaults(func=cmd_decorate)
    p = sub.add_parser("concat")
    p.add_argument("tree")
    p.add_argument("big")
    p.add_argument("--min-bytes", type=int, default=2**30)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_concat)
    p = sub.add_parser("plant")
    p.add_argument("tree")
    p.add_argument("big")
    p.add_argument("truth")
    p.add_argument("--plants", type=int, default=2000)
    p.add_argument("--big-plants", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_plant)
    p = sub.add_parser("smalltree")
    p.add_argument("source")
    p.add_argument("tree")
    p.add_argument("--files", type=int, required=True)
    p.add_argument("--max-size", type=int, default=16384)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_smalltree)
    p = sub.add_parser("verify")
    p.add_argument("truth")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("score")
    p.add_argument("--truth", required=True)
    p.add_argument("--stowaway", required=True)
    p.add_argument("--rg")
    p.add_argument("--input", default="tree", choices=("tree", "big"))
    p.set_defaults(func=cmd_score)
    p = sub.add_parser("report")
    for name in ("truth", "timings", "meta", "results", "stowaway-tree", "stowaway-big",
                 "rg-tree", "rg-big"):
        p.add_argument("--" + name, required=True)
    p.set_defaults(func=cmd_report)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
