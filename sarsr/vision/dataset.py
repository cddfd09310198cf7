"""Recognition dataset: (image, class id) pairs from a generated recognition scenario.

Inputs follow the SR preprocessing (``sarsr.data.torch_dataset``): |EMPM|, bilinear resize to
``size``, divided by the image maximum. With ``sr_model`` the EMPM image is first
super-resolved (:func:`sarsr.super_resolve` on the 256 x 256 grid the network was trained on,
then resized to ``size``), so the classifier sees SR output in [0, 1];
super-resolved images are cached in memory per record.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.torch_dataset import SARDataset, preprocess_input, resize_image

#: Grid the SR network runs on before the classifier's resize (the paper's 256 x 256).
SR_GRID = 256

__all__ = ["RecognitionDataset"]


class RecognitionDataset(SARDataset):
    """Items ``(x (1, S, S) float32, class_id int64)``; random flips / 90° rotations when
    ``train`` (object classes are rotation-invariant by construction)."""

    def __init__(self, root, source="empm", size=None, train=False, indices=None, sr_model=None, seed=0):
        super().__init__(root, source, size, train=False, indices=indices, seed=seed)
        self.train_aug, self.sr_model = train, sr_model or None
        self._sr_cache: dict = {}
        name = self._shards[0][0]
        if "class_id" not in self._file(name):
            raise ValueError(f"{root}: no class_id stored; generate a recognition scenario "
                             f"(e.g. `sarsr dataset recognition ...`)")

    def record(self, i: int):
        name, j = self._locate(int(i))
        f = self._file(name)
        return f[self.source][j], int(f["class_id"][j])

    def __getitem__(self, k):
        rng = self._rng
        if isinstance(k, tuple):
            k, seed = k
            rng = np.random.default_rng(seed)
        i = int(self.indices[k])
        img, cls = self.record(i)
        if self.sr_model:
            if i not in self._sr_cache:
                from ..sr import super_resolve

                # the network runs on the grid it was trained on (256); the classifier's size after
                sr = super_resolve(img, self.sr_model, size=SR_GRID, keep_size=False)
                self._sr_cache[i] = resize_image(torch.from_numpy(sr)[None], self.size)
            x = self._sr_cache[i].clone()
        else:
            x = preprocess_input(img, self.size)
        if self.train_aug:
            x = torch.rot90(x, int(rng.integers(4)), dims=(-2, -1))
            if rng.random() < 0.5:
                x = x.flip(-1)
        return x.contiguous(), torch.tensor(cls, dtype=torch.int64)
