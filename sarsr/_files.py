"""Small file-system helpers shared by every writer and reader: atomic writes (text, bytes,
figures), an advisory folder lock, tying worker processes to their parent's life, and the one
gate every input file passes before it is opened (:func:`check_input_file`,
:func:`read_input_text`, :func:`open_h5`).

Every file the package writes goes through :func:`atomic_write_bytes` (or
:func:`atomic_write_text`, :func:`save_figure`, :class:`atomic_path`): a temporary file created
exclusively beside the target, renamed over it, so a symlink planted at the target is replaced,
never written through (``tests/test_security.py`` walks the source for writers that bypass them).
"""

from __future__ import annotations

import errno
import os
import re
import signal
import tempfile
import time
from pathlib import Path
import io
import stat

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_path", "save_figure", "append_text", "temp_beside", "temp_owner_pid",
           "home_relative", "FolderLock", "FolderBusy", "pid_alive", "die_with_parent", "check_input_file",
           "read_input_text", "open_h5", "MAX_TEXT_BYTES"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def temp_beside(path) -> tuple[int, Path]:
    """Create a new, empty temporary file in ``path``'s folder, exclusively (``O_CREAT |
    O_EXCL`` under an unpredictable name, as ``tempfile.mkstemp``): a symlink or file planted
    at a guessed name is never followed or reused. The name keeps ``path``'s suffix (writers
    pick their format from it), starts with a dot and carries the writer's PID
    (:func:`temp_owner_pid`), and stays short whatever ``path``'s length. Permissions follow
    the umask like any new file. Returns ``(fd, temp_path)``; the caller owns the descriptor."""
    p = Path(path)
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name[:48]}.tmp-{os.getpid()}-", suffix=p.suffix[:16])
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
    except OSError:  # pragma: no cover - filesystems without modes
        pass
    return fd, Path(name)


