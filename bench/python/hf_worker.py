#!/usr/bin/env python3
"""Hugging Face transformers worker for `lumen bench`: the row most Python users would
run. GPT2LMHeadModel and AutoModel (BertModel, XLMRobertaModel, MPNetModel) load the very directories Lumen reads
(`from_pretrained` on config.json + model.safetensors); decoding is
`GPT2LMHeadModel.generate` with its KV cache, greedy. transformers has no LeNet and no
bare GEMM: those workloads are reported unsupported. Protocol and input formulas:
protocol.py.

Decode timing: generate(max_new_tokens=n+1) with a streamer that stamps each token;
the time from the first new token (the prefill's) to the last is n decode steps, what
every other implementation times.
"""
import os, sys, time

import torch
import transformers
from transformers import AutoModel, GPT2LMHeadModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402
from protocol import timed  # noqa: E402


class Stamps:
    """A generate() streamer that keeps each new token and when it arrived."""

    def __init__(self):
        self.prompt_seen, self.ids, self.times = False, [], []

    def put(self, value):
        if not self.prompt_seen:  # generate first puts the prompt
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter())
        self.ids.extend(int(v) for v in value.reshape(-1))

    def end(self):
        pass


def int8(m, qconfig=None):
    """PyTorch's dynamic quantisation, as users apply it to a transformers model:
    torch.ao.quantization.quantize_dynamic on every nn.Linear (int8 weights with the
    default per-tensor qconfig, or qconfig; activations quantised per call). GPT-2's
    Conv1D layers (weight [in, out]) first become the nn.Linear they compute, or
    quantize_dynamic would leave them F32."""
    from transformers.pytorch_utils import Conv1D
    for mod in list(m.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, Conv1D):
                lin = torch.nn.Linear(child.weight.shape[0], child.weight.shape[1])
                with torch.no_grad():
                    lin.weight.copy_(child.weight.t())
                    lin.bias.copy_(child.bias)
                setattr(mod, name, lin)
    spec = {torch.nn.Linear} if qconfig is None else {torch.nn.Linear: qconfig}
    return torch.ao.quantization.quantize_dynamic(m, spec, dtype=torch.qint8)


def gpt2_job(req, w):
    dtype = torch.bfloat16 if w["DType"] == "bf16" else torch.float32
    m = GPT2LMHeadModel.from_pretrained(req["model"], torch_dtype=dtype).eval()
    if w.get("Quantize") == "int8":
        m = int8(m)
    cfg = m.config
    V, P, D = cfg.vocab_size, w["Seq"], w["Decode"]
    if P + D + 1 > cfg.n_positions:
        raise ValueError(f"{P} + {D} + 1 positions exceed n_positions {cfg.n_positions}")
    prompt = torch.from_numpy(protocol.gpt2_prompt(P, V))[None, :]
    # Greedy, all n tokens whatever they are: no EOS stop (the random model may say it).
    m.generation_config.eos_token_id = None
    m.generation_config.pad_token_id = 0

    def decode(n):
        s = Stamps()
        # synced_gpus=False: left unset, generate asks whether FSDP manages the model by
        # importing torch.distributed.fsdp, which Debian's torch 1.13 cannot import on
        # Python 3.11 (a dataclass with a mutable default). One process, no FSDP.
        m.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n + 1, do_sample=False, streamer=s,
                   synced_gpus=False)
        if len(s.ids) != n + 1:
            raise RuntimeError(f"generate made {len(s.ids)} tokens, want {n + 1}")
        return s.ids[:n], s.times[-1] - s.times[0]

    if w.get("Compute") == "bf16":  # prefill only (validated): autocast around the forward
        return protocol.gpt2_check_rep(lambda: autocast(lambda: m(prompt).logits[0, -1:].float()), decode, V, D)
    return protocol.gpt2_check_rep(lambda: m(prompt).logits[0, -1:], decode, V, D)


def bert_job(req, w):
    m = AutoModel.from_pretrained(req["model"], add_pooling_layer=False).eval()  # BertModel, XLMRobertaModel, MPNetModel, ...
    if w.get("Quantize") == "int8":
        m = int8(m)
    ids = torch.from_numpy(protocol.bert_ids(w["Batch"], w["Seq"], m.config.vocab_size))
    mask = torch.ones_like(ids)

    run = lambda: m(input_ids=ids, attention_mask=mask).last_hidden_state
    if w.get("Compute") == "bf16":
        f32 = run
        run = lambda: autocast(lambda: f32().float())

    def check():
        return protocol.bert_check(run().numpy())

    def rep(_):
        return timed(run)

    return check, rep


def autocast(f):
    """f() with the matrix products in BF16 (oneDNN; AMX where the CPU has it)."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return f()


def unsupported(what):
    def job(req, w):
        raise protocol.Unsupported(what)
    return job


def setup(threads):
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    return torch.get_num_threads()


if __name__ == "__main__":
    sys.exit(protocol.main(
        "transformers",
        lambda: f"transformers {transformers.__version__}, torch {torch.__version__}, BLAS {protocol.torch_blas(torch)}, quantized engine {torch.backends.quantized.engine} (Python {sys.version.split()[0]})",
        {"gpt2": gpt2_job, "bert": bert_job,
         "lenet": unsupported("transformers has no LeNet model (see the pytorch row)"),
         "gemm": unsupported("transformers has no bare matrix product (see the pytorch row)")},
        setup=setup, context=torch.inference_mode))
