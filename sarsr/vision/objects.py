"""Object classes for the recognition benchmark (concealed-object screening), rasterised as
scatterer sets like the SR scenes' solid shapes. Each class is a mask on normalised
coordinates (the object spans [-1, 1] along its long axis); :func:`sarsr.radar.shape_scene`
renders it at any size, position and rotation."""

from __future__ import annotations

import numpy as np

from ..radar.scene import _inside_polygon, _mask, register_shape

__all__ = ["OBJECT_CLASSES", "object_mask"]


def _seg(u, v, p0, p1, half_width):
    """Thick segment from p0 to p1."""
    d = np.subtract(p1, p0, dtype=float)
    L = np.hypot(*d)
    t = ((u - p0[0]) * d[0] + (v - p0[1]) * d[1]) / (L * L)
    px, py = p0[0] + np.clip(t, 0, 1) * d[0], p0[1] + np.clip(t, 0, 1) * d[1]
    return (u - px) ** 2 + (v - py) ** 2 <= half_width ** 2


def _ring(u, v, c, r_out, r_in):
    r2 = (u - c[0]) ** 2 + (v - c[1]) ** 2
    return (r2 <= r_out ** 2) & (r2 >= r_in ** 2)


def _knife(u, v):
    blade = _inside_polygon(u, v, np.array([[-0.15, 0.16], [1.0, 0.02], [1.0, -0.02], [-0.15, -0.16]]))
    handle = (u >= -1) & (u <= -0.15) & (np.abs(v) <= 0.12)
    return blade | handle


def _scissors(u, v):
    loops = _ring(u, v, (-0.65, 0.3), 0.3, 0.17) | _ring(u, v, (-0.65, -0.3), 0.3, 0.17)
    blades = _seg(u, v, (-0.4, 0.22), (1.0, -0.12), 0.07) | _seg(u, v, (-0.4, -0.22), (1.0, 0.12), 0.07)
    return loops | blades


def _handgun(u, v):
    barrel = (u >= -0.55) & (u <= 1.0) & (v >= 0.15) & (v <= 0.5)
    grip = _inside_polygon(u, v, np.array([[-0.55, 0.2], [-0.2, 0.2], [-0.45, -0.75], [-0.85, -0.75]]))
    guard = _ring(u, v, (-0.05, 0.05), 0.2, 0.12) & (v <= 0.15)
    return barrel | grip | guard


def _wrench(u, v):
    shaft = (np.abs(u) <= 0.62) & (np.abs(v) <= 0.11)
    jaw = _ring(u, v, (0.78, 0.0), 0.3, 0.12) & ~((u > 0.78) & (np.abs(v) <= 0.12))
    box = _ring(u, v, (-0.8, 0.0), 0.24, 0.1)
    return shaft | jaw | box


def _key(u, v):
    head = _ring(u, v, (-0.62, 0.0), 0.38, 0.16)
    shaft = (u >= -0.26) & (u <= 1.0) & (np.abs(v) <= 0.08)
    teeth = np.zeros_like(u, dtype=bool)
    for c in (0.45, 0.65, 0.88):
        teeth |= (np.abs(u - c) <= 0.06) & (v <= 0) & (v >= -0.27)
    return head | shaft | teeth


def _phone(u, v):
    return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.5) & ~((np.abs(u) > 0.88) & (np.abs(v) > 0.38))


def _coin(u, v):
    return u * u + v * v <= 0.4 ** 2


def _cross(u, v):
    return _mask("cross", u, v)


_OBJECTS = {"knife": _knife, "scissors": _scissors, "handgun": _handgun, "wrench": _wrench, "key": _key,
            "phone": _phone, "coin": _coin, "cross": _cross}
#: Class names, in class-id order.
OBJECT_CLASSES = tuple(_OBJECTS)

for _name, _fn in _OBJECTS.items():
    if _name != "cross":
        register_shape(_name, _fn)


def object_mask(name: str, n: int = 64) -> np.ndarray:
    """The class mask on an n x n grid over [-1, 1]^2 (for display and tests)."""
    if name not in _OBJECTS:
        raise ValueError(f"unknown object class {name!r}; choose from {OBJECT_CLASSES}")
    g = np.linspace(-1, 1, n)
    U, V = np.meshgrid(g, g, indexing="ij")
    return _OBJECTS[name](U, V)
