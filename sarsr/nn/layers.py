"""Basic units shared by every model: conv-BN, BN-linear, residuals, FFN, squeeze-excite,
norms, stochastic depth, the stride-16 stem, patch merging and the MobileNetV2 block.

All modules take and return NCHW tensors ``(B, C, H, W)`` unless stated. Units that can be
folded for inference expose ``fuse()``; it modifies the module in place (or returns a simpler
replacement) and is called bottom-up by :func:`sarsr.nn.reparameterize`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "make_divisible", "ConvNorm", "BNLinear", "Residual", "DropPath", "FFN", "SqueezeExcite",
    "GroupNorm1", "LayerNorm2d", "Stem16", "PatchMerging", "InvertedResidual",
    "fold_identity_into_depthwise", "pad_to_multiple",
]


def make_divisible(v: float, divisor: int = 8, round_limit: float = 0.9) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` without going below 90 % of ``v``."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def pad_to_multiple(x: torch.Tensor, mh: int, mw: int, mode: str = "reflect"):
    """Pad the last two axes of ``x`` at the bottom/right up to multiples of (mh, mw).

    Returns ``(padded, (H, W))`` so callers can crop back with ``y[..., :H, :W]``. Reflection is
    used where the pad is smaller than the axis, otherwise replication.
    """
    H, W = x.shape[-2:]
    ph, pw = (-H) % mh, (-W) % mw
    if ph or pw:
        if mode == "reflect" and (ph >= H or pw >= W):
            mode = "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode) if mode != "zeros" else F.pad(x, (0, pw, 0, ph))
    return x, (H, W)


class ConvNorm(nn.Module):
    """Conv2d (no bias) + BatchNorm2d + optional activation; ``fuse()`` folds BN into the conv.

    ``bn_weight_init=0`` starts the unit at zero output (used as the last unit of residual
    branches so each branch begins as identity).
    """

    def __init__(self, in_ch, out_ch, kernel_size=1, stride=1, padding=None, groups=1,
                 bn_weight_init=1.0, act: type[nn.Module] | None = None):
        super().__init__()
        if padding is None:
            padding = kernel_size // 2
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        nn.init.constant_(self.bn.weight, bn_weight_init)
        nn.init.zeros_(self.bn.bias)
        self.act = act() if act is not None else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))

    @torch.no_grad()
    def fuse(self):
        if isinstance(self.bn, nn.BatchNorm2d):
            bn, c = self.bn, self.conv
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                              dilation=c.dilation, groups=c.groups, bias=True).to(c.weight)
            fused.weight.copy_(c.weight * scale[:, None, None, None])
            bias = c.bias if c.bias is not None else torch.zeros_like(bn.running_mean)
            fused.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
            self.conv, self.bn = fused, nn.Identity()
        return self


class BNLinear(nn.Module):
    """BatchNorm1d followed by Linear (classifier head); ``fuse()`` folds the BN into the Linear."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.bn = nn.BatchNorm1d(in_features)
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        nn.init.trunc_normal_(self.linear.weight, std=0.02)
        if bias:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x):
        return self.linear(self.bn(x))

    @torch.no_grad()
    def fuse(self):
        if isinstance(self.bn, nn.BatchNorm1d):
            bn, lin = self.bn, self.linear
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            shift = bn.bias - bn.running_mean * scale
            fused = nn.Linear(lin.in_features, lin.out_features, bias=True).to(lin.weight)
            fused.weight.copy_(lin.weight * scale[None, :])
            b = lin.bias if lin.bias is not None else torch.zeros(lin.out_features).to(lin.weight)
            fused.bias.copy_(b + lin.weight @ shift)
            self.linear, self.bn = fused, nn.Identity()
        return self


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample with probability ``p``."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


