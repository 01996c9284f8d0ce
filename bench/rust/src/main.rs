//! candle worker for `lumen bench` (see bench/harness/protocol.go and README.md).
//!
//! argv: --request JSON; stdout: {"phase":"check",...} then, after "time" on stdin,
//! {"phase":"time","samples_s":[...],"cpu_s":x}; {"phase":"error","error":...} on failure.
//! Inputs follow the formulas documented on harness.Request, so every implementation
//! computes on identical data.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::ops::{layer_norm, softmax_last_dim};
use serde::Deserialize;
use serde_json::{json, Value};

type R<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Workload {
    Model: String,
    #[serde(default)]
    Batch: usize,
    #[serde(default)]
    Seq: usize,
    #[serde(default)]
    Decode: usize,
    DType: String,
    // "int8": dynamic int8 quantisation, which this worker does not offer.
    #[serde(default)]
    Quantize: String,
    #[serde(default)]
    M: usize,
    #[serde(default)]
    K: usize,
    #[serde(default)]
    N: usize,
    Reps: usize,
    #[serde(default)]
    Warmup: usize,
    // Training workloads (lenet-train).
    #[serde(default)]
    Epochs: usize,
    #[serde(default)]
    Target: f64,
    #[serde(default)]
    Optimizer: String,
    #[serde(default)]
    LR: f64,
    #[serde(default)]
    Momentum: f64,
    #[serde(default)]
    CheckSteps: usize,
    #[serde(default)]
    CheckEpochs: usize,
}

/// What a training workload trains on (harness.TrainData).
#[derive(Deserialize)]
struct TrainData {
    data: String,
    order: String,
    epochs: usize,
    mean: f64,
    std: f64,
}

#[derive(Deserialize)]
struct Request {
    workload: Workload,
    threads: usize,
    #[serde(default)]
    model: String,
    #[serde(default)]
    mnist: String,
    #[serde(default)]
    train: Option<TrainData>,
}

trait Job {
    fn check(&mut self) -> R<Value>;
    /// One repetition; returns its seconds (setup such as GPT-2's prefill excluded).
    fn rep(&mut self, i: usize) -> R<f64>;
}

fn emit(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", v);
    let _ = out.flush();
}

fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// This process's own resident high-water mark (VmHWM) in bytes, 0 where /proc is
/// missing. getrusage's ru_maxrss cannot serve: a child's starts at its parent's.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn floats(t: &Tensor) -> R<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

/// All tensors of a safetensors file, prefix removed, floats as `dt`.
fn load(path: &str, prefix: &str, dt: DType) -> R<HashMap<String, Tensor>> {
    let raw = candle_core::safetensors::load(path, &Device::Cpu)?;
    let mut out = HashMap::new();
    for (name, t) in raw {
        let t = if t.dtype().is_float() { t.to_dtype(dt)? } else { t };
        out.insert(name.strip_prefix(prefix).unwrap_or(&name).to_string(), t);
    }
    Ok(out)
}

fn get<'a>(w: &'a HashMap<String, Tensor>, name: &str) -> R<&'a Tensor> {
    w.get(name).ok_or_else(|| format!("tensor {name} missing").into())
}

/// Layer norm over the last dimension with the weights NAME.weight and NAME.bias.
fn ln(w: &HashMap<String, Tensor>, x: &Tensor, name: &str, eps: f32) -> R<Tensor> {
    Ok(layer_norm(
        x,
        get(w, &format!("{name}.weight"))?,
        get(w, &format!("{name}.bias"))?,
        eps,
    )?)
}

/// x @ W^T + b with PyTorch's [out, in] weights; x is 2-D.
fn linear_t(x: &Tensor, w: &Tensor, b: &Tensor) -> R<Tensor> {
    Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
}

/// x @ W + b with GPT-2's Conv1D [in, out] weights; x is 2-D.
fn conv1d(x: &Tensor, w: &Tensor, b: &Tensor) -> R<Tensor> {
    Ok(x.matmul(w)?.broadcast_add(b)?)
}

// ---------------------------------------------------------------- LeNet

struct LeNet {
    w: HashMap<String, Tensor>,
    x: Tensor, // 10000×1×28×28, normalised
    batch: usize,
}

