#!/usr/bin/env python3
"""Sentence embeddings with sentence-transformers, for Lumen's equivalence test on
real pretrained weights: reads a JSON list of sentences on stdin, writes
{"embeddings": [[...], ...], "versions": {...}} on stdout.

    python st_embed.py --model DIR < sentences.json
"""
import argparse, json, sys

import torch
import sentence_transformers
import transformers
from sentence_transformers import SentenceTransformer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    sentences = json.load(sys.stdin)
    m = SentenceTransformer(a.model, device="cpu")
    emb = m.encode(sentences, batch_size=32, convert_to_numpy=True)
    json.dump({"embeddings": emb.tolist(), "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
               "sentence_transformers": sentence_transformers.__version__}}, sys.stdout)


if __name__ == "__main__":
    main()
