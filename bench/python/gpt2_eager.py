#!/usr/bin/env python3
"""PyTorch eager GPT-2 (with KV cache) on a safetensors checkpoint in HF hub layout:
prefill of a 128-token prompt (last-token logits) and decode tokens/s.

A by-hand baseline for issue 5 until the benchmark harness lands; it reads the files
that `lumen gen-random` writes:

    go run ./cmd/lumen gen-random --arch gpt2 --size 124M --dtype f32 --out /tmp/gpt2-124m
    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/gpt2_eager.py --model /tmp/gpt2-124m --threads 1
"""
import argparse, os, sys, json, math, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_reader  # noqa: E402


def read_safetensors(path):
    return st_reader.read(path, "transformer.")


class GPT2:
    def __init__(self, w, cfg, linears=None):
        """linears maps a Conv1D's name prefix (and "lm_head") to a module that replaces
        its product (quant.int8_linears); None: torch.addmm on the weights."""
        self.w, self.L, self.H, self.E = w, cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.linears = linears

    def conv1d(self, name, x):
        if self.linears is not None:
            return self.linears[name](x)
        return torch.addmm(self.w[name + ".bias"], x, self.w[name + ".weight"])

    def linear_specs(self):
        """Every product's weight as a Linear [out, in] and its bias, by name: the
        Conv1D weights [in, out] transposed, and the LM head (wte, no bias)."""
        w = self.w
        out = {"lm_head": (w["wte.weight"], None)}
        for l in range(self.L):
            for n in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                p = f"h.{l}.{n}"
                out[p] = (w[p + ".weight"].t(), w[p + ".bias"])
        return out

    def layer(self, l, x, past_k, past_v, mask):
        """Block l over x [T, E] with the layer's cached keys/values [H, P, D] (None: no
        past) and an additive mask [T, P+T] (None: every key visible); returns x and the
        block's keys/values [H, P+T, D]. Written for tracing too (ort_worker.py)."""
        w, E, H = self.w, self.E, self.H
        D = E // H
        T = x.shape[0]
        p = f"h.{l}."
        h = F.layer_norm(x, (E,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
        qkv = self.conv1d(p + "attn.c_attn", h)
        q, k, v = qkv.split(E, dim=1)
        q, k, v = (t.reshape(T, H, D).transpose(0, 1) for t in (q, k, v))
        if past_k is not None:
            k = torch.cat([past_k, k], dim=1)
            v = torch.cat([past_v, v], dim=1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(D)
        if mask is not None:
            att = att + mask
        y = (att.softmax(-1) @ v).transpose(0, 1).reshape(T, E)
        x = x + self.conv1d(p + "attn.c_proj", y)
        h = F.layer_norm(x, (E,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
        h = F.gelu(self.conv1d(p + "mlp.c_fc", h), approximate="tanh")
        return x + self.conv1d(p + "mlp.c_proj", h), k, v

    def head(self, x):
        """The last position's logits [1, vocab] from the final hidden states."""
        w = self.w
        x = F.layer_norm(x[-1:], (self.E,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        if self.linears is not None:
            return self.linears["lm_head"](x)
        return x @ w["wte.weight"].t()

    def forward(self, ids, cache, past):
        w = self.w
        T = ids.shape[0]
        x = w["wte.weight"][ids] + w["wpe.weight"][past:past + T]
        mask = None
        if T > 1:
            mask = torch.zeros(T, past + T, dtype=x.dtype).masked_fill(
                ~torch.ones(T, past + T, dtype=torch.bool).tril(past), torch.finfo(x.dtype).min)
        for l in range(self.L):
            pk, pv = cache[l] if cache[l] is not None else (None, None)
            x, k, v = self.layer(l, x, pk, pv, mask)
            cache[l] = (k, v)
        return self.head(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--decode", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    m = GPT2(read_safetensors(f"{a.model}/model.safetensors"), cfg)
    prompt = torch.tensor([(i * 7919) % 50257 for i in range(128)])
    with torch.no_grad():
        m.forward(prompt, [None] * m.L, 0)  # warm-up
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            m.forward(prompt, [None] * m.L, 0)
            times.append(time.perf_counter() - t0)
        cache = [None] * m.L
        logits = m.forward(prompt, cache, 0)
        tok, past = logits.argmax(-1), 128
        t0 = time.perf_counter()
        for _ in range(a.decode):
            logits = m.forward(tok, cache, past)
            tok, past = logits.argmax(-1), past + 1
        dt = time.perf_counter() - t0
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}: prefill128 median {sorted(times)[len(times)//2]*1e3:.1f} ms, "
          f"decode {a.decode / dt:.1f} tokens/s (from 128 cached)")


if __name__ == "__main__":
    main()
