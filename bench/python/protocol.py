"""The worker side of `lumen bench`'s protocol, shared by the Python workers
(bench_worker.py: PyTorch eager; hf_worker.py: Hugging Face transformers;
ort_worker.py: ONNX Runtime). See bench/harness/protocol.go.

  argv: --request JSON  ({"impl", "workload": {...}, "threads", "model", "mnist"})
  stdout: one JSON line {"phase": "check", "output": {...}}, then, after the runner
  writes "time" on stdin, {"phase": "time", "samples_s": [...], "cpu_s": x};
  {"phase": "unsupported", "error": why} when the implementation has no such workload;
  {"phase": "error", "error": "..."} on failure.

The inputs follow the formulas documented on harness.Request, so every implementation
computes on identical data; the models are the same safetensors files Lumen reads.
Only numpy is needed here: the ONNX Runtime worker runs without torch once its graphs
are exported.
"""
import argparse, contextlib, gzip, json, os, resource, sys, time, traceback

import numpy as np


class Unsupported(Exception):
    """The implementation has no such workload (a row marked unsupported, not a failure)."""


def emit(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_bytes():
    """This process's own resident high-water mark (VmHWM), 0 where /proc is missing.

    getrusage's ru_maxrss cannot serve: a child's starts at its parent's (the runner's).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def floats(x):
    """A flat list of Python floats from a numpy array or a torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().float().numpy()
    return np.asarray(x, dtype=np.float32).reshape(-1).tolist()


def torch_blas(torch):
    """The BLAS torch multiplies with: MKL linked into PyPI's wheels, or for Debian's
    build (BLAS_INFO=generic) whatever libblas.so.3 points to — OpenBLAS, or the
    reference BLAS, ~20x slower."""
    import re
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    if m and m.group(1) == "mkl":
        v = re.search(r"Math Kernel Library Version ([\w.]+)", torch.__config__.parallel_info())
        return "MKL " + (v.group(1) if v else "") + " (linked into torch)"
    return blas()


def blas():
    """Which BLAS libraries this process has loaded, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f
                    if "blas" in line.rsplit("/", 1)[-1] and "cublas" not in line and "numpy" not in line}
    except OSError:
        return "unknown"
    names = sorted({os.path.basename(os.path.dirname(os.path.realpath(p))) + "/" + os.path.basename(p) for p in libs})
    return ", ".join(names) or "none loaded"


def mnist_images(mnist_dir):
    """The 10,000 MNIST test images, normalised, float32 [10000, 1, 28, 28]."""
    path = os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        raw = f.read()
    if len(raw) != 16 + 10000 * 28 * 28:
        raise ValueError(f"{path}: want 10,000 images of 28×28")
    px = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
    return ((px.astype(np.float32) / 255) - 0.1307) / 0.3081


def idx_split(data_dir, split):
    """An idx split (gzip or plain): uint8 images [N, 1, 28, 28] and int64 labels [N]."""
    def read(base):
        for name in (base + ".gz", base):
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                    return f.read()
        raise FileNotFoundError(f"{data_dir}: no {base}[.gz]")
    img, lab = read(f"{split}-images-idx3-ubyte"), read(f"{split}-labels-idx1-ubyte")
    n = int.from_bytes(img[4:8], "big")
    if img[:4] != b"\x00\x00\x08\x03" or len(img) != 16 + n * 784 or len(lab) != 8 + n:
        raise ValueError(f"{data_dir}: {split} is not {n} images of 28×28 with labels")
    return np.frombuffer(img, np.uint8, offset=16).reshape(n, 1, 28, 28), np.frombuffer(lab, np.uint8, offset=8).astype(np.int64)


def normalise(px, mean, std):
    """(pixel/255 − mean)/std in float32 arithmetic, as Lumen computes it."""
    return (px.astype(np.float32) / np.float32(255) - np.float32(mean)) / np.float32(std)


def train_set(req):
    """A training workload's data (see harness.Request): normalised float32 training and
    test images, their labels, and the visiting order [epochs, N] (int64). The
    normalisation is float32 arithmetic, (pixel/255 − mean)/std, as Lumen's."""
    t = req["train"]
    norm = lambda px: normalise(px, t["mean"], t["std"])  # noqa: E731
    px, y = idx_split(t["data"], "train")
    pxt, yt = idx_split(t["data"], "t10k")
    n = len(y)
    order = np.fromfile(t["order"], dtype="<u4")
    if order.size != t["epochs"] * n:
        raise ValueError(f"{t['order']}: {order.size} entries, want {t['epochs']} epochs of {n}")
    return norm(px), y, norm(pxt), yt, order.reshape(t["epochs"], n).astype(np.int64)


def lenet_batch_start(i, batch):
    """The first image of repetition i's batch."""
    return (i * batch) % (10000 - batch + 1)


def gpt2_prompt(length, vocab):
    return np.array([(t * 7919) % vocab for t in range(length)], dtype=np.int64)


def gpt2_check_rep(prefill, decode, vocab, n):
    """The check and rep of a GPT-2 workload from prefill() (the prompt's last-position
    logits [1, vocab], from an empty cache) and decode(n) (n greedy tokens after the
    prompt's prefill, and the seconds of the n decode steps, prefill excluded)."""
    def check():
        out = {"kind": "logits", "rows": 1, "cols": vocab, "data": floats(prefill())}
        if n > 0:
            out["ids"] = decode(n)[0]
        return out

    def rep(_):
        return decode(n)[1] if n > 0 else timed(prefill)

    return check, rep


def bert_ids(batch, seq, vocab):
    """[CLS] pseudo-random word ids [SEP], int64 [batch, seq]."""
    def row(b):
        return [101 if t == 0 else 102 if t == seq - 1 else 1000 + (b * 7919 + t * 104729) % (vocab - 1000) for t in range(seq)]
    return np.array([row(b) for b in range(batch)], dtype=np.int64)


def bert_check(h):
    """The check output of a last hidden state [B, T, hidden]: the first sequence and
    the last (when there are two or more)."""
    h = np.asarray(h, dtype=np.float32)
    rows = [h[0]] + ([h[-1]] if h.shape[0] > 1 else [])
    return {"kind": "values", "rows": h.shape[1] * len(rows), "cols": h.shape[2], "data": floats(np.concatenate(rows))}


def gemm_inputs(M, K, N):
    i, k, j = np.arange(M)[:, None], np.arange(K), np.arange(N)
    a = (((31 * i + 17 * k[None, :]) % 101 - 50) / 100).astype(np.float32)
    b = (((13 * k[:, None] + 29 * j[None, :]) % 97 - 48) / 100).astype(np.float32)
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def gemm_check_rows(M):
    return list(range(min(M, 8))) + ([M - 1] if M > 8 else [])


def config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def timed(f):
    """Runs f() and returns its wall seconds."""
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main(impl, version, jobs, setup=None, context=None):
    """Runs one request. jobs maps a model family to job(req, workload) returning
    (check, rep): check() is the output to compare, rep(i) one repetition's seconds.
    setup(threads) sizes the implementation's thread pools and returns the thread count
    it reports; context() wraps the work (torch.inference_mode, say)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--request", required=True)
    req = json.loads(ap.parse_args().request)
    impl = req.get("impl") or impl  # one worker may serve two rows (pytorch, pytorch-pypi)
    try:
        w, threads = req["workload"], int(req["threads"])
        if setup is not None:
            threads = setup(threads)
        if w["Model"] not in jobs:
            raise Unsupported(f"{impl} has no {w['Model']!r} workloads")
        with (context() if context is not None else contextlib.nullcontext()):
            check, rep = jobs[w["Model"]](req, w)
            out = check()
            emit({"phase": "check", "impl": impl, "version": version(), "threads": threads, "output": out,
                  "peak_rss_bytes": peak_rss_bytes()})
            if sys.stdin.readline().strip() != "time":
                return 0
            for i in range(w["Warmup"]):
                rep(i)
            cpu0 = cpu_seconds()
            samples = [rep(w["Warmup"] + i) for i in range(w["Reps"])]
            emit({"phase": "time", "impl": impl, "samples_s": samples, "cpu_s": cpu_seconds() - cpu0,
                  "peak_rss_bytes": peak_rss_bytes()})
    except Unsupported as e:
        emit({"phase": "unsupported", "error": str(e)})
        return 0
    except Exception as e:  # reported to the runner, which records the failure
        traceback.print_exc()
        emit({"phase": "error", "error": f"{type(e).__name__}: {e}"})
        return 1
    return 0
