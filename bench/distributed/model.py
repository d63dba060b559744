#!/usr/bin/python3
"""The cost model of docs/scaling.md, fitted to bench/results/distributed*.csv.

usage: model.py DISTRIBUTED.csv [DISTRIBUTED_COMM.csv]
(distributed_gemm.csv, distributed_load.csv and distributed_memory.csv are read from beside
DISTRIBUTED.csv.) Prints, as Markdown: the fitted constants, measured against predicted step times
at 1 and 2 ranks, and the predicted throughput and memory for 8 to 512 ranks and 1,000 to 100,000
experts, for the zoo base (fitted constants) and for a 7B-class base (measured GEMM rates, an
assumed network). Every number in docs/scaling.md comes from this script.

The model, per step of T tokens on the coordinator (rank 0) with H expert ranks (H = N - 1; at one
rank the coordinator hosts the experts), E experts, top-k K, G = 4 exchanges per layer:
  step = router(E) + coord + pack + sum over exchanges g of wait_g   (+ expert at one rank)
  router(E)  = T (a + b E)                         Arrow scores, fitted on 14 and 64 experts
  coord      = T * coordinator compute per token   base products, attention, norms, lm_head
  expert     = calls * e_call + MACs * e_mac        per host, busiest host = I(H) x the mean
  pack       = bytes * c_pack                      packing and combining on the coordinator
  wait_g     = w0 + lat(N) + bytes_g beta + busiest host's expert time_g
               (no overlap with the base's product: the measured runs show none; w0 = the
               dispatcher's per-exchange overhead beyond MPI, fitted on the 2-rank decode runs)
  lat(N)     = 1.5 alpha_x (N - 1)                 counts + 2 Ialltoallv, linear in the peers
  busiest    = I(H) * (T K / H) rows of the group's modules, I from the routing load's spread
"""
import csv, math, os, sys

csv_path = sys.argv[1]
result_dir = os.path.dirname(os.path.abspath(csv_path))
comm_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(result_dir, "distributed_comm.csv")
rows = list(csv.DictReader(open(csv_path)))
comm = list(csv.DictReader(open(comm_path)))
gemm = list(csv.DictReader(open(os.path.join(result_dir, "distributed_gemm.csv"))))
load = list(csv.DictReader(open(os.path.join(result_dir, "distributed_load.csv"))))
memory = list(csv.DictReader(open(os.path.join(result_dir, "distributed_memory.csv"))))
f = lambda row, name: float(row[name])

# ---- shapes ----
ZOO = dict(d=128, d_kv=128, d_ff=344, n_layer=4, n_vocab=258, r=8)
B7 = dict(d=4096, d_kv=4096, d_ff=11008, n_layer=32, n_vocab=32000, r=16)
K = 2
N_MODULE = 7


def modules(shape):
    """(group, d_in, d_out) of the 7 modules; groups are the 4 exchanges of a layer."""
    d, d_kv, d_ff = shape["d"], shape["d_kv"], shape["d_ff"]
    return [("qkv", d, d), ("qkv", d, d_kv), ("qkv", d, d_kv), ("o", d, d),
            ("gate_up", d, d_ff), ("gate_up", d, d_ff), ("down", d_ff, d)]


GROUPS = ["qkv", "o", "gate_up", "down"]


def group_macs(shape):
    """Base multiply-adds per token per layer, by group."""
    out = dict.fromkeys(GROUPS, 0)
    for group, d_in, d_out in modules(shape):
        out[group] += d_in * d_out
    return out


def group_lora_macs(shape):
    """Expert multiply-adds per routed row per layer (one expert), by group."""
    out = dict.fromkeys(GROUPS, 0)
    for group, d_in, d_out in modules(shape):
        out[group] += shape["r"] * (d_in + d_out)
    return out


def group_bytes(shape):
    """Bytes per routed row (one expert) per layer, by group: the row + its weight out, the result back."""
    out = dict.fromkeys(GROUPS, 0)
    for group, d_in, d_out in modules(shape):
        out[group] += 4 * (d_in + 1) + 4 * d_out
    return out


def proto_floats(shape):
    """Arrow prototype floats per expert: d_in per module per layer."""
    return shape["n_layer"] * sum(d_in for _, d_in, _ in modules(shape))


def expert_floats(shape):
    return shape["n_layer"] * sum(shape["r"] * (d_in + d_out) for _, d_in, d_out in modules(shape))


