"""Classification task for the shared trainer (``task = "classification"`` in a config)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data import read_manifest
from ..train.tasks import register_task
from .dataset import RecognitionDataset
from .objects import OBJECT_CLASSES
from ..nn import TokenRecycler
from .progressive import sweep_masks

__all__ = ["ClassificationTask", "accuracy"]


@torch.no_grad()
def accuracy(model, dataset, device, batch_size=16) -> float:
    """Top-1 accuracy of ``model`` over ``dataset``."""
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(dataset), batch_size):
        xs, ys = zip(*(dataset[j] for j in range(i, min(len(dataset), i + batch_size))))
        pred = model(torch.stack(xs).to(device)).argmax(-1).cpu()
        correct += int((pred == torch.stack(ys)).sum())
    model.train(was)
    return correct / max(1, len(dataset))


@register_task("classification")
class ClassificationTask:
    """Cross-entropy on (image, class id); validation top-1 accuracy (primary)."""

    primary = "val_acc"
    metrics = ("val_acc",)

    def __init__(self, cfg):
        self.cfg = cfg

    def model_kwargs(self):
        return {"in_chans": 1, "num_classes": len(OBJECT_CLASSES)}

    @staticmethod
    def loss(logits, target):
        return F.cross_entropy(logits, target)

    dataset_cls = RecognitionDataset

    def datasets(self):
        """(train, validation) datasets: the first ``data.val_count`` records validate."""
        d = self.cfg["data"]
        if d["extra_train"]:
            raise ValueError("data.extra_train: the recognition task trains on data.train alone")
        n_total = read_manifest(d["train"])["count"]
        n_val = min(d["val_count"], n_total - 1)
        sr = d["sr_model"] or None
        train_ds = self.dataset_cls(d["train"], d["source"], d["size"], train=True,
                                    indices=np.arange(n_val, n_total), sr_model=sr)
        val_ds = self.dataset_cls(d["train"], d["source"], d["size"], indices=np.arange(n_val), sr_model=sr)
        return train_ds, val_ds

    def forward(self, net, model, x, step: int):
        """Training forward. With ``data.sweep_training = p`` and a token ViT, a fraction p of
        the batches sees only the first k of 4 sweep strips (k uniform in 1..3) through the
        token recycler, so the classifier learns to answer on a partial sweep (TORE)."""
        p = self.cfg["data"]["sweep_training"]
        if p > 0 and hasattr(model, "patch_grid"):
            rng = np.random.default_rng([self.cfg["train"]["seed"], step])
            if rng.random() < p:
                masks = sweep_masks(*model.patch_grid(*x.shape[-2:]), 4)
                return TokenRecycler(model, len(model.blocks) // 2)(x, masks[: int(rng.integers(1, len(masks)))])
        return net(x)

    def validate(self, model, val_ds, dev) -> dict:
        return {"val_acc": accuracy(model, val_ds, dev)}
