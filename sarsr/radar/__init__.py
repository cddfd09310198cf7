"""Near-field FMCW MIMO SAR physics: waveforms, arrays, scans, scenes, simulation, imaging.

Plain functions over numpy arrays (SI units: m, rad/m, Hz, dB). Typical use::

    from sarsr import radar
    wave = radar.waveform("iwr1443")                      # 77 GHz, 4 GHz, 64 samples
    scan = radar.freehand_scan("awr1443", error=radar.PositionError(1e-3), rng=0)
    scene, z0 = radar.random_scene(rng=0)
    echo = radar.simulate_scan(scan, scene, wave, snr_db=20, rng=0)
    grid = radar.image_grid(z=z0)                          # 200 x 200 over [-0.1, 0.1) m
    img = radar.empm(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape)
    bp = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points)
    label = radar.label_image(scene, grid)
    img = radar.reconstruct("backprojection", echo, scan.tx_est, scan.rx_est, wave.k, grid)  # any registered method
"""

from .autofocus import AutofocusResult, autofocus
from .geometry.array import MIMOArray, awr1443_array, mimo_array, monostatic_array
from .imaging.backprojection import backproject, choose_method, path_window, range_profiles
from .physics.constants import C0
from .imaging.fourier import empm, rma_planar
from .imaging.imagers import Imager, get_imager, imager_choices, list_imagers, reconstruct, register_imager
from .geometry.grid import ImageGrid, image_grid, line_points, resized_grid, volume_points
from .physics.noise import add_awgn
from .geometry.position_error import DEFAULT_CORRELATION_LENGTH, PositionError, smooth_random_field
from .geometry.scan import Scan, freehand_scan, freehand_surface, linear_track, raster_scan
from .geometry.masks import OBJECT_CLASSES, object_mask
from .geometry.scene import (LABEL_WIDTH, SHAPES, Scene, label_image, point_scene, random_points, random_scene, register_shape,
                    scene_from_objects, shape_scene)
from .physics.simulate import simulate_echo, simulate_scan
from .physics.taper import TAPERS, aperture_taper
from .physics.waveform import WAVEFORM_PRESETS, FMCWWaveform, waveform

__all__ = [
    "C0", "FMCWWaveform", "WAVEFORM_PRESETS", "waveform",
    "MIMOArray", "awr1443_array", "monostatic_array", "mimo_array",
    "Scan", "raster_scan", "freehand_scan", "freehand_surface", "linear_track",
    "PositionError", "smooth_random_field", "DEFAULT_CORRELATION_LENGTH", "add_awgn",
    "Scene", "SHAPES", "OBJECT_CLASSES", "object_mask", "register_shape", "LABEL_WIDTH", "point_scene", "shape_scene", "random_points", "random_scene", "scene_from_objects", "label_image",
    "ImageGrid", "image_grid", "resized_grid", "volume_points", "line_points",
    "simulate_echo", "simulate_scan", "autofocus", "AutofocusResult", "TAPERS", "aperture_taper", "backproject", "choose_method", "path_window", "range_profiles", "empm", "rma_planar",
    "Imager", "register_imager", "get_imager", "list_imagers", "imager_choices", "reconstruct",
]
