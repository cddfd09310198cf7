"""sarsr: near-field mmWave SAR imaging with learned super-resolution.

Subpackages
-----------
radar
    FMCW MIMO physics, scan geometries, echo simulation and image reconstruction
    (backprojection, EMPM, planar RMA). numpy-in / numpy-out functions.
nn, models
    Shared efficient-ViT blocks; model registry (``create_model``), backbones, SR networks.
data
    Scenario presets, dataset generation (HDF5 shards), torch dataset.
train
    Training configs, trainer (resumable, DDP), evaluation.
sr
    ``super_resolve``: trained network inference on any image.
io
    Real captures: TI DCA1000 raw data, mmWave Studio / SDK configs, positions, calibration, .mat.
vision
    Recognition on radar images with the shared backbones (classification, progressive, dense).
checkpoint
    Safe loading of checkpoint and weights files (``weights_only=True``).
plot
    dB images, PSF cuts and trajectory plots.
cli
    The ``sarsr`` command line.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "super_resolve"]


def __getattr__(name):  # sarsr.super_resolve without importing torch at package import
    if name == "super_resolve":
        from .sr import super_resolve  # lazy: `import sarsr` without torch

        return super_resolve
    raise AttributeError(f"module 'sarsr' has no attribute {name!r}")
