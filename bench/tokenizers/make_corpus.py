#!/usr/bin/env python3
"""Build the ~10 MB tokenizer benchmark corpus: one text per line (JSON strings).

The texts are the prose and code of the Go modules this repository pins (their
READMEs, docs and sources in the module cache, read in sorted order), cut into
pieces of about 1,000 characters, with the multilingual lines of
tools/tokenizers/corpus.txt mixed in every 20th text. The same go.sum gives the
same corpus on any machine.

    python bench/tokenizers/make_corpus.py OUT.jsonl [--mb 10]
"""
import argparse
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=10)
    args = ap.parse_args()
    mods = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "all"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.split()
    files = []
    for d in sorted(m for m in mods if m and os.path.isdir(m) and "/pkg/mod/" in m):
        for base, dirs, names in os.walk(d):
            dirs.sort()
            for n in sorted(names):
                if n.endswith((".md", ".go", ".txt", ".rst")) and "testdata" not in base:
                    files.append(os.path.join(base, n))
    with open(os.path.join(ROOT, "tools", "tokenizers", "corpus.txt"), encoding="utf-8") as f:
        multi = [l.rstrip("\n") for l in f if l.strip()]
    budget = int(args.mb * 1e6)
    size, n = 0, 0
    with open(args.out, "w", encoding="utf-8") as out:
        for path in files:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            for i in range(0, len(text), 1000):
                piece = text[i:i + 1000]
                if n % 20 == 19:
                    piece = multi[(n // 20) % len(multi)] + " " + piece
                out.write(json.dumps(piece, ensure_ascii=False) + "\n")
                size += len(piece.encode())
                n += 1
                if size >= budget:
                    print(f"{n} texts, {size} bytes")
                    return
    print(f"{n} texts, {size} bytes (all the sources)")


if __name__ == "__main__":
    main()
