"""Dataset generation: scenario → N records in HDF5 shards, in parallel, resumable.

Records are grouped into shards of ``shard_size`` consecutive indices; a shard is one task,
written by exactly one worker under a temporary name and renamed when complete. Every record
draws from its own random stream (:func:`record_rng`), so the dataset is bit-identical
whatever the number of workers or the scheduler. Re-running the same command verifies the
shards already present (CRC32 of every dataset), keeps the good ones and regenerates the
missing, partial or corrupt ones; ``manifest.json`` and the dataset card are written last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
import shutil
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed as done_iter

from .._files import FolderLock, atomic_write_text, die_with_parent, open_h5, pid_alive, read_input_text, temp_owner_pid
from .scenario import IMAGE_STORE_KEYS, Scenario, load_scenario
from .shards import shard_name, verify_shard, write_shard
from .simulate import check_record_memory, simulate_record
from .. import __version__

__all__ = ["generate_dataset", "run_shard", "plan_shards", "read_manifest", "dataset_scenario", "iter_records",
           "MANIFEST"]

MANIFEST = "manifest.json"
DEFAULT_SHARD_SIZE = 32
#: Most records one dataset may hold (a count beyond it is a typo, not a plan).
MAX_RECORDS = 10_000_000


def record_bytes(sc: Scenario) -> int:
    """Approximate stored size of one record of ``sc`` (bytes): complex64 images and a float32
    label on the scenario's n x n grid."""
    n = int(sc["grid"]["n"])
    st = sc["store"]
    images = sum(bool(st.get(k)) for k in IMAGE_STORE_KEYS)
    return n * n * (8 * images + 4 * bool(st.get("label"))) + 2048


def plan_shards(count: int, shard_size: int) -> list[tuple[int, int, int]]:
    """[(shard id, first record, record count)] covering ``count`` records."""
    return [(i, s, min(shard_size, count - s)) for i, s in enumerate(range(0, count, shard_size))]


def _set_threads(n: int | None):
    if n:
        try:
            import numba

            numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
        except Exception:  # pragma: no cover
            pass


def run_shard(sc: Scenario, out: str, shard: int, start: int, count: int, seed: int,
              threads: int | None = None) -> dict:
    """Simulate and write one shard (runs in a worker process or on a Dask worker)."""
    _set_threads(threads)
    t0 = time.perf_counter()
    records = [simulate_record(sc, seed, i) for i in range(start, start + count)]
    path = Path(out) / shard_name(shard)
    write_shard(path, records, start, seed, sc)
    return {"shard": shard, "file": path.name, "start": start, "count": count,
            "seconds": time.perf_counter() - t0}


def _size(nbytes: float) -> str:
    """A byte count for messages: GiB, MiB or KiB, whichever shows it without rounding to 0."""
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if nbytes >= 0.1 * scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes / 2 ** 10:,.1f} KiB"


def read_manifest(root: str | Path) -> dict:
    p = Path(root) / MANIFEST
    if not p.exists():
        raise FileNotFoundError(f"{root}: no {MANIFEST}; generate the dataset with `sarsr dataset` "
                                f"(or finish an interrupted run by re-running the same command)")
    text = read_input_text(p, "manifest")
    try:
        m = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{p}: not a readable manifest ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:80]}); re-run the dataset's `sarsr dataset` command to "
                         f"rewrite it") from None
    if not isinstance(m, dict) or not isinstance(m.get("shards"), list) or "count" not in m:
        raise ValueError(f"{p}: not a sarsr dataset manifest (no shards / count)")
    for s in m["shards"]:  # every reader opens root / file: a name, never a path out of the folder
        ok = isinstance(s, dict) and all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool) and s[k] >= 0
                                         for k in ("shard", "start", "count"))
        if not ok or s.get("file", shard_name(s["shard"])) != shard_name(s["shard"]):
            raise ValueError(f"{p}: shard entry {str(s)[:80]} is not this folder's shard-NNNNN.h5 (a manifest "
                             f"names only its own shards); re-run the dataset's `sarsr dataset` command to rewrite it")

    if _release(m.get("sarsr_version", "0")) > _release(__version__):
        raise ValueError(f"{p}: written by sarsr {m.get('sarsr_version')}, newer than this sarsr {__version__}; "
                         f"upgrade sarsr to read it")
    return m