def temp_owner_pid(name: str) -> int | None:
    """PID of the process that created a :func:`temp_beside` file called ``name`` (None when
    the name is not one of them)."""
    m = re.search(r"\.tmp-(\d+)(?:-|$)", name)
    return int(m.group(1)) if m else None


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to an exclusively created temporary file beside ``path``
    (:func:`temp_beside`), fsync, then rename over ``path``: a reader sees the old file or the
    new one, never a partial one; a symlink at ``path`` is replaced, never written through."""
    p = Path(path)
    fd, tmp = temp_beside(p)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode())


def append_text(path, text: str) -> None:
    """Append ``text`` to a log file and fsync it (the one file the package grows in place, a
    training run's ``log.csv``): opened with ``O_NOFOLLOW`` and refused, in one line, when a
    link or a special file stands at ``path``."""
    p = Path(path)
    if p.is_symlink() or (p.exists() and not p.is_file()):
        raise ValueError(f"{p}: not a regular file (a link or a special file); a log is never written through "
                         f"one: remove it and run again")
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def save_figure(fig, path, **savefig_kwargs) -> None:
    """Render a matplotlib figure in memory (the format from ``path``'s suffix) and write it with
    :func:`atomic_write_bytes`: never through a symlink, never a half-written image."""

    buf = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, **savefig_kwargs)
    atomic_write_bytes(path, buf.getvalue())


#: Largest text input (config, scenario, calibration, manifest, JSON) read: 16 MiB.
MAX_TEXT_BYTES = 16 * 2**20


def check_input_file(path, what: str = "input") -> Path:
    """The gate before any input file is opened: it exists and is a regular file (a FIFO,
    device, socket or folder would block or mislead a reader). Returns it as a Path; raises
    ``FileNotFoundError`` or a one-line ``ValueError`` naming it."""

    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such {what} file: {p}") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read the {what} file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{p} is a folder, not a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{p}: not a regular file (a FIFO, device or socket); refusing to read it as a {what} file")
    return p


def read_input_text(path, what: str = "input", limit: int = MAX_TEXT_BYTES) -> str:
    """Text of an input file through :func:`check_input_file`, refused above ``limit`` bytes
    and when it is not UTF-8 (a binary file given as a config), each in one line naming it."""
    p = check_input_file(path, what)
    size = p.stat().st_size
    if size > limit:
        raise ValueError(f"{p}: {size:,} bytes is too large for a {what} file (limit {limit:,})")
    try:
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not a text file (not UTF-8); expected a {what} file") from None


def open_h5(path, what: str = "HDF5"):
    """Open an HDF5 file for reading through the input gate: a regular file (:func:`check_input_file`)
    whose datasets all keep their data inside it. A dataset with external raw storage, a
    virtual layout (data mapped from other files) or an external link would read another file
    (or block on a FIFO) into the output: refused, in one line naming it. Returns the open
    ``h5py.File`` (the caller closes it; use it in a ``with`` block). h5py is imported here,
    on first use, so that importing the package does not load it."""
    import h5py

    p = check_input_file(path, what)
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ValueError(f"{p}: not a readable {what} file ({' '.join(str(exc).split())[:160]})") from None
    bad = []

    def visit(name, link):
        if isinstance(link, h5py.ExternalLink):
            bad.append((name, "an external link to another file"))
        elif isinstance(link, h5py.HardLink):
            obj = f.get(name)
            if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
                bad.append((name, "external raw storage" if obj.external else "a virtual layout mapping other files"))

    try:
        f.visititems_links(visit)
    except Exception as exc:  # a corrupt object table
        f.close()
        raise ValueError(f"{p}: not a readable {what} file ({' '.join(str(exc).split())[:160]})") from None
    if bad:
        f.close()
        name, why = bad[0]
        raise ValueError(f"{p}: dataset {name!r} keeps its data outside the file ({why}); refusing to read it")
    return f


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class FolderBusy(RuntimeError):
    """Another process holds the folder's lock."""


class FolderLock:
    """Advisory exclusive lock on a folder (``fcntl.flock`` on ``<folder>/.lock``, which holds the
    owner's PID). A second writer fails at once with :class:`FolderBusy` naming the owner; the
    lock disappears with its process, however that process ends."""

    #: Seconds to wait when the recorded owner is dead but its orphaned children still hold the lock.
    ORPHAN_WAIT_S = 15.0

    def __init__(self, folder, what: str = "writer"):
        self.path = Path(folder) / ".lock"
        self.what = what
        self._fh = None

    def __enter__(self):
        import fcntl  # lazy: POSIX only, and only where a folder is locked

        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FolderBusy(f"{self.path} is a symlink; remove it (a lock file is never followed)") from None
            raise
        self._fh = os.fdopen(fd, "a+")
        deadline = time.monotonic() + self.ORPHAN_WAIT_S
        while True:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                self._fh.seek(0)
                owner = self._fh.read().strip() or "?"
                # the owner is gone but a child it forked (a data-loading worker) still holds the
                # lock for the few seconds it takes to notice: wait for it rather than refuse
                if owner.isdigit() and not pid_alive(int(owner)) and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                self._fh.close()
                self._fh = None
                left = "" if not owner.isdigit() or pid_alive(int(owner)) else (
                    f"; that process is gone but processes it started still hold the lock: stop them")
                raise FolderBusy(f"{self.path.parent} is in use by another {self.what} (PID {owner}){left}; "
                                 f"wait for it to finish or stop it") from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(str(os.getpid()))
        self._fh.flush()
        return self

    def __exit__(self, *exc):
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        return False


def die_with_parent() -> None:
    """In a worker process: ask Linux to SIGKILL this process when its parent dies (for any
    reason, SIGKILL included), so no orphan keeps writing. A no-op elsewhere."""
    try:
        import ctypes  # lazy: Linux prctl only, in worker processes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent already died before the call
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class atomic_path:
    """Context manager: yields a temporary path beside ``path`` (same suffix, so writers pick
    the same format) and renames it over ``path`` when the block succeeds; on failure the
    temporary file is removed and ``path`` is untouched.

    >>> with atomic_path("out.png") as tmp:
    ...     fig.savefig(tmp)
    """

    def __init__(self, path):
        self.path = Path(path)
        self.tmp = None

    def __enter__(self) -> Path:
        fd, self.tmp = temp_beside(self.path)  # created exclusively: never a planted symlink
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.tmp.exists():
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()
        return False


def home_relative(text) -> str:
    """``text`` with the user's home folder written as ``~`` (no machine paths in reports and
    shipped metadata)."""
    return str(text).replace(str(Path.home()), "~")
