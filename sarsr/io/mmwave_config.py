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
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..radar.waveform import FMCWWaveform

__all__ = ["RadarConfig", "load_radar_config", "ConfigParseError", "DEVICES"]

#: device → DCA1000 layout
DEVICES = {"xwr12xx": "xwr14xx", "xwr14xx": "xwr14xx", "iwr1443": "xwr14xx", "awr1443": "xwr14xx",
           "awr1243": "xwr14xx", "xwr16xx": "xwr16xx", "iwr1642": "xwr16xx", "awr1642": "xwr16xx",
           "xwr18xx": "xwr16xx", "iwr1843": "xwr16xx", "awr1843": "xwr16xx", "xwr68xx": "xwr16xx",
           "iwr6843": "xwr16xx"}


class ConfigParseError(ValueError):
    pass


@dataclass
class RadarConfig:
    """One chirp profile, chirp→Tx order and frame structure (SI units).

    ``tx_order``: Tx index (0-based) transmitting in each chirp of a loop; ``rx_mask``: enabled
    receivers; ``n_loops`` chirp loops per frame, ``n_frames`` frames.
    """

    start_freq_hz: float
    slope_hz_per_s: float
    sample_rate_hz: float
    n_samples: int
    adc_start_s: float = 0.0
    idle_s: float = 0.0
    ramp_end_s: float = 0.0
    tx_order: list = field(default_factory=lambda: [0, 2])
    rx_mask: int = 0b1111
    n_loops: int = 1
    n_frames: int = 1
    frame_period_s: float = 0.0
    device: str = "xwr14xx"
    iq_swap: bool = False
    ch_interleave: bool = False  # True = non-interleaved RX blocks requested (adcbufCfg)
    source: str = ""

    def __post_init__(self):
        if self.device.lower() not in DEVICES:
            raise ConfigParseError(f"{self.source or 'config'}: unknown device {self.device!r}; "
                                   f"known: {', '.join(sorted(DEVICES))}")
        self.device = self.device.lower()
        if self.n_samples < 1 or self.sample_rate_hz <= 0 or self.slope_hz_per_s == 0:
            raise ConfigParseError(f"{self.source or 'config'}: invalid profile (samples, rate, slope)")
        if not self.tx_order:
            raise ConfigParseError(f"{self.source or 'config'}: no chirp enables any Tx")

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
        return FMCWWaveform(self.start_freq_hz, self.slope_hz_per_s, self.sample_rate_hz, self.n_samples,
                            self.adc_start_s, self.idle_s, self.ramp_end_s, name=Path(self.source).name or "capture")

    def raw_layout(self, offset_binary: bool = False):
        from .dca1000 import RawLayout

        return RawLayout(self.n_samples, self.n_rx, self.n_tx, self.n_loops, self.layout, self.iq_swap, offset_binary)

    def to_dict(self) -> dict:
        return asdict(self)

    # ---- writers (used to save simulated captures) -------------------------------------
    def to_cfg(self) -> str:
        """mmWave SDK CLI text (the subset this reader uses)."""
        tx_mask = sum(1 << t for t in set(self.tx_order))
        lines = [f"% written by sarsr for device {self.device}",
                 f"channelCfg {self.rx_mask} {tx_mask} 0",
                 f"adcbufCfg -1 0 {int(self.iq_swap)} {int(self.ch_interleave)} 1",
                 f"profileCfg 0 {self.start_freq_hz / 1e9:.9g} {self.idle_s * 1e6:.9g} {self.adc_start_s * 1e6:.9g} "
                 f"{self.ramp_end_s * 1e6:.9g} 0 0 {self.slope_hz_per_s / 1e12:.9g} 0 {self.n_samples} "
                 f"{self.sample_rate_hz / 1e3:.9g} 0 0 30"]
        for i, t in enumerate(self.tx_order):
            lines.append(f"chirpCfg {i} {i} 0 0 0 0 0 {1 << t}")
        lines.append(f"frameCfg 0 {len(self.tx_order) - 1} {self.n_loops} {self.n_frames} "
                     f"{self.frame_period_s * 1e3:.9g} 1 0")
        return "\n".join(lines) + "\n"

    def to_mmwave_json(self) -> str:
        """mmWave Studio JSON export (the subset this reader uses)."""
        tx_mask = sum(1 << t for t in set(self.tx_order))
        chirps = [{"rlChirpCfg_t": {"chirpStartIdx": i, "chirpEndIdx": i, "profileId": 0,
                                    "txEnable": hex(1 << t)}} for i, t in enumerate(self.tx_order)]
        dev = {"mmWaveDeviceId": 0, "deviceName": self.device,
               "rfConfig": {"rlChanCfg_t": {"rxChannelEn": hex(self.rx_mask), "txChannelEn": hex(tx_mask)},
                            "rlProfiles": [{"rlProfileCfg_t": {
                                "profileId": 0, "startFreqConst_GHz": self.start_freq_hz / 1e9,
                                "idleTimeConst_usec": self.idle_s * 1e6, "adcStartTimeConst_usec": self.adc_start_s * 1e6,
                                "rampEndTime_usec": self.ramp_end_s * 1e6, "freqSlopeConst_MHz_usec": self.slope_hz_per_s / 1e12,
                                "numAdcSamples": self.n_samples, "digOutSampleRate": self.sample_rate_hz / 1e3}}],
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
    tx_order = []
    for idx in range(int(cstart), int(cend) + 1):
        masks = [m for s, e, m in chirps if s <= idx <= e]
        if not masks:
            raise ConfigParseError(f"{source}: frame uses chirp {idx} but no chirp configuration defines it")
        txs = _mask_to_tx(int(masks[-1]))
        if len(txs) != 1:
            raise ConfigParseError(f"{source}: chirp {idx} enables Tx {txs}; only TDM (one Tx per chirp) is supported")
        tx_order.append(txs[0])
    return RadarConfig(profile["start"] * 1e9, profile["slope"] * 1e12, profile["rate"] * 1e3,
                       int(profile["samples"]), profile["adc"] * 1e-6, profile["idle"] * 1e-6,
                       profile["ramp"] * 1e-6, tx_order, int(rx_mask), int(loops), int(frames),
                       float(period) * 1e-3, device, bool(iq_swap), bool(ch_interleave), source)


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
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
        raise ConfigParseError(f"{source}: not an mmWave Studio JSON export ({type(exc).__name__}: {exc})") from None
    return _from_parts(prof, chirps, frame, rx_mask, device or "xwr14xx", iq, chi, source)


def load_radar_config(path, device: str | None = None) -> RadarConfig:
    """Parse a ``.cfg`` (SDK CLI), ``.lua`` (mmWave Studio script) or ``.json`` (mmWave Studio
    export) file. ``device`` (e.g. ``"iwr1443"``) selects the DCA1000 layout; default xwr14xx
    (JSON exports carry their own device name)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such radar config: {p}")
    text = p.read_text()
    name = p.name.lower()
    if name.endswith(".json"):
        return _parse_json(text, str(p), device)
    if name.endswith(".lua"):
        return _parse_lua(text, str(p), device or "xwr14xx")
    if name.endswith(".cfg"):
        return _parse_cfg(text, str(p), device or "xwr14xx")
    raise ConfigParseError(f"{p}: unknown config type (expected .cfg, .lua or .json)")