impl LeNet {
    fn new(req: &Request) -> R<Self> {
        let w = load(&req.model, "", DType::F32)?;
        let path = format!("{}/t10k-images-idx3-ubyte.gz", req.mnist);
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_end(&mut raw)?;
        if raw.len() != 16 + 10000 * 28 * 28 {
            return Err(format!("{path}: want 10,000 images of 28×28").into());
        }
        let px: Vec<f32> = raw[16..].iter().map(|&p| (p as f32 / 255.0 - 0.1307) / 0.3081).collect();
        let x = Tensor::from_vec(px, (10000, 1, 28, 28), &Device::Cpu)?;
        Ok(LeNet {
            w,
            x,
            batch: req.workload.Batch,
        })
    }

    fn forward(&self, x: &Tensor) -> R<Tensor> {
        let w = &self.w;
        let conv = |x: &Tensor, name: &str| -> R<Tensor> {
            let b = get(w, &format!("{name}.bias"))?;
            let y = x.conv2d(get(w, &format!("{name}.weight"))?, 0, 1, 1, 1)?;
            Ok(y.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?)?.max_pool2d(2)?.relu()?)
        };
        let x = conv(&conv(x, "conv1")?, "conv2")?.flatten_from(1)?;
        let x = linear_t(&x, get(w, "fc1.weight")?, get(w, "fc1.bias")?)?.relu()?;
        let x = linear_t(&x, get(w, "fc2.weight")?, get(w, "fc2.bias")?)?.relu()?;
        linear_t(&x, get(w, "fc3.weight")?, get(w, "fc3.bias")?)
    }
}

