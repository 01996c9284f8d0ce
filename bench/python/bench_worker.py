#!/usr/bin/env python3
"""PyTorch worker for `lumen bench` (bench/harness): one workload per process.

Protocol (the same for every implementation; see bench/harness/protocol.go):
  argv: --request JSON  ({"impl", "workload": {...}, "threads", "model", "mnist"})
  stdout: one JSON line {"phase": "check", "output": {...}}, then, after the runner
  writes "time" on stdin, {"phase": "time", "samples_s": [...], "cpu_s": x};
  {"phase": "error", "error": "..."} on failure.

Inputs follow the formulas in the Request documentation so every implementation
computes on identical data; the models are the same safetensors files Lumen reads.
"""
import argparse, gzip, json, os, resource, sys, time, traceback

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_eager  # noqa: E402
import gpt2_eager  # noqa: E402
import lenet_eager  # noqa: E402


def emit(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_bytes():
    """This process's own resident high-water mark (VmHWM), 0 where /proc is missing.

    getrusage's ru_maxrss cannot serve: a child's starts at its parent's (the runner's).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def floats(t):
    return [float(v) for v in t.detach().float().reshape(-1).tolist()]


def lenet_job(req, w):
    weights = lenet_eager.read_safetensors(req["model"])
    path = os.path.join(req["mnist"], "t10k-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        raw = f.read()
    if len(raw) != 16 + 10000 * 28 * 28:
        raise ValueError(f"{path}: want 10,000 images of 28×28")
    px = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
    x = torch.from_numpy(((px.astype(np.float32) / 255) - 0.1307) / 0.3081)
    B = w["Batch"]

    def check():
        out = lenet_eager.forward(weights, x[:64])
        return {"kind": "logits", "rows": 64, "cols": out.shape[1], "data": floats(out)}

    def rep(i):
        s = (i * B) % (10000 - B + 1)
        xb = x[s:s + B]
        t0 = time.perf_counter()
        lenet_eager.forward(weights, xb)
        return time.perf_counter() - t0

    return check, rep


def gpt2_job(req, w):
    cfg = json.load(open(os.path.join(req["model"], "config.json")))
    weights = gpt2_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))
    if w["DType"] == "bf16":
        # PyTorch's way to run BF16: the whole model in bfloat16 (weights and activations).
        weights = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in weights.items()}
    m = gpt2_eager.GPT2(weights, cfg)
    V, P, D = cfg["vocab_size"], w["Seq"], w["Decode"]
    if P + D > cfg["n_positions"]:
        raise ValueError(f"{P} + {D} positions exceed n_positions {cfg['n_positions']}")
    prompt = torch.tensor([(t * 7919) % V for t in range(P)])

    def decode(n):
        cache = [None] * m.L
        logits = m.forward(prompt, cache, 0)
        ids, past = [], P
        t0 = time.perf_counter()
        while len(ids) < n:
            ids.append(int(logits.float().argmax(-1)))
            logits = m.forward(torch.tensor([ids[-1]]), cache, past)
            past += 1
        return ids, time.perf_counter() - t0

    def check():
        logits = m.forward(prompt, [None] * m.L, 0)
        out = {"kind": "logits", "rows": 1, "cols": V, "data": floats(logits)}
        if D > 0:
            out["ids"] = decode(D)[0]
        return out

    def rep(_):
        if D > 0:
            return decode(D)[1]
        t0 = time.perf_counter()
        m.forward(prompt, [None] * m.L, 0)
        return time.perf_counter() - t0

    return check, rep


def bert_job(req, w):
    cfg = json.load(open(os.path.join(req["model"], "config.json")))
    weights = bert_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))
    V, B, T = cfg["vocab_size"], w["Batch"], w["Seq"]

    def ids_of(b):
        return [101 if t == 0 else 102 if t == T - 1 else 1000 + (b * 7919 + t * 104729) % (V - 1000) for t in range(T)]

    ids = torch.tensor([ids_of(b) for b in range(B)])

    def check():
        h = bert_eager.encode(weights, cfg, ids)
        rows = [h[0]] + ([h[B - 1]] if B > 1 else [])
        return {"kind": "values", "rows": T * len(rows), "cols": h.shape[2], "data": floats(torch.cat(rows))}

    def rep(_):
        t0 = time.perf_counter()
        bert_eager.encode(weights, cfg, ids)
        return time.perf_counter() - t0

    return check, rep


def gemm_job(req, w):
    M, K, N = w["M"], w["K"], w["N"]
    i, k, j = torch.arange(M)[:, None], torch.arange(K), torch.arange(N)
    a = (((31 * i + 17 * k[None, :]) % 101 - 50).float() / 100).contiguous()
    b = (((13 * k[:, None] + 29 * j[None, :]) % 97 - 48).float() / 100).contiguous()
    c = torch.empty(M, N)
    rows = list(range(min(M, 8))) + ([M - 1] if M > 8 else [])

    def check():
        torch.matmul(a, b, out=c)
        return {"kind": "values", "rows": len(rows), "cols": N, "data": floats(c[rows])}

    def rep(_):
        t0 = time.perf_counter()
        torch.matmul(a, b, out=c)
        return time.perf_counter() - t0

    return check, rep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--request", required=True)
    req = json.loads(ap.parse_args().request)
    try:
        w, threads = req["workload"], int(req["threads"])
        torch.set_num_threads(threads)
        jobs = {"lenet": lenet_job, "gpt2": gpt2_job, "bert": bert_job, "gemm": gemm_job}
        if w["Model"] not in jobs:
            raise ValueError(f"no {w['Model']!r} workloads")
        with torch.inference_mode():
            check, rep = jobs[w["Model"]](req, w)
            out = check()
            emit({"phase": "check", "impl": "pytorch", "version": f"torch {torch.__version__} (Python {sys.version.split()[0]})",
                  "threads": torch.get_num_threads(), "output": out, "peak_rss_bytes": peak_rss_bytes()})
            if sys.stdin.readline().strip() != "time":
                return 0
            for i in range(w["Warmup"]):
                rep(i)
            cpu0 = cpu_seconds()
            samples = [rep(w["Warmup"] + i) for i in range(w["Reps"])]
            emit({"phase": "time", "impl": "pytorch", "samples_s": samples, "cpu_s": cpu_seconds() - cpu0,
                  "peak_rss_bytes": peak_rss_bytes()})
    except Exception as e:  # reported to the runner, which records the failure
        traceback.print_exc()
        emit({"phase": "error", "error": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
