"""mmWave Studio / mmWave SDK configurations → one :class:`RadarConfig`.

Supported sources:

- SDK CLI ``.cfg``: ``profileCfg``, ``chirpCfg``, ``frameCfg`` (…, numLoops, numFrames, …),
  ``channelCfg``, ``adcbufCfg`` (IQ swap, channel interleave);
- mmWave Studio Lua: ``ar1.ProfileConfig``, ``ar1.ChirpConfig``, ``ar1.FrameConfig`` (…,
  numFrames, numLoops, …), ``ar1.ChanNAdcConfig``, ``ar1.DataFmtConfig`` is not required;
- mmWave Studio JSON export (``*.mmwave.json``): ``mmWaveDevices[0].rfConfig`` fields
  (``rlProfiles``, ``rlChirps``, ``rlFrameCfg_t``, ``rlChanCfg_t``) and
  ``rawDataCaptureConfig.rlDevDataFmtCfg_t`` (``iqSwapSel``, ``chInterleave``).

Units as in the tools (GHz, MHz/us, us, ksps) are converted to SI in :class:`RadarConfig`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._files import read_input_text
from ..radar.physics.waveform import FMCWWaveform
from .dca1000 import RawLayout

__all__ = ["RadarConfig", "load_radar_config", "ConfigParseError", "DEVICES"]

#: device → DCA1000 layout
DEVICES = {"xwr12xx": "xwr14xx", "xwr14xx": "xwr14xx", "iwr1443": "xwr14xx", "awr1443": "xwr14xx",
           "awr1243": "xwr14xx", "xwr16xx": "xwr16xx", "iwr1642": "xwr16xx", "awr1642": "xwr16xx",
           "xwr18xx": "xwr16xx", "iwr1843": "xwr16xx", "awr1843": "xwr16xx", "xwr68xx": "xwr16xx",
           "iwr6843": "xwr16xx"}


class ConfigParseError(ValueError):
    pass


#: Old RadarConfig spellings of the chirp-profile fields -> the FMCWWaveform field that holds them.
_PROFILE_ALIASES = {"start_freq_hz": "start_freq", "slope_hz_per_s": "slope", "sample_rate_hz": "sample_rate",
                    "n_samples": "num_samples", "adc_start_s": "adc_start_time", "idle_s": "idle_time",
                    "ramp_end_s": "ramp_end_time"}
_FRAME_DEFAULTS = {"tx_order": None, "rx_mask": 0b1111, "n_loops": 1, "n_frames": 1, "frame_period_s": 0.0,
                   "device": "xwr14xx", "iq_swap": False, "ch_interleave": False, "source": ""}


@dataclass(init=False)
class RadarConfig:
    """A capture's radar configuration: the chirp profile as an
    :class:`~sarsr.radar.FMCWWaveform` (SI units) plus the chirp -> Tx order and frame structure.

    ``RadarConfig(profile, tx_order=[0, 2], rx_mask=0b1111, n_loops=1, n_frames=1,
    frame_period_s=0.0, device="xwr14xx", iq_swap=False, ch_interleave=False, source="")``:
    ``tx_order`` is the Tx index (0-based) transmitting in each chirp of a loop, ``rx_mask`` the
    enabled receivers, ``n_loops`` chirp loops per frame, ``n_frames`` frames, ``frame_period_s``
    (s), ``device`` the chip (selects the DCA1000 layout), ``iq_swap`` / ``ch_interleave`` the
    ADC data format, ``source`` the file it came from.

    The old form with the seven profile values first (``RadarConfig(77e9, slope, rate, n, adc,
    idle, ramp, tx_order, ...)``) and the old attribute names (``start_freq_hz``,
    ``slope_hz_per_s``, ``sample_rate_hz``, ``n_samples``, ``adc_start_s``, ``idle_s``,
    ``ramp_end_s``) still work, with a DeprecationWarning naming ``profile``.
    """

    profile: FMCWWaveform
    tx_order: list
    rx_mask: int
    n_loops: int
    n_frames: int
    frame_period_s: float
    device: str
    iq_swap: bool
    ch_interleave: bool  # True = non-interleaved RX blocks requested (adcbufCfg)
    source: str

    def __init__(self, profile, *args, **kwargs):
        if not isinstance(profile, FMCWWaveform):  # the old form: seven profile values first
            warnings.warn("RadarConfig(start_freq_hz, slope_hz_per_s, ...) is deprecated; pass "
                          "RadarConfig(FMCWWaveform(...), tx_order, ...) (the profile field)", DeprecationWarning,
                          stacklevel=2)
            old = list(_PROFILE_ALIASES)
            values = dict(zip(old, (profile, *args[:6])))
            args = args[6:]
            for k in old:
                if k in kwargs:
                    values[k] = kwargs.pop(k)
            src = kwargs.get("source", args[8] if len(args) > 8 else "")
            try:
                profile = FMCWWaveform(*(float(values.get(k, 0.0)) for k in old[:3]), int(values.get("n_samples", 0)),
                                       *(float(values.get(k, 0.0)) for k in old[4:]),
                                       name=Path(src).name or "capture")
            except (TypeError, ValueError) as exc:
                raise ConfigParseError(f"{src or 'config'}: invalid chirp profile ({exc})") from None
        self.profile = profile
        names = list(_FRAME_DEFAULTS)
        if len(args) > len(names):
            raise TypeError(f"RadarConfig takes at most {len(names) + 1} positional arguments")
        vals = dict(_FRAME_DEFAULTS, **dict(zip(names, args)))
        for k, v in kwargs.items():
            if k not in vals:
                raise TypeError(f"RadarConfig got an unexpected keyword argument {k!r}")
            vals[k] = v
        if vals["tx_order"] is None:
            vals["tx_order"] = [0, 2]
        for k, v in vals.items():
            setattr(self, k, v)
        self.__post_init__()

    def __post_init__(self):
        if self.device.lower() not in DEVICES:
            raise ConfigParseError(f"{self.source or 'config'}: unknown device {self.device!r}; "
                                   f"known: {', '.join(sorted(DEVICES))}")
        self.device = self.device.lower()
        if not self.tx_order:
            raise ConfigParseError(f"{self.source or 'config'}: no chirp enables any Tx")

    def __getattr__(self, name):
        if name in _PROFILE_ALIASES:  # only reached for names that are not attributes
            warnings.warn(f"RadarConfig.{name} is deprecated; use RadarConfig.profile.{_PROFILE_ALIASES[name]}",
                          DeprecationWarning, stacklevel=2)
            return getattr(self.__dict__["profile"], _PROFILE_ALIASES[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def layout(self) -> str:
        return DEVICES[self.device]

    @property
    def n_rx(self) -> int:
        return bin(self.rx_mask).count("1")

    @property
    def n_tx(self) -> int:
        return len(self.tx_order)

    def waveform(self) -> FMCWWaveform:
        """The chirp profile (:attr:`profile`)."""
        return self.profile

    def raw_layout(self, offset_binary: bool = False):
        return RawLayout(self.profile.num_samples, self.n_rx, self.n_tx, self.n_loops, self.layout, self.iq_swap, offset_binary)

    def to_dict(self) -> dict:
        """Plain dict (the profile as a nested dict of FMCWWaveform fields)."""
        return asdict(self)

    # ---- writers (used to save simulated captures) -------------------------------------
    def to_cfg(self) -> str:
        """mmWave SDK CLI text (the subset this reader uses)."""
        w = self.profile
        tx_mask = sum(1 << t for t in set(self.tx_order))
        lines = [f"% written by sarsr for device {self.device}",
                 f"channelCfg {self.rx_mask} {tx_mask} 0",
                 f"adcbufCfg -1 0 {int(self.iq_swap)} {int(self.ch_interleave)} 1",
                 f"profileCfg 0 {w.start_freq / 1e9:.9g} {w.idle_time * 1e6:.9g} {w.adc_start_time * 1e6:.9g} "
                 f"{w.ramp_end_time * 1e6:.9g} 0 0 {w.slope / 1e12:.9g} 0 {w.num_samples} "
                 f"{w.sample_rate / 1e3:.9g} 0 0 30"]
        for i, t in enumerate(self.tx_order):
            lines.append(f"chirpCfg {i} {i} 0 0 0 0 0 {1 << t}")
        lines.append(f"frameCfg 0 {len(self.tx_order) - 1} {self.n_loops} {self.n_frames} "
                     f"{self.frame_period_s * 1e3:.9g} 1 0")
        return "\n".join(lines) + "\n"

    def to_mmwave_json(self) -> str:
        """mmWave Studio JSON export (the subset this reader uses)."""
        w = self.profile
        tx_mask = sum(1 << t for t in set(self.tx_order))
        chirps = [{"rlChirpCfg_t": {"chirpStartIdx": i, "chirpEndIdx": i, "profileId": 0,
                                    "txEnable": hex(1 << t)}} for i, t in enumerate(self.tx_order)]
        dev = {"mmWaveDeviceId": 0, "deviceName": self.device,
               "rfConfig": {"rlChanCfg_t": {"rxChannelEn": hex(self.rx_mask), "txChannelEn": hex(tx_mask)},
                            "rlProfiles": [{"rlProfileCfg_t": {
                                "profileId": 0, "startFreqConst_GHz": w.start_freq / 1e9,
                                "idleTimeConst_usec": w.idle_time * 1e6, "adcStartTimeConst_usec": w.adc_start_time * 1e6,
                                "rampEndTime_usec": w.ramp_end_time * 1e6, "freqSlopeConst_MHz_usec": w.slope / 1e12,
                                "numAdcSamples": w.num_samples, "digOutSampleRate": w.sample_rate / 1e3}}],
                            "rlChirps": chirps,
                            "rlFrameCfg_t": {"chirpStartIdx": 0, "chirpEndIdx": len(self.tx_order) - 1,
                                             "numLoops": self.n_loops, "numFrames": self.n_frames,
                                             "framePeriodicity_msec": self.frame_period_s * 1e3}},
               "rawDataCaptureConfig": {"rlDevDataFmtCfg_t": {"iqSwapSel": int(self.iq_swap),
                                                              "chInterleave": int(self.ch_interleave)}}}
        return json.dumps({"mmWaveDevices": [dev]}, indent=2)


def _num(s):
    s = str(s).strip()
    return int(s, 16) if s.lower().startswith("0x") else float(s)


def _mask_to_tx(mask: int) -> list[int]:
    return [t for t in range(3) if mask >> t & 1]


def _from_parts(profile, chirps, frame, rx_mask, device, iq_swap, ch_interleave, source):
    """profile: dict in tool units; chirps: list of (start, end, tx_mask); frame: (cstart, cend, loops, frames, period_ms)."""
    cstart, cend, loops, frames, period = frame
    _check_counts(source, chirps, cstart, cend, loops, frames, period, profile)
    tx_order = []
    for idx in range(int(cstart), int(cend) + 1):
        masks = [m for s, e, m in chirps if s <= idx <= e]
        if not masks:
            raise ConfigParseError(f"{source}: frame uses chirp {idx} but no chirp configuration defines it")
        txs = _mask_to_tx(int(masks[-1]))
        if len(txs) != 1:
            raise ConfigParseError(f"{source}: chirp {idx} enables Tx {txs}; only TDM (one Tx per chirp) is supported")
        tx_order.append(txs[0])
    try:
        wave = FMCWWaveform(profile["start"] * 1e9, profile["slope"] * 1e12, profile["rate"] * 1e3,
                            int(profile["samples"]), profile["adc"] * 1e-6, profile["idle"] * 1e-6,
                            profile["ramp"] * 1e-6, name=Path(source).name or "capture")
    except (TypeError, ValueError) as exc:
        raise ConfigParseError(f"{source}: invalid chirp profile ({exc})") from None
    return RadarConfig(wave, tx_order, int(rx_mask), int(loops), int(frames), float(period) * 1e-3, device,
                       bool(iq_swap), bool(ch_interleave), source)


#: Limits of the TI xWR chirp / frame configuration (the firmware's own ranges): chirp indices
#: 0-511, 1-255 loops per frame, up to 65535 frames, at most 1024 complex ADC samples.
MAX_CHIRP_INDEX, MAX_LOOPS, MAX_FRAMES, MAX_SAMPLES = 511, 255, 65535, 1024


def _check_counts(source, chirps, cstart, cend, loops, frames, period, profile):
    """Every count and index of a parsed config within what the radar can do (one-line errors
    naming the field): nothing later loops over a billion chirps."""
    def whole(name, v, lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v) \
                or not lo <= v <= hi:
            raise ConfigParseError(f"{source}: {name} must be a whole number in [{lo}, {hi}], got {v!r}")

    whole("frame chirp start index", cstart, 0, MAX_CHIRP_INDEX)
    whole("frame chirp end index", cend, int(cstart), MAX_CHIRP_INDEX)
    whole("number of loops", loops, 1, MAX_LOOPS)
    whole("number of frames", frames, 0, MAX_FRAMES)
    for s, e, _ in chirps:
        whole("chirp start index", s, 0, MAX_CHIRP_INDEX)
        whole("chirp end index", e, int(s), MAX_CHIRP_INDEX)
    if not (isinstance(period, (int, float)) and math.isfinite(period) and period >= 0):
        raise ConfigParseError(f"{source}: frame periodicity must be a finite number >= 0 ms, got {period!r}")
    whole("number of ADC samples", profile.get("samples"), 1, MAX_SAMPLES)
    for key in ("start", "idle", "adc", "ramp", "slope", "rate"):
        v = profile.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigParseError(f"{source}: profile field {key!r} must be a finite number, got {v!r}")


def _profile(v, idx):
    return dict(zip(("start", "idle", "adc", "ramp", "slope", "samples", "rate"), (v[i] for i in idx)))


def _bits(v, first, n):
    return sum(int(v[first + i]) << i for i in range(n))


# per format: command -> how its numeric arguments update the parse state (field positions as in
# TI's documentation; note the CLI frameCfg has loops before frames, the Lua FrameConfig after)
_HANDLERS = {
    "cfg": {
        "profileCfg": lambda v, st: st.update(prof=_profile(v, (1, 2, 3, 4, 7, 9, 10))),
        "chirpCfg": lambda v, st: st["chirps"].append((v[0], v[1], int(v[7]))),
        "frameCfg": lambda v, st: st.update(frame=(v[0], v[1], v[2], v[3], v[4])),
        "channelCfg": lambda v, st: st.update(rx_mask=int(v[0])),
        "adcbufCfg": lambda v, st: st.update(iq=bool(int(v[2])), chi=bool(int(v[3]))),
    },
    "lua": {
        "ProfileConfig": lambda v, st: st.update(prof=_profile(v, (1, 2, 3, 4, 11, 13, 14))),
        "ChirpConfig": lambda v, st: st["chirps"].append((v[0], v[1], _bits(v, 7, 3))),
        "FrameConfig": lambda v, st: st.update(frame=(v[0], v[1], v[3], v[2], v[4])),
        "ChanNAdcConfig": lambda v, st: st.update(rx_mask=_bits(v, 3, 4)),
    },
}
_REQUIRED_CALLS = {"cfg": ("profileCfg", "frameCfg"), "lua": ("ar1.ProfileConfig", "ar1.FrameConfig")}


def _collect(calls, fmt, source, device):
    """``calls``: (command, argument strings, original text) in file order."""
    st = dict(prof=None, chirps=[], frame=None, rx_mask=0b1111, iq=False, chi=False)
    handlers = _HANDLERS[fmt]
    for cmd, args, text in calls:
        if cmd not in handlers:
            continue
        try:
            handlers[cmd]([_num(a) for a in args], st)
        except (IndexError, ValueError) as exc:
            raise ConfigParseError(f"{source}: cannot parse '{text}': {exc}") from None
    if st["prof"] is None or st["frame"] is None:
        missing = _REQUIRED_CALLS[fmt][0 if st["prof"] is None else 1]
        raise ConfigParseError(f"{source}: missing {missing}")
    return _from_parts(st["prof"], st["chirps"], st["frame"], st["rx_mask"], device, st["iq"], st["chi"], source)


def _parse_cfg(text, source, device):
    calls = []
    for line in text.splitlines():
        line = line.split("%")[0].strip()
        if line:
            w = line.split()
            calls.append((w[0], w[1:], line))
    return _collect(calls, "cfg", source, device)


_LUA_CALL = re.compile(r"ar1\.(\w+)\s*\(([^)]*)\)")


def _parse_lua(text, source, device):
    calls = [(m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()], m.group(0))
             for m in _LUA_CALL.finditer(text)]
    return _collect(calls, "lua", source, device)


def _parse_json(text, source, device):
    try:
        d = json.loads(text)["mmWaveDevices"][0]
        rf = d["rfConfig"]
        p = rf["rlProfiles"][0]["rlProfileCfg_t"]
        prof = dict(start=_num(p["startFreqConst_GHz"]), idle=_num(p["idleTimeConst_usec"]),
                    adc=_num(p["adcStartTimeConst_usec"]), ramp=_num(p["rampEndTime_usec"]),
                    slope=_num(p["freqSlopeConst_MHz_usec"]), samples=_num(p["numAdcSamples"]),
                    rate=_num(p["digOutSampleRate"]))
        chirps = [(_num(c["rlChirpCfg_t"]["chirpStartIdx"]), _num(c["rlChirpCfg_t"]["chirpEndIdx"]),
                   int(_num(c["rlChirpCfg_t"]["txEnable"]))) for c in rf["rlChirps"]]
        f = rf["rlFrameCfg_t"]
        frame = (_num(f["chirpStartIdx"]), _num(f["chirpEndIdx"]), _num(f["numLoops"]), _num(f["numFrames"]),
                 _num(f.get("framePeriodicity_msec", 0)))
        rx_mask = int(_num(rf["rlChanCfg_t"]["rxChannelEn"]))
        fmt = d.get("rawDataCaptureConfig", {}).get("rlDevDataFmtCfg_t", {})
        iq, chi = int(_num(fmt.get("iqSwapSel", 0))), int(_num(fmt.get("chInterleave", 0)))
        device = device or d.get("deviceName")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        msg = " ".join(str(exc).split())[:160] if not isinstance(exc, RecursionError) else "nested too deeply"
        raise ConfigParseError(f"{source}: not an mmWave Studio JSON export ({type(exc).__name__}: {msg})") from None
    if device is not None and not isinstance(device, str):
        raise ConfigParseError(f"{source}: deviceName must be a string such as \"AWR1443\", got {device!r}")
    return _from_parts(prof, chirps, frame, rx_mask, device or "xwr14xx", iq, chi, source)


def load_radar_config(path, device: str | None = None) -> RadarConfig:
    """Parse a ``.cfg`` (SDK CLI), ``.lua`` (mmWave Studio script) or ``.json`` (mmWave Studio
    export) file. ``device`` (e.g. ``"iwr1443"``) selects the DCA1000 layout; default xwr14xx
    (JSON exports carry their own device name)."""
    p = Path(path)
    try:
        text = read_input_text(p, "radar config")
    except ValueError as exc:
        raise ConfigParseError(str(exc)) from None
    name = p.name.lower()
    if name.endswith(".json"):
        return _parse_json(text, str(p), device)
    if name.endswith(".lua"):
        return _parse_lua(text, str(p), device or "xwr14xx")
    if name.endswith(".cfg"):
        return _parse_cfg(text, str(p), device or "xwr14xx")
    raise ConfigParseError(f"{p}: unknown config type (expected .cfg, .lua or .json)")
