"""Training loop for the super-resolution networks (``sarsr train``).

- Reproducible: the batch of step s (records and crop/flip seeds) is a pure function of
  (seed, s); model init is seeded. A run resumed from a checkpoint continues exactly as an
  uninterrupted one (bit-identical on CPU).
- Checkpoints (``last.pt``: model, optimizer, grad scaler, step, best metric, weight average)
  are written atomically every ``checkpoint_every`` steps; ``best.pt`` holds the best
  validation weights. With ``train.ema_decay > 0`` validation, ``best.pt`` and ``model.pt``
  use the exponential moving average of the weights (:mod:`sarsr.train.ema`).
- ``log.csv`` (step, loss, lr, val PSNR/SSIM, elapsed s) and ``loss.png``; tqdm progress bar
  with loss and ETA.
- Data-parallel with ``torchrun --nproc_per_node N -m sarsr train ...`` (gloo on CPU, NCCL on
  GPU): each rank takes its slice of the global batch; rank 0 writes files.
- CUDA when available, with automatic mixed precision (``train.amp``).
- SIGINT (Ctrl-C) or SIGTERM (``kill``) stops a single-process run after the step in flight,
  checkpointed there (a second signal stops at once, from the last checkpoint); a run started
  in the background (``nohup ... &``, where the shell ignores SIGINT) stops the same way.
"""

from __future__ import annotations

import collections
import csv
import io
import math
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .._files import append_text, atomic_write_text, die_with_parent, save_figure, FolderLock
from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ..models import count_params, create_model, model_state, resolve_state
from ..config import DEFAULTS, ConfigError, load_config
from .ema import WeightEMA
from .tasks import get_task
from .. import metrics
from ..sr.points import default_output
from .losses import needs_input

__all__ = ["train", "StepBatchSampler", "lr_factor", "validate", "TrainingDiverged"]

def log_fields(metrics) -> list[str]:
    """``log.csv`` columns for a task's validation ``metrics``."""
    return ["step", "loss", "lr", *metrics, "elapsed_s"]


def _header(log_path: Path, fields: list[str]) -> list[str]:
    """The columns of an existing ``log.csv`` (a run keeps its header across resumes), else ``fields``."""
    if log_path.exists() and log_path.stat().st_size:
        with log_path.open(newline="") as fh:
            head = next(csv.reader(fh), None)
        if head:
            return head
    return fields


def _append_rows(log_path: Path, rows: list[dict], fields: list[str]) -> None:
    """Append rows to ``log.csv`` (header written when the file is new; keys the header lacks
    are left out)."""
    new = not log_path.exists() or log_path.stat().st_size == 0
    if not rows and not new:
        return
    fields = _header(log_path, fields)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fields, extrasaction="ignore")
    if new:
        w.writeheader()
    w.writerows(rows)
    append_text(log_path, buf.getvalue())


def _loader_worker_init(worker_id: int) -> None:
    """A data-loading worker dies with the training process (SIGKILL included), so it never
    outlives it holding the run folder's lock."""
    die_with_parent()


def _reconcile_log(log_path: Path, want_rows: int, pending: list[dict], fields: list[str]) -> None:
    """Bring ``log.csv`` to the ``want_rows`` data rows a checkpoint recorded: a kill between
    saving the checkpoint and appending its rows left some out (they are in ``pending``, the
    checkpoint's last rows); rows past the checkpoint (older runs) are cut."""
    if want_rows < 0:  # checkpoint from before logs were tied to checkpoints: keep the file as is
        return
    have = list(csv.DictReader(log_path.read_text().splitlines())) if log_path.exists() and log_path.stat().st_size else []
    if len(have) > want_rows:
        buf = io.StringIO()
        fields = _header(log_path, fields)
        w = csv.DictWriter(buf, fields)
        w.writeheader()
        w.writerows({k: r.get(k, "") for k in fields} for r in have[:want_rows])
        atomic_write_text(log_path, buf.getvalue())
        return
    missing = want_rows - len(have)
    _append_rows(log_path, pending[len(pending) - missing:] if missing > 0 else [], fields)


