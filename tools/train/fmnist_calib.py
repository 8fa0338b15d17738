#!/usr/bin/python3
"""Write the demo models' int8 calibration set: 1,000 Fashion-MNIST training
pictures spread over the training split, none of the VAL validation ones
(those of train.py --val VAL), half as they are (28x28) and half rendered
camera-like at 64x64 (camera.py, seed 7), as PNGs in one flat folder for
`coatnet quantize --calib DIR`. The models classify camera regions, so
their int8 scales are calibrated on such pictures as well as clean ones.

    /usr/bin/python3 tools/train/fmnist_calib.py DIR VAL
"""

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import camera  # noqa: E402
import train  # noqa: E402


def main():
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit(__doc__)
    out, val = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    u8, labels = train.load_split(train.FASHION_MNIST, "train")
    held_out = set(train.stratified(labels, val).tolist())
    idx = [int(i) for i in np.linspace(0, len(u8) - 1, 1200).astype(int) if i not in held_out][:1000]
    rendered = camera.render(torch.from_numpy(u8[idx[1::2]]), torch.Generator().manual_seed(7), 64).numpy()
    for i in idx[0::2]:
        Image.fromarray(u8[i], "L").save(out / f"clean-{i:05d}.png")
    for k, i in enumerate(idx[1::2]):
        Image.fromarray(rendered[k], "L").save(out / f"camera-{i:05d}.png")
    print(f"{out}: {len(idx)} calibration pictures", file=sys.stderr)


if __name__ == "__main__":
    main()
