"""Point detector: where in a (defocused) SAR image the isolated point targets are.

A small fully convolutional network (dilated 3 x 3 convolutions with residual connections,
receptive field 35 pixels; with ``context_width`` > 0 a quarter-resolution context branch
widens it to ~140 pixels, as in the shipped weights) on the magnitude image, log-compressed
over ``log_input_db`` dB, returning one logit per pixel: "a point target of the label lies here". It tells a point's blob
from the speckle, sidelobes and edge glints of the same height that a defocused input shows
around it, which a threshold on the input cannot. :func:`sarsr.sr.super_resolve` uses it to put
back only the erased input peaks that are points (``keep_input_points="auto"``); trained with
``sarsr train point_detector`` (task ``point_detection``, :mod:`sarsr.train.detect_task`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_model

__all__ = ["PointDetector", "point_detector"]


class PointDetector(nn.Module):
    """Per-pixel point logits of a magnitude image.

    Parameters
    ----------
    in_chans : 1 (magnitude) or 2 (real, imaginary: the modulus is used).
    width : channels of the hidden layers.
    dilations : dilation of each residual 3 x 3 convolution (receptive field 3 + 2 sum(d)).
    log_input_db : dynamic range (dB) of the log compression of the input (normalised by its
        own maximum first, so the input's scale does not matter).
    context_width : channels of an optional context branch at a quarter of the resolution
        (0 = none): a 4 x 4 stride-4 convolution of the full-resolution features, residual
        dilated 3 x 3 convolutions (``context_dilations``; receptive field 4 (3 + 2 sum(d))
        pixels), added back upsampled (bilinear) before one more full-resolution 3 x 3
        convolution. It sees the whole blob, shape or sidelobe pattern around a peak at a
        fraction of the cost of full-resolution layers.
    context_dilations : dilations of the context branch.

    Input (B, in_chans, H, W) of any positive scale; output (B, 1, H, W) logits.
    """

    def __init__(self, in_chans: int = 1, width: int = 24, dilations=(1, 2, 4, 8, 1), log_input_db: float = 40.0,
                 context_width: int = 0, context_dilations=(1, 2, 4, 8, 1)):
        super().__init__()
        if in_chans not in (1, 2):
            raise ValueError(f"PointDetector: in_chans must be 1 or 2, got {in_chans}")
        if log_input_db <= 0:
            raise ValueError(f"PointDetector: log_input_db must be > 0, got {log_input_db}")
        if isinstance(context_width, bool) or not isinstance(context_width, int) or context_width < 0:
            raise ValueError(f"PointDetector: context_width must be an integer >= 0, got {context_width!r}")
        self.in_chans, self.log_input_db = in_chans, float(log_input_db)
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=int(d), dilation=int(d)) for d in dilations)
        self.context = None
        if context_width:
            self.context = nn.ModuleDict(dict(
                down=nn.Conv2d(width, context_width, 4, stride=4),
                body=nn.ModuleList(nn.Conv2d(context_width, context_width, 3, padding=int(d), dilation=int(d))
                                   for d in context_dilations),
                up=nn.Conv2d(context_width, width, 1),
                fuse=nn.Conv2d(width, width, 3, padding=1)))
        self.head = nn.Conv2d(width, 1, 1)

    def compress(self, x):
        """(B, 1, H, W) in [0, 1]: the magnitude over its own maximum, in dB over ``log_input_db``."""
        mag = x[:, :1].abs() if self.in_chans == 1 else torch.sqrt(x[:, :1] ** 2 + x[:, 1:2] ** 2)
        mag = mag / mag.amax((-2, -1), keepdim=True).clamp_min(1e-12)
        floor = 10.0 ** (-self.log_input_db / 20.0)
        return (20.0 * torch.log10(mag.clamp_min(floor)) + self.log_input_db) / self.log_input_db

    def forward(self, x):
        h = F.gelu(self.stem(self.compress(x)))
        for conv in self.body:
            h = h + F.gelu(conv(h))
        if self.context is not None:
            H, W = h.shape[-2:]
            pad = (0, (-W) % 4, 0, (-H) % 4)  # the stride-4 branch sees every pixel
            c = F.gelu(self.context["down"](F.pad(h, pad, mode="replicate") if any(pad) else h))
            for conv in self.context["body"]:
                c = c + F.gelu(conv(c))
            c = F.interpolate(self.context["up"](c), scale_factor=4, mode="bilinear", align_corners=False)
            h = h + F.gelu(self.context["fuse"](h + c[..., :H, :W]))
        return self.head(h)


@register_model("point_detection", (1, 256, 256), "sarsr point detector (dilated residual CNN)")
def point_detector(in_chans=1, width=24, dilations=(1, 2, 4, 8, 1), log_input_db=40.0, context_width=0,
                   context_dilations=(1, 2, 4, 8, 1)):
    return PointDetector(in_chans, width, dilations, log_input_db, context_width, context_dilations)
