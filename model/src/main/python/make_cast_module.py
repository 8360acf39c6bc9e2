"""Writes the TorchScript module behind dev.lmspark.model.nn.Functional.cast.

DJL 0.32's PyTorch binding names dtypes by the ordinal of DJL's DataType and its native table stops
at complex64: asking it for bfloat16 aborts the JVM. A scripted module casts instead (a tensor of the target
dtype names it). Run with any PyTorch >= 1.13; the file is checked in:

    python3 model/src/main/python/make_cast_module.py model/src/main/resources/dev/lmspark/model/nn
"""

import os
import sys

import torch


class Cast(torch.nn.Module):
    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """x in the dtype of like (differentiable when run in training mode)."""
        return x.to(like.dtype)

    @torch.jit.export
    def bfloat16(self, on: torch.Tensor) -> torch.Tensor:
        """A bfloat16 scalar on the device of on: the exemplar forward casts to."""
        return torch.zeros((), dtype=torch.bfloat16, device=on.device)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    torch.jit.script(Cast()).save(os.path.join(out, "cast.pt"))
