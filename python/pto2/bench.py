"""Paged attention through pto2 from Python, checked against numpy.

    python3 -m pto2.bench                       # VarSeq4-like case, every lane and scene
    python3 -m pto2.bench --batch 8 --context-lens 100,300 --lane graph --rounds 5
    python3 -m pto2.bench --trace pa.json       # Chrome / Perfetto trace of the last run

Inputs are numpy arrays (float16 query/key/value, int32 block table and
context lengths, float32 output) passed zero-copy to the paged-attention
plugin (libpto2_pa.so, built from examples/paged_attention/pa_plugin.c).
"""
import argparse
import json
import sys
import time

import numpy as np

import pto2

LANES = {"auto": 0, "manual": 1, "graph": 2}
SCENES = {"base": 0, "unroll": 1}


def make_inputs(batch, heads, dim, block_size, context_lens, max_model_len, seed):
    """Seeded inputs of one case; context lengths are cycled over the batch."""
    rng = np.random.default_rng(seed)
    lens = np.array([context_lens[b % len(context_lens)] for b in range(batch)], np.int32)
    width = max_model_len // block_size
    most = int(max((int(n) + block_size - 1) // block_size for n in lens))
    total_blocks = batch * most
    return {
        "query": rng.uniform(-0.5, 0.5, (batch, heads, dim)).astype(np.float16),
        "key_cache": rng.uniform(-0.5, 0.5, (total_blocks, block_size, 1, dim)).astype(np.float16),
        "value_cache": rng.uniform(-1, 1, (total_blocks, block_size, 1, dim)).astype(np.float16),
        "block_table": rng.integers(0, total_blocks, (batch, width), dtype=np.int32),
        "context_lens": lens,
        "out": np.zeros((batch, heads, dim), np.float32),
    }


def golden(query, key_cache, value_cache, block_table, context_lens, scale=1.0):
    """out[b, h] = softmax(scale * q[b, h] . K_b^T) V_b, in float32."""
    batch, heads, dim = query.shape
    bs = key_cache.shape[1]
    out = np.zeros((batch, heads, dim), np.float32)
    for b in range(batch):
        n = int(context_lens[b])
        blocks = block_table[b, :(n + bs - 1) // bs]
        k = key_cache[blocks].reshape(-1, dim)[:n].astype(np.float32)
        v = value_cache[blocks].reshape(-1, dim)[:n].astype(np.float32)
        s = (query[b].astype(np.float32) @ k.T) * np.float32(scale)
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        out[b] = p @ v
    return out


def tensors_of(inputs):
    return [inputs[k] for k in
            ("query", "key_cache", "value_cache", "block_table", "context_lens", "out")]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m pto2.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--block-size", type=int, default=16)
    ap.add_argument("--context-lens", default="33,64,128,15",
                    help="comma-separated, cycled over the batch")
    ap.add_argument("--max-model-len", type=int, default=256)
    ap.add_argument("--lane", default="all", choices=["all", *LANES])
    ap.add_argument("--scene", default="all", choices=["all", *SCENES])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--block-dim", type=int, default=0, help="clusters (0: default)")
    ap.add_argument("--workers", type=int, default=0, help="executor threads (0: default)")
    ap.add_argument("--rtol", type=float, default=1e-2)
    ap.add_argument("--atol", type=float, default=1e-2)
    ap.add_argument("--trace", help="write the last run's trace (Chrome/Perfetto JSON) here")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)

    lens = [int(x) for x in args.context_lens.split(",")]
    inputs = make_inputs(args.batch, args.heads, args.dim, args.block_size, lens,
                         args.max_model_len, args.seed)
    want = golden(inputs["query"], inputs["key_cache"], inputs["value_cache"],
                  inputs["block_table"], inputs["context_lens"])
    lanes = list(LANES) if args.lane == "all" else [args.lane]
    scenes = list(SCENES) if args.scene == "all" else [args.scene]
    failed = 0
    with pto2.Runtime(block_dim=args.block_dim, worker_threads=args.workers) as rt:
        plugin = rt.load_plugin(pto2.plugin_path("pto2_pa"))
        if args.trace:
            rt.trace_enable()
        if not args.json:
            print(f"pto2 {pto2.__version__} ({pto2.library_path}), batch {args.batch}, "
                  f"heads {args.heads}, head_dim {args.dim}, block_size {args.block_size}, "
                  f"context_lens {lens}")
        for scene in scenes:
            for lane in lanes:
                times = []
                for _ in range(max(1, args.rounds)):
                    inputs["out"][...] = 0
                    t0 = time.perf_counter()
                    st = rt.run(plugin, tensors_of(inputs), scalars=[LANES[lane], SCENES[scene]])
                    times.append(time.perf_counter() - t0)
                err = float(np.max(np.abs(inputs["out"] - want)))
                ok = bool(np.allclose(inputs["out"], want, rtol=args.rtol, atol=args.atol))
                failed += not ok
                med = sorted(times)[len(times) // 2]
                if args.json:
                    print(json.dumps({"scene": scene, "lane": lane, "ok": ok, "max_abs_err": err,
                                      "median_s": med, **st.as_dict()}))
                else:
                    print(f"  {scene:6s} {lane:6s}  tasks {st.tasks:6d}  edges {st.edges:6d}  "
                          f"median {med * 1e3:8.3f} ms  max|err| {err:.2e}  "
                          f"{'ok' if ok else 'MISMATCH'}")
        if args.trace:
            rt.trace_write(args.trace)
            if not args.json:
                print(f"trace of the last run: {args.trace}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
