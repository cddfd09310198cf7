"""CPU cost of the super-resolution capacity ladder's rungs, measured side by side in one run
(docs/sr_ladder_cost.json; the x axis of the quality-against-latency panel of
docs/sr_ladder_curves.png).

Each rung is built from its training config's model options (weights do not change the cost),
fused (``sarsr.models.reparameterize``) and timed on one 256 x 256 image per forward pass. The
rungs take turns, ``--rounds`` rounds of ``--repeat`` passes each, so a machine that slows down
during the run slows every rung alike; the median over all passes is reported, with the ratio
to the shipped network, which is what carries to another machine (absolute times only with the
machine named: the JSON records the CPU model and thread count).

    .venv/bin/python scripts/measure/measure_ladder_cost.py --out docs/sr_ladder_cost.json
"""

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch

from sarsr.models import count_macs, cpu_latency_ms, create_model, reparameterize
from sarsr.train import load_config

#: rung name in docs/sr_ladder_validation.csv -> training config that defines its design
#: (None: the shipped network, built as shipped)
RUNGS = {"shipped": None, "refine": "srvit_hsm_v2_refine", "deep": "srvit_hsm_v2_deep"}
SIZE = (1, 256, 256)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    nets, times, macs = {}, {}, {}
    for rung, config in RUNGS.items():
        if config is None:
            net = create_model("srvit_hsm", pretrained=True)
        else:
            cfg = load_config(config)
            net = create_model(cfg["model"]["name"], **cfg["model"]["options"])
        macs[rung] = count_macs(net, SIZE)
        nets[rung] = reparameterize(net)
        times[rung] = []
    for r in range(a.rounds):
        for rung, net in nets.items():
            times[rung].append(cpu_latency_ms(net, SIZE, repeat=a.repeat, warmup=1))
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]:.1f} ms" for k, v in times.items()), flush=True)
    ms = {k: statistics.median(v) for k, v in times.items()}
    result = {"cpu": cpu_name(), "threads": torch.get_num_threads(), "input": list(SIZE),
              "rounds": a.rounds, "repeat": a.repeat,
              "rungs": {k: {"config": RUNGS[k] or "shipped weights", "gmac": round(macs[k] / 1e9, 3), "fused_ms": round(ms[k], 2),
                            "ratio_to_shipped": round(ms[k] / ms["shipped"], 3), "round_ms": [round(t, 2) for t in times[k]]}
                        for k in RUNGS}}
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    for k, v in result["rungs"].items():
        print(f"{k:8s} {v['gmac']:5.2f} GMAC  {v['fused_ms']:7.1f} ms  x{v['ratio_to_shipped']:.2f}")
    print(f"wrote {a.out} ({result['cpu']}, {result['threads']} threads)")


if __name__ == "__main__":
    main()
