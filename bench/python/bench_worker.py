#!/usr/bin/env python3
"""PyTorch eager worker for `lumen bench` (bench/harness): one workload per process.

The models are written out by hand (lenet_eager.py, gpt2_eager.py, bert_eager.py) on
torch's functional API: PyTorch's own speed with nothing in between. hf_worker.py is
the row most Python users would run (Hugging Face transformers). Protocol and input
formulas: protocol.py.
"""
import os, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_eager  # noqa: E402
import gpt2_eager  # noqa: E402
import lenet_eager  # noqa: E402
import protocol  # noqa: E402
import quant  # noqa: E402
from protocol import floats, timed  # noqa: E402


def lenet_job(req, w):
    weights = lenet_eager.read_safetensors(req["model"])
    x = torch.from_numpy(protocol.mnist_images(req["mnist"]))
    B = w["Batch"]

    def check():
        out = lenet_eager.forward(weights, x[:64])
        return {"kind": "logits", "rows": 64, "cols": out.shape[1], "data": floats(out)}

    def rep(i):
        s = protocol.lenet_batch_start(i, B)
        xb = x[s:s + B]
        return timed(lambda: lenet_eager.forward(weights, xb))

    return check, rep


def lenet_train_job(req, w):
    """LeNet training from the request's initial weights (see harness.Request): the check
    trains w["CheckEpochs"] epochs and reports the first losses and the test accuracy; a
    repetition starts over and trains w["Epochs"] epochs, or until the test accuracy
    reaches w["Target"]. protocol.main runs jobs in inference mode: training leaves it."""
    import torch.nn.functional as F
    grad = lambda: torch.inference_mode(False)  # noqa: E731
    with grad():
        init = lenet_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))
        x, y, xt, yt, order = (torch.from_numpy(np.ascontiguousarray(a)) for a in protocol.train_set(req))
    B, n = w["Batch"], len(y)

    def fresh():
        params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
        if w["Optimizer"] == "adam":
            return params, torch.optim.Adam(params.values(), lr=w["LR"])
        return params, torch.optim.SGD(params.values(), lr=w["LR"], momentum=w["Momentum"])

    def epoch(params, opt, e, on_step=None):
        perm = order[e]
        for s, lo in enumerate(range(0, n, B)):
            idx = perm[lo:lo + B]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(lenet_eager.forward(params, x[idx]), y[idx])
            loss.backward()
            opt.step()
            if on_step is not None:
                on_step(s, loss)

    def accuracy(params):
        with torch.no_grad():
            return (lenet_eager.forward(params, xt).argmax(1) == yt).double().mean().item()

    def check():
        with grad(), torch.enable_grad():
            params, opt = fresh()
            losses = []
            epoch(params, opt, 0, lambda s, loss: losses.append(loss.item()) if s < w["CheckSteps"] else None)
            for e in range(1, w["CheckEpochs"]):
                epoch(params, opt, e)
            return {"kind": "training", "rows": 1, "cols": len(losses), "data": losses, "accuracy": accuracy(params)}

    def rep(_):
        with grad(), torch.enable_grad():
            params, opt = fresh()
            t0 = time.perf_counter()
            for e in range(w["Epochs"]):
                epoch(params, opt, e)
                if w["Target"] > 0 and accuracy(params) >= w["Target"]:
                    return time.perf_counter() - t0
            if w["Target"] > 0:
                raise RuntimeError(f"test accuracy below {100 * w['Target']:.2f}% after {w['Epochs']} epochs")
            return time.perf_counter() - t0

    return check, rep


def autocast(f):
    """f() with the matrix products in BF16 (oneDNN; AMX where the CPU has it)."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return f()


def gpt2_job(req, w):
    cfg = protocol.config(req["model"])
    weights = gpt2_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))
    if w["DType"] == "bf16":
        # PyTorch's way to run BF16: the whole model in bfloat16 (weights and activations).
        weights = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in weights.items()}
    m = gpt2_eager.GPT2(weights, cfg)
    if w.get("Quantize") == "int8":
        m = gpt2_eager.GPT2(weights, cfg, quant.int8_linears(m.linear_specs()))
    V, P, D = cfg["vocab_size"], w["Seq"], w["Decode"]
    if P + D > cfg["n_positions"]:
        raise ValueError(f"{P} + {D} positions exceed n_positions {cfg['n_positions']}")
    prompt = torch.from_numpy(protocol.gpt2_prompt(P, V))

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

    prefill = lambda: m.forward(prompt, [None] * m.L, 0)
    if w.get("Compute") == "bf16":  # prefill only (validated): the products under autocast
        f32 = prefill
        prefill = lambda: autocast(lambda: f32().float())
    return protocol.gpt2_check_rep(prefill, decode, V, D)


def bert_job(req, w):
    cfg = protocol.config(req["model"])
    weights = bert_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))
    ids = torch.from_numpy(protocol.bert_ids(w["Batch"], w["Seq"], cfg["vocab_size"]))
    linears = None
    if w.get("Quantize") == "int8":
        linears = quant.int8_linears(bert_eager.linear_specs(weights, cfg))

    run = lambda: bert_eager.encode(weights, cfg, ids, linears=linears)
    if w.get("Compute") == "bf16":
        f32 = run
        run = lambda: autocast(lambda: f32().float())

    def check():
        return protocol.bert_check(run().numpy())

    def rep(_):
        return timed(run)

    return check, rep


def gemm_job(req, w):
    M, N = w["M"], w["N"]
    a, b = (torch.from_numpy(t) for t in protocol.gemm_inputs(M, w["K"], N))
    c = torch.empty(M, N)
    rows = protocol.gemm_check_rows(M)

    def check():
        torch.matmul(a, b, out=c)
        return {"kind": "values", "rows": len(rows), "cols": N, "data": floats(c[rows])}

    def rep(_):
        return timed(lambda: torch.matmul(a, b, out=c))

    return check, rep


def setup(threads):
    torch.set_num_threads(threads)
    return torch.get_num_threads()


if __name__ == "__main__":
    sys.exit(protocol.main("pytorch", lambda: f"torch {torch.__version__}, BLAS {protocol.torch_blas(torch)}, quantized engine {quant.engine()} (Python {sys.version.split()[0]})",
                           {"lenet": lenet_job, "lenet-train": lenet_train_job, "gpt2": gpt2_job, "bert": bert_job, "gemm": gemm_job},
                           setup=setup, context=torch.inference_mode))
