"""sentence-transformers' CrossEncoder, the peer of models/bert's BenchmarkRerank:
writes a random MiniLM-L6-shaped cross-encoder (6 layers × 384, one logit; the shape
of cross-encoder/ms-marco-MiniLM-L-6-v2) with the bert-base-uncased tokenizer to DIR,
then times CrossEncoder.predict of one query against 32 documents truncated to 128
tokens, on --threads threads: best and median of --reps runs, ms.

    ~/.cache/lumen/venv/bin/python bench/python/rerank_peer.py DIR ../shared/tokenizers/bert-base-uncased [--threads 1]
"""
import argparse
import os
import shutil
import statistics
import time

import torch
from sentence_transformers import CrossEncoder
from transformers import BertConfig, BertForSequenceClassification

QUERY = "how many people live in berlin"
DOC = "berlin has a population of about three and a half million registered inhabitants " * 12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tokenizer")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
                     max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(cfg).eval().save_pretrained(a.dir, safe_serialization=True)
    for f in os.listdir(a.tokenizer):
        shutil.copy(os.path.join(a.tokenizer, f), a.dir)
    ce = CrossEncoder(a.dir, max_length=128)
    pairs = [(QUERY, f"{i} " + DOC) for i in range(32)]
    ce.predict(pairs, batch_size=32)  # warm-up
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        ce.predict(pairs, batch_size=32)
        times.append((time.perf_counter() - t) * 1e3)
    print(f"CrossEncoder rerank 32x128: median {statistics.median(times):.1f} ms, best {min(times):.1f} ({a.reps} runs, {a.threads} thread)")


if __name__ == "__main__":
    main()
