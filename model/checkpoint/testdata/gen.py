#!/usr/bin/env python3
"""Generate the small PyTorch fixtures that checkpoint_test.go reads.

Run from this directory with the PyTorch the fixtures were made with (1.13):

    cd model/checkpoint/testdata && /usr/bin/python3 gen.py

Values are small integers and halves so that every dtype holds them exactly and
the Go test can rebuild them from the same formulas (fixtureStateDict in
checkpoint_test.go). Keep the files tiny: they are committed. legacy.pth and
torchscript.pt differ byte for byte between runs (addresses, debug info).
"""

import argparse
import collections

import torch
import torch.nn as nn


def base():
    # base[i, j] = i*5 + j + 0.25, shape [4, 5]
    return torch.arange(20, dtype=torch.float32).reshape(4, 5) + 0.25


def state_dict(prefix):
    b = base()
    sd = collections.OrderedDict()
    sd[prefix + "base"] = b
    sd[prefix + "transposed"] = b.t()  # shape [5, 4], stride (1, 5), shares b's storage
    sd[prefix + "slice"] = b[1:3, 2:]  # shape [2, 3], stride (5, 1), storage offset 7
    sd[prefix + "scalar"] = torch.tensor(-1.5)  # 0-d
    sd[prefix + "empty"] = torch.zeros(0, 3)
    sd[prefix + "half"] = torch.tensor([0.5, -2.0, 65504.0, 6.103515625e-05], dtype=torch.float16)
    sd[prefix + "bf16"] = torch.tensor([1.5, -3.0, 256.0], dtype=torch.bfloat16)
    sd[prefix + "double"] = torch.tensor([1.0 / 3.0, -2.5], dtype=torch.float64)
    sd[prefix + "bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd[prefix + "i32"] = torch.tensor([1, -2], dtype=torch.int32)
    sd[prefix + "i16"] = torch.tensor([3], dtype=torch.int16)
    sd[prefix + "i8"] = torch.tensor([-4], dtype=torch.int8)
    sd[prefix + "u8"] = torch.tensor([5], dtype=torch.uint8)
    sd[prefix + "mask"] = torch.tensor([True, False])
    return sd


def main():
    # timm's train.py layout: a wrapper dict with the model weights under
    # "state_dict" (DataParallel keys), EMA weights, an optimizer and argparse
    # args (a class gopickle's own loader cannot resolve).
    ema = collections.OrderedDict((k, torch.full_like(v, 9) if v.is_floating_point() else v)
                                  for k, v in state_dict("").items())
    torch.save({
        "epoch": 3,
        "arch": "tiny",
        "state_dict": state_dict("module."),
        "state_dict_ema": ema,
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
        "args": argparse.Namespace(lr=0.1, model="tiny"),
        "metric": 0.5,
    }, "wrapped.pth")

    # The legacy (pre-1.6) format with a plain state dict.
    torch.save(state_dict(""), "legacy.pth", _use_new_zipfile_serialization=False)

    # Pickle protocol 4 uses FRAME, MEMOIZE and STACK_GLOBAL.
    torch.save(state_dict(""), "proto4.pth", pickle_protocol=4)

    # A state dict with a value that is not a tensor.
    torch.save({"state_dict": {"w": torch.ones(2), "step": 3}}, "nontensor.pth")

    # A whole module instead of its state dict, and a TorchScript archive.
    torch.manual_seed(0)
    lin = nn.Linear(2, 1)
    torch.save(lin, "module.pth")
    torch.jit.save(torch.jit.script(lin), "torchscript.pt")


if __name__ == "__main__":
    main()
