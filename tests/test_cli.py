"""Command line: help, benchmark and demo on the tiny sizes."""

import json

import numpy as np
import pytest

from sarsr.cli import main
from sarsr.models import create_model, weights_path


def test_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "bench" in out and "demo" in out
    for cmd in ("bench", "demo"):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        assert "Example" in capsys.readouterr().out


def test_bench_radar_prints_side_by_side_table(capsys):
    assert main(["bench", "radar", "--size", "smoke", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for task in ("simulate_echo", "backproject interp", "backproject ffbp", "backproject exact", "EMPM"):
        line = [l for l in out.splitlines() if l.startswith(task)]
        assert line, task
        nums = [float(x.rstrip("xs")) for x in line[0].split()[-4:]]
        assert all(n > 0 for n in nums)
    assert "GBP/s" in out and "numpy" in out


def test_bench_autofocus_rows_and_errors(capsys):
    """One row per start on the same scans, with time, residual and recall; bad sizes are one line."""
    from sarsr.bench import bench_autofocus, format_autofocus_rows

    rows = bench_autofocus("smoke", count=1, starts=("pga",), log=lambda *a: None)
    (r,) = rows
    assert r["start"] == "pga" and r["scans"] == 1 and r["seconds_per_scan"] > 0
    assert r["depth_error_mm"] > 0 and r["depth_residual_mm"] >= 0 and r["changed"] in (0, 1)
    assert 0 <= r["recall_before"] <= 1 and 0 <= r["recall_after"] <= 1
    assert "| pga | 1 (smoke) |" in format_autofocus_rows(rows)
    assert main(["bench", "autofocus", "--size", "huge"]) == 2
    assert "paper, small or smoke" in capsys.readouterr().err
    with pytest.raises(ValueError, match="count"):
        bench_autofocus("smoke", count=0)


def test_demo_writes_figure_and_metrics(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--size", "smoke", "--sigma-mm", "0", "--snr-db", "40"]) == 0
    res = json.loads((out / "metrics.json").read_text())
    assert (out / "demo.png").stat().st_size > 10_000
    # EMPM and backprojection focus a planar scene with no error; the naive RMA on a freehand scan does not
    assert res["psnr_db"]["EMPM"] > res["psnr_db"]["planar RMA"] + 3
    assert res["psnr_db"]["backprojection"] > res["psnr_db"]["planar RMA"] + 3
    # refuses to overwrite without --force: one-line error, exit code 2
    assert main(["demo", "--out", str(out), "--size", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "Traceback" not in err


def test_bench_models_prints_one_table(capsys):
    assert main(["bench", "models", "--models", "s*_s1", "--size", "64", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    line = [l for l in out.splitlines() if l.startswith("shvit_s1")][0]
    assert "6,330,808" in line and "3x64x64" in line
    assert main(["bench", "models", "--models", "nope*"]) == 2
    assert "no registered model" in capsys.readouterr().err
    # --shipped: the networks with packaged weights, built with their recorded options
    assert main(["bench", "models", "--shipped", "--models", "srvit_hsm", "--size", "64", "--repeat", "1"]) == 0
    meta = json.loads(weights_path("srvit_hsm").with_suffix(".json").read_text())
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("srvit_hsm")][0]
    built = create_model("srvit_hsm", **meta["options"])
    assert f"{sum(p.numel() for p in built.parameters()):,}" in line
    assert main(["bench", "models", "--shipped", "--models", "shvit*"]) == 2


def test_dataset_set_overrides_a_scenario_key(tmp_path, capsys):
    """`sarsr dataset --set` uses the train --set syntax; the override lands in the stored
    scenario (config and TOML provenance)."""
    import json

    rc = main(["dataset", "smoke", "--count", "2", "--out", str(tmp_path / "d"), "--workers", "1", "--quiet",
               "--set", "position_error.sigma_m=0.002", "--set", "noise.snr_db=[5, 10]"])
    assert rc == 0
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert m["scenario_config"]["position_error"]["sigma_m"] == 0.002
    assert m["scenario_config"]["noise"]["snr_db"] == [5.0, 10.0]
    assert "# override: position_error.sigma_m=0.002" in m["scenario_toml"]
    # the records can be drawn again from the dataset alone, override included: each record's
    # re-drawn scan has the position error the shard stored (the TOML text alone would give 1 mm)
    from sarsr.data import dataset_scenario, iter_records, record_rng
    from sarsr.data.simulate import build_scan

    sc = dataset_scenario(tmp_path / "d")
    assert sc["position_error"]["sigma_m"] == 0.002 and sc.digest == m["scenario_digest"]
    recs = list(iter_records(tmp_path / "d", ["pos_error_rms_m", "snr_db"]))
    assert [r["index"] for r in recs] == [0, 1]
    for r in recs:
        scan = build_scan(sc, record_rng(m["seed"], r["index"]))
        err = np.concatenate([scan.tx_est - scan.tx, scan.rx_est - scan.rx])
        assert np.sqrt(np.mean(err ** 2)) == pytest.approx(r["pos_error_rms_m"], rel=1e-9)
        assert 5.0 <= r["snr_db"] <= 10.0
    assert len(list(iter_records(tmp_path / "d", ["snr_db"], limit=1))) == 1
    with pytest.raises(ValueError, match="no 'class_id'"):  # not a recognition scenario
        next(iter_records(tmp_path / "d", ["class_id"]))
    edited = dict(m, scenario_config=dict(m["scenario_config"], noise={"snr_db": [0.0, 1.0]}))
    (tmp_path / "d" / "manifest.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match="does not match its scenario_digest"):
        dataset_scenario(tmp_path / "d")
