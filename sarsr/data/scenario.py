"""Scenario presets: a TOML file that fully defines an acquisition (waveform, array, trajectory,
position error, noise, scene distribution, image grid and which reconstructions to store).

Presets live in the repository's ``simulators/`` folder; :func:`load_scenario` accepts a preset
name or a path to a user's edited copy. Every key is validated: unknown keys and bad values are
rejected with a message naming the key. See ``simulators/README.md`` for the schema.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from importlib import resources

from .._files import read_input_text
from ..config import REQUIRED, Field, set_dotted, validate
from ..radar.imaging.imagers import BACKPROJECTION, DEFAULT_INPUT, list_imagers
from ..radar.geometry.masks import OBJECT_CLASSES, SHAPES
from ..radar.geometry.scene import SHAPE_PLATEAU

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Scenario", "ScenarioError", "load_scenario", "list_scenarios", "SIMULATORS_DIR", "SCHEMA"]

def _presets_dir() -> Path:
    """Folder of the packaged presets: ``sarsr.simulators`` (the repository's ``simulators/``)."""

    try:
        return Path(str(resources.files("sarsr.simulators")))
    except ModuleNotFoundError:  # pragma: no cover - a source tree without the package mapping
        return Path(__file__).resolve().parents[2] / "simulators"


SIMULATORS_DIR = _presets_dir()


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the offending key."""


# The schema (typed fields of the shared engine :mod:`sarsr.config`): section -> key -> Field.
_POS = lambda v: v > 0  # noqa: E731
_NONNEG = lambda v: v >= 0  # noqa: E731


def _in(*allowed):
    return lambda v: all(x in allowed for x in v)


SCHEMA: dict = {
    "name": Field("str"), "description": Field("str", ""),
    "waveform": {"preset": Field("str", "iwr1443", choices=("iwr1443", "fmcw_v2", "fmcw_v1"))},
    "array": {"preset": Field("str", "awr1443", choices=("awr1443", "monostatic"))},
    "trajectory": {
        "kind": Field("str", REQUIRED, choices=("freehand", "raster", "linear_track")),
        "nx": Field("int", 200, _POS), "ny_steps": Field("int", 25, _POS),
        "surface_peak_to_peak_m": Field("frange", 0.03, _NONNEG), "surface_filter_width": Field("float", 3.0, _POS),
        "lateral_jitter_m": Field("frange", 0.0, _NONNEG), "jitter_correlation_m": Field("float", 0.02, _POS),
        "n_positions": Field("int", 256, _POS), "passes": Field("int", 1, _POS),
        "drift_sigma_m": Field("float", 0.0, _NONNEG), "drift_correlation_m": Field("float", 0.05, _POS),
        "z_m": Field("float", 0.0),
    },
    "position_error": {"sigma_m": Field("frange", 1e-3, _NONNEG), "z_fraction": Field("frange", 1.0, _NONNEG),
                       "correlation_length_m": Field("frange", 0.05, _NONNEG),
                       "iid": Field("bool", False),
                       # per-record probability of an i.i.d. field instead of a smooth one (overrides iid)
                       "iid_probability": Field("float", 0.0, lambda v: 0 <= v <= 1)},
    "noise": {"snr_db": Field("range", (-10.0, 50.0))},
    "scene": {
        "z0_range_m": Field("range", (0.25, 0.30), lambda v: v[0] > 0),
        "n_points": Field("irange", (1, 32), lambda v: v[0] >= 0),
        "n_shapes": Field("irange_or_int", 1, _NONNEG), "shapes": Field("list[str]", None, _in(*SHAPES)),
        "size_range_m": Field("range", (0.025, 0.035), lambda v: v[0] > 0),
        "center_range_m": Field("float", 0.03, _NONNEG), "extent_m": Field("float", 0.095, _POS),
        "shape_reflectivity": Field("range", (1.0, 1.0), lambda v: v[0] > 0),
        "shape_reflectivity_log": Field("bool", False),  # draw log-uniformly over the range
        "point_amplitude_range": Field("range", (0.5, 1.0), lambda v: v[0] > 0),
        # label level inside each solid shape, drawn per shape (the paper's labels: ~0.6)
        "shape_plateau": Field("range", (SHAPE_PLATEAU, SHAPE_PLATEAU), lambda v: v[0] > 0 and v[1] <= 1),
        "point_spacing_m": Field("frange", 4 * 1.2e-3, _POS),  # minimum distance between scatterers
        "objects": Field("list[str]", None, _in(*OBJECT_CLASSES)),  # recognition: one object of these classes per scene
    },
    "grid": {"n": Field("int", 200, _POS), "extent_m": Field("float", 0.1, _POS)},
    "reconstruction": {"nfft": Field("int", 512, lambda v: v >= 16), "bp_oversample": Field("int", 8, _POS),
                       # backprojection method for stored images: ffbp (fast, <= -35 dB from exact) or interp
                       "bp_method": Field("str", "auto", choices=("ffbp", "interp", "exact", "auto")),
                       # aperture taper, drawn uniformly per record from this list
                       "taper": Field("list[str]", ("none",), _in("none", "hann", "hamming")),
                       # the network-input image stored as ``input``: method drawn per record
                       "input": Field("list[str]", (DEFAULT_INPUT,), _in(*list_imagers(network_input=True))),
                       "input_weights": Field("list[float]", None, lambda v: all(w >= 0 for w in v) and sum(v) > 0),
                       # estimate the position error from the echoes first (sarsr.radar.autofocus;
                       # lattice trajectories), then image at the corrected positions
                       "autofocus": Field("bool", False),
                       # keyword options of sarsr.radar.autofocus (AUTOFOCUS_OPTIONS), e.g. the
                       # explorer's quicker { k_step = 8, max_iter = 10 }; {} = its defaults
                       "autofocus_options": Field("table", {})},
    # one key per registered imager (the default input stored by default), the label, the drawn input
    "store": {**{name: Field("bool", name == DEFAULT_INPUT) for name in list_imagers()}, "label": Field("bool", True),
              "input": Field("bool", False)},
}


#: The ``[store]`` keys that hold images: one per registered imager, and the drawn network input.
IMAGE_STORE_KEYS = (*list_imagers(), "input")

#: Keys added after datasets were first generated (digest-neutral at their defaults).
_ADDED_KEYS = ("position_error.iid_probability", "scene.shape_reflectivity_log", "scene.point_amplitude_range",
               "scene.point_spacing_m", "reconstruction.taper", "reconstruction.input",
               "reconstruction.input_weights", "store.input", "reconstruction.autofocus", "scene.shape_plateau",
               "reconstruction.autofocus_options")

#: Keys of ``reconstruction.autofocus_options``: the tunable keyword options of
#: :func:`sarsr.radar.autofocus` (their values are checked by it, in one-line errors).
AUTOFOCUS_OPTIONS = ("nodes", "axes", "k_step", "nfft", "max_iter", "regularization", "power", "floor", "min_gain",
                     "start", "plane", "keep_if_sharper", "pga_targets")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``config`` holds every section with defaults filled in; ``text``
    is the source TOML (stored in datasets for provenance)."""

    name: str
    config: dict
    text: str
    source: str

    def __getitem__(self, section):
        return self.config[section]

    @property
    def digest(self) -> str:
        """SHA-256 of the normalised config: two files meaning the same acquisition match."""
        cfg = json.loads(json.dumps(self.config))
        for dotted in _ADDED_KEYS:  # keys added later: at their default they leave the digest as it was
            section, leaf = dotted.split(".")
            default = SCHEMA[section][leaf].default
            if section in cfg and leaf in cfg[section] and json.loads(json.dumps(default)) == cfg[section][leaf]:
                del cfg[section][leaf]
        rec = cfg.get("reconstruction", {})
        uses_bp = cfg["store"].get(BACKPROJECTION) or (cfg["store"].get("input") and BACKPROJECTION in
                                                        rec.get("input", ()))
        if rec.get("bp_method") == "interp" or not uses_bp:  # interp: what every earlier dataset used
            rec.pop("bp_method", None)
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict) -> "Scenario":
        """Copy with dotted keys replaced (``{"position_error.sigma_m": 0.002}``), validated
        like a file (the same engine and errors as ``sarsr train --set``); the override is
        recorded in ``text``."""
        raw = json.loads(json.dumps(self.config))
        for sec in list(raw):  # unset optional keys are absent in a file, not null
            if isinstance(raw[sec], dict):
                raw[sec] = {k: v for k, v in raw[sec].items() if v is not None}
        for key, val in overrides.items():
            if "." not in key:
                raise ScenarioError(f"unknown key {key!r} (give section.key, e.g. position_error.sigma_m)")
            set_dotted(raw, key, val)
        note = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        cfg = _validated(raw, "override")
        return Scenario(self.name, cfg, self.text.rstrip("\n") + f"\n# override: {note}\n", self.source)

    def with_store(self, keep) -> "Scenario":
        """Copy with ``[store]`` set to exactly the names in ``keep``."""
        valid = set(SCHEMA["store"])
        bad = set(keep) - valid
        if bad:
            raise ScenarioError(f"store: unknown item(s) {sorted(bad)}; valid: {', '.join(sorted(valid))}")
        cfg = json.loads(json.dumps(self.config))
        cfg["store"] = {k: k in keep for k in SCHEMA["store"]}
        if not any(cfg["store"][k] for k in IMAGE_STORE_KEYS):
            raise ScenarioError(f"store: at least one of {', '.join(IMAGE_STORE_KEYS)} must be kept")
        lines = [l for l in self.text.splitlines()]
        text = "\n".join(lines) + "\n# --store override: " + ",".join(sorted(keep)) + "\n"
        return Scenario(self.name, cfg, text, self.source)

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> "Scenario":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ScenarioError(f"{source}: not valid TOML: nested too deeply") from None
        cfg = _validated(raw, source)
        return cls(cfg["name"], cfg, text, source)


