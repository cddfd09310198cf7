"""MobileViT block (Mehta & Rastegari, "MobileViT: Light-weight, General-purpose, and
Mobile-friendly Vision Transformer", ICLR 2022)."""

from __future__ import annotations

import torch
from torch import nn

from .attention import TransformerLayer
from .layers import ConvNorm, pad_to_multiple

__all__ = ["MobileViTBlock", "unfold_patches", "fold_patches"]


def unfold_patches(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """(B, d, H, W) with H % ph == W % pw == 0 → (B·ph·pw, N, d): one sequence per intra-patch
    offset, whose N = (H/ph)·(W/pw) tokens are the pixels at that offset in every patch."""
    B, d, H, W = x.shape
    nh, nw = H // ph, W // pw
    x = x.reshape(B, d, nh, ph, nw, pw).permute(0, 3, 5, 2, 4, 1)
    return x.reshape(B * ph * pw, nh * nw, d)


def fold_patches(t: torch.Tensor, B: int, H: int, W: int, ph: int, pw: int) -> torch.Tensor:
    """Inverse of :func:`unfold_patches`: (B·ph·pw, N, d) → (B, d, H, W)."""
    d = t.shape[-1]
    nh, nw = H // ph, W // pw
    t = t.reshape(B, ph, pw, nh, nw, d).permute(0, 5, 3, 1, 4, 2)
    return t.reshape(B, d, H, W)


class MobileViTBlock(nn.Module):
    """MobileViT block: local 3x3 conv (BN, SiLU) and 1x1 projection C→d, unfold into
    ph x pw patches, ``depth`` pre-norm transformer layers across patches at each intra-patch
    offset, fold, 1x1 d→C (BN, SiLU), concatenate with the block input and fuse with a 3x3
    conv 2C→C (BN, SiLU). Input/output (B, C, H, W); any H, W (reflect-padded to the patch
    multiple inside, cropped back; never resized).

    Parameters
    ----------
    dim, width, depth : C, transformer width d and number of layers L.
    patch : (ph, pw) patch size.
    heads, head_dim : attention heads; ``head_dim`` defaults to ``width // heads``.
    mlp_hidden : transformer MLP width (default ``2 * width``).
    qkv_bias : bias in the q/k/v projection (ml-cvnets: yes; Mobile-SRViT: no).
    final_norm : LayerNorm after the transformer stack (ml-cvnets: yes; Mobile-SRViT: no).
    local_proj_norm : BN + SiLU after the 1x1 C→d projection (Mobile-SRViT: yes; ml-cvnets: no).
    """

    def __init__(self, dim, width, depth=2, patch=(2, 2), heads=4, head_dim=None, mlp_hidden=None,
                 qkv_bias=True, final_norm=True, local_proj_norm=False, kernel_size=3):
        super().__init__()
        self.patch = (int(patch[0]), int(patch[1])) if not isinstance(patch, int) else (patch, patch)
        self.conv_kxk = ConvNorm(dim, dim, kernel_size, act=nn.SiLU)
        self.conv_1x1 = (ConvNorm(dim, width, 1, act=nn.SiLU) if local_proj_norm
                         else nn.Conv2d(dim, width, 1, bias=False))
        self.transformer = nn.Sequential(*[
            TransformerLayer(width, heads, mlp_hidden or 2 * width, head_dim=head_dim,
                             qkv_bias=qkv_bias, act=nn.SiLU) for _ in range(depth)])
        self.norm = nn.LayerNorm(width) if final_norm else nn.Identity()
        self.conv_proj = ConvNorm(width, dim, 1, act=nn.SiLU)
        self.conv_fusion = ConvNorm(2 * dim, dim, kernel_size, act=nn.SiLU)

    def forward(self, x):
        shortcut = x
        y = self.conv_1x1(self.conv_kxk(x))
        ph, pw = self.patch
        y, (H, W) = pad_to_multiple(y, ph, pw)
        B, _, Hp, Wp = y.shape
        t = self.norm(self.transformer(unfold_patches(y, ph, pw)))
        y = fold_patches(t, B, Hp, Wp, ph, pw)[..., :H, :W]
        return self.conv_fusion(torch.cat((shortcut, self.conv_proj(y)), dim=1))
