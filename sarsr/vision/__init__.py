"""Recognition on radar images with the shared backbones: object classes, a recognition
dataset (EMPM or EMPM + SR inputs), classification training through the shared trainer
(``task = "classification"``), prediction, and progressive recognition with TORE."""

from .objects import OBJECT_CLASSES, object_mask

__all__ = ["OBJECT_CLASSES", "object_mask", "predict", "load_classifier"]


def load_classifier(path, device=None, tasks=("classification", "segmentation")):
    """A trained classifier (or dense model) from a run's ``model.pt`` / ``best.pt`` /
    ``last.pt``, in eval mode, with its run config as ``net.sarsr_config``. A checkpoint of a
    task not in ``tasks`` (e.g. a super-resolution run) is refused in one line."""
    from ..models import parse_spec, resolve  # lazy: `sarsr.vision` names load without torch

    if parse_spec(path)[0] != "file":  # classifiers ship no weights: a bare name is a file here
        path = f"file:{path}"
    return resolve(path, tasks, device)


def predict(image, model, size=None) -> dict:
    """Class probabilities for one radar image (complex or magnitude). ``model``: a trained
    classifier (module or checkpoint path). Returns ``{"class": name, "probabilities": {...}}``."""
    import torch

    from ..data.torch_dataset import preprocess_input  # lazy: `sarsr.vision` names load without torch

    net = load_classifier(model, tasks=("classification",)) if not isinstance(model, torch.nn.Module) else model.eval()
    cfg = getattr(net, "sarsr_config", {"data": {"size": size, "sr_model": ""}})
    size = size if size is not None else cfg["data"]["size"]
    if cfg["data"].get("sr_model"):
        from .dataset import sr_input  # lazy: `sarsr.vision` names load without torch

        x = sr_input(image, cfg["data"]["sr_model"], size)
    else:
        x = preprocess_input(image, size)
    with torch.no_grad():
        p = torch.softmax(net(x[None].to(next(net.parameters()).device)), -1)[0].cpu().numpy()
    return {"class": OBJECT_CLASSES[int(p.argmax())], "probabilities": dict(zip(OBJECT_CLASSES, map(float, p)))}
