"""Writes torch_golden.json: torch.optim.SGD and Adam run for a few steps on fixed
parameters and gradients, for optim's tests. Run with PyTorch (1.13 here):
    python3 ops/optim/testdata/make_golden.py > ops/optim/testdata/torch_golden.json
"""
import json

import torch

torch.manual_seed(0)
N, STEPS = 37, 5
init = (torch.randn(N) * 0.5).tolist()
grads = [(torch.randn(N) * 0.1).tolist() for _ in range(STEPS)]
cases = [
    ("sgd", dict(lr=0.01)),
    ("sgd", dict(lr=0.01, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3)),
    ("sgd", dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ("adam", dict()),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
]
out = {"torch": torch.__version__, "init": init, "grads": grads, "cases": []}
for kind, opts in cases:
    p = torch.nn.Parameter(torch.tensor(init, dtype=torch.float32))
    opt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)([p], **opts)
    after = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        after.append(p.detach().clone().tolist())
    out["cases"].append({"kind": kind, "options": opts, "after": after})
print(json.dumps(out))
