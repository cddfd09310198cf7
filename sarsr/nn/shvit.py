"""SHViT single-head self-attention and block (Yun & Ro, "SHViT: Single-Head Vision
Transformer with Memory Efficient Macro Design", CVPR 2024)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import FFN, ConvNorm, GroupNorm1, Residual

__all__ = ["SHSA", "SHViTBlock", "partial_dim"]


def partial_dim(dim: int, ratio: float = 1 / 4.67) -> int:
    """Attention channel count Cp for a width C (SHViT uses Cp ≈ C / 4.67)."""
    return max(1, int(round(dim * ratio)))


class SHSA(nn.Module):
    """Single-head self-attention over a partial slice of the channels.

    The first ``pdim`` channels pass a 1-group GroupNorm and one Conv-BN giving q, k (width
    ``qk_dim``) and v (width ``pdim``); one attention head runs over all H·W tokens (or over
    non-overlapping ``window`` x ``window`` tiles, zero-padded with masked keys, when
    ``window`` is set); the result is concatenated with the untouched channels and mixed by
    ReLU → 1x1 Conv-BN (zero-init). No positional tables: any H, W. (B, C, H, W) → same.
    """

    def __init__(self, dim, pdim=None, qk_dim=16, window: int | None = None):
        super().__init__()
        self.pdim = pdim or partial_dim(dim)
        self.qk_dim = qk_dim
        self.window = window
        self.pre_norm = GroupNorm1(self.pdim)
        self.qkv = ConvNorm(self.pdim, 2 * qk_dim + self.pdim, 1)
        self.proj = nn.Sequential(nn.ReLU(), ConvNorm(dim, dim, 1, bn_weight_init=0.0))

    def _attend(self, q, k, v, mask=None):
        # q, k: (B', L, qk), v: (B', L, pdim) → (B', L, pdim); one head.
        return F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], attn_mask=mask)[:, 0]

    def forward(self, x):
        B, C, H, W = x.shape
        x1, x2 = x.split([self.pdim, C - self.pdim], dim=1)
        q, k, v = self.qkv(self.pre_norm(x1)).split([self.qk_dim, self.qk_dim, self.pdim], dim=1)
        w = self.window
        if w is None or (H <= w and W <= w):
            o = self._attend(*(t.flatten(2).transpose(1, 2) for t in (q, k, v)))
            x1 = o.transpose(1, 2).reshape(B, self.pdim, H, W)
        else:
            ph, pw = (-H) % w, (-W) % w
            Hp, Wp = H + ph, W + pw
            nh, nw = Hp // w, Wp // w

            def tiles(t):
                t = F.pad(t, (0, pw, 0, ph))
                c = t.shape[1]
                t = t.reshape(B, c, nh, w, nw, w).permute(0, 2, 4, 3, 5, 1)
                return t.reshape(B * nh * nw, w * w, c)

            mask = None
            if ph or pw:
                valid = x.new_ones(B, 1, H, W)  # zero-padded by tiles() → 0 marks padding
                keep = tiles(valid)[..., 0] > 0.5  # (B', w²)
                mask = keep[:, None, None, :]
            o = self._attend(tiles(q), tiles(k), tiles(v), mask)
            o = o.reshape(B, nh, nw, w, w, self.pdim).permute(0, 5, 1, 3, 2, 4)
            x1 = o.reshape(B, self.pdim, Hp, Wp)[..., :H, :W]
        return self.proj(torch.cat((x1, x2), dim=1))


class SHViTBlock(nn.Module):
    """SHViT basic block: ``x += BN(DW3x3(x))``, ``x += SHSA(x)`` (type "s" only),
    ``x += FFN(x)`` with FFN ratio 2 and ReLU. (B, C, H, W) → same."""

    def __init__(self, dim, pdim=None, qk_dim=16, attention=True, window=None, ffn_ratio=2.0,
                 drop_path=0.0):
        super().__init__()
        self.conv = Residual(ConvNorm(dim, dim, 3, groups=dim, bn_weight_init=0.0), drop_path)
        self.mixer = (Residual(SHSA(dim, pdim, qk_dim, window), drop_path) if attention
                      else nn.Identity())
        self.ffn = Residual(FFN(dim, int(dim * ffn_ratio)), drop_path)

    def forward(self, x):
        return self.ffn(self.mixer(self.conv(x)))
