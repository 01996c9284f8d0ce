#!/usr/bin/env python3
"""A small GGUF file written by gguf-py (the reference writer), with a JSON golden of
what a reader must find in it: every metadata value type (arrays, nested arrays),
the tensors' names, ggml shapes, types, offsets and the SHA-256 of their bytes.

    python tools/gguf/make_fixture.py loader/gguf/testdata   # gguf==0.19.0, numpy

Writes fixture.gguf and fixture.json.
"""
import hashlib
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize


def main(out):
    path = os.path.join(out, "fixture.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("lumen gguf fixture")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.5)
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", 1e-300)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo ✓ <|im_start|>")
    w.add_array("test.strings", ["a", "", "Ġthe", "日本"])
    w.add_array("test.ints", [1, -2, 3])
    w.add_array("test.floats", [0.25, -1.5])
    w.add_array("test.bools", [True, False, True])
    w.add_array("test.nested", [[1, 2], [3]])
    w.add_context_length(128)
    rng = np.random.default_rng(7)
    tensors = {
        "token_embd.weight": (rng.standard_normal((8, 64), dtype=np.float32), Q.F32),
        "blk.0.attn_norm.weight": (rng.standard_normal((64,), dtype=np.float32), Q.F32),
        "blk.0.attn_q.weight": (rng.standard_normal((4, 64), dtype=np.float32), Q.Q8_0),
        "blk.0.ffn_up.weight": (rng.standard_normal((3, 64), dtype=np.float32), Q.Q4_1),
        "blk.0.ffn_down.weight": (rng.standard_normal((2, 256), dtype=np.float32), Q.Q4_K),
        "output.weight": (rng.standard_normal((2, 3, 32), dtype=np.float32).astype(np.float16), Q.F16),
    }
    for name, (x, qt) in tensors.items():
        if qt in (Q.F32, Q.F16):
            w.add_tensor(name, x)
        elif qt == Q.Q4_K:
            # gguf-py cannot quantize to the K types: random blocks (a reader's test).
            w.add_tensor(name, rng.integers(0, 256, (x.shape[0], 144), dtype=np.uint8), raw_dtype=qt)
        else:
            w.add_tensor(name, quantize(x, qt), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        meta[k] = {"type": f.types[0].name, "value": f.contents()}
        if f.types[0] == gguf.GGUFValueType.ARRAY and len(f.types) > 1:
            meta[k]["elem"] = f.types[1].name
    # gguf-py's contents() flattens nested arrays; the reader must give what was written.
    meta["test.nested"]["value"] = [[1, 2], [3]]
    # gguf-py's writer drops empty strings and arrays ("test.empty", "test.empty_array"):
    # the Go tests build those files themselves.
    ts = []
    for t in r.tensors:
        ts.append({"name": t.name, "shape": [int(d) for d in t.shape], "type": t.tensor_type.name,
                   "offset": int(t.data_offset) - int(r.data_offset), "bytes": int(t.n_bytes),
                   "sha256": hashlib.sha256(np.ascontiguousarray(t.data).tobytes()).hexdigest()})
    golden = {"gguf": "0.19.0", "version": int(r.fields["GGUF.version"].contents()),
              "data_offset": int(r.data_offset), "alignment": int(r.alignment), "metadata": meta, "tensors": ts}
    with open(os.path.join(out, "fixture.json"), "w", encoding="utf-8") as fh:
        json.dump(golden, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
