"""Dataset generation: scenario → N records in HDF5 shards, in parallel, resumable.

Records are grouped into shards of ``shard_size`` consecutive indices; a shard is one task,
written by exactly one worker under a temporary name and renamed when complete. Every record
draws from its own random stream (:func:`record_rng`), so the dataset is bit-identical
whatever the number of workers or the scheduler. Re-running the same command verifies the
shards already present (CRC32 of every dataset), keeps the good ones and regenerates the
missing, partial or corrupt ones; ``manifest.json`` and the dataset card are written last.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .scenario import Scenario, load_scenario
from .shards import shard_name, verify_shard, write_shard
from .simulate import simulate_record

__all__ = ["generate_dataset", "run_shard", "plan_shards", "read_manifest", "MANIFEST"]

MANIFEST = "manifest.json"
DEFAULT_SHARD_SIZE = 32


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


def read_manifest(root: str | Path) -> dict:
    p = Path(root) / MANIFEST
    if not p.exists():
        raise FileNotFoundError(f"{root}: no {MANIFEST}; generate the dataset with `sarsr dataset` "
                                f"(or finish an interrupted run by re-running the same command)")
    return json.loads(p.read_text())


def _progress_bar(total, initial, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="scan", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def generate_dataset(scenario: str | Path | Scenario, out: str | Path, count: int, seed: int = 0,
                     workers: int | None = None, scheduler: str | None = None,
                     shard_size: int = DEFAULT_SHARD_SIZE, progress: bool = True, log=print) -> dict:
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
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = dict(scenario=sc.name, scenario_digest=sc.digest, count=count, seed=seed, shard_size=shard_size)
    spec_path = out / "generation.json"
    if spec_path.exists():
        old = json.loads(spec_path.read_text())
        diff = {k: (old.get(k), v) for k, v in spec.items() if old.get(k) != v}
        if diff:
            raise ValueError(f"{out} holds a different dataset ({', '.join(f'{k}: {a} != {b}' for k, (a, b) in diff.items())}); "
                             f"choose another --out")
    else:
        spec_path.write_text(json.dumps(spec, indent=2))
    for stale in out.glob(".shard-*.tmp-*"):  # leftovers of killed writers are never data
        stale.unlink()
    previous = json.loads((out / MANIFEST).read_text()) if (out / MANIFEST).exists() else {}
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
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed as done_iter

            threads = max(1, ncpu // workers)
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as ex:
                futs = [ex.submit(run_shard, sc, str(out), sid, s, n, seed, threads) for sid, s, n in todo]
                for fut in done_iter(futs):
                    r = fut.result()
                    results.append(r)
                    bar.update(r["count"])
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    shards = sorted(done + [{k: r[k] for k in ("shard", "file", "start", "count")} for r in results],
                    key=lambda d: d["shard"])
    from .. import __version__

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
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, out / MANIFEST)
    return manifest


def _write_card(out: Path, sc: Scenario, m: dict) -> None:
    stored = [k for k, v in sc["store"].items() if v]
    card = {k: m[k] for k in ("scenario", "scenario_digest", "count", "seed", "shard_size", "sarsr_version")}
    card.update(stored=stored, image_side=sc["grid"]["n"], extent_m=sc["grid"]["extent_m"],
                scans_per_hour=m.get("scans_per_hour"), workers=m.get("workers"))
    (out / "dataset_card.json").write_text(json.dumps(card, indent=2))
    rate = f"{m['scans_per_hour']:.0f} scans/hour ({m['workers'] or 'dask'} workers, this run)" \
        if m.get("scans_per_hour") else "n/a (no record generated in the last run)"
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
labels are float32 in [0, 1] (Gaussian blobs, o = 1.2 mm, shapes at plateau 0.6).
"""
    (out / "DATASET_CARD.md").write_text(md)
