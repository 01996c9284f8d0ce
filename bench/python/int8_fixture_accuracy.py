#!/usr/bin/env python3
"""PyTorch's dynamic int8 quantisation (quantize_dynamic, as hf_worker.py applies it)
on the shared fixtures, measured by the criteria Lumen's int8 tests use
(models/gpt2/int8_test.go, models/bert/int8_test.go): GPT-2's next-token top-1
agreement with the HF F32 goldens over every position and its greedy continuations;
BERT's and MiniLM's mean-pooled embeddings' cosine to the goldens. For the closing
figures beside Lumen's:

    ~/.cache/lumen/venv/bin/python bench/python/int8_fixture_accuracy.py --shared ../shared
"""
import argparse, os, sys
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors.numpy import load_file
from transformers import GPT2LMHeadModel
import hf_worker  # noqa: E402
ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join("..", "shared"))
shared = ap.parse_args().shared
d = f"{shared}/fixtures/gpt2-tiny"
g = load_file(d + "/golden.safetensors")
torch.set_num_threads(1)
for per_channel in (False, True):
    m = GPT2LMHeadModel.from_pretrained(d).eval()
    q = hf_worker.int8(m, torch.ao.quantization.per_channel_dynamic_qconfig if per_channel else None)
    agree = pos = same = follow = total = 0
    for i in range(4):
        ids = torch.tensor(g[f"prompt{i}.input_ids"])[None]
        with torch.inference_mode():
            logits = q(ids).logits[0]
        am = torch.tensor(g[f"f32.prompt{i}.logits_argmax"])
        agree += int((logits.argmax(-1) == am).sum()); pos += len(am)
        want = list(g[f"f32.prompt{i}.generated_ids"])
        q.generation_config.eos_token_id = None; q.generation_config.pad_token_id = 0
        with torch.inference_mode():
            out = q.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=len(want), do_sample=False, synced_gpus=False)[0, ids.shape[1]:].tolist()
        same += out == [int(x) for x in want]
        n = 0
        while n < len(out) and out[n] == want[n]: n += 1
        follow += n; total += len(want)
    print(f"torch {torch.__version__} {torch.backends.quantized.engine} {'per-channel' if per_channel else 'per-tensor'}: top-1 {agree}/{pos} ({100*agree/pos:.1f} %), continuations equal {same}/4, first {follow}/{total} tokens follow")

# BERT-family fixtures: embeddings' cosine to the HF F32 goldens under PyTorch int8.
import numpy as np
from transformers import BertModel
for fx, key, pool in (("bert-tiny", "single", "mean_pooled"), ("minilm-tiny", "sent", "embedding")):
    d = f"{shared}/fixtures/{fx}"
    g = load_file(d + "/golden.safetensors")
    q = hf_worker.int8(BertModel.from_pretrained(d, add_pooling_layer=False).eval())
    worst, i = 1.0, 0
    while f"{key}{i}.input_ids" in g:
        ids = torch.tensor(g[f"{key}{i}.input_ids"])[None]
        tt = torch.tensor(g[f"{key}{i}.token_type_ids"])[None] if f"{key}{i}.token_type_ids" in g else torch.zeros_like(ids)
        with torch.inference_mode():
            h = q(input_ids=ids, token_type_ids=tt).last_hidden_state[0].numpy()
        e = h.mean(0)
        w = g[f"{key}{i}.{pool}"]
        c = float(np.dot(e, w) / np.linalg.norm(e) / np.linalg.norm(w))
        worst = min(worst, c)
        i += 1
    print(f"{fx}: PyTorch int8 worst cosine of mean-pooled embeddings to HF f32 {worst:.5f} over {i}")
