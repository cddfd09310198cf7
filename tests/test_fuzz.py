"""Property-based and fuzz tests (hypothesis, bounded in examples and time): the numerical
kernels and every file reader give a finite result or a one-line ValueError / OSError for
any small or degenerate input, never a crash, a hang or a traceback of another kind."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarsr import radar

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
EXPECTED = (ValueError, OSError)

coords = st.floats(-0.05, 0.05, allow_nan=False)


@st.composite
def geometry(draw):
    n = draw(st.integers(1, 5))
    k_count = draw(st.integers(1, 4))
    tx = np.array(draw(st.lists(st.tuples(coords, coords, st.floats(-0.01, 0.01)), min_size=n, max_size=n)))
    same = draw(st.booleans())
    rx = tx.copy() if same else np.array(draw(st.lists(st.tuples(coords, coords, coords), min_size=n, max_size=n)))
    k0 = draw(st.floats(100.0, 2000.0))
    dk = draw(st.sampled_from([1e-6, 0.1, 1.0, 30.0]))
    k = k0 + dk * np.arange(k_count)
    m = draw(st.integers(0, 3))
    pts = np.array(draw(st.lists(st.tuples(coords, coords, st.floats(0.0, 0.5)), min_size=m, max_size=m)))
    amps = np.array(draw(st.lists(st.floats(0, 2), min_size=m, max_size=m)))
    return tx, rx, k, pts.reshape(-1, 3), amps


@FUZZ
@given(geometry(), st.sampled_from(["interp", "exact"]), st.integers(1, 4))
def test_simulate_and_backproject_finite_or_valueerror(geo, method, side):
    tx, rx, k, pts, amps = geo
    try:
        echo = radar.simulate_echo(tx, rx, k, pts, amps)
    except EXPECTED:
        return
    assert echo.shape == (len(tx), len(k)) and np.all(np.isfinite(echo))
    grid = np.stack(np.meshgrid(np.linspace(-0.02, 0.02, side), np.linspace(-0.02, 0.02, side), [0.25],
                                indexing="ij"), -1)
    try:
        img = radar.backproject(echo, tx, rx, k, grid, method=method)
    except EXPECTED:
        return
    assert img.shape == grid.shape[:-1] and np.all(np.isfinite(img))


@FUZZ
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.sampled_from([16, 32]))
def test_empm_finite_or_valueerror(nx, ny_steps, k_count, n, nfft):
    scan = radar.raster_scan("awr1443", nx=nx, ny_steps=ny_steps)
    k = radar.waveform("iwr1443").k[:k_count]
    echo = radar.simulate_echo(scan.tx, scan.rx, k, [[0.0, 0.0, 0.25]], [1.0])
    grid = radar.image_grid(n=n, extent=0.01, z=0.25)
    for f in (radar.empm, radar.rma_planar):
        try:
            img = f(echo, scan.tx, scan.rx, k, grid, lattice_shape=scan.lattice_shape, nfft=nfft)
        except EXPECTED:
            continue
        assert np.all(np.isfinite(img))


# ---------------------------------------------------------------------------- readers
def _one_line(exc):
    assert str(exc).strip() and "\n" not in str(exc).strip(), repr(exc)


@pytest.fixture(scope="module")
def fuzzdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


blobs = st.binary(min_size=0, max_size=600)


def _try(fn):
    try:
        return fn()
    except EXPECTED as exc:
        _one_line(exc)


@FUZZ
@given(blobs, st.sampled_from(["xwr14xx", "xwr16xx"]), st.integers(1, 8))
def test_fuzz_dca1000(fuzzdir, data, layout, n_samples):
    from sarsr.io import RawLayout, read_dca1000

    p = fuzzdir / "adc_data.bin"
    p.write_bytes(data)
    _try(lambda: read_dca1000([p], RawLayout(n_samples=n_samples, layout=layout), allow_partial=True))
    _try(lambda: read_dca1000([p], RawLayout(n_samples=n_samples, layout=layout)))


CFG_WORDS = ["profileCfg", "chirpCfg", "frameCfg", "channelCfg", "adcCfg", "sensorStart", "%", "0", "1", "77",
             "-1", "1e309", "nan", "abc", "100", "64", "4000", "15"]


@FUZZ
@given(st.lists(st.lists(st.sampled_from(CFG_WORDS), max_size=14), max_size=8), st.text(max_size=80))
def test_fuzz_radar_configs(fuzzdir, lines, junk):
    from sarsr.io import load_radar_config

    text = "\n".join(" ".join(w) for w in lines) + "\n" + junk
    lua = "\n".join("ar1." + (w[0] if w else "ProfileConfig") + "(" + ", ".join(w[1:]) + ")" for w in lines)
    for name, body in (("a.cfg", text), ("a.lua", lua), ("a.mmwave.json", junk), ("b.mmwave.json", "{" + junk)):
        p = fuzzdir / name
        p.write_text(body)
        _try(lambda: load_radar_config(p, device="iwr1443"))


@FUZZ
@given(st.lists(st.lists(st.sampled_from(["x", "y", "z", "t", "x_mm", "1", "2.5", "-3", "nan", "", "a"]),
                         max_size=5), max_size=6))
def test_fuzz_positions_csv(fuzzdir, rows):
    from sarsr.io import read_positions

    p = fuzzdir / "positions.csv"
    p.write_text("\n".join(",".join(r) for r in rows))
    _try(lambda: read_positions(p))


@FUZZ
@given(blobs, st.sampled_from([".mat", ".h5", ".npy", ".png", ".npz"]))
def test_fuzz_image_files(fuzzdir, data, ext):
    """Random bytes, and the right magic followed by random bytes, through read_image."""
    from sarsr.sr import read_image

    magic = {".mat": b"MATLAB 5.0 MAT-file" + b" " * 97 + b"\x00\x01IM", ".h5": b"\x89HDF\r\n\x1a\n",
             ".npy": b"\x93NUMPY\x01\x00", ".png": b"\x89PNG\r\n\x1a\n", ".npz": b"PK\x03\x04"}[ext]
    for body in (data, magic + data):
        p = fuzzdir / f"img{ext}"
        p.write_bytes(body)
        _try(lambda: read_image(p))


@FUZZ
@given(blobs)
def test_fuzz_shard_file(fuzzdir, data):
    from sarsr.data import verify_shard

    p = fuzzdir / "shard-00000.h5"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + data)
    assert verify_shard(p, 0, 1, 0, "x") is not None
