"""Real-capture I/O: DCA1000 layouts (hand-computed bytes and round trips), mmWave configs,
positions, MATLAB v5 / v7.3, simulated capture write → read → image."""

import os
from pathlib import Path

import h5py
import json

import numpy as np
import pytest

from sarsr import radar
from sarsr.io import (CaptureSizeError, ConfigParseError, RadarConfig, RawLayout, capture_channels,
                      interpolate_positions, load_mat, load_radar_config, read_capture, read_dca1000,
                      read_positions, simulate_capture, write_capture, write_dca1000, write_positions)

def _profile(n_samples):
    """The AWR1443 chirp profile of the test captures (77 GHz, 124.996 MHz/us, 2 Msps)."""
    return radar.FMCWWaveform(77e9, 124.996e12, 2e6, n_samples, 6e-6, 100e-6, 60e-6)


def test_radar_config_holds_one_profile_and_old_spellings_warn():
    cfg = RadarConfig(_profile(64), [0, 2])
    assert cfg.waveform() is cfg.profile and cfg.n_tx == 2 and cfg.n_rx == 4
    with pytest.warns(DeprecationWarning, match="profile.slope"):
        assert cfg.slope_hz_per_s == 124.996e12
    with pytest.warns(DeprecationWarning, match="FMCWWaveform"):
        old = RadarConfig(77e9, 124.996e12, 2e6, 64, 6e-6, 100e-6, 60e-6, [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    assert old.profile.num_samples == 64 and old.device == "iwr1443" and old.n_frames == 0
    with pytest.raises(ConfigParseError, match="chirp profile"), pytest.warns(DeprecationWarning):
        RadarConfig(77e9, -1.0, 2e6, 64)
    with pytest.raises(AttributeError):
        cfg.no_such_field  # noqa: B018


# the paper's real capture (third-party, never committed): $SARSR_EXP1_MAT, else ../shared/data
SHARED = Path(os.environ.get("SARSR_EXP1_MAT") or
              Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exp1_cutout2_2.mat")


def test_xwr14xx_hand_computed_bytes(tmp_path):
    # TI SWRA581B, 4-lane xWR14xx: per complex sample I_rx0..I_rx3 then Q_rx0..Q_rx3 (int16 LE).
    # 1 frame, 1 loop, 1 Tx, 4 Rx, 2 samples.
    words = [1, 2, 3, 4, -1, -2, -3, -4,      # sample 0: I rx0..3, Q rx0..3
             10, 20, 30, 40, -10, -20, -30, -40]  # sample 1
    (tmp_path / "a.bin").write_bytes(np.array(words, "<i2").tobytes())
    cube = read_dca1000(tmp_path / "a.bin", RawLayout(2, 4, 1, 1, "xwr14xx"))
    assert cube.shape == (1, 1, 1, 4, 2)
    np.testing.assert_array_equal(cube[0, 0, 0, :, 0], [1 - 1j, 2 - 2j, 3 - 3j, 4 - 4j])
    np.testing.assert_array_equal(cube[0, 0, 0, 2, :], [3 - 3j, 30 - 30j])
    # little-endian check on the raw bytes: 1 -> 01 00, -1 -> ff ff
    assert (tmp_path / "a.bin").read_bytes()[:2] == b"\x01\x00"


def test_xwr16xx_hand_computed_bytes(tmp_path):
    # 2-lane xWR16xx: within a chirp all samples of RX0 then RX1, groups I(n) I(n+1) Q(n) Q(n+1).
    words = [1, 2, 5, 6, 3, 4, 7, 8,        # rx0: I0 I1 Q0 Q1 I2 I3 Q2 Q3
             11, 12, 15, 16, 13, 14, 17, 18]  # rx1
    (tmp_path / "b.bin").write_bytes(np.array(words, "<i2").tobytes())
    cube = read_dca1000(tmp_path / "b.bin", RawLayout(4, 2, 1, 1, "xwr16xx"))
    np.testing.assert_array_equal(cube[0, 0, 0, 0], [1 + 5j, 2 + 6j, 3 + 7j, 4 + 8j])
    np.testing.assert_array_equal(cube[0, 0, 0, 1], [11 + 15j, 12 + 16j, 13 + 17j, 14 + 18j])
    swapped = read_dca1000(tmp_path / "b.bin", RawLayout(4, 2, 1, 1, "xwr16xx", iq_swap=True))
    np.testing.assert_array_equal(swapped[0, 0, 0, 0, 0], 5 + 1j)


LAYOUTS = [RawLayout(8, 4, 2, 3, "xwr14xx"), RawLayout(8, 3, 3, 1, "xwr14xx", iq_swap=True),
           RawLayout(6, 4, 2, 2, "xwr14xx", offset_binary=True), RawLayout(8, 4, 3, 2, "xwr16xx"),
           RawLayout(6, 2, 1, 1, "xwr16xx", iq_swap=True, offset_binary=True)]


@pytest.mark.parametrize("lay", LAYOUTS, ids=lambda l: f"{l.layout}-rx{l.n_rx}-swap{int(l.iq_swap)}-ob{int(l.offset_binary)}")
def test_round_trip_every_layout(lay, tmp_path):
    rng = np.random.default_rng(0)
    shape = (4, lay.loops, lay.n_tx, lay.n_rx, lay.n_samples)
    c = (rng.integers(-30000, 30000, shape) + 1j * rng.integers(-30000, 30000, shape)).astype(np.complex64)
    write_dca1000(tmp_path / "x.bin", c, lay)
    assert (tmp_path / "x.bin").stat().st_size == 4 * 4 * lay.chirps * lay.rx_slots * lay.n_samples
    np.testing.assert_array_equal(read_dca1000(tmp_path / "x.bin", lay, n_frames=4), c)
    # split into _Raw_0/_Raw_1 parts at an arbitrary byte
    data = (tmp_path / "x.bin").read_bytes()
    (tmp_path / "c_Raw_0.bin").write_bytes(data[:1000])
    (tmp_path / "c_Raw_1.bin").write_bytes(data[1000:])
    parts = [tmp_path / "c_Raw_0.bin", tmp_path / "c_Raw_1.bin"]
    np.testing.assert_array_equal(read_dca1000(parts, lay, n_frames=4), c)


def test_size_mismatches_are_reported(tmp_path):
    lay = RawLayout(8, 4, 2, 1, "xwr14xx")
    c = np.ones((3, 1, 2, 4, 8), np.complex64)
    write_dca1000(tmp_path / "x.bin", c, lay)
    data = (tmp_path / "x.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(data[:-100])
    with pytest.raises(CaptureSizeError, match=r"t.bin.*2 complete frames.*truncated"):
        read_dca1000(tmp_path / "t.bin", lay, n_frames=3)
    with pytest.raises(CaptureSizeError, match="partial frame"):
        read_dca1000(tmp_path / "t.bin", lay)
    report = {}
    got = read_dca1000(tmp_path / "t.bin", lay, allow_partial=True, report=report)
    assert got.shape[0] == 2 and report["partial_frame_bytes"] == len(data) // 3 - 100
    (tmp_path / "l.bin").write_bytes(data + data[:512])
    with pytest.raises(CaptureSizeError, match="longer than the configured 3 frames"):
        read_dca1000(tmp_path / "l.bin", lay, n_frames=3)
    with pytest.raises(ValueError, match="unknown DCA1000 layout"):
        RawLayout(8, layout="xwr99xx")


CFG = """% IWR1443 SDK CLI profile (paper waveform)
sensorStop
channelCfg 15 5 0
adcCfg 2 1
adcbufCfg -1 0 0 1 1
profileCfg 0 77 100 6 60 0 0 124.996 1 64 2000 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 4
frameCfg 0 1 4 100 20 1 0
"""

LUA = """ar1.ChanNAdcConfig(1, 0, 1, 1, 1, 1, 1, 2, 1, 0)
ar1.ProfileConfig(0, 77, 100, 6, 60, 0, 0, 0, 0, 0, 0, 124.996, 1, 64, 2000, 0, 0, 30)
ar1.ChirpConfig(0, 0, 0, 0, 0, 0, 0, 1, 0, 0)
ar1.ChirpConfig(1, 1, 0, 0, 0, 0, 0, 0, 0, 1)
ar1.FrameConfig(0, 1, 100, 4, 20, 0, 0, 1)
"""


def test_cfg_lua_and_json_agree(tmp_path):
    (tmp_path / "a.cfg").write_text(CFG)
    (tmp_path / "a.lua").write_text(LUA)
    a = load_radar_config(tmp_path / "a.cfg", device="iwr1443")
    b = load_radar_config(tmp_path / "a.lua", device="iwr1443")
    (tmp_path / "c.mmwave.json").write_text(a.to_mmwave_json())
    c = load_radar_config(tmp_path / "c.mmwave.json")
    for cfg in (a, b, c):
        assert cfg.tx_order == [0, 2] and cfg.n_rx == 4 and cfg.n_loops == 4 and cfg.n_frames == 100
        w = cfg.profile
        assert w.start_freq == pytest.approx(77e9) and w.slope == pytest.approx(124.996e12)
        assert w.sample_rate == pytest.approx(2e6) and w.adc_start_time == pytest.approx(6e-6)
        assert cfg.layout == "xwr14xx"
    assert a.ch_interleave and not a.iq_swap
    # first ADC sample frequency includes the ADC start time (an easy 0.75 GHz slip)
    w = a.waveform()
    assert w.frequencies[0] == pytest.approx(77e9 + 124.996e12 * 6e-6)
    (tmp_path / "d.cfg").write_text(a.to_cfg())
    d = load_radar_config(tmp_path / "d.cfg", device="iwr1443")
    def same(cfg):  # up to the file it came from (source, and the profile's name = the file name)
        out = cfg.to_dict() | {"source": ""}
        out["profile"]["name"] = ""
        return out

    assert same(d) == same(a)


def test_bad_configs(tmp_path):
    (tmp_path / "x.cfg").write_text("profileCfg 0 77 100 6 60 0 0 124.996 1 64 2000 0 0 30\n")
    with pytest.raises(ConfigParseError, match="x.cfg: missing frameCfg"):
        load_radar_config(tmp_path / "x.cfg")
    (tmp_path / "y.cfg").write_text(CFG)
    with pytest.raises(ConfigParseError, match="unknown device 'iwr9999'"):
        load_radar_config(tmp_path / "y.cfg", device="iwr9999")
    (tmp_path / "z.cfg").write_text(CFG.replace("frameCfg 0 1", "frameCfg 0 2"))
    with pytest.raises(ConfigParseError, match="chirp 2"):
        load_radar_config(tmp_path / "z.cfg")
    (tmp_path / "w.json").write_text("{}")
    with pytest.raises(ConfigParseError, match="not an mmWave Studio JSON"):
        load_radar_config(tmp_path / "w.json")


def test_positions_formats(tmp_path):
    (tmp_path / "p.csv").write_text("t,x_mm,y_mm,z_mm\n0,1,2,3\n1,4,5,6\n")
    xyz, t = read_positions(tmp_path / "p.csv")
    np.testing.assert_allclose(xyz, [[1e-3, 2e-3, 3e-3], [4e-3, 5e-3, 6e-3]])
    np.testing.assert_allclose(interpolate_positions(xyz, t, [0.5]), [[2.5e-3, 3.5e-3, 4.5e-3]])
    write_positions(tmp_path / "q.csv", xyz * 7, t)
    np.testing.assert_array_equal(read_positions(tmp_path / "q.csv")[0], xyz * 7)
    np.save(tmp_path / "n.npy", np.array([[0, 0, np.nan]]))
    with pytest.raises(ValueError, match="NaN"):
        read_positions(tmp_path / "n.npy")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no 'x'"):
        read_positions(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="outside"):
        interpolate_positions(xyz, t, [2.0])


def test_mat_v73_complex_and_axes(tmp_path):
    a = (np.arange(6).reshape(2, 3) + 1j * np.arange(6).reshape(2, 3)).astype(np.complex64)
    p = tmp_path / "v73.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        comp = np.zeros(a.T.shape, dtype=[("real", "<f4"), ("imag", "<f4")])
        comp["real"], comp["imag"] = a.T.real, a.T.imag  # MATLAB stores column-major
        f["img"] = comp
        f["img"].attrs["MATLAB_class"] = np.bytes_("single")
    with open(p, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, sarsr test".ljust(128, b" "))
    d = load_mat(p)
    np.testing.assert_array_equal(d["img"], a)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/exp1_cutout2_2.mat not present")
def test_paper_real_capture_loads():
    d = load_mat(SHARED)
    assert set(d) == {"radarImagesBPA", "radarImagesFFH", "radarImagesRMA"}
    for v in d.values():
        assert v.shape == (200, 200) and np.iscomplexobj(v)
    assert 0.1 < np.abs(d["radarImagesFFH"]).max() < 0.12  # reference notes: |FFH| max 0.108


def test_simulated_capture_round_trip_and_image(tmp_path):
    cfg = RadarConfig(_profile(64), [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    nx, ny = 24, 3
    lam = 299792458.0 / 79e9
    xs = (np.arange(nx) - (nx - 1) / 2) * lam / 4
    ys = (np.arange(ny) - (ny - 1) / 2) * 8 * lam / 4
    pos = np.array([[x, y, 0.0] for y in ys for x in xs])
    cfg.n_frames = len(pos)
    scene = radar.point_scene([[0.002, -0.001, 0.12]])
    adc = simulate_capture(cfg, pos, scene)
    write_capture(tmp_path / "cap", adc, cfg, pos)
    with pytest.raises(FileExistsError):
        write_capture(tmp_path / "cap", adc, cfg, pos)
    cap = read_capture(tmp_path / "cap")
    np.testing.assert_array_equal(cap.adc, adc)  # bit for bit through the DCA1000 file
    assert cap.report["frames"] == len(pos) and cap.config.tx_order == [0, 2]
    tx, rx, echo = capture_channels(cap)
    grid = radar.image_grid(n=32, extent=0.008, z=0.12)
    img = np.abs(radar.backproject(echo, tx, rx, cap.config.waveform().k, grid.points))
    ix, iy = np.unravel_index(np.argmax(img), img.shape)
    assert abs(grid.x[ix] - 0.002) < 1e-3 and abs(grid.y[iy] + 0.001) < 1.5e-3


def test_cli_reconstruct(tmp_path, capsys):
    from sarsr.cli import main

    cfg = RadarConfig(_profile(64), [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    nx, ny = 24, 3
    lam = 299792458.0 / 79e9
    pos = np.array([[(ix - (nx - 1) / 2) * lam / 4, (iy - (ny - 1) / 2) * 2 * lam, 0.0]
                    for iy in range(ny) for ix in range(nx)])
    cfg.n_frames = len(pos)
    write_capture(tmp_path / "cap", simulate_capture(cfg, pos, radar.point_scene([[0.0, 0.0, 0.1]])), cfg, pos)
    for method in ("bp", "empm"):
        args = ["reconstruct", str(tmp_path / "cap"), "--out", str(tmp_path / method), "--n", "24",
                "--extent-mm", "8", "--z-mm", "100", "--method", method, "--lattice", "24,24"]
        assert main(args) == 0
        with h5py.File(tmp_path / method / "image.h5", "r") as f:
            img = np.abs(f["image/complex"][()])
            assert f["image/x_m"].shape == (24,) and f["config"].attrs["n_frames"] == len(pos)
        ix, iy = np.unravel_index(np.argmax(img), img.shape)
        assert abs(ix - 11.5) <= 2 and abs(iy - 11.5) <= 2
        assert (tmp_path / method / "image.png").exists()
    assert main(["reconstruct", str(tmp_path / "cap"), "--out", str(tmp_path / "bp")]) == 2
    assert "--force" in capsys.readouterr().err
    capsys.readouterr()
    af = ["reconstruct", str(tmp_path / "cap"), "--n", "24", "--extent-mm", "8", "--z-mm", "100", "--method", "empm",
          "--lattice", "24,24", "--autofocus", "--out", str(tmp_path / "af")]
    assert main(af) == 0
    assert "autofocus: image entropy" in capsys.readouterr().out
    rec = json.loads((tmp_path / "af" / "reconstruction.json").read_text())
    assert rec["autofocus"]["entropy_after"] <= rec["autofocus"]["entropy_before"]
    sr = {}
    for mode in ("always", "never"):
        assert main(af[:-1] + [str(tmp_path / f"sr_{mode}"), "--sr", "--keep-input-points", mode]) == 0
        with h5py.File(tmp_path / f"sr_{mode}" / "image.h5", "r") as f:
            sr[mode], inp = f["image/sr"][()], np.abs(f["image/complex"][()])
    capsys.readouterr()
    assert main(af[:-1] + [str(tmp_path / "no_sr"), "--keep-input-points", "always"]) == 2
    assert "add --sr" in capsys.readouterr().err
    # screening mode only ever adds input peaks back to the network's output; the point is kept
    assert np.all(sr["always"] >= sr["never"] - 1e-6)
    ix, iy = np.unravel_index(np.argmax(inp), inp.shape)
    assert sr["always"][ix - 1:ix + 2, iy - 1:iy + 2].max() >= 0.8
    assert main(["reconstruct", str(tmp_path / "cap"), "--autofocus", "--out", str(tmp_path / "af_bp")]) == 2
    assert "--method empm" in capsys.readouterr().err
    data = (tmp_path / "cap" / "adc_data.bin").read_bytes()
    (tmp_path / "cap" / "adc_data.bin").write_bytes(data[:-10])
    assert main(["reconstruct", str(tmp_path / "cap"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "adc_data.bin" in err and "truncated" in err and "Traceback" not in err


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/exp1_cutout2_2.mat not present")
def test_read_image_prefers_the_empm_variable():
    from sarsr.sr import read_image

    img = read_image(SHARED)
    assert img.shape == (200, 200) and 0.1 < np.abs(img).max() < 0.12  # radarImagesFFH
    assert np.abs(read_image(SHARED, "radarImagesBPA")).max() > 1e5


def test_calibration_recovers_channel_offsets(tmp_path):
    from sarsr.cli import main
    from sarsr.io import apply_calibration, calibrate, load_calibration

    cfg = RadarConfig(_profile(64), [0, 2], 0b1111, 1, 0, 0.0, "iwr1443")
    lam = 299792458.0 / 79e9
    pos = np.array([[(ix - 7.5) * lam / 4, 0.0, 0.0] for ix in range(16)])
    cfg.n_frames = len(pos)
    refl = [0.001, 0.0, 0.2]
    adc = simulate_capture(cfg, pos, radar.point_scene([refl]), full_scale=20000)
    rng = np.random.default_rng(0)
    dR = rng.uniform(-3e-3, 3e-3, (2, 4))
    dR -= dR[0, 0]
    phi = rng.uniform(-np.pi, np.pi, (2, 4))
    phi -= phi[0, 0]
    k = cfg.waveform().k
    bad = adc * np.exp(1j * (k * dR[..., None] + phi[..., None]))[None, None]
    write_capture(tmp_path / "refl", np.rint(bad.real) + 1j * np.rint(bad.imag), cfg, pos)
    assert main(["calibrate", str(tmp_path / "refl"), "--reflector-mm", "1,0,200", "--out",
                 str(tmp_path / "cal.json")]) == 0
    cal = load_calibration(tmp_path / "cal.json")
    np.testing.assert_allclose(cal.range_offset_m, dR, atol=2e-5)
    np.testing.assert_allclose(np.angle(np.exp(1j * (np.asarray(cal.phase_rad) - phi))), 0, atol=0.02)
    fixed = apply_calibration(read_capture(tmp_path / "refl"), cal)
    ratio = fixed.adc / adc
    assert np.abs(np.angle(ratio)).max() < 0.05  # offsets removed
    with pytest.raises(ValueError, match="Rx mask"):
        cal.rx_mask = 3
        apply_calibration(fixed, cal)
    assert main(["calibrate", str(tmp_path / "refl"), "--reflector-mm", "1,0", "--out", str(tmp_path / "c2.json")]) == 2
    # a reflector on the array itself (0, 0, 0) is refused, not turned into a meaningless calibration
    assert main(["calibrate", str(tmp_path / "refl"), "--reflector-mm", "0,0,0", "--out", str(tmp_path / "c3.json")]) == 2
    assert not (tmp_path / "c3.json").exists()
    cal.rx_mask = 0b1111  # a table for another array shape: one line, not a numpy broadcast error
    cal.range_offset_m, cal.phase_rad, cal.gain = [[0.0, 0.0]], [[0.0, 0.0]], [[1.0, 1.0]]
    with pytest.raises(ValueError, match="do not fit this capture"):
        apply_calibration(fixed, cal)


def test_per_chirp_and_timestamped_poses(tmp_path):
    from sarsr.io.capture import chirp_times

    cfg = RadarConfig(_profile(16), [0, 2], 0b1111, 2, 3, 0.01, "iwr1443")
    adc = np.ones((3, 2, 2, 4, 16), np.complex64)
    write_capture(tmp_path / "a", adc, cfg)
    per_chirp = np.arange(3 * 2 * 2 * 3, dtype=float).reshape(-1, 3) * 1e-3
    write_positions(tmp_path / "a" / "positions.csv", per_chirp)
    cap = read_capture(tmp_path / "a")
    assert cap.positions.shape == (3, 2, 2, 3)
    tx, rx, echo = capture_channels(cap)
    assert tx.shape == (3 * 2 * 2 * 4, 3) and echo.shape == (48, 16)
    # timestamped poses (a slow linear motion) interpolated at the chirp times
    t = np.linspace(0, 0.05, 6)
    write_positions(tmp_path / "a" / "positions.csv", np.c_[t, 2 * t, 0 * t], t)
    cap = read_capture(tmp_path / "a")
    tc = chirp_times(cfg, 3)
    np.testing.assert_allclose(cap.positions[..., 0], tc)
    np.testing.assert_allclose(cap.positions[1, 0, 1, 1], 2 * (0.01 + 160e-6))
    write_positions(tmp_path / "a" / "positions.csv", per_chirp[:5])
    with pytest.raises(ValueError, match="match neither"):
        read_capture(tmp_path / "a")


def test_cli_errors_for_missing_positions_and_unknown_device(tmp_path, capsys):
    from sarsr.cli import main

    cfg = RadarConfig(_profile(16), [0, 2], 0b1111, 1, 2, 0.0, "iwr1443")
    write_capture(tmp_path / "c", np.ones((2, 1, 2, 4, 16), np.complex64), cfg)  # no positions file
    assert main(["reconstruct", str(tmp_path / "c"), "--out", str(tmp_path / "o")]) == 2
    assert "no positions" in capsys.readouterr().err
    assert main(["reconstruct", str(tmp_path / "c"), "--out", str(tmp_path / "o2"), "--radar", "iwr9999"]) == 2
    err = capsys.readouterr().err
    assert "unknown device 'iwr9999'" in err and "Traceback" not in err


def test_contradicting_configs_in_one_capture_folder(tmp_path):
    """A .cfg that contradicts the .mmwave.json beside it is an error naming both, not ignored."""
    import dataclasses

    from sarsr.io import read_capture

    cfg = RadarConfig(_profile(16), [0, 2], 0b1111, 1, 4, 0.0, "iwr1443")
    pos = np.c_[np.arange(4) * 1e-3, np.zeros(4), np.zeros(4)]
    write_capture(tmp_path / "cap", simulate_capture(cfg, pos, radar.point_scene([[0.0, 0.0, 0.1]])), cfg, pos)
    assert read_capture(tmp_path / "cap").adc.shape[0] == 4  # the two written configs agree
    other = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile, slope=100e12))
    (tmp_path / "cap" / "radar.cfg").write_text(other.to_cfg())
    with pytest.raises(ValueError, match="contradicts.*profile.slope"):
        read_capture(tmp_path / "cap")
