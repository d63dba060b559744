#!/usr/bin/python3
"""Writes bench/results/routing.md from routing.csv (and the per-system timings of run.sh).

Usage: report.py ROUTING_CSV TIMINGS_TSV [--command TEXT] > routing.md
"""
import argparse
import csv
import datetime
import os
import platform
import subprocess
import sys
from collections import defaultdict

SYSTEMS = ["base", "oracle", "multitask", "uniform_merge", "arrow_top2", "arrow_top4", "phatgoose", "centroid",
           "retrieval", "cbtm", "learned", "lorahub"]
# Taxonomy (route/routers.cpp): which routers need no data of the target task and no labels
# beyond the experts themselves.
ZERO_SHOT = ["uniform_merge", "arrow_top2", "arrow_top4", "phatgoose", "centroid", "retrieval", "cbtm"]
NOTES = {
    "base": "the base model, no expert",
    "oracle": "the domain's own expert (upper reference; in-distribution only)",
    "multitask": "one LoRA trained on all in-distribution domains (reference)",
    "uniform_merge": "zero-shot; task; parameter average of the 14 deltas (1/14 each)",
    "arrow_top2": "zero-shot; token; top-2 of |<h, v_e>| per module",
    "arrow_top4": "zero-shot; token; top-4",
    "phatgoose": "zero-shot; token; top-2 of <LN(h), LN(g_e)>/sqrt(d)",
    "centroid": "zero-shot; token; dense softmax of <h, c_e>/sqrt(d), c_e from validation text",
    "retrieval": "zero-shot; sequence (previous window); cosine top-3, outputs mixed 1/3",
    "cbtm": "zero-shot; sequence (previous window); top-2 experts as separate models, softmax(-d^2/0.1)",
    "learned": "expert data with labels; sequence (previous window); linear softmax over mean hidden states",
    "lorahub": "few-shot (5 examples per domain, 40 evaluations); task; combined LoRA",
}


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("timings")
    parser.add_argument("--command", default="bench/routing/run.sh")
    args = parser.parse_args()
    bpb = defaultdict(dict)  # system -> domain -> bpb
    split_of = {}
    order = []
    with open(args.csv) as f:
        for row in csv.DictReader(f):
            bpb[row["system"]][row["domain"]] = float(row["bits_per_byte"])
            if row["domain"] not in split_of:
                order.append(row["domain"])
            split_of[row["domain"]] = row["split"]
    timings = {}
    if os.path.exists(args.timings):
        with open(args.timings) as f:
            for line in f:
                name, seconds = line.rstrip("\n").split("\t")
                timings[name] = float(seconds)
    systems = [s for s in SYSTEMS if s in bpb]
    in_dist = [d for d in order if split_of[d] == "in_distribution"]
    held_out = [d for d in order if split_of[d] == "held_out"]

    def split_mean(system, domains):
        values = [bpb[system][d] for d in domains if d in bpb[system]]
        return mean(values) if len(values) == len(domains) else float("nan")

    out = []
    w = out.append
    w("# Routing on the expert zoo: bits per byte on each domain's test split\n")
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
    except OSError:
        model = "?"
    w(f"Machine: {platform.node()}, {model}, {os.cpu_count()} cores (shared with other jobs), "
      f"{platform.system()} {platform.release()}. Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}. "
      f"Command: `{args.command}`. Zoo: data/zoo (byte-level Llama base, 14 LoRA experts, context 128 bytes). "
      "Lower is better. Data: `bench/results/routing.csv`.\n")
    w("Sequence-level routers (retrieval, cbtm, learned) route a window on the base's mean final hidden state "
      "over the previous window of the same document; a document's first window is scored by the base alone "
      "(docs/routing.md).\n")
    for title, domains in (("In-distribution domains", in_dist), ("Held-out domains", held_out)):
        w(f"## {title}\n")
        w("| domain | " + " | ".join(systems) + " |")
        w("|---|" + "---:|" * len(systems))
        for d in domains:
            cells = [f"{bpb[s][d]:.4f}" if d in bpb[s] else "-" for s in systems]
            w(f"| {d} | " + " | ".join(cells) + " |")
        cells = []
        for s in systems:
            m = split_mean(s, domains)
            cells.append("-" if m != m else f"**{m:.4f}**")
        w("| **mean** | " + " | ".join(cells) + " |\n")

    w("## Targets\n")
    oracle_in = split_mean("oracle", in_dist) if "oracle" in bpb else float("nan")
    zs = [(split_mean(s, in_dist), s) for s in ZERO_SHOT if s in bpb]
    zs = [(m, s) for m, s in zs if m == m]
    if zs and oracle_in == oracle_in:
        best_in, best = min(zs)
        gap = (best_in - oracle_in) / oracle_in
        uniform_in = split_mean("uniform_merge", in_dist)
        base_held = split_mean("base", held_out)
        best_held = split_mean(best, held_out)
        w(f"Best zero-shot router on in-distribution domains: **{best}** (mean {best_in:.4f} bits per byte; "
          f"oracle {oracle_in:.4f}).\n")
        w("| target | figure | holds |")
        w("|---|---|---|")
        w(f"| within 3% of oracle bits per byte (in-distribution) | {100 * gap:+.1f}% | {'yes' if gap <= 0.03 else 'no'} |")
        w(f"| better than uniform merge (in-distribution) | {best_in:.4f} vs {uniform_in:.4f} | "
          f"{'yes' if best_in < uniform_in else 'no'} |")
        w(f"| no worse than the base on held-out domains | {best_held:.4f} vs {base_held:.4f} | "
          f"{'yes' if best_held <= base_held else 'no'} |\n")
        w("Every router against the targets (gap to the oracle in-distribution; held-out against the base):\n")
        w("| system | in-dist mean | gap to oracle | held-out mean | vs base held-out | notes |")
        w("|---|---:|---:|---:|---:|---|")
        for s in systems:
            mi, mh = split_mean(s, in_dist), split_mean(s, held_out)
            gap_text = "-" if mi != mi else f"{100 * (mi - oracle_in) / oracle_in:+.1f}%"
            held_text = "-" if mh != mh else f"{mh - base_held:+.4f}"
            w(f"| {s} | {'-' if mi != mi else f'{mi:.4f}'} | {gap_text} | {'-' if mh != mh else f'{mh:.4f}'} | "
              f"{held_text} | {NOTES.get(s, '')} |")
        w("")
    if timings:
        w("## Run time per system (seconds, wall clock, all 19 domains unless noted)\n")
        w("| system | seconds |")
        w("|---|---:|")
        for s, t in timings.items():
            w(f"| {s} | {t:.1f} |")
        w(f"| total | {sum(timings.values()):.1f} |\n")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
