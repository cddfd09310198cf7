"""Scenes of point scatterers, solid shapes rasterised into scatterers, and ideal (label) images.

Label convention (the paper's ``computeIdeal2D``): every scatterer contributes a Gaussian
``exp(-(dx^2 + dy^2) / o^2)`` (o = 1.2 mm, FWHM 2.0 mm) normalised to its peak over the pixel
grid and weighted by its amplitude; contributions are summed and clipped to [0, 1]. Solid
shapes are dense scatterer lattices whose amplitude is chosen so the label interior forms a
plateau of ~0.6, as in the paper's labels.

Radar reflectivity and label weight are kept apart (:attr:`Scene.label_amplitudes`): a shape's
scatterers can reflect more or less than their label weight (``reflectivity``), which sets how
bright the coherent shape is next to the points in the radar image while the label stays the
same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json

import numpy as np

from ..._validate import as_array
from .grid import ImageGrid
from .masks import OBJECT_CLASSES, SHAPES, _mask, register_shape  # noqa: F401  (re-exported)

#: Label Gaussian width o (m).
LABEL_WIDTH = 1.2e-3
#: Default interior level of solid shapes in the label.
SHAPE_PLATEAU = 0.6


@dataclass
class Scene:
    """Point scatterers.

    Attributes
    ----------
    points : ndarray (M, 3)   scatterer positions (m)
    amplitudes : ndarray (M,) radar reflectivities (real, >= 0) used by the simulator
    objects : list of dict    JSON-serialisable description of what generated the scatterers
    label_amplitudes : ndarray (M,) weights of the scatterers in the ideal (label) image;
        default: ``amplitudes``
    """

    points: np.ndarray
    amplitudes: np.ndarray
    objects: list = field(default_factory=list)
    label_amplitudes: np.ndarray | None = None

    def __post_init__(self):
        self.points = as_array(self.points, "points", ndim=2, last=3, allow_empty=True).reshape(-1, 3)
        self.amplitudes = as_array(self.amplitudes, "amplitudes", ndim=1, allow_empty=True)
        if self.amplitudes.shape[0] != self.points.shape[0]:
            raise ValueError(f"amplitudes has {self.amplitudes.shape[0]} entries for {self.points.shape[0]} points")
        if self.label_amplitudes is None:
            self.label_amplitudes = self.amplitudes.copy()
        else:
            self.label_amplitudes = as_array(self.label_amplitudes, "label_amplitudes", ndim=1, allow_empty=True)
            if self.label_amplitudes.shape != self.amplitudes.shape:
                raise ValueError(f"label_amplitudes has {self.label_amplitudes.shape[0]} entries for "
                                 f"{self.points.shape[0]} points")

    def __add__(self, other: "Scene") -> "Scene":
        return Scene(np.concatenate([self.points, other.points]),
                     np.concatenate([self.amplitudes, other.amplitudes]), self.objects + other.objects,
                     np.concatenate([self.label_amplitudes, other.label_amplitudes]))

    @property
    def n_scatterers(self) -> int:
        return self.points.shape[0]


def point_scene(points, amplitudes=None) -> Scene:
    """Scene from explicit scatterers; ``amplitudes`` default to 1."""
    p = as_array(points, "points", last=3).reshape(-1, 3)
    a = np.ones(len(p)) if amplitudes is None else np.broadcast_to(np.asarray(amplitudes, float), (len(p),)).copy()
    return Scene(p, a, [dict(kind="points", n=len(p))])


def lattice_gain(spacing: float, width: float = LABEL_WIDTH) -> float:
    """Sum of ``exp(-d^2/o^2)`` over an infinite square lattice of pitch ``spacing``: the label
    value inside a dense lattice of unit-amplitude scatterers."""
    i = np.arange(-200, 201) * spacing
    s = np.exp(-(i ** 2) / width ** 2).sum()
    return float(s * s)


def shape_scene(shape: str, center=(0.0, 0.0), size: float = 0.03, rotation: float = 0.0,
                z0: float = 0.25, spacing: float = 1e-3, plateau: float = SHAPE_PLATEAU,
                reflectivity: float = 1.0) -> Scene:
    """A solid shape rasterised into a square lattice of scatterers in the plane z = z0.

    Parameters
    ----------
    shape : str          one of :data:`SHAPES`
    center : (x, y)      shape centre (m)
    size : float         full width of the shape's bounding square before rotation (m)
    rotation : float     counter-clockwise rotation (rad)
    z0 : float           depth (m)
    spacing : float      scatterer lattice pitch (m); <= label width keeps the label smooth
    plateau : float      label level of the interior; sets the scatterers' label weight
    reflectivity : float radar amplitude of each scatterer relative to its label weight (> 0).
        1 makes the error-free shape interior about 1.6x as bright as a unit point; about 0.4
        gives the shape the label's contrast (interior = 0.6 x a unit point's peak).
    """
    if size <= 0 or spacing <= 0:
        raise ValueError("shape_scene: size and spacing must be > 0 (m)")
    if not reflectivity > 0:
        raise ValueError(f"shape_scene: reflectivity must be > 0, got {reflectivity!r}")
    half = size / 2
    n = int(np.ceil(size * 1.5 / spacing / 2))
    g = np.arange(-n, n + 1) * spacing
    X, Y = np.meshgrid(g, g, indexing="ij")
    c, s = np.cos(rotation), np.sin(rotation)
    # rotate lattice coordinates back into the shape frame
    u = (c * X + s * Y) / half
    v = (-s * X + c * Y) / half
    m = _mask(shape, u, v)
    pts = np.c_[X[m] + center[0], Y[m] + center[1], np.full(m.sum(), float(z0))]
    amp = np.full(len(pts), plateau / lattice_gain(spacing))
    desc = dict(kind="shape", shape=shape, center=[float(center[0]), float(center[1])], size=float(size),
                rotation=float(rotation), z0=float(z0), spacing=float(spacing), plateau=float(plateau),
                reflectivity=float(reflectivity), n_scatterers=int(len(pts)))
    return Scene(pts, amp * reflectivity, [desc], amp)


def random_points(rng, n: int, extent: float = 0.095, z0: float = 0.25, amplitude_range=(0.5, 1.0),
                  min_spacing: float = 4 * LABEL_WIDTH, avoid=None, max_tries: int = 200) -> Scene:
    """``n`` random points, uniform over ``[-extent, extent]^2`` at depth z0, amplitudes
    U[amplitude_range], each at least ``min_spacing`` from the others and from ``avoid`` (K, 3)."""
    rng = np.random.default_rng(rng)
    taken = np.empty((0, 2)) if avoid is None else np.asarray(avoid, float)[:, :2]
    pts = []
    for _ in range(int(n)):
        for _ in range(max_tries):
            p = rng.uniform(-extent, extent, 2)
            if taken.size == 0 or np.min(np.sum((taken - p) ** 2, axis=1)) >= min_spacing ** 2:
                pts.append(p)
                taken = np.vstack([taken, p])
                break
    pts = np.asarray(pts).reshape(-1, 2)
    amp = rng.uniform(*amplitude_range, len(pts))
    p3 = np.c_[pts, np.full(len(pts), float(z0))]
    return Scene(p3, amp, [dict(kind="points", n=len(pts), positions=p3.tolist(), amplitudes=amp.tolist())])


def random_scene(rng=None, z0_range=(0.25, 0.30), n_points=(1, 32), shapes=SHAPES, n_shapes: int = 1,
                 size_range=(0.025, 0.035), center_range: float = 0.03, extent: float = 0.095,
                 shape_spacing: float = 1e-3, shape_reflectivity=(1.0, 1.0), shape_reflectivity_log: bool = False,
                 point_amplitude_range=(0.5, 1.0), point_spacing: float = 4 * LABEL_WIDTH,
                 shape_plateau=(SHAPE_PLATEAU, SHAPE_PLATEAU)) -> tuple[Scene, float]:
    """The paper's scene distribution: ``n_shapes`` solid shapes plus U{n_points} random points.

    ``shape_reflectivity`` (lo, hi): each shape's reflectivity (see :func:`shape_scene`) is
    drawn U[lo, hi] (log-uniformly with ``shape_reflectivity_log``; no random draw when
    lo == hi). ``shape_plateau`` (lo, hi): each shape's label level inside (the paper's labels:
    ~0.6, :data:`SHAPE_PLATEAU`) drawn U[lo, hi] after its reflectivity (no draw when lo == hi,
    so scenes of the default draw are unchanged). Points have amplitudes
    U[``point_amplitude_range``] (radar and label alike) and keep ``point_spacing`` (m) from each
    other and from the shapes' scatterers.

    Returns ``(scene, z0)`` with z0 ~ U[z0_range] the depth of the planar scene (m).
    """
    rng = np.random.default_rng(rng)
    z0 = float(rng.uniform(*z0_range))
    scene = Scene(np.empty((0, 3)), np.empty(0), [])
    for _ in range(n_shapes):
        name = str(rng.choice(list(shapes)))
        center = rng.uniform(-center_range, center_range, 2)
        size, rotation = float(rng.uniform(*size_range)), float(rng.uniform(0, 2 * np.pi))
        lo, hi = shape_reflectivity
        if hi > lo:
            refl = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if shape_reflectivity_log else float(rng.uniform(lo, hi))
        else:
            refl = float(lo)
        p_lo, p_hi = shape_plateau
        plateau = float(rng.uniform(p_lo, p_hi)) if p_hi > p_lo else float(p_lo)
        scene = scene + shape_scene(name, center=center, size=size, rotation=rotation, z0=z0,
                                    spacing=shape_spacing, reflectivity=refl, plateau=plateau)
    npts = int(rng.integers(n_points[0], n_points[1] + 1))
    scene = scene + random_points(rng, npts, extent=extent, z0=z0, amplitude_range=point_amplitude_range,
                                  min_spacing=point_spacing, avoid=scene.points if scene.n_scatterers else None)
    return scene, z0


def label_image(scene: Scene, grid: ImageGrid, width: float = LABEL_WIDTH) -> np.ndarray:
    """Ideal image of ``scene`` on ``grid``, shape (nx, ny) float32 in [0, 1].

    Each scatterer adds ``a * exp(-((x-xm)^2 + (y-ym)^2) / o^2)`` normalised to its maximum over
    the pixel grid; the sum is clipped to [0, 1]. Depth (z) is ignored: scatterers are projected
    onto the image plane. Computed as one matrix product of separable Gaussians.
    """
    if width <= 0:
        raise ValueError("label width must be > 0 (m)")
    if scene.n_scatterers == 0:
        return np.zeros(grid.shape, np.float32)
    gx = np.exp(-((grid.x[None, :] - scene.points[:, :1]) ** 2) / width ** 2)  # (M, nx)
    gy = np.exp(-((grid.y[None, :] - scene.points[:, 1:2]) ** 2) / width ** 2)  # (M, ny)
    peak = gx.max(axis=1) * gy.max(axis=1)
    w = np.where(peak > 0, scene.label_amplitudes / np.where(peak > 0, peak, 1.0), 0.0)
    img = gx.T @ (w[:, None] * gy)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def scene_from_objects(objects) -> Scene:
    """Rebuild a :class:`Scene` from its description (``Scene.objects``, or the JSON string a
    dataset record stores as ``scene_json``): shapes are re-rasterised with their stored
    parameters, points keep their stored positions and amplitudes. ``label_image`` of the
    result on any grid is the record's label rendered on that grid (each point peaks at its
    true amplitude there)."""

    objs = json.loads(objects) if isinstance(objects, (str, bytes)) else objects
    if not isinstance(objs, list):
        raise ValueError(f"scene description: expected a list of objects, got {type(objs).__name__}")
    scene = Scene(np.empty((0, 3)), np.empty(0), [])
    for o in objs:
        kind = o.get("kind") if isinstance(o, dict) else None
        if kind == "shape":
            scene = scene + shape_scene(o["shape"], center=o["center"], size=o["size"], rotation=o["rotation"],
                                        z0=o["z0"], spacing=o["spacing"], plateau=o["plateau"],
                                        reflectivity=o["reflectivity"])
        elif kind == "points":
            if o.get("n", 0) and "positions" not in o:
                raise ValueError("scene description: a 'points' object without positions cannot be rebuilt")
            p = np.asarray(o.get("positions", []), float).reshape(-1, 3)
            a = np.asarray(o.get("amplitudes", []), float).reshape(-1)
            scene = scene + Scene(p, a, [dict(o)])
        else:
            raise ValueError(f"scene description: unknown object kind {kind!r}")
    return scene
