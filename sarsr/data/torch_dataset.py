"""PyTorch dataset over generated shards, with the paper's preprocessing.

Preprocessing: the input transform of every network (:mod:`sarsr.transforms`:
:func:`preprocess_input`, re-exported here) on the chosen reconstruction (``empm`` by
default; two channels, real and imaginary, with ``complex_input=True``):

1. input = ``|image|`` (or real, imaginary);
2. bilinear resize (``align_corners=False``) of the input from the stored n x n grid to
   ``size`` x ``size`` (the paper: 200 → 256); the label is *rendered* on the resized grid
   from the record's stored scene (:func:`render_label`, ``label="render"``, the default), so
   every point peaks at its true amplitude on the grid the network works on (a bilinearly
   resized label, ``label="stored"``, lowers narrow peaks by up to ~30 %);
3. normalisation: the input is divided by its own maximum magnitude (per image), so the
   network never sees the simulator's absolute scale; labels stay in [0, 1];
4. training augmentation (``train=True``): random ``crop`` x ``crop`` window and random
   horizontal / vertical flips, identical for input and label.

h5py files are opened lazily inside each DataLoader worker (never shared across processes).
"""

from __future__ import annotations

import os
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .._files import open_h5
from ..radar.imaging.imagers import DEFAULT_INPUT
from .generate import read_manifest
from .scenario import IMAGE_STORE_KEYS
from .. import radar
from .shards import verify_shard
from ..transforms import WORKING_SIZE, preprocess_input, resize_image  # re-exported: public here too

__all__ = ["SARDataset", "ConcatSARDataset", "preprocess_input", "resize_image", "render_label", "WORKING_SIZE", "LABEL_MODES"]

#: How :class:`SARDataset` makes labels on its working grid.
LABEL_MODES = ("render", "stored")


def render_label(scene_json: str, grid_n: int, extent_m: float, size: int | None = None) -> np.ndarray:
    """Label of a stored record rendered on the working grid.

    Parameters
    ----------
    scene_json : the record's ``scene_json`` (shapes and points with amplitudes).
    grid_n, extent_m : the stored image grid (``[grid] n`` pixels over ``[-extent, extent)`` m).
    size : working-grid side (the grid of a ``size`` x ``size`` bilinear resize of the stored
        image, :func:`sarsr.radar.resized_grid`); None renders on the stored grid itself.

    Returns float32 (size, size) in [0, 1]; each point peaks at its amplitude.
    """

    grid = radar.image_grid(n=int(grid_n), extent=float(extent_m), z=0.0)
    if size is not None and size != grid_n:
        grid = radar.resized_grid(grid, size)
    return radar.label_image(radar.scene_from_objects(scene_json), grid)


