"""The explorer's callbacks (sarsr.explore): plain functions the notebook's widgets call."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from sarsr.explore import METHODS, SR_MODES, draw_view, simulate_view  # noqa: E402


def test_view_scores_every_image_and_follows_the_knobs():
    a = simulate_view(sigma_mm=0.0, snr_db=40.0, n_points=6, seed=1, sr_mode="network alone")
    assert a["input"].shape == a["label"].shape == a["output"].shape == (200, 200)
    assert set(a["scores"]) == {"input", "output"} and a["params"]["pos_error_rms_mm"] == 0.0
    assert 0.0 <= a["output"].min() and a["output"].max() <= 1.0
    b = simulate_view(sigma_mm=3.0, snr_db=40.0, n_points=6, seed=1, sr_mode="off")
    assert b["output"] is None and set(b["scores"]) == {"input"} and b["params"]["pos_error_rms_mm"] > 1.0
    assert b["scores"]["input"]["psnr_db"] < a["scores"]["input"]["psnr_db"]  # defocused by the error
    np.testing.assert_array_equal(a["label"], b["label"])  # same seed: same scene
    fig = draw_view(a)
    assert len(fig.axes) == 3 and "recall" in fig.axes[1].get_title()
    assert len(draw_view(b).axes) == 2


def test_view_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="autofocus needs a lattice"):
        simulate_view(method="backprojection", autofocus=True)
    with pytest.raises(ValueError, match="sr_mode"):
        simulate_view(sr_mode="maybe")
    with pytest.raises(ValueError, match="sigma_mm"):
        simulate_view(sigma_mm=-1)
    assert "empm" in METHODS and set(SR_MODES) == {"auto", "network alone", "screening", "off"}


def test_changing_only_the_sr_mode_reuses_the_scan():
    first = simulate_view(sigma_mm=1.0, snr_db=30.0, n_points=4, seed=11, sr_mode="off")
    again = simulate_view(sigma_mm=1.0, snr_db=30.0, n_points=4, seed=11, sr_mode="network alone")
    assert first["seconds"]["simulate_and_image"] > 0 and again["seconds"]["simulate_and_image"] == 0.0
    np.testing.assert_array_equal(first["input"], again["input"])  # the same scan, not a new one
    other = simulate_view(sigma_mm=1.5, snr_db=30.0, n_points=4, seed=11, sr_mode="off")
    assert other["seconds"]["simulate_and_image"] > 0  # a new acquisition parameter: simulated again


def test_autofocus_runs_with_the_explorers_quicker_setting(monkeypatch):
    """autofocus=True: the scan is autofocused with EXPLORER_AUTOFOCUS unless options are given;
    the options are part of the cache key; unknown option names are one line."""
    from sarsr import radar
    from sarsr.explore import EXPLORER_AUTOFOCUS

    seen = []
    real = radar.autofocus
    monkeypatch.setattr(radar, "autofocus", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    v = simulate_view(sigma_mm=2.0, snr_db=30.0, n_points=4, seed=5, autofocus=True, sr_mode="off")
    assert len(seen) == 1 and {k: seen[0][k] for k in EXPLORER_AUTOFOCUS} == EXPLORER_AUTOFOCUS
    assert v["params"]["autofocus"] and v["params"]["autofocus_options"] == EXPLORER_AUTOFOCUS
    again = simulate_view(sigma_mm=2.0, snr_db=30.0, n_points=4, seed=5, autofocus=True, sr_mode="off")
    assert len(seen) == 1 and again["seconds"]["simulate_and_image"] == 0.0  # cached
    simulate_view(sigma_mm=2.0, snr_db=30.0, n_points=4, seed=5, autofocus=True, sr_mode="off",
                  autofocus_options={"k_step": 16, "max_iter": 2, "pga_targets": 2})
    assert len(seen) == 2 and seen[1]["k_step"] == 16  # other options: autofocused again
    with pytest.raises(ValueError, match="autofocus_options: unknown"):
        simulate_view(autofocus=True, autofocus_options={"fast": True})