class StepBatchSampler(torch.utils.data.Sampler):
    """Yields, for steps ``start..steps-1``, this rank's share of the global batch as a list of
    ``(position, augmentation_seed)``. Epoch e uses permutation ``rng([seed, e])`` of the
    ``n`` training records (last incomplete batch dropped)."""

    def __init__(self, n, global_batch, steps, seed=0, start=0, rank=0, world=1):
        if global_batch > n:
            raise ValueError(f"batch size {global_batch} > {n} training records")
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} not divisible by {world} processes")
        self.n, self.gb, self.steps, self.seed = n, global_batch, steps, seed
        self.start, self.rank, self.world = start, rank, world

    def batch(self, step):
        per_epoch = self.n // self.gb
        epoch, b = divmod(step, per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        idx = perm[b * self.gb:(b + 1) * self.gb]
        seeds = np.random.default_rng([self.seed, epoch, b, 1]).integers(0, 2 ** 63, self.gb)
        return [(int(i), int(s)) for i, s in zip(idx, seeds)][self.rank::self.world]

    def __iter__(self):
        for step in range(self.start, self.steps):
            yield self.batch(step)

    def __len__(self):
        return max(0, self.steps - self.start)


def lr_factor(step, cfg_train) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up, then cosine / multistep / constant."""
    t = cfg_train
    if t["warmup_steps"] and step < t["warmup_steps"]:
        return (step + 1) / t["warmup_steps"]
    if t["schedule"] == "cosine":
        span = max(1, t["steps"] - t["warmup_steps"])
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - t["warmup_steps"]) / span)))
    if t["schedule"] == "multistep":
        return t["gamma"] ** sum(step >= m for m in t["milestones"])
    return 1.0


def _init_weights(path, device) -> dict:
    """Model state dict from ``path``: a ``best.pt`` / ``model.pt`` state dict, a ``last.pt``
    training checkpoint (its ``"model"`` entry), or the name of a registered model whose
    weights ship with the package (e.g. ``"srvit_hsm"``: the current default network);
    :func:`sarsr.models.resolve_state`."""

    try:
        return resolve_state(path, device)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"train.init: {exc}") from None


@torch.no_grad()
def validate(model, dataset, device, batch_size=8, points: bool = False, details: bool = False):
    """Mean PSNR (dB) and SSIM of clip(model(x), 0, 1) against the labels (sarsr.metrics);
    with ``points`` also the point-target scores (:func:`sarsr.metrics.summarize_points`) as
    a third item. A network with a point head is scored on its default output (the image head
    with the detected points drawn, :func:`sarsr.sr.points.default_output`); ``details`` then
    adds a fourth item: the image head alone (``net_psnr``, ``net_point_recall``,
    ``net_false_points``) and the detections (``detection_recall``, ``false_detections``,
    :func:`sarsr.metrics.detection_metrics` of the decoded points)."""

    was = model.training
    model.eval()
    head = getattr(model, "has_point_head", False)
    ps, ss, pts, net_ps, net_pts, dets = [], [], [], [], [], []
    for i in range(0, len(dataset), batch_size):
        xs, ys = zip(*(dataset[j] for j in range(i, min(len(dataset), i + batch_size))))
        raw = model(torch.stack(xs).to(device)).float()
        if head:
            out, alone, found = default_output(raw)
        else:
            out = raw[:, 0].clamp(0, 1).cpu().numpy()
        for b, (o, y) in enumerate(zip(out, ys)):
            lab = y[0].numpy()
            ps.append(metrics.psnr(o, lab))
            ss.append(metrics.ssim(o, lab))
            if points:
                pts.append(metrics.point_metrics(o, lab))
            if head and details:
                net_ps.append(metrics.psnr(alone[b], lab))
                net_pts.append(metrics.point_metrics(alone[b], lab))
                hit = np.zeros(lab.shape)
                rc = np.clip(np.rint(found[b][:, :2]).astype(int), 0, np.array(lab.shape) - 1)
                hit[rc[:, 0], rc[:, 1]] = 1.0
                dets.append(metrics.detection_metrics(hit, lab))
    model.train(was)
    res = (float(np.mean(ps)), float(np.mean(ss)))
    if points:
        res += (metrics.summarize_points(pts),)
    if details:
        extra = {}
        if head:
            alone_pts = metrics.summarize_points(net_pts)
            extra = {"net_psnr": float(np.mean(net_ps)), "net_point_recall": alone_pts["point_recall"],
                     "net_false_points": alone_pts["false_points"], **metrics.summarize_detections(dets)}
        res += (extra,)
    return res


def _plot(log_path: Path, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(log_path.read_text().splitlines()))
    if not rows:
        return
    st = [int(r["step"]) for r in rows if r["loss"]]
    lo = [float(r["loss"]) for r in rows if r["loss"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(st, lo, lw=1, label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    for key, lab in (("val_psnr", "val PSNR (dB)"), ("val_acc", "val accuracy")):
        vr = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
        if vr:
            ax2 = ax.twinx()
            ax2.plot(*zip(*vr), "o-", color="C1", label=lab)
            ax2.set_ylabel(lab)
    ax.set_title(out.parent.name)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out, dpi=100)
    plt.close(fig)


def _config_diff(old: dict, new: dict, prefix="", defaults=None) -> list[str]:
    """Dotted keys whose values differ between two configs (bookkeeping keys ``_*`` ignored; a
    key the old config predates counts as unchanged while the new one holds its default)."""
    defaults = DEFAULTS if defaults is None else defaults
    keys = []
    for k in sorted(set(old) | set(new)):
        if k.startswith("_"):
            continue
        a, b = old.get(k), new.get(k)
        if k not in old and isinstance(defaults, dict) and k in defaults and b == defaults[k]:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and k != "options":
            keys += _config_diff(a, b, f"{prefix}{k}.", defaults.get(k) if isinstance(defaults, dict) else None)
        elif f"{prefix}{k}" in _OPERATIONAL:
            continue
        elif a != b and not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)):
            keys.append(f"{prefix}{k}")
    return keys


#: Keys that say how a run is executed, not what it computes: a resume may change them.
#: A training loss above this is a diverged run (the losses here are O(1): pixel errors in
#: [0, 1], cross-entropies of a few nats): stopped like a NaN, nothing saved past the last checkpoint.
DIVERGED_LOSS = 1e6
#: A run whose mean loss over the last :data:`DIVERGED_WINDOW` steps exceeds this many times its
#: reference (the lowest loss of the run's first :data:`DIVERGED_WINDOW` steps, kept in the
#: checkpoint: a loss that explodes within them does not raise it) has diverged too: orders of
#: magnitude above where it started, though still finite. Healthy runs stay within ~10x of it.
DIVERGED_RATIO = 1000.0
DIVERGED_WINDOW = 20

_OPERATIONAL = {"train.time_limit_s", "data.num_workers", "data.preload", "train.cpu_bf16", "train.compile"}


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bfloat16 matrix kernels natively (AVX512-BF16 or AMX, as oneDNN
    reports it): there ``train.cpu_bf16`` autocasts the training forward pass to bfloat16."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_device(device: str | None) -> torch.device:
    """``device`` ("cpu", "cuda", "cuda:1", ... or None: CUDA when present, else CPU) as a
    torch device; a malformed name or a GPU this machine does not have is a ValueError."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"--device {device!r}: not a device name ({' '.join(str(exc).split())[:120]}); "
                         f"use cpu or cuda[:N]") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: this machine has no CUDA GPU (torch {torch.__version__}); use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {device}: unsupported device type {dev.type!r}; use cpu or cuda[:N]")
    return dev


