#!/usr/bin/python3
"""Train a CoAtNet on a folder dataset, or the Fashion-MNIST demo model that
ships in models/.

A folder dataset (--data DIR) has one subfolder per class; the folder
names are the labels. From scratch or fine-tuned from a timm CoAtNet
checkpoint (--init; its head is replaced for the new classes):

    /usr/bin/python3 tools/train/train.py --data DIR --out build/mine --calib-dir build/mine/calib
    /usr/bin/python3 tools/train/train.py --data DIR --init coatnet_nano_rw_224.sw_in1k.pth --out build/mine

A stratified --val-fraction of each class is held out of training for the
choice of the saved epoch and for early stopping (--patience). The writes
are model.pth, labels.txt, result.json, split.json (which picture went
where), convert_flags.txt (the `coatnet convert` flags) and config.json
(timm's: `coatnet convert model.pth` then needs no flags); --calib-dir
gets a flat folder of the training pictures for `coatnet quantize --calib`.
`make model DATA=DIR` runs it all (tools/train/make_model.sh).

Fashion-MNIST (--data is the IDX folder, the default):

    /usr/bin/python3 tools/train/train.py --attention pre-softmax --out build/fmnist-pre
    /usr/bin/python3 tools/train/train.py --attention post-softmax --out build/fmnist-post

Needs Debian's python3-torch (run with /usr/bin/python3; the python3 first on
PATH may have no torch), python3-pil, python3-numpy and
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).

The model is a small custom config of timm's coatnet_nano_rw family (see
coatnet.py: timm's module and state-dict names), C-C-T-T at 64x64 grey.
Every picture is upscaled from 28x28 with PIL's bilinear filter, exactly the
resize `coatnet` applies from the model file's preprocessing, and normalised
with the training set's mean and std. Augmentation: random shifts of up to 6
pixels (zero padding, at 64x64) and horizontal flips; with --camera, that
part of each batch is instead rendered as a camera region shows an item
(tools/train/camera.py: scaled, placed, on grey, noisy, blurred). With --val,
that many training pictures are held out, and the epoch saved is the one
with the best mean of their clean and camera-like accuracy. AdamW with linear
warm-up and cosine decay, label smoothing 0.1; optionally an exponential
moving average of the weights (--ema), which is what gets saved. On --device (cuda when
PyTorch sees a GPU; the demo models' 85 epochs took 6 minutes on an H200), with
the test figures measured on the CPU either way. Seeded: on the CPU the same
command with the same --threads gives the same weights; a GPU's are not
bit-reproducible.

The run writes into --out:
  model.pth          torch.save(model.state_dict()), for `coatnet convert`
                     (with --val: the best epoch so far, after each epoch)
  result.json        config, hyper-parameters, per-epoch log, test accuracy
                     measured here, timings, versions, the convert flags
  samples.json       logits of testdata/fashion/*.png (if present), for the
                     Go engine's agreement test
  split.json         with --val: the held-out training pictures' indices
"""

import argparse
import copy
import gzip
import json
import math
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coatnet import CoAtNet, Config  # noqa: E402
import camera  # noqa: E402
import folder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Debian's dataset-fashion-mnist.
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
# Fashion-MNIST training-set statistics of v/255.
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """An IDX file (gzip or not) as a numpy array."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    # A copy: frombuffer's array is read-only, which torch.from_numpy warns of.
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def load_split(data, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(Path(data) / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(Path(data) / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels.astype(np.int64)


def resize_all(images, size):
    """PIL bilinear upscaling of every 28x28 picture (8-bit, as coatnet does)."""
    out = np.empty((len(images), size, size), np.uint8)
    for i, img in enumerate(images):
        out[i] = np.asarray(Image.fromarray(img, "L").resize((size, size), Image.BILINEAR))
    return out


def normalise(u8):
    """v/255, then (x - mean)/std, in float32 step by step like coatnet; u8
    is a numpy array or a tensor (which keeps its device)."""
    x = (torch.from_numpy(u8) if isinstance(u8, np.ndarray) else u8).float().unsqueeze(1) / 255
    return (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)


def augment(x, gen, shift):
    """Random shifts (zero padding in pixel space) and horizontal flips, on
    gen's device, in one gather for the whole batch."""
    n, _, h, w = x.shape
    dev = gen.device
    pad = F.pad(x, (shift, shift, shift, shift), value=float(-MEAN / STD))
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=gen, device=dev)
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=gen, device=dev)
    flip = torch.rand(n, generator=gen, device=dev) < 0.5
    cols = torch.arange(w, device=dev)
    cols = torch.where(flip.view(n, 1), w - 1 - cols, cols) + dx.view(n, 1)
    rows = torch.arange(h, device=dev) + dy.view(n, 1)
    return pad[torch.arange(n, device=dev).view(n, 1, 1), 0, rows.view(n, h, 1), cols.view(n, 1, w)].unsqueeze(1)