# ---- fit: alpha-beta ----
def fit_line(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx > 0 else 0.0
    return my - slope * mx, slope


def alpha_beta(kind):
    points = sorted((int(c["bytes"]), float(c["one_way_s"])) for c in comm if c["kind"] == kind)
    alpha = points[0][1]  # the smallest message: latency
    large = [p for p in points if p[0] >= 32768]
    beta = fit_line(large)[1] if len(large) >= 2 else (points[-1][1] - alpha) / points[-1][0]
    return alpha, beta, points


alpha_p2p, beta_p2p, p2p_points = alpha_beta("p2p")
alpha_x, beta_x, x_points = alpha_beta("exchange")

# ---- fit: compute, from the routed rows ----
PHASES = [("prefill", 16), ("decode", 1), ("decode", 16)]


def steps_of(row):
    return 1 if row["phase"] == "prefill" else int(row["n_token"]) // int(row["batch"])


def get(label, ranks, mode, phase, batch):
    for row in rows:
        if (row["experts"], int(row["ranks"]), row["mode"], row["phase"], int(row["batch"])) == (
                label, ranks, mode, phase, batch):
            return row
    return None


def distinct_experts(n_expert, n_rows):
    """Expected experts hit by n_rows routed rows spread uniformly over n_expert experts."""
    return n_expert * (1 - (1 - 1 / n_expert) ** n_rows)


def least_squares_2(points):
    """z = u p + v q through the origin: (p, q) from [(u, v, z)]."""
    suu = sum(u * u for u, _, _ in points); svv = sum(v * v for _, v, _ in points)
    suv = sum(u * v for u, v, _ in points); suz = sum(u * z for u, _, z in points); svz = sum(v * z for _, v, z in points)
    det = suu * svv - suv * suv
    return (svv * suz - suv * svz) / det, (suu * svz - suv * suz) / det


routed_rows = [r for r in rows if r["mode"] == "routed"]
LORA_MACS = sum(group_lora_macs(ZOO).values())  # per routed row per layer
BYTES_ROW = sum(group_bytes(ZOO).values())      # per routed row per layer
# Expert compute: per call (one expert, one module: two small GEMMs) and per multiply-add, over
# every routed run's busiest rank.
expert_points = []
for r in routed_rows:
    T, steps = int(r["n_token"]), steps_of(r)
    per_step_rows = K * T // steps
    calls = steps * ZOO["n_layer"] * N_MODULE * distinct_experts(int(r["n_expert"]), per_step_rows)
    expert_points.append((calls, K * T * ZOO["n_layer"] * LORA_MACS, f(r, "expert_s")))
expert_call, expert_mac = least_squares_2(expert_points)
# Packing and combining on the coordinator, per byte moved, at 2 ranks (at one rank the self-answer's
# copies come on top: fitted separately).
pack_byte = {}
two_rank = [r for r in routed_rows if int(r["ranks"]) == 2 and r["phase"] == "prefill"]
pack_byte[2] = sum(f(r, "comm_s") / (K * int(r["n_token"]) * ZOO["n_layer"] * BYTES_ROW) for r in two_rank) / len(two_rank)
fits = {}
for phase, batch in PHASES:
    zoo1, gen1 = get("zoo14", 1, "routed", phase, batch), get("gen64", 1, "routed", phase, batch)
    two = [r for r in routed_rows if r["phase"] == phase and int(r["batch"]) == batch and int(r["ranks"]) == 2]
    n_tok = lambda r: int(r["n_token"])
    # router per token = a + b E, through the two expert counts at one rank
    (e0, y0), (e1, y1) = [(int(r["n_expert"]), f(r, "router_s") / n_tok(r)) for r in (zoo1, gen1)]
    b = (y1 - y0) / (e1 - e0)
    a = y0 - b * e0
    # the coordinator's own compute (base products + attention, norms, lm_head) where it hosts no expert
    coord_tok = sum((f(r, "base_s") + f(r, "other_s")) / n_tok(r) for r in two) / len(two)
    fits[(phase, batch)] = dict(a=a, b=b, coord_tok=coord_tok, steps=steps_of(zoo1),
                                tokens_per_step=n_tok(zoo1) // steps_of(zoo1))
# At one rank: what the step holds beyond router, coordinator compute and expert GEMMs (packing,
# the self-answer's copies, combining), per byte moved, from the prefill runs.
one_rank = [r for r in routed_rows if int(r["ranks"]) == 1 and r["phase"] == "prefill"]
pack_byte[1] = sum((f(r, "step_s") - f(r, "router_s") - f(r, "expert_s") - int(r["n_token"]) * fits[("prefill", 16)]["coord_tok"])
                   / (K * int(r["n_token"]) * ZOO["n_layer"] * BYTES_ROW) for r in one_rank) / len(one_rank)
# Dispatcher overhead per exchange beyond MPI: what the 2-rank decode runs wait beyond transfer and
# the host's compute (the wait loops' naps, 2 us doubling to 1 ms, on both sides).
w0_points = []
for r in routed_rows:
    if int(r["ranks"]) == 2 and r["phase"] == "decode":
        w0_points.append((r, f(r, "n_exchange")))

# routing load spread: coefficient of variation of the zoo experts' shares
zoo_load = [int(l["n_entry"]) for l in load if l["experts"] == "zoo14"]
mean_load = sum(zoo_load) / len(zoo_load)
cv_load = math.sqrt(sum((x - mean_load) ** 2 for x in zoo_load) / len(zoo_load)) / mean_load


def imbalance(n_host, n_expert, rows_per_exchange):
    """Busiest host's rows / mean rows: placement ignores popularity (spread cv_load over experts),
    plus sampling noise of rows_per_exchange rows; max of n_host by the normal tail sqrt(2 ln H)."""
    if n_host <= 1:
        return 1.0
    per_host = max(n_expert / n_host, 1.0)
    mean_rows = rows_per_exchange / n_host
    cv = math.sqrt(cv_load ** 2 / per_host + 1.0 / max(mean_rows, 1e-9))
    busiest = mean_rows * (1 + math.sqrt(2 * math.log(n_host)) * cv)
    return min(max(busiest, 1.0), rows_per_exchange) / mean_rows


W0 = 0.0


def predict(fit, shape, n_rank, n_expert, alpha, beta, tokens=None, mac_base=None, mac_expert=None, router_mac=None,
            w0=None, ctx=1024):
    """Seconds of one step and its parts. mac_*: seconds per multiply-add for a shape other than the
    zoo's (7B scenario: attention over `ctx` positions); otherwise the fitted per-token figures."""
    w0 = W0 if w0 is None else w0
    T = tokens or fit["tokens_per_step"]
    L = shape["n_layer"]
    n_host = max(n_rank - 1, 1)
    gl, gb = group_lora_macs(shape), group_bytes(shape)
    if mac_base is None:
        coord = T * fit["coord_tok"]
        router = T * (fit["a"] + fit["b"] * n_expert)
        e_mac, e_call = expert_mac, expert_call
    else:
        coord = T * (L * sum(group_macs(shape).values()) + 2 * L * ctx * shape["d"] + shape["n_vocab"] * shape["d"]) \
            * mac_base
        router = T * L * sum(d_in for _, d_in, _ in modules(shape)) * n_expert * router_mac
        e_mac, e_call = mac_expert, expert_call
    bytes_step = T * K * L * sum(gb.values())
    rows_g = T * K
    calls_g = lambda n_module: n_module * distinct_experts(n_expert, rows_g)
    group_modules = {"qkv": 3, "o": 1, "gate_up": 2, "down": 1}
    if n_rank == 1:
        expert = sum(L * (calls_g(group_modules[g]) * e_call + rows_g * gl[g] * e_mac) for g in GROUPS)
        pack = bytes_step * pack_byte[1]
        wait = 0.0
    else:
        lat = 1.5 * alpha * (n_rank - 1)
        wait = 0.0
        expert = 0.0
        for g in GROUPS:
            share = imbalance(n_host, n_expert, rows_g) / n_host
            host = calls_g(group_modules[g]) * share * e_call + rows_g * share * gl[g] * e_mac
            wait += L * (w0 + lat + rows_g * gb[g] * beta + host)  # the measured runs show no overlap
            expert += L * host
        pack = bytes_step * pack_byte[2]
    step = router + coord + pack + wait + (expert if n_rank == 1 else 0.0)
    return dict(step=step, router=router, coord=coord, pack=pack, wait=wait, expert=expert,
                tokens_per_s=T / step, comm_fraction=(pack + wait) / step)


# w0: the 2-rank decode runs' wait per exchange beyond the model's transfer and host compute
_w = []
for r, n_x in w0_points:
    fit = fits[(r["phase"], int(r["batch"]))]
    pred = predict(fit, ZOO, 2, int(r["n_expert"]), alpha_x, beta_x, w0=0.0)
    _w.append((f(r, "wait_s") / steps_of(r) - pred["wait"]) / (len(GROUPS) * ZOO["n_layer"]))
W0 = max(0.0, sum(_w) / len(_w))

out = []
p = out.append
p("### Fitted constants")
p("")
p(f"- MPI, ranks 0-1, shared memory: point-to-point alpha = {1e6 * alpha_p2p:.2f} us, beta = "
  f"{1e9 * beta_p2p:.3f} ns/B ({1 / beta_p2p / 1e9:.2f} GB/s); the dispatcher's exchange pattern (Ialltoall of "
  f"counts + Ialltoallv) alpha_x = {1e6 * alpha_x:.2f} us, beta_x = {1e9 * beta_x:.3f} ns/B "
  f"({1 / beta_x / 1e9:.2f} GB/s).")
p(f"- Routing load spread over the 14 zoo experts (entries per expert, all modules): coefficient of variation "
  f"{cv_load:.2f}.")
p("")
p(f"- Expert compute (two small GEMMs per expert and module over its rows): {1e6 * expert_call:.2f} us per call + "
  f"{1e9 * expert_mac:.4f} ns per multiply-add (least squares over every routed run's busiest rank).")
p(f"- Packing and combining on the coordinator: {1e9 * pack_byte[2]:.3f} ns per byte moved at 2 ranks; at 1 rank, "
  f"with the self-answer's copies, {1e9 * pack_byte[1]:.3f} ns per byte.")
p(f"- Dispatcher overhead per exchange beyond MPI (the 2-rank decode runs' wait beyond transfer and host compute): "
  f"w0 = {1e6 * W0:.1f} us.")
p("")
p("| phase | batch | tokens/step | router a (us/token) | router b (ns/token/expert) | coordinator compute (us/token) |")
p("|---|---|---|---|---|---|")
for (phase, batch), fit in fits.items():
    p(f"| {phase} | {batch} | {fit['tokens_per_step']} | {1e6 * fit['a']:.2f} | {1e9 * fit['b']:.2f} | "
      f"{1e6 * fit['coord_tok']:.2f} |")
p("")
p("### Measured against predicted (zoo base, per step)")
p("")
p("| experts | ranks | phase | batch | measured ms/step | predicted ms/step | error | measured comm % | predicted comm % |")
p("|---|---|---|---|---|---|---|---|---|")
for row in rows:
    if row["mode"] != "routed":
        continue
    fit = fits[(row["phase"], int(row["batch"]))]
    pred = predict(fit, ZOO, int(row["ranks"]), int(row["n_expert"]), alpha_x, beta_x)
    measured = f(row, "step_s") / steps_of(row)
    p(f"| {row['experts']} | {row['ranks']} | {row['phase']} | {row['batch']} | {1e3 * measured:.3f} | "
      f"{1e3 * pred['step']:.3f} | {100 * (pred['step'] / measured - 1):+.0f}% | "
      f"{100 * f(row, 'comm_fraction'):.1f} | {100 * pred['comm_fraction']:.1f} |")

# ---- memory ----
mem = {(m["experts"], int(m["ranks"]), int(m["rank"])): m for m in memory}
coord_base_mb = int(mem[("gen64", 2, 0)]["peak_rss_kb"]) / 1024  # coordinator holding no experts
host_base_mb = int(mem[("gen64", 2, 1)]["rss_before_experts_kb"]) / 1024
growth = [(int(m["rss_after_experts_kb"]) - int(m["rss_before_experts_kb"])) * 1024 / int(m["expert_bytes"])
          for m in memory if int(m["ranks"]) > 1 and int(m["rank"]) > 0 and int(m["expert_bytes"]) > 0]
growth_factor = sum(growth) / len(growth)
p("")
p(f"Memory: coordinator without experts {coord_base_mb:.1f} MB peak (base, KV cache, MPI); an expert rank "
  f"{host_base_mb:.1f} MB before its experts, then {growth_factor:.2f} bytes resident per byte of experts placed.")


def table(title, shape, fit, alpha, beta, mac_base=None, mac_expert=None, router_mac=None, expert_bytes=None,
          coord_mb=None, host_mb=None, tokens=None, proto_bytes=4):
    p("")
    p(f"### {title}")
    p("")
    p("| ranks | experts | tokens/s | step ms | router | coordinator compute | exchange (pack + wait) | "
      "busiest host's experts ms | tokens/s without w0 | exchange without w0 | coordinator GB | per expert rank GB | "
      "bottleneck |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    e_bytes = expert_bytes or expert_floats(shape) * 4
    for n_rank in (8, 32, 128, 512):
        for n_expert in (1000, 10000, 100000):
            pred = predict(fit, shape, n_rank, n_expert, alpha, beta, tokens, mac_base, mac_expert, router_mac)
            fixed = predict(fit, shape, n_rank, n_expert, alpha, beta, tokens, mac_base, mac_expert, router_mac, w0=0.0)
            coord_gb = (coord_mb or coord_base_mb) / 1024 + n_expert * proto_floats(shape) * proto_bytes / 2**30
            host_gb = (host_mb or host_base_mb) / 1024 + growth_factor * e_bytes * n_expert / (n_rank - 1) / 2**30
            lat = L_EXCH = 1.5 * alpha * (n_rank - 1) * len(GROUPS) * shape["n_layer"]
            parts = {"router (coordinator)": pred["router"], "base (coordinator)": pred["coord"],
                     "exchange latency (alltoall over N ranks)": lat,
                     "exchange bytes + dispatcher overhead": pred["pack"] + pred["wait"] - L_EXCH}
            bottleneck = max(parts, key=parts.get)
            if host_gb > 256:
                bottleneck += "; expert memory per rank"
            if coord_gb > 256:
                bottleneck += "; prototype memory on the coordinator"
            share = lambda x: f"{100 * x / pred['step']:.0f}%"
            p(f"| {n_rank} | {n_expert} | {pred['tokens_per_s']:.3g} | {1e3 * pred['step']:.3g} | "
              f"{share(pred['router'])} | {share(pred['coord'])} | {share(pred['pack'] + pred['wait'])} | "
              f"{1e3 * pred['expert']:.3g} | {fixed['tokens_per_s']:.3g} | {100 * fixed['comm_fraction']:.0f}% | "
              f"{coord_gb:.3g} | {host_gb:.3g} | {bottleneck} |")


table("Zoo base, decode at batch 16 (fitted constants; network = this node's shared memory)", ZOO,
      fits[("decode", 16)], alpha_x, beta_x)
table("Zoo base, prefill 16 x 128 (fitted constants; network = this node's shared memory)", ZOO,
      fits[("prefill", 16)], alpha_x, beta_x)
# 7B-class base: GEMM rates measured here at its shapes; an assumed inter-node network.
rate = {(int(g["n_row"]), int(g["d_in"]), int(g["d_out"])): float(g["gflops"]) * 1e9 for g in gemm}
mac_base = 2 / rate[(16, 4096, 4096)]
mac_expert = 2 / min(rate[(256, 4096, 16)], rate[(256, 16, 4096)])
router_mac = 2 / rate[(256, 4096, 4096)]
ALPHA_NET, BETA_NET = 3e-6, 1 / 12.5e9
b7_coord_mb = 2 * 6.7e9 / 2**20 + 2 * 32 * 16 * 2048 * 4096 * 2 / 2**20  # bf16 weights + a 16 x 2048 KV cache
b7_expert_bytes = expert_floats(B7) * 2  # bf16
p("")
p(f"7B-class base (d 4096, 32 layers, d_ff 11008, vocab 32000, LoRA rank 16 on all 7 modules, bf16 experts "
  f"{b7_expert_bytes / 2**20:.0f} MB each, f32 prototypes {proto_floats(B7) * 4 / 2**20:.2f} MB each): "
  f"base GEMM at 16 rows {rate[(16, 4096, 4096)] / 1e9:.1f} GFLOP/s and router GEMM "
  f"{rate[(256, 4096, 4096)] / 1e9:.1f} GFLOP/s and LoRA GEMMs "
  f"{min(rate[(256, 4096, 16)], rate[(256, 16, 4096)]) / 1e9:.1f} GFLOP/s as measured here on one core; "
  f"network assumed: alpha {1e6 * ALPHA_NET:.0f} us, {1 / BETA_NET / 1e9:.1f} GB/s per node (100 Gb/s class).")
table("7B-class base, decode at batch 16 (measured GEMM rates, assumed network)", B7, fits[("decode", 16)],
      ALPHA_NET, BETA_NET, mac_base, mac_expert, router_mac, b7_expert_bytes, b7_coord_mb, host_base_mb, 16)
print("\n".join(out))