impl Job for LeNet {
    fn check(&mut self) -> R<Value> {
        let out = self.forward(&self.x.narrow(0, 0, 64)?)?;
        Ok(json!({"kind": "logits", "rows": 64, "cols": out.dim(1)?, "data": floats(&out)?}))
    }
    fn rep(&mut self, i: usize) -> R<f64> {
        let s = (i * self.batch) % (10000 - self.batch + 1);
        let x = self.x.narrow(0, s, self.batch)?;
        let t0 = Instant::now();
        self.forward(&x)?;
        Ok(t0.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------------- LeNet training

/// An idx split (gzip or plain) of 28×28 images: pixels and labels.
fn idx_split(dir: &str, split: &str) -> R<(Vec<u8>, Vec<u8>)> {
    let read = |base: String| -> R<Vec<u8>> {
        for name in [format!("{base}.gz"), base.clone()] {
            let path = format!("{dir}/{name}");
            if let Ok(f) = std::fs::File::open(&path) {
                let mut raw = Vec::new();
                if name.ends_with(".gz") {
                    flate2::read::GzDecoder::new(f).read_to_end(&mut raw)?;
                } else {
                    std::io::BufReader::new(f).read_to_end(&mut raw)?;
                }
                return Ok(raw);
            }
        }
        Err(format!("{dir}: no {base}[.gz]").into())
    };
    let img = read(format!("{split}-images-idx3-ubyte"))?;
    let lab = read(format!("{split}-labels-idx1-ubyte"))?;
    let n = u32::from_be_bytes([img[4], img[5], img[6], img[7]]) as usize;
    if img[..4] != [0, 0, 8, 3] || img.len() != 16 + n * 784 || lab.len() != 8 + n {
        return Err(format!("{dir}: {split} is not {n} images of 28×28 with labels").into());
    }
    Ok((img[16..].to_vec(), lab[8..].to_vec()))
}

/// LeNet trained with candle-nn's autograd from the request's initial weights: SGD
/// with momentum written out as torch.optim.SGD defines it (candle-nn's SGD has no
/// momentum), or candle-nn's AdamW with no weight decay (Adam).
struct LeNetTrain {
    init: HashMap<String, Tensor>,
    x: Tensor,  // N×1×28×28, normalised
    y: Tensor,  // N labels (u32)
    xt: Tensor, // 10000×1×28×28
    yt: Vec<u8>,
    order: Vec<Vec<u32>>,
    w: TrainParams,
}

struct TrainParams {
    batch: usize,
    epochs: usize,
    target: f64,
    adam: bool,
    lr: f64,
    momentum: f64,
    check_steps: usize,
    check_epochs: usize,
}

const NAMES: [&str; 10] = [
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "fc3.weight",
    "fc3.bias",
];

enum Opt {
    Sgd { lr: f64, mu: f64, bufs: Vec<Option<Tensor>> },
    Adam(candle_nn::AdamW),
}

impl LeNetTrain {
    fn new(req: &Request) -> R<Self> {
        let t = req.train.as_ref().ok_or("a training workload without its training data")?;
        let w = &req.workload;
        let init = load(&format!("{}/model.safetensors", req.model), "", DType::F32)?;
        let (mean, std) = (t.mean as f32, t.std as f32);
        let norm = |px: &[u8]| -> Vec<f32> { px.iter().map(|&p| (p as f32 / 255.0 - mean) / std).collect() };
        let (px, y) = idx_split(&t.data, "train")?;
        let (pxt, yt) = idx_split(&t.data, "t10k")?;
        let (n, nt) = (y.len(), yt.len());
        let raw = std::fs::read(&t.order)?;
        if raw.len() != 4 * n * t.epochs || t.epochs < w.Epochs.max(w.CheckEpochs) {
            return Err(format!("{}: want {} epochs of {n} uint32", t.order, t.epochs).into());
        }
        let order = (0..t.epochs)
            .map(|e| {
                (0..n)
                    .map(|i| u32::from_le_bytes(raw[4 * (e * n + i)..4 * (e * n + i) + 4].try_into().unwrap()))
                    .collect()
            })
            .collect();
        let dev = &Device::Cpu;
        Ok(LeNetTrain {
            init,
            x: Tensor::from_vec(norm(&px), (n, 1, 28, 28), dev)?,
            y: Tensor::from_vec(y.iter().map(|&l| l as u32).collect::<Vec<u32>>(), n, dev)?,
            xt: Tensor::from_vec(norm(&pxt), (nt, 1, 28, 28), dev)?,
            yt,
            order,
            w: TrainParams {
                batch: w.Batch,
                epochs: w.Epochs,
                target: w.Target,
                adam: w.Optimizer == "adam",
                lr: w.LR,
                momentum: w.Momentum,
                check_steps: w.CheckSteps,
                check_epochs: w.CheckEpochs,
            },
        })
    }

    fn fresh(&self) -> R<(Vec<candle_core::Var>, Opt)> {
        let mut vars = Vec::new();
        for name in NAMES {
            vars.push(candle_core::Var::from_tensor(get(&self.init, name)?)?);
        }
        let opt = if self.w.adam {
            use candle_nn::Optimizer;
            let p = candle_nn::ParamsAdamW {
                lr: self.w.lr,
                weight_decay: 0.0,
                ..Default::default()
            };
            Opt::Adam(candle_nn::AdamW::new(vars.clone(), p)?)
        } else {
            Opt::Sgd {
                lr: self.w.lr,
                mu: self.w.momentum,
                bufs: vec![None; vars.len()],
            }
        };
        Ok((vars, opt))
    }

    /// 2×2 max pooling whose gradient goes to the first maximum of each window, as
    /// PyTorch's (and Lumen's) does. candle's max_pool2d splits it among tied maxima
    /// (backprop.rs), and MNIST's blank background makes ties common (equal conv
    /// outputs over blank pixels): with it the losses drift from PyTorch's by 1e-5 after
    /// one step and 1e-2 after forty. argmax (the first maximum) and gather, whose
    /// gradient is a scatter to that index, compute the same function and gradient.
    fn max_pool2x2(x: &Tensor) -> R<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let win = x
            .reshape((n, c, h / 2, 2, w / 2, 2))?
            .permute((0, 1, 2, 4, 3, 5))?
            .contiguous()?
            .reshape((n, c, h / 2, w / 2, 4))?;
        let first = win.argmax_keepdim(4)?;
        Ok(win.gather(&first, 4)?.squeeze(4)?)
    }

    fn forward(v: &[candle_core::Var], x: &Tensor) -> R<Tensor> {
        let conv = |x: &Tensor, w: &Tensor, b: &Tensor| -> R<Tensor> {
            let y = x.conv2d(w, 0, 1, 1, 1)?.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?)?;
            Ok(Self::max_pool2x2(&y)?.relu()?)
        };
        let x = conv(x, v[0].as_tensor(), v[1].as_tensor())?;
        let x = conv(&x, v[2].as_tensor(), v[3].as_tensor())?.flatten_from(1)?;
        let x = linear_t(&x, v[4].as_tensor(), v[5].as_tensor())?.relu()?;
        let x = linear_t(&x, v[6].as_tensor(), v[7].as_tensor())?.relu()?;
        linear_t(&x, v[8].as_tensor(), v[9].as_tensor())
    }

    /// One epoch in order e; on_step sees each step's loss tensor.
    fn epoch(&self, vars: &[candle_core::Var], opt: &mut Opt, e: usize, mut on_step: impl FnMut(usize, &Tensor) -> R<()>) -> R<()> {
        let perm = &self.order[e];
        for (s, idx) in perm.chunks(self.w.batch).enumerate() {
            let idx = Tensor::from_slice(idx, idx.len(), &Device::Cpu)?;
            let logits = Self::forward(vars, &self.x.index_select(&idx, 0)?)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &self.y.index_select(&idx, 0)?)?;
            match opt {
                Opt::Adam(a) => {
                    use candle_nn::Optimizer;
                    a.backward_step(&loss)?
                }
                Opt::Sgd { lr, mu, bufs } => {
                    // torch.optim.SGD: b = g (first step) or μ·b + g; p −= lr·b. The
                    // gradients carry their backward graph (they are computed from the
                    // variables): detached, the buffers do not chain every step's tensors.
                    let grads = loss.backward()?;
                    for (v, buf) in vars.iter().zip(bufs.iter_mut()) {
                        let g = grads.get(v.as_tensor()).ok_or("a parameter without a gradient")?.detach();
                        let b = match buf.take() {
                            None => g,
                            Some(b) => (b.affine(*mu, 0.0)? + g)?.detach(),
                        };
                        v.set(&(v.as_tensor() - b.affine(*lr, 0.0)?)?)?;
                        *buf = Some(b);
                    }
                }
            }
            on_step(s, &loss)?;
        }
        Ok(())
    }

