"""numba kernels vs the pure-numpy reference implementations (sarsr.radar.backends.reference)."""

import numpy as np
import pytest

from sarsr import radar
from sarsr.radar.backends import kernels, reference


def _geometry(rng, n=150, m=12):
    tx = np.c_[rng.uniform(-0.05, 0.05, (n, 2)), rng.uniform(-0.01, 0.01, n)]
    rx = tx + [0.0, 0.007, 0.0]
    pts = np.c_[rng.uniform(-0.04, 0.04, (m, 2)), rng.uniform(0.25, 0.32, m)]
    return tx, rx, pts, rng.uniform(0.5, 1.0, m)


def test_sincos_accuracy():
    x = np.linspace(-3000, 3000, 200_001)
    s, c = kernels.sincos64_array(x)
    assert np.max(np.abs(s - np.sin(x))) < 1e-10
    assert np.max(np.abs(c - np.cos(x))) < 1e-10
    x32 = np.linspace(-1500, 1500, 100_001).astype(np.float32)
    s, c = kernels.sincos32_array(x32)
    ref = x32.astype(np.float64)
    # float32 argument quantisation dominates: |x| * eps32 ~ 1e-4 at |x| = 1500
    assert np.max(np.abs(s - np.sin(ref))) < 2e-4
    assert np.max(np.abs(c - np.cos(ref))) < 2e-4
    x32 = np.linspace(-10, 10, 100_001).astype(np.float32)  # the polynomial's own error
    s, c = kernels.sincos32_array(x32)
    ref = x32.astype(np.float64)
    assert max(np.abs(s - np.sin(ref)).max(), np.abs(c - np.cos(ref)).max()) < 5e-6


@pytest.mark.parametrize("path_loss", [False, True])
def test_simulate_matches_float64_reference(rng, path_loss):
    tx, rx, pts, amp = _geometry(rng)
    k = radar.waveform("iwr1443").k
    out = radar.simulate_echo(tx, rx, k, pts, amp, path_loss=path_loss)
    ref = reference.simulate_echo_numpy(tx, rx, k, pts, amp, path_loss=path_loss)
    assert out.dtype == np.complex64 and out.shape == (len(tx), k.size)
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) <= 1e-5
    assert np.max(np.abs(out - ref)) / np.max(np.abs(ref)) <= 1e-5


def test_simulate_nonuniform_k_and_chunking(rng, monkeypatch):
    tx, rx, pts, amp = _geometry(rng, m=40)
    k = np.sort(rng.uniform(1600, 1700, 37))
    monkeypatch.setattr(radar.physics.simulate, "SCATTERER_CHUNK", 7)  # force several scatterer chunks
    out = radar.simulate_echo(tx, rx, k, pts, amp)
    ref = reference.simulate_echo_numpy(tx, rx, k, pts, amp)
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) <= 1e-5


def test_backproject_exact_matches_reference(rng):
    tx, rx, pts, amp = _geometry(rng)
    k = radar.waveform("iwr1443").k
    echo = reference.simulate_echo_numpy(tx, rx, k, pts, amp)
    grid = np.c_[rng.uniform(-0.05, 0.05, (7, 9, 2)), np.full((7, 9, 1), 0.3)]
    out = radar.backproject(echo, tx, rx, k, grid, method="exact")
    ref = reference.backproject_numpy(echo, tx, rx, k, grid)
    assert out.shape == (7, 9)
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) <= 1e-5


def test_backproject_interp_matches_interp_reference(rng):
    tx, rx, pts, amp = _geometry(rng)
    k = radar.waveform("iwr1443").k
    echo = reference.simulate_echo_numpy(tx, rx, k, pts, amp)
    grid = np.c_[rng.uniform(-0.05, 0.05, (300, 2)), np.full((300, 1), 0.3)]
    fast = radar.backproject(echo, tx, rx, k, grid, method="interp", oversample=16)
    slow = reference.backproject_interp_numpy(echo, tx, rx, k, grid, oversample=16)
    exact = reference.backproject_numpy(echo, tx, rx, k, grid)
    # same algorithm: agree to float32 precision; both close to the exact sum
    assert np.linalg.norm(fast - slow) / np.linalg.norm(slow) < 2e-4
    assert np.linalg.norm(fast - exact) / np.linalg.norm(exact) < 5e-3


def test_spectral_focus_matches_reference(rng):
    k = radar.waveform("iwr1443").k[:5]
    kx = 2 * np.pi * np.fft.fftfreq(16, 1e-3)
    ky = 2 * np.pi * np.fft.fftfreq(12, 1e-3)
    spec = (rng.standard_normal((5, 16, 12)) + 1j * rng.standard_normal((5, 16, 12))).astype(np.complex64)
    re = np.zeros((16, 12))
    im = np.zeros((16, 12))
    kernels.spectral_focus(spec.real.copy(), spec.imag.copy(), k, kx, ky, 0.3, re, im)
    ref = reference.spectral_focus_numpy(spec.astype(np.complex128), k, kx, ky, 0.3)
    assert np.allclose(re + 1j * im, ref, rtol=1e-5, atol=1e-5)


