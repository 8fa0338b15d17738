"""A CoAtNet whose modules and state-dict names are timm's, written anew.

The module tree mirrors timm's ``MaxxVit`` for the CoAtNet "rw" family
(``coatnet_pico_rw`` / ``coatnet_nano_rw`` and custom sizes of them, and
``coatnet_0_rw``, whose "rw_coat" settings are the Config flags
pre_norm_act, se_early and output_bias):
``stem.conv1``, ``stem.norm1``, ``stem.conv2``, ``stages.S.blocks.B.*``
(``MbConvBlock`` and ``TransformerBlock2d``), ``norm``, ``head.fc``. A
state dict saved from this model therefore loads into timm, and
``coatnet convert`` imports it like any timm checkpoint.
``check_conformance.py`` loads timm's reference cases into it and compares
the outputs.

One addition to timm: ``attention="post-softmax"`` adds the static
relative-position kernel to the attention weights after the softmax instead
of to the logits before it (the second form of the CoAtNet patent).
"""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    """The subset of timm's MaxxVitCfg the rw CoAtNets use."""

    img_size: int = 64
    in_chans: int = 1
    num_classes: int = 10
    stem_width: tuple = (16, 32)
    embed_dim: tuple = (32, 64, 128, 256)
    depths: tuple = (1, 2, 2, 1)
    stride_mode: str = "pool"  # 'pool' (coatnet_nano_rw) or 'dw' (coatnet_pico_rw)
    attention: str = "pre-softmax"  # or 'post-softmax'
    dim_head: int = 32
    se_ratio: float = 0.25
    expand_ratio: float = 4.0
    global_pool: str = "avg"  # or 'max': the head's pooling, timm's global_pool
    # timm's rw_coat settings (coatnet_0_rw): SiLU after the MBConv pre-norm,
    # the SE (with ReLU) before norm2 as 'se_early', no bias on conv3_1x1 and
    # on the shortcut projections.
    pre_norm_act: bool = False
    se_early: bool = False
    output_bias: bool = True

    def go_flags(self):
        """The `coatnet convert` flags that describe this config."""
        base = "coatnet_nano_rw" if self.stride_mode == "pool" else "coatnet_pico_rw"
        return [
            "--arch", base, "--img-size", str(self.img_size),
            "--embed-dim", ",".join(map(str, self.embed_dim)),
            "--depths", ",".join(map(str, self.depths)),
            "--stem-width", ",".join(map(str, self.stem_width)),
            "--attention", self.attention,
        ] + (["--global-pool", "max"] if self.global_pool == "max" else [])


def make_divisible(v, divisor=8, round_limit=0.9):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (timm's LayerNorm2d)."""

    def __init__(self, c):
        super().__init__(c, eps=1e-6)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Downsample2d(nn.Module):
    """avg 2x2 pooling, then a 1x1 projection when the width changes."""

    def __init__(self, dim, dim_out, bias=True):
        super().__init__()
        self.pool = nn.AvgPool2d(2, 2)
        self.expand = nn.Conv2d(dim, dim_out, 1, bias=bias) if dim != dim_out else nn.Identity()

    def forward(self, x):
        return self.expand(self.pool(x))


class SEModule(nn.Module):
    def __init__(self, c, rd, act=F.silu):
        super().__init__()
        self.fc1 = nn.Conv2d(c, rd, 1, bias=True)
        self.fc2 = nn.Conv2d(rd, c, 1, bias=True)
        self.act = act

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(self.act(self.fc1(s)))
        return x * torch.sigmoid(s)


class MbConvBlock(nn.Module):
    """timm's MbConvBlock with the rw settings: BN pre-norm without act,
    expansion from the input width, SE after norm2, biases on conv3."""

    def __init__(self, cin, cout, stride, cfg):
        super().__init__()
        mid = make_divisible(cin * cfg.expand_ratio)
        self.shortcut = Downsample2d(cin, cout, bias=cfg.output_bias) if stride == 2 else nn.Identity()
        self.pre_norm = nn.BatchNorm2d(cin)
        self.pre_norm_act = cfg.pre_norm_act
        pool = stride == 2 and cfg.stride_mode == "pool"
        self.down = Downsample2d(cin, cin) if pool else nn.Identity()
        self.conv1_1x1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(mid)
        dw_stride = stride if cfg.stride_mode == "dw" else 1
        self.conv2_kxk = nn.Conv2d(mid, mid, 3, dw_stride, 1, groups=mid, bias=False)
        self.norm2 = nn.BatchNorm2d(mid)
        if cfg.se_early:
            self.se_early = SEModule(mid, int(cfg.se_ratio * mid), act=F.relu)
        else:
            self.se = SEModule(mid, int(cfg.se_ratio * mid))
        self.conv3_1x1 = nn.Conv2d(mid, cout, 1, bias=cfg.output_bias)

    def forward(self, x):
        sc = self.shortcut(x)
        x = self.pre_norm(x)
        if self.pre_norm_act:
            x = F.silu(x)
        x = self.down(x)
        x = F.silu(self.norm1(self.conv1_1x1(x)))
        x = self.conv2_kxk(x)
        if hasattr(self, "se_early"):
            x = F.silu(self.norm2(self.se_early(x)))
        else:
            x = self.se(F.silu(self.norm2(x)))
        x = self.conv3_1x1(x)
        return x + sc


def relative_position_index(side):
    """timm's gen_relative_position_index: (query - key) offsets, row-major."""
    coords = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]
    rel = rel.permute(1, 2, 0) + (side - 1)
    return rel[..., 0] * (2 * side - 1) + rel[..., 1]


