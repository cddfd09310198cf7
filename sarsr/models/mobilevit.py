"""MobileViT classification backbones (Mehta & Rastegari, ICLR 2022; ml-cvnets semantics)."""

from __future__ import annotations

from torch import nn

from ..nn import ConvNorm, InvertedResidual, MobileViTBlock
from .registry import register_model

__all__ = ["MobileViT"]


class MobileViT(nn.Module):
    """3x3 s2 stem, MV2 stages, three [MV2 s2 + MobileViT block] stages (2x2 patches,
    4 heads, MLP 2·d, final LayerNorm), 1x1 conv to ``num_features``, GAP, Linear."""

    def __init__(self, in_chans=3, num_classes=1000, channels=(16, 16, 24, 48, 64, 80),
                 dims=(64, 80, 96), depths=(2, 4, 3), expansion=2.0, num_features=320,
                 patch=2):
        super().__init__()
        self.num_classes, self.num_features = num_classes, num_features
        c = channels
        self.stem = ConvNorm(in_chans, c[0], 3, stride=2, act=nn.SiLU)
        mv2 = lambda i, o, s: InvertedResidual(i, o, s, expansion)  # noqa: E731
        stages = [nn.Sequential(mv2(c[0], c[1], 1)),
                  nn.Sequential(mv2(c[1], c[2], 2), mv2(c[2], c[2], 1), mv2(c[2], c[2], 1))]
        for j in range(3):
            stages.append(nn.Sequential(
                mv2(c[2 + j], c[3 + j], 2),
                MobileViTBlock(c[3 + j], dims[j], depths[j], (patch, patch), heads=4,
                               mlp_hidden=2 * dims[j])))
        self.stages = nn.Sequential(*stages)
        self.feature_info = [dict(num_chs=ch, reduction=2 ** (i + 1), module=f"stages.{i}")
                             for i, ch in enumerate(c[1:])]
        self.final_conv = ConvNorm(c[-1], num_features, 1, act=nn.SiLU)
        self.head = nn.Linear(num_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward_intermediates(self, x):
        x = self.stem(x)
        out = []
        for s in self.stages:
            x = s(x)
            out.append(x)
        return out

    def forward_features(self, x):
        return self.final_conv(self.stages(self.stem(x)))

    def forward_head(self, x, pre_logits=False):
        x = x.mean((2, 3))
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


_PAPER = "Mehta & Rastegari, MobileViT, ICLR 2022"


@register_model("classification", (3, 256, 256), _PAPER)
def mobilevit_xxs(in_chans=3, num_classes=1000):
    """MobileViT-XXS: 1.27M params, 69.0 % ImageNet top-1 (published)."""
    return MobileViT(in_chans, num_classes, (16, 16, 24, 48, 64, 80), (64, 80, 96), (2, 4, 3), 2.0, 320)


@register_model("classification", (3, 256, 256), _PAPER)
def mobilevit_xs(in_chans=3, num_classes=1000):
    """MobileViT-XS: 2.3M params, 74.8 %."""
    return MobileViT(in_chans, num_classes, (16, 32, 48, 64, 80, 96), (96, 120, 144), (2, 4, 3), 4.0, 384)


@register_model("classification", (3, 256, 256), _PAPER)
def mobilevit_s(in_chans=3, num_classes=1000):
    """MobileViT-S: 5.6M params, 78.4 %."""
    return MobileViT(in_chans, num_classes, (16, 32, 64, 96, 128, 160), (144, 192, 240), (2, 4, 3), 4.0, 640)