def stratified(labels, n):
    """n indices of labels, the same share of each class, drawn by a fixed
    seed so that every stage of a recipe holds out the same pictures."""
    if n <= 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(20261202)
    classes = np.unique(labels)
    per = n // len(classes)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per, replace=False) for c in classes]))


def camera_set(u8, size, seed):
    """u8's pictures rendered camera-like once, by a fixed seed, normalised."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.from_numpy(u8)
    return torch.cat([normalise(camera.render(src[i:i + 1000], gen, size).numpy()) for i in range(0, len(src), 1000)])


class Progress:
    """A one-line progress bar on stderr with loss and accuracy, when stderr
    is a terminal (a log file gets the per-epoch lines only)."""

    def __init__(self, total, title):
        self.total, self.title, self.start = total, title, time.time()
        # Only a live bar reads the running figures: on a GPU each read waits for the step.
        self.live = sys.stderr.isatty()

    def update(self, done, **fields):
        if not self.live:
            return
        frac = done / self.total
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        el = time.time() - self.start
        eta = el / frac - el if frac > 0 else 0
        extra = " ".join(f"{k} {v}" for k, v in fields.items())
        sys.stderr.write(f"\r{self.title} [{bar}] {done}/{self.total} {extra} {el:.0f}s eta {eta:.0f}s ")
        sys.stderr.flush()

    def close(self):
        if self.live:
            sys.stderr.write("\n")


@torch.no_grad()
def evaluate(model, x, y, batch=500):
    """Top-1 of model on x, y, wherever those are, on the model's device."""
    model.eval()
    dev = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch].to(dev)).argmax(1) == y[i:i + batch].to(dev)).sum().item()
    return correct / len(x)


