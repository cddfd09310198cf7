"""One dataset record from a scenario: scan geometry with position error, scene, echo with
noise, reconstructions and label. Deterministic in (scenario, seed, index) alone."""

from __future__ import annotations

import json
import warnings

import numpy as np

from .._validate import check_memory, max_bytes
from ..radar.imaging.imagers import DEFAULT_INPUT
from ..radar.geometry.masks import OBJECT_CLASSES
from .scenario import Scenario
from .. import radar

__all__ = ["record_rng", "simulate_record", "build_scan", "build_grid", "record_working_bytes",
           "check_record_memory"]


def record_rng(seed: int, index: int) -> np.random.Generator:
    """Independent random stream of record ``index`` in a dataset with master ``seed``; it
    does not depend on how records are grouped into shards or workers."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def draw(rng, value):
    """A scenario value that may be a range: a number is returned as is (no random draw),
    ``(lo, hi)`` is drawn uniformly (no draw when lo == hi)."""
    if isinstance(value, (tuple, list)):
        lo, hi = value
        return float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    return value


def draw_int(rng, value):
    """Like :func:`draw` for integers: ``(lo, hi)`` is drawn from {lo, ..., hi}."""
    if isinstance(value, (tuple, list)):
        lo, hi = value
        return int(rng.integers(lo, hi + 1)) if hi > lo else int(lo)
    return int(value)


def draw_choice(rng, options, weights=None):
    """One of ``options`` (no random draw when there is only one)."""
    if len(options) == 1:
        return options[0]
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    return options[int(rng.choice(len(options), p=p))]


def record_working_bytes(sc: Scenario) -> float:
    """Approximate peak memory of simulating and imaging one record of ``sc`` (bytes), known
    from the scenario alone before anything is allocated: the echo (complex64, positions x
    channels x ADC samples) with its range-FFT and imaging copies, the positions (true,
    estimated, error; float64 x 3 per channel) and the images on the n x n grid and the
    nfft x nfft EMPM lattice."""

    t = sc["trajectory"]
    positions = (float(t["nx"]) * float(t["ny_steps"]) if t["kind"] in ("freehand", "raster")
                 else float(t["n_positions"]) * float(t["passes"]))
    samples = positions * radar.mimo_array(sc["array"]["preset"]).n_channels
    adc = radar.waveform(sc["waveform"]["preset"]).num_samples
    nfft, n = float(sc["reconstruction"]["nfft"]), float(sc["grid"]["n"])
    return samples * (4 * 8 * max(adc, 1) + 6 * 24) + 8 * 8 * (n * n + nfft * nfft)


def check_record_memory(sc: Scenario) -> None:
    """Refuse a scenario whose single record would not fit the memory budget
    (:func:`sarsr._validate.max_bytes`), with a one-line ``ValueError`` naming the keys that
    size it, before anything is allocated."""
    need = record_working_bytes(sc)
    if need > max_bytes():
        t = sc["trajectory"]
        keys = ("trajectory.nx x trajectory.ny_steps" if t["kind"] in ("freehand", "raster")
                else "trajectory.n_positions x trajectory.passes")
        check_memory(need, f"one record of {sc.name} ({keys}, grid.n, reconstruction.nfft)")


def build_scan(sc: Scenario, rng):
    t, pe = sc["trajectory"], sc["position_error"]
    sigma_m = draw(rng, pe["sigma_m"])  # x and y (m); z is z_fraction of it
    zf = draw(rng, pe["z_fraction"])
    ell = draw(rng, pe["correlation_length_m"])
    iid = bool(rng.random() < pe["iid_probability"]) if pe.get("iid_probability", 0) > 0 else pe["iid"]
    err = radar.PositionError((sigma_m, sigma_m, sigma_m * zf), ell, iid)
    arr = sc["array"]["preset"]
    if t["kind"] == "freehand":
        return radar.freehand_scan(arr, nx=t["nx"], ny_steps=t["ny_steps"],
                                   surface_peak_to_peak=draw(rng, t["surface_peak_to_peak_m"]),
                                   surface_filter_width=t["surface_filter_width"],
                                   lateral_jitter=draw(rng, t["lateral_jitter_m"]),
                                   jitter_correlation=t["jitter_correlation_m"], error=err, rng=rng)
    if t["kind"] == "raster":
        return radar.raster_scan(arr, nx=t["nx"], ny_steps=t["ny_steps"], z=t["z_m"]).with_error(err, rng)
    return radar.linear_track(arr, n_positions=t["n_positions"], passes=t["passes"], z=t["z_m"],
                              drift_sigma=t["drift_sigma_m"], drift_correlation=t["drift_correlation_m"],
                              error=err, rng=rng)


def build_grid(sc: Scenario, z0: float):
    return radar.image_grid(n=sc["grid"]["n"], extent=sc["grid"]["extent_m"], z=z0)


def simulate_acquisition(sc: Scenario, seed: int, index: int) -> dict:
    """The raw acquisition of record ``index`` (what :func:`simulate_record` images): a dict with
    ``wave`` (FMCWWaveform), ``scan`` (Scan: true and estimated positions), ``scene`` (Scene),
    ``z0`` (m), ``snr_db``, ``echo`` (complex64 (N, K), simulated at the true positions),
    ``grid`` (ImageGrid at z0), ``class_id`` (recognition scenarios, else None) and ``rng``
    (the record's generator, positioned after the draws above)."""

    check_record_memory(sc)
    rng = record_rng(seed, index)
    wave = radar.waveform(sc["waveform"]["preset"])
    scan = build_scan(sc, rng)
    s = sc["scene"]
    class_id = None
    if s["objects"]:  # recognition: one object of a random class among clutter points
        class_id = int(rng.integers(len(s["objects"])))
        name = s["objects"][class_id]
        class_id = OBJECT_CLASSES.index(name)
        z0 = float(rng.uniform(*s["z0_range_m"]))
        center = rng.uniform(-s["center_range_m"], s["center_range_m"], 2)
        size, rotation = float(rng.uniform(*s["size_range_m"])), float(rng.uniform(0, 2 * np.pi))
        lo, hi = s["shape_reflectivity"]
        refl = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
        scene = radar.shape_scene(name, center=center, size=size, rotation=rotation, z0=z0, reflectivity=refl)
        npts = int(rng.integers(s["n_points"][0], s["n_points"][1] + 1))
        scene = scene + radar.random_points(rng, npts, extent=s["extent_m"], z0=z0, avoid=scene.points)
    else:
        shapes = s["shapes"] if s["shapes"] is not None else radar.SHAPES
        scene, z0 = radar.random_scene(rng, z0_range=s["z0_range_m"], n_points=s["n_points"], shapes=shapes,
                                       n_shapes=draw_int(rng, s["n_shapes"]), size_range=s["size_range_m"],
                                       center_range=s["center_range_m"], extent=s["extent_m"],
                                       shape_reflectivity=s["shape_reflectivity"],
                                       shape_reflectivity_log=s.get("shape_reflectivity_log", False),
                                       point_amplitude_range=s.get("point_amplitude_range", (0.5, 1.0)),
                                       point_spacing=draw(rng, s.get("point_spacing_m", 4 * radar.LABEL_WIDTH)),
                                       shape_plateau=s["shape_plateau"])
    lo, hi = sc["noise"]["snr_db"]
    snr = float(rng.uniform(lo, hi))
    echo = radar.simulate_scan(scan, scene, wave, snr_db=snr, rng=rng)
    return dict(wave=wave, scan=scan, scene=scene, z0=float(z0), snr_db=snr, echo=echo,
                grid=build_grid(sc, z0), class_id=class_id, rng=rng)


def simulate_record(sc: Scenario, seed: int, index: int) -> dict:
    """Simulate record ``index``. Returns a dict of numpy arrays / scalars:

    - ``empm``, ``backprojection``, ``rma``: complex64 (n, n) images (those enabled in
      ``[store]``), on the grid x, y in [-extent, extent) at the scene depth z0;
    - ``input`` (``store.input``): the network-input image, reconstructed by a method drawn
      per record from ``reconstruction.input``, named in ``input_method``;
    - ``taper``: the aperture taper applied to the echo (when the scenario draws tapers);
    - ``label``: float32 (n, n) ideal image in [0, 1];
    - ``snr_db``, ``z0_m``, ``pos_error_rms_m`` (RMS of estimated - true positions, m);
    - with ``reconstruction.autofocus``: images at the autofocused positions, and
      ``autofocus_applied``, ``autofocus_rms_m`` (estimated error), ``autofocus_residual_rms_m``
      (true - estimated, rigid shift removed; m);
    - ``scene_json``: the scene description (shapes, points, amplitudes) as JSON.
    """

    acq = simulate_acquisition(sc, seed, index)
    wave, scan, scene, z0, snr, echo, grid = (acq[k] for k in ("wave", "scan", "scene", "z0", "snr_db", "echo", "grid"))
    rng, class_id = acq["rng"], acq["class_id"]
    rec = sc["reconstruction"]
    store = sc["store"]
    taper = draw_choice(rng, rec.get("taper", ("none",)))
    if taper != "none":  # the estimated positions are what the imaging system knows
        echo = (echo * radar.aperture_taper(scan.tx_est, scan.rx_est, taper)[:, None]).astype(echo.dtype)
    input_method = (draw_choice(rng, rec.get("input", (DEFAULT_INPUT,)), rec.get("input_weights"))
                    if store.get("input") else None)
    out = {}
    kw = dict(lattice_shape=scan.lattice_shape, nfft=rec["nfft"])
    images = {}
    tx_img, rx_img = scan.tx_est, scan.rx_est  # the positions the images are formed at
    if rec.get("autofocus"):
        if scan.lattice_shape is None:
            raise ValueError(f"{sc.name}: reconstruction.autofocus needs a lattice trajectory (freehand or raster)")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            af = radar.autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape,
                                 **rec.get("autofocus_options", {}))
        tx_img, rx_img = af.tx, af.rx
        if af.lateral == "regrid":
            kw["lateral"] = "regrid"
        true_err = scan.tx_est - scan.tx
        resid = true_err - af.error_estimate
        resid = resid - resid.mean(0)
        out.update(autofocus_applied=float(af.applied), autofocus_rms_m=float(np.sqrt(np.mean(af.error_estimate ** 2))),
                   autofocus_residual_rms_m=float(np.sqrt(np.mean(resid ** 2))))

    def image(method):
        if method not in images:
            images[method] = radar.reconstruct(method, echo, tx_img, rx_img, wave.k, grid, **kw,
                                               oversample=rec["bp_oversample"],
                                               bp_method=rec.get("bp_method", "interp")).astype(np.complex64)
        return images[method]

    for method in radar.list_imagers():
        if store.get(method):
            out[method] = image(method)
    if input_method is not None:
        out["input"] = image(input_method)
        out["input_method"] = input_method
    if tuple(rec.get("taper", ("none",))) != ("none",):
        out["taper"] = taper
    if store["label"]:
        out["label"] = radar.label_image(scene, grid)
    err = np.concatenate([scan.tx_est - scan.tx, scan.rx_est - scan.rx])
    out.update(snr_db=snr, z0_m=float(z0), pos_error_rms_m=float(np.sqrt(np.mean(err ** 2))),
               scene_json=json.dumps(scene.objects))
    if class_id is not None:
        out["class_id"] = class_id  # index into sarsr.radar.OBJECT_CLASSES
    return out