class SARDataset(torch.utils.data.Dataset):
    """(input, label) pairs from a generated dataset folder.

    Parameters
    ----------
    root : dataset folder (with ``manifest.json``).
    source : stored reconstruction used as input: a registered imager's name
        (:func:`sarsr.radar.list_imagers`: EMPM by default) or ``"input"`` (the drawn input).
    size : resize side (256 as in the paper; None keeps the stored grid).
    train : random crops / flips.
    crop : crop side for training (None = full image).
    indices : subset of record indices (e.g. a validation split).
    complex_input : two-channel (real, imag) input instead of the magnitude.
    verify : check every shard's CRC32 checksums when opening (ValueError naming the shard).
    label : ``"render"`` (default): the label is rendered on the working grid from the stored
        scene (:func:`render_label`), every point at its true amplitude; ``"stored"``: the
        stored label, bilinearly resized like the input (the first generation's protocol).

    Items are ``(x, y)`` float32 tensors (C, S, S) and (1, S, S).
    """

    #: :meth:`preload` serves this class's items (a subclass with its own items sets False)
    supports_preload = True

    def __init__(self, root, source=DEFAULT_INPUT, size: int | None = WORKING_SIZE, train=False, crop: int | None = None,
                 indices=None, complex_input=False, seed: int = 0, verify: bool = True, label: str = "render"):
        if label not in LABEL_MODES:
            raise ValueError(f"SARDataset: label must be one of {LABEL_MODES}, got {label!r}")
        self.root = Path(root)
        self.label = label
        m = read_manifest(self.root)
        self.manifest = m
        self.source, self.size, self.train, self.crop = source, size, train, crop
        self.complex_input = complex_input
        self._shards = [(s["file"], s["start"], s["count"]) for s in m["shards"]]
        n = m["count"]
        self.indices = np.arange(n) if indices is None else np.asarray(indices, int)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n):
            raise IndexError(f"indices out of range [0, {n})")
        if verify:  # every stored CRC32 checked once, here, so training never reads altered data
            for name, start, count in self._shards:
                bad = verify_shard(self.root / name, start, count, m["seed"], m["scenario_digest"])
                if bad:
                    raise ValueError(f"{self.root / name}: {bad}; re-run the dataset's `sarsr dataset` command "
                                     f"to regenerate it (or open with verify=False / data.verify = false)")
        self._files: dict = {}
        self._preloaded: tuple[torch.Tensor, torch.Tensor] | None = None
        self._pid = None
        self._rng = np.random.default_rng(seed)
        with open_h5(self.root / self._shards[0][0], "shard") as f:
            if source not in f:
                have = [k for k in IMAGE_STORE_KEYS if k in f]
                raise ValueError(f"{root}: source {source!r} not stored (stored: {have})")
            if "label" not in f:
                raise ValueError(f"{root}: no labels stored")
            if label == "render" and "scene_json" not in f:
                raise ValueError(f"{root}: no scene descriptions stored to render labels from; use label='stored'")
        g = (m.get("scenario_config") or {}).get("grid") or {}
        self._grid = (int(g.get("n", 0)), float(g.get("extent_m", 0.0)))
        if label == "render" and not (self._grid[0] > 0 and self._grid[1] > 0):
            raise ValueError(f"{root}: the manifest names no image grid to render labels on; use label='stored'")

    def __len__(self):
        return len(self.indices)

    def _file(self, name):
        if self._pid != os.getpid():  # new worker process: never reuse a parent's handle
            self._files, self._pid = {}, os.getpid()
            info = torch.utils.data.get_worker_info()
            self._rng = np.random.default_rng((info.seed if info else 0) % 2 ** 32 + os.getpid())
        if name not in self._files:
            self._files[name] = open_h5(self.root / name, "shard")
        return self._files[name]

    def _locate(self, i):
        for name, start, count in self._shards:
            if start <= i < start + count:
                return name, i - start
        raise IndexError(i)

    def read(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw stored (image, label) of record ``i``."""
        name, j = self._locate(int(i))
        f = self._file(name)
        return f[self.source][j], f["label"][j]

    def target(self, i: int) -> np.ndarray:
        """Label of record ``i`` on the working grid (rendered or resized, see ``label``)."""
        name, j = self._locate(int(i))
        f = self._file(name)
        if self.label == "render":
            return render_label(f["scene_json"][j], self._grid[0], self._grid[1], self.size)
        return resize_image(torch.from_numpy(np.asarray(f["label"][j], np.float32))[None], self.size)[0].numpy()

    def item(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-size preprocessed ``(x, y)`` of position ``k`` (before crop / flip): the
        preloaded tensors when :meth:`preload` ran, else read from the shards."""
        if self._preloaded is not None:
            return self._preloaded[0][k], self._preloaded[1][k]
        i = self.indices[k]
        name, j = self._locate(int(i))
        x = preprocess_input(self._file(name)[self.source][j], self.size, self.complex_input)
        y = torch.from_numpy(np.ascontiguousarray(self.target(i), np.float32))[None]
        return x, y

    def preload(self, device="cpu", workers: int | None = None, progress: bool = False) -> "SARDataset":
        """Read and preprocess every record once (``workers`` threads, default all cores) and keep
        the stacked ``(x, y)`` tensors on ``device``; items are then slices of them (crops and
        flips run on ``device``, the same ones as without preloading). Memory: records x
        (C + 1) x size^2 x 4 bytes. Returns self."""

        from tqdm.auto import tqdm

        self._preloaded = None
        n = len(self)
        if n == 0:
            raise ValueError(f"{self.root}: no records to preload")
        workers = max(1, workers or os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            items = list(tqdm(pool.map(self.item, range(n)), total=n, disable=not progress, unit="record",
                              desc="preload"))
        xs = torch.stack([x for x, _ in items]).to(device)
        ys = torch.stack([y for _, y in items]).to(device)
        self._preloaded = (xs, ys)
        return self

    def __getitem__(self, k):
        """``k`` is a position in ``indices``, or ``(position, augmentation_seed)`` to make the
        random crop/flip reproducible (used by the trainer for exact resume)."""
        rng = self._rng
        if isinstance(k, tuple):
            k, aug_seed = k
            rng = np.random.default_rng(aug_seed)
        x, y = self.item(k)
        if self.train:
            if self.crop is not None and self.crop < x.shape[-1]:
                H, W = x.shape[-2:]
                r = int(rng.integers(0, H - self.crop + 1))
                c = int(rng.integers(0, W - self.crop + 1))
                x, y = x[:, r:r + self.crop, c:c + self.crop], y[:, r:r + self.crop, c:c + self.crop]
            if rng.random() < 0.5:
                x, y = x.flip(-1), y.flip(-1)
            if rng.random() < 0.5:
                x, y = x.flip(-2), y.flip(-2)
        return x.contiguous(), y.contiguous()


class ConcatSARDataset(torch.utils.data.Dataset):
    """Several :class:`SARDataset` one after the other (training on records from more than one
    dataset folder, ``data.extra_train``).

    Position ``k`` is record ``k`` of the first part, then of the second, and so on; a
    ``(position, augmentation_seed)`` key reaches its part unchanged, so crops and flips stay
    reproducible. Every part must give items of one shape (same ``size``, ``crop`` and input
    channels): ValueError otherwise.
    """

    def __init__(self, parts):
        self.parts = list(parts)
        if not self.parts:
            raise ValueError("ConcatSARDataset: no datasets given")
        ref = self.parts[0]
        for p in self.parts[1:]:
            if (p.size, p.crop, p.complex_input, p.train) != (ref.size, ref.crop, ref.complex_input, ref.train):
                raise ValueError(f"ConcatSARDataset: {p.root} gives items unlike {ref.root}'s (size, crop, "
                                 f"complex_input, train: {(p.size, p.crop, p.complex_input, p.train)} vs "
                                 f"{(ref.size, ref.crop, ref.complex_input, ref.train)})")
        self._ends = np.cumsum([len(p) for p in self.parts])

    @property
    def supports_preload(self) -> bool:
        return all(getattr(p, "supports_preload", False) for p in self.parts)

    def __len__(self):
        return int(self._ends[-1])

    def _part(self, k: int) -> tuple[SARDataset, int]:
        if not 0 <= k < len(self):
            raise IndexError(f"position {k} out of range [0, {len(self)})")
        j = int(np.searchsorted(self._ends, k, side="right"))
        return self.parts[j], k - (int(self._ends[j - 1]) if j else 0)

    def __getitem__(self, k):
        if isinstance(k, tuple):
            part, kk = self._part(int(k[0]))
            return part[(kk, k[1])]
        part, kk = self._part(int(k))
        return part[kk]

    def preload(self, device="cpu", workers: int | None = None, progress: bool = False) -> "ConcatSARDataset":
        """:meth:`SARDataset.preload` of every part. Returns self."""
        for p in self.parts:
            p.preload(device, workers, progress)
        return self
