#!/usr/bin/python3
"""Export a conformance case's CoAtNet to ONNX for ONNX Runtime: float32 and
static int8 QDQ (what `make bench-peers` runs against coatnet-edge).

    /usr/bin/python3 tools/train/export_onnx.py CASE_DIR --fp32 F.onnx --int8 Q.onnx [--calib 200]

The weights are the case's (timm's state dict rebuilt from the seeded
formula, loaded strictly into coatnet.CoAtNet). The BatchNorms that follow a
convolution are folded into it first, in PyTorch, so the exported Conv nodes
are exactly the model's nn.Conv2d modules and the calibration hooks see the
tensors the ONNX graph has. torch.onnx.export, opset 14, batch 1.

The int8 model is what onnxruntime.quantization.quantize_static(QDQ, MinMax,
op_types_to_quantize=Conv and Gemm) makes, written here with the onnx
package because ORT's Python tools are not packaged for Debian: every Conv
and Gemm gets QuantizeLinear/DequantizeLinear pairs on its input and output
(per tensor, asymmetric, uint8 by default: ORT's fast x86 path), its weights
as int8 (symmetric; per output channel for Conv) and its bias as int32 at
input scale times weight scale, so ORT fuses each group into QLinearConv or
QGemm. Everything else (LayerNorm, softmax, attention matmuls, SiLU, GELU,
residual adds) stays float. Activation ranges are the minimum and maximum
over --calib inputs of the case formula with seeds 101, 102, ... (scale 2),
the inputs package benchmodel calibrates coatnet-edge's int8 model on.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_conformance import config_of, tensor  # noqa: E402
from coatnet import CoAtNet  # noqa: E402

# The (convolution, following BatchNorm) attribute pairs of coatnet.py; an
# early SE (coatnet_0_rw) sits between conv2_kxk and norm2.
FOLD = [("conv1", "norm1"), ("conv1_1x1", "norm1"), ("conv2_kxk", "norm2")]


def load(case_dir):
    case = json.loads((Path(case_dir) / "case.json").read_text())
    cfg = config_of(case)
    if cfg is None:
        raise SystemExit(f"export_onnx.py: {case['timm_model']}: tools/train/coatnet.py has only the "
                         "coatnet_nano_rw, coatnet_pico_rw and coatnet_0_rw families")
    model = CoAtNet(cfg).eval()
    sd = {p["key"]: tensor(p) for p in case["params"]}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"export_onnx.py: state dict mismatch: missing {missing}, unexpected {unexpected}")
    return case, model


def fold_batchnorms(model):
    for m in list(model.modules()):
        for conv, bn in FOLD:
            c, b = getattr(m, conv, None), getattr(m, bn, None)
            if conv == "conv2_kxk" and hasattr(m, "se_early"):
                continue
            if isinstance(c, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                setattr(m, conv, torch.nn.utils.fusion.fuse_conv_bn_eval(c, b))
                setattr(m, bn, nn.Identity())


def calib_input(shape, i):
    """Calibration input i: the case formula, seed 101+i, as benchmodel's."""
    return tensor({"shape": shape, "seed": str(101 + i), "offset": 0.0, "scale": 2.0})


def calibrate(model, shape, n, batch=1):
    """Per Conv2d/Linear module, in call order: (module, input min/max, output min/max).
    Batch 1: Debian's PyTorch runs it faster per input than batch 8."""
    order, ranges, hooks = [], {}, []

    def hook(mod, inp, out):
        if mod not in ranges:
            order.append(mod)
            ranges[mod] = [np.inf, -np.inf, np.inf, -np.inf]
        r = ranges[mod]
        x = inp[0]
        r[0], r[1] = min(r[0], float(x.min())), max(r[1], float(x.max()))
        r[2], r[3] = min(r[2], float(out.min())), max(r[3], float(out.max()))

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        for start in range(0, n, batch):
            x = torch.cat([calib_input(shape, i) for i in range(start, min(n, start + batch))])
            model(x)
            done = min(n, start + batch)
            if done % 25 == 0 or done == n:
                print(f"calibrated on {done}/{n} inputs", flush=True)
    for h in hooks:
        h.remove()
    return [(m, ranges[m]) for m in order]


