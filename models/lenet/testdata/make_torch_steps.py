"""Writes torch_steps.json: PyTorch training LeNet from the shipped weights on the
first 640 MNIST test images (batches of 64 in order), for lenet's training tests:
the loss of every step, and the first step's gradients (per-tensor L2 norm and first
values). Run from the repository root with PyTorch and safetensors:
    python3 models/lenet/testdata/make_torch_steps.py ../shared > models/lenet/testdata/torch_steps.json
"""
import gzip
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

torch.set_num_threads(1)
shared = sys.argv[1]
state = load_file(f"{shared}/models/lenet-mnist/lenet.safetensors")
raw = gzip.open(f"{shared}/data/mnist/t10k-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(f"{shared}/data/mnist/t10k-labels-idx1-ubyte.gz").read()[8:]
N = 640
x = torch.tensor(np.frombuffer(raw, np.uint8)[: N * 784].astype(np.float32).reshape(N, 1, 28, 28))
x = (x / 255 - 0.1307) / 0.3081
y = torch.tensor(np.frombuffer(labels, np.uint8)[:N].astype(np.int64))


def net(p, x):
    x = F.relu(F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2))
    x = F.relu(F.max_pool2d(F.conv2d(x, p["conv2.weight"], p["conv2.bias"]), 2))
    x = F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    x = F.relu(F.linear(x, p["fc2.weight"], p["fc2.bias"]))
    return F.linear(x, p["fc3.weight"], p["fc3.bias"])


cases = [
    ("sgd", dict(lr=0.01, momentum=0.9)),
    ("sgd", dict(lr=0.1, momentum=0.9)),
    ("adam", dict(lr=1e-3)),
]
out = {"torch": torch.__version__, "images": N, "batch": 64, "cases": []}
for kind, opts in cases:
    p = {k: torch.nn.Parameter(v.clone()) for k, v in state.items()}
    opt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)(list(p.values()), **opts)
    losses, first = [], {}
    for s in range(N // 64):
        opt.zero_grad()
        loss = F.cross_entropy(net(p, x[s * 64 : (s + 1) * 64]), y[s * 64 : (s + 1) * 64])
        loss.backward()
        if s == 0:
            first = {k: {"norm": v.grad.norm().item(), "first": v.grad.flatten()[:6].tolist()} for k, v in p.items()}
        opt.step()
        losses.append(loss.item())
    out["cases"].append({"kind": kind, "options": opts, "losses": losses, "grads": first})
print(json.dumps(out, indent=1))
