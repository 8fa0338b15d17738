"""Training on a folder dataset: one subfolder per class, pictures in any
format Pillow reads. train.py's folder mode; kept apart from the
Fashion-MNIST recipe so that one stays as it was.

Everything random is drawn from generators seeded by (--seed, epoch,
picture), so a run is reproducible on the CPU whatever the number of data
workers (with the same --threads: PyTorch's sums depend on it).
"""

import hashlib
import json
import math
import os
import platform
import random
import re
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from coatnet import CoAtNet, Config

# Sizes of the rw family that --arch names; "tiny" is the engines' test
# size (internal/testing/tinyarch), for quick runs.
ARCHS = {
    "nano": dict(stem_width=(32, 64), embed_dim=(64, 128, 256, 512), depths=(3, 4, 6, 3), stride_mode="pool"),
    "pico": dict(stem_width=(32, 64), embed_dim=(64, 128, 256, 512), depths=(2, 3, 5, 2), stride_mode="dw"),
    "demo": dict(stem_width=(16, 32), embed_dim=(32, 64, 128, 256), depths=(1, 2, 2, 1), stride_mode="pool"),
    "tiny": dict(stem_width=(8, 16), embed_dim=(16, 32, 64, 128), depths=(1, 1, 1, 1), stride_mode="pool"),
}
# timm's pretrained_cfg of the rw CoAtNets (and convert's default).
TIMM_MEAN, TIMM_STD = 0.5, 0.5


def list_folder(data):
    """The class names (sorted subfolder names) and every (path, class) pair,
    sorted. Hidden files and files Pillow cannot identify by extension are
    left out; unreadable pictures are found when read."""
    root = Path(data)
    exts = {e.lower() for e, f in Image.registered_extensions().items() if f in Image.OPEN}
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    items = []
    for c, name in enumerate(classes):
        for p in sorted((root / name).rglob("*")):
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in exts:
                items.append((p, c))
    return classes, items


def readable(items):
    """items whose pictures open, and the paths of those that do not."""
    good, bad = [], []
    for p, c in items:
        try:
            with Image.open(p) as im:
                im.load()
            good.append((p, c))
        except Exception:  # noqa: BLE001 - any decoder error means "skip it"
            bad.append(str(p))
    return good, bad


def stratified_split(items, fraction, seed):
    """(train, val): per class, round(fraction x n) pictures (at least one
    when the class has two or more) drawn with the seed go to validation."""
    rng = random.Random(f"split-{seed}")
    train, val = [], []
    by_class = {}
    for it in items:
        by_class.setdefault(it[1], []).append(it)
    for c in sorted(by_class):
        group = list(by_class[c])
        rng.shuffle(group)
        n = round(fraction * len(group))
        if fraction > 0 and len(group) >= 2:
            n = min(max(n, 1), len(group) - 1)
        val += group[:n]
        train += group[n:]
    return sorted(train, key=lambda t: str(t[0])), sorted(val, key=lambda t: str(t[0]))


def open_picture(path, colour):
    """The picture as PIL's convert("RGB") or convert("L"), as coatnet reads it."""
    with Image.open(path) as im:
        return im.convert("L" if colour == "grey" else "RGB")


def resize_crop(img, size, crop_pct, crop_mode):
    """coatnet's preprocessing up to the 8-bit picture: bilinear resize to
    floor(size/crop_pct) (the short side for center, both for squash), then
    the centre size x size."""
    target = int(math.floor(size / crop_pct))
    w, h = img.size
    if crop_mode == "squash":
        nw, nh = target, target
    elif w <= h:
        nw, nh = target, int(target * h / w)
    else:
        nw, nh = int(target * w / h), target
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = int(round((nw - size) / 2)), int(round((nh - size) / 2))
    return img.crop((left, top, left + size, top + size))


