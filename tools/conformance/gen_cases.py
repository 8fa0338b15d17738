#!/usr/bin/env python3
"""Generate (and re-check) CoAtNet conformance cases with timm.

A case is a folder holding one ``case.json`` in the format described by
``../shared/conformance/README.md``: no weights, only seeds. Every parameter
and the input are rebuilt from the splitmix64 formula, the model is timm's own
``MaxxVit`` in eval mode, float32, batch 1, and the expected logits and
intermediate summaries (stem, stages.0..3, pre_logits) come from running it.

Requirements
------------
* ``torch`` (checked with the Debian ``python3-torch`` 1.13.0a0 via
  ``/usr/bin/python3``; on torch < 2.0 timm's ``use_fused_attn()`` is False and
  the manual attention path runs, which is what these cases record).
* ``timm`` importable from ``PYTHONPATH``: a checkout of pytorch-image-models at
  the commit named in ``../shared/design/coatnet.md``
  (``aa4b5850c1543fa488abf260f18390eda46cf85d``, ``timm.__version__ ==
  1.0.29.dev0``), e.g. ``git archive aa4b5850 | tar -x -C /tmp/timm-src``. Only
  ``timm.models.maxxvit`` (``model_cfgs``, ``MaxxVit``), the registered
  model functions and ``timm.create_model`` are used. No timm is vendored in
  this repository.

  The cases in testdata/conformance were generated without network access, from
  /tmp/timm-src: timm's maxxvit.py (pytorch-image-models d2240745) and the
  timm/layers files on its forward path copied from upstream, with small
  stand-ins for the registry / builder (pretrained=False) -- hence their
  ``reference`` string. That tree reproduces all 7 cases of
  ../shared/conformance/timm bit for bit (``--verify``: max |d logit| = 0).

Conventions (the same as the shared cases, checked against all of them with
``--verify``)
--------------------------------------------------------------------------
* case seed ``S`` (an int); the seed of state-dict entry ``key`` is
  ``le64(sha256(key)[:8]) ^ S``; the input's seed is ``le64(sha256("input")[:8]) ^ S``.
* offset / scale per kind of tensor:
  - weights with ndim > 1 (conv, linear, rel-pos MLP): ``0 +- sqrt(3 / fan_in)``
    with ``fan_in = prod(shape[1:])`` (unit-variance-preserving uniform);
  - 1-D ``weight`` (BN / LN affine scale): ``1 +- 0.3``; ``bias``: ``0 +- 0.1``;
  - BN ``running_mean``: ``0 +- 0.2``; ``running_var``: ``1 +- 0.5`` (positive);
  - ``relative_position_bias_table``: ``0 +- 1``;
  - layer-scale ``gamma`` (ls1/ls2; absent from the shared cases): ``0.5 +- 0.4``,
    i.e. in [0.1, 0.9], so the gammas matter (timm initialises them to 1e-6);
  - input: ``0 +- 2``.
* summaries: ``shape``, float64 ``sum`` and ``sumsq`` of the float32 tensor, and
  64 samples at flat indices ``i * numel // 64`` (every index when numel < 64).
* ``params_count`` is the number of float32 elements in the state dict.

Usage
-----
Generate the cases of ``CASES`` below, except ``PENDING`` (the command that
produced testdata/conformance; about 2 minutes on 2 cores)::

    cd /work/main
    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/conformance/gen_cases.py \\
        --out testdata/conformance

    # the in_chans=1 case, once internal/testing/conformance accepts the override
    ... gen_cases.py --out testdata/conformance --only tiny_rmlp_1_rw_gray

    # one case only (names as in CASES, or the folder name)
    ... gen_cases.py --out testdata/conformance --only coatnet_bn_0_rw_224

Re-run timm on existing case folders and compare every logit and summary
(the check done on ../shared/conformance/timm before generating)::

    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/conformance/gen_cases.py \\
        --verify ../shared/conformance/timm
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

FORMULA = (
    "u(i) for element i (row-major) of a tensor with seed s: z = (s + (i+1)*0x9E3779B97F4A7C15) mod 2^64; "
    "z = (z^(z>>30))*0xBF58476D1CE4E5B9 mod 2^64; z = (z^(z>>27))*0x94D049BB133111EB mod 2^64; z = z^(z>>31); "
    "u = (z>>11) * 2^-53 * 2 - 1   (float64 in [-1,1)); value = float32(offset + scale*u)"
)

# New cases: (case name, timm model or model_cfgs entry, img_size, overrides). The case seed is
# BASE_SEED + position in this list (so adding a case at the end never changes the others);
# the folder is <name>_<img>_s<seed>. `overrides` are MaxxVitCfg fields (embed_dim, depths,
# stem_width) plus the MaxxVit arguments num_classes, in_chans and global_pool.
BASE_SEED = 10
CASES = [
    # BatchNorm2d(eps 1e-6) transformer norms and final norm, stride_mode 'dw', early SE w/ ReLU
    ("coatnet_bn_0_rw_224", "coatnet_bn_0_rw_224", 224, {}),
    # pool_type 'max': MaxPool 3x3/s2/p1 shortcuts and transformer norm1.down; rel-pos MLP hidden 384
    ("coatnet_rmlp_1_rw_224", "coatnet_rmlp_1_rw_224", 224, {}),
    # full-width 160M-param model at a small input: layer scale (ls1/ls2 gamma)
    ("coatnet_3_rw_224", "coatnet_3_rw_224", 64, {}),
    # layer scale + rel-pos MLP hidden 512, SE w/ SiLU late
    ("coatnet_rmlp_2_rw_224", "coatnet_rmlp_2_rw_224", 64, {}),
    # block_type ('C','C',('C','T'),('C','T')): stages 2/3 are C then T... (timm pads with the last type)
    ("coatnet_nano_cc_224", "coatnet_nano_cc_224", 224, {}),
    # rw_coat: pre_norm_act, stride_mode 'dw', attn_early (SE before norm2), no output biases
    ("coatnet_1_rw_224", "coatnet_1_rw_224", 128, {}),
    # rel-pos MLP at a non-224 size (windows 6x6 and 3x3)
    ("coatnet_rmlp_nano_rw_224", "coatnet_rmlp_nano_rw_224", 96, {}),
    # paper-like head (pool -> LN -> fc 1024 -> tanh -> fc), widths from output channels
    ("coatnet_2_224", "coatnet_2_224", 64, {}),
    # small custom configs
    ("tiny_0_rw", "coatnet_0_rw", 32,
     {"embed_dim": [32, 64, 96, 128], "depths": [1, 2, 2, 1], "stem_width": [16, 32], "num_classes": 7}),
    ("tiny_rmlp_1_rw_gray", "coatnet_rmlp_1_rw", 96,
     {"embed_dim": [32, 64, 128, 160], "depths": [2, 1, 3, 2], "stem_width": [16, 24], "num_classes": 12,
      "in_chans": 1}),
    # global_pool 'max' (timm's MaxxVit argument): the rw head pools by the maximum. Not generated
    # yet: added where no timm tree was at hand; `--only tiny_nano_rw_max` writes it.
    ("tiny_nano_rw_max", "coatnet_nano_rw", 64,
     {"embed_dim": [32, 64, 128, 256], "depths": [1, 2, 2, 1], "stem_width": [16, 32], "num_classes": 10,
      "global_pool": "max"}),
]
# Cases whose overrides internal/testing/conformance Config() does not accept yet ("in_chans"): written
# only with --all, so that the default run keeps testdata/conformance loadable by the Go test.
PENDING = {"tiny_rmlp_1_rw_gray"}

N_SAMPLES = 64
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def key_seed(key: str, case_seed: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") ^ case_seed


def generate(shape, seed: int, offset: float, scale: float) -> np.ndarray:
    """The case formula, vectorised: float32 array of `shape`."""
    n = int(np.prod(shape)) if len(shape) else 1
    out = np.empty(n, dtype=np.float32)
    chunk = 1 << 22
    s = np.uint64(seed)
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for start in range(0, n, chunk):
            i = np.arange(start + 1, min(n, start + chunk) + 1, dtype=np.uint64)
            z = s + i * golden
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53) * 2.0 - 1.0
            out[start:start + len(i)] = (offset + scale * u).astype(np.float32)
    return out.reshape(shape)


def param_spec(key: str, shape) -> tuple:
    """(offset, scale) for a state-dict entry, by kind (see module docstring)."""
    last = key.rsplit(".", 1)[-1]
    if last == "relative_position_bias_table":
        return 0.0, 1.0
    if last == "running_mean":
        return 0.0, 0.2
    if last == "running_var":
        return 1.0, 0.5
    if last == "gamma":
        return 0.5, 0.4
    if last == "bias":
        return 0.0, 0.1
    if last == "weight":
        if len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            return 0.0, math.sqrt(3.0 / fan_in)
        return 1.0, 0.3
    raise ValueError(f"no offset/scale convention for state-dict entry {key} {list(shape)}")


def build_model(timm_model: str, img_size: int, overrides: dict):
    """timm model from a registered name, or from a model_cfgs entry plus overrides."""
    import timm
    from timm.models import maxxvit

    kw = dict(overrides)
    num_classes = kw.pop("num_classes", None)
    in_chans = kw.pop("in_chans", None)
    global_pool = kw.pop("global_pool", None)
    extra = {}
    if global_pool is not None:
        extra["global_pool"] = global_pool
    if num_classes is not None:
        extra["num_classes"] = num_classes
    if in_chans is not None:
        extra["in_chans"] = in_chans
    for k in ("embed_dim", "depths", "stem_width"):
        if k in kw:
            kw[k] = tuple(kw[k]) if isinstance(kw[k], list) else kw[k]
    if timm_model in maxxvit.model_cfgs:
        # custom case: a model_cfgs entry with MaxxVitCfg fields overridden (MaxxVit's **kwargs
        # are overlaid on the cfg by maxxvit._overlay_kwargs).
        model = maxxvit.MaxxVit(maxxvit.model_cfgs[timm_model], img_size=img_size, **extra, **kw)
    else:
        if kw:
            raise ValueError(f"overrides {sorted(kw)} need a model_cfgs name, not {timm_model}")
        model = timm.create_model(timm_model, pretrained=False, img_size=img_size, **extra)
    return model.eval()


def fill(model, case_seed: int):
    """Fill every float tensor of the state dict from its formula; returns the params list."""
    params = []
    sd = model.state_dict()
    new = {}
    for key, t in sd.items():
        if not t.is_floating_point():
            continue  # num_batches_tracked
        offset, scale = param_spec(key, tuple(t.shape))
        seed = key_seed(key, case_seed)
        new[key] = torch.from_numpy(generate(tuple(t.shape), seed, offset, scale))
        params.append({"key": key, "shape": list(t.shape), "seed": str(seed), "offset": offset, "scale": scale})
    missing, unexpected = model.load_state_dict(new, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") for k in missing), missing
    return params


def summary(t: torch.Tensor) -> dict:
    a = t.detach().to(torch.float32).contiguous().numpy()
    flat = a.reshape(-1).astype(np.float64)
    n = flat.size
    k = min(N_SAMPLES, n)
    idx = [i * n // k for i in range(k)]
    return {
        "shape": list(a.shape),
        "sum": float(flat.sum()),
        "sumsq": float((flat * flat).sum()),
        "sample_index": idx,
        "sample": [float(flat[i]) for i in idx],
    }


@torch.no_grad()
def run(model, x: torch.Tensor) -> dict:
    """Logits plus the summaries of stem, stages.K and pre_logits."""
    feats = model.stem(x)
    out = {"stem": summary(feats)}
    for i, stage in enumerate(model.stages):
        feats = stage(feats)
        out[f"stages.{i}"] = summary(feats)
    feats = model.norm(feats)
    pre = model.forward_head(feats, pre_logits=True)
    out["pre_logits"] = summary(pre)
    logits = model.forward_head(feats)
    # the staged forward must be the model's own forward
    full = model(x)
    assert torch.equal(full, logits), "staged forward differs from model.forward"
    out["logits"] = [float(v) for v in logits.reshape(-1).tolist()]
    return out


def reference_string() -> str:
    import timm
    return (f"timm {getattr(timm, '__version__', '?')} (PyTorch {torch.__version__}), eval mode, float32")


def make_case(name: str, timm_model: str, img_size: int, overrides: dict, case_seed: int) -> dict:
    torch.manual_seed(0)
    model = build_model(timm_model, img_size, overrides)
    params = fill(model, case_seed)
    in_chans = overrides.get("in_chans", 3)
    in_shape = [1, in_chans, img_size, img_size]
    in_seed = key_seed("input", case_seed)
    x = torch.from_numpy(generate(tuple(in_shape), in_seed, 0.0, 2.0))
    res = run(model, x)
    expected = {"logits": res["logits"], "pre_logits": res["pre_logits"], "stem": res["stem"]}
    for i in range(4):
        expected[f"stages.{i}"] = res[f"stages.{i}"]
    return {
        "timm_model": timm_model,
        "overrides": overrides,
        "img_size": img_size,
        "seed": case_seed,
        "formula": FORMULA,
        "input": {"shape": in_shape, "seed": str(in_seed), "offset": 0.0, "scale": 2.0},
        "params": params,
        "params_count": int(sum(int(np.prod(p["shape"])) for p in params)),
        "expected": expected,
        "reference": reference_string(),
    }


def rel_err(a, b) -> float:
    return abs(a - b) / max(1.0, abs(b))


def verify_case(case_dir: str) -> bool:
    """Rebuild a case from its case.json alone and compare with timm's current output."""
    c = json.load(open(os.path.join(case_dir, "case.json")))
    cs = int(c["seed"])
    ov = dict(c.get("overrides") or {})
    model = build_model(c["timm_model"], c["img_size"], ov)
    sd = model.state_dict()
    new = {}
    problems = []
    listed = set()
    for p in c["params"]:
        key = p["key"]
        listed.add(key)
        if key not in sd:
            problems.append(f"param {key} not in timm state_dict")
            continue
        if list(sd[key].shape) != p["shape"]:
            problems.append(f"param {key} shape {p['shape']} vs timm {list(sd[key].shape)}")
        # the conventions this generator uses must reproduce the case's own choices
        if int(p["seed"]) != key_seed(key, cs):
            problems.append(f"param {key}: seed is not sha256(key)^seed")
        off, sc = param_spec(key, p["shape"])
        if abs(off - p["offset"]) > 1e-12 or abs(sc - p["scale"]) > 1e-12 * max(1, sc):
            problems.append(f"param {key}: offset/scale {p['offset']}/{p['scale']} vs convention {off}/{sc}")
        new[key] = torch.from_numpy(generate(tuple(p["shape"]), int(p["seed"]), p["offset"], p["scale"]))
    for key, t in sd.items():
        if t.is_floating_point() and key not in listed:
            problems.append(f"timm state_dict entry {key} not listed in the case")
    model.load_state_dict(new, strict=False)
    inp = c["input"]
    if int(inp["seed"]) != key_seed("input", cs):
        problems.append("input seed is not sha256('input')^seed")
    x = torch.from_numpy(generate(tuple(inp["shape"]), int(inp["seed"]), inp["offset"], inp["scale"]))
    res = run(model, x)
    exp = c["expected"]
    want = exp["logits"]
    got = res["logits"]
    if len(got) != len(want):
        problems.append(f"{len(got)} logits vs {len(want)}")
    worst = max(rel_err(g, w) for g, w in zip(got, want))
    maxabs = max(abs(w) for w in want)
    maxdiff = max(abs(g - w) for g, w in zip(got, want))
    lines = [f"logits max|d| {maxdiff:.3g} (max|logit| {maxabs:.3g}, rel {maxdiff / max(1, maxabs):.2g})"]
    worst_summary = 0.0
    for name in ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "pre_logits"]:
        e, g = exp[name], res[name]
        if e["shape"] != g["shape"]:
            problems.append(f"{name}: shape {g['shape']} vs {e['shape']}")
            continue
        if e["sample_index"] != g["sample_index"]:
            problems.append(f"{name}: sample_index convention differs")
        scale = max(1.0, max(abs(v) for v in e["sample"]))
        d_s = max(abs(a - b) for a, b in zip(g["sample"], e["sample"])) / scale
        d_sum = abs(g["sum"] - e["sum"]) / max(1.0, abs(e["sum"]), math.sqrt(e["sumsq"]))
        d_sq = abs(g["sumsq"] - e["sumsq"]) / max(1.0, e["sumsq"])
        worst_summary = max(worst_summary, d_s, d_sum, d_sq)
        lines.append(f"{name}: samples {d_s:.2g} sum {d_sum:.2g} sumsq {d_sq:.2g}")
    if c.get("params_count") is not None:
        pc = sum(int(np.prod(p["shape"])) for p in c["params"])
        if pc != c["params_count"]:
            problems.append(f"params_count {c['params_count']} vs float elements {pc}")
    ok = not problems and maxdiff <= 1e-5 * max(1.0, maxabs) and worst_summary <= 1e-5
    print(f"{'OK  ' if ok else 'FAIL'} {os.path.basename(case_dir.rstrip('/'))}: " + "; ".join(lines))
    for p in problems:
        print("     ", p)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="folder to write case folders into")
    ap.add_argument("--only", action="append", default=[], help="case name or folder name (repeatable)")
    ap.add_argument("--verify", nargs="+", help="case folders, or folders of case folders, to re-check")
    ap.add_argument("--list", action="store_true", help="list the cases and their folder names")
    ap.add_argument("--all", action="store_true", help="also write the PENDING cases")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    if args.verify:
        dirs = []
        for d in args.verify:
            if os.path.exists(os.path.join(d, "case.json")):
                dirs.append(d)
            else:
                dirs += sorted(os.path.join(d, e) for e in os.listdir(d)
                               if os.path.exists(os.path.join(d, e, "case.json")))
        ok = all([verify_case(d) for d in dirs])
        sys.exit(0 if ok else 1)

    todo = []
    for i, (name, timm_model, img, ov) in enumerate(CASES):
        seed = BASE_SEED + i
        folder = f"{name}_{img}_s{seed}"
        if args.only:
            if name not in args.only and folder not in args.only:
                continue
        elif name in PENDING and not args.all:
            continue
        todo.append((folder, name, timm_model, img, ov, seed))
    if args.list or not args.out:
        for t in todo:
            print(t[0], t[2], t[3], t[4])
        return
    for folder, name, timm_model, img, ov, seed in todo:
        t0 = time.time()
        case = make_case(name, timm_model, img, ov, seed)
        d = os.path.join(args.out, folder)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(case, f)
        print(f"{folder}: {case['params_count']} params, {len(case['expected']['logits'])} logits, "
              f"max|logit| {max(abs(v) for v in case['expected']['logits']):.3g}, {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
