"""Side-by-side benchmarks (``sarsr bench radar``).

Each row times the project's kernel and a straightforward vectorised numpy implementation
(:mod:`sarsr.radar.backends.reference`) on the same problem. numpy runs on a slice of the problem when
the full one would not fit in memory or time; rates are reported per unit of work, so the
columns compare directly. Figures: backprojection in G backprojections/s (one channel position
x one pixel = 1 BP), simulation in G path-frequency terms/s (channel x scatterer x wavenumber).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
import warnings

import numpy as np

from . import radar, metrics
from .radar.backends import reference, kernels as _k
from .radar.imaging import fourier
from .models import (count_macs, count_params, cpu_latency_ms, create_model, list_models, model_entry,
                     reparameterize, weights_path)
from .train.losses import WithPointHead, get_loss
from .data import load_scenario
from .data.simulate import simulate_acquisition

#: Problem sizes: (x positions, y steps (x 8 channels), image pixels per side, scatterers).
SIZES = {
    "paper": dict(nx=200, ny_steps=25, npix=200, n_scatterers=1000),
    "small": dict(nx=64, ny_steps=8, npix=64, n_scatterers=100),
    "smoke": dict(nx=16, ny_steps=2, npix=16, n_scatterers=10),
}


@dataclass
class Row:
    task: str
    work: float  # units of work in the full problem
    unit: str
    fast_s: float
    numpy_s: float  # extrapolated to the full problem

    @property
    def fast_rate(self):
        return self.work / self.fast_s

    @property
    def numpy_rate(self):
        return self.work / self.numpy_s


def _best(fn, repeat=2):
    fn()  # warm-up (JIT compile, caches)
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def bench_radar(size: str = "paper", repeat: int = 2, log=print) -> list[Row]:
    """Run the radar benchmark; returns one :class:`Row` per task. ``log(message)`` reports
    each step (``progress`` is the on/off switch of bars elsewhere, ``log`` the status line)."""

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
    cfg = SIZES[size]
    rng = np.random.default_rng(0)
    wave = radar.waveform("iwr1443")
    k = wave.k
    scan = radar.freehand_scan("awr1443", nx=cfg["nx"], ny_steps=cfg["ny_steps"], rng=0)
    n = scan.n_samples
    pts = np.c_[rng.uniform(-0.05, 0.05, (cfg["n_scatterers"], 2)), np.full(cfg["n_scatterers"], 0.3)]
    grid = radar.image_grid(n=cfg["npix"], z=0.3)
    npix = grid.x.size * grid.y.size
    rows = []

    def sub(frac_items, total):
        return max(1, min(total, int(frac_items)))

    # --- simulation
    log(f"simulate_echo: {n} channels x {len(pts)} scatterers x {k.size} wavenumbers")
    t_fast = _best(lambda: radar.simulate_echo(scan.tx, scan.rx, k, pts), repeat)
    m = sub(2e7 / (len(pts) * k.size), n)  # numpy on m channels (~20M terms)
    t_np = _best(lambda: reference.simulate_echo_numpy(scan.tx[:m], scan.rx[:m], k, pts), 1) * n / m
    rows.append(Row("simulate_echo", n * len(pts) * k.size, "Gterm/s", t_fast, t_np))
    echo = radar.simulate_echo(scan.tx, scan.rx, k, pts[:20])

    # --- backprojection (interp)
    log(f"backproject interp: {n} channels -> {grid.shape[0]}x{grid.shape[1]} pixels")
    t_fast = _best(lambda: radar.backproject(echo, scan.tx_est, scan.rx_est, k, grid.points), repeat)
    pp = grid.points.reshape(-1, 3)
    q = sub(4e6 / n, npix)
    t_np = _best(lambda: reference.backproject_interp_numpy(echo, scan.tx_est, scan.rx_est, k, pp[:q], 8), 1) * npix / q
    rows.append(Row("backproject interp", n * npix, "GBP/s", t_fast, t_np))
    # factorized backprojection on the same problem (GBP/s = the direct-method equivalent;
    # the numpy column is the same numpy reference as above; `sarsr bench bp` scales it up)
    log(f"backproject ffbp: {n} channels -> {grid.shape[0]}x{grid.shape[1]} pixels")
    t_ffbp = _best(lambda: radar.backproject(echo, scan.tx_est, scan.rx_est, k, grid.points, method="ffbp"), repeat)
    rows.append(Row("backproject ffbp", n * npix, "GBP/s", t_ffbp, t_np))

    # --- backprojection (exact), on a pixel subset
    q = sub(max(64, 2e8 / (n * k.size)), npix)
    log(f"backproject exact: {n} channels -> {q} pixels")
    t_fast = _best(lambda: radar.backproject(echo, scan.tx_est, scan.rx_est, k, pp[:q], method="exact"), 1)
    qn = sub(2e6 / (n * k.size) * 8, q)
    t_np = _best(lambda: reference.backproject_numpy(echo, scan.tx_est, scan.rx_est, k, pp[:qn]), 1) * q / qn
    rows.append(Row("backproject exact", n * q, "GBP/s", t_fast, t_np))

    # --- EMPM (the numpy column is the same pipeline with the numpy focusing step)
    log(f"EMPM: {scan.lattice_shape[0]}x{scan.lattice_shape[1]} lattice x {k.size} wavenumbers, nfft 512")
    kw = dict(lattice_shape=scan.lattice_shape)
    t_fast = _best(lambda: radar.empm(echo, scan.tx_est, scan.rx_est, k, grid, **kw), repeat)

    def numpy_focus(spec_re, spec_im, kk, kx, ky, depth, out_re, out_im):
        r = reference.spectral_focus_numpy(spec_re + 1j * spec_im, kk, kx, ky, depth)
        out_re += r.real
        out_im += r.imag

    orig = _k.spectral_focus
    try:
        fourier.kernels.spectral_focus = numpy_focus
        t_np = _best(lambda: radar.empm(echo, scan.tx_est, scan.rx_est, k, grid, **kw), 1)
    finally:
        fourier.kernels.spectral_focus = orig
    rows.append(Row(radar.get_imager(radar.imaging.imagers.EMPM).label, 1.0, "images/s", t_fast, t_np))
    return rows


def format_rows(rows: list[Row]) -> str:
    head = f"{'task':<22}{'unit':<10}{'sarsr':>12}{'numpy':>12}{'speed-up':>10}{'sarsr time':>13}"
    lines = [head, "-" * len(head)]
    for r in rows:
        scale = 1e9 if r.unit.startswith("G") else 1.0
        lines.append(f"{r.task:<22}{r.unit:<10}{r.fast_rate / scale:>12.4g}{r.numpy_rate / scale:>12.4g}"
                     f"{r.numpy_s / r.fast_s:>9.1f}x{r.fast_s:>12.4g}s")
    return "\n".join(lines)


@dataclass
class ModelRow:
    name: str
    task: str
    input_size: tuple
    params: int
    macs: int
    ms_eager: float  # CPU ms/image, eval mode, unfused
    ms_fused: float  # CPU ms/image after reparameterize()


def bench_models(pattern: str = "*", size: int | None = None, repeat: int = 3, batch: int = 1,
                 log=print, shipped: bool = False) -> list[ModelRow]:
    """Params, MACs and CPU latency of every registered model matching ``pattern``.

    ``size`` overrides the square input side (default: each model's registered input size,
    224/256 for classifiers and 256x256x1 for SR networks). Latency is the median of
    ``repeat`` eval-mode forward passes (fp32, batch ``batch``, all torch CPU threads)
    after one warm-up, before and after :func:`sarsr.models.reparameterize`. ``shipped``: only
    the models with weights shipped in the package, built as shipped (their recorded options,
    e.g. another depth, and weights) instead of the registered defaults.
    """
    import torch

    names = list_models(pattern)
    if shipped:
        names = [n for n in names if weights_path(n).exists()]
    if not names:
        raise ValueError(f"no registered model{' with shipped weights' if shipped else ''} matches "
                         f"{pattern!r}; see sarsr.models.list_models()")
    rows = []
    for name in names:
        e = model_entry(name)
        shape = e.input_size if size is None else (e.input_size[0], size, size)
        log(f"{name} @ {'x'.join(map(str, shape))}")
        torch.manual_seed(0)
        model = create_model(name, pretrained=shipped).eval()
        params = count_params(model)
        macs = count_macs(model, shape)
        eager = cpu_latency_ms(model, shape, batch, repeat)
        fused = cpu_latency_ms(reparameterize(model), shape, batch, repeat)
        rows.append(ModelRow(name, e.task, shape, params, macs, eager, fused))
    return rows


def format_model_rows(rows: list[ModelRow]) -> str:
    head = (f"{'model':<18}{'task':<18}{'input':<12}{'params':>12}{'GMACs':>9}"
            f"{'ms/img':>10}{'fused ms':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name:<18}{r.task:<18}{'x'.join(map(str, r.input_size)):<12}{r.params:>12,}"
                     f"{r.macs / 1e9:>9.3f}{r.ms_eager:>10.1f}{r.ms_fused:>10.1f}")
    return "\n".join(lines)


#: Training-step variants of :func:`bench_train_step`: name -> (batch, crop, channels_last,
#: compile, bf16 autocast). Batch 4 of 192^2 crops is the SR training configs' step.
TRAIN_VARIANTS = {
    "baseline (batch 4, crop 192)": (4, 192, False, False, False),
    "channels_last": (4, 192, True, False, False),
    "channels_last + bf16": (4, 192, True, False, True),
    "channels_last + compile": (4, 192, True, True, False),
    "channels_last + compile + bf16": (4, 192, True, True, True),
    "batch 8, crop 128, channels_last": (8, 128, True, False, False),
}

#: The model options of the networks :func:`bench_train_step` times by default: the training
#: config of the point-head network (``srvit_hsm_points``).
TRAIN_BENCH_OPTIONS = {"srvit_hsm": {"log_input_db": 40.0, "point_head": 32}}


def bench_train_step(model: str = "srvit_hsm", variants=None, steps: int = 6, warmup: int = 2,
                     loss: str = "l1_peak_clean", options: dict | None = None, rounds: int = 2,
                     log=None) -> list[dict]:
    """Time one optimiser step (forward, loss, backward, AdamW) of an SR network on random
    data for several CPU variants, side by side in one run: the variants take turns over
    ``rounds`` rounds (the fastest round counts), so a machine whose speed drifts during the
    run does not favour the variants timed first.

    Returns rows with ``s_per_step``, ``images_per_s`` (training images of the variant's crop
    per second), ``equiv_256_per_s`` (the same in 256 x 256 image equivalents, by pixels),
    ``ms_per_mpix`` (milliseconds per million training pixels) and ``gflops`` (achieved:
    3 x the forward pass's multiply-adds x 2 flops, per second).
    """
    import torch

    opts = dict(TRAIN_BENCH_OPTIONS.get(model, {}) if options is None else options)
    image_loss = get_loss(loss)
    runs = {}
    for name, (batch, crop, channels_last, compiled, bf16) in (variants or TRAIN_VARIANTS).items():
        torch.manual_seed(0)
        net = create_model(model, **opts)
        loss_fn = WithPointHead(image_loss) if getattr(net, "has_point_head", False) else image_loss
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        net = net.to(memory_format=fmt).train()
        macs = count_macs(net, (1, crop, crop))
        step_net = torch.compile(net) if compiled else net
        opt = torch.optim.AdamW(net.parameters(), 1e-4)
        x = torch.rand(batch, 1, crop, crop).contiguous(memory_format=fmt)
        y = torch.rand(batch, 1, crop, crop) * (torch.rand(batch, 1, crop, crop) > 0.99)

        def step(step_net=step_net, opt=opt, x=x, y=y, loss_fn=loss_fn, bf16=bf16):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                lo = loss_fn(step_net(x).float(), y)
            opt.zero_grad(set_to_none=True)
            lo.backward()
            opt.step()

        runs[name] = (step, batch, crop, macs)
    best = {name: float("inf") for name in runs}
    for r in range(rounds):
        for name, (step, batch, crop, macs) in runs.items():
            if log:
                log(f"{name} (round {r + 1}/{rounds})")
            for _ in range(warmup if r == 0 else 0):
                step()
            times = []
            for _ in range(steps):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
            best[name] = min(best[name], float(np.median(times)))
    rows = []
    for name, (step, batch, crop, macs) in runs.items():
        s = best[name]
        rows.append(dict(variant=name, batch=batch, crop=crop, s_per_step=s, images_per_s=batch / s,
                         equiv_256_per_s=batch * crop * crop / 256 ** 2 / s,
                         ms_per_mpix=1e3 * s / (batch * crop * crop / 1e6), gflops=3 * 2 * macs * batch / s / 1e9))
    return rows


def format_train_rows(rows: list[dict]) -> str:
    base = rows[0]["ms_per_mpix"]
    out = [f"{'variant':<34} {'s/step':>8} {'img/s':>7} {'256²/s':>7} {'GFLOP/s':>8} {'ms/Mpix':>9} {'vs first':>9}"]
    for r in rows:
        out.append(f"{r['variant']:<34} {r['s_per_step']:8.3f} {r['images_per_s']:7.2f} {r['equiv_256_per_s']:7.2f} "
                   f"{r['gflops']:8.1f} {r['ms_per_mpix']:9.1f} {base / r['ms_per_mpix']:8.2f}x")
    return "\n".join(out)


#: Backprojection scaling sizes per --size: image sides (channels scale alike: side^2) and the
#: 3-D volume (nx, ny, nz).
BP_SIZES = {"paper": ((100, 200, 400, 800), (200, 200, 32)), "small": ((50, 100), (50, 50, 8)),
            "smoke": ((16, 32), (16, 16, 4))}


@dataclass
class BPRow:
    case: str
    channels: int
    pixels: int
    seconds: dict  # method -> s (full problem; extrapolated from a pixel subset where noted)
    extrapolated: tuple
    err_vs_exact_db: float  # ffbp, relative error energy of |image| on a centre patch
    err_vs_interp_db: float | None  # ffbp vs interp over the whole image (when interp ran in full)


def _bp_case(side, nz=1, repeat=1, log=print) -> BPRow:
    wave = radar.waveform("iwr1443")
    scan = radar.freehand_scan("awr1443", nx=side, ny_steps=max(1, side // 8), rng=0,
                               error=radar.PositionError((1e-3, 1e-3, 0.25e-3)))
    half = 0.0005 * side  # 1 mm pixels over about the aperture
    rng = np.random.default_rng(1)
    pts = np.c_[rng.uniform(-0.8 * half, 0.8 * half, (12, 2)), np.full(12, 0.3)]
    echo = radar.simulate_echo(scan.tx, scan.rx, wave.k, pts)
    x = -half + 2 * half * np.arange(side) / side
    z = np.array([0.3]) if nz == 1 else np.linspace(0.28, 0.32, nz)
    grid = radar.volume_points(x, x, z)
    grid = grid[:, :, 0] if nz == 1 else grid
    n, npix = scan.n_samples, int(np.prod(grid.shape[:-1]))
    case = f"{side}x{side}" + (f"x{nz}" if nz > 1 else "")
    args = (echo, scan.tx_est, scan.rx_est, wave.k)
    log(f"{case}: ffbp ({n:,} channels)")
    t_ffbp = _best(lambda: radar.backproject(*args, grid, method="ffbp"), repeat)
    img = radar.backproject(*args, grid, method="ffbp")
    flat = grid.reshape(-1, 3)
    seconds, extra = {"ffbp": t_ffbp}, []
    full_interp = n * npix <= 2e9
    log(f"{case}: interp" + ("" if full_interp else " (pixel subset)"))
    if full_interp:
        t = _best(lambda: radar.backproject(*args, grid), repeat)
        ref_i = radar.backproject(*args, grid)
        a, b = np.abs(img), np.abs(ref_i)
        err_i = float(10 * np.log10(((a - b) ** 2).sum() / (b ** 2).sum()))
    else:
        q = max(256, int(2e9 // n))
        t = _best(lambda: radar.backproject(*args, flat[:q]), 1) * npix / q
        extra.append("interp")
        err_i = None
    seconds["interp"] = t
    # exact on a centre patch of the first slice (around the first scatterer)
    ix = int(np.argmin(np.abs(x - pts[0, 0])))
    iy = int(np.argmin(np.abs(x - pts[0, 1])))
    sl = np.s_[max(ix - 8, 0):ix + 8, max(iy - 8, 0):iy + 8]
    patch = (grid[sl] if nz == 1 else grid[sl][:, :, 0]).reshape(-1, 3)
    log(f"{case}: exact ({len(patch)} pixels)")
    t_ex = _best(lambda: radar.backproject(*args, patch, method="exact"), 1)
    seconds["exact"] = t_ex * npix / len(patch)
    extra.append("exact")
    ref = radar.backproject(*args, patch, method="exact")
    got = (img[sl] if nz == 1 else img[sl][:, :, 0]).reshape(-1)
    a, b = np.abs(got), np.abs(ref)
    err = float(10 * np.log10(((a - b) ** 2).sum() / (b ** 2).sum()))
    return BPRow(case, n, npix, seconds, tuple(extra), err, err_i)


def bench_backprojection(size: str = "paper", repeat: int = 1, log=print) -> list[BPRow]:
    """Backprojection methods side by side over image sides (channels scaled alike, side^2:
    freehand AWR1443 lattices at lambda/4, 1 mm pixels) and one 3-D volume. ffbp runs in full;
    interp in full up to 2e9 channel-pixel pairs, else on a pixel subset (extrapolated);
    exact on a 16x16 patch (extrapolated). Errors: ffbp against exact on the patch and against
    interp on the whole image."""
    if size not in BP_SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {sorted(BP_SIZES)}")
    sides, (vx, vy, vz) = BP_SIZES[size]
    rows = [_bp_case(s, 1, repeat, log) for s in sides]
    rows.append(_bp_case(vx, vz, repeat, log))
    return rows


def format_bp_rows(rows: list[BPRow]) -> str:
    head = (f"{'case':<14}{'channels':>10}{'pixels':>11}{'ffbp s':>9}{'interp s':>10}{'exact s':>10}"
            f"{'ffbp GBP/s':>11}{'interp GBP/s':>13}{'ffbp/interp':>12}{'err vs exact':>13}")
    lines = [head, "-" * len(head)]
    for r in rows:
        s = r.seconds
        work = r.channels * r.pixels / 1e9
        star = lambda m: "*" if m in r.extrapolated else " "  # noqa: E731
        lines.append(f"{r.case:<14}{r.channels:>10,}{r.pixels:>11,}{s['ffbp']:>9.3f}{s['interp']:>9.2f}{star('interp')}"
                     f"{s['exact']:>9.1f}{star('exact')}{work / s['ffbp']:>11.2f}{work / s['interp']:>13.3f}"
                     f"{s['interp'] / s['ffbp']:>11.1f}x{r.err_vs_exact_db:>11.1f} dB")
    lines.append("* extrapolated from a pixel subset; GBP/s = channels x pixels / s (for ffbp: the "
                 "direct-method equivalent)")
    return "\n".join(lines)


def bench_autofocus(size: str = "paper", sigma_mm: float = 3.0, count: int = 2, starts=("pga", "zero"),
                    log=print) -> list[dict]:
    """Autofocus side by side (``sarsr bench autofocus``): each ``start`` of
    :func:`sarsr.radar.autofocus` on the same ``count`` scans with smooth position error.

    ``size="paper"``: records 0.. of ``paper_freehand`` (40,000 channels, 200 x 200 image) with
    ``position_error.sigma_m = sigma_mm / 1000``; ``"small"`` / ``"smoke"``: a 64 x 64 / 24 x 24
    raster scan of six points with a smooth depth error of ``sigma_mm / 4`` (the presets' z
    fraction). Returns one row per start: seconds per scan, scans per hour, the depth error and
    its residual after autofocus (rms, mm, best-fit plane removed: a plane only shifts the
    image), EMPM point recall before and after (true amplitudes) and how many scans changed."""

    if size not in ("paper", "small", "smoke"):
        raise ValueError(f"bench_autofocus: size must be paper, small or smoke, not {size!r}")
    if count < 1:
        raise ValueError(f"bench_autofocus: count must be >= 1, got {count}")
    cases = []
    for i in range(int(count)):
        if size == "paper":
            sc = load_scenario("paper_freehand").with_overrides({"position_error.sigma_m": sigma_mm * 1e-3})
            a = simulate_acquisition(sc, 1000, i)
            scan, k, grid, scene = a["scan"], a["wave"].k, a["grid"], a["scene"]
            echo = a["echo"]
        else:
            rng = np.random.default_rng(100 + i)
            n = 64 if size == "small" else 24
            wave = radar.waveform("iwr1443")
            scan = radar.raster_scan("awr1443", nx=n, ny_steps=n // 8).with_error(
                radar.PositionError(sigma=(0.0, 0.0, sigma_mm * 0.25e-3), correlation_length=0.02), rng)
            half = 0.3 * n * 0.00095
            pts = np.c_[rng.uniform(-half, half, (6, 2)), np.full(6, 0.25)]
            scene = radar.point_scene(pts, rng.uniform(0.5, 1.0, 6))
            echo = radar.simulate_scan(scan, scene, wave, snr_db=30, rng=rng)
            k, grid = wave.k, radar.image_grid(n=n, extent=2 * half + 0.01, z=0.25)
        cases.append((scan, k, grid, scene, echo))
    rows = []
    for start in starts:
        log(f"autofocus start={start} on {count} {size} scans (sigma {sigma_mm:g} mm)")
        secs, err_mm, res_mm, before, after, changed = [], [], [], [], [], 0
        for scan, k, grid, scene, echo in cases:
            label = radar.label_image(scene, grid)
            img0 = radar.empm(echo, scan.tx_est, scan.rx_est, k, grid, lattice_shape=scan.lattice_shape)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = radar.autofocus(echo, scan.tx_est, scan.rx_est, k, grid, lattice_shape=scan.lattice_shape,
                                    start=start)
            secs.append(time.perf_counter() - t0)
            changed += bool(r.applied)
            v = 0.5 * (scan.tx + scan.rx)
            plane = np.c_[np.ones(len(v)), v[:, 0], v[:, 1]]
            untilt = lambda f: f - plane @ np.linalg.lstsq(plane, f, rcond=None)[0]  # noqa: E731
            e = (scan.tx_est - scan.tx)[:, 2]
            err_mm.append(np.std(untilt(e)) * 1e3)
            res_mm.append(np.std(untilt(e - r.error_estimate[:, 2])) * 1e3)
            before.append(metrics.point_metrics(metrics.normalize(img0), label))
            after.append(metrics.point_metrics(metrics.normalize(r.image), label))
        s = float(np.mean(secs))
        rows.append(dict(start=start, size=size, scans=len(cases), seconds_per_scan=s, scans_per_hour=3600.0 / s,
                         depth_error_mm=float(np.mean(err_mm)), depth_residual_mm=float(np.mean(res_mm)),
                         recall_before=metrics.summarize_points(before)["point_recall"],
                         recall_after=metrics.summarize_points(after)["point_recall"], changed=changed))
    return rows


def format_autofocus_rows(rows: list[dict]) -> str:
    """Markdown table of :func:`bench_autofocus` rows."""
    out = ["| start | scans | s / scan | autofocus scans / hour | depth error (mm) | residual (mm) | "
           "EMPM recall before | after | changed |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['start']} | {r['scans']} ({r['size']}) | {r['seconds_per_scan']:.1f} | "
                   f"{r['scans_per_hour']:.0f} | {r['depth_error_mm']:.3f} | {r['depth_residual_mm']:.3f} | "
                   f"{r['recall_before']:.2f} | {r['recall_after']:.2f} | {r['changed']} |")
    return "\n".join(out)