def augment(img, rng, size):
    """A camera-like variant of a region's crop: a random part of 50-100%
    of its area (aspect 3:4 to 4:3) anywhere in it, a shift of up to 10% with
    the edge repeated, brightness and contrast 0.6-1.4, blur on a third of
    the pictures, Gaussian noise of up to 8 levels. Returns size x size."""
    w, h = img.size
    for _ in range(10):
        area = rng.uniform(0.5, 1.0) * w * h
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            break
    else:
        cw, ch = w, h
    x0, y0 = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    img = img.crop((int(x0), int(y0), int(x0) + cw, int(y0) + ch)).resize((size, size), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32)
    # Shift with the edge repeated: the region slid over the scene.
    dx, dy = (int(v) for v in rng.integers(-size // 10, size // 10 + 1, 2))
    a = np.take(a, np.clip(np.arange(size) - dy, 0, size - 1), axis=0)
    a = np.take(a, np.clip(np.arange(size) - dx, 0, size - 1), axis=1)
    contrast, brightness = rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.4)
    a = (a - a.mean()) * contrast + a.mean() * brightness
    if rng.random() < 1 / 3:
        blurred = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5) * size / 64))
        a = np.asarray(blurred, dtype=np.float32)
    a = a + rng.normal(0, rng.uniform(0, 8), a.shape).astype(np.float32)
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


class FolderSet(torch.utils.data.Dataset):
    """Pictures of items as normalised CHW tensors: augmented (seeded by
    seed, epoch and index) when train, else coatnet's preprocessing."""

    def __init__(self, items, spec, train, seed):
        self.items, self.spec, self.train, self.seed = items, spec, train, seed
        self.epoch = 0
        self.mean = torch.tensor(spec["mean"], dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(spec["std"], dtype=torch.float32).view(-1, 1, 1)

    def __len__(self):
        return len(self.items)

    def pixels(self, i):
        path, _ = self.items[i]
        img = open_picture(path, self.spec["colour"])
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            return augment(img, rng, self.spec["size"])
        return np.asarray(resize_crop(img, self.spec["size"], self.spec["crop_pct"], self.spec["crop_mode"]))

    def __getitem__(self, i):
        a = self.pixels(i)
        x = torch.from_numpy(a.copy()).float()
        x = x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)
        return (x / 255 - self.mean) / self.std, self.items[i][1]


def channel_stats(items, spec):
    """Per-channel mean and std of v/255 over the preprocessed pictures."""
    s, s2, n = 0.0, 0.0, 0
    for p, _ in items:
        a = np.asarray(resize_crop(open_picture(p, spec["colour"]), spec["size"], 1.0, "squash"), np.float64) / 255
        a = a.reshape(-1, 1) if a.ndim == 2 else a.reshape(-1, 3)
        s, s2, n = s + a.sum(0), s2 + (a * a).sum(0), n + len(a)
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-6))
    return [round(float(v), 4) for v in mean], [round(float(max(v, 0.01)), 4) for v in std]


