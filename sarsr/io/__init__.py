"""Real radar captures and file interop: TI DCA1000 raw data, mmWave Studio / SDK configs,
scanner positions, MATLAB .mat (v5 and v7.3), and a writer for simulated captures."""

from .calibration import Calibration, apply_calibration, calibrate, load_calibration
from .capture import Capture, capture_channels, read_capture, simulate_capture, write_capture
from .dca1000 import CaptureSizeError, RawLayout, frame_bytes, read_dca1000, write_dca1000
from .images import MAX_IMAGE_PIXELS, read_image
from .matlab import is_v73, load_mat, save_mat
from .mmwave_config import DEVICES, ConfigParseError, RadarConfig, load_radar_config
from .positions import interpolate_positions, read_positions, write_positions

__all__ = ["read_image", "MAX_IMAGE_PIXELS", "Calibration", "apply_calibration", "calibrate", "load_calibration", "Capture", "capture_channels", "read_capture", "simulate_capture", "write_capture",
           "CaptureSizeError", "RawLayout", "frame_bytes", "read_dca1000", "write_dca1000", "is_v73",
           "load_mat", "save_mat", "DEVICES", "ConfigParseError", "RadarConfig", "load_radar_config",
           "interpolate_positions", "read_positions", "write_positions"]
