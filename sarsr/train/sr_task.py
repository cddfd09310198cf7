"""The super-resolution task of the trainer (``task = "super_resolution"``, the default):
:class:`~sarsr.data.SARDataset` pairs, a pixel loss (:mod:`sarsr.train.losses`), validation
PSNR (primary), SSIM and the point-target scores of :mod:`sarsr.metrics`."""

from __future__ import annotations

from ..data import SARDataset, read_manifest
from .losses import get_loss
from .tasks import register_task
from .trainer import validate

__all__ = ["SRTask", "sr_score"]


@register_task("super_resolution")
class SRTask:
    """Super-resolution: SARDataset pairs, pixel loss, validation PSNR (primary) and SSIM."""

    primary = "val_psnr"
    #: validation metrics (``log.csv`` columns); ``val_score`` = PSNR (dB) + 10 x point recall
    #: - min(false points per image, 4): one unit per dB, per 10 % of points, per false point
    metrics = ("val_psnr", "val_ssim", "val_point_recall", "val_point_ratio", "val_false_points", "val_score")

    def __init__(self, cfg):
        self.cfg = cfg
        self.loss = get_loss(cfg["train"]["loss"], cfg["train"]["loss_options"])

    def model_kwargs(self):
        return {"in_chans": 2 if self.cfg["data"]["complex_input"] else 1}

    def datasets(self):
        d = self.cfg["data"]
        n_total = read_manifest(d["train"])["count"]
        n_val = min(d["val_count"], n_total - 1)
        if d["val_count"] < 1:
            raise ValueError(f"data.val_count must be >= 1, got {d['val_count']}")
        train_ds = SARDataset(d["train"], d["source"], d["size"], train=True, crop=d["crop"] or None,
                              indices=range(n_val, n_total), complex_input=d["complex_input"], verify=d["verify"], label=d["label"])
        val_ds = SARDataset(d["train"], d["source"], d["size"], indices=range(n_val),
                            complex_input=d["complex_input"], verify=False, label=d["label"])
        return train_ds, val_ds

    def validate(self, model, val_ds, dev) -> dict:
        vp, vs, pts = validate(model, val_ds, dev, points=True)
        return {"val_psnr": vp, "val_ssim": vs, "val_point_recall": pts["point_recall"],
                "val_point_ratio": pts["point_amplitude_ratio"], "val_false_points": pts["false_points"],
                "val_score": sr_score(vp, pts["point_recall"], pts["false_points"])}


def sr_score(psnr_db: float, point_recall: float, false_points: float) -> float:
    """Checkpoint-selection score of a super-resolution network (higher is better): PSNR in dB
    + 10 x point recall (0-1) - min(false points per image, 4). ``nan`` recall (no label
    points) counts as 0."""
    recall = 0.0 if point_recall != point_recall else point_recall
    return float(psnr_db + 10.0 * recall - min(false_points, 4.0))