@torch.no_grad()
def update_ema(ema, model, decay):
    """ema = decay*ema + (1-decay)*model over every float tensor of the state
    dict, BatchNorm statistics included (as timm's ModelEmaV2 does); integer
    buffers such as num_batches_tracked are copied. The float tensors go in
    one foreach call: on a GPU a loop would launch two kernels per tensor."""
    floats_e, floats_m = [], []
    for e, m in zip(ema.state_dict().values(), model.state_dict().values()):
        if e.dtype.is_floating_point:
            floats_e.append(e)
            floats_m.append(m)
        else:
            e.copy_(m)
    torch._foreach_mul_(floats_e, decay)
    torch._foreach_add_(floats_e, floats_m, alpha=1 - decay)


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or "relative_position_bias_table" in name else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def sample_logits(model, size):
    """Logits of testdata/fashion/*.png through the same preprocessing."""
    folder = ROOT / "testdata" / "fashion"
    out = {}
    model.eval()
    for png in sorted(folder.glob("*.png")):
        img = Image.open(png).convert("L").resize((size, size), Image.BILINEAR)
        x = normalise(np.array(img)[None])
        with torch.no_grad():
            out[png.name] = [float(v) for v in model(x)[0]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attention", choices=["pre-softmax", "post-softmax"], default="pre-softmax")
    ap.add_argument("--global-pool", choices=["avg", "max"], default="avg", help="the head's pooling (timm's global_pool)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--data", default=FASHION_MNIST,
                    help="a folder with one subfolder per class, or Fashion-MNIST's IDX files")
    ap.add_argument("--epochs", type=int, help="epochs (default: 18 on Fashion-MNIST, at most 30 on a folder)")
    ap.add_argument("--batch", type=int, help="batch size (default: 128 on Fashion-MNIST, 64 on a folder)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: 2e-3; 5e-4 with --init on a folder)")
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--img-size", type=int, help="input size, a multiple of 32 (default: 64, or the --init checkpoint's)")
    ap.add_argument("--eval-every", type=int, default=3, help="epochs between test evaluations")
    ap.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    ap.add_argument("--init", help="start from this state dict instead of random weights: on Fashion-MNIST model.pth of "
                                   "an earlier run; on a folder a timm CoAtNet checkpoint (.pth or .safetensors), head replaced")
    g = ap.add_argument_group("folder datasets")
    g.add_argument("--arch", choices=sorted(folder.ARCHS), default="nano",
                   help="size from scratch: nano (coatnet_nano_rw), pico (coatnet_pico_rw), demo (models/'s), tiny (tests); "
                        "with --init, pico says the checkpoint is a coatnet_pico_rw (its stride mode is not in the weights)")
    g.add_argument("--embed-dim", help="W1,W2,W3,W4 instead of the arch's stage widths")
    g.add_argument("--depths", help="D1,D2,D3,D4 instead of the arch's stage depths")
    g.add_argument("--stem-width", help="W1,W2 instead of the arch's stem widths")
    g.add_argument("--colour", choices=["rgb", "grey"], default="rgb", help="input colour from scratch (--init: the checkpoint's)")
    g.add_argument("--crop-mode", choices=["squash", "center"], default="squash",
                   help="how a picture becomes square: squash keeps the whole region (default), center cuts its middle")
    g.add_argument("--mean", help="normalisation means, one or one per channel (default: the training pictures', "
                                  "0.5 with --init)")
    g.add_argument("--std", help="normalisation stds, with --mean")
    g.add_argument("--val-fraction", type=float, default=0.2, help="part of each class held out for validation")
    g.add_argument("--patience", type=int, default=10, help="stop after this many epochs without a better validation "
                                                           "accuracy; 0: never")
    g.add_argument("--calib-dir", help="write a flat folder of the training pictures here for `coatnet quantize --calib`")
    g.add_argument("--workers", type=int, help="data loading processes (default: 4 on a GPU, 0 on the CPU)")
    ap.add_argument("--no-augment", action="store_true",
                    help="train on the pictures as they are (for a last short stage: the test pictures are unshifted)")
    g = ap.add_argument_group("Fashion-MNIST")
    g.add_argument("--val", type=int, default=0,
                   help="hold this many training pictures out (stratified, the same ones whatever --seed) to choose the "
                        "saved epoch by their accuracy, clean and camera-like; 0: save the last epoch. Hold them out "
                        "from the first stage on: an --init model that trained on them makes their figures meaningless")
    g.add_argument("--camera", type=float, default=0.0,
                   help="part of each batch rendered camera-like (tools/train/camera.py) instead of shifted and flipped")
    g.add_argument("--time-budget", type=float,
                   help="seconds of training: after the first epoch (the warm-up, whose schedule does not depend on the "
                        "length) --epochs is cut to what fits, and result.json records the epochs run, so --epochs "
                        "repeats the run without a budget")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an exponential moving average of the weights and buffers with this decay per step "
                         "(e.g. 0.998) and evaluate and save it instead of the last weights; 0: off")
    args = ap.parse_args()
    if not any(Path(args.data).glob("train-images-idx3-ubyte*")):
        args.epochs, args.batch = args.epochs or 30, args.batch or 64
        folder.train_folder(args, param_groups)
        return
    args.lr = 2e-3 if args.lr is None else args.lr
    args.epochs, args.batch = args.epochs or 18, args.batch or 128
    args.img_size = args.img_size or 64

    device = folder.pick_device(args.device)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    gen = torch.Generator(device=device).manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.time()
    train_u8, train_y = load_split(args.data, "train")
    test_u8, test_y = load_split(args.data, "test")
    val_idx = stratified(train_y, args.val)
    keep = np.setdiff1d(np.arange(len(train_y)), val_idx)
    val_u8, val_y = train_u8[val_idx], torch.from_numpy(train_y[val_idx])
    train_u8, train_y = train_u8[keep], train_y[keep]
    train_raw = torch.from_numpy(train_u8).to(device)
    train_x = normalise(resize_all(train_u8, args.img_size)).to(device)
    test_x = normalise(resize_all(test_u8, args.img_size))
    train_y, test_y = torch.from_numpy(train_y).to(device), torch.from_numpy(test_y)
    if args.val:
        val_x = normalise(resize_all(val_u8, args.img_size)).to(device)
        val_cam = camera_set(val_u8, args.img_size, 1).to(device)
        val_y = val_y.to(device)
    print(f"data: {len(train_x)} train, {len(val_idx)} validation, {len(test_x)} test at {args.img_size}px "
          f"on {device} in {time.time() - t0:.1f}s", file=sys.stderr)

    cfg = Config(img_size=args.img_size, attention=args.attention, global_pool=args.global_pool)
    model = CoAtNet(cfg)
    if args.init:
        sd = folder.load_checkpoint(args.init)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            sys.exit(f"{args.init}: does not fit {cfg}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    n_params = sum(p.numel() for p in model.parameters())
    model.to(device)
    ema = copy.deepcopy(model) if args.ema > 0 else None
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr)
    steps_per_epoch = math.ceil(len(train_x) / args.batch)
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch

    def lr_at(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        return 0.5 * args.lr * (1 + math.cos(math.pi * (step - warm) / (total - warm)))

    log = []
    best = None  # (validation score, epoch, state dict) with --val
    step = 0
    budget_skip = steps_per_epoch // 5  # the first epoch's steps --time-budget does not time
    train_start = time.time()
    for epoch in range(args.epochs):
        if epoch >= args.epochs:  # cut by --time-budget
            break
        model.train()
        perm = torch.randperm(len(train_x), generator=gen, device=device)
        bar = Progress(steps_per_epoch, f"{args.attention} epoch {epoch + 1}/{args.epochs}")
        loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long), 0
        for b in range(steps_per_epoch):
            if epoch == 0 and b == budget_skip:
                budget_from = time.time()
            idx = perm[b * args.batch:(b + 1) * args.batch]
            x, y = train_x[idx], train_y[idx]
            if not args.no_augment:
                x = augment(x, gen, 6)
            if args.camera > 0:
                # Rendered for the whole batch and chosen per picture: a masked
                # subset would make a GPU wait for its size every step.
                m = torch.rand(len(idx), generator=gen, device=device) < args.camera
                x = torch.where(m.view(-1, 1, 1, 1), normalise(camera.render(train_raw[idx], gen, args.img_size)), x)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                update_ema(ema, model, args.ema)
            step += 1
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            if bar.live and (b % 10 == 0 or b == steps_per_epoch - 1):
                bar.update(b + 1, loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.4f}")
        bar.close()
        steps_end = time.time()
        entry = {"epoch": epoch + 1, "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen}
        if args.val:
            judged = ema if ema is not None else model
            entry["val_acc"], entry["val_camera_acc"] = evaluate(judged, val_x, val_y), evaluate(judged, val_cam, val_y)
            score = (entry["val_acc"] + entry["val_camera_acc"]) / 2
            print(f"epoch {epoch + 1}: validation {entry['val_acc']:.4f} clean, {entry['val_camera_acc']:.4f} "
                  f"camera-like", file=sys.stderr)
            if best is None or score > best[0]:
                best = (score, epoch + 1, {k: v.detach().to("cpu", copy=True) for k, v in judged.state_dict().items()})
                # The best so far, so that a run stopped early keeps it.
                torch.save(best[2], out / "model.pth")
        elif (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            if ema is not None:
                entry["test_acc_last_weights"] = evaluate(model, test_x, test_y)
            entry["test_acc"] = evaluate(ema if ema is not None else model, test_x, test_y)
            print(f"epoch {epoch + 1}: test accuracy {entry['test_acc']:.4f}", file=sys.stderr)
        entry["seconds"] = time.time() - train_start
        log.append(entry)
        if epoch == 0 and args.time_budget and args.epochs > 1:
            # An epoch as the steps after the first few run, which start
            # the device (on a GPU the first epoch took 31 s, the next 4.5).
            per = (steps_end - budget_from) * steps_per_epoch / (steps_per_epoch - budget_skip) + time.time() - steps_end
            fit = max(1, int((args.time_budget - entry["seconds"]) // per) + 1)
            if fit < args.epochs:
                print(f"--time-budget {args.time_budget:g}: {entry['seconds']:.1f}s for the first epoch, then about "
                      f"{per:.1f}s an epoch: {fit} epochs instead of {args.epochs}", file=sys.stderr)
                args.epochs, total = fit, steps_per_epoch * fit
    train_seconds = time.time() - train_start

    # The reference figures (test accuracy, sample logits) are the CPU's in
    # float32 whatever trained the model, as the Go engine is compared with them.
    model = (ema if ema is not None else model).to("cpu")
    if best is not None:
        model.load_state_dict(best[2])
    test_acc = evaluate(model, test_x, test_y)
    model.eval()
    torch.save(model.state_dict(), out / "model.pth")
    result = {
        "attention": args.attention,
        "config": cfg.__dict__,
        "params": n_params,
        "hyper": {k: getattr(args, k) for k in ("epochs", "batch", "lr", "wd", "seed", "threads", "img_size", "init", "ema",
                                                "no_augment", "val", "camera", "time_budget")},
        "device": str(device),
        "labels": LABELS,
        "mean": MEAN, "std": STD,
        "test_accuracy": test_acc,
        "validation": None if best is None else {
            "pictures": len(val_idx), "chosen_epoch": best[1],
            "test_camera_accuracy_python": evaluate(model, camera_set(test_u8, args.img_size, 2), test_y)},
        "train_seconds": round(train_seconds, 1),
        "log": log,
        "convert_flags": cfg.go_flags() + ["--colour", "grey", "--interpolation", "bilinear",
                                           "--crop-pct", "1", "--mean", str(MEAN), "--std", str(STD)],
        "torch": torch.__version__, "python": platform.python_version(),
        "command": " ".join(sys.argv),
    }
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.val:
        (out / "split.json").write_text(json.dumps({"validation": [int(i) for i in val_idx]}) + "\n")
    (out / "samples.json").write_text(json.dumps(sample_logits(model, args.img_size), indent=1) + "\n")
    print(f"{args.attention}: test accuracy {test_acc:.4f}, {n_params} params, {train_seconds / 60:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