def dataset_scenario(root: str | Path) -> Scenario:
    """The scenario the dataset at ``root`` was generated with, overrides included: built from
    the manifest's ``scenario_config`` (its ``scenario_toml`` is the preset's text with each
    ``--set`` override only as a comment). With :func:`sarsr.data.record_rng` and the manifest's
    ``seed`` it draws any record again (e.g. :func:`sarsr.data.simulate.build_scan` for its true
    and estimated positions)."""
    m = read_manifest(root)
    cfg = m.get("scenario_config")
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise ValueError(f"{Path(root) / MANIFEST}: no scenario_config (written by an older sarsr); "
                         f"regenerate the dataset with `sarsr dataset`")
    sc = Scenario(cfg["name"], cfg, m.get("scenario_toml", ""), str(Path(root) / MANIFEST))
    if sc.digest != m.get("scenario_digest"):
        raise ValueError(f"{Path(root) / MANIFEST}: its scenario_config does not match its scenario_digest; "
                         f"the manifest was edited, regenerate the dataset")
    return sc


def iter_records(root: str | Path, keys, limit: int | None = None):
    """The records of the dataset at ``root`` in order, as dicts of the stored ``keys`` (names of
    the shard datasets: ``"empm"``, ``"label"``, ``"scene_json"``, ``"pos_error_rms_m"``, ...)
    plus ``"index"`` (the record's index, for :func:`sarsr.data.record_rng`); the first
    ``limit`` records (None: all). Shards are opened through the input gate
    (:func:`sarsr._files.open_h5`); a key a shard lacks raises ValueError naming both."""
    root = Path(root)
    m = read_manifest(root)
    keys = list(keys)
    n = m["count"] if limit is None else min(int(limit), m["count"])
    done = 0
    for s in m["shards"]:
        if done >= n:
            return
        path = root / shard_name(int(s["shard"]))
        with open_h5(path, "shard") as f:
            missing = [k for k in keys + ["index"] if k not in f]
            if missing:
                raise ValueError(f"{path}: no {', '.join(map(repr, missing))} (stored: {', '.join(sorted(f))})")
            take = min(int(s["count"]), n - done)
            cols = {k: f[k][:take] for k in keys + ["index"]}
        for j in range(take):
            rec = {k: cols[k][j] for k in keys}
            rec["index"] = int(cols["index"][j])
            yield rec
        done += take


def _release(version) -> tuple:
    """(major, minor) of a version string ("0.1.0" -> (0, 1)); unparsable parts count as 0.
    Datasets from a newer major / minor release are refused rather than misread."""
    parts = []
    for piece in str(version).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (2 - len(parts)))