    fn accuracy(&self, vars: &[candle_core::Var]) -> R<f64> {
        let pred = Self::forward(vars, &self.xt)?.argmax(1)?.to_vec1::<u32>()?;
        let correct = pred.iter().zip(&self.yt).filter(|(p, l)| **p == **l as u32).count();
        Ok(correct as f64 / self.yt.len() as f64)
    }
}

impl Job for LeNetTrain {
    fn check(&mut self) -> R<Value> {
        let (vars, mut opt) = self.fresh()?;
        let mut losses = Vec::new();
        let steps = self.w.check_steps;
        self.epoch(&vars, &mut opt, 0, |s, loss| {
            if s < steps {
                losses.push(loss.to_scalar::<f32>()?);
            }
            Ok(())
        })?;
        for e in 1..self.w.check_epochs {
            self.epoch(&vars, &mut opt, e, |_, _| Ok(()))?;
        }
        Ok(json!({"kind": "training", "rows": 1, "cols": losses.len(), "data": losses, "accuracy": self.accuracy(&vars)?}))
    }
    fn rep(&mut self, _: usize) -> R<f64> {
        let (vars, mut opt) = self.fresh()?;
        let t0 = Instant::now();
        for e in 0..self.w.epochs {
            self.epoch(&vars, &mut opt, e, |_, _| Ok(()))?;
            if self.w.target > 0.0 && self.accuracy(&vars)? >= self.w.target {
                return Ok(t0.elapsed().as_secs_f64());
            }
        }
        if self.w.target > 0.0 {
            return Err(format!("test accuracy below {:.2}% after {} epochs", 100.0 * self.w.target, self.w.epochs).into());
        }
        Ok(t0.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------------- GPT-2

struct Gpt2 {
    w: HashMap<String, Tensor>,
    layers: usize,
    heads: usize,
    embd: usize,
    vocab: usize,
    eps: f32,
    dt: DType,
    prompt: Vec<u32>,
    decode: usize,
}

type Cache = Vec<Option<(Tensor, Tensor)>>;

impl Gpt2 {
    fn new(req: &Request) -> R<Self> {
        let cfg: Value = serde_json::from_str(&std::fs::read_to_string(format!("{}/config.json", req.model))?)?;
        let n = |k: &str| cfg[k].as_u64().map(|v| v as usize).ok_or_else(|| format!("config.json: no {k}"));
        let dt = if req.workload.DType == "bf16" { DType::BF16 } else { DType::F32 };
        let w = load(&format!("{}/model.safetensors", req.model), "transformer.", dt)?;
        let (vocab, seq, decode) = (n("vocab_size")?, req.workload.Seq, req.workload.Decode);
        if seq + decode > n("n_positions")? {
            return Err(format!("{seq} + {decode} positions exceed n_positions").into());
        }
        let prompt = (0..seq).map(|t| ((t * 7919) % vocab) as u32).collect();
        Ok(Gpt2 {
            w,
            layers: n("n_layer")?,
            heads: n("n_head")?,
            embd: n("n_embd")?,
            vocab,
            eps: cfg["layer_norm_epsilon"].as_f64().unwrap_or(1e-5) as f32,
            dt,
            prompt,
            decode,
        })
    }

    fn ln(&self, x: &Tensor, name: &str) -> R<Tensor> {
        ln(&self.w, x, name, self.eps)
    }

    /// Appends ids to the cache and returns the last position's logits (1×vocab).
    fn forward(&self, ids: &[u32], cache: &mut Cache, past: usize) -> R<Tensor> {
        let w = &self.w;
        let (t, e, h) = (ids.len(), self.embd, self.heads);
        let d = e / h;
        let idt = Tensor::new(ids, &Device::Cpu)?;
        let mut x = get(w, "wte.weight")?
            .index_select(&idt, 0)?
            .add(&get(w, "wpe.weight")?.narrow(0, past, t)?)?;
        let mask = if t > 1 {
            let s = past + t;
            let m: Vec<f32> = (0..t * s).map(|i| if i % s > past + i / s { f32::MIN } else { 0.0 }).collect();
            Some(Tensor::from_vec(m, (t, s), &Device::Cpu)?.to_dtype(self.dt)?)
        } else {
            None
        };
        for l in 0..self.layers {
            let p = format!("h.{l}.");
            let hdn = self.ln(&x, &format!("{p}ln_1"))?;
            let qkv = conv1d(
                &hdn,
                get(w, &format!("{p}attn.c_attn.weight"))?,
                get(w, &format!("{p}attn.c_attn.bias"))?,
            )?;
            let split = |i: usize| -> R<Tensor> { Ok(qkv.narrow(1, i * e, e)?.reshape((t, h, d))?.transpose(0, 1)?.contiguous()?) };
            let (q, mut k, mut v) = (split(0)?, split(1)?, split(2)?);
            if let Some((pk, pv)) = &cache[l] {
                k = Tensor::cat(&[pk, &k], 1)?;
                v = Tensor::cat(&[pv, &v], 1)?;
            }
            cache[l] = Some((k.clone(), v.clone()));
            let mut att = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (d as f64).sqrt()))?;
            if let Some(m) = &mask {
                att = att.broadcast_add(m)?;
            }
            let y = softmax_last_dim(&att)?.matmul(&v)?.transpose(0, 1)?.reshape((t, e))?;
            x = (x + conv1d(
                &y,
                get(w, &format!("{p}attn.c_proj.weight"))?,
                get(w, &format!("{p}attn.c_proj.bias"))?,
            )?)?;
            let hdn = self.ln(&x, &format!("{p}ln_2"))?;
            let hdn = conv1d(&hdn, get(w, &format!("{p}mlp.c_fc.weight"))?, get(w, &format!("{p}mlp.c_fc.bias"))?)?.gelu()?;
            x = (x + conv1d(
                &hdn,
                get(w, &format!("{p}mlp.c_proj.weight"))?,
                get(w, &format!("{p}mlp.c_proj.bias"))?,
            )?)?;
        }
        let last = self.ln(&x.narrow(0, t - 1, 1)?.contiguous()?, "ln_f")?;
        Ok(last.matmul(&get(w, "wte.weight")?.t()?)?)
    }

    fn decode(&self, n: usize) -> R<(Vec<u32>, f64)> {
        let mut cache: Cache = vec![None; self.layers];
        let mut logits = self.forward(&self.prompt, &mut cache, 0)?;
        let (mut ids, mut past) = (Vec::with_capacity(n), self.prompt.len());
        let t0 = Instant::now();
        while ids.len() < n {
            ids.push(argmax(&floats(&logits)?) as u32);
            logits = self.forward(&ids[ids.len() - 1..], &mut cache, past)?;
            past += 1;
        }
        Ok((ids, t0.elapsed().as_secs_f64()))
    }
}

impl Job for Gpt2 {
    fn check(&mut self) -> R<Value> {
        let logits = self.forward(&self.prompt, &mut vec![None; self.layers], 0)?;
        let mut out = json!({"kind": "logits", "rows": 1, "cols": self.vocab, "data": floats(&logits)?});
        if self.decode > 0 {
            out["ids"] = json!(self.decode(self.decode)?.0);
        }
        Ok(out)
    }
    fn rep(&mut self, _: usize) -> R<f64> {
        if self.decode > 0 {
            return Ok(self.decode(self.decode)?.1);
        }
        let t0 = Instant::now();
        self.forward(&self.prompt, &mut vec![None; self.layers], 0)?;
        Ok(t0.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------------- BERT

struct Bert {
    w: HashMap<String, Tensor>,
    layers: usize,
    heads: usize,
    hidden: usize,
    eps: f32,
    ids: Tensor, // B×T
}

impl Bert {
    fn new(req: &Request) -> R<Self> {
        let cfg: Value = serde_json::from_str(&std::fs::read_to_string(format!("{}/config.json", req.model))?)?;
        let n = |k: &str| cfg[k].as_u64().map(|v| v as usize).ok_or_else(|| format!("config.json: no {k}"));
        let w = load(&format!("{}/model.safetensors", req.model), "bert.", DType::F32)?;
        let (b, t, vocab) = (req.workload.Batch, req.workload.Seq, n("vocab_size")?);
        let mut ids = Vec::with_capacity(b * t);
        for s in 0..b {
            for p in 0..t {
                ids.push(match p {
                    0 => 101,
                    _ if p == t - 1 => 102,
                    _ => (1000 + (s * 7919 + p * 104729) % (vocab - 1000)) as u32,
                });
            }
        }
        Ok(Bert {
            w,
            layers: n("num_hidden_layers")?,
            heads: n("num_attention_heads")?,
            hidden: n("hidden_size")?,
            eps: cfg["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
            ids: Tensor::from_vec(ids, (b, t), &Device::Cpu)?,
        })
    }

    fn ln(&self, x: &Tensor, name: &str) -> R<Tensor> {
        ln(&self.w, x, name, self.eps)
    }

    /// The last hidden state, B×T×hidden.
    fn encode(&self) -> R<Tensor> {
        let w = &self.w;
        let (b, t) = self.ids.dims2()?;
        let (e, h) = (self.hidden, self.heads);
        let d = e / h;
        let lin = |x: &Tensor, name: &str| {
            linear_t(
                x,
                get(w, &format!("{name}.weight")).unwrap(),
                get(w, &format!("{name}.bias")).unwrap(),
            )
        };
        let x = get(w, "embeddings.word_embeddings.weight")?.index_select(&self.ids.flatten_all()?, 0)?;
        let x = x.broadcast_add(&get(w, "embeddings.position_embeddings.weight")?.narrow(0, 0, t)?.repeat((b, 1))?)?;
        let x = x.broadcast_add(&get(w, "embeddings.token_type_embeddings.weight")?.narrow(0, 0, 1)?)?;
        let mut x = self.ln(&x, "embeddings.LayerNorm")?; // (B·T)×E
        for l in 0..self.layers {
            let p = format!("encoder.layer.{l}.");
            let heads = |name: &str| -> R<Tensor> {
                Ok(lin(&x, &format!("{p}attention.self.{name}"))?
                    .reshape((b, t, h, d))?
                    .transpose(1, 2)?
                    .contiguous()?)
            };
            let (q, k, v) = (heads("query")?, heads("key")?, heads("value")?);
            let att = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (d as f64).sqrt()))?;
            let y = softmax_last_dim(&att)?.matmul(&v)?.transpose(1, 2)?.reshape((b * t, e))?;
            x = self.ln(
                &(x.clone() + lin(&y, &format!("{p}attention.output.dense"))?)?,
                &format!("{p}attention.output.LayerNorm"),
            )?;
            let hdn = lin(&x, &format!("{p}intermediate.dense"))?.gelu_erf()?;
            x = self.ln(
                &(x.clone() + lin(&hdn, &format!("{p}output.dense"))?)?,
                &format!("{p}output.LayerNorm"),
            )?;
        }
        Ok(x.reshape((b, t, e))?)
    }
}

impl Job for Bert {
    fn check(&mut self) -> R<Value> {
        let hdn = self.encode()?;
        let (b, t, e) = hdn.dims3()?;
        let mut data = floats(&hdn.get(0)?)?;
        let mut rows = t;
        if b > 1 {
            data.extend(floats(&hdn.get(b - 1)?)?);
            rows *= 2;
        }
        Ok(json!({"kind": "values", "rows": rows, "cols": e, "data": data}))
    }
    fn rep(&mut self, _: usize) -> R<f64> {
        let t0 = Instant::now();
        self.encode()?;
        Ok(t0.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------------- GEMM

struct Gemm {
    a: Tensor,
    b: Tensor,
    m: usize,
}

impl Gemm {
    fn new(w: &Workload) -> R<Self> {
        let (m, k, n) = (w.M, w.K, w.N);
        let a: Vec<f32> = (0..m * k)
            .map(|x| (((31 * (x / k) + 17 * (x % k)) % 101) as f32 - 50.0) / 100.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|x| (((13 * (x / n) + 29 * (x % n)) % 97) as f32 - 48.0) / 100.0)
            .collect();
        Ok(Gemm {
            a: Tensor::from_vec(a, (m, k), &Device::Cpu)?,
            b: Tensor::from_vec(b, (k, n), &Device::Cpu)?,
            m,
        })
    }
}

impl Job for Gemm {
    fn check(&mut self) -> R<Value> {
        let c = self.a.matmul(&self.b)?;
        let mut rows: Vec<usize> = (0..self.m.min(8)).collect();
        if self.m > 8 {
            rows.push(self.m - 1);
        }
        let mut data = Vec::new();
        for &r in &rows {
            data.extend(floats(&c.get(r)?)?);
        }
        Ok(json!({"kind": "values", "rows": rows.len(), "cols": c.dim(1)?, "data": data}))
    }
    fn rep(&mut self, _: usize) -> R<f64> {
        let t0 = Instant::now();
        let c = self.a.matmul(&self.b)?;
        drop(c);
        Ok(t0.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------------- protocol

fn run(req: &Request) -> R<()> {
    let w = &req.workload;
    if !w.Quantize.is_empty() {
        // A row of the report, not a failure: candle's quantised path runs GGUF
        // k-quant checkpoints (candle-transformers' quantized_* models), not dynamic
        // int8 of an F32 GPT-2 or BERT.
        emit(
            json!({"phase": "unsupported", "error": format!("candle has no dynamic {} quantisation of F32 GPT-2/BERT weights (its quantized models run GGUF k-quant checkpoints)", w.Quantize)}),
        );
        return Ok(());
    }
    if w.Model == "bert" {
        // The encoder workloads name their architecture in config.json: this worker
        // writes out BertModel only (candle-transformers' other encoders are not wired in).
        let cfg: Value = serde_json::from_str(&std::fs::read_to_string(format!("{}/config.json", req.model))?)?;
        let mt = cfg["model_type"].as_str().unwrap_or("bert");
        if mt != "bert" {
            emit(json!({"phase": "unsupported", "error": format!("the candle worker runs BertModel only, not model_type {mt:?}")}));
            return Ok(());
        }
    }
    let mut job: Box<dyn Job> = match w.Model.as_str() {
        "lenet" => Box::new(LeNet::new(req)?),
        "lenet-train" => Box::new(LeNetTrain::new(req)?),
        "gpt2" => Box::new(Gpt2::new(req)?),
        "bert" => Box::new(Bert::new(req)?),
        "gemm" => Box::new(Gemm::new(w)?),
        m => return Err(format!("no {m:?} workloads").into()),
    };
    let out = job.check()?;
    emit(
        json!({"phase": "check", "impl": "candle", "version": format!("candle {} (Rust)", env!("CANDLE_VERSION")), "threads": req.threads, "output": out, "peak_rss_bytes": peak_rss_bytes()}),
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != "time" {
        return Ok(());
    }
    for i in 0..w.Warmup {
        job.rep(i)?;
    }
    let cpu0 = cpu_seconds();
    let mut samples = Vec::with_capacity(w.Reps);
    for i in 0..w.Reps {
        samples.push(job.rep(w.Warmup + i)?);
    }
    emit(
        json!({"phase": "time", "impl": "candle", "samples_s": samples, "cpu_s": cpu_seconds() - cpu0, "peak_rss_bytes": peak_rss_bytes()}),
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(pos) = args.iter().position(|a| a == "--request") else {
        eprintln!("usage: lumen-candle-bench --request JSON");
        std::process::exit(2);
    };
    let result = serde_json::from_str::<Request>(args.get(pos + 1).map(String::as_str).unwrap_or(""))
        .map_err(|e| -> Box<dyn std::error::Error> { format!("--request: {e}").into() })
        .and_then(|req| run(&req));
    if let Err(e) = result {
        eprintln!("error: {e}");
        emit(json!({"phase": "error", "error": e.to_string()}));
        std::process::exit(1);
    }
}
