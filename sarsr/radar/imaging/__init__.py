"""Image formation: backprojection (direct and factorised), EMPM and planar RMA, the imager registry.

The public names are re-exported by :mod:`sarsr.radar`; import from there."""
