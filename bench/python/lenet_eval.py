#!/usr/bin/env python3
"""Evaluates a LeNet model directory written by `lumen lenet train` with PyTorch: reads
model.safetensors and config.json (layout, "mean", "std") and prints the accuracy on the
t10k split of an idx folder, in `lumen lenet eval`'s words, so the two can be compared.

    python3 bench/python/lenet_eval.py MODEL_DIR DATA_DIR
"""
import json, os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402
import st_reader  # noqa: E402


def main(model_dir, data_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "lenet":
        raise SystemExit(f"{model_dir}: model_type {cfg.get('model_type')!r}, want 'lenet'")
    w = st_reader.read(os.path.join(model_dir, "model.safetensors"))
    px, labels = protocol.idx_split(data_dir, "t10k")
    x = torch.from_numpy(protocol.normalise(px, cfg["mean"], cfg["std"]))
    with torch.no_grad():
        h = F.relu(F.max_pool2d(F.conv2d(x, w["conv1.weight"], w["conv1.bias"], padding=cfg["padding"]), 2))
        h = F.relu(F.max_pool2d(F.conv2d(h, w["conv2.weight"], w["conv2.bias"]), 2)).flatten(1)
        h = F.relu(F.linear(h, w["fc1.weight"], w["fc1.bias"]))
        h = F.relu(F.linear(h, w["fc2.weight"], w["fc2.bias"]))
        pred = F.linear(h, w["fc3.weight"], w["fc3.bias"]).argmax(1)
    correct = int((pred == torch.from_numpy(labels)).sum())
    print(f"accuracy   {100 * correct / len(labels):.2f}% ({correct}/{len(labels)} correct) torch {torch.__version__}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
