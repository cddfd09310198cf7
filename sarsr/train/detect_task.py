"""The point-detection task of the trainer (``task = "point_detection"``): the same
:class:`~sarsr.data.SARDataset` pairs as super-resolution (input image, label rendered on the
working grid), per-pixel logits trained with ``point_bce`` against the label's isolated point
targets (:func:`sarsr.train.losses.point_mask`), validated by detection recall and false
detections per image (:func:`sarsr.metrics.detection_metrics`, probability > 0.5).

The detector it trains (:mod:`sarsr.models.detect`) lets :func:`sarsr.sr.super_resolve` put back
only the erased input peaks that are point targets."""

from __future__ import annotations

import numpy as np
import torch

from .sr_task import SRTask
from .tasks import register_task
from .. import metrics

__all__ = ["PointDetectionTask", "detection_score"]


def detection_score(recall: float, false_detections: float) -> float:
    """Checkpoint-selection score of a point detector (higher is better): 10 x detection recall
    (0-1) - false detections per image; ``nan`` recall counts as 0."""
    recall = 0.0 if recall != recall else recall
    return float(10.0 * recall - false_detections)


@register_task("point_detection")
class PointDetectionTask(SRTask):
    """Point detection on super-resolution datasets (``loss = "point_bce"``)."""

    primary = "val_score"
    metrics = ("val_bce", "val_detection_recall", "val_false_detections", "val_score")

    @torch.no_grad()
    def validate(self, model, val_ds, dev, batch_size: int = 8) -> dict:
        was = model.training
        model.eval()
        losses, rows = [], []
        for i in range(0, len(val_ds), batch_size):
            xs, ys = zip(*(val_ds[j] for j in range(i, min(len(val_ds), i + batch_size))))
            y = torch.stack(ys)
            logits = model(torch.stack(xs).to(dev)).float().cpu()
            losses.append(float(self.loss(logits, y)) * len(xs))
            prob = torch.sigmoid(logits).numpy()
            rows += [metrics.detection_metrics(p[0], t[0].numpy()) for p, t in zip(prob, y)]
        model.train(was)
        s = metrics.summarize_detections(rows)
        return {"val_bce": float(np.sum(losses) / len(val_ds)), "val_detection_recall": s["detection_recall"],
                "val_false_detections": s["false_detections"],
                "val_score": detection_score(s["detection_recall"], s["false_detections"])}
