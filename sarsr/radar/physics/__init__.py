"""Acquisition physics: FMCW waveform, echo simulation, noise, range compression, aperture tapers.

The public names are re-exported by :mod:`sarsr.radar`; import from there."""
