#!/usr/bin/env python3
"""PyTorch eager LeNet on the shipped weights: b1 latency and b256 throughput.

A by-hand baseline for issue 4 until the benchmark harness lands. Reads the
safetensors file with a minimal reader (the `safetensors` package is not on these
machines) and MNIST from ../shared.

    OMP_NUM_THREADS=1 python3 bench/python/lenet_eager.py --threads 1
"""
import argparse, os, sys, gzip, json, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_reader  # noqa: E402


def read_safetensors(path):
    return st_reader.read(path)


def forward(w, x):
    x = F.relu(F.max_pool2d(F.conv2d(x, w["conv1.weight"], w["conv1.bias"]), 2))
    x = F.relu(F.max_pool2d(F.conv2d(x, w["conv2.weight"], w["conv2.bias"]), 2))
    x = x.flatten(1)
    x = F.relu(F.linear(x, w["fc1.weight"], w["fc1.bias"]))
    x = F.relu(F.linear(x, w["fc2.weight"], w["fc2.bias"]))
    return F.linear(x, w["fc3.weight"], w["fc3.bias"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    w = read_safetensors(f"{a.shared}/models/lenet-mnist/lenet.safetensors")
    with gzip.open(f"{a.shared}/data/mnist/t10k-images-idx3-ubyte.gz") as f:
        px = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
    x = torch.from_numpy(((px.astype(np.float32) / 255) - 0.1307) / 0.3081)
    with torch.no_grad():
        pred = forward(w, x).argmax(1)
        ref = json.load(open(f"{a.shared}/models/lenet-mnist/reference.json"))["predictions"]
        agree = sum(int(p) == int(r) for p, r in zip(pred.tolist(), ref))
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, predictions agreeing with reference.json: {agree}/10000")
        for batch in (1, 256):
            for _ in range(20):
                forward(w, x[:batch])
            n, i, start = 0, 0, time.perf_counter()
            while time.perf_counter() - start < a.seconds:
                lo = (i * batch) % (10000 - batch)
                forward(w, x[lo:lo + batch])
                n += 1
                i += 1
            dt = (time.perf_counter() - start) / n
            print(f"b{batch}: {dt * 1e6:.1f} µs/batch, {batch / dt:.0f} images/s")


if __name__ == "__main__":
    main()
