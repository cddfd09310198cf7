"""Build the exploration notebooks from the cell sources below.

Run `python notebooks/_build_notebooks.py` after editing (writes the notebooks with cleared
outputs), or `python notebooks/_build_notebooks.py --execute` to store them executed, with their
figures, as committed in the repository. `SARSR_NOTEBOOK_DIR=DIR` writes them elsewhere (the test
suite rebuilds into a temporary folder and checks that the committed sources match)."""
import hashlib
import os
import sys
from pathlib import Path

import nbformat as nbf

HERE = Path(os.environ.get("SARSR_NOTEBOOK_DIR") or Path(__file__).resolve().parent)
EXECUTE = "--execute" in sys.argv

def nb(cells, path):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c.strip("\n")) for c in cells]
    for i, cell in enumerate(n.cells):  # stable ids: rebuilding an unchanged notebook changes nothing
        cell["id"] = hashlib.sha1(f"{path.name}:{i}:{cell.source}".encode()).hexdigest()[:8]
    path = HERE / Path(path).name
    if EXECUTE:
        import nbclient

        nbclient.NotebookClient(n, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(Path(__file__).resolve().parent)}}).execute()
        roots = [(str(Path(__file__).resolve().parents[1]), "."), (str(Path.home()), "~")]
        for cell in n.cells:  # no machine-specific timing metadata or paths in the committed files
            cell.get("metadata", {}).pop("execution", None)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    for a, b in roots:
                        out["text"] = out["text"].replace(a, b)
    nbf.write(n, path)

nb(["""md:# 1. Freehand scan: how trajectory, position error and SNR change the image

Simulate the paper's freehand AWR1443 scan (25 x 200 raster on a +-1.5 cm multi-planar surface),
reconstruct with EMPM, and look at what position error and noise do to the image and the PSF.
Runs in well under a minute on a laptop CPU.""",
"""import numpy as np
import matplotlib.pyplot as plt
from sarsr import radar, plot, metrics

wave = radar.waveform("iwr1443")
print(f"f0 = {wave.first_sample_freq / 1e9:.2f} GHz, B = {wave.bandwidth / 1e9:.2f} GHz, "
      f"range resolution {wave.range_resolution * 1e3:.1f} mm")""",
"""md:## The trajectory and the position-error field
The positioning system knows the freehand surface; the estimate adds a smooth error field: 1 mm in
x and y, 0.25 mm in z (the `paper_freehand` preset; a full 1 mm in z is 3.3 rad of two-way phase).""",
"""scan = radar.freehand_scan("awr1443", error=radar.PositionError(sigma=(1e-3, 1e-3, 0.25e-3)), rng=1)
fig = plt.figure(figsize=(11, 4))
ax = fig.add_subplot(1, 2, 1, projection="3d")
plot.plot_trajectory(ax, scan, every=200)
plot.plot_error_field(fig.add_subplot(1, 2, 2), scan, component=2)
fig.tight_layout()""",
"""md:## A point target: PSF with and without position error""",
"""grid = radar.image_grid(n=200, extent=0.1, z=0.25)
target = radar.point_scene([[0.0, 0.0, 0.25]])
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, sigma in zip(axes[:2], (0.0, 3e-3)):
    s = radar.freehand_scan("awr1443", error=radar.PositionError(sigma=(sigma, sigma, sigma / 4)), rng=1)
    echo = radar.simulate_scan(s, target, wave)
    img = radar.empm(echo, s.tx_est, s.rx_est, wave.k, grid, lattice_shape=s.lattice_shape)
    plot.show_db(ax, img, grid, f"EMPM PSF, sigma = {sigma * 1e3:.0f} mm")
    ax.set_xlim(-20, 20); ax.set_ylim(-20, 20)
    c = plot.psf_cut(img, grid, "x")
    print(f"sigma {sigma * 1e3:.0f} mm: 3 dB width {c['width_3db_m'] * 1e3:.2f} mm, PSLR {c['pslr_db']:.1f} dB")
plot.plot_psf_cuts(axes[2], img, grid)
axes[2].set_xlim(-20, 20)
fig.tight_layout()""",
"""md:## A paper scene: EMPM vs backprojection vs naive planar RMA, and the effect of SNR""",
"""rng = np.random.default_rng(3)
scene, z0 = radar.random_scene(rng)
grid = radar.image_grid(z=z0)
label = radar.label_image(scene, grid)
images = {}
for snr in (40, 0):
    echo = radar.simulate_scan(scan, scene, wave, snr_db=snr, rng=rng)
    images[f"EMPM, SNR {snr} dB"] = radar.empm(echo, scan.tx_est, scan.rx_est, wave.k, grid,
                                               lattice_shape=scan.lattice_shape)
images["planar RMA, SNR 40 dB"] = radar.rma_planar(echo, scan.tx_est, scan.rx_est, wave.k, grid,
                                                   lattice_shape=scan.lattice_shape)
images["label"] = label
for name, img in images.items():
    if name != "label":
        print(f"{name:<24} PSNR {metrics.psnr(metrics.normalize(img), label):5.2f} dB  "
              f"SSIM {metrics.ssim(metrics.normalize(img), label):.3f}")
fig = plot.panels(images, grid, ncols=4)""",
"""md:## PSNR against position-error sigma
EMPM compensates the known surface but not the unknown error; the image degrades with sigma. The
depth component dominates: compare the preset's error (z = sigma / 4) with z = sigma.""",
"""sigmas = [0, 1, 2, 4, 6]
psnrs = {}
for zf in (0.25, 1.0):
    psnrs[zf] = []
    for sig in sigmas:
        e = radar.PositionError(sigma=(sig * 1e-3, sig * 1e-3, zf * sig * 1e-3))
        s = radar.freehand_scan("awr1443", error=e, rng=2)
        echo = radar.simulate_scan(s, scene, wave, snr_db=30, rng=0)
        img = radar.empm(echo, s.tx_est, s.rx_est, wave.k, grid, lattice_shape=s.lattice_shape)
        psnrs[zf].append(metrics.psnr(metrics.normalize(img), label))
plt.figure(figsize=(5, 3.5))
for zf, ys in psnrs.items():
    plt.plot(sigmas, ys, "o-", label=f"z error = {zf:g} x sigma")
plt.xlabel("position-error sigma (mm)"); plt.ylabel("EMPM PSNR vs label (dB)"); plt.grid(alpha=0.3); plt.legend()
assert psnrs[0.25][0] > psnrs[0.25][-1]"""], HERE / "01_freehand_simulation.ipynb")

