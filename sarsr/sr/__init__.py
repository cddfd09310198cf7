"""Super-resolution inference (:func:`super_resolve`), in three parts:

- :mod:`sarsr.sr.inference`: the network pass, resampling to the input's grid, the default
  output; :func:`read_image` for the file formats the CLI takes;
- :mod:`sarsr.sr.points`: points as data: the point head's output decoded into a table and
  drawn as the label's own spots (the default output of a network with a point head);
- :mod:`sarsr.sr.put_back`: screening mode (bright input peaks the network erased go back) and
  the input-peak policy of networks without a point head (``"auto"`` with the point detector).
"""

from ._loading import DEFAULT_SR_MODEL
from .inference import RESAMPLE_METHODS, load_sr_model, network_pass, read_image, resample_output, super_resolve
from .points import (DEFAULT_POINT_THRESHOLD, DEFAULT_PRESENCE_MASS, POINT_FIELDS, SPOT_WIDTH_PX,
                     UNCERTAIN_SPOT_WIDTH_M, compose, decode_points, decode_uncertain, draw_points, points_table)
from .put_back import (AUTO_DETECT_PATCH, AUTO_DETECT_PROBABILITY, AUTO_DETECT_THRESHOLD, AUTO_KEEP_BELOW,
                       AUTO_PEAK_THRESHOLD, AUTO_PUT_BACK_THRESHOLD, DEFAULT_POINT_DETECTOR, POINTS_MODES,
                       PUT_BACK_KEEP_FRACTION, PUT_BACK_RADIUS, apply_points_mode, keep_input_points,
                       kept_peak_fraction, load_point_detector, point_probability)
from ._loading import _CACHE  # noqa: F401  (tests clear it)
from .put_back import _points_mode  # noqa: F401  (sarsr.train.evaluate)

__all__ = ["super_resolve", "load_sr_model", "network_pass", "resample_output", "keep_input_points", "kept_peak_fraction",
           "apply_points_mode", "POINTS_MODES", "AUTO_KEEP_BELOW", "AUTO_PUT_BACK_THRESHOLD", "RESAMPLE_METHODS",
           "PUT_BACK_KEEP_FRACTION", "PUT_BACK_RADIUS", "AUTO_PEAK_THRESHOLD",
           "point_probability", "load_point_detector", "DEFAULT_POINT_DETECTOR",
           "AUTO_DETECT_PROBABILITY", "AUTO_DETECT_THRESHOLD", "AUTO_DETECT_PATCH",
           "DEFAULT_SR_MODEL", "read_image", "decode_points", "draw_points", "compose", "points_table",
           "POINT_FIELDS", "DEFAULT_POINT_THRESHOLD", "SPOT_WIDTH_PX", "decode_uncertain", "DEFAULT_PRESENCE_MASS",
           "UNCERTAIN_SPOT_WIDTH_M"]
