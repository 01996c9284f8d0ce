#!/usr/bin/env python3
"""PyTorch CUDA peer figures for the cuBLAS dispatch (bench/cuda/run.sh gpu):
torch.matmul GFLOP/s at 1024^3 and 4096^3 (F32, TF32 off, like Lumen's default), and
GPT-2 124M prefill-128 / BERT-base b1s128 eager forward times on the GPU, with random
weights of the same shapes (the code of bench/python/gpt2_eager.py and bert_eager.py).
Host-to-device copies of the activations are included, as in Lumen's per-call path."""
import os, sys, time
import torch

sys.path.insert(0, os.path.dirname(__file__))
import bert_eager  # noqa: E402
import gpt2_eager  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device("cuda")


def timeit(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    for n in (1024, 4096):
        a_host = torch.randn(n, n).pin_memory()
        b = torch.randn(n, n, device=dev)
        t = timeit(lambda: torch.matmul(a_host.to(dev, non_blocking=True), b).cpu())
        t_dev = timeit(lambda: torch.matmul(b, b))
        print(f"matmul {n}^3: {2 * n**3 / t / 1e9:.0f} GFLOP/s with copies, {2 * n**3 / t_dev / 1e9:.0f} GFLOP/s on-device")

    g = torch.Generator().manual_seed(1)
    E, L, V, P = 768, 12, 50257, 1024
    w = {"wte.weight": torch.randn(V, E, generator=g) * 0.02, "wpe.weight": torch.randn(P, E, generator=g) * 0.01,
         "ln_f.weight": torch.ones(E), "ln_f.bias": torch.zeros(E)}
    for l in range(L):
        p = f"h.{l}."
        for name, shape in (("attn.c_attn", (E, 3 * E)), ("attn.c_proj", (E, E)), ("mlp.c_fc", (E, 4 * E)), ("mlp.c_proj", (4 * E, E))):
            w[p + name + ".weight"] = torch.randn(*shape, generator=g) * 0.02
            w[p + name + ".bias"] = torch.zeros(shape[1])
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = torch.ones(E), torch.zeros(E)
    w = {k: v.to(dev) for k, v in w.items()}
    m = gpt2_eager.GPT2(w, {"n_layer": L, "n_head": 12, "n_embd": E})
    prompt = torch.tensor([(i * 7919) % V for i in range(128)], device=dev)
    with torch.no_grad():
        t = timeit(lambda: m.forward(prompt, [None] * L, 0).cpu())
    print(f"gpt2-124M prefill128 (CUDA eager): {t * 1e3:.2f} ms")

    cfg = {"hidden_size": E, "num_attention_heads": 12, "num_hidden_layers": L, "layer_norm_eps": 1e-12}
    bw = {"embeddings.word_embeddings.weight": torch.randn(30522, E, generator=g) * 0.02,
          "embeddings.position_embeddings.weight": torch.randn(512, E, generator=g) * 0.02,
          "embeddings.token_type_embeddings.weight": torch.randn(2, E, generator=g) * 0.02,
          "embeddings.LayerNorm.weight": torch.ones(E), "embeddings.LayerNorm.bias": torch.zeros(E)}
    for l in range(L):
        p = f"encoder.layer.{l}."
        for name, (o, i) in (("attention.self.query", (E, E)), ("attention.self.key", (E, E)), ("attention.self.value", (E, E)),
                             ("attention.output.dense", (E, E)), ("intermediate.dense", (4 * E, E)), ("output.dense", (E, 4 * E))):
            bw[p + name + ".weight"] = torch.randn(o, i, generator=g) * 0.02
            bw[p + name + ".bias"] = torch.zeros(o)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            bw[p + ln + ".weight"], bw[p + ln + ".bias"] = torch.ones(E), torch.zeros(E)
    bw = {k: v.to(dev) for k, v in bw.items()}
    ids = torch.tensor([[1000 + (t * 104729) % 29522 for t in range(128)]], device=dev)
    with torch.no_grad():
        t = timeit(lambda: bert_eager.encode(bw, cfg, ids).cpu())
    print(f"bert-base b1s128 (CUDA eager): {t * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
