"""Dense (per-pixel) recognition through the STViT-R recovery path.

Targets come from the stored scene description: the object's own ideal image (its scatterers
alone, :func:`sarsr.radar.label_image`) above half its plateau is the object (class id + 1);
everything else, clutter points included, is background (0).
"""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from ..train.tasks import register_task
from .dataset import RecognitionDataset
from .objects import OBJECT_CLASSES
from .task import ClassificationTask
from .. import radar

__all__ = ["dense_target", "DenseRecognitionDataset", "SegmentationTask", "pixel_scores"]


def dense_target(scene_json: str, class_id: int, n: int, extent: float) -> np.ndarray:
    """Per-pixel class map (n, n) int64 on the scenario grid (pixels over [-extent, extent) m,
    indexed [ix, iy] like the images): 0 background, ``class_id + 1`` on the object."""

    objs = [o for o in json.loads(scene_json) if o.get("kind") == "shape"]
    if not objs:
        raise ValueError("scene has no object (kind = 'shape') to segment")
    d = objs[0]
    obj = radar.shape_scene(d["shape"], center=d["center"], size=d["size"], rotation=d["rotation"],
                            z0=d["z0"], spacing=d["spacing"], plateau=d["plateau"])
    lab = radar.label_image(obj, radar.image_grid(n=n, extent=extent, z=d["z0"]))
    return np.where(lab > 0.5 * d["plateau"], int(class_id) + 1, 0).astype(np.int64)


class DenseRecognitionDataset(RecognitionDataset):
    """Items ``(x (1, S, S) float32, target (S, S) int64)`` with the same preprocessing and
    augmentation (flips, 90° rotations, applied to both) as :class:`RecognitionDataset`."""

    def __getitem__(self, k):
        rng, k = self._rng_and_position(k)
        i = int(self.indices[k])
        name, j = self._locate(i)
        f = self._file(name)
        g = self.manifest["scenario_config"]["grid"]
        t = torch.from_numpy(dense_target(f["scene_json"][j], int(f["class_id"][j]), g["n"], g["extent_m"]))
        if self.size is not None and t.shape[-1] != self.size:
            t = F.interpolate(t[None, None].float(), size=(self.size, self.size), mode="nearest")[0, 0].long()
        x, t = self._augment(rng, self._input(i, f[self.source][j]), t)
        return x.contiguous(), t.contiguous()


@torch.no_grad()
def pixel_scores(model, dataset, device, batch_size=8) -> dict:
    """Pixel accuracy and mean IoU over the classes present (background included)."""
    was = model.training
    model.eval()
    n_cls = len(OBJECT_CLASSES) + 1
    conf = torch.zeros(n_cls, n_cls, dtype=torch.int64)
    for i in range(0, len(dataset), batch_size):
        xs, ts = zip(*(dataset[j] for j in range(i, min(len(dataset), i + batch_size))))
        pred = model(torch.stack(xs).to(device)).argmax(1).cpu()
        t = torch.stack(ts)
        conf += torch.bincount(t.flatten() * n_cls + pred.flatten(), minlength=n_cls * n_cls).reshape(n_cls, n_cls)
    model.train(was)
    tp = conf.diag().double()
    union = conf.sum(0).double() + conf.sum(1).double() - tp
    present = conf.sum(1) > 0
    return {"pixel_acc": float(tp.sum() / conf.sum().clamp(min=1)),
            "miou": float((tp[present] / union[present].clamp(min=1)).mean())}


@register_task("segmentation")
class SegmentationTask(ClassificationTask):
    """Per-pixel cross-entropy on (image, class map); validation mean IoU (primary). Same data
    split and SR option as :class:`ClassificationTask`; no sweep training."""

    primary = "val_miou"
    metrics = ("val_miou", "val_pixel_acc")
    dataset_cls = DenseRecognitionDataset

    def model_kwargs(self):
        return {"in_chans": 1, "num_classes": len(OBJECT_CLASSES) + 1}

    def forward(self, net, model, x, step: int):
        return net(x)

    def validate(self, model, val_ds, dev) -> dict:
        s = pixel_scores(model, val_ds, dev)
        return {"val_miou": s["miou"], "val_pixel_acc": s["pixel_acc"]}
