"""EfficientViM hidden-state-mixer SSD (Lee et al., "EfficientViM: Efficient Vision Mamba with
Hidden State Mixer based State Space Duality", CVPR 2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import FFN, ConvNorm, LayerNorm2d, fold_identity_into_depthwise

__all__ = ["HSMSSD", "EfficientViMBlock"]


class HSMSSD(nn.Module):
    """Hidden-state mixer SSD: N hidden-state tokens, each a softmax-over-tokens weighted sum of
    the L = H·W input tokens, mixed along channels (gated linear units) and read back out.

    ``forward(x)`` with x (B, D, H, W) returns ``(y, h)``: y (B, D, H, W) and the mixed hidden
    states h (B, D, N). Cost O(L·N·D + N·D²): linear in the number of tokens.
    """

    def __init__(self, dim, state_dim=64, ssd_expand=1.0, a_init=(1.0, 16.0)):
        super().__init__()
        self.state_dim = N = int(state_dim)
        self.d_inner = int(ssd_expand * dim)
        self.bcdt_proj = nn.Conv1d(dim, 3 * N, 1, bias=False)
        self.dw = nn.Conv2d(3 * N, 3 * N, 3, padding=1, groups=3 * N, bias=False)
        self.hz_proj = nn.Conv1d(dim, 2 * self.d_inner, 1, bias=False)
        self.out_proj = nn.Conv1d(self.d_inner, dim, 1, bias=False)
        self.A = nn.Parameter(torch.empty(N).uniform_(*a_init))
        self.D = nn.Parameter(torch.ones(1))

    def forward(self, x, out_scale=None):
        """``out_scale`` (D,) scales y per channel (a fused block's gate; h is returned unscaled)."""
        B, D, H, W = x.shape
        # tokens (B, L, D) without a copy in either memory layout: NCHW is token-minor, the
        # channels-last output of LayerNorm2d token-major
        tok = x.flatten(2).transpose(1, 2) if x.is_contiguous() else x.permute(0, 2, 3, 1).reshape(B, H * W, D)
        # The B/C/dt projection and its depthwise 3x3 run token-major (channels-last memory):
        # the CPU depthwise kernel is ~30x faster on NHWC than on NCHW, and the 1x1 projection
        # written as a matmul produces NHWC directly, so no layout copy is needed.
        p = tok @ self.bcdt_proj.weight[:, :, 0].t()  # (B, L, 3N)
        p = p.reshape(B, H, W, -1).permute(0, 3, 1, 2)  # (B, 3N, H, W), channels-last view
        bcdt = self.dw(p).permute(0, 2, 3, 1).reshape(B, H * W, -1)  # (B, L, 3N)
        b, c, dt = bcdt.split(self.state_dim, dim=2)  # each (B, L, N)
        a = torch.softmax(dt + self.A, dim=1)  # softmax over tokens, per state
        h = tok.transpose(1, 2) @ (a * b)  # (B, D, N)
        h, z = self.hz_proj(h).split(self.d_inner, dim=1)
        h = self.out_proj(h * F.silu(z) + h * self.D)  # (B, D, N)
        hs = h if out_scale is None else h * out_scale[:, None]
        y = (hs @ c.transpose(1, 2)).reshape(B, -1, H, W)
        return y, h


class EfficientViMBlock(nn.Module):
    """EfficientViM block: four branches (DW3x3-BN, HSM-SSD on LayerNorm'd input, DW3x3-BN,
    FFN ratio 4), each merged as a gated convex combination ``x ← (1-a)·x + a·f(x)`` with
    ``a = sigmoid(alpha)`` per branch and channel. ``fuse()`` folds the two gated depthwise
    branches into single convolutions. ``forward`` returns x; :meth:`forward_with_state` also
    returns the mixer's hidden states (B, C, N) for the multi-stage fusion head."""

    def __init__(self, dim, state_dim=64, mlp_ratio=4.0, ssd_expand=1.0):
        super().__init__()
        self.dwconv1 = ConvNorm(dim, dim, 3, groups=dim, bn_weight_init=0.0)
        self.norm = LayerNorm2d(dim)
        self.mixer = HSMSSD(dim, state_dim, ssd_expand)
        self.dwconv2 = ConvNorm(dim, dim, 3, groups=dim, bn_weight_init=0.0)
        self.ffn = FFN(dim, int(dim * mlp_ratio))
        self.alpha = nn.Parameter(torch.full((4, dim), 1e-4))
        self.fused = False

    def forward_with_state(self, x):
        if self.fused:  # gates folded: (1-a)·x + f'(x) with a inside f' (one pass over x each)
            x = self.dwconv1(x)
            y, h = self.mixer(self.norm(x), out_scale=self.mixer_gate)
            x = self.dwconv2(torch.addcmul(y, x, self.keep_mixer))
            return torch.addcmul(self.ffn(x), x, self.keep_ffn), h
        a = torch.sigmoid(self.alpha)[:, None, :, None, None]  # (4, 1, C, 1, 1)
        x = x + a[0] * (self.dwconv1(x) - x)
        y, h = self.mixer(self.norm(x))
        x = x + a[1] * (y - x)
        x = x + a[2] * (self.dwconv2(x) - x)
        x = x + a[3] * (self.ffn(x) - x)
        return x, h

    def forward(self, x):
        return self.forward_with_state(x)[0]

    @torch.no_grad()
    def fuse(self):
        if not self.fused:
            a = torch.sigmoid(self.alpha)
            for conv_norm, g in ((self.dwconv1, a[0]), (self.dwconv2, a[2])):
                conv_norm.fuse()
                fold_identity_into_depthwise(conv_norm.conv, g)
            # the mixer's gate scales y (h stays as the multi-stage head reads it); the FFN's is
            # folded into its last (BN-fused) convolution
            self.ffn.pw2.fuse()
            self.ffn.pw2.conv.weight.mul_(a[3][:, None, None, None])
            self.ffn.pw2.conv.bias.mul_(a[3])
            self.register_buffer("mixer_gate", a[1].clone())
            # (1, C, 1, 1): 4-D like every other buffer, so .to(memory_format=...) applies
            self.register_buffer("keep_mixer", (1 - a[1])[None, :, None, None].clone())
            self.register_buffer("keep_ffn", (1 - a[3])[None, :, None, None].clone())
            self.fused = True
        return self
