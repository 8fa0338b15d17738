#!/usr/bin/python3
"""Write testdata/fashion/: the first three test images of each
Fashion-MNIST class as 28x28 grey PNG, and labels.csv (file, class index,
class name). Run once; the files are committed.

    /usr/bin/python3 tools/train/make_samples.py
"""

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import FASHION_MNIST, LABELS, ROOT, load_split  # noqa: E402


def main():
    images, labels = load_split(FASHION_MNIST, "test")
    out = ROOT / "testdata" / "fashion"
    out.mkdir(parents=True, exist_ok=True)
    rows = ["file,class,label"]
    for c, name in enumerate(LABELS):
        idx = [i for i, y in enumerate(labels) if y == c][:3]
        for i in idx:
            slug = name.lower().replace("/", "-").replace(" ", "-")
            f = f"{i:05d}-{slug}.png"
            Image.fromarray(images[i], "L").save(out / f, optimize=True)
            rows.append(f"{f},{c},{name}")
    (out / "labels.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
