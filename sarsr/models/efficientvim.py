"""EfficientViM classification backbones (Lee et al., CVPR 2025) at the published configurations."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import ConvNorm, EfficientViMBlock, LayerNorm2d, PatchMerging, Residual, Stem16
from .registry import register_model

__all__ = ["EfficientViM"]


class EfficientViMStage(nn.Module):
    """Blocks at one resolution, then (except in the last stage) the stride-2 downsample
    ``x + DW(x)`` → PatchMerging (hidden 4·out) → ``x + DW(x)``."""

    def __init__(self, dim, out_dim, depth, state_dim, mlp_ratio):
        super().__init__()
        self.blocks = nn.ModuleList(
            [EfficientViMBlock(dim, state_dim, mlp_ratio) for _ in range(depth)])
        self.downsample = nn.Sequential(
            Residual(ConvNorm(dim, dim, 3, groups=dim)), PatchMerging(dim, out_dim, 4 * out_dim),
            Residual(ConvNorm(out_dim, out_dim, 3, groups=out_dim))) if out_dim else None

    def forward(self, x):
        """Returns (feature map before downsample, next-stage input, last hidden state)."""
        h = None
        for blk in self.blocks:
            x, h = blk.forward_with_state(x)
        return x, (self.downsample(x) if self.downsample is not None else x), h


class EfficientViM(nn.Module):
    """Stride-16 stem, three HSM-SSD stages at strides 16/32/64, and the multi-stage
    hidden-state fusion (MSF) head: logits = Σ softmax(w)_i · head_i(features_i), where the
    features are the LayerNorm'd mean hidden state of each stage's last block and the pooled,
    LayerNorm'd final map. Any H, W (H and W are read from the tensor)."""

    def __init__(self, in_chans=3, num_classes=1000, widths=(128, 192, 320), depths=(2, 2, 2),
                 state_dims=(49, 25, 9), mlp_ratio=4.0):
        super().__init__()
        self.num_classes, self.num_features = num_classes, widths[-1]
        self.patch_embed = Stem16(in_chans, widths[0])
        n = len(widths)
        self.stages = nn.ModuleList([
            EfficientViMStage(widths[i], widths[i + 1] if i < n - 1 else 0, depths[i],
                              state_dims[i], mlp_ratio) for i in range(n)])
        self.feature_info = [dict(num_chs=w, reduction=16 * 2 ** i, module=f"stages.{i}")
                             for i, w in enumerate(widths)]
        self.state_norms = nn.ModuleList([nn.LayerNorm(w) for w in widths])
        self.norm = LayerNorm2d(widths[-1])
        self.heads = nn.ModuleList([nn.Linear(w, num_classes) for w in (*widths, widths[-1])]) \
            if num_classes > 0 else None
        self.head_weights = nn.Parameter(torch.ones(n + 1))

    def _run(self, x):
        x = self.patch_embed(x)
        maps, states = [], []
        for s in self.stages:
            fmap, x, h = s(x)
            maps.append(fmap)
            states.append(h)
        return maps, states

    def forward_intermediates(self, x):
        return self._run(x)[0]

    def forward_features(self, x):
        """Final normalised feature map (B, C3, H/64, W/64)."""
        return self.norm(self._run(x)[0][-1])

    def forward_head(self, x, states=None, pre_logits=False):
        """``x``: final map from :meth:`forward_features`; ``states``: per-stage hidden states
        (B, C_i, N_i) for the MSF head (without them only the final-map branch is used)."""
        pooled = [x.mean((2, 3))]
        if states is not None:
            pooled = [norm(h.transpose(1, 2)).mean(1) for norm, h in zip(self.state_norms, states)] + pooled
        if pre_logits or self.heads is None:
            return torch.cat(pooled, dim=1)
        if states is None:
            return self.heads[-1](pooled[-1])
        w = self.head_weights.softmax(0)
        return sum(w[i] * head(p) for i, (head, p) in enumerate(zip(self.heads, pooled)))

    def forward(self, x):
        maps, states = self._run(x)
        return self.forward_head(self.norm(maps[-1]), states)


_PAPER = "Lee et al., EfficientViM, CVPR 2025"


def _evim(widths, depths, states, in_chans, num_classes):
    return EfficientViM(in_chans, num_classes, widths, depths, states)


@register_model("classification", (3, 224, 224), _PAPER)
def efficientvim_m1(in_chans=3, num_classes=1000):
    """EfficientViM-M1: 6.7M params, 72.9 % ImageNet top-1 (published, 300 epochs)."""
    return _evim((128, 192, 320), (2, 2, 2), (49, 25, 9), in_chans, num_classes)


@register_model("classification", (3, 224, 224), _PAPER)
def efficientvim_m2(in_chans=3, num_classes=1000):
    """EfficientViM-M2: 13.9M params, 75.4 %."""
    return _evim((128, 256, 512), (2, 2, 2), (49, 25, 9), in_chans, num_classes)


@register_model("classification", (3, 224, 224), _PAPER)
def efficientvim_m3(in_chans=3, num_classes=1000):
    """EfficientViM-M3: 16.6M params, 77.6 %."""
    return _evim((224, 320, 512), (2, 2, 2), (49, 25, 9), in_chans, num_classes)


@register_model("classification", (3, 256, 256), _PAPER)
def efficientvim_m4(in_chans=3, num_classes=1000):
    """EfficientViM-M4: 19.6M params, 79.4 % at 256 px."""
    return _evim((224, 320, 512), (3, 4, 2), (64, 32, 16), in_chans, num_classes)
