"""The imager registry: one way in to every reconstruction method.

Each imager is a function ``fn(echo, tx, rx, k, grid, *, lattice_shape=None, **options)`` that
forms a complex image (nx, ny) on an :class:`~sarsr.radar.ImageGrid` from echoes (N, K)
sampled at Tx/Rx positions (N, 3) (m) and wavenumbers k (K,) (rad/m), registered under one name
with :func:`register_imager`. Datasets (their ``store`` keys and ``reconstruction.input``),
``sarsr reconstruct --method``, evaluation baselines and the demo all take their method names
from here; adding a method is one registered function (and its tests)::

    from sarsr import radar

    @radar.register_imager("flat", "flat toy", needs_lattice=False)
    def flat(echo, tx, rx, k, grid, *, lattice_shape=None):
        return np.full(grid.shape, abs(echo).mean(), np.complex64)

    img = radar.reconstruct("flat", echo, tx, rx, k, grid)

:func:`reconstruct` passes each imager only the keyword options it takes, so a caller holding
every setting (``nfft``, ``oversample``, ``bp_method``, ``lateral``) passes them all.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .backprojection import backproject
from .fourier import empm as _empm, rma_planar

__all__ = ["Imager", "register_imager", "get_imager", "list_imagers", "imager_choices", "reconstruct", "IMAGERS",
           "EMPM", "BACKPROJECTION", "RMA", "DEFAULT_INPUT"]


@dataclass(frozen=True)
class Imager:
    """A registered reconstruction method.

    Attributes
    ----------
    name : the dataset key and CLI name (``"empm"``)
    label : how reports and figures name it (``"EMPM"``)
    function : the imager (see the module docstring)
    needs_lattice : whether it needs the scan's (nx, ny) sampling lattice (Fourier methods)
    network_input : whether a dataset may draw it as the networks' input image
    aliases : other names accepted for it (``"bp"`` for backprojection)
    """

    name: str
    label: str
    function: Callable
    needs_lattice: bool
    network_input: bool = False
    aliases: tuple = ()
    description: str = ""
    options: tuple = field(default=())


#: name -> :class:`Imager`, in registration order
IMAGERS: dict[str, Imager] = {}


def register_imager(name: str, label: str, needs_lattice: bool, network_input: bool = False, aliases=(),
                    description: str = ""):
    """Decorator registering an imager function under ``name`` (see the module docstring)."""
    def deco(fn):
        taken = {n for im in IMAGERS.values() for n in (im.name, *im.aliases)}
        clash = {name, *aliases} & taken
        if clash:
            raise ValueError(f"imager name(s) {sorted(clash)} already registered")
        params = inspect.signature(fn).parameters
        opts = tuple(p for p in params if p not in ("echo", "tx", "rx", "k", "grid", "lattice_shape"))
        IMAGERS[name] = Imager(name, label, fn, bool(needs_lattice), bool(network_input), tuple(aliases),
                               description or (fn.__doc__ or "").strip().split("\n")[0], opts)
        return fn
    return deco


def list_imagers(network_input: bool | None = None) -> list[str]:
    """Registered imager names (registration order); ``network_input=True``: those a dataset
    may use as the networks' input."""
    return [n for n, im in IMAGERS.items() if network_input is None or im.network_input == network_input]


def imager_choices() -> list[str]:
    """Every name :func:`get_imager` accepts (names and aliases), for CLI choices."""
    return [n for im in IMAGERS.values() for n in (im.name, *im.aliases)]


def get_imager(name: str) -> Imager:
    """The imager registered as ``name`` (or an alias of it); ValueError listing the choices."""
    for im in IMAGERS.values():
        if name == im.name or name in im.aliases:
            return im
    raise ValueError(f"unknown reconstruction method {name!r}; choose from {', '.join(imager_choices())}")


def reconstruct(method: str, echo, tx, rx, k, grid, *, lattice_shape=None, **options) -> np.ndarray:
    """Form the image of ``method`` (a registered name or alias) on ``grid``.

    Parameters
    ----------
    method : see :func:`list_imagers` (``"empm"``, ``"backprojection"`` / ``"bp"``, ``"rma"``).
    echo : complex (N, K); tx, rx : (N, 3) positions (m); k : (K,) wavenumbers (rad/m).
    grid : :class:`~sarsr.radar.ImageGrid` of the image (nx, ny).
    lattice_shape : (nx, ny) sampling lattice of the scan, for the methods that need one.
    **options : settings; each imager receives those it takes (``nfft``, ``lateral`` for EMPM,
        ``oversample``, ``bp_method`` for backprojection), the rest are ignored.

    Returns a complex (nx, ny) image. ValueError when the method needs a lattice and none is given.
    """
    im = get_imager(method)
    if im.needs_lattice and lattice_shape is None:
        raise ValueError(f"{im.name} needs the scan's sampling lattice: pass lattice_shape=(nx, ny) "
                         f"(sarsr reconstruct --lattice NX,NY)")
    kw = {k_: v for k_, v in options.items() if k_ in im.options and v is not None}
    return im.function(echo, tx, rx, k, grid, lattice_shape=lattice_shape, **kw)


@register_imager("empm", "EMPM", needs_lattice=True, network_input=True,
                 description="efficient multi-planar multistatic Fourier imaging of irregular (freehand) scans")
def _empm_imager(echo, tx, rx, k, grid, *, lattice_shape, nfft: int = 512, lateral: str = "ignore"):
    """EMPM: the irregular-geometry FFT method (:func:`sarsr.radar.empm`)."""
    return _empm(echo, tx, rx, k, grid, lattice_shape=lattice_shape, nfft=nfft, lateral=lateral)


@register_imager("backprojection", "backprojection", needs_lattice=False, network_input=True, aliases=("bp",),
                 description="time-domain backprojection on any geometry (direct or factorized)")
def _bp_imager(echo, tx, rx, k, grid, *, lattice_shape=None, oversample: int = 8, bp_method: str = "auto"):
    """Backprojection (:func:`sarsr.radar.backproject`); ``bp_method`` "auto" picks ffbp or interp."""
    return backproject(echo, tx, rx, k, grid.points, oversample=oversample, method=bp_method)


@register_imager("rma", "planar RMA", needs_lattice=True, aliases=("rma_planar",),
                 description="the naive planar range-migration baseline (ignores the multi-planar offsets)")
def _rma_imager(echo, tx, rx, k, grid, *, lattice_shape, nfft: int = 512):
    """Naive planar RMA (:func:`sarsr.radar.rma_planar`)."""
    return rma_planar(echo, tx, rx, k, grid, lattice_shape=lattice_shape, nfft=nfft)


EMPM, BACKPROJECTION, RMA = "empm", "backprojection", "rma"
#: The image the super-resolution networks take (the paper's: EMPM).
DEFAULT_INPUT = EMPM