def _progress_bar(total, initial, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="scan", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def generate_dataset(scenario: str | Path | Scenario, out: str | Path, count: int, seed: int = 0,
                     workers: int | None = None, scheduler: str | None = None,
                     shard_size: int = DEFAULT_SHARD_SIZE, progress: bool = True, log=print,
                     force: bool = False) -> dict:
    """Generate (or complete) a dataset; returns the manifest.

    Parameters
    ----------
    scenario : preset name, TOML path or :class:`Scenario`.
    out : output folder (created). An existing dataset there must have the same scenario,
        seed, count and shard size, otherwise a ValueError is raised.
    count, seed : number of records and master seed.
    workers : local worker processes (default: CPU count; 1 runs in this process). Numba
        threads are split evenly between workers.
    scheduler : ``tcp://host:port`` of a Dask distributed scheduler; tasks then run on its
        workers (``out`` must be on a filesystem they all see).
    force : write into a non-empty folder that holds no sarsr dataset (refused otherwise).

    One run at a time per folder (an advisory lock; a second one fails naming the owner's
    PID). Worker processes die with the main process; SIGTERM and Ctrl-C stop the run with
    a KeyboardInterrupt and leave the folder resumable.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be an integer >= 1, got {shard_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if count > MAX_RECORDS:
        raise ValueError(f"count {count:,} is more than the {MAX_RECORDS:,} records one dataset may hold; "
                         f"split it into several datasets")
    check_record_memory(sc)
    out = Path(out)
    need = float(count) * record_bytes(sc)
    probe = next((q for q in [out, *out.parents] if q.exists()), None)
    if probe is not None:
        free = shutil.disk_usage(probe).free
        have = sum(f.stat().st_size for f in out.glob("shard-*.h5")) if out.is_dir() else 0
        if need - have > free:
            raise ValueError(f"{count:,} records of {sc.name} need ~{_size(need - have)} more on disk, "
                             f"{_size(free)} are free at {probe}; lower --count or free space")
    spec_path = out / "generation.json"
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder")
    if out.is_dir() and not spec_path.exists() and not force:
        foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if foreign:
            raise ValueError(f"{out} is not empty and holds no sarsr dataset ({', '.join(foreign[:3])}"
                             f"{', ...' if len(foreign) > 3 else ''}); choose another --out or pass --force to "
                             f"write into it")
    out.mkdir(parents=True, exist_ok=True)
    with FolderLock(out, "sarsr dataset run"):
        return _generate_locked(sc, out, count, seed, workers, scheduler, shard_size, progress, log)


def _generate_locked(sc, out, count, seed, workers, scheduler, shard_size, progress, log) -> dict:
    spec = dict(scenario=sc.name, scenario_digest=sc.digest, count=count, seed=seed, shard_size=shard_size)
    spec_path = out / "generation.json"
    if spec_path.exists():
        try:
            old = json.loads(read_input_text(spec_path, "generation record"))
        except (ValueError, RecursionError):
            raise ValueError(f"{spec_path}: unreadable; delete it to start this folder over") from None
        diff = {k: (old.get(k), v) for k, v in spec.items() if old.get(k) != v}
        if diff:
            raise ValueError(f"{out} holds a different dataset ({', '.join(f'{k}: {a} != {b}' for k, (a, b) in diff.items())}); "
                             f"choose another --out")
    else:
        atomic_write_text(spec_path, json.dumps(spec, indent=2))
    for stale in out.glob(".shard-*.tmp-*"):  # leftovers of killed writers are never data
        pid = temp_owner_pid(stale.name)
        if not (pid is not None and pid_alive(pid) and pid != os.getpid()):
            stale.unlink(missing_ok=True)
    previous = {}
    if (out / MANIFEST).exists():  # a manifest of a newer sarsr is refused, an unreadable one named
        try:
            previous = read_manifest(out)
        except ValueError as exc:
            if "newer than this sarsr" in str(exc):
                raise
            previous = {}
    (out / MANIFEST).unlink(missing_ok=True)

    plan = plan_shards(count, shard_size)
    todo, done = [], []
    for sid, start, n in plan:
        reason = verify_shard(out / shard_name(sid), start, n, seed, sc.digest)
        if reason is None:
            done.append(dict(shard=sid, file=shard_name(sid), start=start, count=n))
        else:
            if reason != "missing":
                log(f"  {shard_name(sid)}: {reason}; regenerating")
                (out / shard_name(sid)).unlink(missing_ok=True)
            todo.append((sid, start, n))
    ncpu = os.cpu_count() or 1
    workers = workers or ncpu
    if done:
        log(f"resuming: {len(done)}/{len(plan)} shards already complete")
    t0 = time.perf_counter()
    bar = _progress_bar(count, sum(d["count"] for d in done), f"{sc.name}", progress)
    results = []
    try:
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futs = [client.submit(run_shard, sc, str(out.resolve()), sid, s, n, seed, None,
                                      key=f"sarsr-shard-{sc.digest}-{seed}-{sid}", pure=False)
                        for sid, s, n in todo]
                for fut in as_completed(futs):
                    r = fut.result()
                    results.append(r)
                    bar.update(r["count"])
        elif workers == 1 or len(todo) <= 1:
            for sid, s, n in todo:
                r = run_shard(sc, str(out), sid, s, n, seed)
                results.append(r)
                bar.update(r["count"])
        else:
            threads = max(1, ncpu // workers)
            ctx = mp.get_context("spawn")
            ex = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx, initializer=die_with_parent)
            try:
                with _terminate_as_interrupt():
                    futs = [ex.submit(run_shard, sc, str(out), sid, s, n, seed, threads) for sid, s, n in todo]
                    for fut in done_iter(futs):
                        r = fut.result()
                        results.append(r)
                        bar.update(r["count"])
            except BaseException:
                for proc in list(getattr(ex, "_processes", {}).values()):  # stop the workers now
                    proc.kill()
                ex.shutdown(wait=True, cancel_futures=True)
                raise
            ex.shutdown(wait=True)
    except KeyboardInterrupt:
        bar.close()
        done_now = len(done) + len(results)
        raise KeyboardInterrupt(f"stopped after {done_now}/{len(plan)} complete shards; run the same command "
                                f"again to finish") from None
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    shards = sorted(done + [{k: r[k] for k in ("shard", "file", "start", "count")} for r in results],
                    key=lambda d: d["shard"])

    manifest = dict(spec, scenario_toml=sc.text, scenario_config=sc.config, sarsr_version=__version__, shards=shards,
                    generated_records=sum(r["count"] for r in results),
                    generation_seconds=round(elapsed, 3), workers=workers if not scheduler else None,
                    scheduler=scheduler)
    if results:
        manifest["scans_per_hour"] = round(3600 * sum(r["count"] for r in results) / elapsed, 1)
    elif previous.get("scans_per_hour"):  # nothing regenerated: keep the rate of the generating run
        manifest["scans_per_hour"] = previous["scans_per_hour"]
        manifest["workers"] = previous.get("workers")
    _write_card(out, sc, manifest)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Within the block, SIGTERM stops the run like Ctrl-C (KeyboardInterrupt), so the worker
    processes are stopped and the folder stays resumable."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _write_card(out: Path, sc: Scenario, m: dict) -> None:
    stored = [k for k, v in sc["store"].items() if v]
    card = {k: m[k] for k in ("scenario", "scenario_digest", "count", "seed", "shard_size", "sarsr_version")}
    card.update(stored=stored, image_side=sc["grid"]["n"], extent_m=sc["grid"]["extent_m"],
                scans_per_hour=m.get("scans_per_hour"), workers=m.get("workers"))
    atomic_write_text(out / "dataset_card.json", json.dumps(card, indent=2))
    rate = f"{m['scans_per_hour']:.0f} scans/hour ({m['workers'] or 'dask'} workers, this run)" \
        if m.get("scans_per_hour") else "n/a (no record generated in the last run)"
    lo, hi = sc["scene"]["shape_plateau"]
    plateau = f"at plateau {lo:g}" if lo == hi else f"at a plateau drawn in [{lo:g}, {hi:g}] per shape"
    md = f"""# Dataset card: {sc.name}

{sc['description']}

| field | value |
|---|---|
| scenario | `{sc.name}` (digest `{sc.digest}`) |
| records | {m['count']} in {len(m['shards'])} shards of {m['shard_size']} |
| master seed | {m['seed']} (record i uses SeedSequence([seed, i])) |
| stored | {', '.join(stored)} ({sc['grid']['n']}x{sc['grid']['n']} on [-{sc['grid']['extent_m']}, {sc['grid']['extent_m']}) m) |
| generation rate | {rate} |
| sarsr version | {m['sarsr_version']} |

Reproduce: `sarsr dataset {sc.name} --count {m['count']} --seed {m['seed']} --store {','.join(stored)} --shard-size {m['shard_size']} --out DIR`
(the scenario TOML is stored in `manifest.json` and in every shard's attributes).
Images are complex64 (EMPM / backprojection / RMA) on the grid x, y at the scene depth z0;
labels are float32 in [0, 1] (Gaussian blobs, o = 1.2 mm, shapes {plateau}).
"""
    atomic_write_text(out / "DATASET_CARD.md", md)
