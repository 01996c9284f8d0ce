#!/usr/bin/env python3
"""PyTorch eager BERT encoder on a safetensors checkpoint (HF BertModel naming):
b1s128 latency and b8s128 throughput. A by-hand baseline for issue 6:

    go run ./cmd/lumen gen-random --arch bert --size base --out /tmp/bert-base
    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/bert_eager.py --model /tmp/bert-base --threads 1
"""
import argparse, os, sys, json, math, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_reader  # noqa: E402


def read_safetensors(path):
    return st_reader.read(path, "bert.")


def linear_specs(w, cfg):
    """The encoder's Linear layers by name prefix: (weight [out, in], bias), what
    quant.int8_linears takes."""
    out = {}
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense", "intermediate.dense", "output.dense"):
            out[p + n] = (w[p + n + ".weight"], w[p + n + ".bias"])
    return out


def encode(w, cfg, ids, mask=None, linears=None):
    """The last hidden state [B, T, E]. linears maps a Linear's name prefix to a module
    that replaces F.linear with its weights (quant.int8_linears); None: F.linear."""
    E, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]

    def lin(name, x):
        if linears is not None:
            return linears[name](x)
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    eps, D = cfg.get("layer_norm_eps", 1e-12), E // H
    B, T = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T] + w["embeddings.token_type_embeddings.weight"][0]
    x = F.layer_norm(x, (E,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for l in range(L):
        p = f"encoder.layer.{l}."
        q = lin(p + "attention.self.query", x).view(B, T, H, D).transpose(1, 2)
        k = lin(p + "attention.self.key", x).view(B, T, H, D).transpose(1, 2)
        v = lin(p + "attention.self.value", x).view(B, T, H, D).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        if mask is not None:  # additive key mask, as HF does
            att = att + (1 - mask)[:, None, None, :] * torch.finfo(att.dtype).min
        att = att.softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, E)
        x = F.layer_norm(x + lin(p + "attention.output.dense", y), (E,),
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        h = F.gelu(lin(p + "intermediate.dense", x))
        x = F.layer_norm(x + lin(p + "output.dense", h), (E,),
                         w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    w = read_safetensors(f"{a.model}/model.safetensors")
    with torch.no_grad():
        for B, T in ((1, 128), (8, 128)):
            ids = torch.tensor([[1000 + ((b * T + t) * 7919) % 28000 for t in range(T)] for b in range(B)])
            encode(w, cfg, ids)
            times = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                encode(w, cfg, ids)
                times.append(time.perf_counter() - t0)
            med = sorted(times)[len(times) // 2]
            print(f"torch {torch.__version__}, threads {torch.get_num_threads()}: b{B}s{T} median {med*1e3:.1f} ms, {B/med:.2f} sequences/s")


if __name__ == "__main__":
    main()
