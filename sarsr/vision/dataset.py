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

from ..radar.imaging.imagers import DEFAULT_INPUT
from ..data.torch_dataset import SARDataset
from ..transforms import WORKING_SIZE, preprocess_input, resize_image
from ..sr import load_sr_model, super_resolve

#: Grid the SR network runs on before the classifier's resize (the paper's 256 x 256).
SR_GRID = WORKING_SIZE

__all__ = ["RecognitionDataset"]


class RecognitionDataset(SARDataset):
    """Items ``(x (1, S, S) float32, class_id int64)``; random flips / 90° rotations when
    ``train`` (object classes are rotation-invariant by construction)."""

    supports_preload = False  # items are built from the record, not from SARDataset.item

    def __init__(self, root, source=DEFAULT_INPUT, size=None, train=False, indices=None, sr_model=None, seed=0):
        super().__init__(root, source, size, train=False, indices=indices, seed=seed)
        # resolved here, in the main process, so a missing or broken checkpoint is one clear error
        # before any worker starts (and the workers get the loaded network)
        self.train_aug, self.sr_model = train, (load_sr_model(sr_model) if sr_model else None)
        self._sr_cache: dict = {}
        name = self._shards[0][0]
        if "class_id" not in self._file(name):
            raise ValueError(f"{root}: no class_id stored; generate a recognition scenario "
                             f"(e.g. `sarsr dataset recognition ...`)")

    def record(self, i: int):
        name, j = self._locate(int(i))
        f = self._file(name)
        return f[self.source][j], int(f["class_id"][j])

    def _rng_and_position(self, k):
        """``k`` is a position or a ``(position, augmentation_seed)`` pair (StepBatchSampler)."""
        if isinstance(k, tuple):
            return np.random.default_rng(k[1]), k[0]
        return self._rng, k

    def _input(self, i: int, img) -> torch.Tensor:
        """Classifier input (1, S, S) of record ``i`` (``img``: its stored image)."""
        if not self.sr_model:
            return preprocess_input(img, self.size)
        if i not in self._sr_cache:
            self._sr_cache[i] = sr_input(img, self.sr_model, self.size)
        return self._sr_cache[i].clone()

    def _augment(self, rng, *tensors):
        """The same random 90° rotation and horizontal flip applied to every tensor (training only)."""
        if not self.train_aug:
            return tensors
        r = int(rng.integers(4))
        tensors = [torch.rot90(t, r, dims=(-2, -1)) for t in tensors]
        if rng.random() < 0.5:
            tensors = [t.flip(-1) for t in tensors]
        return tensors

    def __getitem__(self, k):
        rng, k = self._rng_and_position(k)
        i = int(self.indices[k])
        img, cls = self.record(i)
        (x,) = self._augment(rng, self._input(i, img))
        return x.contiguous(), torch.tensor(cls, dtype=torch.int64)


def sr_input(image, sr_model, size) -> torch.Tensor:
    """Super-resolved classifier input (1, size, size): the SR network runs on the 256 x 256 grid
    it was trained on (:data:`SR_GRID`), then the result is resized to ``size``."""
    sr = super_resolve(image, sr_model, size=SR_GRID, keep_size=False, keep_input_points=False)  # the network's view, as trained
    return resize_image(torch.from_numpy(sr)[None], size)
