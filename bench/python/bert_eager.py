#!/usr/bin/env python3
"""PyTorch eager BERT-family encoder on a safetensors checkpoint (HF BertModel,
RobertaModel/XLMRobertaModel and MPNetModel naming, config.json's model_type):
b1s128 latency and b8s128 throughput. A by-hand baseline for issue 6 (MPNet and
XLM-R for issue 31):

    go run ./cmd/lumen gen-random --arch bert --size base --out /tmp/bert-base
    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/bert_eager.py --model /tmp/bert-base --threads 1
"""
import argparse, os, sys, json, math, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_reader  # noqa: E402


PREFIX = {"bert": "bert.", "roberta": "roberta.", "xlm-roberta": "roberta.", "camembert": "roberta.", "mpnet": "mpnet."}


def read_safetensors(path):
    cfg = json.load(open(os.path.join(os.path.dirname(path), "config.json")))
    return st_reader.read(path, PREFIX[cfg.get("model_type", "bert")])


def names(cfg):
    """A layer's modules: query, key, value, attention output, its LayerNorm."""
    if cfg.get("model_type") == "mpnet":
        return ("attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o", "attention.LayerNorm")
    return ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
            "attention.output.LayerNorm")


def linear_specs(w, cfg):
    """The encoder's Linear layers by name prefix: (weight [out, in], bias), what
    quant.int8_linears takes."""
    out = {}
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for n in names(cfg)[:4] + ("intermediate.dense", "output.dense"):
            out[p + n] = (w[p + n + ".weight"], w[p + n + ".bias"])
    return out


def relative_bias(w, T, H):
    """MPNet's relative position bias [1, H, T, T] (buckets of key - query: 16 a
    direction, 8 exact, logarithmic to 128)."""
    rel = torch.arange(T)[None, :] - torch.arange(T)[:, None]
    n = -rel
    ret = (n < 0).long() * 16
    n = n.abs()
    large = 8 + (torch.log(n.float() / 8) / math.log(128 / 8) * 8).long()
    ret = ret + torch.where(n < 8, n, torch.clamp(large, max=15))
    return w["encoder.relative_attention_bias.weight"][ret].permute(2, 0, 1)[None]


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
    mt = cfg.get("model_type", "bert")
    if mt == "bert":
        pos = torch.arange(T)[None, :]
    else:  # RoBERTa's and MPNet's positions: from pad_token_id + 1 over the tokens that are not padding
        pad = cfg.get("pad_token_id", 1)
        real = (ids != pad).long()
        pos = torch.cumsum(real, 1) * real + pad
    x = w["embeddings.word_embeddings.weight"][ids]
    if "embeddings.token_type_embeddings.weight" in w:
        x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = x + w["embeddings.position_embeddings.weight"][pos]
    x = F.layer_norm(x, (E,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = relative_bias(w, T, H) if mt == "mpnet" else None
    query, key, value, attn_out, attn_norm = names(cfg)
    for l in range(L):
        p = f"encoder.layer.{l}."
        q = lin(p + query, x).view(B, T, H, D).transpose(1, 2)
        k = lin(p + key, x).view(B, T, H, D).transpose(1, 2)
        v = lin(p + value, x).view(B, T, H, D).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        if bias is not None:
            att = att + bias
        if mask is not None:  # additive key mask, as HF does
            att = att + (1 - mask)[:, None, None, :] * torch.finfo(att.dtype).min
        att = att.softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, E)
        x = F.layer_norm(x + lin(p + attn_out, y), (E,), w[p + attn_norm + ".weight"], w[p + attn_norm + ".bias"], eps)
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