class TrainingDiverged(ValueError):
    """The loss or the weights became NaN / infinite; training stopped without saving them
    (a ValueError: the run's values are invalid, reported in one line by the CLI)."""


_RUN_FILES = ("log.csv", "model.pt", "best.pt", "config.toml", "loss.png")


class _StopRequest:
    """SIGINT / SIGTERM handlers for the training loop: the first signal asks the loop to stop
    after the step in flight (``requested`` names it), a second raises KeyboardInterrupt. Only
    in the main thread of a single-process run (ranks must stop at the same step); ``restore``
    puts the previous handlers back."""

    def __init__(self, enabled: bool = True):
        self.requested = ""
        self._previous = {}
        if enabled and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopped without a checkpoint at this step")
        self.requested = signal.Signals(signum).name

    def restore(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def train(config, out, resume: bool = True, max_steps: int | None = None, device: str | None = None,
          overrides: dict | None = None, progress: bool = True, log=print, force_config: bool = False) -> dict:
    """Train (or resume) the run defined by ``config`` into folder ``out`` (see
    :func:`_train`). The folder is locked while the run is alive (the advisory lock of
    ``sarsr dataset``): a second trainer on the same folder fails at once naming the owner."""

    if int(os.environ.get("RANK", "0")) != 0:
        return _train(config, out, resume, max_steps, device, overrides, progress, log, force_config)
    Path(out).mkdir(parents=True, exist_ok=True)
    # SIGINT / SIGTERM: checkpoint after the step in flight, then stop (single process: ranks
    # must stop at the same step)
    stop = _StopRequest(enabled=int(os.environ.get("WORLD_SIZE", "1")) == 1)
    try:
        with FolderLock(out, "training run"):
            return _train(config, out, resume, max_steps, device, overrides, progress, log, force_config, stop)
    finally:
        stop.restore()


def _train(config, out, resume: bool = True, max_steps: int | None = None, device: str | None = None,
           overrides: dict | None = None, progress: bool = True, log=print, force_config: bool = False,
           stop: "_StopRequest | None" = None) -> dict:
    """Train (or resume) the run defined by ``config`` into folder ``out``.

    ``max_steps`` stops early at that step (the schedule still follows ``train.steps``), e.g.
    to spread a run over several sessions. ``resume=False`` starts over in ``out`` (its run
    files are replaced); with ``resume=True`` a folder holding run files but no checkpoint is
    refused rather than overwritten. A resume whose config differs from the checkpoint's is
    refused, naming the changed keys, unless ``force_config``. ``log.csv`` is only appended
    to, at checkpoints, so it is identical after any kill / resume sequence. Returns a
    summary dict.
    """
    cfg = config if isinstance(config, dict) else load_config(config, overrides)
    t, d = cfg["train"], cfg["data"]
    stop = stop if stop is not None else _StopRequest(enabled=False)
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = resolve_device(device)
    main = rank == 0
    out = Path(out)
    ckpt_path = out / "last.pt"
    resuming = resume and ckpt_path.exists()
    if main and not resuming and resume and out.is_dir():
        owned = [n for n in _RUN_FILES if (out / n).exists()]
        other = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in _RUN_FILES]
        if owned or other:
            raise ValueError(f"{out} holds {', '.join((owned + other)[:4])} but no checkpoint (last.pt) to resume; "
                             f"pass --restart to start over in it (replacing its run files) or choose another --out")
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if main:
        out.mkdir(parents=True, exist_ok=True)

    task = get_task(cfg)
    metrics = tuple(getattr(task, "metrics", (task.primary,)))
    primary = t["select"] or task.primary
    if primary not in metrics:
        raise ConfigError(f"train.select = {primary!r} is not a validation metric of task {cfg['task']!r} "
                          f"(valid: {', '.join(metrics)})")
    fields = log_fields(metrics)
    torch.manual_seed(t["seed"])
    cfg["_build"] = {**task.model_kwargs(), **cfg["model"]["options"]}  # how load_run rebuilds the model
    fmt = torch.channels_last if t["channels_last"] else torch.contiguous_format
    try:
        model = create_model(cfg["model"]["name"], **cfg["_build"]).to(dev, memory_format=fmt)
    except (TypeError, ValueError, RuntimeError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise ConfigError(f"model {cfg['model']['name']!r} with options {cfg['model']['options']}: {msg}") from None
    opt_cls = torch.optim.AdamW if t["optimizer"] == "adamw" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"])
    amp = bool(t["amp"]) and dev.type == "cuda"
    # bf16 autocast where the GPU has it (no loss scaling needed), else fp16 with a GradScaler
    amp_dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
    if t["cpu_bf16"] and dev.type == "cpu" and cpu_has_bf16():  # bf16 needs no loss scaling either
        amp, amp_dtype = True, torch.bfloat16
    start, best, running, log_rows, elapsed0 = 0, -float("inf"), [], 0, 0.0
    loss_start = []  # the run's first DIVERGED_WINDOW losses: the reference of the divergence test
    recent = collections.deque(maxlen=DIVERGED_WINDOW)  # the last losses, compared with it
    ema_state = None
    log_path = out / "log.csv"
    if resuming:
        try:
            ck = load_checkpoint(ckpt_path, map_location=dev)
        except CheckpointError as exc:
            raise CheckpointError(f"{exc}; start the run over with --restart") from None
        if not isinstance(ck, dict) or not {"model", "optimizer", "step"} <= set(ck):
            raise CheckpointError(f"{ckpt_path}: not a training checkpoint; start the run over with --restart")
        changed = _config_diff(ck.get("config", {}), cfg) if "config" in ck else []
        if changed and not force_config:
            raise ConfigError(f"{out}: the config differs from the checkpoint's in {', '.join(changed[:8])}"
                              f"{' ...' if len(changed) > 8 else ''}; resume with the run's own config, pass "
                              f"--force-config to apply the change, or --restart")
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError as exc:
            raise CheckpointError(f"{ckpt_path}: does not fit model {cfg['model']['name']!r} "
                                  f"({str(exc).splitlines()[0][:160]}); start over with --restart") from None
        opt.load_state_dict(ck["optimizer"])
        scaler.load_state_dict(ck["scaler"])
        start, best = ck["step"], ck.get("best", ck.get("best_psnr", -float("inf")))
        ema_state = ck.get("ema")
        running = list(ck.get("running", []))
        loss_start = list(ck.get("loss_start", []))
        log_rows, elapsed0 = int(ck.get("log_rows", -1)), float(ck.get("elapsed_s", 0.0))
        if main:
            log(f"resuming {out} at step {start}" + (f" (config changes applied: {', '.join(changed)})" if changed else ""))
    else:
        if t["init"]:
            try:
                init_state = _init_weights(t["init"], dev)
                if t["init_grow"]:
                    if not hasattr(model, "grow_from"):
                        raise ConfigError(f"train.init_grow: model {cfg['model']['name']!r} cannot grow "
                                          "from a shallower network")
                    added = model.grow_from(init_state)
                    if main:
                        log(f"grown from a smaller network: {added} near-identity blocks appended")
                else:
                    model.load_state_dict(init_state)
            except (RuntimeError, ValueError) as exc:
                raise CheckpointError(f"train.init {t['init']}: does not fit model {cfg['model']['name']!r} "
                                      f"({str(exc).splitlines()[0][:160]})") from None
            if main:
                log(f"fine-tuning from the weights in {t['init']}")
        if main:
            for name in ("log.csv", "best.pt", "model.pt"):  # starting over: the old run's results go
                (out / name).unlink(missing_ok=True)
    ema = WeightEMA(model, t["ema_decay"]) if t["ema_decay"] > 0 else None
    if ema is not None and ema_state is not None:
        ema.load_state_dict(ema_state)
    elif ema is not None and resuming and main:
        log(f"the checkpoint holds no weight average; train.ema_decay starts one at step {start}")
    eval_model = ema.module if ema is not None else model  # what validation scores and best.pt holds
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    if t["compile"] and world == 1:  # training steps only; validation runs the plain module
        net = torch.compile(model)
    loss_fn = task.loss

    loss_takes_input = needs_input(loss_fn)
    end = min(t["steps"], max_steps) if max_steps else t["steps"]

    train_ds, val_ds = task.datasets()
    sampler = StepBatchSampler(len(train_ds), t["batch_size"], end, t["seed"], start, rank, world)
    workers, preload = d["num_workers"], d.get("preload", False)
    if preload:  # every record once, kept on the device: no workers, no pinned memory
        if not getattr(train_ds, "supports_preload", False):
            raise ValueError(f"data.preload = true: the {type(task).__name__} task's dataset cannot preload; "
                             f"set data.preload = false")
        t_pre = time.perf_counter()
        train_ds.preload(dev, progress=progress and main)
        workers = 0
        if main:
            log(f"preloaded {len(train_ds)} training records onto {dev} in {time.perf_counter() - t_pre:.1f} s")
    loader = torch.utils.data.DataLoader(train_ds, batch_sampler=sampler, num_workers=workers,
                                         worker_init_fn=_loader_worker_init if workers > 0 else None,
                                         pin_memory=dev.type == "cuda" and not preload,
                                         persistent_workers=workers > 0 and len(sampler) > 0)
    if main:
        _reconcile_log(log_path, log_rows, ck.get("log_pending", []) if resuming else [], fields)
        text = Path(cfg["_source"]).read_text() if Path(cfg["_source"]).exists() else ""
        if cfg.get("_overrides"):  # provenance; the effective config is in every checkpoint
            text += "".join(f"# --set {k}={v!r} (applied)\n" for k, v in cfg["_overrides"].items())
        atomic_write_text(out / "config.toml", text)
        log(f"{cfg['name']}: {cfg['model']['name']} ({count_params(model):,} params) on {dev}"
            f"{f' x{world}' if world > 1 else ''}; {len(train_ds)} train / {len(val_ds)} val records; "
            f"steps {start} -> {end}")

    from tqdm.auto import tqdm

    bar = tqdm(total=end, initial=start, disable=not (progress and main), unit="step", dynamic_ncols=True)
    t0, step = time.perf_counter(), start
    pending: list[dict] = []
    log_rows = max(log_rows, 0) if resuming else 0
    net.train()

    last_saved = start

    def checkpoint(step):
        nonlocal log_rows, last_saved
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            raise TrainingDiverged(f"{out}: the weights hold NaN or inf after step {step} (diverged); the checkpoint "
                                   f"of step {last_saved} is kept: lower train.lr or set train.grad_clip, then run "
                                   f"again with --restart")
        elapsed = elapsed0 + time.perf_counter() - t0
        save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                         "step": step, "best": best, "config": cfg, "running": running[-t["log_every"]:],
                         "loss_start": loss_start,
                         **({"ema": ema.state_dict()} if ema is not None else {}),
                         "log_rows": log_rows + len(pending), "log_pending": pending, "elapsed_s": elapsed},
                        ckpt_path)
        last_saved = step
        _append_rows(log_path, pending, fields)  # after the checkpoint that records them
        log_rows += len(pending)
        pending.clear()

    def write_row(**kw):
        pending.append({"elapsed_s": f"{elapsed0 + time.perf_counter() - t0:.1f}", **kw})

    for x, y in loader:
        for g in opt.param_groups:
            g["lr"] = t["lr"] * lr_factor(step, t)
        x = x.to(dev, non_blocking=True, memory_format=fmt if x.dim() == 4 else torch.preserve_format)
        y = y.to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp):
            pred = task.forward(net, model, x, step) if hasattr(task, "forward") and world == 1 else net(x)
            loss = loss_fn(pred.float(), y, x) if loss_takes_input else loss_fn(pred.float(), y)
        if not torch.isfinite(loss.detach()) or float(loss.detach()) > DIVERGED_LOSS:
            bar.close()
            raise TrainingDiverged(f"{out}: the loss is {float(loss.detach()):g} at step {step + 1} (diverged); the checkpoint of "
                                   f"step {last_saved} is kept and nothing later was saved: lower train.lr (now "
                                   f"{t['lr']:g}) or set train.grad_clip, then run again with --restart")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if t["grad_clip"] > 0:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        scaler.step(opt)
        scaler.update()
        if ema is not None:
            ema.update()
        step += 1
        running.append(float(loss.detach()))
        recent.append(running[-1])
        if len(loss_start) < DIVERGED_WINDOW:
            loss_start.append(running[-1])
        elif len(recent) == DIVERGED_WINDOW:
            ref, now = float(np.min(loss_start)), float(np.mean(recent))
            if ref > 0 and now > DIVERGED_RATIO * ref:
                bar.close()
                raise TrainingDiverged(
                    f"{out}: the loss grew from {ref:.4g} at the start to {now:.4g} (mean of steps {step - DIVERGED_WINDOW + 1}"
                    f"-{step}; {now / ref:.0f}x: diverged); the checkpoint of step {last_saved} is kept and nothing later "
                    f"was saved: lower train.lr (now {t['lr']:g}) or set train.grad_clip, then run again with --restart")
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(running[-50:]):.4g}", lr=f"{opt.param_groups[0]['lr']:.2e}")
        out_of_time = (bool(t["time_limit_s"]) and time.perf_counter() - t0 >= t["time_limit_s"]) or bool(stop.requested)
        if world > 1 and t["time_limit_s"]:  # every rank stops at the same step
            flag = torch.tensor([float(out_of_time)], device=dev)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            out_of_time = bool(flag.item() > 0)
        if not main:
            if out_of_time:
                break
            continue
        running = running[-t["log_every"]:]
        if step % t["log_every"] == 0 or step == t["steps"]:  # never at a --max-steps stop: resume-invariant
            write_row(step=step, loss=f"{np.mean(running[-t['log_every']:]):.6g}", lr=f"{opt.param_groups[0]['lr']:.4g}")
        if step % t["val_every"] == 0 or step == t["steps"]:
            vals = task.validate(eval_model, val_ds, dev)
            vp = vals[primary]
            write_row(step=step, **{k: f"{v:.5f}" for k, v in vals.items()})
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in vals.items()))
            if vp > best:
                best = vp
                save_checkpoint(eval_model.state_dict(), out / "best.pt")
        if step % t["checkpoint_every"] == 0 or step == end:
            checkpoint(step)
        if step % t["val_every"] == 0 or step == t["steps"] or step == end:
            _plot(log_path, out / "loss.png")
        if out_of_time:  # train.time_limit_s: stop here, resumable like a --max-steps stop
            if best == -float("inf"):  # never validated in this run: best.pt must exist
                vals = task.validate(eval_model, val_ds, dev)
                write_row(step=step, **{k: f"{v:.5f}" for k, v in vals.items()})
                best = vals[primary]
                save_checkpoint(eval_model.state_dict(), out / "best.pt")
            if pending or (step % t["checkpoint_every"] != 0 and step != end):  # rows and best since the last save
                checkpoint(step)
            _plot(log_path, out / "loss.png")
            log(f"stopped by {stop.requested} at step {step}: checkpointed; run the same command again to resume"
                if stop.requested else f"train.time_limit_s = {t['time_limit_s']:g} s reached at step {step}")
            break
    bar.close()
    if world > 1:
        dist.barrier()
    summary = {"name": cfg["name"], "model": cfg["model"]["name"], "step": step, "best_val_psnr": best,
               "best_val": best, "primary": primary,
               "out": str(out)}
    if main:
        save_checkpoint(eval_model.state_dict(), out / "model.pt")
    return summary