def read_safetensors(path):
    """A .safetensors file's tensors (the format: a little-endian u64 header
    length, a JSON header of dtype, shape and byte offsets, the data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
              "U8": np.uint8, "I8": np.int8, "BOOL": np.bool_}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        if v["dtype"] == "BF16":
            arr = (np.frombuffer(buf, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, dtypes[v["dtype"]])
        out[k] = torch.from_numpy(arr.reshape(v["shape"]).copy())
    return out


def read_coatnet(path):
    """A float32 .coatnet file's tensors (model/modelfile's format, version
    1: a 64-byte header with the metadata, index and data lengths, the JSON
    metadata, the JSON tensor index, the data from the next multiple of 64)."""
    raw = Path(path).read_bytes()
    if raw[:8] != b"COATNET\x00":
        raise ValueError(f"{path}: not a .coatnet file")
    m, i, length = struct.unpack("<QQQ", raw[16:40])
    meta = json.loads(raw[64:64 + m])
    if meta.get("kind") != "coatnet-float32":
        raise ValueError(f"{path}: a {meta.get('kind')} file; training needs a float32 one")
    index = json.loads(raw[64 + m:64 + m + i])
    data = (64 + m + i + 63) // 64 * 64
    out = {}
    for t in index:
        if t["dtype"] != "f32":
            raise ValueError(f"{path}: tensor {t['name']} is {t['dtype']}, not f32")
        buf = raw[data + t["offset"]:data + t["offset"] + t["length"]]
        out[t["name"]] = torch.from_numpy(np.frombuffer(buf, np.float32).reshape(t["shape"]).copy())
    return out


def load_checkpoint(path):
    """A timm checkpoint's state dict: .safetensors, a float32 .coatnet, or torch.save output
    (a state dict, or one under "state_dict", "model" or "state_dict_ema"),
    without a "module." prefix."""
    if str(path).endswith(".safetensors"):
        sd = read_safetensors(path)
    elif str(path).endswith(".coatnet"):
        sd = read_coatnet(path)
    else:
        sd = torch.load(path, map_location="cpu")
        for key in ("state_dict_ema", "state_dict", "model"):
            if isinstance(sd, dict) and isinstance(sd.get(key), dict):
                sd = sd[key]
                break
    return {(k[7:] if k.startswith("module.") else k): v.float() if v.is_floating_point() else v
            for k, v in sd.items()}


def infer_config(sd, arch=None):
    """The Config a checkpoint's weights describe: widths, depths, stem,
    input channels, head dimension and image size (from stage 3's
    relative-position table). The stride mode leaves no trace in the
    weights: it is pico's ('dw') when arch names pico, else nano's."""
    def shape(k):
        if k not in sd:
            raise ValueError(f"not a coatnet_nano_rw / coatnet_pico_rw checkpoint: no {k}")
        return tuple(sd[k].shape)
    stem = (shape("stem.conv1.weight")[0], shape("stem.conv2.weight")[0])
    in_chans = shape("stem.conv1.weight")[1]
    depths, dims = [], []
    for s in range(4):
        blocks = {int(m.group(1)) for k in sd for m in [re.match(rf"stages\.{s}\.blocks\.(\d+)\.", k)] if m}
        if not blocks:
            raise ValueError(f"not a coatnet_nano_rw / coatnet_pico_rw checkpoint: stage {s} has no blocks")
        depths.append(max(blocks) + 1)
        dims.append(shape(f"stages.{s}.blocks.0.conv3_1x1.weight" if s < 2 else f"stages.{s}.blocks.0.attn.proj.weight")[0])
    # Block 0 of stage 3 attends at its input width, stage 2's.
    table, heads = shape("stages.2.blocks.0.attn.rel_pos.relative_position_bias_table")
    side = (int(round(math.sqrt(table))) + 1) // 2
    stride = "dw" if arch and "pico" in str(arch) else "pool"
    return Config(img_size=16 * side, in_chans=in_chans, stem_width=stem, embed_dim=tuple(dims),
                  depths=tuple(depths), stride_mode=stride, dim_head=dims[1] // heads)


def fine_tune_model(path, arch, classes):
    """CoAtNet with a checkpoint's weights and a new head for classes."""
    sd = load_checkpoint(path)
    cfg = infer_config(sd, arch or Path(path).name)
    cfg.num_classes = classes
    model = CoAtNet(cfg)
    body = {k: v for k, v in sd.items() if not k.startswith("head.") and not k.endswith("num_batches_tracked")}
    try:
        missing, unexpected = model.load_state_dict(body, strict=False)
    except RuntimeError as e:
        raise ValueError(f"{path}: checkpoint does not fit {cfg}: {e}") from None
    missing = [k for k in missing if not k.startswith("head.")]
    if missing or unexpected:
        raise ValueError(f"{path}: checkpoint does not fit {cfg}: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                         f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    return model, cfg


class Bar:
    """A progress bar on stderr when it is a terminal (tqdm when
    python3-tqdm is installed), nothing otherwise."""

    def __init__(self, total, title):
        self.tty = sys.stderr.isatty()
        self.total, self.title, self.start, self.tq = total, title, time.time(), None
        if self.tty:
            try:
                from tqdm import tqdm
                self.tq = tqdm(total=total, desc=title, leave=False)
            except ImportError:
                pass

    def update(self, done, **fields):
        if not self.tty:
            return
        if self.tq is not None:
            self.tq.n = done
            self.tq.set_postfix(fields, refresh=True)
            return
        frac = done / self.total
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        extra = " ".join(f"{k} {v}" for k, v in fields.items())
        sys.stderr.write(f"\r{self.title} [{bar}] {done}/{self.total} {extra} {time.time() - self.start:.0f}s ")
        sys.stderr.flush()

    def close(self):
        if self.tq is not None:
            self.tq.close()
        elif self.tty:
            sys.stderr.write("\n")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_calibration(items, spec, out):
    """A flat folder of the training pictures for `coatnet quantize
    --calib`: symbolic links to PNG and JPEG files, PNG copies of others."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for i, (p, c) in enumerate(items):
        stem = f"{i:06d}-{c}"
        if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
            os.symlink(p.resolve(), out / f"{stem}{p.suffix.lower()}")
        else:
            open_picture(p, spec["colour"]).save(out / f"{stem}.png")
    return len(items)


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    loss, correct, n = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return loss / max(n, 1), correct / max(n, 1)


def pick_device(name):
    """--device: the one named, else cuda when PyTorch sees a GPU."""
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_folder(args, param_groups):
    """Train on args.data (one subfolder per class); see train.py."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    classes, items = list_folder(args.data)
    if len(classes) < 2:
        raise SystemExit(f"{args.data}: want one subfolder per class, found {len(classes)} class folder(s)")
    items, bad = readable(items)
    if bad:
        print(f"skipping {len(bad)} unreadable picture(s), e.g. {bad[0]}", file=sys.stderr)
    empty = [classes[c] for c in range(len(classes)) if not any(it[1] == c for it in items)]
    if empty:
        raise SystemExit(f"{args.data}: no readable pictures in class folder(s) {', '.join(empty)}")
    train_items, val_items = stratified_split(items, args.val_fraction, args.seed)

    if args.init:
        try:
            model, cfg = fine_tune_model(args.init, args.arch if args.arch != "nano" else None, len(classes))
        except ValueError as e:
            raise SystemExit(str(e)) from None
        if args.img_size and args.img_size != cfg.img_size:
            raise SystemExit(f"--img-size {args.img_size}: the checkpoint's relative-position tables are for {cfg.img_size}")
        colour = "grey" if cfg.in_chans == 1 else "rgb"
    else:
        colour = args.colour
        base = dict(ARCHS[args.arch])
        for key, val in (("embed_dim", args.embed_dim), ("depths", args.depths), ("stem_width", args.stem_width)):
            if val:
                base[key] = tuple(int(v) for v in val.split(","))
        cfg = Config(img_size=args.img_size or 64, in_chans=1 if colour == "grey" else 3, num_classes=len(classes),
                     attention=args.attention, global_pool=args.global_pool, **base)
        model = CoAtNet(cfg)
    spec = {"size": cfg.img_size, "crop_pct": 1.0, "crop_mode": args.crop_mode, "colour": colour}
    if args.mean and args.std:
        spec["mean"] = [float(v) for v in args.mean.split(",")]
        spec["std"] = [float(v) for v in args.std.split(",")]
    elif args.init:
        spec["mean"], spec["std"] = [TIMM_MEAN] * cfg.in_chans, [TIMM_STD] * cfg.in_chans
    else:
        spec["mean"], spec["std"] = channel_stats(train_items, spec)
    if len(spec["mean"]) == 1 and cfg.in_chans == 3:
        spec["mean"], spec["std"] = spec["mean"] * 3, spec["std"] * 3
    model.to(device)
    print(f"data: {len(classes)} classes, {len(train_items)} train, {len(val_items)} validation "
          f"({args.val_fraction:g} per class), {cfg.img_size}px {colour} on {device}", file=sys.stderr)

    train_set = FolderSet(train_items, spec, True, args.seed)
    val_set = FolderSet(val_items, spec, False, args.seed)
    workers = args.workers if args.workers is not None else (min(4, os.cpu_count() or 1) if device.type == "cuda" else 0)
    gen = torch.Generator().manual_seed(args.seed)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch, shuffle=True, generator=gen,
                                               num_workers=workers, drop_last=len(train_set) > args.batch)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=args.batch, num_workers=workers)

    lr = args.lr if args.lr is not None else (5e-4 if args.init else 2e-3)
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=lr)
    steps_per_epoch = len(train_loader)
    total = steps_per_epoch * args.epochs
    warm = min(steps_per_epoch, max(total - 1, 1))

    def lr_at(step):
        if step < warm:
            return lr * (step + 1) / warm
        return 0.5 * lr * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))

    log, best, best_epoch, step = [], None, 0, 0
    start = time.time()
    for epoch in range(args.epochs):
        train_set.epoch = epoch
        model.train()
        bar = Bar(steps_per_epoch, f"epoch {epoch + 1}/{args.epochs}")
        loss_sum, correct, seen = 0.0, 0, 0
        for b, (x, y) in enumerate(train_loader):
            x, y = x.to(device), y.to(device)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            bar.update(b + 1, loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        bar.close()
        entry = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen}
        if val_items:
            entry["val_loss"], entry["val_acc"] = evaluate(model, val_loader, device)
        entry["seconds"] = round(time.time() - start, 1)
        log.append(entry)
        # Model choice: the best validation accuracy, ties to the lower
        # validation loss; without a validation split, the last epoch.
        score = (entry.get("val_acc", 0.0), -entry.get("val_loss", -epoch))
        if best is None or score > best:
            best, best_epoch = score, epoch + 1
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out / "model.pth")
        print(f"epoch {epoch + 1}: train loss {entry['train_loss']:.4f} acc {entry['train_acc']:.4f}"
              + (f", validation loss {entry['val_loss']:.4f} acc {entry['val_acc']:.4f}" if val_items else ""),
              file=sys.stderr)
        if val_items and args.patience and epoch + 1 - best_epoch >= args.patience:
            print(f"early stop: no better validation accuracy for {args.patience} epochs", file=sys.stderr)
            break
    train_seconds = time.time() - start

    (out / "labels.txt").write_text("\n".join(classes) + "\n")
    root = Path(args.data)
    split = {"data": str(root.resolve()),
             "train": [str(p.relative_to(root)) for p, _ in train_items],
             "val": [str(p.relative_to(root)) for p, _ in val_items],
             "skipped": [str(Path(p).relative_to(root)) for p in bad]}
    (out / "split.json").write_text(json.dumps(split, indent=1) + "\n")
    if args.calib_dir:
        export_calibration(train_items, spec, args.calib_dir)
    flags = cfg.go_flags() + ["--colour", colour, "--interpolation", "bilinear", "--crop-pct", "1",
                              "--crop-mode", spec["crop_mode"],
                              "--mean", ",".join(map(str, spec["mean"])), "--std", ",".join(map(str, spec["std"]))]
    chosen = log[best_epoch - 1]
    result = {
        "data": str(root.resolve()), "classes": classes,
        "counts": {"train": len(train_items), "val": len(val_items), "skipped": len(bad)},
        "config": cfg.__dict__, "preprocessing": spec,
        "params": sum(p.numel() for p in model.parameters()),
        "init": str(args.init) if args.init else None, "init_sha256": sha256(args.init) if args.init else None,
        "hyper": {"arch": args.arch, "epochs": args.epochs, "batch": args.batch, "lr": lr, "wd": args.wd,
                  "seed": args.seed, "threads": args.threads, "val_fraction": args.val_fraction,
                  "patience": args.patience, "label_smoothing": 0.1,
                  "augment": "random crop of 50-100% of the area (aspect 3:4-4:3), shift up to 10%, "
                             "brightness and contrast 0.6-1.4, Gaussian blur on 1/3, noise sigma 0-8"},
        "epochs_run": len(log), "best_epoch": best_epoch,
        "val_accuracy": chosen.get("val_acc"), "val_loss": chosen.get("val_loss"),
        "train_seconds": round(train_seconds, 1), "device": str(device), "log": log,
        "convert_flags": flags,
        "torch": torch.__version__, "python": platform.python_version(), "command": " ".join(sys.argv),
    }
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "convert_flags.txt").write_text(" ".join(flags) + "\n")
    # timm's config.json beside the checkpoint: `coatnet convert model.pth`
    # then needs no flags (the architecture is read from the weights), as for
    # a timm hub download. The post-softmax attention, this project's, is the
    # one thing neither shows: convert_flags.txt has it.
    hf = {"num_classes": cfg.num_classes, "global_pool": cfg.global_pool, "label_names": classes,
          "pretrained_cfg": {"input_size": [cfg.in_chans, cfg.img_size, cfg.img_size],
                             "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": spec["crop_mode"],
                             "mean": spec["mean"], "std": spec["std"], "num_classes": cfg.num_classes}}
    (out / "config.json").write_text(json.dumps(hf, indent=1) + "\n")
    val = f", validation accuracy {chosen['val_acc']:.4f}" if val_items else ""
    print(f"saved epoch {best_epoch} of {len(log)}{val}, {result['params']} params, {train_seconds:.1f}s", file=sys.stderr)
