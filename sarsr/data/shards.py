"""HDF5 shard files: one file per task, written under a temporary name and renamed when
complete, with per-dataset CRC32 checksums so corrupt or partial files are detected.

Layout of ``shard-NNNNN.h5`` (n = records in the shard, P = image side):

- ``empm`` / ``backprojection`` / ``rma`` / ``input``: complex64 (n, P, P), present when stored;
- ``input_method`` / ``taper``: variable-length strings (n,), when the scenario draws them;
- ``label``: float32 (n, P, P);
- ``index`` int64 (n,), ``snr_db`` / ``z0_m`` / ``pos_error_rms_m`` float64 (n,);
- with ``reconstruction.autofocus``: ``autofocus_applied`` (0/1), ``autofocus_rms_m`` (RMS of the
  estimated error) and ``autofocus_residual_rms_m`` (RMS of true minus estimated error, rigid
  shift removed) float64 (n,);
- ``scene_json``: variable-length UTF-8 strings (n,);
- ``class_id``: int64 (n,) object class (recognition scenarios only);
- attributes: ``complete`` (True), ``start``, ``count``, ``seed``, ``scenario`` (name),
  ``scenario_digest``, ``scenario_toml``, ``sarsr_version``, ``crc32`` (JSON: dataset → CRC).
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np

from .scenario import IMAGE_STORE_KEYS
from .. import __version__
from .._files import temp_beside, open_h5

__all__ = ["IMAGE_KEYS", "SCALAR_KEYS", "STRING_KEYS", "shard_name", "write_shard", "verify_shard", "ShardError"]

IMAGE_KEYS = (*IMAGE_STORE_KEYS, "label")
STRING_KEYS = ("input_method", "taper")
SCALAR_KEYS = ("snr_db", "z0_m", "pos_error_rms_m")
#: Scalars present only in some datasets (written when the records carry them).
OPTIONAL_SCALAR_KEYS = ("autofocus_applied", "autofocus_rms_m", "autofocus_residual_rms_m")


class ShardError(Exception):
    pass


def shard_name(i: int) -> str:
    return f"shard-{i:05d}.h5"


def _crc(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1))


def write_shard(path: Path, records: list[dict], start: int, seed: int, scenario) -> None:
    """Write ``records`` (from :func:`simulate_record`) atomically to ``path``."""
    import h5py


    path = Path(path)
    fd, tmp = temp_beside(path)  # exclusive creation: a planted symlink is never written through
    os.close(fd)
    crcs = {}
    try:
        with h5py.File(tmp, "w") as f:
            n = len(records)
            for key in IMAGE_KEYS:
                if key in records[0]:
                    arr = np.stack([r[key] for r in records])
                    f.create_dataset(key, data=arr, chunks=(1,) + arr.shape[1:],
                                     compression="gzip" if key == "label" else None, shuffle=key == "label")
                    crcs[key] = _crc(arr)
            idx = np.arange(start, start + n, dtype=np.int64)
            f.create_dataset("index", data=idx)
            crcs["index"] = _crc(idx)
            for key in SCALAR_KEYS + tuple(k for k in OPTIONAL_SCALAR_KEYS if k in records[0]):
                arr = np.array([r[key] for r in records], np.float64)
                f.create_dataset(key, data=arr)
                crcs[key] = _crc(arr)
            if "class_id" in records[0]:
                cls = np.array([r["class_id"] for r in records], np.int64)
                f.create_dataset("class_id", data=cls)
                crcs["class_id"] = _crc(cls)
            for key in STRING_KEYS:
                if key in records[0]:
                    vals = [r[key] for r in records]
                    f.create_dataset(key, data=vals, dtype=h5py.string_dtype())
                    crcs[key] = zlib.crc32("\n".join(vals).encode())
            scenes = [r["scene_json"] for r in records]
            f.create_dataset("scene_json", data=scenes, dtype=h5py.string_dtype())
            crcs["scene_json"] = zlib.crc32("\n".join(scenes).encode())
            f.attrs.update(start=start, count=n, seed=seed, scenario=scenario.name,
                           scenario_digest=scenario.digest, scenario_toml=scenario.text,
                           scenario_config=json.dumps(scenario.config),
                           sarsr_version=__version__, crc32=json.dumps(crcs))
            f.attrs["complete"] = True  # last attribute: a file without it is not finished
        with open(tmp, "rb") as fh:  # data on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # h5py reports a full disk as a RuntimeError
        msg = " ".join(str(exc).split())[:200]
        raise OSError(f"{path}: could not write the shard ({msg}); is the disk full? The completed shards are "
                      f"kept: free space and run the same command again") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def verify_shard(path: Path, start: int, count: int, seed: int, digest: str, full: bool = True) -> str | None:
    """Return ``None`` when ``path`` is a complete, uncorrupted shard of the expected records,
    else a short reason. ``full`` re-reads every dataset and checks its CRC32."""
    import h5py

    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        f = open_h5(path, "shard")
    except (ValueError, FileNotFoundError) as exc:  # corrupt, a FIFO, a folder, data kept outside the file
        return f"unreadable ({str(exc).split(': ', 1)[-1]})"
    try:
        with f:
            a = f.attrs
            if not a.get("complete", False):
                return "incomplete"
            if (int(a["start"]), int(a["count"]), int(a["seed"])) != (start, count, seed):
                return "written for other records (start/count/seed differ)"
            if a["scenario_digest"] != digest:
                return "written for another scenario"
            if full:
                crcs = json.loads(a["crc32"])
                for key, want in crcs.items():
                    if key == "scene_json" or key in STRING_KEYS:
                        got = zlib.crc32("\n".join(s.decode() if isinstance(s, bytes) else s
                                                   for s in f[key][()]).encode())
                    else:
                        got = _crc(f[key][()])
                    if got != want:
                        return f"checksum mismatch in {key!r}"
    except Exception as exc:  # truncated / not HDF5 / unreadable
        return f"unreadable ({type(exc).__name__}: {exc})"
    return None
