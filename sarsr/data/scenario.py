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

from ..radar.masks import OBJECT_CLASSES, SHAPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Scenario", "ScenarioError", "load_scenario", "list_scenarios", "SIMULATORS_DIR", "SCHEMA"]

def _presets_dir() -> Path:
    """Folder of the packaged presets: ``sarsr.simulators`` (the repository's ``simulators/``)."""
    from importlib import resources

    try:
        return Path(str(resources.files("sarsr.simulators")))
    except ModuleNotFoundError:  # pragma: no cover - a source tree without the package mapping
        return Path(__file__).resolve().parents[2] / "simulators"


SIMULATORS_DIR = _presets_dir()


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the offending key."""


# schema: section -> key -> (type, check, default). Types: "int", "float", "bool", "str",
# "range" (two floats lo <= hi), "irange" (two ints), "list[str]".
_POS = lambda v: v > 0  # noqa: E731
_NONNEG = lambda v: v >= 0  # noqa: E731
_ANY = lambda v: True  # noqa: E731
_REQUIRED = object()

SCHEMA: dict[str, dict[str, tuple]] = {
    "": {"name": ("str", _ANY, _REQUIRED), "description": ("str", _ANY, "")},
    "waveform": {"preset": ("str", lambda v: v in ("iwr1443", "fmcw_v2", "fmcw_v1"), "iwr1443")},
    "array": {"preset": ("str", lambda v: v in ("awr1443", "monostatic"), "awr1443")},
    "trajectory": {
        "kind": ("str", lambda v: v in ("freehand", "raster", "linear_track"), _REQUIRED),
        "nx": ("int", _POS, 200), "ny_steps": ("int", _POS, 25),
        "surface_peak_to_peak_m": ("frange", _NONNEG, 0.03), "surface_filter_width": ("float", _POS, 3.0),
        "lateral_jitter_m": ("frange", _NONNEG, 0.0), "jitter_correlation_m": ("float", _POS, 0.02),
        "n_positions": ("int", _POS, 256), "passes": ("int", _POS, 1),
        "drift_sigma_m": ("float", _NONNEG, 0.0), "drift_correlation_m": ("float", _POS, 0.05),
        "z_m": ("float", _ANY, 0.0),
    },
    "position_error": {"sigma_m": ("frange", _NONNEG, 1e-3), "z_fraction": ("frange", _NONNEG, 1.0),
                       "correlation_length_m": ("frange", _NONNEG, 0.05),
                       "iid": ("bool", _ANY, False),
                       # per-record probability of an i.i.d. field instead of a smooth one (overrides iid)
                       "iid_probability": ("float", lambda v: 0 <= v <= 1, 0.0)},
    "noise": {"snr_db": ("range", _ANY, (-10.0, 50.0))},
    "scene": {
        "z0_range_m": ("range", lambda v: v[0] > 0, (0.25, 0.30)), "n_points": ("irange", lambda v: v[0] >= 0, (1, 32)),
        "n_shapes": ("irange_or_int", _NONNEG, 1), "shapes": ("list[str]", _ANY, None),
        "size_range_m": ("range", lambda v: v[0] > 0, (0.025, 0.035)),
        "center_range_m": ("float", _NONNEG, 0.03), "extent_m": ("float", _POS, 0.095),
        "shape_reflectivity": ("range", lambda v: v[0] > 0, (1.0, 1.0)),
        "shape_reflectivity_log": ("bool", _ANY, False),  # draw log-uniformly over the range
        "point_amplitude_range": ("range", lambda v: v[0] > 0, (0.5, 1.0)),
        "point_spacing_m": ("frange", _POS, 4 * 1.2e-3),  # minimum distance between scatterers
        "objects": ("list[str]", _ANY, None),  # recognition: one object of these classes per scene
    },
    "grid": {"n": ("int", _POS, 200), "extent_m": ("float", _POS, 0.1)},
    "reconstruction": {"nfft": ("int", lambda v: v >= 16, 512), "bp_oversample": ("int", _POS, 8),
                       # backprojection method for stored images: ffbp (fast, <= -35 dB from exact) or interp
                       "bp_method": ("str", lambda v: v in ("ffbp", "interp", "exact", "auto"), "auto"),
                       # aperture taper, drawn uniformly per record from this list
                       "taper": ("list[str]", lambda v: all(t in ("none", "hann", "hamming") for t in v), ("none",)),
                       # the network-input image stored as ``input``: method drawn per record
                       "input": ("list[str]", lambda v: all(t in ("empm", "backprojection") for t in v), ("empm",)),
                       "input_weights": ("list[float]", lambda v: all(w >= 0 for w in v) and sum(v) > 0, None)},
    "store": {"empm": ("bool", _ANY, True), "backprojection": ("bool", _ANY, False),
              "rma": ("bool", _ANY, False), "label": ("bool", _ANY, True),
              "input": ("bool", _ANY, False)},
}


#: Keys added after datasets were first generated (digest-neutral at their defaults).
_ADDED_KEYS = ("position_error.iid_probability", "scene.shape_reflectivity_log", "scene.point_amplitude_range",
               "scene.point_spacing_m", "reconstruction.taper", "reconstruction.input",
               "reconstruction.input_weights", "store.input")


def _passes(kind, check, v) -> bool:
    """Apply a key's check; for a number-or-range key given as a range, to both ends."""
    if kind in ("frange", "irange_or_int") and isinstance(v, tuple):
        return all(check(x) for x in v)
    return check(v)


