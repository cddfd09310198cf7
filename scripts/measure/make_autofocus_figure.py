"""The autofocus figure of the README (docs/autofocus.png): one paper_freehand record with 3 mm
position error (test-set seed 1000, record 4): EMPM at the measured positions, EMPM after
autofocus, EMPM at the true positions, and the label.

    .venv/bin/python scripts/measure/make_autofocus_figure.py
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sarsr import metrics, plot, radar  # noqa: E402
from sarsr._files import atomic_path  # noqa: E402
from sarsr.data import load_scenario  # noqa: E402
from sarsr.data.simulate import simulate_acquisition  # noqa: E402


def main(record: int = 4, sigma_mm: float = 3.0, out=Path(__file__).resolve().parents[2] / "docs" / "autofocus.png"):
    sc = load_scenario("paper_freehand").with_overrides({"position_error.sigma_m": sigma_mm * 1e-3})
    acq = simulate_acquisition(sc, 1000, record)
    scan, wave, grid, echo = acq["scan"], acq["wave"], acq["grid"], acq["echo"]
    label = radar.label_image(acq["scene"], grid)
    before = radar.empm(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = radar.autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape)
    truth = radar.empm(echo, scan.tx, scan.rx, wave.k, grid, lattice_shape=scan.lattice_shape)

    def recall(img):
        return metrics.summarize_points([metrics.point_metrics(metrics.normalize(img), label)])["point_recall"]

    images = {f"EMPM, {sigma_mm:g} mm error (recall {recall(before):.2f})": before,
              f"after autofocus (recall {recall(r.image):.2f})": r.image,
              f"true positions (recall {recall(truth):.2f})": truth, "label": label}
    fig = plot.panels(images, grid, db={"label": False}, ncols=4)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90)
    print(f"wrote {out}: {r.message}; recall {recall(before):.2f} -> {recall(r.image):.2f} (true positions "
          f"{recall(truth):.2f})")


if __name__ == "__main__":
    main()
