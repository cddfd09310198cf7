"""Shared efficient-ViT block library used by the super-resolution networks and the vision
module alike. Every block takes NCHW tensors (token blocks: (B, L, D)), accepts any H x W and
runs in plain PyTorch on CPU; foldable blocks expose ``fuse()`` (see :func:`reparameterize`).

Blocks and their papers
-----------------------
- :mod:`.layers` — ConvNorm, BNLinear, Residual, FFN, SqueezeExcite, norms, PatchMerging, stems, MV2
- :mod:`.attention` — multi-head (cross-)attention and the pre-norm transformer layer
- :mod:`.mobilevit` — MobileViT block (ICLR 2022)
- :mod:`.shvit` — SHViT single-head attention (CVPR 2024)
- :mod:`.efficientvim` — EfficientViM HSM-SSD (CVPR 2025)
- :mod:`.semantic_tokens` — STViT-R semantic tokens and recovery (CVPR 2023)
- :mod:`.token_recycling` — TORE iterator/aggregator token cache (arXiv 2311.15335)
"""

from .attention import Attention, LayerScale, Mlp, TransformerLayer
from .efficientvim import HSMSSD, EfficientViMBlock
from .fuse import reparameterize
from .layers import (FFN, BNLinear, ConvNorm, DropPath, GroupNorm1, InvertedResidual, LayerNorm2d,
                     PatchMerging, Residual, SqueezeExcite, Stem16, fold_identity_into_depthwise,
                     make_divisible, pad_to_multiple)
from .mobilevit import MobileViTBlock, fold_patches, unfold_patches
from .semantic_tokens import SemanticTokenAttention, SemanticTokenGenerator, TokenRecovery
from .shvit import SHSA, SHViTBlock, partial_dim
from .token_recycling import TokenRecycler, grid_divisions

__all__ = [
    "Attention", "LayerScale", "Mlp", "TransformerLayer", "HSMSSD", "EfficientViMBlock",
    "reparameterize", "FFN", "BNLinear", "ConvNorm", "DropPath", "GroupNorm1", "InvertedResidual",
    "LayerNorm2d", "PatchMerging", "Residual", "SqueezeExcite", "Stem16",
    "fold_identity_into_depthwise", "make_divisible", "pad_to_multiple", "MobileViTBlock",
    "fold_patches", "unfold_patches", "SemanticTokenAttention", "SemanticTokenGenerator",
    "TokenRecovery", "SHSA", "SHViTBlock", "partial_dim", "TokenRecycler", "grid_divisions",
]