@torch.no_grad()
def fold_identity_into_depthwise(conv: nn.Conv2d, gate: torch.Tensor | None = None) -> nn.Conv2d:
    """Fold ``x + conv(x)`` (or ``(1-g)·x + g·conv(x)``) into ``conv`` for a depthwise, stride-1
    convolution with odd kernel; modifies ``conv`` in place and returns it."""
    if not (conv.groups == conv.in_channels == conv.out_channels and conv.stride == (1, 1)):
        raise ValueError("identity folding needs a depthwise, stride-1 convolution")
    kh, kw = conv.kernel_size
    if conv.bias is None:
        conv.bias = nn.Parameter(torch.zeros(conv.out_channels).to(conv.weight))
    if gate is None:
        conv.weight[:, 0, kh // 2, kw // 2] += 1.0
    else:
        g = gate.reshape(-1)
        conv.weight.mul_(g[:, None, None, None])
        conv.bias.mul_(g)
        conv.weight[:, 0, kh // 2, kw // 2] += 1.0 - g
    return conv


class Residual(nn.Module):
    """``x + drop_path(m(x))``. When ``m`` is a depthwise stride-1 :class:`ConvNorm`, ``fuse()``
    folds the identity into the kernel's centre tap and returns the single conv."""

    def __init__(self, m: nn.Module, drop_path: float = 0.0):
        super().__init__()
        self.m = m
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x):
        return x + self.drop_path(self.m(x))

    @torch.no_grad()
    def fuse(self):
        m = self.m
        if isinstance(m, ConvNorm) and isinstance(m.bn, nn.Identity) and isinstance(m.act, nn.Identity):
            c = m.conv
            if c.groups == c.in_channels == c.out_channels and c.stride == (1, 1):
                return fold_identity_into_depthwise(c)
        return self


class FFN(nn.Module):
    """Pointwise feed-forward: 1x1 C→hidden (BN, act) then 1x1 hidden→C (BN, zero-init)."""

    def __init__(self, dim, hidden, act: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.pw1 = ConvNorm(dim, hidden, 1, act=act)
        self.pw2 = ConvNorm(hidden, dim, 1, bn_weight_init=0.0)

    def forward(self, x):
        return self.pw2(self.pw1(x))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018): channel gates from the global mean."""

    def __init__(self, ch, rd_ratio=0.25):
        super().__init__()
        rd = make_divisible(ch * rd_ratio, 8)
        self.fc1 = nn.Conv2d(ch, rd, 1)
        self.fc2 = nn.Conv2d(rd, ch, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class GroupNorm1(nn.GroupNorm):
    """GroupNorm with one group: normalises over (C, H, W) jointly, per-channel affine."""

    def __init__(self, ch, eps=1e-5):
        super().__init__(1, ch, eps=eps)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW tensor (per pixel)."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class Stem16(nn.Sequential):
    """Overlapping stride-16 patchify stem: four 3x3 stride-2 Conv-BN, widths C/8, C/4, C/2, C,
    ReLU between them and none after the last (SHViT / EfficientViM classification stem)."""

    def __init__(self, in_ch, dim):
        widths = [dim // 8, dim // 4, dim // 2, dim]
        layers, prev = [], in_ch
        for i, w in enumerate(widths):
            layers.append(ConvNorm(prev, w, 3, stride=2, act=nn.ReLU if i < 3 else None))
            prev = w
        super().__init__(*layers)


class PatchMerging(nn.Module):
    """MBConv-style stride-2 downsample: 1x1 in→hidden (BN, ReLU), depthwise 3x3 s2 (BN, ReLU),
    squeeze-excite 0.25, 1x1 hidden→out (BN). SHViT uses hidden = 4·in, EfficientViM 4·out."""

    def __init__(self, in_ch, out_ch, hidden):
        super().__init__()
        self.conv1 = ConvNorm(in_ch, hidden, 1, act=nn.ReLU)
        self.conv2 = ConvNorm(hidden, hidden, 3, stride=2, groups=hidden, act=nn.ReLU)
        self.se = SqueezeExcite(hidden, 0.25)
        self.conv3 = ConvNorm(hidden, out_ch, 1)

    def forward(self, x):
        return self.conv3(self.se(self.conv2(self.conv1(x))))


class InvertedResidual(nn.Module):
    """MobileNetV2 block (Sandler et al., CVPR 2018): [1x1 expand (BN, SiLU)] → depthwise 3x3
    (BN, SiLU) → 1x1 project (BN, linear); residual when stride 1 and in == out. With
    ``expansion == 1`` the expand conv is omitted (as in Mobile-SRViT)."""

    def __init__(self, in_ch, out_ch, stride=1, expansion=4.0, act: type[nn.Module] = nn.SiLU):
        super().__init__()
        hidden = int(round(in_ch * expansion))
        self.expand = ConvNorm(in_ch, hidden, 1, act=act) if expansion != 1 else nn.Identity()
        self.dw = ConvNorm(hidden, hidden, 3, stride=stride, groups=hidden, act=act)
        self.project = ConvNorm(hidden, out_ch, 1)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.use_residual else y
