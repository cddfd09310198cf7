"""Phases of the one prepared GPU call (``scripts/device_run.sh``): environment, correctness of
the torch radar backend against numba, throughput, fresh training data, time-boxed training,
summary. Each phase is one process (``python3 scripts/device_run.py PHASE``) so the shell script
can time-box it; each writes ``$WORK/<phase>.json`` and the ``summary`` phase gathers them into
``$OUT/summary.json`` and ``$OUT/bench.md``.

``--dry-run`` runs every phase on the CPU at tiny sizes (the same code paths), so a test can run
the whole script in a few minutes and the real call cannot rot.

Only the tree is needed (``PYTHONPATH`` = the repository root): no install, no network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Sizes of the real run and of the dry run (CPU, tiny, same code paths).
SIZES = {
    "real": dict(check_nx=16, sim=(40000, 1000), bp_paper=(40000, 200), bp_big=(160000, 800), sr_batches=(1, 64),
                 sr_size=256, train_batch=64, train_crop=256, data_budget_s=100.0, data_cap=6000, train_time_s=70.0,
                 scan_overrides={}, val_count=256, bench_repeat=5),
    "dry": dict(check_nx=8, sim=(2000, 50), bp_paper=(2000, 24), bp_big=(4000, 32), sr_batches=(1, 4),
                sr_size=64, train_batch=4, train_crop=32, data_budget_s=6.0, data_cap=24, train_time_s=4.0,
                scan_overrides={"trajectory.nx": 16, "trajectory.ny_steps": 2, "grid.n": 32,
                                "reconstruction.nfft": 64, "reconstruction.input_weights": [1.0, 0.0]},
                val_count=4, bench_repeat=2),
}


def _write(work: Path, phase: str, data: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{phase}.json").write_text(json.dumps(data, indent=2, default=str))
    print(json.dumps({phase: data}, default=str)[:2000], flush=True)


def _sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, dev, repeat):
    """Median seconds of ``fn()`` after one warm-up (device synchronised around each call)."""
    import numpy as np

    fn()
    _sync(dev)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync(dev)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def phase_env(args, sz, dev):
    import numba
    import numpy as np
    import torch

    info = dict(python=sys.version.split()[0], torch=torch.__version__, cuda=torch.version.cuda,
                numba=numba.__version__, numpy=np.__version__, cpu_count=os.cpu_count(), device=str(dev),
                dry_run=args.dry_run, date=time.strftime("%Y-%m-%d %H:%M:%S"))
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        info.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2 ** 30, 1), sm_count=p.multi_processor_count,
                    bf16=torch.cuda.is_bf16_supported())
    import sarsr
    from sarsr.data import list_scenarios

    info.update(sarsr=sarsr.__version__, presets=len(list_scenarios()))
    return info


def phase_check(args, sz, dev):
    """The torch backend against numba on one small scan: max relative errors."""
    import numpy as np

    from sarsr import radar

    rng = np.random.default_rng(0)
    scan = radar.raster_scan("awr1443", nx=sz["check_nx"], ny_steps=2)
    k = radar.waveform("iwr1443").k
    pts = np.c_[rng.uniform(-0.02, 0.02, (40, 2)), rng.uniform(0.24, 0.26, 40)]
    amp = rng.uniform(0.3, 1.0, 40)
    out = {}
    e_nb = radar.simulate_echo(scan.tx, scan.rx, k, pts, amp)
    e_t = radar.simulate_echo(scan.tx, scan.rx, k, pts, amp, backend="torch", device=dev)
    out["simulate_rel_err"] = float(np.abs(e_t - e_nb).max() / np.abs(e_nb).max())
    grid = radar.image_grid(n=24, extent=0.03, z=0.25).points
    for method in ("interp", "exact"):
        b_nb = radar.backproject(e_nb, scan.tx, scan.rx, k, grid, method=method)
        b_t = radar.backproject(e_nb, scan.tx, scan.rx, k, grid, method=method, backend="torch", device=dev)
        out[f"backproject_{method}_rel_err"] = float(np.abs(b_t - b_nb).max() / np.abs(b_nb).max())
    out["ok"] = all(v < 1e-3 for k_, v in out.items() if k_.endswith("rel_err"))
    return out


class _Rows(list):
    """A list of bench rows that rewrites ``$WORK/bench.json`` (marked partial) on every append."""

    def __init__(self, work: Path):
        super().__init__()
        self.path = Path(work) / "bench.json"

    def append(self, row):
        super().append(row)
        self.path.write_text(json.dumps({"rows": list(self), "partial": True}, indent=2, default=str))


def phase_bench(args, sz, dev):
    """One throughput table: simulation (G terms/s), backprojection (G pixel-channel pairs/s) at
    the paper case and a large image, SR inference ms/image (shipped srvit_hsm, mobile_srvit;
    bf16 on CUDA), training image-samples/s of the default network."""
    import numpy as np
    import torch

    from sarsr import radar
    from sarsr.models import create_model, reparameterize

    rep = sz["bench_repeat"]
    rows = _Rows(args.work)  # each row is saved as it comes, so a phase cut off by its budget keeps its rows
    rng = np.random.default_rng(1)
    k = radar.waveform("iwr1443").k
    n_ch, n_sc = sz["sim"]
    tx = np.c_[rng.uniform(-0.1, 0.1, (n_ch, 2)), np.zeros(n_ch)]
    rx = tx + [0.002, 0.0, 0.0]
    pts = np.c_[rng.uniform(-0.05, 0.05, (n_sc, 2)), np.full(n_sc, 0.25)]
    t = _timed(lambda: radar.simulate_echo(tx, rx, k, pts, np.ones(n_sc), backend="torch", device=dev), dev, rep)
    rows.append(dict(task="simulate (torch)", size=f"{n_ch} ch x {n_sc} scatterers x {k.size}", seconds=t,
                     rate=n_ch * n_sc * k.size / t / 1e9, unit="G terms/s"))
    for name, (n_ch, n_px) in (("paper", sz["bp_paper"]), ("large", sz["bp_big"])):
        tx = np.c_[rng.uniform(-0.1, 0.1, (n_ch, 2)), np.zeros(n_ch)]
        rx = tx + [0.002, 0.0, 0.0]
        echo = (rng.standard_normal((n_ch, k.size)) + 1j * rng.standard_normal((n_ch, k.size))).astype(np.complex64)
        grid = radar.image_grid(n=n_px, extent=0.1, z=0.25).points
        t = _timed(lambda: radar.backproject(echo, tx, rx, k, grid, method="interp", backend="torch", device=dev),
                   dev, max(1, rep // 3))
        rows.append(dict(task=f"backprojection interp (torch), {name}", size=f"{n_ch} ch x {n_px}x{n_px}",
                         seconds=t, rate=n_ch * n_px * n_px / t / 1e9, unit="GBP/s"))
    amp_dtype = torch.bfloat16 if dev.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    s = sz["sr_size"]
    for name, pretrained in (("srvit_hsm", True), ("mobile_srvit", False)):
        net = reparameterize(create_model(name, pretrained=pretrained)).to(dev).eval()
        net = net.to(memory_format=torch.channels_last)
        for b in sz["sr_batches"]:
            x = torch.rand(b, net.default_cfg.get("in_chans", 1), s, s, device=dev).to(memory_format=torch.channels_last)

            def fwd():
                with torch.no_grad(), torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype != torch.float32):
                    net(x)

            t = _timed(fwd, dev, rep)
            rows.append(dict(task=f"SR inference {name}", size=f"batch {b} x {s}^2 ({str(amp_dtype)[6:]})",
                             seconds=t, rate=1e3 * t / b, unit="ms/image"))
    net = create_model("srvit_hsm", pretrained=True).to(dev).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    b = sz["train_batch"]
    x = torch.rand(b, 1, s, s, device=dev).to(memory_format=torch.channels_last)
    y = torch.rand(b, 1, s, s, device=dev)

    def step():
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype != torch.float32):
            loss = (net(x).float() - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t = _timed(step, dev, rep)
    rows.append(dict(task="training step srvit_hsm (model only)", size=f"batch {b} x {s}^2", seconds=t,
                     rate=b / t, unit="image-samples/s"))
    if dev.type == "cuda":  # last (its compile may take the rest of the phase): train.compile = true
        net = torch.compile(net)  # step() looks net up when called
        t = _timed(step, dev, rep)
        rows.append(dict(task="training step srvit_hsm (model only, torch.compile)", size=f"batch {b} x {s}^2",
                         seconds=t, rate=b / t, unit="image-samples/s"))
    return {"rows": list(rows)}


def phase_data(args, sz, dev):
    """Fresh sr_train_v2 records within a time budget: a small first chunk measures the rate,
    then one dataset sized to what is left (all CPU cores)."""
    from sarsr.data import generate_dataset, load_scenario

    sc = load_scenario("sr_train_v2")
    if sz["scan_overrides"]:
        sc = sc.with_overrides(sz["scan_overrides"])
    workers = max(1, (os.cpu_count() or 2))
    t0 = time.perf_counter()
    # warm-up (compiles the kernels into NUMBA_CACHE_DIR), then a probe that measures the rate
    n_warm = workers if not args.dry_run else 2
    generate_dataset(sc, args.work / "warm", n_warm, seed=11, workers=workers, shard_size=1,
                     progress=False, log=lambda *a: None)
    n_probe = 2 * workers if not args.dry_run else 4
    t_probe = time.perf_counter()
    generate_dataset(sc, args.work / "probe", n_probe, seed=21, workers=workers, shard_size=max(1, n_probe // workers),
                     progress=False, log=lambda *a: None)
    rate = n_probe / (time.perf_counter() - t_probe)
    left = sz["data_budget_s"] - (time.perf_counter() - t0)
    count = int(min(sz["data_cap"], max(sz["val_count"] + 8, 0.85 * rate * left)))
    root = args.work / "sr_train_dev"
    t1 = time.perf_counter()
    generate_dataset(sc, root, count, seed=31, workers=workers, shard_size=16 if not args.dry_run else 4,
                     progress=False, log=lambda *a: None)
    return dict(root=str(root), count=count, workers=workers, probe_scans_per_s=rate,
                scans_per_s=count / (time.perf_counter() - t1), seconds=time.perf_counter() - t0)


def _val_count(args, sz) -> int:
    """Validation records: at most the preset count and a fifth of what the data phase made, so a
    slow data phase still leaves training records for a full batch."""
    made = json.loads((args.work / "data.json").read_text())["count"]
    return int(max(2, min(sz["val_count"], made // 5)))


def _train_config(args, sz, name, model, init, batch, lr, loss):
    text = f"""name = "{name}"
