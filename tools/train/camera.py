"""Camera-like renderings of Fashion-MNIST items, for training the demo
models to see items the way a camera region shows them.

A region of a camera frame rarely holds an item exactly as the dataset
does: the item fills only part of it, sits off centre, lies on a grey
surface that may be textured or noisy, and comes out soft. render()
draws a batch of such pictures at the model's input size, in PyTorch so
that a whole batch costs little beside the training step, on the device
of the random generator it is given (a GPU's, when training there):

  - the 28x28 item scaled to 45-100% of the picture's side (bilinear) and
    placed anywhere inside it, flipped left-right half of the time;
  - lit as a white object of the item's brightness on a grey background
    of level 30-220: v = bg + a * (255 - bg), a = item / 255;
  - half of the pictures on a noisy background: a smooth variation of up
    to +-24 levels and per-pixel noise of up to 12 levels; the others on a
    flat one with up to 3 levels of noise;
  - Gaussian blur of sigma 0-1.6 pixels (of the model's input), then
    rounded to 8 bits.

The camera-like test set the Go tests render (models/cameraset_test.go:
scaled to 50-100% of the region, background 64-192, through a video read
by GoCV and the agent's preprocessing) lies inside these ranges; the
ranges here are wider so that the test set is not the edge of what the
model saw.
"""

import torch
import torch.nn.functional as F


def _uniform(gen, n, lo, hi):
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=gen.device)


def render(items, gen, size):
    """items: uint8 tensor N x 28 x 28. Returns uint8 N x size x size on
    gen's device."""
    dev = gen.device
    n = items.shape[0]
    a = items.to(dev).float().unsqueeze(1) / 255
    side = _uniform(gen, n, 0.45, 1.0)  # item side / picture side
    cx = (1 - side) * (2 * _uniform(gen, n, 0, 1) - 1)
    cy = (1 - side) * (2 * _uniform(gen, n, 0, 1) - 1)
    flip = torch.where(_uniform(gen, n, 0, 1) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = flip / side
    theta[:, 0, 2] = -cx * flip / side
    theta[:, 1, 1] = 1 / side
    theta[:, 1, 2] = -cy / side
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    alpha = F.grid_sample(a, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    bg = _uniform(gen, n, 30, 220).view(n, 1, 1, 1)
    noisy = (_uniform(gen, n, 0, 1) < 0.5).float().view(n, 1, 1, 1)
    smooth = F.interpolate(torch.randn(n, 1, 4, 4, generator=gen, device=dev), size=(size, size), mode="bicubic",
                           align_corners=False)
    smooth = smooth * (_uniform(gen, n, 0, 12).view(n, 1, 1, 1) * noisy)
    sigma = torch.where(noisy > 0, _uniform(gen, n, 2, 12).view(n, 1, 1, 1), _uniform(gen, n, 0, 3).view(n, 1, 1, 1))
    back = (bg + smooth).clamp(0, 255)
    v = back + alpha * (255 - back)
    v = v + torch.randn(v.shape, generator=gen, device=dev) * sigma
    v = blur(v, _uniform(gen, n, 0, 1.6))
    return v.round().clamp(0, 255).to(torch.uint8).squeeze(1)


def blur(v, sigma):
    """A separable Gaussian blur of each picture of v (N x 1 x H x W) with its
    own sigma (N), edges repeated; sigma 0 leaves a picture as it is."""
    n = v.shape[0]
    r = 4
    x = torch.arange(-r, r + 1, dtype=torch.float32, device=v.device)
    s = sigma.clamp(min=1e-3).view(n, 1)
    k = torch.exp(-0.5 * (x.view(1, -1) / s) ** 2)
    k = k / k.sum(1, keepdim=True)
    p = F.pad(v, (r, r, r, r), mode="replicate").view(1, n, v.shape[2] + 2 * r, v.shape[3] + 2 * r)
    p = F.conv2d(p, k.view(n, 1, 1, -1), groups=n)
    p = F.conv2d(p, k.view(n, 1, -1, 1), groups=n)
    return p.view_as(v)