def test_torch_backend_equals_numba_on_cpu(rng):
    tx, rx, pts, amp = _geometry(rng, n=80, m=6)
    k = radar.waveform("iwr1443").k
    a = radar.simulate_echo(tx, rx, k, pts, amp)
    b = radar.simulate_echo(tx, rx, k, pts, amp, backend="torch", device="cpu")
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-6
    grid = np.c_[rng.uniform(-0.04, 0.04, (120, 2)), np.full((120, 1), 0.3)]
    for method, tol in (("exact", 1e-6), ("interp", 2e-4)):
        x = radar.backproject(a, tx, rx, k, grid, method=method)
        y = radar.backproject(a, tx, rx, k, grid, method=method, backend="torch", device="cpu")
        assert np.linalg.norm(x - y) / np.linalg.norm(x) < tol, method


def test_torch_backend_chunking_is_exact(monkeypatch):
    """Tiny chunks (many chunk boundaries) give the same images and echoes as one chunk."""
    import numpy as np

    from sarsr import radar
    from sarsr.radar.backends import torch_backend

    scan = radar.raster_scan("awr1443", nx=6, ny_steps=2)
    k = radar.waveform("iwr1443").k
    pts = [[0.001, -0.002, 0.25], [0.004, 0.003, 0.26]]
    grid = radar.image_grid(n=7, extent=0.01, z=0.25).points
    ref_e = radar.simulate_echo(scan.tx, scan.rx, k, pts, [1.0, 0.5], backend="torch")
    ref = {m: radar.backproject(ref_e, scan.tx, scan.rx, k, grid, method=m, backend="torch") for m in ("interp", "exact")}
    monkeypatch.setattr(torch_backend, "CHUNK_ELEMENTS", 97)
    assert torch_backend.chunk_elements(torch_backend._device("cpu")) == 97
    e = radar.simulate_echo(scan.tx, scan.rx, k, pts, [1.0, 0.5], backend="torch")
    assert np.allclose(e, ref_e, rtol=1e-6, atol=1e-6)
    for m, img in ref.items():
        assert np.allclose(radar.backproject(e, scan.tx, scan.rx, k, grid, method=m, backend="torch"), img,
                           rtol=1e-5, atol=1e-5 * np.abs(img).max())


def test_torch_kernel_compile_failure_falls_back_with_a_warning(monkeypatch):
    """On CUDA the radar chunks run through torch.compile; an inductor failure there must give
    the uncompiled result with one warning, never an error (CPU runs the plain function)."""
    import types

    import torch

    from sarsr.radar.backends import torch_backend

    def broken_compile(fn, **kw):
        def run(*a):
            raise RuntimeError("triton: no kernel for you")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(torch_backend, "_COMPILED", {})
    fake_cuda = types.SimpleNamespace(type="cuda")
    assert torch_backend._kernel(torch_backend._wrap, torch.device("cpu")) is torch_backend._wrap
    kern = torch_backend._kernel(torch_backend._wrap, fake_cuda)
    x = torch.tensor([0.5, 7.0, -20.0], dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="torch.compile of _wrap failed .*uncompiled"):
        y = kern(x)
    assert torch.equal(y, torch_backend._wrap(x))
    assert torch.allclose(torch.cos(y.double()), torch.cos(x), atol=1e-6)
    assert torch.equal(kern(x), y)  # later calls go straight to the plain function


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_interp_chunk_in_float32_geometry_matches_numba(rng, dtype):
    """The GPU runs the interp backprojection chunk with float32 geometry: on CPU, the same
    function in float32 stays within the float64 path's agreement with numba (x2)."""
    import torch

    from sarsr.radar.backends import torch_backend
    from sarsr.radar.physics.range_compression import image_path_window

    tx, rx, pts, amp = _geometry(rng, n=300, m=6)
    k = radar.waveform("iwr1443").k
    echo = radar.simulate_echo(tx, rx, k, pts, amp)
    grid = np.c_[rng.uniform(-0.04, 0.04, (200, 2)), np.full((200, 1), 0.3)]
    ref = radar.backproject(echo, tx, rx, k, grid, method="interp")
    r_min, r_max = image_path_window(tx, rx, k, grid)
    q_re, q_im, r0, dr, kc = torch_backend._range_profiles_torch(torch.as_tensor(echo), k, r_min, r_max, 8,
                                                                 torch.device("cpu"))
    t = {name: torch.as_tensor(v, dtype=getattr(torch, dtype)) for name, v in (("tx", tx), ("rx", rx), ("g", grid))}
    re, im = torch_backend._backproject_interp_chunk(q_re, q_im, t["tx"], t["rx"], t["g"], r0, dr, kc)
    assert re.dtype == torch.float64
    got = torch.complex(re, im).numpy()
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 4e-4
