"""The imager registry (sarsr.radar.imaging.imagers): one way in to every reconstruction method."""

import ast
from pathlib import Path

import numpy as np
import pytest

import sarsr
from sarsr import radar
from sarsr.radar.imaging.imagers import IMAGERS


def _toy_scan():
    wave = radar.waveform("iwr1443")
    scan = radar.freehand_scan("awr1443", nx=24, ny_steps=3, rng=0)
    scene = radar.point_scene([[0.0, 0.0, 0.1]])
    echo = radar.simulate_scan(scan, scene, wave, snr_db=40, rng=0)
    return wave, scan, echo, radar.image_grid(n=24, extent=0.012, z=0.1)


def test_registry_matches_the_direct_calls():
    wave, scan, echo, grid = _toy_scan()
    lat = dict(lattice_shape=scan.lattice_shape)
    direct = {"empm": radar.empm(echo, scan.tx_est, scan.rx_est, wave.k, grid, **lat),
              "backprojection": radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="interp"),
              "rma": radar.rma_planar(echo, scan.tx_est, scan.rx_est, wave.k, grid, **lat)}
    assert set(radar.list_imagers()) == set(direct)
    for name, want in direct.items():
        got = radar.reconstruct(name, echo, scan.tx_est, scan.rx_est, wave.k, grid, **lat, bp_method="interp",
                                nfft=512)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())
    assert radar.get_imager("bp").name == "backprojection" and radar.get_imager("rma_planar").label == "planar RMA"
    with pytest.raises(ValueError, match="needs the scan's sampling lattice"):
        radar.reconstruct("empm", echo, scan.tx_est, scan.rx_est, wave.k, grid)
    with pytest.raises(ValueError, match="choose from"):
        radar.get_imager("fbp")


def test_adding_a_method_is_one_registered_function(tmp_path):
    """A toy imager, registered once, is usable through reconstruct and listed among the choices
    (the docs' example); its options are the keywords it declares."""
    wave, scan, echo, grid = _toy_scan()

    @radar.register_imager("toy_flat", "flat toy", needs_lattice=False)
    def toy_flat(echo, tx, rx, k, grid, *, lattice_shape=None, level: float = 1.0):
        """A flat image of the mean echo magnitude (for the docs' example)."""
        return np.full(grid.shape, level * np.abs(echo).mean(), np.complex64)

    try:
        img = radar.reconstruct("toy_flat", echo, scan.tx_est, scan.rx_est, wave.k, grid, level=2.0, nfft=64)
        assert img.shape == grid.shape and np.allclose(img, 2 * np.abs(echo).mean())
        assert "toy_flat" in radar.imager_choices() and IMAGERS["toy_flat"].options == ("level",)
        with pytest.raises(ValueError, match="already registered"):
            radar.register_imager("bp", "again", needs_lattice=False)(toy_flat)
    finally:
        IMAGERS.pop("toy_flat")


#: (file, literal) pairs allowed outside the registry, each for a reason
ALLOWED = {("config.py", "empm"): "the training config's default data.source; sarsr.config sits below radar",
           ("cli.py", "bp"): "`sarsr bench bp`: the backprojection benchmark's subcommand name",
           ("radar/__init__.py", "empm"): "the public function radar.empm in __all__",
           ("radar/__init__.py", "rma_planar"): "the public function radar.rma_planar in __all__"}
METHOD_NAMES = {"empm", "EMPM", "bp", "backprojection", "rma", "rma_planar", "planar RMA"}


def test_no_method_name_outside_the_registry():
    """Method names are spelled once, in sarsr/radar/imaging/imagers.py: no other module of the package
    holds them as a string literal (docstrings and messages aside)."""
    pkg = Path(sarsr.__file__).parent
    found = []
    for path in pkg.rglob("*.py"):
        if path.name == "imagers.py":
            continue
        tree = ast.parse(path.read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in METHOD_NAMES
                    and id(node) not in docs and (str(path.relative_to(pkg)), node.value) not in ALLOWED):
                found.append(f"{path.relative_to(pkg)}:{node.lineno}: {node.value!r}")
    assert not found, "method names outside sarsr.radar.imaging.imagers: " + "; ".join(found)