nb(["""md:# 2. Real capture: reconstruct and super-resolve

With the paper's real capture present (`$SARSR_EXP1_MAT`, else `../shared/data/exp1_cutout2_2.mat`:
the paper's AWR1443 freehand capture of a copper
cutout, released as complex BPA / EMPM (FFH) / RMA images) this notebook loads it; otherwise it
writes a simulated capture in DCA1000 format, reads it back and reconstructs it. Either way the
EMPM image is super-resolved when a trained network is available.""",
"""import os
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
from sarsr import radar, plot, metrics, io

mat = Path(os.environ.get("SARSR_EXP1_MAT") or "../../shared/data/exp1_cutout2_2.mat")
if not mat.exists():
    mat = Path("../shared/data/exp1_cutout2_2.mat").resolve()
grid = radar.image_grid(n=200, extent=0.1, z=0.25)
if mat.exists():
    d = io.load_mat(mat)
    images = {"EMPM (FFH)": d["radarImagesFFH"], "backprojection": d["radarImagesBPA"],
              "naive planar RMA": d["radarImagesRMA"]}
    print("loaded", mat.name, {k: v.shape for k, v in d.items()})
else:
    print("real capture not found: simulating one in DCA1000 format")""",
"""if not mat.exists():
    import tempfile
    cfg = io.RadarConfig(radar.FMCWWaveform(77e9, 124.996e12, 2e6, 64, 6e-6, 100e-6, 60e-6), [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    lam = 299792458.0 / 79e9
    pos = np.array([[(ix - 49.5) * lam / 4, (iy - 6) * 2 * lam, 0.0] for iy in range(13) for ix in range(100)])
    cfg.n_frames = len(pos)
    scene = radar.shape_scene("cutout", size=0.06, z0=0.25) + radar.point_scene([[0.03, 0.03, 0.25]])
    folder = Path(tempfile.mkdtemp()) / "capture"
    io.write_capture(folder, io.simulate_capture(cfg, pos, scene, snr_db=20, rng=0), cfg, pos)
    cap = io.read_capture(folder)
    print("read back", cap.report["frames"], "frames from", folder)
    tx, rx, echo = io.capture_channels(cap)
    grid = radar.image_grid(n=100, extent=0.05, z=0.25)
    images = {"backprojection": radar.backproject(echo, tx, rx, cap.config.waveform().k, grid.points)}
    images["EMPM (FFH)"] = images["backprojection"]""",
"""from sarsr.sr import load_sr_model, super_resolve
try:
    net = load_sr_model()   # the shipped default weights
    images["super-resolved"] = super_resolve(images["EMPM (FFH)"], net)
except FileNotFoundError as exc:
    print("no super-resolution weights available yet:", exc)
fig = plot.panels(images, grid, ncols=len(images))
for name, img in images.items():
    print(f"{name:<18} entropy {metrics.image_entropy(img):6.2f}  contrast {metrics.image_contrast(img):6.2f}")"""],
   HERE / "02_real_capture.ipynb")

