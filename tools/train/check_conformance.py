#!/usr/bin/python3
"""Check that coatnet.py reproduces timm on the reference cases of its family.

Loads every conformance case whose timm model is a coatnet_nano_rw,
coatnet_pico_rw or coatnet_0_rw config (from ../shared/conformance/timm or
$COATNET_CONFORMANCE, and from testdata/conformance), rebuilds the weights
and input from their seeded formula, loads the weights into coatnet.CoAtNet
with strict=True (so every state-dict name and shape must be timm's) and
compares logits and intermediate summaries with timm's.

    /usr/bin/python3 tools/train/check_conformance.py

Exits 1 if any case fails or none is found. CI runs it when torch is
installed (make check-train).
"""

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coatnet import CoAtNet, Config  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAMILY = {"coatnet_nano_rw": "pool", "coatnet_pico_rw": "dw", "coatnet_0_rw": "pool"}
# timm's rw_coat configs: (embed_dim, depths) and the Config flags they set.
RW_COAT = {"coatnet_0_rw": ((96, 192, 384, 768), (2, 3, 7, 2))}


def uniform(seed, n):
    """The cases' splitmix64 formula, vectorised: n values in [-1, 1)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 * 2 - 1


def tensor(spec):
    n = int(np.prod(spec["shape"])) if spec["shape"] else 1
    v = (spec["offset"] + (spec["scale"] * uniform(int(spec["seed"]), n))).astype(np.float32)
    return torch.from_numpy(v.reshape(spec["shape"]))


def config_of(case):
    name = case["timm_model"]
    base = name[:-4] if name.endswith("_224") else name
    if base not in FAMILY:
        return None
    ov = case.get("overrides") or {}
    depths = {"coatnet_nano_rw": (3, 4, 6, 3), "coatnet_pico_rw": (2, 3, 5, 2)}.get(base)
    embed = (64, 128, 256, 512)
    coat = base in RW_COAT
    if coat:
        embed, depths = RW_COAT[base]
    logits = case["expected"]["logits"]
    return Config(
        img_size=case["img_size"], in_chans=ov.get("in_chans", 3),
        num_classes=ov.get("num_classes", len(logits)),
        stem_width=tuple(ov.get("stem_width", (32, 64))),
        embed_dim=tuple(ov.get("embed_dim", embed)),
        depths=tuple(ov.get("depths", depths)), stride_mode=FAMILY[base],
        global_pool=ov.get("global_pool", "avg"),
        pre_norm_act=coat, se_early=coat, output_bias=not coat)


def check(path):
    case = json.loads(path.read_text())
    cfg = config_of(case)
    if cfg is None:
        return None
    model = CoAtNet(cfg).eval()
    sd = {p["key"]: tensor(p) for p in case["params"]}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        return f"state dict mismatch: missing {missing}, unexpected {unexpected}"
    x = tensor(case["input"])
    with torch.no_grad():
        feats_x, feats = model.forward_features(x)
        logits = model.head(model.norm(feats_x))[0].double().numpy()
    want = np.array(case["expected"]["logits"])
    diff = float(np.abs(logits - want).max())
    tol = 1e-3 * max(1.0, float(np.abs(want).max()))
    msgs = []
    for name, t in feats.items():
        s = case["expected"].get(name)
        if s and not math.isclose(float(t.double().sum()), s["sum"], rel_tol=1e-3, abs_tol=1e-2 * math.sqrt(t.numel())):
            msgs.append(f"{name} sum {float(t.double().sum()):.6g} vs timm {s['sum']:.6g}")
    ok = diff <= tol and not msgs
    return f"{'pass' if ok else 'FAIL'}  max|dlogit| {diff:.3g} tolerance {tol:.3g} {'; '.join(msgs)}"


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    dirs = [Path(os.environ.get("COATNET_CONFORMANCE", ROOT.parent / "shared" / "conformance" / "timm")),
            ROOT / "testdata" / "conformance"]
    ran, failed = 0, 0
    for d in dirs:
        for case in sorted(d.glob("*/case.json")):
            res = check(case)
            if res is None:
                continue
            ran += 1
            failed += not res.startswith("pass")
            print(f"{case.parent.name:34s} {res}")
    if ran == 0:
        print("no coatnet_nano_rw / coatnet_pico_rw / coatnet_0_rw cases found in", [str(d) for d in dirs])
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
