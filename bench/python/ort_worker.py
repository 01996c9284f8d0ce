#!/usr/bin/env python3
"""ONNX Runtime worker for `lumen bench`: LeNet, GPT-2 (past key/values for decode),
BERT and GEMM as ONNX graphs on ORT's CPU execution provider, default graph
optimisations (ORT_ENABLE_ALL), intra-op threads set like every other implementation.

The graphs are exported once from the same safetensors files with torch.onnx.export
(the hand-written models of bench_worker.py, whose weights become initializers) and
kept beside the runner's checkpoints (DIR/onnx/NAME-SIZE-MTIME.onnx; LeNet's and
GEMM's in the temporary folder); timing runs without torch. Int8 workloads run
the F32 graph through onnxruntime.quantization.quantize_dynamic (int8 weights). BF16
weights are unsupported: ORT's CPU provider has no bfloat16 MatMul kernel (checked with onnxruntime
1.32). Protocol and input formulas: protocol.py.
"""
import os, sys, tempfile, time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402
from protocol import floats, timed  # noqa: E402

OPSET = 17


def session(path, req):
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(req["threads"])
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # ORT's default, said out loud
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def exported(path, build):
    """path, exported by build(tmp) when missing (written whole, then renamed). The
    export runs in a child process, so torch and the export's memory stay out of this
    worker's peak RSS."""
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                build(tmp)
                code = 0
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"exporting {path} failed (see the log)")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def graph_path(weights, stem, beside=True):
    """Where the graph of the checkpoint file weights is kept: beside it (the runner's
    models folder) or, for files that are not ours to write beside (the shared LeNet),
    in the temporary folder; named by the file's size and modification time, so a
    rewritten checkpoint is exported afresh."""
    st = os.stat(weights)
    name = f"{stem}-{st.st_size}-{int(st.st_mtime)}.onnx"
    folder = os.path.join(os.path.dirname(os.path.abspath(weights)), "onnx") if beside else os.path.join(tempfile.gettempdir(), "lumen-onnx")
    return os.path.join(folder, name)


def quantizable(src, dst):
    """Writes src's graph as onnxruntime.quantization expects a model's weights: the
    export leaves the hand-written models' weights as Constant nodes (they are plain
    tensors, not parameters), which the quantiser does not treat as weights, so they
    become initializers; and Gemm (torch.addmm) becomes MatMul + Add, since dynamic
    quantisation covers MatMul only."""
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(src)
    g = m.graph
    nodes = []
    for n in g.node:
        if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value":
            t = numpy_helper.to_array(n.attribute[0].t)
            g.initializer.append(numpy_helper.from_array(t, n.output[0]))
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Gemm" and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 \
                and not attrs.get("transA", 0) and not attrs.get("transB", 0) and len(n.input) == 3:
            mm = n.output[0] + "_matmul"
            nodes.append(helper.make_node("MatMul", [n.input[0], n.input[1]], [mm], name=n.name + "_matmul"))
            nodes.append(helper.make_node("Add", [mm, n.input[2]], [n.output[0]], name=n.name + "_add"))
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, dst)


def int8_graph(path, build):
    """The int8 graph of the F32 graph at path (exported by build when missing):
    onnxruntime.quantization.quantize_dynamic of every MatMul by a weight (int8
    weights, its defaults otherwise: per tensor, uint8 activations quantised at run
    time), kept beside it."""
    f32 = exported(path, build)

    def quantize(tmp):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        prepared = tmp + ".prepared.onnx"
        try:
            quantizable(f32, prepared)
            quantize_dynamic(prepared, tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        finally:
            if os.path.exists(prepared):
                os.remove(prepared)

    return exported(path[:-len(".onnx")] + "-int8.onnx", quantize)


def graph(path, build, w):
    """The workload's graph: path's F32 graph, or its int8 quantisation."""
    if w.get("Quantize") == "int8":
        return int8_graph(path, build)
    return exported(path, build)


def export(module, args, path, inputs, outputs, dynamic_axes=None):
    import torch
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes,
                          opset_version=OPSET, do_constant_folding=True)


# ---------------------------------------------------------------- LeNet

def lenet_job(req, w):
    path = graph_path(req["model"], "lenet", beside=False)

    def build(tmp):
        import torch
        import lenet_eager
        weights = lenet_eager.read_safetensors(req["model"])

        class LeNet(torch.nn.Module):
            def forward(self, x):
                return lenet_eager.forward(weights, x)

        export(LeNet(), (torch.zeros(2, 1, 28, 28),), tmp, ["images"], ["logits"], {"images": {0: "batch"}, "logits": {0: "batch"}})

    s = session(exported(path, build), req)
    x = protocol.mnist_images(req["mnist"])
    B = w["Batch"]

    def check():
        out = s.run(None, {"images": x[:64]})[0]
        return {"kind": "logits", "rows": 64, "cols": out.shape[1], "data": floats(out)}

    def rep(i):
        st = protocol.lenet_batch_start(i, B)
        xb = np.ascontiguousarray(x[st:st + B])
        return timed(lambda: s.run(None, {"images": xb}))

    return check, rep


# ---------------------------------------------------------------- GPT-2

