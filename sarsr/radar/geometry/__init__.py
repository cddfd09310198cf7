"""Geometry: MIMO arrays, scan paths, position error, image grids, scenes and object masks.

The public names are re-exported by :mod:`sarsr.radar`; import from there."""
