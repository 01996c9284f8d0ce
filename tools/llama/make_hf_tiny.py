"""Writes models/llama/testdata/hf-tiny: a random-initialised LlamaForCausalLM in
Hugging Face layout (config.json, model.safetensors in F32, model-bf16.safetensors)
and hf_tiny_golden.json: for a few token sequences, transformers' logits at every
position and 12 greedy tokens (use_cache on, as generate runs). The same weights
under RoPE scaling (linear; llama3) have only their config.json in
hf-tiny-<type>/ and their goldens in hf_tiny_<type>_golden.json.

Run with the bench venv (torch 1.13, transformers 4.46.3):
    ~/.cache/lumen/venv/bin/python tools/llama/make_hf_tiny.py
"""
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "models", "llama", "testdata", "hf-tiny")


def main():
    torch.manual_seed(11)
    cfg = LlamaConfig(vocab_size=320, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, initializer_range=0.2)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # norms away from 1, so that their weights matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.3 * torch.randn_like(p))
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    from safetensors.torch import load_file, save_file
    st = load_file(os.path.join(OUT, "model.safetensors"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in st.items()},
              os.path.join(OUT, "model-bf16.safetensors"), metadata={"format": "pt"})
    if os.path.exists(os.path.join(OUT, "generation_config.json")):
        os.remove(os.path.join(OUT, "generation_config.json"))

    write_goldens(model, cfg, os.path.join(OUT, "..", "hf_tiny_golden.json"))
    scalings = {
        "linear": {"rope_type": "linear", "factor": 4.0},
        "llama3": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 32},
    }
    for name, scaling in scalings.items():
        d = dict(cfg.to_dict())
        d["rope_scaling"] = scaling
        scaled_cfg = LlamaConfig.from_dict(d)
        scaled = LlamaForCausalLM(scaled_cfg).eval()
        scaled.load_state_dict(model.state_dict())
        out = OUT + "-" + name
        os.makedirs(out, exist_ok=True)
        scaled_cfg.to_json_file(os.path.join(out, "config.json"))
        write_goldens(scaled, scaled_cfg, os.path.join(OUT, "..", "hf_tiny_%s_golden.json" % name))


    # Qwen2: the same network with biases on q, k and v.
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(12)
    qcfg = Qwen2Config(vocab_size=320, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                       bos_token_id=1, eos_token_id=2, initializer_range=0.2, use_sliding_window=False)
    qwen = Qwen2ForCausalLM(qcfg).eval()
    with torch.no_grad():
        for name, p in qwen.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.5 * torch.randn_like(p))
    qout = OUT + "-qwen2"
    qwen.save_pretrained(qout, safe_serialization=True)
    if os.path.exists(os.path.join(qout, "generation_config.json")):
        os.remove(os.path.join(qout, "generation_config.json"))
    write_goldens(qwen, qcfg, os.path.join(OUT, "..", "hf_tiny_qwen2_golden.json"))


def write_goldens(model, cfg, path):
    g = torch.Generator().manual_seed(5)
    cases = []
    for n in (1, 7, 40):
        ids = [1] + torch.randint(3, cfg.vocab_size, (n - 1,), generator=g).tolist()
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
            # Greedy with the KV cache, as generate() would (its import fails on
            # this torch 1.13 / Python 3.11 pair).
            out = model(torch.tensor([ids]), use_cache=True)
            greedy = []
            for _ in range(12):
                tok = int(out.logits[0, -1].argmax())
                greedy.append(tok)
                out = model(torch.tensor([[tok]]), past_key_values=out.past_key_values, use_cache=True)
        cases.append({"ids": ids, "logits": [round(float(x), 6) for x in logits.flatten()],
                      "greedy": greedy})
    with open(path, "w") as f:
        json.dump({"transformers": __import__("transformers").__version__, "torch": torch.__version__,
                   "cases": cases}, f)


if __name__ == "__main__":
    main()
