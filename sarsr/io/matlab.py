"""MATLAB .mat files: v4/v5/v7 through scipy, v7.3 (HDF5) through h5py (axes reversed back to
MATLAB order, complex stored as ``real``/``imag`` compounds).

>>> d = load_mat("exp1_cutout2_2.mat")        # {"radarImagesBPA": complex (200, 200), ...}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import check_input_file, open_h5
from .._validate import check_memory

__all__ = ["load_mat", "save_mat", "is_v73"]


def is_v73(path) -> bool:
    """True for MATLAB v7.3 (HDF5) files."""
    with open(path, "rb") as f:
        head = f.read(1024)
    return b"\x89HDF\r\n\x1a\n" in head[:1024] or head[:19] == b"MATLAB 7.3 MAT-file"


def _h5_value(obj):
    import h5py

    if isinstance(obj, h5py.Dataset):
        check_memory(float(obj.size) * obj.dtype.itemsize * 2, f"{Path(obj.file.filename).name}:{obj.name}")
        a = obj[()]
        if a.dtype.names and {"real", "imag"} <= set(a.dtype.names):
            a = a["real"] + 1j * a["imag"]
        if isinstance(a, np.ndarray) and a.ndim >= 2:
            a = a.T  # HDF5 is row-major; MATLAB wrote column-major
        cls = obj.attrs.get("MATLAB_class", b"")
        if isinstance(cls, bytes) and cls == b"char" and isinstance(a, np.ndarray):
            return "".join(map(chr, a.ravel()))
        return a
    return {k: _h5_value(v) for k, v in obj.items() if not k.startswith("#")}


def load_mat(path, variables=None) -> dict:
    """Variables of a .mat file as numpy arrays (structs as dicts). ``variables`` limits the
    names read. Raises FileNotFoundError / ValueError with the file name on bad input."""
    p = check_input_file(path, "MATLAB")
    if is_v73(p):
        with open_h5(p, "MATLAB v7.3") as f:
            names = [k for k in f.keys() if not k.startswith("#")]
            return {k: _h5_value(f[k]) for k in names if variables is None or k in variables}
    from scipy.io import loadmat, whosmat

    try:  # sizes from the headers first: a small compressed file can hold a huge array
        for name, shape, cls in whosmat(p):
            if variables is None or name in variables:
                check_memory(float(np.prod(shape, dtype=float)) * 16, f"{p.name}:{name} {tuple(shape)}")
    except ValueError as exc:
        if "would need" in str(exc):
            raise
    except Exception:  # an unreadable header is reported by loadmat below
        pass
    try:
        d = loadmat(p, variable_names=variables, squeeze_me=False)
    except Exception as exc:
        raise ValueError(f"{p}: not a readable MATLAB file ({exc})") from None
    return {k: v for k, v in d.items() if not k.startswith("__")}


def save_mat(path, variables: dict) -> Path:
    """Write variables to a MATLAB v5 file (scipy)."""
    from scipy.io import savemat

    savemat(path, variables, do_compression=True)
    return Path(path)
