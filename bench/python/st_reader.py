"""A small safetensors reader for the PyTorch baselines (the `safetensors` package is
not on these machines): F32, F16 and BF16 tensors come back as float32, I64 as int64."""
import json, struct

import numpy as np
import torch


def read(path, strip_prefix=""):
    """All F32/F16/BF16/I64 tensors of a safetensors file by name (strip_prefix removed)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        buf = raw[8 + n + b:8 + n + end]
        dt = e["dtype"]
        if dt == "F32":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<f4").copy())
        elif dt == "F16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<f2").astype(np.float32))
        elif dt == "BF16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i2").copy()).view(torch.bfloat16).float()
        elif dt == "I64":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i8").copy())
        else:
            continue
        if strip_prefix and name.startswith(strip_prefix):
            name = name[len(strip_prefix):]
        out[name] = t.reshape(e["shape"])
    return out
