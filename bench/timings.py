#!/usr/bin/env python3
"""Summarises the timings that bench/lib.sh's `timed` writes (one TSV row per run).

  timings.py TSV [--bytes INPUT=N ...] [--files INPUT=N ...] [--baseline TOOL] [--json OUT]

Prints, per input and tool (in the order first seen): runs, median, min and max wall seconds,
throughput (INPUT's bytes / median), files per second and microseconds per file (when
--files gives the count), peak RSS (max over runs), median user and sys CPU seconds, and the
ratio of the median to the --baseline tool's median on the same input (default: rg). Warns
when a command's output differed between runs, or when a run read from disk (the page cache
was not warm). --json writes the same as JSON.
"""

import argparse
import json
import statistics
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            (input_, tool, run, wall, rss, user, sys_, fs_in, majflt, rc,
             digest) = line.rstrip("\n").split("\t")
            rows.append({"input": input_, "tool": tool, "run": int(run), "wall_s": float(wall),
                         "max_rss_kb": int(rss), "user_s": float(user), "sys_s": float(sys_),
                         "fs_in": int(fs_in), "major_faults": int(majflt), "exit": int(rc),
                         "digest": digest})
    return rows


def pairs(values):
    out = {}
    for v in values or []:
        key, _, n = v.partition("=")
        out[key] = int(n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tsv")
    ap.add_argument("--bytes", action="append")
    ap.add_argument("--files", action="append")
    ap.add_argument("--baseline", default="rg")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = load(args.tsv)
    sizes, counts = pairs(args.bytes), pairs(args.files)
    keys = []
    for r in rows:
        if (r["input"], r["tool"]) not in keys:
            keys.append((r["input"], r["tool"]))
    stats = []
    for input_, tool in keys:
        runs = [r for r in rows if r["input"] == input_ and r["tool"] == tool]
        med = statistics.median(r["wall_s"] for r in runs)
        s = {"input": input_, "tool": tool, "runs": len(runs), "median_s": med,
             "min_s": min(r["wall_s"] for r in runs), "max_s": max(r["wall_s"] for r in runs),
             "peak_rss_mb": max(r["max_rss_kb"] for r in runs) / 1024,
             "user_s": statistics.median(r["user_s"] for r in runs),
             "sys_s": statistics.median(r["sys_s"] for r in runs),
             "outputs": len({r["digest"] for r in runs}),
             "disk_reads": sum(1 for r in runs if r["fs_in"] * 512 > sizes.get(input_, 0) / 100
                               and r["fs_in"] > 2048)}
        if input_ in sizes:
            s["bytes"] = sizes[input_]
            s["mb_s"] = sizes[input_] / med / 1e6
        if counts.get(input_, 0) > 1:
            s["files"] = counts[input_]
            s["us_per_file"] = med / counts[input_] * 1e6
            s["cpu_us_per_file"] = (s["user_s"] + s["sys_s"]) / counts[input_] * 1e6
        stats.append(s)
    for s in stats:
        base = next((t for t in stats if t["input"] == s["input"] and t["tool"] == args.baseline),
                    None)
        if base and s["tool"] != args.baseline:
            s["ratio"] = s["median_s"] / base["median_s"]

    fmt = "%-18s %-18s %4s %9s %8s %8s %9s %9s %8s %7s %7s %8s"
    print(fmt % ("input", "tool", "runs", "median s", "min s", "max s", "MB/s", "us/file",
                 "RSS MB", "user s", "sys s", "/" + args.baseline))
    for s in stats:
        print(fmt % (s["input"], s["tool"], s["runs"], "%.3f" % s["median_s"], "%.3f" % s["min_s"],
                     "%.3f" % s["max_s"], "%.0f" % s["mb_s"] if "mb_s" in s else "",
                     "%.1f" % s["us_per_file"] if "us_per_file" in s else "",
                     "%.1f" % s["peak_rss_mb"], "%.2f" % s["user_s"], "%.2f" % s["sys_s"],
                     "%.2f" % s["ratio"] if "ratio" in s else ""))
    for s in stats:
        if s["outputs"] != 1:
            print("WARNING: %s on %s printed %d different outputs over its runs"
                  % (s["tool"], s["input"], s["outputs"]))
        if s["disk_reads"]:
            print("WARNING: %s on %s read from disk in %d runs (page cache not warm)"
                  % (s["tool"], s["input"], s["disk_reads"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"stats": stats, "runs": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
