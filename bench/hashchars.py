#!/usr/bin/env python3
"""Builds the hash-character inputs of bench/hashchars.sh, and scores stowaway on them.

These are the inputs on which a skip loop in the style of Nix's reference scanner never skips:
every byte (or nearly every byte) can be part of a store hash.

Subcommands:

  base32 OUT TRUTH --mib N --seed S
      OUT: N MiB of random nix-base32 characters (no separators at all: one run of hash
      characters as long as the file), with paths planted into it:
        * `/nix/store/<hash>-<name><subpath>\\0` at a uniform offset, across the 1 MiB read
          boundary, and 100 bytes before the end (kind `store-path`, found with no closure
          known too: the `/` before the hash and the `-` after it end the run);
        * one bare `<hash>` glued into the characters (kind `glued-hash`): only a scanner
          that knows the candidate hashes finds it, as Nix's does.

  sha256 OUT TRUTH --mib N --seed S
      OUT: `sha256sum`-style lines (64 hex digits, two spaces, a relative file name, newline)
      until N MiB, with lines whose file name is a store path `/nix/store/<hash>-<name>/...`
      (kind `store-path`), one of them across the 1 MiB read boundary.

  closure TRUTH... OUT --extra K --seed S
      OUT: a closure-info file (`nix path-info --json` shape) holding every planted hash of
      the TRUTH files plus K random ones: the candidate hashes of a known closure.

  score REPORT.json TRUTH [--closure-known] [--no-store]
      Exit 0 when the report found every planted path at its offset, with the planted hash,
      name and subpath, and nothing else; prints recall and any extra locations. Glued hashes
      only count with --closure-known. With --no-store (the audit ran with a store dir that is
      not /nix/store, so that no closure is known) a store path counts when it is found as a
      bare hash at its hash's offset.

Only the standard library is used; output is byte-for-byte the same for the same arguments.
"""

import argparse
import json
import random
import sys

NIX_BASE32 = b"0123456789abcdfghijklmnpqrsvwxyz"
MIB = 1 << 20

NAMES = ["openssl-3.0.12-etc", "zlib-1.3.1", "glibc-2.38-27", "bash-5.2p26", "hello-2.12.1",
         "python3-3.11.8", "gcc-13.2.0-lib", "curl-8.6.0-bin"]
SUBPATHS = ["/etc/ssl", "/lib/libz.so.1", "/lib/libc.so.6", "/bin/bash", "/bin/hello", ""]
# File-name parts for the checksum lines, as a source tree or /usr/lib would have them.
DIRS = ["usr/lib/x86_64-linux-gnu", "usr/share/doc", "src/module", "lib/python3.11/site-packages",
        "share/locale/de/LC_MESSAGES", "include/openssl", "vendor/crates", "bin", "etc/ssl/certs"]
STEMS = ["libz", "libcrypto", "README", "changelog.Debian", "mod", "parser", "__init__",
         "ca-certificates", "config", "lexer", "Makefile", "LICENSE-MIT", "index"]
EXTS = [".so.1", ".gz", ".rs", ".py", ".h", ".txt", ".mo", ".crt", "", ".json", ".c"]


def random_hash(rng):
    return "".join(rng.choice("0123456789abcdfghijklmnpqrsvwxyz") for _ in range(32))


def store_path(rng):
    h = random_hash(rng)
    name = rng.choice(NAMES)
    sub = rng.choice(SUBPATHS)
    return h, name, sub, ("/nix/store/%s-%s%s" % (h, name, sub)).encode()


def cmd_base32(args):
    rng = random.Random(args.seed)
    size = args.mib * MIB
    # Each random byte picks one of 32 characters: 256 / 32 values each, so uniform.
    table = bytes(NIX_BASE32[b % 32] for b in range(256))
    data = bytearray(rng.randbytes(size).translate(table))
    plants = []
    offsets = [
        ("uniform", rng.randrange(4 * MIB, size - 4 * MIB)),
        ("chunk-boundary", 7 * MIB - 30),
        ("end", size - 100),
    ]
    for kind, offset in offsets:
        h, name, sub, raw = store_path(rng)
        raw += b"\0"
        data[offset:offset + len(raw)] = raw
        plants.append({"kind": "store-path", "where": kind, "offset": offset, "hash": h,
                       "name": name, "subpath": sub})
    glued = random_hash(rng)
    offset = rng.randrange(12 * MIB, 20 * MIB)
    data[offset:offset + 32] = glued.encode()
    plants.append({"kind": "glued-hash", "where": "uniform", "offset": offset, "hash": glued,
                   "name": "", "subpath": ""})
    write(args, data, plants)


