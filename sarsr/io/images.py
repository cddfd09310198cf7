"""Reading images from files: ``.npy``, HDF5, MATLAB (v5 and v7.3) and PNG/JPEG/TIFF, with every
input checked before it is decoded (a regular file, within the memory budget, no HDF5 dataset
stored outside its file). :func:`read_image` is what ``sarsr sr`` and ``sarsr vision predict``
read their input with.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._files import check_input_file, open_h5
from .._validate import check_memory
from ..radar.imaging.imagers import DEFAULT_INPUT
from .matlab import load_mat

__all__ = ["read_image", "MAX_IMAGE_PIXELS"]

#: Largest picture (pixels) :func:`read_image` decodes: 8192 x 8192.
MAX_IMAGE_PIXELS = 8192 * 8192


def read_image(path, variable: str | None = None) -> np.ndarray:
    """Read a 2-D image (or a stack) from .npy, .h5/.hdf5, .mat (v5 or v7.3) or PNG/JPEG.

    ``variable`` names the dataset / MATLAB variable; by default one whose name contains
    ``empm`` or ``ffh`` (the efficient irregular-geometry image) is preferred, else the first
    2-D numeric one. MATLAB stacks (H, W, N) become (N, H, W).

    Returns a numeric (H, W) or (N, H, W) array. A file that is empty, corrupt, not numeric,
    of another shape or too large for memory raises a one-line ``ValueError`` naming it.
    """
    p = check_input_file(path, "image")
    ext = p.suffix.lower()
    if ext not in (".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".h5", ".hdf5", ".mat"):
        raise ValueError(f"{p}: unsupported format {ext!r} (use .npy, .h5, .mat or .png)")
    if p.stat().st_size == 0:
        raise ValueError(f"{p}: empty file")
    try:
        img = _read_any(p, ext, variable)
    except (ValueError, FileNotFoundError, MemoryError):
        raise
    except Exception as exc:  # every reader's own failure (corrupt file) becomes one line naming it
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"{p}: not a readable {ext} image ({msg})") from None
    img = np.asarray(img)
    if img.dtype.kind not in "fciub" or img.ndim not in (2, 3) or 0 in img.shape:
        raise ValueError(f"{p}: expected a numeric (H, W) or (N, H, W) image, got {img.dtype} {img.shape}")
    return img


def _read_any(p: Path, ext: str, variable):
    if ext == ".npy":
        try:
            with open(p, "rb") as fh:  # check the header before allocating anything
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise ValueError(f"{p}: not a readable .npy file ({' '.join(str(exc).split())[:120]})") from None
        if dtype.kind not in "fciub" or dtype.hasobject:
            raise ValueError(f"{p}: .npy of dtype {dtype}, not a numeric image")
        check_memory(float(np.prod(shape, dtype=float)) * dtype.itemsize, f"{p.name}")
        return np.load(p, allow_pickle=False)
    if ext in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from PIL import Image

        try:
            with warnings.catch_warnings():  # PIL's bomb warning becomes our own check below
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(p)
        except Image.DecompressionBombError as exc:
            raise ValueError(f"{p}: image too large to decode ({' '.join(str(exc).split())[:120]})") from None
        if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
            im.close()
            raise ValueError(f"{p}: {im.size[0]} x {im.size[1]} pixels is not a SAR image this reads (at most "
                             f"{MAX_IMAGE_PIXELS:,} pixels; the networks work on 256 x 256)")
        with im:  # the header first: size and bands before any pixel is decoded
            w, h, bands = im.size[0], im.size[1], max(len(im.getbands()), 1)
            # decoded bands (<= 4 bytes each) and the float32 image we keep
            check_memory(float(w) * h * (bands + 1) * 4, f"{p.name} ({w} x {h} pixels)")
            if bands == 1 or im.mode in ("1", "L", "I", "F", "I;16", "I;16B", "I;16L"):
                return np.asarray(im.convert("F"), dtype=np.float32)
            rgb = np.asarray(im.convert("RGB"))
            return rgb.astype(np.float32).mean(-1)
    if ext in (".h5", ".hdf5"):
        import h5py

        with open_h5(p) as f:  # list candidates first, read only the chosen one
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.ndim in (2, 3)
                         and o.dtype.kind in "fciu" else None)
            ds = f[_choose(names, variable, p)]
            check_memory(float(ds.size) * ds.dtype.itemsize, f"{p.name}:{ds.name}")
            return ds[()]

    arrays = {k: v for k, v in load_mat(p).items() if isinstance(v, np.ndarray)}
    arrays = {k: (np.moveaxis(v, -1, 0) if v.ndim == 3 else v) for k, v in arrays.items()}
    arrays = {k: v for k, v in arrays.items() if v.ndim in (2, 3) and v.dtype.kind in "fciu"}
    return arrays[_choose(list(arrays), variable, p)]


def _choose(names: list[str], variable: str | None, p: Path) -> str:
    """``variable`` if given, else the first name containing empm/ffh, else the first name."""
    if variable is not None:
        if variable not in names:
            raise ValueError(f"{p}: no 2-D variable {variable!r} (has: {sorted(names)})")
        return variable
    if not names:
        raise ValueError(f"{p}: no 2-D numeric variable")
    pref = [k for k in names if DEFAULT_INPUT in k.lower() or "ffh" in k.lower()]  # the paper's files: *FFH*
    return (pref or names)[0]