def act_params(lo, hi, dtype):
    """ORT's MinMax: the range widened to hold 0, then scale and zero point."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    qmin, qmax = (0, 255) if dtype == "uint8" else (-128, 127)
    scale = (hi - lo) / (qmax - qmin) if hi > lo else 1.0
    zp = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return np.float32(scale), zp


def quantize_graph(path_in, path_out, calib, dtype):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load(path_in)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    ops = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
    if len(ops) != len(calib):
        raise SystemExit(f"export_onnx.py: {len(ops)} Conv/Gemm nodes but {len(calib)} calibrated modules")
    ranges = {}
    for node, (mod, r) in zip(ops, calib):
        w = inits.get(node.input[1])
        if w is None or tuple(w.dims) != tuple(mod.weight.shape):
            raise SystemExit(f"export_onnx.py: node {node.name} does not match module weight {tuple(mod.weight.shape)}")
        for t, lo, hi in ((node.input[0], r[0], r[1]), (node.output[0], r[2], r[3])):
            a, b = ranges.get(t, (np.inf, -np.inf))
            ranges[t] = (min(a, lo), max(b, hi))
    qtype = TensorProto.UINT8 if dtype == "uint8" else TensorProto.INT8
    npq = np.uint8 if dtype == "uint8" else np.int8
    params = {t: act_params(lo, hi, dtype) for t, (lo, hi) in ranges.items()}
    new_inits, graph_inputs = [], {i.name for i in g.input}
    graph_outputs = {o.name for o in g.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    quantized = set(id(n) for n in ops)

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    for t, (scale, zp) in params.items():
        const(t + "/scale", np.array(scale, np.float32))
        const(t + "/zp", np.array(zp, npq))

    def q_nodes(t, src):
        """Q of tensor t read from src, and the DQ float consumers read."""
        out = [helper.make_node("QuantizeLinear", [src, t + "/scale", t + "/zp"], [t + "/q"], name=t + "/Q")]
        floats = [n for n in consumers.get(t, []) if id(n) not in quantized]
        if floats or t in graph_outputs:
            dst = t if src != t else t + "/dqf"
            out.append(helper.make_node("DequantizeLinear", [t + "/q", t + "/scale", t + "/zp"], [dst], name=t + "/DQ"))
            if dst != t:
                for n in floats:
                    n.input[:] = [dst if i == t else i for i in n.input]
        return out

    nodes = []
    for t in params:
        if t in graph_inputs:
            nodes += q_nodes(t, t)
    for k, n in enumerate(list(g.node)):
        if id(n) in quantized:
            n.name = n.name or f"{n.op_type}_{k}"
            x = n.input[0]
            sx, _ = params[x]
            nodes.append(helper.make_node("DequantizeLinear", [x + "/q", x + "/scale", x + "/zp"],
                                          [f"{x}/dq/{n.name}"], name=f"{x}/DQ/{n.name}"))
            w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            per_channel = n.op_type == "Conv"
            amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1) if per_channel else np.array(np.abs(w).max())
            sw = (np.maximum(amax, 1e-12) / 127).astype(np.float32)
            bshape = (-1,) + (1,) * (w.ndim - 1) if per_channel else ()
            wq = np.clip(np.round(w / sw.reshape(bshape)), -127, 127).astype(np.int8)
            wn = n.input[1]
            axis = {"axis": 0} if per_channel else {}
            const(wn + "/q", wq)
            const(wn + "/scale", sw)
            const(wn + "/zp", np.zeros(sw.shape, np.int8))
            nodes.append(helper.make_node("DequantizeLinear", [wn + "/q", wn + "/scale", wn + "/zp"], [wn + "/dq"],
                                          name=wn + "/DQ", **axis))
            ins = [f"{x}/dq/{n.name}", wn + "/dq"]
            if len(n.input) > 2 and n.input[2]:
                bn = n.input[2]
                b = numpy_helper.to_array(inits[bn]).astype(np.float64)
                sb = (np.float64(sx) * sw.astype(np.float64)).astype(np.float32)
                bq = np.round(b / sb.astype(np.float64)).astype(np.int32)
                const(bn + "/q", bq)
                const(bn + "/scale", sb)
                const(bn + "/zp", np.zeros(sb.shape, np.int32))
                nodes.append(helper.make_node("DequantizeLinear", [bn + "/q", bn + "/scale", bn + "/zp"], [bn + "/dq"],
                                              name=bn + "/DQ", **axis))
                ins.append(bn + "/dq")
            n.input[:] = ins
        y = n.output[0]
        if y in params:
            n.output[0] = y + "/f"
            nodes.append(n)
            nodes += q_nodes(y, y + "/f")
        else:
            nodes.append(n)
    used = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + [t for t in new_inits if t.name in used])
    onnx.checker.check_model(m)
    onnx.save(m, path_out)
    return len(ops), len(params)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case_dir")
    ap.add_argument("--fp32", required=True, help="the float32 model to write")
    ap.add_argument("--int8", help="the int8 QDQ model to write")
    ap.add_argument("--calib", type=int, default=200, help="calibration inputs (default 200)")
    ap.add_argument("--activations", choices=("uint8", "int8"), default="uint8")
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    case, model = load(a.case_dir)
    shape = case["input"]["shape"]
    x = tensor(case["input"])
    with torch.no_grad():
        ref = model(x)
        fold_batchnorms(model)
        d = float((model(x) - ref).abs().max())
    print(f"{Path(a.case_dir).name}: BatchNorms folded into their convolutions (max |dlogit| {d:.2g})")
    Path(a.fp32).parent.mkdir(parents=True, exist_ok=True)
    tmp = a.fp32 + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=14, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    Path(tmp).replace(a.fp32)
    print(f"wrote {a.fp32} (float32, opset 14)")
    if a.int8:
        calib = calibrate(model, shape, a.calib)
        tmp = a.int8 + ".tmp"
        ops, tensors = quantize_graph(a.fp32, tmp, calib, a.activations)
        Path(tmp).replace(a.int8)
        print(f"wrote {a.int8} (static QDQ: {ops} Conv/Gemm, {tensors} activation tensors {a.activations}, "
              f"MinMax on {a.calib} formula inputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