def _check_value(key, kind, v):
    def bad(what):
        return ScenarioError(f"{key}: expected {what}, got {v!r}")

    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad("an integer")
        return v
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad("a number")
        return float(v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if kind == "str":
        if not isinstance(v, str):
            raise bad("a string")
        return v
    if kind == "frange":  # a number, or [low, high] drawn uniformly per record
        return _check_value(key, "range", v) if isinstance(v, list) else _check_value(key, "float", v)
    if kind == "irange_or_int":
        return _check_value(key, "irange", v) if isinstance(v, list) else _check_value(key, "int", v)
    if kind == "list[float]":
        if (not isinstance(v, list) or not v
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v)):
            raise bad("a non-empty list of numbers")
        return tuple(float(x) for x in v)
    if kind in ("range", "irange"):
        num = int if kind == "irange" else (int, float)
        if (not isinstance(v, list) or len(v) != 2 or any(isinstance(x, bool) or not isinstance(x, num) for x in v)
                or v[0] > v[1]):
            raise bad("[low, high] with low <= high" + (" (integers)" if kind == "irange" else ""))
        return tuple(int(x) if kind == "irange" else float(x) for x in v)
    if kind == "list[str]":
        if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
            raise bad("a non-empty list of strings")
        return tuple(v)
    raise AssertionError(kind)


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
            default = SCHEMA[section][leaf][2]
            if section in cfg and leaf in cfg[section] and json.loads(json.dumps(default)) == cfg[section][leaf]:
                del cfg[section][leaf]
        rec = cfg.get("reconstruction", {})
        uses_bp = cfg["store"].get("backprojection") or (cfg["store"].get("input") and "backprojection" in
                                                          rec.get("input", ()))
        if rec.get("bp_method") == "interp" or not uses_bp:  # interp: what every earlier dataset used
            rec.pop("bp_method", None)
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict) -> "Scenario":
        """Copy with dotted keys replaced (``{"position_error.sigma_m": 0.002}``), validated
        like a file; the override is recorded in ``text``."""
        cfg = json.loads(json.dumps(self.config))
        for key, val in overrides.items():
            section, _, leaf = key.rpartition(".")
            if section not in SCHEMA or leaf not in SCHEMA[section] or not section:
                raise ScenarioError(f"unknown key {key!r}")
            kind, check, _ = SCHEMA[section][leaf]
            v = _check_value(key, kind, val)
            if not _passes(kind, check, v):
                raise ScenarioError(f"{key}: value {val!r} out of range")
            cfg[section][leaf] = list(v) if isinstance(v, tuple) else v
        cfg = json.loads(json.dumps(cfg))
        for section in cfg:  # keep tuples as the loader makes them
            if isinstance(cfg[section], dict):
                for k, v in cfg[section].items():
                    if isinstance(v, list):
                        cfg[section][k] = tuple(v)
        note = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        return Scenario(self.name, cfg, self.text.rstrip("\n") + f"\n# override: {note}\n", self.source)

    def with_store(self, keep) -> "Scenario":
        """Copy with ``[store]`` set to exactly the names in ``keep``."""
        valid = set(SCHEMA["store"])
        bad = set(keep) - valid
        if bad:
            raise ScenarioError(f"store: unknown item(s) {sorted(bad)}; valid: {', '.join(sorted(valid))}")
        cfg = json.loads(json.dumps(self.config))
        cfg["store"] = {k: k in keep for k in SCHEMA["store"]}
        if not any(cfg["store"][k] for k in ("empm", "backprojection", "rma", "input")):
            raise ScenarioError("store: at least one of empm, backprojection, rma, input must be kept")
        lines = [l for l in self.text.splitlines()]
        text = "\n".join(lines) + "\n# --store override: " + ",".join(sorted(keep)) + "\n"
        return Scenario(self.name, cfg, text, self.source)

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> "Scenario":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
        cfg: dict = {}
        for key in raw:
            if key not in SCHEMA and not (key in SCHEMA[""] and not isinstance(raw[key], dict)):
                raise ScenarioError(f"{source}: unknown key '{key}' (valid: {', '.join(k for k in SCHEMA if k)}, "
                                    f"name, description)")

        for section, keys in SCHEMA.items():
            given = raw if section == "" else raw.get(section, {})
            if section and not isinstance(given, dict):
                raise ScenarioError(f"{source}: '{section}' must be a table ([{section}])")
            out = {}
            for k, v in given.items():
                full = f"{section}.{k}" if section else k
                if section == "" and isinstance(v, dict):
                    continue
                if k not in keys:
                    raise ScenarioError(f"{source}: unknown key '{full}' (valid: {', '.join(sorted(keys))})")
                kind, check, _ = keys[k]
                val = _check_value(full, kind, v)
                if not _passes(kind, check, val):
                    raise ScenarioError(f"{source}: {full}: value {v!r} out of range")
                if k == "objects":
                    if any(o not in OBJECT_CLASSES for o in val):
                        raise ScenarioError(f"{source}: {full}: unknown object class(es) "
                                            f"{sorted(set(val) - set(OBJECT_CLASSES))}; valid: {', '.join(OBJECT_CLASSES)}")
                if k == "shapes" and any(s not in SHAPES for s in val):
                    raise ScenarioError(f"{source}: {full}: unknown shape(s) {sorted(set(val) - set(SHAPES))}; "
                                        f"valid: {', '.join(SHAPES)}")
                out[k] = val
            for k, (_, _, default) in keys.items():
                if k not in out:
                    if default is _REQUIRED:
                        full = f"{section}.{k}" if section else k
                        raise ScenarioError(f"{source}: missing required key '{full}'")
                    out[k] = default
            if section:
                cfg[section] = out
            else:
                cfg.update(out)
        if not any(cfg["store"][k] for k in ("empm", "backprojection", "rma", "input")):
            raise ScenarioError(f"{source}: store: at least one of empm, backprojection, rma, input must be true")
        w = cfg["reconstruction"]["input_weights"]
        if w is not None and len(w) != len(cfg["reconstruction"]["input"]):
            raise ScenarioError(f"{source}: reconstruction.input_weights: {len(w)} weights for "
                                f"{len(cfg['reconstruction']['input'])} methods in reconstruction.input")
        return cls(cfg["name"], cfg, text, source)


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
    return Scenario.from_text(p.read_text(), str(p))
