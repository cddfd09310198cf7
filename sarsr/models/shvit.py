"""SHViT classification backbones (Yun & Ro, CVPR 2024) at the published configurations."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import FFN, BNLinear, ConvNorm, PatchMerging, Residual, SHViTBlock, Stem16
from .registry import register_model

__all__ = ["SHViT"]


class SHViT(nn.Module):
    """Stride-16 stem, three stages (block types i/s/s) at strides 16/32/64, GAP, BN-Linear head.

    ``forward_features`` returns the last stage's map (B, C3, H/64, W/64);
    ``forward_intermediates`` returns every stage's map; ``feature_info`` describes them.
    """

    def __init__(self, in_chans=3, num_classes=1000, widths=(128, 224, 320), depths=(2, 4, 5),
                 pdims=(32, 48, 68), types="iss", qk_dim=16, window=None, drop_path_rate=0.0):
        super().__init__()
        self.num_classes, self.num_features = num_classes, widths[-1]
        self.patch_embed = Stem16(in_chans, widths[0])
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        stages, k, self.feature_info = [], 0, []
        for i, (w, d) in enumerate(zip(widths, depths)):
            stage = nn.Module()
            if i == 0:
                stage.downsample = nn.Identity()
            else:
                p = widths[i - 1]
                stage.downsample = nn.Sequential(
                    Residual(ConvNorm(p, p, 3, groups=p)), Residual(FFN(p, 2 * p)),
                    PatchMerging(p, w, 4 * p),
                    Residual(ConvNorm(w, w, 3, groups=w)), Residual(FFN(w, 2 * w)))
            stage.blocks = nn.Sequential(*[
                SHViTBlock(w, pdims[i], qk_dim, attention=types[i] == "s", window=window,
                           drop_path=dpr[k + j]) for j in range(d)])
            k += d
            stages.append(stage)
            self.feature_info.append(dict(num_chs=w, reduction=16 * 2 ** i, module=f"stages.{i}"))
        self.stages = nn.ModuleList(stages)
        self.head = BNLinear(widths[-1], num_classes) if num_classes > 0 else nn.Identity()

    def forward_intermediates(self, x):
        x = self.patch_embed(x)
        out = []
        for s in self.stages:
            x = s.blocks(s.downsample(x))
            out.append(x)
        return out

    def forward_features(self, x):
        return self.forward_intermediates(x)[-1]

    def forward_head(self, x, pre_logits=False):
        x = x.mean((2, 3))
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


def _shvit(widths, depths, pdims, in_chans, num_classes, window, drop_path_rate):
    return SHViT(in_chans, num_classes, widths, depths, pdims, "iss", 16, window, drop_path_rate)


_PAPER = "Yun & Ro, SHViT, CVPR 2024"


@register_model("classification", (3, 224, 224), _PAPER)
def shvit_s1(in_chans=3, num_classes=1000, window=None, drop_path_rate=0.0):
    """SHViT-S1: 6.3M params, 72.8 % ImageNet top-1 (published)."""
    return _shvit((128, 224, 320), (2, 4, 5), (32, 48, 68), in_chans, num_classes, window, drop_path_rate)


@register_model("classification", (3, 224, 224), _PAPER)
def shvit_s2(in_chans=3, num_classes=1000, window=None, drop_path_rate=0.0):
    """SHViT-S2: 11.4M params, 75.2 %."""
    return _shvit((128, 308, 448), (2, 4, 5), (32, 66, 96), in_chans, num_classes, window, drop_path_rate)


@register_model("classification", (3, 224, 224), _PAPER)
def shvit_s3(in_chans=3, num_classes=1000, window=None, drop_path_rate=0.0):
    """SHViT-S3: 14.2M params, 77.4 %."""
    return _shvit((192, 352, 448), (3, 5, 5), (48, 75, 96), in_chans, num_classes, window, drop_path_rate)


@register_model("classification", (3, 256, 256), _PAPER)
def shvit_s4(in_chans=3, num_classes=1000, window=None, drop_path_rate=0.0):
    """SHViT-S4: 16.5M params, 79.4 % at 256 px."""
    return _shvit((224, 336, 448), (4, 7, 6), (48, 72, 96), in_chans, num_classes, window, drop_path_rate)
