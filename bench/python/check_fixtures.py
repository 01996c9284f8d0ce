#!/usr/bin/env python3
"""Check the PyTorch benchmark implementations against ../shared's goldens before
any timing: LeNet predictions on the MNIST test set, GPT-2 last-token logits and
greedy ids on gpt2-tiny, BERT last hidden states on bert-tiny. Exits non-zero on any
mismatch. `.ci/run` runs it.

    /usr/bin/python3 bench/python/check_fixtures.py --shared ../shared
"""
import argparse, gzip, json, sys

import numpy as np
import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import bert_eager  # noqa: E402
import gpt2_eager  # noqa: E402
import lenet_eager  # noqa: E402
import st_reader  # noqa: E402

def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    a = ap.parse_args()
    S, good = a.shared, True
    torch.set_num_threads(1)
    with torch.no_grad():
        # LeNet: all 10,000 predictions equal reference.json.
        w = lenet_eager.read_safetensors(f"{S}/models/lenet-mnist/lenet.safetensors")
        with gzip.open(f"{S}/data/mnist/t10k-images-idx3-ubyte.gz") as f:
            px = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
        x = torch.from_numpy(((px.astype(np.float32) / 255) - 0.1307) / 0.3081)
        pred = "".join(str(int(p)) for p in lenet_eager.forward(w, x).argmax(1))
        ref = json.load(open(f"{S}/models/lenet-mnist/reference.json"))["predictions"]
        good &= check("lenet predictions", pred == ref, f"{sum(p == r for p, r in zip(pred, ref))}/10000 equal")

        # GPT-2: last-token logits within 1e-4, greedy ids identical.
        cfg = json.load(open(f"{S}/fixtures/gpt2-tiny/config.json"))
        m = gpt2_eager.GPT2(gpt2_eager.read_safetensors(f"{S}/fixtures/gpt2-tiny/model.safetensors"), cfg)
        g = st_reader.read(f"{S}/fixtures/gpt2-tiny/golden.safetensors")
        i = 0
        while f"prompt{i}.input_ids" in g:
            ids = g[f"prompt{i}.input_ids"]
            cache = [None] * m.L
            logits = m.forward(ids, cache, 0)[0]
            diff = (logits - g[f"f32.prompt{i}.logits_last"]).abs().max().item()
            good &= check(f"gpt2 prompt{i} logits", diff <= 1e-4, f"max |diff| {diff:.2e}")
            want = g[f"f32.prompt{i}.generated_ids"].tolist()
            got, past, tok = [], len(ids), logits.argmax(-1)
            for _ in range(len(want)):
                got.append(int(tok))
                tok = m.forward(tok.view(1), cache, past)[0].argmax(-1)
                past += 1
            good &= check(f"gpt2 prompt{i} greedy ids", got == want, f"{sum(x == y for x, y in zip(got, want))}/{len(want)} equal")
            i += 1

        # BERT: last hidden states within 1e-4.
        cfg = json.load(open(f"{S}/fixtures/bert-tiny/config.json"))
        w = bert_eager.read_safetensors(f"{S}/fixtures/bert-tiny/model.safetensors")
        g = st_reader.read(f"{S}/fixtures/bert-tiny/golden.safetensors")
        for p in ("single0", "single1", "single2"):
            ids = g[f"{p}.input_ids"].view(1, -1)
            h = bert_eager.encode(w, cfg, ids)[0]
            diff = (h - g[f"{p}.last_hidden_state"]).abs().max().item()
            good &= check(f"bert {p} hidden", diff <= 1e-4, f"max |diff| {diff:.2e}")
    print("all implementations agree with the goldens" if good else "MISMATCH")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
