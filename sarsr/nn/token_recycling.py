"""TORE token recycling (Olszewski et al., "TORE: Token Recycling in Vision Transformers for
Efficient Active Visual Exploration", arXiv 2311.15335).

A token ViT of depth D is split at K into an *iterator* (blocks[:K]) and an *aggregator*
(blocks[K:]). Each newly arrived piece of the image (a set of patch positions) runs through the
iterator alone, once; its output tokens are cached. On every arrival only the aggregator is
re-run over [mean of the pieces' class tokens; all cached tokens].

The wrapped model must provide the token-ViT interface of :class:`sarsr.models.vit.VisionTransformer`:
``patch_grid(H, W)``, ``embed_patches(x, ids)``, ``class_token()``, ``blocks`` and
``head_from_tokens(tokens)``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TokenRecycler", "grid_divisions"]


def grid_divisions(gh: int, gw: int, rows: int, cols: int) -> list[torch.Tensor]:
    """Split a gh x gw patch grid into rows x cols rectangles; returns boolean masks (gh, gw)."""
    masks = []
    r_edges = torch.linspace(0, gh, rows + 1).round().long()
    c_edges = torch.linspace(0, gw, cols + 1).round().long()
    for i in range(rows):
        for j in range(cols):
            m = torch.zeros(gh, gw, dtype=torch.bool)
            m[r_edges[i]:r_edges[i + 1], c_edges[j]:c_edges[j + 1]] = True
            if m.any():
                masks.append(m)
    return masks


class TokenRecycler(nn.Module):
    """Iterator/aggregator wrapper with a token cache.

    >>> rec = TokenRecycler(model, split=8)
    >>> rec.reset()
    >>> for image, mask in pieces:       # mask: (gh, gw) bool over the patch grid
    ...     logits = rec.add(image, mask)  # iterator on this piece only, aggregator on all
    """

    def __init__(self, model: nn.Module, split: int):
        super().__init__()
        depth = len(model.blocks)
        if not 0 <= split <= depth:
            raise ValueError(f"split must be in [0, {depth}], got {split}")
        self.model, self.split = model, int(split)
        self.iterator_calls = 0
        self.reset()

    def reset(self):
        """Forget every cached piece."""
        self._cls_sum = None
        self._tokens: list[torch.Tensor] = []
        self._n = 0

    @property
    def num_cached_tokens(self) -> int:
        return sum(t.shape[1] for t in self._tokens)

    def _iterate(self, x, mask):
        gh, gw = self.model.patch_grid(*x.shape[-2:])
        if mask.shape != (gh, gw):
            raise ValueError(f"mask shape {tuple(mask.shape)} != patch grid {(gh, gw)}")
        ids = mask.flatten().nonzero()[:, 0].to(x.device)
        if ids.numel() == 0:
            raise ValueError("empty piece: mask selects no patch")
        t = self.model.embed_patches(x, ids)
        cls = self.model.class_token().expand(x.shape[0], -1, -1)
        t = torch.cat((cls, t), dim=1)
        for blk in self.model.blocks[: self.split]:
            t = blk(t)
        self.iterator_calls += 1
        return t[:, :1], t[:, 1:]

    def _aggregate(self, cls, tokens):
        t = torch.cat([cls] + tokens, dim=1)
        for blk in self.model.blocks[self.split:]:
            t = blk(t)
        return self.model.head_from_tokens(t)

    def add(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Feed one new piece: ``x`` (B, C, H, W) image (only the masked patches are read),
        ``mask`` (gh, gw) bool. Returns logits using every piece seen since :meth:`reset`."""
        cls, tok = self._iterate(x, mask)
        self._cls_sum = cls if self._cls_sum is None else self._cls_sum + cls
        self._n += 1
        self._tokens.append(tok)
        return self._aggregate(self._cls_sum / self._n, self._tokens)

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        """Batched path (training): all ``masks`` as pieces of ``x`` at once; equals calling
        :meth:`add` for each mask in turn after :meth:`reset` (last output)."""
        outs = [self._iterate(x, m) for m in masks]
        cls = torch.stack([c for c, _ in outs]).mean(0)
        return self._aggregate(cls, [t for _, t in outs])
