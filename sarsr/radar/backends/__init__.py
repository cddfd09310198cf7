"""Compute engines: numba kernels, the torch backend, and the plain-numpy reference definitions.

The public names are re-exported by :mod:`sarsr.radar`; import from there."""