def _validated(raw: dict, source: str) -> dict:
    """A scenario's config from its parsed TOML: the schema (shared engine) plus the checks
    that span keys."""
    bad = [k for k in ("shapes", "objects") if isinstance(raw.get("scene", {}).get(k), list)
           and not all(isinstance(x, str) and x in (SHAPES if k == "shapes" else OBJECT_CLASSES)
                       for x in raw["scene"][k])]
    for k in bad:  # name the unknown ones (clearer than "out of range")
        valid = SHAPES if k == "shapes" else OBJECT_CLASSES
        unknown = sorted(set(map(str, raw["scene"][k])) - set(valid))
        raise ScenarioError(f"{source}: scene.{k}: unknown {'shape' if k == 'shapes' else 'object class'}(s) "
                            f"{unknown}; valid: {', '.join(valid)}")
    cfg = validate(raw, SCHEMA, source, ScenarioError)
    unknown = sorted(set(cfg["reconstruction"]["autofocus_options"]) - set(AUTOFOCUS_OPTIONS))
    if unknown:
        raise ScenarioError(f"{source}: reconstruction.autofocus_options: unknown option(s) {unknown}; "
                            f"valid: {', '.join(AUTOFOCUS_OPTIONS)}")
    if not any(cfg["store"][k] for k in IMAGE_STORE_KEYS):
        raise ScenarioError(f"{source}: store: at least one of {', '.join(IMAGE_STORE_KEYS)} must be true")
    w = cfg["reconstruction"]["input_weights"]
    if w is not None and len(w) != len(cfg["reconstruction"]["input"]):
        raise ScenarioError(f"{source}: reconstruction.input_weights: {len(w)} weights for "
                            f"{len(cfg['reconstruction']['input'])} methods in reconstruction.input")
    return cfg


def list_scenarios() -> list[str]:
    """Names of the presets in ``simulators/``."""
    return sorted(p.stem for p in SIMULATORS_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a preset by name (``"paper_freehand"``) or a TOML file by path."""
    p = Path(name_or_path)
    if not p.suffix and not p.exists():
        p = SIMULATORS_DIR / f"{name_or_path}.toml"
    if not p.exists():
        raise FileNotFoundError(f"no scenario {str(name_or_path)!r}: not a file and not a preset "
                                f"(presets: {', '.join(list_scenarios())})")
    return Scenario.from_text(read_input_text(p, "scenario"), str(p))