[model]
name = "{model}"
{'options = { log_input_db = 40.0 }' if model == 'srvit_hsm' else ''}
[data]
train = "{args.work / 'sr_train_dev'}"
source = "input"
size = {sz['sr_size']}
crop = {sz['train_crop']}
val_count = {_val_count(args, sz)}
num_workers = 0
preload = true
[train]
{f'init = "{init}"' if init else ''}
batch_size = {batch}
steps = 1000000
lr = {lr}
optimizer = "adamw"
weight_decay = 1e-4
schedule = "constant"
warmup_steps = {20 if not args.dry_run else 1}
loss = "{loss}"
channels_last = true
seed = 5
checkpoint_every = 50
val_every = 100000000
log_every = 10
select = "val_score"
time_limit_s = {sz['train_time_s']}
{'compile = true' if sz.get('compile') else ''}
"""
    p = args.work / f"{name}.toml"
    p.write_text(text)
    return p


def phase_train(args, sz, dev, which):
    """Time-boxed training (bf16 autocast on CUDA, channels-last, large batch) on the fresh data,
    validated at the end on its validation split with the SR rule (val_score)."""
    from sarsr.train import train

    data = json.loads((args.work / "data.json").read_text())
    if which == "mobile_srvit":  # the paper's network at paper scale
        cfg = _train_config(args, sz, "dev_mobile_srvit", "mobile_srvit", "", sz["train_batch"], 4e-4, "l1_peak_keep")
    else:  # the default network, warm-started from the shipped weights
        cfg = _train_config(args, sz, "dev_srvit_hsm", "srvit_hsm", "srvit_hsm", sz["train_batch"], 2e-4,
                            "l1_peak_keep")
    run = args.work / f"run_{which}"
    t0 = time.perf_counter()
    import threading

    def heartbeat():  # the log's last row every 15 s, so a stalled phase shows where it stalled
        while True:
            time.sleep(15 if not args.dry_run else 3)
            p = run / "log.csv"
            last = p.read_text().strip().splitlines()[-1] if p.exists() else "(no log row yet)"
            print(f"[{which} +{time.perf_counter() - t0:.0f} s] {last}", flush=True)

    threading.Thread(target=heartbeat, daemon=True).start()
    s = train(cfg, run, resume=False, device=str(dev), progress=False, log=lambda m: print(m, flush=True))
    secs = time.perf_counter() - t0
    import csv

    rows = list(csv.DictReader((run / "log.csv").open()))
    steps = s["step"]
    out = args.out
    # $OUT/<model>/ holds best.pt with its config.toml and log.csv: a run folder that
    # `sarsr evaluate --model LABEL=.../best.pt` and `sarsr export` read as they come back
    (out / which).mkdir(exist_ok=True)
    for src in ("best.pt", "log.csv"):
        if (run / src).exists():
            shutil.copy(run / src, out / which / src)
    (out / which / "config.toml").write_text(cfg.read_text())
    return dict(model=which, steps=steps, batch=sz["train_batch"], crop=sz["train_crop"],
                image_samples=steps * sz["train_batch"], seconds=secs,
                samples_per_s=steps * sz["train_batch"] / max(secs, 1e-9), records=data["count"],
                validation=[r for r in rows if r.get("val_score")], config=cfg.read_text())


def phase_summary(args, sz, dev):
    phases = {}
    for name in ("env", "check", "bench", "data", "train_mobile_srvit", "train_srvit_hsm"):
        p = args.work / f"{name}.json"
        phases[name] = json.loads(p.read_text()) if p.exists() else {"missing": True}
    times = args.work / "phase_times.txt"
    summary = dict(phases=phases, phase_times=times.read_text().splitlines() if times.exists() else [])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    env = phases["env"]
    lines = [f"# GPU run ({env.get('gpu', env.get('device', '?'))}, {env.get('date', '?')}"
             f"{', DRY RUN on CPU' if args.dry_run else ''})", "",
             f"torch {env.get('torch')}, CUDA {env.get('cuda')}, numba {env.get('numba')}, {env.get('cpu_count')} CPU cores", "",
             "| task | size | seconds | rate |", "|---|---|---|---|"]
    for r in phases["bench"].get("rows", []):
        lines.append(f"| {r['task']} | {r['size']} | {r['seconds']:.4f} | {r['rate']:.3g} {r['unit']} |")
    chk = phases["check"]
    if "ok" in chk:
        lines += ["", "Correctness (torch vs numba, max relative error): " +
                  ", ".join(f"{k} {v:.2e}" for k, v in chk.items() if k.endswith("rel_err"))]
    for key in ("train_mobile_srvit", "train_srvit_hsm"):
        t = phases[key]
        if "steps" in t:
            last = t["validation"][-1] if t["validation"] else {}
            lines.append(f"- {t['model']}: {t['image_samples']:,} image-samples in {t['seconds']:.0f} s "
                         f"({t['samples_per_s']:.0f}/s), validation {json.dumps(last)}")
    (args.out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return {"written": sorted(p.name for p in args.out.iterdir())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("phase", choices=["env", "check", "bench", "data", "train_mobile_srvit", "train_srvit_hsm",
                                      "summary"])
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes, same phases")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    import torch

    if args.dry_run:
        dev = torch.device("cpu")
    else:
        if not torch.cuda.is_available():
            sys.exit("device_run: no CUDA GPU here; use --dry-run on a CPU machine")
        dev = torch.device("cuda")
    sz = dict(SIZES["dry" if args.dry_run else "real"])
    # a second call on what is left of a lease (DEVICE_MODE=train in device_run.sh) sizes the data and
    # the training from the environment; unset, the preset sizes hold
    for key, env in (("data_budget_s", "SARSR_DEVICE_DATA_S"), ("train_time_s", "SARSR_DEVICE_TRAIN_S")):
        if os.environ.get(env):
            sz[key] = float(os.environ[env])
    sz["compile"] = os.environ.get("SARSR_DEVICE_COMPILE", "") == "1" and not args.dry_run
    t = time.perf_counter()
    if args.phase.startswith("train_"):
        data = phase_train(args, sz, dev, args.phase[len("train_"):])
    else:
        data = globals()[f"phase_{args.phase}"](args, sz, dev)
    data = {**data, "phase_seconds": time.perf_counter() - t}
    _write(args.work, args.phase, data)


if __name__ == "__main__":
    main()
