#!/usr/bin/env python3
"""Python tokenizers' encode_batch throughput on the benchmark corpus, one thread.

    RAYON_NUM_THREADS=1 python bench/tokenizers/hf_encode.py CORPUS.jsonl TOKENIZER [--runs 5]

TOKENIZER is a tokenizer.json or a directory (vocab.json + merges.txt for GPT-2).
Prints one JSON line: the median and every run's MB/s and tokens.
"""
import argparse
import json
import os
import statistics
import time

import tokenizers
from tokenizers import Tokenizer


def load(path):
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "tokenizer.json")):
            return Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        from transformers import GPT2TokenizerFast
        return GPT2TokenizerFast(vocab_file=os.path.join(path, "vocab.json"),
                                 merges_file=os.path.join(path, "merges.txt")).backend_tokenizer
    return Tokenizer.from_file(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("tokenizer")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    assert os.environ.get("RAYON_NUM_THREADS") == "1", "set RAYON_NUM_THREADS=1"
    with open(args.corpus, encoding="utf-8") as f:
        texts = [json.loads(l) for l in f]
    nbytes = sum(len(t.encode()) for t in texts)
    tok = load(args.tokenizer)
    tok.no_truncation()
    tok.no_padding()
    rates, ntok = [], 0
    tok.encode_batch(texts[:200])  # warm up
    for _ in range(args.runs):
        t0 = time.perf_counter()
        encs = tok.encode_batch(texts, add_special_tokens=True)
        dt = time.perf_counter() - t0
        rates.append(nbytes / dt / 1e6)
        ntok = sum(len(e.ids) for e in encs)
    print(json.dumps({"peer": f"tokenizers {tokenizers.__version__} encode_batch, 1 thread", "tokenizer": args.tokenizer,
                      "bytes": nbytes, "tokens": ntok, "median_mb_s": statistics.median(rates), "runs_mb_s": rates}))


if __name__ == "__main__":
    main()
