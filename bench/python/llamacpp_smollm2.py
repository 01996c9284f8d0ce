"""llama.cpp (llama-cpp-python 0.3.36) on SmolLM2-135M-Instruct Q4_1, the peer of
models/llama's BenchmarkSmolLM2: one thread, the same prompts (token i is
1000 + 7919·i mod 40000), prefill of 128 tokens and greedy decoding of 64 tokens
after 32, best and median of --reps runs, tokens/s.

    ~/.cache/lumen/venv-llamacpp/bin/python bench/python/llamacpp_smollm2.py MODEL.gguf [--reps 10]
"""
import argparse
import statistics
import time

import numpy as np
from llama_cpp import Llama


def prompt(n):
    return [1000 + 7919 * i % 40000 for i in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    llm = Llama(model_path=a.model, n_ctx=256, n_batch=256, n_threads=a.threads, n_threads_batch=a.threads,
                logits_all=False, verbose=False)
    vocab = llm.n_vocab()
    pre, dec = [], []
    for rep in range(a.reps + 1):  # the first is a warm-up
        ids = prompt(128)
        llm.reset()
        t = time.perf_counter()
        llm.eval(ids)
        if rep:
            pre.append(128 / (time.perf_counter() - t))
        llm.reset()
        llm.eval(prompt(32))
        t = time.perf_counter()
        for _ in range(64):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1][:vocab]))
            llm.eval([nxt])
        if rep:
            dec.append(64 / (time.perf_counter() - t))
    for name, xs in (("prefill128", pre), ("decode64", dec)):
        print(f"llama.cpp {name}: median {statistics.median(xs):.1f} tokens/s, best {max(xs):.1f} ({len(xs)} runs, {a.threads} thread)")


if __name__ == "__main__":
    main()
