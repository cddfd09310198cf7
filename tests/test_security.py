"""Model files never run code: every documented path that loads a checkpoint or weights file
refuses a crafted pickle (``__reduce__`` payload) before it executes, with a one-line error."""

import os

import pytest
import torch

from sarsr.checkpoint import CheckpointError, load_checkpoint


class _Payload:
    """Pickles to a call of ``os.makedirs(marker)``: the marker folder appears iff it ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _evil(path, marker, stealth=False):
    """A .pt whose unpickling creates ``marker``. ``stealth``: a normal-looking training
    checkpoint (model weights, config) with the payload tucked inside."""
    if stealth:
        obj = {"model": {"w": torch.zeros(2)}, "step": 1, "config": {"x": _Payload(marker)}}
    else:
        obj = _Payload(marker)
    torch.save(obj, path)
    return path


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "PWNED"
    return tmp_path, marker


def test_load_checkpoint_refuses_payload(evil):
    tmp, marker = evil
    for stealth in (False, True):
        p = _evil(tmp / f"m{stealth}.pt", marker, stealth)
        with pytest.raises(CheckpointError, match="refused"):
            load_checkpoint(p)
    assert not marker.exists()


def test_load_checkpoint_plain_weights_and_bad_files(tmp_path):
    torch.save({"model": {"w": torch.ones(3)}, "step": 4, "config": {"a": [1, 2.0, "s", (1, 2)]}}, tmp_path / "ok.pt")
    assert load_checkpoint(tmp_path / "ok.pt")["step"] == 4
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    for name in ("empty.pt", "junk.pt"):
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(tmp_path / name)
        assert "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_sr_paths_refuse_payload(evil, monkeypatch):
    """super_resolve / load_sr_model (argument and SARSR_SR_MODEL), and a run folder whose
    last.pt is crafted while best.pt is fine."""
    import numpy as np

    import sarsr
    from sarsr.sr import _CACHE, load_sr_model

    tmp, marker = evil
    p = _evil(tmp / "model.pt", marker)
    with pytest.raises(CheckpointError):
        sarsr.super_resolve(np.ones((8, 8)), model=str(p))
    monkeypatch.setenv("SARSR_SR_MODEL", str(p))
    _CACHE.clear()
    with pytest.raises(CheckpointError):
        load_sr_model(None)
    monkeypatch.delenv("SARSR_SR_MODEL")
    run = tmp / "run"
    run.mkdir()
    torch.save({"w": torch.zeros(1)}, run / "best.pt")
    (run / "config.toml").write_text("name = 'x'\n[model]\nname = 'sr_cnn'\n[data]\ntrain = 'x'\n")
    _evil(run / "last.pt", marker, stealth=True)
    with pytest.raises(CheckpointError):
        load_sr_model(str(run / "best.pt"))
    assert not marker.exists()


def test_train_export_vision_paths_refuse_payload(evil):
    from sarsr.train import export_weights, run_config
    from sarsr.train.trainer import _init_weights
    from sarsr.vision import load_classifier

    tmp, marker = evil
    run = tmp / "run"
    run.mkdir()
    _evil(run / "last.pt", marker, stealth=True)
    _evil(run / "best.pt", marker)
    (run / "config.toml").write_text("name = 'x'\n[model]\nname = 'sr_cnn'\n[data]\ntrain = 'x'\n")
    for call in (lambda: run_config(run), lambda: _init_weights(run / "best.pt", "cpu"),
                 lambda: load_classifier(run / "best.pt"), lambda: export_weights(run, dest=tmp / "w")):
        with pytest.raises(CheckpointError):
            call()
    assert not marker.exists()


def test_cli_sr_model_payload_is_one_line_error(evil, capsys):
    import numpy as np

    from sarsr.cli import main

    tmp, marker = evil
    np.save(tmp / "img.npy", np.ones((16, 16), np.float32))
    p = _evil(tmp / "evil.pt", marker)
    rc = main(["sr", str(tmp / "img.npy"), "--model", str(p), "--out", str(tmp / "o.png")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "refused" in err and len(err.splitlines()) == 1
    assert not marker.exists()


def test_train_resume_and_init_refuse_payload(evil):
    from sarsr.train import train

    tmp, marker = evil
    cfg = tmp / "c.toml"
    cfg.write_text(f"name = 'x'\n[model]\nname = 'sr_cnn'\noptions = {{width = 4, depth = 1}}\n"
                   f"[data]\ntrain = '{tmp / 'nodata'}'\n[train]\ninit = '{tmp / 'init.pt'}'\n")
    out = tmp / "run"
    out.mkdir()
    _evil(out / "last.pt", marker, stealth=True)
    with pytest.raises(CheckpointError, match="--restart"):
        train(cfg, out, progress=False, log=lambda *a: None)
    _evil(tmp / "init.pt", marker)
    with pytest.raises(CheckpointError):
        train(cfg, out, resume=False, progress=False, log=lambda *a: None)
    assert not marker.exists()