nb(["""md:# 3. Super-resolution quality explorer

Metrics against position error, a per-sample gallery (input / SR / label / backprojection) and the
samples where the network does worst. Uses the shipped SR weights (`sarsr.super_resolve`); without
them the notebook shows the EMPM input alone. A small fresh test set is simulated here (seeds that
training never sees), so the notebook needs no cached data.""",
"""import os
import tempfile
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
from sarsr import radar, plot, metrics
from sarsr.data import load_scenario, generate_dataset, SARDataset
from sarsr.sr import load_sr_model, super_resolve

SCANS = int(os.environ.get("SARSR_NOTEBOOK_SCANS", 8))  # scans per sigma (the test suite runs it with fewer)

try:
    net = load_sr_model()
    print("SR network:", net.default_cfg["name"])
except FileNotFoundError as exc:
    net = None
    print("no shipped SR weights:", exc)
work = Path(tempfile.mkdtemp())""",
"""md:## PSNR / SSIM against position-error sigma (`SCANS` scans per sigma)
`super_resolve` as a user calls it: on a defocused input (the network erased its bright peaks
wholesale) the erased input peaks are put back, and a warning says so (`keep_input_points="auto"`);
`keep_input_points=False` gives the network alone.""",
"""base = load_scenario("paper_freehand")
rows = []
for sig in (0, 1, 3, 6):
    root = work / f"sigma{sig}"
    generate_dataset(base.with_overrides({"position_error.sigma_m": sig * 1e-3}), root, SCANS, seed=777,
                     workers=1, shard_size=8, progress=False, log=lambda *a: None)
    ds = SARDataset(root, size=None)
    for i in range(len(ds)):
        empm, label = ds.read(i)
        r = {"sigma_mm": sig, "EMPM": metrics.psnr(metrics.normalize(empm), label),
             "EMPM_ssim": metrics.ssim(metrics.normalize(empm), label)}
        if net is not None:
            sr = super_resolve(empm, net)
            r.update(SR=metrics.psnr(sr, label), SR_ssim=metrics.ssim(sr, label))
        rows.append(r)
sig = sorted({r["sigma_mm"] for r in rows})
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
for key in ("EMPM", "SR"):
    if key in rows[0]:
        a.plot(sig, [np.mean([r[key] for r in rows if r["sigma_mm"] == s]) for s in sig], "o-", label=key)
        b.plot(sig, [np.mean([r[key + "_ssim"] for r in rows if r["sigma_mm"] == s]) for s in sig], "o-", label=key)
a.set_xlabel("sigma (mm)"); a.set_ylabel("PSNR (dB)"); b.set_xlabel("sigma (mm)"); b.set_ylabel("SSIM")
a.legend(); a.grid(alpha=0.3); b.grid(alpha=0.3); fig.tight_layout()""",
"""md:## Gallery at sigma = 1 mm: input / SR / label / backprojection, best and worst samples""",
"""ds = SARDataset(work / "sigma1", size=None)
scores = [r for r in rows if r["sigma_mm"] == 1]
key = "SR" if net is not None else "EMPM"
order = np.argsort([r[key] for r in scores])
grid = radar.image_grid()
from sarsr.data.simulate import simulate_record
sc = base.with_overrides({"position_error.sigma_m": 1e-3}).with_store(["empm", "backprojection", "label"])
for i in (order[-1], order[0]):   # best, then worst
    rec = simulate_record(sc, 777, int(i))  # same record, with backprojection
    panel = {"EMPM": rec["empm"]}
    if net is not None:
        panel["SR"] = super_resolve(rec["empm"], net)
    panel.update({"label": rec["label"], "backprojection": rec["backprojection"]})
    fig = plot.panels(panel, grid, ncols=len(panel))
    fig.suptitle(f"record {int(i)}: {key} PSNR {scores[int(i)][key]:.2f} dB", y=1.02)"""],
   HERE / "03_sr_quality_explorer.ipynb")