class RelPosBias(nn.Module):
    def __init__(self, side, heads):
        super().__init__()
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * side - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(side).flatten(), persistent=False)
        self.n = side * side

    def get_bias(self):
        b = self.relative_position_bias_table[self.relative_position_index]
        return b.view(self.n, self.n, -1).permute(2, 0, 1).unsqueeze(0)


class Attention2d(nn.Module):
    """timm's Attention2d (heads interleaved per head in qkv), with the
    relative-position kernel before or after the softmax."""

    def __init__(self, dim, dim_out, side, cfg):
        super().__init__()
        self.heads = dim // cfg.dim_head
        self.dim_head = cfg.dim_head
        self.scale = cfg.dim_head ** -0.5
        self.post = cfg.attention == "post-softmax"
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=True)
        self.rel_pos = RelPosBias(side, self.heads)
        self.proj = nn.Conv2d(dim, dim_out, 1, bias=True)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, self.dim_head * 3, -1).chunk(3, dim=2)
        attn = (q * self.scale).transpose(-2, -1) @ k
        bias = self.rel_pos.get_bias()
        if self.post:
            attn = attn.softmax(dim=-1) + bias
        else:
            attn = (attn + bias).softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(b, -1, h, w)
        return self.proj(x)


class ConvMlp(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(c, hidden, 1, bias=True)
        self.fc2 = nn.Conv2d(hidden, c, 1, bias=True)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class NormDown(nn.Module):
    """norm1 of a stride-2 transformer block: LayerNorm, then avg-pool."""

    def __init__(self, c):
        super().__init__()
        self.norm = LayerNorm2d(c)
        self.down = Downsample2d(c, c)

    def forward(self, x):
        return self.down(self.norm(x))


class TransformerBlock2d(nn.Module):
    def __init__(self, cin, cout, stride, side, cfg):
        super().__init__()
        if stride == 2:
            self.shortcut = Downsample2d(cin, cout, bias=cfg.output_bias)
            self.norm1 = NormDown(cin)
        else:
            self.shortcut = nn.Identity()
            self.norm1 = LayerNorm2d(cin)
        self.attn = Attention2d(cin, cout, side, cfg)
        self.norm2 = LayerNorm2d(cout)
        self.mlp = ConvMlp(cout, int(cout * 4))

    def forward(self, x):
        x = self.shortcut(x) + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Stem(nn.Module):
    def __init__(self, cin, widths):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, widths[0], 3, 2, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(widths[0])
        self.conv2 = nn.Conv2d(widths[0], widths[1], 3, 1, 1, bias=False)

    def forward(self, x):
        return self.conv2(F.silu(self.norm1(self.conv1(x))))


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class Head(nn.Module):
    def __init__(self, c, classes, global_pool="avg"):
        super().__init__()
        if global_pool not in ("avg", "max"):
            raise ValueError(f"global_pool {global_pool!r}: want avg or max")
        self.global_pool = global_pool
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        if self.global_pool == "max":
            return self.fc(x.amax((2, 3)))
        return self.fc(x.mean((2, 3)))


class CoAtNet(nn.Module):
    """C-C-T-T CoAtNet of the rw family with timm's module names."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.stem = Stem(cfg.in_chans, cfg.stem_width)
        side = cfg.img_size // 2
        cin = cfg.stem_width[1]
        stages = []
        for s, (cout, depth) in enumerate(zip(cfg.embed_dim, cfg.depths)):
            side = (side - 1) // 2 + 1
            blocks = []
            for i in range(depth):
                stride = 2 if i == 0 else 1
                if s < 2:
                    blocks.append(MbConvBlock(cin, cout, stride, cfg))
                else:
                    blocks.append(TransformerBlock2d(cin, cout, stride, side, cfg))
                cin = cout
            stages.append(Stage(blocks))
        self.stages = nn.Sequential(*stages)
        self.norm = LayerNorm2d(cin)
        self.head = Head(cin, cfg.num_classes, cfg.global_pool)

    def forward_features(self, x):
        """The stem's and each stage's output (for conformance checks)."""
        feats = {}
        x = self.stem(x)
        feats["stem"] = x
        for s, stage in enumerate(self.stages):
            x = stage(x)
            feats[f"stages.{s}"] = x
        return x, feats

    def forward(self, x):
        x, _ = self.forward_features(x)
        return self.head(self.norm(x))
