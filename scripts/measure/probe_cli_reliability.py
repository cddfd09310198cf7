"""Re-run the reliability cases of round 3 against the command line, as a hostile or careless
user would: every case must end with one line on stderr and rc 2 (or the documented code), no
traceback, no warning line, no file written outside its target folder, no outside file read,
no hang (each command runs under a timeout) and bounded memory (peak RSS of the child).

    .venv/bin/python scripts/measure/probe_cli_reliability.py [--keep DIR] [--only SUBSTRING]

Prints one line per case (PASS / FAIL with the reason) and a summary; exit status 1 when a
case fails. Builds its own small fixtures (a smoke dataset, a recognition dataset, a tiny SR
run, a tiny classifier, a simulated DCA1000 capture) in a temporary folder (~2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SARSR = [sys.executable, "-m", "sarsr"]
MEMORY_LIMIT_MB = 1536


def run(args, cwd=None, timeout=180, env=None):
    """(rc, stdout, stderr, seconds, peak RSS of the command in MB) of ``sarsr ARGS``."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t = time.perf_counter()
        try:
            p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name, *SARSR, *map(str, args)],
                               capture_output=True, text=True, timeout=timeout, cwd=cwd,
                               env={**os.environ, "PYTHONWARNINGS": "default", **(env or {})})
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            rc, out, err = "hang", "", f"no answer within {timeout} s"
        secs = time.perf_counter() - t
        text = Path(rss.name).read_text().split()
        peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else float("nan")
    return rc, out, err, secs, peak


class Probe:
    def __init__(self, work: Path, only: str | None):
        self.work, self.only, self.results = work, only, []

    def case(self, name, args, rc=2, match=None, outside=(), unchanged=(), timeout=60, env=None, absent=()):
        """One command: expected ``rc``; stderr one line containing ``match``; the files in
        ``outside`` (links' targets, secrets) unchanged; the paths in ``absent`` not created."""
        if self.only and self.only not in name:
            return
        snap = {Path(p): Path(p).read_bytes() for p in (*outside, *unchanged) if Path(p).exists()}
        code, out, err, secs, peak = run(args, timeout=timeout, env=env)
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        why = []
        if code != rc:
            why.append(f"rc {code} (want {rc})")
        if rc != 0 and len(lines) != 1:
            why.append(f"{len(lines)} stderr lines")
        if peak > MEMORY_LIMIT_MB:
            why.append(f"peak memory {peak:.0f} MB > {MEMORY_LIMIT_MB} MB")
        if "Traceback" in err or "Warning" in err:
            why.append("traceback or warning on stderr")
        if match and match.lower() not in err.lower():
            why.append(f"stderr lacks {match!r}")
        for p, data in snap.items():
            if not p.exists() or p.read_bytes() != data:
                why.append(f"{p.name} outside the target changed")
        for p in absent:
            if Path(p).exists():
                why.append(f"{Path(p).name} was written")
        secret = b"TOP-SECRET-PROBE"
        if secret.decode() in out or secret.decode() in err:
            why.append("an outside file's content came back")
        self.results.append((name, not why, "; ".join(why), lines[-1][:140] if lines else "", secs, peak))
        status = "PASS" if not why else "FAIL"
        print(f"{status}  {name:55s} {secs:5.1f} s {peak:5.0f} MB  {('; '.join(why) + ' | ') if why else ''}"
              f"{lines[-1][:100] if lines else ''}", flush=True)


