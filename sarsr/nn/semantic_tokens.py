"""STViT-R semantic tokens (Zeng et al., "Making Vision Transformers Efficient from A Token
Sparsification View", CVPR 2023): pool → refine → attend on few tokens → recover."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import TransformerLayer

__all__ = ["SemanticTokenGenerator", "TokenRecovery", "SemanticTokenAttention"]


class SemanticTokenGenerator(nn.Module):
    """Semantic-token generation module (STGM, global form): initial tokens by adaptive
    max-pooling the token map to a ``grid`` (M = gh·gw tokens), refined by one cross-attention
    layer whose keys/values are [semantic tokens; all image tokens].

    ``forward(x)`` with x (B, C, H, W) returns (B, M, C).
    """

    def __init__(self, dim, grid=(4, 4), heads=4, mlp_ratio=4.0, act=nn.GELU):
        super().__init__()
        self.grid = (grid, grid) if isinstance(grid, int) else tuple(grid)
        self.layer = TransformerLayer(dim, heads, int(dim * mlp_ratio), act=act)

    def forward(self, x):
        s = F.adaptive_max_pool2d(x, self.grid).flatten(2).transpose(1, 2)  # (B, M, C)
        t = x.flatten(2).transpose(1, 2)
        return self.layer(s, context=torch.cat((s, t), dim=1))


class TokenRecovery(nn.Module):
    """Recovery block (the "R" of STViT-R): every full-resolution token queries the semantic
    tokens (pre-norm cross-attention + MLP, LayerScale 1e-5), restoring a dense token map at
    cost O(L·M). ``forward(tokens (B, L, C), semantic (B, M, C)) -> (B, L, C)``."""

    def __init__(self, dim, heads=4, mlp_ratio=4.0, act=nn.GELU, layer_scale=1e-5):
        super().__init__()
        self.layer = TransformerLayer(dim, heads, int(dim * mlp_ratio), act=act, layer_scale=layer_scale)

    def forward(self, tokens, semantic):
        return self.layer(tokens, context=semantic)


class SemanticTokenAttention(nn.Module):
    """Linear-in-L global mixer for NCHW maps built from STViT-R parts: generate M semantic
    tokens, run ``depth`` self-attention layers on them only, recover all H·W tokens by
    cross-attention. (B, C, H, W) → (B, C, H, W); any H, W."""

    def __init__(self, dim, grid=(8, 8), depth=1, heads=4, mlp_ratio=2.0, act=nn.GELU,
                 layer_scale=1e-5):
        super().__init__()
        self.generate = SemanticTokenGenerator(dim, grid, heads, mlp_ratio, act)
        self.layers = nn.ModuleList(
            [TransformerLayer(dim, heads, int(dim * mlp_ratio), act=act) for _ in range(depth)])
        self.recover = TokenRecovery(dim, heads, mlp_ratio, act, layer_scale)

    def forward(self, x):
        B, C, H, W = x.shape
        s = self.generate(x)
        for layer in self.layers:
            s = layer(s)
        t = self.recover(x.flatten(2).transpose(1, 2), s)
        return t.transpose(1, 2).reshape(B, C, H, W)
