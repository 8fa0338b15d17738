#!/usr/bin/python3
"""Generate the PIL reference data for package preprocess.

Run from the repository root with the system Python, which has Pillow and
numpy:

    /usr/bin/python3 preprocess/testdata/gen.py            # rewrite testdata
    /usr/bin/python3 preprocess/testdata/gen.py --sweep DIR [--count N] [--seed S]

The first form writes small test images, cases.json (one entry per recipe,
with the expected float32 CHW output as <name>.f32 and, for a few cases, the
8-bit crop as <name>.u8) and resize.json + resize.bin (PIL's Image.resize on
two small sources for many target sizes, both filters), all in this folder.

The second form writes a random sweep (sweep.json + raw sources and PIL
results) into DIR for TestPILSweep, which runs it when PREPROCESS_PYTHON
names this interpreter.

The expected output is timm's eval transform as torchvision applies it to a
PIL image:

    img = Image.open(path).convert("RGB")          # timm's loader
    img = img.convert("L")                          # colour == "grey"
    img = img.point(lambda v: 255 - v)              # invert, before resizing
    Resize(floor(size / crop_pct), BICUBIC|BILINEAR) (squash: both sides)
    CenterCrop(size)                                # top = int(round(dh / 2.0))
    ToTensor()                                      # float32 v / 255
    Normalize(mean, std)                            # float32 (x - m) / s

Invert sits after the colour conversion and before the resize because
PIL's resize rounds in 8 bits: resize(255 - v) and 255 - resize(v) can
differ by one level.

reference() reimplements torchvision's Resize geometry (_compute_resized_output_size: the short
side gets the target, the long side int(target * long / short)) and its
center_crop offsets (Python's round, which rounds halves to even). When
torchvision is importable, every case is also run through
torchvision.transforms and must agree bit for bit (checked with Debian's
python3-torchvision 0.14.1: every case agrees).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
HALF = [0.5, 0.5, 0.5]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def make_images():
    """Deterministic small images that stress clipping, aspect and alpha."""
    rng = np.random.RandomState(20240601)
    imgs = {}

    # Pure noise: every bicubic output overshoots, so clipping is exercised.
    imgs["rgb_37x23.png"] = Image.fromarray(
        rng.randint(0, 256, (23, 37, 3), dtype=np.uint8), "RGB")

    # Tall noise with a hard edge.
    a = rng.randint(0, 256, (61, 45, 3), dtype=np.uint8)
    a[:, :20] = (a[:, :20] // 8) * 8
    a[30:, 30:] = [255, 0, 255]
    imgs["rgb_45x61.png"] = Image.fromarray(a, "RGB")

    # Larger RGBA picture with structure (stripes, rings, gradients) and an
    # alpha channel that PIL's convert("RGB") must ignore.
    yy, xx = np.mgrid[0:200, 0:300].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(xx / 3.0) * np.cos(yy / 17.0)
    g = 255.0 * ((np.hypot(xx - 150, yy - 100) // 6) % 2)
    b = 255.0 * xx / 299.0
    rgb = np.stack([r, g, b], -1)
    rgb[60:140, 200:260] = [250, 10, 30]
    rgb += rng.randint(-6, 7, rgb.shape)
    alpha = np.clip(255.0 * yy / 199.0, 0, 255)
    alpha[:, :40] = 0
    rgba = np.concatenate([rgb, alpha[..., None]], -1)
    imgs["rgba_300x200.png"] = Image.fromarray(
        np.clip(np.rint(rgba), 0, 255).astype(np.uint8), "RGBA")

    # A Fashion-MNIST-sized grey picture: a bright blob on black.
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    blob = 255.0 * np.exp(-((xx - 13.5) ** 2 / 40.0 + (yy - 12.0) ** 2 / 90.0))
    blob[4:24, 12:15] = 255
    blob += rng.randint(0, 20, blob.shape)
    imgs["grey_28x28.png"] = Image.fromarray(
        np.clip(np.rint(blob), 0, 255).astype(np.uint8), "L")

    # A JPEG for the decoder path (Go's decoder is not libjpeg, so the test
    # compares it loosely).
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float64)
    j = np.stack([4 * xx, 5 * yy, 128 + 100 * np.sin(xx / 5.0)], -1)
    imgs["photo_64x48.jpg"] = Image.fromarray(
        np.clip(np.rint(j), 0, 255).astype(np.uint8), "RGB")
    return imgs


def resized_size(w, h, size, crop_pct, crop_mode):
    """torchvision's Resize geometry for timm's eval transform."""
    t = math.floor(size / crop_pct)
    if crop_mode == "squash":
        return t, t
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = t, int(t * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def reference(img, spec):
    """Return (float32 CHW output, uint8 HWC crop) for one recipe."""
    img = img.convert("RGB")
    if spec["colour"] == "grey":
        img = img.convert("L")
    if spec["invert"]:
        img = img.point(lambda v: 255 - v)
    size = spec["size"]
    new_w, new_h = resized_size(*img.size, size, spec["crop_pct"], spec["crop_mode"])
    if (new_w, new_h) != img.size:
        img = img.resize((new_w, new_h), FILTERS[spec["interpolation"]])
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    crop = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)
    if crop.ndim == 2:
        crop = crop[:, :, None]
    x = crop.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.asarray(spec["mean"], np.float32)[:, None, None]
    std = np.asarray(spec["std"], np.float32)[:, None, None]
    x = (x - mean) / std
    return np.ascontiguousarray(x, dtype="<f4"), np.ascontiguousarray(crop)


def torchvision_reference(img, spec):
    """The same recipe through torchvision itself, or None without it."""
    try:
        import torchvision.transforms as T
        from torchvision.transforms import InterpolationMode
    except ImportError:
        return None
    mode = {"bicubic": InterpolationMode.BICUBIC,
            "bilinear": InterpolationMode.BILINEAR}[spec["interpolation"]]
    t = math.floor(spec["size"] / spec["crop_pct"])
    img = img.convert("RGB")
    if spec["colour"] == "grey":
        img = img.convert("L")
    if spec["invert"]:
        img = img.point(lambda v: 255 - v)
    resize = T.Resize((t, t) if spec["crop_mode"] == "squash" else t, interpolation=mode)
    tf = T.Compose([resize, T.CenterCrop(spec["size"]), T.ToTensor(),
                    T.Normalize(spec["mean"], spec["std"])])
    return tf(img).numpy().astype("<f4")


def spec(size, crop_pct, crop_mode="center", interpolation="bicubic",
         colour="rgb", invert=False, mean=None, std=None):
    c = 1 if colour == "grey" else 3
    return {"size": size, "crop_pct": crop_pct, "crop_mode": crop_mode,
            "interpolation": interpolation, "colour": colour, "invert": invert,
            "mean": mean or HALF[:c], "std": std or HALF[:c]}


# name -> (image, spec, keep the 8-bit crop too)
CASES = [
    ("rgba300_224_bicubic", "rgba_300x200.png", spec(224, 0.875), False),
    ("rgba300_224_grey_bilinear_inv", "rgba_300x200.png",
     spec(224, 0.95, interpolation="bilinear", colour="grey", invert=True, mean=[0.45], std=[0.25]), False),
    ("rgba300_64_squash_bilinear_inv_imagenet", "rgba_300x200.png",
     spec(64, 0.9, "squash", "bilinear", invert=True, mean=IMAGENET_MEAN, std=IMAGENET_STD), False),
    ("rgba300_64_grey", "rgba_300x200.png", spec(64, 0.95, colour="grey"), True),
    ("rgba300_32_crop1", "rgba_300x200.png", spec(32, 1.0, mean=IMAGENET_MEAN, std=IMAGENET_STD), False),
    ("rgb37_32_up", "rgb_37x23.png", spec(32, 0.875), False),
    ("rgb37_64_squash_grey_bilinear_inv", "rgb_37x23.png",
     spec(64, 0.95, "squash", "bilinear", "grey", True), False),
    ("rgb37_19_oddcrop", "rgb_37x23.png", spec(19, 1.0), False),
    ("rgb37_22_oddcrop", "rgb_37x23.png", spec(22, 1.0, interpolation="bilinear"), False),
    ("rgb37_23_squash_hpass_only", "rgb_37x23.png", spec(23, 1.0, "squash"), False),
    ("rgb45_32_tall_bilinear", "rgb_45x61.png", spec(32, 0.875, interpolation="bilinear"), False),
    ("rgb45_64_tall_grey_inv", "rgb_45x61.png", spec(64, 0.9, colour="grey", invert=True), False),
    ("rgb45_45_squash_vpass_only", "rgb_45x61.png", spec(45, 1.0, "squash"), False),
    ("rgb45_45_crop_only", "rgb_45x61.png", spec(45, 1.0), False),
    ("grey28_64_bilinear_inv", "grey_28x28.png",
     spec(64, 1.0, interpolation="bilinear", colour="grey", invert=True), True),
    ("grey28_64_bicubic", "grey_28x28.png", spec(64, 0.875, colour="grey"), False),
    ("grey28_32_squash_rgb", "grey_28x28.png", spec(32, 0.9, "squash"), False),
    ("grey28_24_down", "grey_28x28.png", spec(24, 0.875, colour="grey", invert=True), False),
]

# Target sizes for the resize table: 1-pixel outputs, one axis unchanged
# (PIL skips that pass), mild and strong down- and upscaling.
RESIZE_37x23 = [(1, 1), (1, 23), (37, 1), (2, 3), (5, 4), (9, 7), (12, 23), (37, 11),
                (18, 12), (19, 23), (36, 22), (37, 24), (38, 22), (41, 29), (53, 17),
                (74, 46), (100, 61), (23, 37)]
RESIZE_28x28 = [(1, 1), (3, 3), (7, 7), (13, 11), (24, 24), (27, 27), (28, 64), (29, 29),
                (32, 32), (36, 36), (56, 56), (64, 64), (73, 41), (112, 112)]


def write_testdata():
    imgs = make_images()
    for name, im in imgs.items():
        path = os.path.join(HERE, name)
        if name.endswith(".jpg"):
            im.save(path, quality=92)
        else:
            im.save(path, optimize=True)

    cases = []
    for name, image, sp, keep8 in CASES + [
            ("jpeg64_32_bicubic", "photo_64x48.jpg", spec(32, 0.875), False)]:
        img = Image.open(os.path.join(HERE, image))
        out, crop = reference(img, sp)
        tv = torchvision_reference(img, sp)
        if tv is not None and not np.array_equal(tv, out):
            sys.exit(f"{name}: torchvision disagrees, max diff {np.abs(tv - out).max()}")
        out.tofile(os.path.join(HERE, name + ".f32"))
        entry = {"name": name, "image": image, "spec": sp, "out": name + ".f32"}
        if keep8:
            crop.tofile(os.path.join(HERE, name + ".u8"))
            entry["crop8"] = name + ".u8"
        cases.append(entry)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")

    table, blob = [], bytearray()
    for image, sizes in (("rgb_37x23.png", RESIZE_37x23), ("grey_28x28.png", RESIZE_28x28)):
        src = Image.open(os.path.join(HERE, image))
        for interp, f in FILTERS.items():
            for w, h in sizes:
                b = src.resize((w, h), f).tobytes()
                table.append({"image": image, "interpolation": interp, "width": w,
                              "height": h, "offset": len(blob), "length": len(b)})
                blob += b
    with open(os.path.join(HERE, "resize.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(HERE, "resize.json"), "w") as f:
        json.dump(table, f, indent=0)
        f.write("\n")


def write_sweep(out_dir, count, seed):
    """Random sources and targets resized by PIL, for TestPILSweep."""
    rng = np.random.RandomState(seed)
    os.makedirs(out_dir, exist_ok=True)
    table, src_blob, out_blob = [], bytearray(), bytearray()

    def side():
        # Mostly small, sometimes large, always at least 1.
        return int(rng.choice([rng.randint(1, 9), rng.randint(1, 80), rng.randint(1, 700)]))

    for i in range(count):
        w, h = side(), side()
        mode = "RGB" if rng.rand() < 0.5 else "L"
        c = 3 if mode == "RGB" else 1
        kind = rng.randint(3)
        if kind == 0:
            px = rng.randint(0, 256, (h, w, c))
        elif kind == 1:
            px = rng.choice([0, 255], (h, w, c))
        else:
            yy, xx = np.mgrid[0:h, 0:w]
            px = (xx * 7 + yy * 3)[..., None] % 256 + np.zeros((1, 1, c), int)
        px = px.astype(np.uint8)
        im = Image.fromarray(px[..., 0] if c == 1 else px, mode)
        if rng.rand() < 0.3:
            ow, oh = w, side()
        elif rng.rand() < 0.3:
            ow, oh = side(), h
        else:
            ow, oh = side(), side()
        interp = "bicubic" if rng.rand() < 0.5 else "bilinear"
        res = im.resize((ow, oh), FILTERS[interp]).tobytes()
        table.append({"width": w, "height": h, "channels": c, "interpolation": interp,
                      "out_width": ow, "out_height": oh,
                      "src_offset": len(src_blob), "out_offset": len(out_blob)})
        src_blob += px.tobytes()
        out_blob += res
    with open(os.path.join(out_dir, "src.bin"), "wb") as f:
        f.write(src_blob)
    with open(os.path.join(out_dir, "out.bin"), "wb") as f:
        f.write(out_blob)
    with open(os.path.join(out_dir, "sweep.json"), "w") as f:
        json.dump(table, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", metavar="DIR", help="write a random sweep into DIR instead")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.sweep:
        write_sweep(args.sweep, args.count, args.seed)
    else:
        write_testdata()


if __name__ == "__main__":
    main()
