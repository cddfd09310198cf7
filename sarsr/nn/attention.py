"""Token attention primitives: multi-head (cross-)attention, MLP and the pre-norm transformer
layer (Vaswani et al., NeurIPS 2017; ViT, Dosovitskiy et al., ICLR 2021).

Token tensors are ``(B, L, D)``. Attention uses :func:`torch.nn.functional.scaled_dot_product_attention`
so memory-efficient kernels are picked where available.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import DropPath

__all__ = ["Attention", "Mlp", "TransformerLayer", "LayerScale"]


class Attention(nn.Module):
    """Multi-head attention. ``forward(x)`` is self-attention; ``forward(x, context)`` lets the
    tokens ``x`` (B, L, D) attend to ``context`` (B, M, D).

    ``head_dim`` defaults to ``dim // heads``; the inner width ``heads * head_dim`` may differ
    from ``dim`` (Mobile-SRViT uses 4 heads x 8 whatever the width).
    """

    def __init__(self, dim, heads=4, head_dim=None, qkv_bias=True, proj_bias=True):
        super().__init__()
        head_dim = head_dim or dim // heads
        if head_dim * heads <= 0:
            raise ValueError("heads and head_dim must be positive")
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.proj = nn.Linear(inner, dim, bias=proj_bias)

    def _split(self, t, B):
        return t.reshape(B, -1, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, context=None, attn_mask=None):
        B = x.shape[0]
        inner = self.heads * self.head_dim
        if context is None:
            q, k, v = self.qkv(x).split(inner, dim=-1)
        else:
            w, b = self.qkv.weight, self.qkv.bias
            q = F.linear(x, w[:inner], None if b is None else b[:inner])
            k, v = F.linear(context, w[inner:], None if b is None else b[inner:]).split(inner, dim=-1)
        o = F.scaled_dot_product_attention(self._split(q, B), self._split(k, B), self._split(v, B),
                                           attn_mask=attn_mask)
        return self.proj(o.transpose(1, 2).reshape(B, -1, inner))


class Mlp(nn.Module):
    """Linear dim→hidden, activation, Linear hidden→dim."""

    def __init__(self, dim, hidden, act: type[nn.Module] = nn.GELU):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    """Per-channel learnable scale of a residual branch (CaiT, Touvron et al., ICCV 2021)."""

    def __init__(self, dim, init=1e-5):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x):
        return x * self.gamma


class TransformerLayer(nn.Module):
    """Pre-norm transformer layer: ``x += Attn(LN(x)); x += MLP(LN(x))`` with optional
    LayerScale and stochastic depth. ``context`` turns the attention into cross-attention
    (keys/values from ``LN(context)``)."""

    def __init__(self, dim, heads=4, mlp_hidden=None, head_dim=None, qkv_bias=True,
                 act: type[nn.Module] = nn.GELU, layer_scale=None, drop_path=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, head_dim, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_hidden or 4 * dim, act)
        self.ls1 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.ls2 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x, context=None):
        ctx = None if context is None else self.norm1(context)
        x = x + self.drop_path(self.ls1(self.attn(self.norm1(x), ctx)))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))
