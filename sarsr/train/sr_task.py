"""The super-resolution task of the trainer (``task = "super_resolution"``, the default):
:class:`~sarsr.data.SARDataset` pairs, a pixel loss (:mod:`sarsr.train.losses`), validation
PSNR (primary), SSIM and the point-target scores of :mod:`sarsr.metrics`."""

from __future__ import annotations

from ..data import ConcatSARDataset, SARDataset, read_manifest
from .losses import WithPointHead, get_loss
from .tasks import register_task
from .trainer import validate

__all__ = ["SRTask", "sr_score", "replaces"]


@register_task("super_resolution")
class SRTask:
    """Super-resolution: SARDataset pairs, pixel loss, validation PSNR (primary) and SSIM."""

    primary = "val_psnr"
    #: validation metrics (``log.csv`` columns); ``val_score`` = PSNR (dB) + 10 x point recall
    #: - min(false points per image, 4): one unit per dB, per 10 % of points, per false point
    metrics = ("val_psnr", "val_ssim", "val_point_recall", "val_point_ratio", "val_false_points", "val_score")

    #: extra columns of a network with a point head (``model.options.point_head`` > 0): the
    #: image head alone and the decoded detections (the columns above score the default output)
    point_head_metrics = ("val_net_psnr", "val_net_point_recall", "val_net_false_points", "val_detection_recall",
                          "val_false_detections")

    def __init__(self, cfg):
        self.cfg = cfg
        self.loss = get_loss(cfg["train"]["loss"], cfg["train"]["loss_options"])
        self.point_head = bool(cfg["model"]["options"].get("point_head", 0))
        if self.point_head:
            self.loss = WithPointHead(self.loss, cfg["train"].get("point_loss") or {})
            self.metrics = type(self).metrics + self.point_head_metrics

    def model_kwargs(self):
        return {"in_chans": 2 if self.cfg["data"]["complex_input"] else 1}

    def datasets(self):
        d = self.cfg["data"]
        n_total = read_manifest(d["train"])["count"]
        n_val = min(d["val_count"], n_total - 1)
        if d["val_count"] < 1:
            raise ValueError(f"data.val_count must be >= 1, got {d['val_count']}")
        opts = dict(train=True, crop=d["crop"] or None, complex_input=d["complex_input"], verify=d["verify"],
                    label=d["label"])
        train_ds = SARDataset(d["train"], d["source"], d["size"], indices=range(n_val, n_total), **opts)
        if d["extra_train"]:  # every record of each further folder trains
            train_ds = ConcatSARDataset([train_ds] + [SARDataset(p, d["source"], d["size"], **opts)
                                                      for p in d["extra_train"]])
        val_ds = SARDataset(d["train"], d["source"], d["size"], indices=range(n_val),
                            complex_input=d["complex_input"], verify=False, label=d["label"])
        return train_ds, val_ds

    def validate(self, model, val_ds, dev) -> dict:
        vp, vs, pts, extra = validate(model, val_ds, dev, points=True, details=True)
        res = {"val_psnr": vp, "val_ssim": vs, "val_point_recall": pts["point_recall"],
               "val_point_ratio": pts["point_amplitude_ratio"], "val_false_points": pts["false_points"],
               "val_score": sr_score(vp, pts["point_recall"], pts["false_points"])}
        if extra:
            res.update({"val_net_psnr": extra["net_psnr"], "val_net_point_recall": extra["net_point_recall"],
                        "val_net_false_points": extra["net_false_points"],
                        "val_detection_recall": extra["detection_recall"],
                        "val_false_detections": extra["false_detections"]})
        return res


def sr_score(psnr_db: float, point_recall: float, false_points: float) -> float:
    """Checkpoint-selection score of a super-resolution network (higher is better): PSNR in dB
    + 10 x point recall (0-1) - min(false points per image, 4). ``nan`` recall (no label
    points) counts as 0."""
    recall = 0.0 if point_recall != point_recall else point_recall
    return float(psnr_db + 10.0 * recall - min(false_points, 4.0))


def replaces(candidate: dict, shipped: dict, recall_tolerance: float = 0.01,
             ratio_tolerance: float = 0.02, min_gain: float = 0.1) -> tuple[bool, str]:
    """The shipping rule: does ``candidate`` replace the ``shipped`` network?

    Both are score rows of one validation set and grid (:func:`sarsr.train.evaluate.evaluate`
    rows: ``psnr_db``, ``point_recall`` (0-1), ``kept_amplitude_ratio`` (0-1, median peak / true
    amplitude over the recovered points), ``false_points`` per image). The candidate replaces the
    shipped network when its :func:`sr_score` is higher by at least ``min_gain`` (about one
    standard error of the score's recall term on 256 validation scans, so that noise does not
    swap networks) *and* it keeps the points: its point
    recall and the amplitude of the points it keeps fall by no more than ``recall_tolerance``
    and ``ratio_tolerance``. The score alone can be won with a cleaner background while points
    are lost or dimmed, the opposite of what screening users need. (The median ratio over *all*
    points is no guard: below half recall it is an erased point's residue, and a network that
    erases more cleanly "loses" it: measured 0.01 against 0.07 at equal recall.)

    Returns ``(decision, reason)``, the reason one line naming the numbers that decided. Recall
    and ratio may be NaN (a set without point targets, or none recovered: no veto); a missing
    PSNR or false-point count raises ValueError.
    """
    def get(row, key, required=True):
        v = row.get(key)
        if v is None or v != v:
            if required:
                raise ValueError(f"replaces: score row without a finite {key!r}: {row.get('method', row)}")
            return float("nan")
        return float(v)

    rc, rs = get(candidate, "point_recall", False), get(shipped, "point_recall", False)
    ac, as_ = get(candidate, "kept_amplitude_ratio", False), get(shipped, "kept_amplitude_ratio", False)
    sc = sr_score(get(candidate, "psnr_db"), rc, get(candidate, "false_points"))
    ss = sr_score(get(shipped, "psnr_db"), rs, get(shipped, "false_points"))
    nums = f"score {sc:.2f} vs {ss:.2f}, recall {rc:.3f} vs {rs:.3f}, kept-point amplitude {ac:.3f} vs {as_:.3f}"
    # NaN (a validation set without point targets) compares False: nothing to keep, no veto
    if rc < rs - recall_tolerance:
        return False, f"keeps fewer points ({nums}; recall may fall by at most {recall_tolerance})"
    if ac < as_ - ratio_tolerance:
        return False, f"keeps its points dimmer ({nums}; kept-point amplitude may fall by at most {ratio_tolerance})"
    if sc < ss + min_gain:
        return False, f"scores not higher by {min_gain} ({nums})"
    return True, f"replaces it ({nums})"
