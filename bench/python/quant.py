"""Dynamic int8 quantisation of the hand-written models' products with PyTorch's own
torch.ao.quantization.quantize_dynamic, for the int8 rows of `lumen bench`: each
weight becomes an nn.Linear, which quantize_dynamic turns into a
DynamicQuantizedLinear (int8 weights with its default per-tensor qconfig, activations
quantised to uint8 per call, on the engine torch picked: fbgemm/x86 on PyPI's torch,
onednn on Debian's 1.13), the call Hugging Face users make on BertModel.
"""
import torch


def int8_linears(specs):
    """specs maps a name to (weight [out, in], bias or None); returns name -> the
    quantised module (called as module(x))."""
    mods = torch.nn.ModuleDict()
    keys = {}
    for i, (name, (weight, bias)) in enumerate(specs.items()):
        lin = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
        with torch.no_grad():
            lin.weight.copy_(weight)
            if bias is not None:
                lin.bias.copy_(bias)
        keys[name] = f"l{i}"  # ModuleDict keys cannot hold dots
        mods[keys[name]] = lin
    q = torch.ao.quantization.quantize_dynamic(mods, {torch.nn.Linear}, dtype=torch.qint8)
    return {name: q[k] for name, k in keys.items()}


def engine():
    return torch.backends.quantized.engine