nb(["""md:# 4. Recognition with and without super-resolution

Concealed-object screening: one object of 8 classes among clutter points, scanned freehand with
the paper's error model (`simulators/recognition.toml`). What does the classifier see with and
without the SR network in front, and what did the benchmark measure? The numbers come from
`docs/recognition.md` (regenerate with the commands in it); the images are simulated here.""",
"""import json
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, Image, display
from sarsr import radar, plot, metrics
from sarsr.data import load_scenario
from sarsr.data.simulate import simulate_record
from sarsr.vision import OBJECT_CLASSES
from sarsr.sr import load_sr_model, super_resolve

try:
    net = load_sr_model()
except FileNotFoundError as exc:
    net = None
    print("no shipped SR weights:", exc)
base = load_scenario("recognition")
print(len(OBJECT_CLASSES), "classes:", ", ".join(OBJECT_CLASSES))""",
"""md:## One scan per class: label / |EMPM| / EMPM + SR (dB, 30 dB range)""",
"""rows = []
fig, axes = plt.subplots(3, len(OBJECT_CLASSES), figsize=(2.1 * len(OBJECT_CLASSES), 6.6))
for j, name in enumerate(OBJECT_CLASSES):
    rec = simulate_record(base.with_overrides({"scene.objects": [name]}), seed=4242, index=j)
    empm = np.abs(rec["empm"])
    sr = super_resolve(empm, net, keep_input_points=False) if net is not None else empm / empm.max()  # what the classifier sees
    for i, (img, title) in enumerate([(rec["label"], name), (empm, "EMPM"), (sr, "EMPM + SR")]):
        ax = axes[i, j]
        ax.imshow(plot.to_db(img, 30).T, origin="lower", cmap="inferno", vmin=-30, vmax=0)
        ax.set_title(title, fontsize=9); ax.set_xticks([]); ax.set_yticks([])
    rows.append({"class": name, "EMPM entropy": metrics.image_entropy(empm), "SR entropy": metrics.image_entropy(sr),
                 "EMPM SSIM": metrics.ssim(empm / empm.max(), rec["label"]), "SR SSIM": metrics.ssim(sr, rec["label"])})
fig.tight_layout()
for r in rows:
    print(f"{r['class']:<9} entropy EMPM {r['EMPM entropy']:5.2f} -> SR {r['SR entropy']:5.2f}   "
          f"SSIM vs label EMPM {r['EMPM SSIM']:.3f} -> SR {r['SR SSIM']:.3f}")""",
"""md:## The benchmark: accuracy per backbone with and without SR
Trained and evaluated with `sarsr vision train` / `sarsr vision evaluate` (commands in the report).""",
"""report = Path("../docs/recognition.json")
if report.exists():
    res = json.loads(report.read_text())
    by = {}
    for r in res["rows"]:
        by.setdefault(r["model"], {})["SR" if r["sr_input"] else "EMPM"] = r["accuracy"]
    names = sorted(by)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 3))
    for k, (key, off) in enumerate((("EMPM", -0.2), ("SR", 0.2))):
        vals = [by[n].get(key, np.nan) for n in names]
        ax.bar(x + off, vals, 0.4, label="EMPM + SR" if key == "SR" else "EMPM")
    ax.set_xticks(x, names); ax.set_ylabel("top-1 accuracy"); ax.set_ylim(0, 1)
    ax.axhline(1 / len(OBJECT_CLASSES), ls=":", c="gray"); ax.legend(); fig.tight_layout()
    if res.get("progressive"):
        display(Image(filename=str(report.with_name("recognition_progressive.png"))))
else:
    print("no benchmark report yet: run the commands in the README (Recognition section)")""",
"""md:## Token recycling during a sweep: compute is architecture-only
Each newly final strip of the image runs the first half of the ViT once; only the second half
re-runs. The saving below is measured on an untrained `vit_radar`, the progressive model of the
benchmark (it does not depend on weights).""",
"""from sarsr.models import create_model
from sarsr.vision.progressive import progressive_cost
vit = create_model("vit_radar", in_chans=1, num_classes=len(OBJECT_CLASSES)).eval()
for steps in (2, 4, 8):
    c = progressive_cost(vit, (1, 128, 128), steps=steps)
    print(f"{steps} sweep steps: {c['recycled_macs'] / 1e9:.2f} GMAC recycled vs {c['rerun_macs'] / 1e9:.2f} GMAC "
          f"re-run ({c['saved_fraction']:.0%} saved)")"""],
   HERE / "04_recognition.ipynb")

