"""Plain token ViTs (DeiT-style) with the TORE token-recycling interface, and an STViT-R
backbone (semantic tokens in the middle, recovery to a dense token map at the end)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import SemanticTokenGenerator, TokenRecovery, TransformerLayer
from .registry import register_model

__all__ = ["PatchEmbed", "VisionTransformer", "STViTR"]


class PatchEmbed(nn.Module):
    """Non-overlapping p x p patch embedding with a learned absolute position table for a base
    grid, bicubically interpolated to other grids. Images whose size is not a multiple of p are
    zero-padded at the bottom/right (never resized)."""

    def __init__(self, in_chans, dim, patch=16, base_grid=(14, 14)):
        super().__init__()
        self.patch, self.base_grid = patch, tuple(base_grid)
        self.proj = nn.Conv2d(in_chans, dim, patch, patch)
        self.pos = nn.Parameter(torch.zeros(1, dim, *base_grid))
        nn.init.trunc_normal_(self.pos, std=0.02)

    def grid(self, H, W):
        p = self.patch
        return -(-H // p), -(-W // p)

    def pos_table(self, gh, gw):
        """(gh·gw, dim) position embeddings."""
        pos = self.pos
        if (gh, gw) != self.base_grid:
            pos = F.interpolate(pos, size=(gh, gw), mode="bicubic", align_corners=False)
        return pos.flatten(2)[0].T

    def forward(self, x, ids=None):
        """(B, C, H, W) → tokens (B, n, dim) for all patches (row-major) or only ``ids``."""
        p = self.patch
        H, W = x.shape[-2:]
        gh, gw = self.grid(H, W)
        x = F.pad(x, (0, gw * p - W, 0, gh * p - H))
        pos = self.pos_table(gh, gw)
        if ids is None:
            return self.proj(x).flatten(2).transpose(1, 2) + pos
        cols = F.unfold(x, p, stride=p)[:, :, ids].transpose(1, 2)  # (B, n, C·p·p)
        w = self.proj.weight.flatten(1)
        return cols @ w.T + self.proj.bias + pos[ids]


class VisionTransformer(nn.Module):
    """DeiT-style ViT: patch embedding + class token, pre-norm transformer layers, LayerNorm,
    linear head on the class token. Implements the TORE interface (``patch_grid``,
    ``embed_patches``, ``class_token``, ``blocks``, ``head_from_tokens``)."""

    def __init__(self, in_chans=3, num_classes=1000, dim=192, depth=12, heads=3, mlp_ratio=4.0,
                 patch=16, base_grid=(14, 14), drop_path_rate=0.0):
        super().__init__()
        self.num_classes, self.num_features = num_classes, dim
        self.patch_embed = PatchEmbed(in_chans, dim, patch, base_grid)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_pos, std=0.02)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList([TransformerLayer(dim, heads, int(dim * mlp_ratio), drop_path=d)
                                     for d in dpr])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()
        self.feature_info = [dict(num_chs=dim, reduction=patch, module=f"blocks.{i}") for i in range(depth)]

    # --- TORE interface -------------------------------------------------------------------
    def patch_grid(self, H, W):
        return self.patch_embed.grid(H, W)

    def embed_patches(self, x, ids=None):
        return self.patch_embed(x, ids)

    def class_token(self):
        return self.cls_token + self.cls_pos

    def head_from_tokens(self, tokens):
        return self.forward_head(self.norm(tokens))

    # --- standard API ---------------------------------------------------------------------
    def forward_features(self, x):
        """Normalised tokens (B, 1 + L, dim), class token first."""
        t = torch.cat((self.class_token().expand(x.shape[0], -1, -1), self.embed_patches(x)), 1)
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t)

    def forward_intermediates(self, x, indices=None):
        """Patch-token maps (B, dim, gh, gw) after the blocks in ``indices`` (default: all)."""
        gh, gw = self.patch_grid(*x.shape[-2:])
        t = torch.cat((self.class_token().expand(x.shape[0], -1, -1), self.embed_patches(x)), 1)
        idx = set(range(len(self.blocks)) if indices is None else indices)
        out = []
        for i, blk in enumerate(self.blocks):
            t = blk(t)
            if i in idx:
                out.append(t[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, gh, gw))
        return out

    def forward_head(self, tokens, pre_logits=False):
        x = tokens[:, 0]
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


class STViTR(nn.Module):
    """STViT-R-style backbone on a DeiT-style token ViT: ``full_depth`` layers on all patch
    tokens, semantic-token generation (adaptive max-pool to ``grid`` + cross-attention over
    [semantic; image] tokens), ``semantic_depth`` layers on the M semantic tokens only, and a
    recovery cross-attention that restores every patch token (dense path). Classification
    averages the semantic tokens. ``forward_features`` returns the recovered dense map
    (B, dim, gh, gw)."""

    def __init__(self, in_chans=3, num_classes=1000, dim=192, heads=3, full_depth=4,
                 semantic_depth=7, grid=(4, 4), mlp_ratio=4.0, patch=16, base_grid=(14, 14)):
        super().__init__()
        self.num_classes, self.num_features = num_classes, dim
        self.patch_embed = PatchEmbed(in_chans, dim, patch, base_grid)
        hidden = int(dim * mlp_ratio)
        self.blocks = nn.ModuleList([TransformerLayer(dim, heads, hidden) for _ in range(full_depth)])
        self.generate = SemanticTokenGenerator(dim, grid, heads, mlp_ratio)
        self.semantic_blocks = nn.ModuleList(
            [TransformerLayer(dim, heads, hidden) for _ in range(semantic_depth)])
        self.recover = TokenRecovery(dim, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)
        self.dense_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()
        self.feature_info = [dict(num_chs=dim, reduction=patch, module="recover")]

    def _tokens(self, x):
        B = x.shape[0]
        gh, gw = self.patch_embed.grid(*x.shape[-2:])
        t = self.patch_embed(x)
        for blk in self.blocks:
            t = blk(t)
        s = self.generate(t.transpose(1, 2).reshape(B, -1, gh, gw))
        for blk in self.semantic_blocks:
            s = blk(s)
        return t, s, (gh, gw)

    def forward_features(self, x):
        t, s, (gh, gw) = self._tokens(x)
        d = self.dense_norm(self.recover(t, s))
        return d.transpose(1, 2).reshape(x.shape[0], -1, gh, gw)

    def forward_intermediates(self, x):
        return [self.forward_features(x)]

    def forward_head(self, semantic, pre_logits=False):
        x = self.norm(semantic).mean(1)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        """Classification uses only the semantic tokens (the recovery path is skipped)."""
        return self.forward_head(self._tokens(x)[1])


_DEIT = "Touvron et al., DeiT, ICML 2021 (token ViT); TORE interface"


@register_model("classification", (3, 224, 224), _DEIT)
def vit_tiny(in_chans=3, num_classes=1000, drop_path_rate=0.0):
    """DeiT-Tiny configuration: patch 16, width 192, depth 12, 3 heads (5.7M params)."""
    return VisionTransformer(in_chans, num_classes, 192, 12, 3, 4.0, 16, (14, 14), drop_path_rate)


@register_model("classification", (3, 128, 128), _DEIT)
def vit_radar(in_chans=3, num_classes=1000, drop_path_rate=0.1):
    """Compact token ViT for 128 x 128 radar images: patch 8 (a 16 x 16 token grid), width 128,
    depth 6, 4 heads (1.2M params, ~0.4 GMAC per 128 x 128 image). Small enough to train from
    scratch on a few thousand simulated scans; the TORE progressive-recognition model."""
    return VisionTransformer(in_chans, num_classes, 128, 6, 4, 4.0, 8, (16, 16), drop_path_rate)


@register_model("classification", (3, 224, 224), _DEIT)
def vit_small(in_chans=3, num_classes=1000, drop_path_rate=0.0):
    """DeiT-Small configuration: patch 16, width 384, depth 12, 6 heads (22M params)."""
    return VisionTransformer(in_chans, num_classes, 384, 12, 6, 4.0, 16, (14, 14), drop_path_rate)


@register_model("classification", (3, 224, 224), "Zeng et al., STViT-R, CVPR 2023")
def stvit_r_tiny(in_chans=3, num_classes=1000):
    """STViT-R on DeiT-Tiny: 4 full-token layers, 16 semantic tokens through 7 layers, recovery."""
    return STViTR(in_chans, num_classes, 192, 3, 4, 7, (4, 4))


class DenseSTViTR(nn.Module):
    """Dense (per-pixel) prediction on the STViT-R recovery path: the recovered token map
    (B, dim, H/16, W/16) → 1x1 conv to ``num_classes`` → bilinear upsampling to the input size.
    Output (B, num_classes, H, W) logits; class 0 is conventionally the background."""

    def __init__(self, in_chans=3, num_classes=9, **kw):
        super().__init__()
        self.backbone = STViTR(in_chans, 0, **kw)
        self.backbone.norm = nn.Identity()  # the classification path's norm is unused here
        self.num_classes = num_classes
        self.classifier = nn.Conv2d(self.backbone.num_features, num_classes, 1)

    def forward_features(self, x):
        return self.backbone.forward_features(x)

    def forward(self, x):
        logits = self.classifier(self.forward_features(x))
        return nn.functional.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_model("segmentation", (3, 224, 224), "Zeng et al., STViT-R, CVPR 2023 (dense recovery path)")
def stvit_r_tiny_dense(in_chans=3, num_classes=9):
    """STViT-R tiny with a per-pixel head on the recovered tokens (background + 8 object classes)."""
    return DenseSTViTR(in_chans, num_classes, dim=192, heads=3, full_depth=4, semantic_depth=7, grid=(4, 4))
