"""sarsr: near-field mmWave SAR imaging with learned super-resolution.

Subpackages
-----------
radar
    FMCW MIMO physics, scan geometries, echo simulation and image reconstruction
    (backprojection, EMPM, planar RMA). numpy-in / numpy-out functions.
plot
    dB images, PSF cuts and trajectory plots.
cli
    The ``sarsr`` command line.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
