"""Goldens for models/llama from transformers' GGUF loader: the real SmolLM2-135M-Instruct
Q4_1 file dequantised to float32 (transformers 4.46.3, gguf 0.19.0, torch 1.13) — the
numerics reference without llama.cpp's 8-bit activations. For each prompt of the
llama.cpp goldens (the same token ids): the logits after the prompt at the same
sampled ids and the 24-token greedy continuation.

    ~/.cache/lumen/venv/bin/python tools/llama/make_hf_goldens.py \
        ~/.cache/lumen/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        models/llama/testdata/smollm2_llamacpp.json models/llama/testdata/smollm2_transformers.json
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM


def main(path, llamacpp, out):
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 torch_dtype=torch.float32).eval()
    # The file has no output.weight: its head is token_embd, tied. transformers 4.46's
    # GGUF config does not say so and leaves lm_head random; tie it as llama.cpp does.
    model.lm_head.weight = model.model.embed_tokens.weight
    with open(llamacpp) as f:
        ref = json.load(f)
    cases = []
    for c in ref["cases"]:
        ids = c["ids"]
        with torch.no_grad():
            o = model(torch.tensor([ids]), use_cache=True)
            logits = o.logits[0, -1]
            greedy = []
            for _ in range(ref["steps"]):
                tok = int(o.logits[0, -1].argmax())
                greedy.append(tok)
                o = model(torch.tensor([[tok]]), past_key_values=o.past_key_values, use_cache=True)
        stride = c["sample_stride"]
        cases.append({"ids": ids, "sample_stride": stride,
                      "sample_logits": [round(float(x), 5) for x in logits[::stride]],
                      "top_ids": torch.argsort(-logits, stable=True)[:20].tolist(),
                      "greedy": greedy})
    with open(out, "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "steps": ref["steps"],
                   "cases": cases}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
