"""FMCW chirp waveforms and their derived sampling quantities.

A dechirped FMCW sample ``n`` of a chirp with slope ``S`` (Hz/s), sampled at ``fs`` (Hz)
starting ``t_adc`` after the ramp start, corresponds to the instantaneous frequency

    f_n = f_start + S * t_adc + n * S / fs,       n = 0 .. N-1

and to the wavenumber ``k_n = 2 pi f_n / c`` (rad/m) used by the imaging functions.
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

from .constants import C0


@dataclass(frozen=True)
class FMCWWaveform:
    """One FMCW chirp profile.

    Attributes
    ----------
    start_freq : float
        Ramp start frequency (Hz).
    slope : float
        Frequency slope (Hz/s).
    sample_rate : float
        Complex ADC sample rate (samples/s).
    num_samples : int
        ADC samples per chirp.
    adc_start_time : float
        Delay from ramp start to the first ADC sample (s). The first sample's frequency is
        ``start_freq + slope * adc_start_time``.
    idle_time, ramp_end_time : float
        Chirp timing (s); informational (chirp period = idle + ramp end).
    name : str
        Preset name or a free label.
    """

    start_freq: float
    slope: float
    sample_rate: float
    num_samples: int
    adc_start_time: float = 0.0
    idle_time: float = 0.0
    ramp_end_time: float = 0.0
    name: str = "custom"

    def __post_init__(self):
        for field in ("start_freq", "slope", "sample_rate"):
            v = getattr(self, field)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"FMCWWaveform.{field} must be a positive finite number, got {v!r}")
        if int(self.num_samples) != self.num_samples or self.num_samples < 1:
            raise ValueError(f"FMCWWaveform.num_samples must be a positive integer, got {self.num_samples!r}")
        for field in ("adc_start_time", "idle_time", "ramp_end_time"):
            v = getattr(self, field)
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"FMCWWaveform.{field} must be >= 0 (s), got {v!r}")

    # ------------------------------------------------------------------ derived
    @property
    def first_sample_freq(self) -> float:
        """Frequency of the first ADC sample (Hz)."""
        return self.start_freq + self.slope * self.adc_start_time

    @property
    def freq_step(self) -> float:
        """Frequency step between consecutive ADC samples (Hz)."""
        return self.slope / self.sample_rate

    @property
    def frequencies(self) -> np.ndarray:
        """Sample frequencies f_n (Hz), shape (num_samples,)."""
        return self.first_sample_freq + np.arange(self.num_samples) * self.freq_step

    @property
    def k(self) -> np.ndarray:
        """Wavenumbers k_n = 2 pi f_n / c (rad/m), shape (num_samples,)."""
        return 2.0 * np.pi * self.frequencies / C0

    @property
    def bandwidth(self) -> float:
        """Sampled bandwidth B = S * N / fs (Hz)."""
        return self.slope * self.num_samples / self.sample_rate

    @property
    def center_freq(self) -> float:
        """Mean sample frequency (Hz)."""
        return float(self.frequencies.mean())

    @property
    def wavelength(self) -> float:
        """Wavelength at the centre frequency (m)."""
        return C0 / self.center_freq

    @property
    def range_resolution(self) -> float:
        """Range resolution c / (2 B) (m)."""
        return C0 / (2.0 * self.bandwidth)

    @property
    def max_range(self) -> float:
        """Maximum unambiguous range for complex sampling, c * fs / (2 S) (m)."""
        return C0 * self.sample_rate / (2.0 * self.slope)

    @property
    def chirp_time(self) -> float:
        """ADC sampling duration N / fs (s)."""
        return self.num_samples / self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_profile(cls, start_freq_ghz: float, slope_mhz_per_us: float, sample_rate_ksps: float,
                     num_samples: int, adc_start_time_us: float = 0.0, idle_time_us: float = 0.0,
                     ramp_end_time_us: float = 0.0, name: str = "profile") -> "FMCWWaveform":
        """Build from mmWave Studio / SDK ``profileCfg`` fields in their native units.

        Parameters
        ----------
        start_freq_ghz : ramp start frequency (GHz)
        slope_mhz_per_us : frequency slope (MHz/us)
        sample_rate_ksps : ``digOutSampleRate`` (ksps)
        num_samples : ``numAdcSamples``
        adc_start_time_us, idle_time_us, ramp_end_time_us : timings (us)
        """
        return cls(start_freq=start_freq_ghz * 1e9, slope=slope_mhz_per_us * 1e12,
                   sample_rate=sample_rate_ksps * 1e3, num_samples=int(num_samples),
                   adc_start_time=adc_start_time_us * 1e-6, idle_time=idle_time_us * 1e-6,
                   ramp_end_time=ramp_end_time_us * 1e-6, name=name)

    @classmethod
    def preset(cls, name: str) -> "FMCWWaveform":
        """Return a named preset (see :data:`WAVEFORM_PRESETS`)."""
        key = name.lower()
        if key not in WAVEFORM_PRESETS:
            raise ValueError(f"unknown waveform preset {name!r}; choose from {sorted(WAVEFORM_PRESETS)}")
        return WAVEFORM_PRESETS[key]


#: Named waveforms. ``iwr1443`` is the paper's "fmcw_v2": 77 GHz, 124.996 MHz/us, 2 Msps,
#: 64 samples (B = 4.0 GHz). ``fmcw_v1`` is the author's older profile (79 samples, 100.036 MHz/us).
WAVEFORM_PRESETS: dict[str, FMCWWaveform] = {
    "iwr1443": FMCWWaveform(77e9, 124.996e12, 2e6, 64, ramp_end_time=33e-6, name="iwr1443"),
    "fmcw_v1": FMCWWaveform(77e9, 100.036e12, 2e6, 79, ramp_end_time=39.98e-6, name="fmcw_v1"),
}
WAVEFORM_PRESETS["fmcw_v2"] = WAVEFORM_PRESETS["iwr1443"]


def waveform(name_or_waveform="iwr1443") -> FMCWWaveform:
    """Return a :class:`FMCWWaveform` from a preset name (or pass one through)."""
    if isinstance(name_or_waveform, FMCWWaveform):
        return name_or_waveform
    return FMCWWaveform.preset(str(name_or_waveform))
