#!/usr/bin/env python3
"""Goldens for ggml block dequantisation: raw blocks and what gguf-py's `dequantize`
makes of them, one pair of files per type.

    python tools/gguf/make_quant_goldens.py ops/testdata/ggml   # gguf==0.19.0, numpy

TYPE.blocks holds the blocks, TYPE.f32 the little-endian float32 result. The types
gguf-py can quantise (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) are quantised from
random normal values with a few outliers; the K-quants (which gguf-py only reads)
are random bytes with their float16 scales set to small finite values.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

# Where each K-quant keeps its float16 super-block scales (d, dmin).
K_SCALES = {Q.Q2_K: (80, 82), Q.Q3_K: (108,), Q.Q4_K: (0, 2), Q.Q5_K: (0, 2), Q.Q6_K: (208,)}


def main(out):
    rng = np.random.default_rng(20261206)
    os.makedirs(out, exist_ok=True)
    for t in (Q.F32, Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0):
        x = rng.standard_normal((4, 256)).astype(np.float32)
        x[0, 3] = 9.5  # an outlier
        x[1, :32] = 0.0  # an all-zero block
        x[2, 32:64] = 0.25  # a constant block
        blocks = quantize(x, t)
        write(out, t, blocks.tobytes(), dequantize(blocks, t))
    for t, offs in K_SCALES.items():
        block, size = GGML_QUANT_SIZES[t]
        n = 6
        raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
        for b in range(n):
            for o in offs:
                raw[b, o:o + 2] = np.frombuffer(np.float16(rng.uniform(-0.05, 0.05)).tobytes(), np.uint8)
        write(out, t, raw.tobytes(), dequantize(raw.reshape(1, -1), t))


def write(out, t, blocks, values):
    name = t.name
    with open(os.path.join(out, name + ".blocks"), "wb") as f:
        f.write(blocks)
    with open(os.path.join(out, name + ".f32"), "wb") as f:
        f.write(np.ascontiguousarray(values, dtype="<f4").tobytes())
    print(name, len(blocks), "bytes,", np.asarray(values).size, "values")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ops/testdata/ggml")