nb(["""md:# 5. Explorer: turn the knobs, see the image

Position error, SNR, number of points, seed, reconstruction method, autofocus and the
super-resolution mode; each change re-simulates one `paper_freehand` scan and redraws input,
super-resolved image (detected points circled, networks with a point head) and label, with the
point scores in the titles (under half a second per redraw on this project's 2-core machines
with EMPM; backprojection takes longer; autofocus adds 1-2 s a scan with the explorer's quicker
setting, `sarsr.explore.EXPLORER_AUTOFOCUS`, against ~4 s for the library's defaults, which
`simulate_view(..., autofocus_options={})` uses; turning only the SR mode or the model afterwards
reuses the autofocused scan). The
callbacks are plain functions of `sarsr.explore` (the test suite
calls them); without a Jupyter front end the cell below draws the default view once.""",
"""import matplotlib.pyplot as plt
import ipywidgets as w
from sarsr.explore import METHODS, SR_MODES, draw_view, simulate_view

controls = dict(
    sigma_mm=w.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.25, description="error (mm)"),
    snr_db=w.FloatSlider(value=20.0, min=-10.0, max=50.0, step=5.0, description="SNR (dB)"),
    n_points=w.IntSlider(value=16, min=0, max=32, description="points"),
    seed=w.IntText(value=0, description="seed"),
    method=w.Dropdown(options=METHODS, value=METHODS[0], description="method"),
    autofocus=w.Checkbox(value=False, description="autofocus"),
    sr_mode=w.Dropdown(options=list(SR_MODES), value="auto", description="SR mode"),
)
out = w.Output()

def redraw(change=None):
    with out:
        out.clear_output(wait=True)
        try:
            view = simulate_view(**{k: c.value for k, c in controls.items()})
        except ValueError as exc:  # e.g. autofocus with backprojection
            print(exc)
            return
        draw_view(view)
        plt.show()
        print(f"simulate + image {view['seconds']['simulate_and_image']:.1f} s, "
              f"super-resolve {view['seconds']['super_resolve']:.1f} s")

for c in controls.values():
    c.observe(redraw, names="value")
display(w.VBox([w.HBox(list(controls.values())[:4]), w.HBox(list(controls.values())[4:]), out]))
redraw()""",
"""md:## The same, without widgets
Each knob is a keyword of `simulate_view`; the dict it returns holds the images, the detected
points (x, y in metres, amplitude, confidence) and the scores.""",
"""view = simulate_view(sigma_mm=2.0, snr_db=10.0, n_points=12, seed=3, sr_mode="network alone")
fig = draw_view(view)
print({k: {m: round(v, 3) for m, v in s.items()} for k, s in view["scores"].items()})"""],
   HERE / "05_explorer.ipynb")