def gpt2_decoder(m):
    """gpt2_eager's GPT-2 m as one step over a KV cache: (ids [T], positions [T],
    mask [T, P+T], past_k/past_v [L, H, P, D]) -> (logits of the last position [1, V],
    present_k/present_v [L, H, P+T, D]). P = 0 is the prefill."""
    import torch

    class Decoder(torch.nn.Module):
        def forward(self, ids, pos, mask, past_k, past_v):
            x = m.w["wte.weight"][ids] + m.w["wpe.weight"][pos]
            ks, vs = [], []
            for l in range(m.L):
                x, k, v = m.layer(l, x, past_k[l], past_v[l], mask)
                ks.append(k)
                vs.append(v)
            return m.head(x), torch.stack(ks), torch.stack(vs)

    return Decoder()


def gpt2_job(req, w):
    if w["DType"] != "f32":
        raise protocol.Unsupported(f"onnxruntime {ort.__version__}'s CPU execution provider has no bfloat16 MatMul kernel (NOT_IMPLEMENTED for MatMul(13))")
    cfg = protocol.config(req["model"])
    L, H, E, V = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"]
    D, P, N = E // H, w["Seq"], w["Decode"]
    if P + N > cfg["n_positions"]:
        raise ValueError(f"{P} + {N} positions exceed n_positions {cfg['n_positions']}")

    def build(tmp):
        import torch
        import gpt2_eager
        m = gpt2_decoder(gpt2_eager.GPT2(gpt2_eager.read_safetensors(os.path.join(req["model"], "model.safetensors")), cfg))
        T, Pd = 3, 2
        args = (torch.zeros(T, dtype=torch.int64), torch.arange(Pd, Pd + T), torch.zeros(T, Pd + T),
                torch.zeros(L, H, Pd, D), torch.zeros(L, H, Pd, D))
        export(m, args, tmp, ["ids", "positions", "mask", "past_k", "past_v"], ["logits", "present_k", "present_v"],
               {"ids": {0: "T"}, "positions": {0: "T"}, "mask": {0: "T", 1: "S"}, "past_k": {2: "P"}, "past_v": {2: "P"},
                "present_k": {2: "S"}, "present_v": {2: "S"}})

    s = session(graph(graph_path(os.path.join(req["model"], "model.safetensors"), "gpt2-decoder"), build, w), req)
    prompt = protocol.gpt2_prompt(P, V)
    empty = np.zeros((L, H, 0, D), dtype=np.float32)

    def step(ids, past, k, v):
        T = len(ids)
        # Causal: row t sees the past and the new positions up to its own.
        mask = np.where(np.arange(past + T)[None, :] > past + np.arange(T)[:, None], np.float32(-1e9), np.float32(0))
        return s.run(None, {"ids": ids, "positions": np.arange(past, past + T, dtype=np.int64), "mask": mask,
                            "past_k": k, "past_v": v})

    def decode(n):
        logits, k, v = step(prompt, 0, empty, empty)
        ids, past = [], P
        t0 = time.perf_counter()
        while len(ids) < n:
            ids.append(int(logits[0].argmax()))
            logits, k, v = step(np.array(ids[-1:], dtype=np.int64), past, k, v)
            past += 1
        return ids, time.perf_counter() - t0

    return protocol.gpt2_check_rep(lambda: step(prompt, 0, empty, empty)[0], decode, V, N)


# ---------------------------------------------------------------- BERT

def bert_job(req, w):
    cfg = protocol.config(req["model"])

    def build(tmp):
        import torch
        import bert_eager
        weights = bert_eager.read_safetensors(os.path.join(req["model"], "model.safetensors"))

        class Encoder(torch.nn.Module):
            def forward(self, ids):
                return bert_eager.encode(weights, cfg, ids)

        export(Encoder(), (torch.full((2, 5), 1000, dtype=torch.int64),), tmp, ["ids"], ["hidden"],
               {"ids": {0: "B", 1: "T"}, "hidden": {0: "B", 1: "T"}})

    s = session(graph(graph_path(os.path.join(req["model"], "model.safetensors"), "bert-encoder"), build, w), req)
    ids = protocol.bert_ids(w["Batch"], w["Seq"], cfg["vocab_size"])

    def check():
        return protocol.bert_check(s.run(None, {"ids": ids})[0])

    def rep(_):
        return timed(lambda: s.run(None, {"ids": ids}))

    return check, rep


# ---------------------------------------------------------------- GEMM

def gemm_job(req, w):
    M, K, N = w["M"], w["K"], w["N"]
    path = os.path.join(tempfile.gettempdir(), "lumen-onnx", f"gemm-{M}x{K}x{N}.onnx")

    def build(tmp):
        import torch

        class MatMul(torch.nn.Module):
            def forward(self, a, b):
                return a @ b

        export(MatMul(), (torch.zeros(M, K), torch.zeros(K, N)), tmp, ["a", "b"], ["c"])

    s = session(exported(path, build), req)
    a, b = protocol.gemm_inputs(M, K, N)
    rows = protocol.gemm_check_rows(M)

    def check():
        c = s.run(None, {"a": a, "b": b})[0]
        return {"kind": "values", "rows": len(rows), "cols": N, "data": floats(c[rows])}

    def rep(_):
        return timed(lambda: s.run(None, {"a": a, "b": b}))

    return check, rep


if __name__ == "__main__":
    sys.exit(protocol.main("onnxruntime", lambda: f"onnxruntime {ort.__version__} (Python {sys.version.split()[0]})",
                           {"lenet": lenet_job, "gpt2": gpt2_job, "bert": bert_job, "gemm": gemm_job}))
