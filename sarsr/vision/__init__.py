"""Recognition on radar images with the shared backbones: object classes, a recognition
dataset (EMPM or EMPM + SR inputs), classification training through the shared trainer
(``task = "classification"``), prediction, and progressive recognition with TORE."""

from .objects import OBJECT_CLASSES, object_mask

__all__ = ["OBJECT_CLASSES", "object_mask", "predict", "load_classifier"]


def load_classifier(path, device=None):
    """A trained classifier from a run's ``model.pt`` / ``best.pt`` / ``last.pt``."""
    from pathlib import Path

    import torch

    from ..checkpoint import CheckpointError, load_checkpoint
    from ..models import create_model, model_state
    from ..train import run_config

    p = Path(path)
    ck = load_checkpoint(p)
    cfg = ck["config"] if isinstance(ck, dict) and "config" in ck else run_config(p.parent)
    state = model_state(ck)
    net = create_model(cfg["model"]["name"], in_chans=1, num_classes=len(OBJECT_CLASSES), **cfg["model"]["options"])
    try:
        net.load_state_dict(state)
    except (RuntimeError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"{p}: weights do not fit model {cfg['model']['name']!r} "
                              f"({str(exc).splitlines()[0][:160]})") from None
    net.eval()
    net.sarsr_config = cfg
    return net.to(device or "cpu")


def predict(image, model, size=None) -> dict:
    """Class probabilities for one radar image (complex or magnitude). ``model``: a trained
    classifier (module or checkpoint path). Returns ``{"class": name, "probabilities": {...}}``."""
    import torch

    from ..data.torch_dataset import preprocess_input

    net = load_classifier(model) if not isinstance(model, torch.nn.Module) else model.eval()
    cfg = getattr(net, "sarsr_config", {"data": {"size": size, "sr_model": ""}})
    size = size if size is not None else cfg["data"]["size"]
    if cfg["data"].get("sr_model"):
        from .dataset import sr_input

        x = sr_input(image, cfg["data"]["sr_model"], size)
    else:
        x = preprocess_input(image, size)
    with torch.no_grad():
        p = torch.softmax(net(x[None].to(next(net.parameters()).device)), -1)[0].cpu().numpy()
    return {"class": OBJECT_CLASSES[int(p.argmax())], "probabilities": dict(zip(OBJECT_CLASSES, map(float, p)))}
