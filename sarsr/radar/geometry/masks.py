"""Shape masks on normalised coordinates (a shape spans [-1, 1]): the solid shapes of the SR
scenes (:data:`SHAPES`) and the object classes of the recognition benchmark
(:data:`OBJECT_CLASSES`: knife, scissors, handgun, ...). :func:`sarsr.radar.shape_scene`
rasterises any of them into scatterers at a size, position and rotation."""

from __future__ import annotations

import numpy as np

__all__ = ["SHAPES", "OBJECT_CLASSES", "object_mask", "register_shape"]


def _polygon(n_vertices, inner=None, phase=np.pi / 2):
    """Regular polygon (or star when ``inner`` radius given), unit circumradius."""
    if inner is None:
        ang = phase + 2 * np.pi * np.arange(n_vertices) / n_vertices
        return np.c_[np.cos(ang), np.sin(ang)]
    ang = phase + np.pi * np.arange(2 * n_vertices) / n_vertices
    rad = np.where(np.arange(2 * n_vertices) % 2 == 0, 1.0, inner)
    return np.c_[rad * np.cos(ang), rad * np.sin(ang)]


def _inside_polygon(u, v, poly):
    """Even-odd rule point-in-polygon, vectorised over points."""
    inside = np.zeros(u.shape, bool)
    x0, y0 = poly[-1]
    for x1, y1 in poly:
        cond = (y1 > v) != (y0 > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x1 + (v - y1) * (x0 - x1) / (y0 - y1)
        inside ^= cond & (u < xc)
        x0, y0 = x1, y1
    return inside


_EXTRA_MASKS: dict = {}


def register_shape(name: str, mask_fn) -> None:
    """Make ``shape_scene`` accept ``name``: ``mask_fn(u, v) -> bool array`` on normalised
    coordinates (the shape spans [-1, 1]), for user-defined shapes."""
    if name in SHAPES or name in _OBJECTS:
        raise ValueError(f"shape {name!r} is built in")
    _EXTRA_MASKS[name] = mask_fn


def _mask(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Indicator of a unit shape on normalised coordinates (shape spans [-1, 1])."""
    if name in _EXTRA_MASKS:
        return _EXTRA_MASKS[name](u, v)
    if name in _OBJECTS and name not in SHAPES:
        return _OBJECTS[name](u, v)
    au, av = np.abs(u), np.abs(v)
    r2 = u * u + v * v
    if name == "circle":
        return r2 <= 1
    if name == "square":
        return (au <= 0.85) & (av <= 0.85)
    if name == "rectangle":
        return (au <= 1) & (av <= 0.55)
    if name == "diamond":
        return au + av <= 1
    if name == "cross":
        return ((au <= 0.3) & (av <= 1)) | ((av <= 0.3) & (au <= 1))
    if name == "ring":
        return (r2 <= 1) & (r2 >= 0.55 ** 2)
    if name == "ellipse":
        return u * u + (v / 0.6) ** 2 <= 1
    if name == "triangle":
        return _inside_polygon(u, v, _polygon(3))
    if name == "hexagon":
        return _inside_polygon(u, v, _polygon(6))
    if name == "star":
        return _inside_polygon(u, v, _polygon(5, inner=0.42))
    if name == "star4":
        return _inside_polygon(u, v, _polygon(4, inner=0.4))
    if name == "cutout":  # plate with two slots, like the paper's copper cutout
        plate = (au <= 1) & (av <= 0.65)
        slots = ((np.abs(u + 0.45) <= 0.12) | (np.abs(u - 0.45) <= 0.12)) & (av <= 0.4)
        return plate & ~slots
    raise ValueError(f"unknown shape {name!r}; choose from {sorted(SHAPES)}")


#: Shapes :func:`shape_scene` can rasterise.
SHAPES = ("circle", "square", "rectangle", "diamond", "cross", "ring", "ellipse", "triangle",
          "hexagon", "star", "star4", "cutout")



# ------------------------------------------------------------------------------ object classes
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
    au, av = np.abs(u), np.abs(v)
    return ((au <= 0.3) & (av <= 1)) | ((av <= 0.3) & (au <= 1))


_OBJECTS = {"knife": _knife, "scissors": _scissors, "handgun": _handgun, "wrench": _wrench, "key": _key,
            "phone": _phone, "coin": _coin, "cross": _cross}
#: Class names, in class-id order.
OBJECT_CLASSES = tuple(_OBJECTS)

def object_mask(name: str, n: int = 64) -> np.ndarray:
    """The class mask on an n x n grid over [-1, 1]^2 (for display and tests)."""
    if name not in _OBJECTS:
        raise ValueError(f"unknown object class {name!r}; choose from {OBJECT_CLASSES}")
    g = np.linspace(-1, 1, n)
    U, V = np.meshgrid(g, g, indexing="ij")
    return _OBJECTS[name](U, V)
