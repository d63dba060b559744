#!/usr/bin/python3
"""Turn bench/merge raw timings into bench/results/merge.csv and merge.md.

usage: report.py RAW.csv N_INPUT_BYTES OUT_DIR LINEAR_CHECK.txt COMMAND
"""
import csv, datetime, os, platform, statistics, sys

raw_path, n_bytes, out_dir, check_path, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
# Optional: a file of load averages taken during the run, and notes appended to the report.
load_path = sys.argv[6] if len(sys.argv) > 6 else ""
notes_path = sys.argv[7] if len(sys.argv) > 7 else ""
runs = {}
for row in csv.DictReader(open(raw_path)):
    key = (row["tool"], row["method"], int(row["ranks"]))
    runs.setdefault(key, []).append((float(row["seconds"]), int(row["peak_rss_kb_max_rank"])))
gb = n_bytes / 1e9

def best(key):
    return min(s for s, _ in runs[key])

def median(key):
    return statistics.median(s for s, _ in runs[key])

def rss_mb(key):
    return max(r for _, r in runs[key]) / 1024

methods = [m for m in ("linear", "task_arithmetic", "ties", "dare_ties") if ("moerge", m, 1) in runs]
rows = []
for method in methods:
    for ranks in (1, 2):
        key = ("moerge", method, ranks)
        if key not in runs:
            continue
        floor_key, peer_key = ("read_floor", "all", ranks), ("torch_peer", method, 1)
        seconds = best(key)
        peer_seconds = best(peer_key) if peer_key in runs else float("nan")
        rows.append({
            "method": method, "ranks": ranks, "input_gb": f"{gb:.6g}", "seconds": f"{seconds:.6g}",
            "gb_per_s": f"{gb / seconds:.6g}",
            "fraction_of_read_floor": f"{best(floor_key) / seconds:.6g}",
            "ratio_to_peer": f"{peer_seconds / seconds:.6g}",
            "peak_rss_mb_per_rank": f"{rss_mb(key):.6g}",
            "seconds_median": f"{median(key):.6g}", "runs": len(runs[key]),
            "read_floor_gb_per_s": f"{gb / best(floor_key):.6g}",
            "read_floor_peak_rss_mb_per_rank": f"{rss_mb(floor_key):.6g}",
            "peer_seconds": f"{peer_seconds:.6g}",
            "peer_seconds_median": f"{median(peer_key) if peer_key in runs else float('nan'):.6g}",
            "peer_runs": len(runs.get(peer_key, [])),
            "peer_peak_rss_mb": f"{rss_mb(peer_key) if peer_key in runs else float('nan'):.6g}",
            "page_cache": "warm",
        })
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "merge.csv"), "w", newline="") as out:
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem_gib = int(open("/proc/meminfo").readline().split()[1]) / 2**20
check = open(check_path).read().strip() if os.path.exists(check_path) else "not run"
lines = [
    "# Merge benchmark",
    "",
    f"Generated from `merge.csv` by `{command}` on {datetime.date.today().isoformat()}.",
    f"Machine: {cpu}, {os.cpu_count()} cores, {mem_gib:.1f} GiB, {platform.platform()}; a machine other jobs",
    "may share, so only ratios measured in the same run mean much.",
    f"Load average (1 min) when the report was written: {open('/proc/loadavg').read().split()[0]} on {os.cpu_count()} cores "
    "(the benchmark's own last runs included).",
    "Page cache warm: the 4 input files are read once before the runs and fit in RAM many times over.",
] + ([f"Measured {line.strip()}." for line in open(load_path) if line.strip()]
     if load_path and os.path.exists(load_path) else []) + [
    "",
    f"Input: a generated bf16 Llama-style base (`bench/merge/make_models.py`, via `bench/import/make_model.py`) and 3",
    f"fine-tunes (the base with random low mantissa bits), 4 files, {gb:.3f} GB in all. Recipes: linear over the",
    "4 models (weight 0.25 each, normalised); ties and dare_ties with the base as `base_model` and the 3",
    "fine-tunes at weight 0.5, density 0.5 (dare_ties: `rescale_mode: inverse_density`, the torch peer's 1/density).",
    "",
    "- `moerge`: `mpirun -np N moerge merge RECIPE OUT` (default `--memory-limit 256`), wall time of the whole",
    "  command (start-up, plan checks, merge, write, fsync, rename), best of the runs; peak RSS is `/usr/bin/time`",
    "  around each rank, the largest over ranks and runs.",
    "- read floor: `mpirun -np N moerge_read_floor FILES` (`bench/merge/read_floor.cpp`): each rank maps the same",
    "  4 files read-only and sums the bf16 bit patterns of its row block of every tensor, tensor by tensor as the",
    "  engine goes, with no conversion, no math and no output; wall time of the same `mpirun` command.",
    "  `moerge merge` has no read-only mode (`passthrough` writes output), so this program is the floor.",
    "  fraction_of_read_floor = floor seconds / moerge seconds at the same rank count (best of each).",
    "- torch peer: `bench/peers/merge_torch.py` (torch 1.13 + OpenBLAS, 2 threads), mergekit's per-tensor loop:",
    "  load each tensor of the 4 models through numpy.memmap, compute in float32 with torch ops (magnitude",
    "  top-k by `torch.topk`, `torch.bernoulli` masks, sign election \"sum\", disjoint mean), cast to bf16, write",
    "  one safetensors file (header first, tensors streamed; no fsync). It is serial: ratio_to_peer compares",
    "  the peer's best time with moerge's best at 1 and at 2 ranks.",
    f"- Check of the peer: linear output of moerge (1 rank) against the peer's: {check}.",
    "",
    "| method | ranks | input GB | best s | median s | GB/s | read floor GB/s | fraction of floor | peer s | ratio to peer | peak RSS MB/rank | floor RSS MB/rank |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]
for row in rows:
    lines.append(f"| {row['method']} | {row['ranks']} | {float(row['input_gb']):.3f} | {float(row['seconds']):.2f} | "
                 f"{float(row['seconds_median']):.2f} | {float(row['gb_per_s']):.3f} | {float(row['read_floor_gb_per_s']):.3f} | "
                 f"{float(row['fraction_of_read_floor']):.3f} | {float(row['peer_seconds']):.2f} | {float(row['ratio_to_peer']):.2f} | "
                 f"{float(row['peak_rss_mb_per_rank']):.1f} | {float(row['read_floor_peak_rss_mb_per_rank']):.1f} |")
lines += ["", "Peak RSS counts the input pages a rank has touched through its read-only mapping: the read floor,",
          "which holds no buffers and never unmaps, shows that share (floor RSS column); the engine unmaps",
          "(`MADV_DONTNEED`) each block of input once consumed, so its RSS is its buffers (64K elements per",
          "buffer) plus the process, whatever the model size.", ""]
lines += [f"Runs: moerge and the read floor {rows[0]['runs']} times each, the peer {rows[0]['peer_runs']} times.", "",
          "## Targets (issue 5)", ""]
for row in rows:
    floor_target = 0.7 if row["method"] in ("linear", "task_arithmetic") else 0.4
    fraction, ratio, rss = float(row["fraction_of_read_floor"]), float(row["ratio_to_peer"]), float(row["peak_rss_mb_per_rank"])
    verdict = lambda ok: "met" if ok else "**not met**"
    lines.append(f"- {row['method']}, {row['ranks']} rank(s): fraction of the read floor >= {floor_target} — "
                 f"{verdict(fraction >= floor_target)} ({fraction:.3f}); >= 3x the torch peer — {verdict(ratio >= 3)} "
                 f"({ratio:.2f}x); peak RSS per rank < 256 MB — {verdict(rss < 256)} ({rss:.0f} MB).")
lines.append("")
if notes_path and os.path.exists(notes_path):
    lines += [open(notes_path).read().rstrip(), ""]
open(os.path.join(out_dir, "merge.md"), "w").write("\n".join(lines))
print("\n".join(lines))