def cmd_sha256(args):
    rng = random.Random(args.seed)
    size = args.mib * MIB
    parts = []
    total = 0
    plants = []
    # Store-path lines: near the start, across the 1 MiB read boundary, and near the end.
    plant_at = [MIB // 3, 5 * MIB - 40, size - 4096]
    while True:
        name = "%s/%s%s%s" % (rng.choice(DIRS), rng.choice(STEMS),
                              "-%d" % rng.randrange(1000) if rng.random() < 0.5 else "",
                              rng.choice(EXTS))
        planted = None
        if plant_at and total >= plant_at[0] - 200:
            plant_at.pop(0)
            h, pname, sub, raw = store_path(rng)
            name = raw.decode()
            planted = {"kind": "store-path", "where": "line", "hash": h, "name": pname,
                       "subpath": sub}
        line = ("%s  %s\n" % (rng.randbytes(32).hex(), name)).encode()
        if total + len(line) > size:
            break
        if planted:
            planted["offset"] = total + 66
            plants.append(planted)
        parts.append(line)
        total += len(line)
    if plant_at:
        sys.exit("hashchars.py: --mib too small for the planted lines")
    write(args, b"".join(parts), plants)


def write(args, data, plants):
    with open(args.out, "wb") as f:
        f.write(data)
    with open(args.truth, "w") as f:
        json.dump({"file": args.out, "bytes": len(data), "plants": plants}, f, indent=1)
    print("%s: %d bytes, %d planted" % (args.out, len(data), len(plants)))


def cmd_closure(args):
    rng = random.Random(args.seed)
    paths = []
    for path in args.truth:
        paths += ["%s-%s" % (p["hash"], p["name"] or "glued")
                  for p in json.load(open(path))["plants"]]
    paths += ["%s-bench-%d" % (random_hash(rng), i) for i in range(args.extra)]
    entries = [{"path": "/nix/store/" + p, "narSize": 1000, "references": [],
                "closureSize": 1000} for p in paths]
    with open(args.out, "w") as f:
        json.dump(entries, f)
    print("%s: %d candidate hashes" % (args.out, len(entries)))


def cmd_score(args):
    report = json.load(open(args.report))
    truth = json.load(open(args.truth))
    located = {}
    for finding in report.get("findings", []):
        ref = finding.get("reference") or {}
        for loc in finding.get("locations", []):
            located[loc.get("offset")] = (ref, loc)
    wanted = [p for p in truth["plants"] if p["kind"] == "store-path" or args.closure_known]
    found = exact = 0
    for p in wanted:
        # A store path is located at its store dir; a glued hash at its first character.
        offset = p["offset"] + len("/nix/store/") * (args.no_store and p["kind"] == "store-path")
        hit = located.pop(offset, None)
        if hit is None:
            print("   missed: @%d %s %s-%s%s" % (p["offset"], p["kind"], p["hash"], p["name"],
                                                 p["subpath"]))
            continue
        found += 1
        ref, loc = hit
        planted = "%s-%s%s" % (p["hash"], p["name"], p["subpath"]) if p["name"] else p["hash"]
        if ref.get("hash") == p["hash"] and planted in loc.get("excerpt", ""):
            exact += 1
    print("   recall %d/%d (%.2f%%), %d exact; %d other locations%s" % (
        found, len(wanted), 100.0 * found / max(len(wanted), 1), exact, len(located),
        "".join("\n   extra: @%s %s" % (k, v[0].get("store_path")) for k, v in
                list(located.items())[:5])))
    return 0 if found == exact == len(wanted) and not located else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("base32", "sha256"):
        p = sub.add_parser(name)
        p.add_argument("out")
        p.add_argument("truth")
        p.add_argument("--mib", type=int, default=200)
        p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("closure")
    p.add_argument("truth", nargs="+")
    p.add_argument("out")
    p.add_argument("--extra", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("score")
    p.add_argument("report")
    p.add_argument("truth")
    p.add_argument("--closure-known", action="store_true")
    p.add_argument("--no-store", action="store_true")
    args = parser.parse_args()
    return {"base32": cmd_base32, "sha256": cmd_sha256, "closure": cmd_closure,
            "score": cmd_score}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