def fixtures(w: Path):
    """Small inputs every case needs; returns a dict of paths."""
    from sarsr import radar
    from sarsr.io import RadarConfig, simulate_capture, write_capture

    f = {}
    f["ds"] = w / "ds"
    assert run(["dataset", "smoke", "--count", "8", "--seed", "1", "--shard-size", "4", "--out", f["ds"], "--quiet"],
               timeout=600)[0] == 0
    f["rds"] = w / "rds"
    assert run(["dataset", "recognition_smoke", "--count", "16", "--seed", "5", "--shard-size", "8", "--out", f["rds"],
                "--quiet"], timeout=600)[0] == 0
    sr_cfg = w / "tiny_sr.toml"
    sr_cfg.write_text(f'name = "tiny_sr"\n[model]\nname = "srvit_hsm"\noptions = {{dim = 8, depth = 1, state_dim = 4}}\n'
                      f'[data]\ntrain = "{f["ds"]}"\nsource = "empm"\nsize = 32\ncrop = 16\nval_count = 2\nnum_workers = 0\n'
                      f'[train]\nbatch_size = 2\nsteps = 4\nlr = 1e-3\ncheckpoint_every = 2\nval_every = 4\n')
    f["sr_cfg"], f["sr_run"] = sr_cfg, w / "sr_run"
    assert run(["train", sr_cfg, "--out", f["sr_run"], "--quiet"], timeout=600)[0] == 0
    v_cfg = w / "tiny_recog.toml"
    v_cfg.write_text(f'name = "tiny_recog"\ntask = "classification"\n[model]\nname = "vit_tiny"\n[data]\n'
                     f'train = "{f["rds"]}"\nsize = 64\nval_count = 4\nnum_workers = 0\n[train]\nbatch_size = 4\n'
                     f'steps = 4\nlr = 5e-4\ncheckpoint_every = 2\nval_every = 4\n')
    f["v_cfg"], f["v_run"] = v_cfg, w / "v_run"
    assert run(["vision", "train", v_cfg, "--out", f["v_run"], "--quiet"], timeout=600)[0] == 0
    prof = radar.FMCWWaveform(77e9, 124.996e12, 2e6, 64, 6e-6, 100e-6, 60e-6)
    cfg = RadarConfig(prof, [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    lam = 299792458.0 / 79e9
    pos = np.array([[(ix - 11.5) * lam / 4, (iy - 1) * 2 * lam, 0.0] for iy in range(3) for ix in range(24)])
    cfg.n_frames = len(pos)
    f["cap"] = w / "cap"
    write_capture(f["cap"], simulate_capture(cfg, pos, radar.point_scene([[0.0, 0.0, 0.1]])), cfg, pos)
    f["img"] = w / "img.npy"
    np.save(f["img"], np.abs(np.random.default_rng(0).standard_normal((40, 40))).astype(np.float32))
    f["secret"] = w / "secret.txt"
    f["secret"].write_text("TOP-SECRET-PROBE " * 40)
    return f


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", type=Path, help="build the fixtures in this folder and keep it")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    a = ap.parse_args(argv)
    w = a.keep or Path(tempfile.mkdtemp(prefix="sarsr_probe_"))
    w.mkdir(parents=True, exist_ok=True)
    os.chdir(w)
    t0 = time.perf_counter()
    f = fixtures(w)
    print(f"fixtures in {time.perf_counter() - t0:.0f} s under {w}", flush=True)
    p = Probe(w, a.only)
    victim = w / "victim.txt"
    victim.write_text("do not overwrite")

    # 1. writers through planted links, and existing outputs without --force
    d = w / "demo_out"
    d.mkdir()
    for n in ("metrics.json", "demo.png"):
        (d / n).symlink_to(victim)
    p.case("demo --force through linked outputs", ["demo", "--out", d, "--size", "smoke", "--force"], rc=0,
           outside=[victim])
    r = w / "sr_run_link"
    shutil.copytree(f["sr_run"], r, symlinks=True)
    (r / "loss.png").unlink(missing_ok=True)
    (r / "loss.png").symlink_to(victim)
    p.case("train resume with loss.png linked", ["train", f["sr_cfg"], "--out", r, "--max-steps", "5", "--quiet"],
           rc=0, outside=[victim])
    p.case("train --restart with loss.png linked", ["train", f["sr_cfg"], "--out", r, "--restart", "--max-steps", "2",
                                                    "--quiet"], rc=0, outside=[victim])
    rep = w / "rep"
    rep.mkdir()
    (rep / "r_robustness.png").symlink_to(victim)
    p.case("evaluate --robustness figure through a link",
           ["evaluate", "--test", f["ds"], "--model", f"tiny={f['sr_run'] / 'best.pt'}", "--no-baselines", "--limit", "2",
            "--report", rep / "r.md", "--force", "--quiet"], rc=0, outside=[victim], timeout=300)
    rep2 = w / "rep2"
    rep2.mkdir()
    (rep2 / "r.md").write_text("old report")
    p.case("evaluate over an existing report without --force",
           ["evaluate", "--test", f["ds"], "--model", f"tiny={f['sr_run'] / 'best.pt'}", "--no-baselines", "--limit", "2",
            "--report", rep2 / "r.md", "--quiet"], unchanged=[rep2 / "r.md"], match="--force", timeout=300)
    vrep = w / "vrep"
    vrep.mkdir()
    (vrep / "v_progressive.png").symlink_to(victim)
    p.case("vision evaluate --progressive figure through a link",
           ["vision", "evaluate", "--test", f["rds"], "--model", f"v={f['v_run'] / 'best.pt'}", "--limit", "4",
            "--progressive", "--steps", "2", "--report", vrep / "v.md", "--force"], rc=0, outside=[victim], timeout=300)

    # 2. HDF5 inputs that read outside files
    import h5py

    ext = w / "external.h5"
    with h5py.File(ext, "w") as h:
        h.create_dataset("image", shape=(16, 16), dtype="u1", external=[(str(f["secret"]), 0, 256)])
    p.case("sr of an HDF5 dataset with external storage", ["sr", ext, "--out", w / "o_ext.npy", "--var", "image"],
           match="external", absent=[w / "o_ext.npy"])
    src = w / "src.h5"
    with h5py.File(src, "w") as h:
        h["x"] = np.ones((16, 16), np.float32)
    vds = w / "virtual.h5"
    layout = h5py.VirtualLayout(shape=(16, 16), dtype="f4")
    layout[:] = h5py.VirtualSource(str(src), "x", shape=(16, 16))
    with h5py.File(vds, "w") as h:
        h.create_virtual_dataset("image", layout)
    p.case("sr of an HDF5 virtual dataset", ["sr", vds, "--out", w / "o_vds.npy", "--var", "image"], match="virtual",
           absent=[w / "o_vds.npy"])
    p.case("vision predict of an external HDF5 dataset", ["vision", "predict", "--model", f["v_run"] / "best.pt",
                                                          "--var", "image", ext], match="external")
    fifo = w / "fifo"
    os.mkfifo(fifo)
    ext2 = w / "external_fifo.h5"
    with h5py.File(ext2, "w") as h:
        h.create_dataset("image", shape=(16, 16), dtype="u1", external=[(str(fifo), 0, 256)])
    p.case("sr of an HDF5 dataset stored in a FIFO", ["sr", ext2, "--out", w / "o_fifo.npy", "--var", "image"],
           match="external", timeout=60)

    # 3. special files in place of inputs
    ds_fifo = w / "ds_fifo"
    shutil.copytree(f["ds"], ds_fifo)
    shard = sorted(ds_fifo.glob("shard-*.h5"))[0]
    shard.unlink()
    os.mkfifo(shard)
    p.case("evaluate with a FIFO in place of a shard", ["evaluate", "--test", ds_fifo, "--no-baselines", "--limit", "2",
                                                        "--model", f"t={f['sr_run'] / 'best.pt'}", "--quiet"],
           match="not a regular file", timeout=60)
    p.case("dataset resume regenerates a FIFO in place of a shard", ["dataset", "smoke", "--count", "8", "--seed", "1",
                                                                     "--shard-size", "4", "--out", ds_fifo, "--quiet"],
           rc=0, timeout=60)
    if p.results and p.results[-1][0].startswith("dataset resume") and not shard.is_file():
        p.results[-1] = (*p.results[-1][:1], False, "the FIFO shard was not replaced by a regular file", *p.results[-1][3:])
        print("FAIL  (the FIFO shard was not replaced by a regular file)")
    cap_fifo = w / "cap_fifo"
    shutil.copytree(f["cap"], cap_fifo)
    for name in ("positions.csv",):
        (cap_fifo / name).unlink()
        os.mkfifo(cap_fifo / name)
    p.case("reconstruct with a FIFO as positions.csv", ["reconstruct", cap_fifo, "--out", w / "rc_fifo", "--n", "16",
                                                        "--extent-mm", "8", "--z-mm", "100", "--method", "bp"],
           match="not a regular file", timeout=60)
    cfgs = [q for q in f["cap"].iterdir() if q.suffix in (".cfg", ".json") or q.name.endswith("mmwave.json")]
    if cfgs:
        cap_fifo2 = w / "cap_fifo2"
        shutil.copytree(f["cap"], cap_fifo2)
        (cap_fifo2 / cfgs[0].name).unlink()
        os.mkfifo(cap_fifo2 / cfgs[0].name)
        p.case(f"reconstruct with a FIFO as {cfgs[0].name}", ["reconstruct", cap_fifo2, "--out", w / "rc_fifo2", "--n",
                                                               "16", "--extent-mm", "8", "--z-mm", "100"],
               match="not a regular file", timeout=60)

    # 4. memory guards before allocation
    p.case("dataset --set trajectory.nx=1e7", ["dataset", "smoke", "--count", "1", "--out", w / "big",
                                               "--set", "trajectory.nx=10000000"], match="GiB", timeout=60)
    p.case("vision evaluate --steps 1e9", ["vision", "evaluate", "--test", f["rds"], "--model",
                                           f"v={f['v_run'] / 'best.pt'}", "--progressive", "--steps", "1000000000"],
           match="steps", timeout=60)
    big = w / "cap_big"
    shutil.copytree(f["cap"], big)
    bins = sorted(big.glob("*.bin"))
    if bins:
        with open(bins[0], "r+b") as fh:
            fh.truncate(4 * 2 ** 30)  # a sparse 4 GiB capture file
        p.case("reconstruct a 4 GiB sparse capture", ["reconstruct", big, "--out", w / "rc_big", "--n", "16",
                                                      "--extent-mm", "8", "--z-mm", "100"], timeout=120)

    # 5. numbers at the edge and worker errors: one line, rc 2
    p.case("reconstruct --z-mm 1e308", ["reconstruct", f["cap"], "--out", w / "rc_z", "--z-mm", "1e308"], match="z-mm")
    p.case("dataset --seed 2**64", ["dataset", "smoke", "--count", "2", "--seed", "18446744073709551616", "--out",
                                    w / "ds_seed"], match="seed", absent=[w / "ds_seed" / "generation.json"])
    for v in ("1e308", "-1e308"):
        p.case(f"demo --snr-db={v}", ["demo", "--out", w / f"demo_snr{v}", "--size", "smoke", f"--snr-db={v}"],
               match="snr")
    p.case("vision evaluate --progressive --steps 0", ["vision", "evaluate", "--test", f["rds"], "--model",
                                                       f"v={f['v_run'] / 'best.pt'}", "--progressive", "--steps", "0"],
           match="steps")
    p.case("train --set data.size=1000000", ["train", f["sr_cfg"], "--out", w / "t_size", "--set", "data.size=1000000"],
           match="data.size", timeout=120)
    deep = w / "deep.toml"
    deep.write_text("a = " + "[" * 100000 + "]" * 100000 + "\n")
    p.case("train with a TOML nested 100k deep", ["train", deep, "--out", w / "t_deep"], match="deep.toml")
    cal = w / "deep_cal.json"
    cal.write_text("[" * 100000 + "]" * 100000)
    p.case("reconstruct with a calibration JSON nested 100k deep",
           ["reconstruct", f["cap"], "--out", w / "rc_cal", "--calibration", cal], match="deep_cal.json")
    p.case("vision train --set data.sr_model=<missing>", ["vision", "train", f["v_cfg"], "--out", w / "v_missing",
                                                          "--set", f"data.sr_model={w / 'nope.pt'}"], match="nope.pt",
           timeout=120)
    p.case("vision train --set data.sr_model=<not a checkpoint>",
           ["vision", "train", f["v_cfg"], "--out", w / "v_wrong", "--set", f"data.sr_model={f['secret']}"],
           match="secret.txt", timeout=120)

    # 6. quiet wrong answers
    p.case("train at lr=10 diverges with rc 2", ["train", f["sr_cfg"], "--out", w / "t_lr", "--set", "train.lr=10",
                                                 "--set", "train.steps=40", "--quiet"], match="diverge", timeout=300)
    newer = w / "ds_newer"
    shutil.copytree(f["ds"], newer)
    man = json.loads((newer / "manifest.json").read_text())
    man["sarsr_version"] = "99.0"
    (newer / "manifest.json").write_text(json.dumps(man))
    p.case("dataset re-run over a newer sarsr's manifest", ["dataset", "smoke", "--count", "8", "--seed", "1",
                                                            "--shard-size", "4", "--out", newer, "--quiet"],
           match="newer", unchanged=[newer / "manifest.json"])
    bad_man = w / "ds_badman"
    shutil.copytree(f["ds"], bad_man)
    (bad_man / "manifest.json").write_text("")
    p.case("evaluate with an unreadable manifest.json", ["evaluate", "--test", bad_man, "--no-baselines", "--quiet",
                                                         "--model", f"t={f['sr_run'] / 'best.pt'}"],
           match="manifest.json")
    p.case('train --out ""', ["train", f["sr_cfg"], "--out", ""], match="--out")
    p.case("reconstruct --lattice abc", ["reconstruct", f["cap"], "--out", w / "rc_lat", "--lattice", "abc"],
           match="--lattice")
    binary = w / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    p.case("train with a binary config", ["train", binary, "--out", w / "t_bin"], match="binary.toml")
    from PIL import Image

    Image.new("1", (13000, 13000)).save(w / "huge.png")
    p.case("sr of a 13000 x 13000 PNG", ["sr", w / "huge.png", "--out", w / "o_huge.npy"], match="huge.png")
    p.case("sr of an all-NaN image", ["sr", _npy(w / "nan.npy", np.full((8, 8), np.nan)), "--out", w / "o_nan.npy"],
           match="nan")
    p.case("sr of a constant image", ["sr", _npy(w / "zero.npy", np.zeros((32, 32))), "--out", w / "o_zero.npy"], rc=0)
    p.case("evaluate --model label with a pipe", ["evaluate", "--test", f["ds"], "--no-baselines", "--limit", "2",
                                                  "--model", f"a|b={f['sr_run'] / 'best.pt'}", "--quiet"],
           match="label")
    p.case("calibrate --reflector-mm 0,0,0", ["calibrate", f["cap"], "--reflector-mm", "0,0,0", "--out",
                                              w / "cal.json"], match="reflector", absent=[w / "cal.json"])
    small = w / "cap_small_disk"
    p.case("reconstruct --method imaginary", ["reconstruct", f["cap"], "--out", small, "--method", "imaginary"],
           match="method")

    n_fail = sum(not ok for _, ok, *_ in p.results)
    print(f"\n{len(p.results) - n_fail} passed, {n_fail} failed of {len(p.results)} cases "
          f"({time.perf_counter() - t0:.0f} s in all; peak memory of any case "
          f"{max(r[5] for r in p.results):.0f} MB)")
    if not a.keep:
        shutil.rmtree(w, ignore_errors=True)
    return 1 if n_fail else 0


def _npy(path, a):
    np.save(path, a)
    return path


if __name__ == "__main__":
    sys.exit(main())
