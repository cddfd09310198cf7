"""Registry sweep (every registered model, marked slow) and a quick sweep of every architecture
family at a tiny width: build, forward/backward on non-square input,
fusion equivalence, state-dict round trip, features API; published parameter counts; TORE."""

import io
import warnings

import numpy as np
import pytest
import torch

from sarsr.models import (count_macs, count_params, create_model, list_models, model_entry,
                          reparameterize)
from sarsr.nn import TokenRecycler, grid_divisions

from .timm_compat import randomize_

#: Every registered model at its real size: the sweep runs under the ``slow`` marker (what
#: ``make test`` / CI runs); ``pytest -m "not slow"`` sweeps every architecture family at a tiny
#: width instead (:data:`TINY`).
LARGE = set(list_models())


def _sweep(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n for n in names]


ALL = _sweep(list_models())
CLS = _sweep(list_models(task="classification"))
SR = list_models(task="super_resolution")


def _tiny():
    """Each architecture class of the registry at a tiny width (same blocks and code paths)."""
    from sarsr.models.efficientvim import EfficientViM
    from sarsr.models.mobilevit import MobileViT
    from sarsr.models.shvit import SHViT
    from sarsr.models.srvit import EfficientSR, MobileSRViT, PlainCNN
    from sarsr.models.vit import DenseSTViTR, STViTR, VisionTransformer

    return {
        "shvit": lambda: SHViT(3, 10, (16, 24, 32), (1, 1, 1), (8, 8, 8), "iss", 8),
        "efficientvim": lambda: EfficientViM(3, 10, (16, 24, 32), (1, 1, 1), (9, 4, 4)),
        "mobilevit": lambda: MobileViT(3, 10, (8, 8, 8, 16, 16, 16), (16, 16, 24), (1, 1, 1), 2.0, 32),
        "vit": lambda: VisionTransformer(3, 10, 32, 2, 2, 2.0, 16, (6, 9)),
        "stvit_r": lambda: STViTR(3, 10, 32, 2, 1, 2, (2, 2), 2.0, 16, (6, 9)),
        "stvit_r_dense": lambda: DenseSTViTR(3, 9, dim=32, heads=2, full_depth=1, semantic_depth=2, grid=(2, 2),
                                             mlp_ratio=2.0, base_grid=(6, 9)),
        "mobile_srvit": lambda: MobileSRViT(1, 1, dims=(4, 4, 8), channels=(4,) * 8 + (8, 8), depths=(1, 1, 1),
                                            mlp_mult=(2, 2, 2), patch=4, heads=2, head_dim=4),
        **{f"efficient_sr_{m}": (lambda m=m: EfficientSR(1, 1, 8, 1, m, 2, **({"state_dim": 4} if m == "hsm" else {})))
           for m in ("shsa", "hsm", "stvit", "mobilevit")},
        "efficient_sr_hsm_refine": lambda: EfficientSR(1, 1, 8, 1, "hsm", 2, log_input_db=40.0, refine=2,
                                                       refine_width=4, state_dim=4),
        "efficient_sr_hsm_phase_view": lambda: EfficientSR(2, 1, 8, 1, "hsm", 2, log_input_db=40.0, refine=1,
                                                           refine_width=4, state_dim=4, phase_view=True),
        "efficient_sr_hsm_refine_features": lambda: EfficientSR(1, 1, 8, 1, "hsm", 2, log_input_db=40.0, refine=2,
                                                                refine_width=4, state_dim=4, refine_features=3),
        "sr_cnn": lambda: PlainCNN(1, 1, 8, 2),
    }


TINY = _tiny()


@pytest.mark.parametrize("family", list(TINY))
def test_tiny_width_family_forward_backward_fused(family):
    """The quick sweep: build, forward/backward on non-square input, every parameter gets a
    gradient, and the fused (reparameterised) network gives the same output."""
    torch.manual_seed(0)
    m = TINY[family]()
    sr = not hasattr(m, "num_classes")
    complex_in = getattr(m, "phase_view", False)  # (real, imaginary) in, one image out
    x = torch.randn(2, 2, 40, 52) if complex_in else torch.rand(2, 1, 40, 52) if sr else torch.randn(2, 3, 96, 144)
    m.train()
    y = m(x)
    assert torch.isfinite(y).all()
    if sr:
        assert y.shape == (2, 1, 40, 52)
    elif family == "stvit_r_dense":
        assert y.shape == (2, 9, 96, 144)
    else:
        assert y.shape == (2, 10)
    loss = y.float().square().mean()
    if hasattr(m, "forward_features") and not sr and family != "stvit_r_dense":
        loss = loss + m.forward_features(x).float().mean()
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:5]
    randomize_(m, seed=2)
    m.eval()
    with torch.no_grad():
        ref = m(x[:1])
        out = reparameterize(m)(x[:1])
    torch.testing.assert_close(out, ref, atol=1e-5 * max(1.0, float(ref.abs().max())), rtol=1e-5)


def _input(name, batch=2):
    e = model_entry(name)
    if e.task in ("classification", "segmentation"):
        return torch.randn(batch, 3, 96, 144)
    return torch.rand(batch, 1, 40, 52)  # not a multiple of 16 (mobile_srvit patches)


def test_registry_lists_required_models():
    required = {"shvit_s1", "shvit_s2", "shvit_s3", "shvit_s4", "efficientvim_m1", "efficientvim_m2",
                "efficientvim_m3", "efficientvim_m4", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s",
                "stvit_r_tiny", "vit_tiny", "mobile_srvit"}
    assert required <= set(list_models())
    assert list_models("shvit*") == ["shvit_s1", "shvit_s2", "shvit_s3", "shvit_s4"]
    assert list_models("srvit_hsm, point_detector") == ["point_detector", "srvit_hsm"]  # any of several
    assert list_models("shvit_s1,shvit*") == list_models("shvit*") and list_models("nope,") == []
    assert set(SR) >= {"mobile_srvit", "srvit_shsa", "srvit_hsm", "srvit_stvit", "sr_cnn"}


def test_create_model_errors_are_clear():
    with pytest.raises(ValueError, match="unknown model 'shvit_s9'.*shvit_s1"):
        create_model("shvit_s9")
    with pytest.raises(TypeError, match="unknown option"):
        create_model("shvit_s1", num_clases=3)
    with pytest.raises(FileNotFoundError, match="no shipped weights"):
        create_model("shvit_s1", pretrained=True)


def test_overrides_and_default_cfg():
    m = create_model("shvit_s1", num_classes=7, in_chans=1)
    assert m.eval()(torch.randn(1, 1, 64, 64)).shape == (1, 7)
    assert m.default_cfg["num_classes"] == 7 and m.default_cfg["name"] == "shvit_s1"


def test_input_transform_follows_the_default_cfg():
    """One input transform, bound to a model's default configuration: magnitude for one input
    channel, real and imaginary parts for two (largest component 1, the linear phase ramp taken
    out); resized to the working grid."""
    from sarsr.models import input_transform
    from sarsr.transforms import preprocess_input, remove_phase_ramp

    rng = np.random.default_rng(0)
    img = (rng.normal(size=(40, 40)) + 1j * rng.normal(size=(40, 40))) * 1e3
    one = input_transform(create_model("mobile_srvit"), size=32)(img)
    assert one.shape == (1, 32, 32) and float(one.max()) == pytest.approx(1.0)
    assert torch.equal(one, preprocess_input(img, 32))
    two = input_transform({"in_chans": 2}, size=None)(img)
    assert two.shape == (2, 40, 40) and float(two.abs().max()) == pytest.approx(1.0)
    flat = remove_phase_ramp(img / np.abs(img).max())
    flat = flat / max(np.abs(flat.real).max(), np.abs(flat.imag).max())
    assert np.allclose(two[0].numpy() + 1j * two[1].numpy(), flat, atol=1e-5)


@pytest.mark.parametrize("name,published,tol", [
    pytest.param(n, p, t, marks=pytest.mark.slow) if n in LARGE else (n, p, t) for n, p, t in [
        ("shvit_s1", 6.3e6, 0.03), ("efficientvim_m1", 6.7e6, 0.03), ("mobilevit_xxs", 1.27e6, 0.03),
        ("shvit_s2", 11.4e6, 0.03), ("shvit_s3", 14.2e6, 0.03), ("shvit_s4", 16.5e6, 0.03),
        ("efficientvim_m2", 13.9e6, 0.03), ("efficientvim_m3", 16.6e6, 0.03),
        ("efficientvim_m4", 19.6e6, 0.03), ("mobilevit_xs", 2.3e6, 0.03), ("mobilevit_s", 5.6e6, 0.03),
        ("vit_tiny", 5.7e6, 0.03)]])
def test_published_parameter_counts(name, published, tol):
    n = count_params(create_model(name))
    assert abs(n - published) / published < tol, n


def test_mobile_srvit_is_the_paper_network():
    m = create_model("mobile_srvit")
    assert count_params(m) == 69_122
    macs = count_macs(m, (1, 256, 256))
    assert 13.0e9 < macs < 15.5e9  # ≈ 14.1 GMAC per 256x256 image (reference notes)
    y = m(torch.rand(1, 1, 256, 256))
    assert y.shape == (1, 1, 256, 256)


@pytest.mark.parametrize("name", ALL)
def test_forward_backward_non_square(name):
    torch.manual_seed(0)
    m = create_model(name)
    m.train()
    x = _input(name)
    y = m(x)
    if model_entry(name).task == "classification":
        assert y.shape == (2, 1000)
    elif model_entry(name).task == "segmentation":
        assert y.shape == (2, 9, 96, 144)
    else:
        assert y.shape == x.shape
    assert torch.isfinite(y).all()
    loss = y.float().square().mean()
    if model_entry(name).task == "classification":  # dense path too (STViT-R recovery)
        loss = loss + m.forward_features(x).float().mean()
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:5]


@pytest.mark.parametrize("name", ALL)
def test_fused_equals_unfused(name):
    torch.manual_seed(0)
    m = create_model(name)
    randomize_(m, seed=2)
    m.eval()
    x = _input(name, batch=1)
    with torch.no_grad():
        ref = m(x)
        fused = reparameterize(m)
        out = fused(x)
    scale = max(1.0, float(ref.abs().max()))
    torch.testing.assert_close(out, ref, atol=1e-5 * scale, rtol=1e-5)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in fused.modules())


@pytest.mark.parametrize("name", ["shvit_s1", "efficientvim_m1", "mobilevit_xxs", "mobile_srvit",
                                  "srvit_hsm", "stvit_r_tiny"])
def test_state_dict_round_trip(name, tmp_path):
    torch.manual_seed(0)
    a = create_model(name)
    randomize_(a)
    path = tmp_path / "w.pt"
    torch.save(a.state_dict(), path)
    b = create_model(name, checkpoint_path=path)
    a.eval(), b.eval()
    x = _input(name, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))
    buf = io.BytesIO()
    torch.save({"model": a.state_dict(), "step": 3}, buf)  # a training checkpoint also loads
    buf.seek(0)
    (tmp_path / "ck.pt").write_bytes(buf.read())
    create_model(name, checkpoint_path=tmp_path / "ck.pt")


@pytest.mark.parametrize("name", CLS)
def test_features_api(name):
    m = create_model(name).eval()
    x = torch.randn(1, 3, 128, 192)
    with torch.no_grad():
        feats = m.forward_intermediates(x)
        f = m.forward_features(x)
    assert len(feats) >= 1
    for fm in feats:
        assert fm.ndim == 4 and fm.shape[0] == 1
    if name.startswith(("shvit", "efficientvim", "mobilevit")):
        for fm, info in zip(feats, m.feature_info):
            assert fm.shape[1] == info["num_chs"]
            assert fm.shape[-2:] == (-(-128 // info["reduction"]), -(-192 // info["reduction"]))
    if name.startswith("stvit"):
        assert f.shape == (1, 192, 8, 12)  # recovered dense token map at stride 16
    pooled = m.forward_head(f, pre_logits=True) if not name.startswith("stvit") else None
    if pooled is not None:
        assert pooled.shape[0] == 1


def test_efficientvim_msf_head_uses_hidden_states():
    m = create_model("efficientvim_m1").eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        maps, states = m._run(x)
        assert [h.shape[-1] for h in states] == [49, 25, 9]
        full = m.forward_head(m.norm(maps[-1]), states)
        torch.testing.assert_close(full, m(x))


# --- TORE --------------------------------------------------------------------------------

def _vit():
    torch.manual_seed(0)
    m = create_model("vit_tiny", num_classes=5).eval()
    return m


def test_tore_single_piece_equals_full_forward():
    m = _vit()
    x = torch.randn(2, 3, 64, 96)
    gh, gw = m.patch_grid(64, 96)
    rec = TokenRecycler(m, split=6)
    with torch.no_grad():
        out = rec.add(x, torch.ones(gh, gw, dtype=torch.bool))
        torch.testing.assert_close(out, m(x), atol=1e-5, rtol=1e-5)


def test_tore_caches_iterator_and_matches_batched_path():
    m = _vit()
    x = torch.randn(1, 3, 64, 96)
    masks = grid_divisions(*m.patch_grid(64, 96), rows=2, cols=3)
    assert len(masks) == 6 and torch.stack(masks).sum(0).eq(1).all()
    rec = TokenRecycler(m, split=8)
    calls = {"n": 0}
    hook = m.blocks[0].register_forward_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    with torch.no_grad():
        outs = [rec.add(x, mk) for mk in masks]
        assert calls["n"] == len(masks)  # the iterator ran once per piece, never re-run
        assert rec.num_cached_tokens == 24
        batched = rec(x, masks)
    hook.remove()
    torch.testing.assert_close(outs[-1], batched, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(outs[0], outs[-1])  # more pieces, different prediction


def test_tore_bad_input():
    m = _vit()
    rec = TokenRecycler(m, split=3)
    with pytest.raises(ValueError, match="patch grid"):
        rec.add(torch.randn(1, 3, 64, 64), torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="empty piece"):
        rec.add(torch.randn(1, 3, 64, 64), torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="split"):
        TokenRecycler(m, split=13)


def test_grow_from_appends_identity_blocks_and_rejects_misfits():
    """EfficientSR.grow_from: a deeper network loaded from a shallower one of the same width
    computes the same function when the new gates are closed, near it at the default gate,
    and a state of another width or depth is a one-line ValueError."""
    torch.manual_seed(0)
    shallow = create_model("srvit_hsm", dim=8, depth=2, state_dim=4).eval()
    with torch.no_grad():
        for p in shallow.parameters():
            p.add_(0.1 * torch.randn_like(p))  # a trained-looking network (tail not zero)
    x = torch.rand(2, 1, 32, 32)
    deep = create_model("srvit_hsm", dim=8, depth=4, state_dim=4).eval()
    assert deep.grow_from(shallow.state_dict(), gate_logit=-40.0) == 2
    with torch.no_grad():
        ref = shallow(x)
        assert torch.allclose(deep(x), ref, atol=1e-5)
        deep.grow_from(shallow.state_dict())  # default gate: near, not equal
        err = (deep(x) - ref).abs().max() / ref.abs().max()
    assert 0 < err < 0.2
    with pytest.raises(ValueError, match="grow_from"):
        shallow.grow_from(deep.state_dict())
    with pytest.raises(ValueError, match="grow_from"):
        create_model("srvit_hsm", dim=16, depth=4, state_dim=4).grow_from(shallow.state_dict())


def test_log_input_view_maps_decibels_and_trains():
    """EfficientSR(log_input_db=D): the head sees channel 0 and its log view, which maps the
    maximum (1) to 1, -D/2 dB to 0.5 and anything at or below -D dB to 0; gradients reach the
    head; fused equals unfused; a negative range is a one-line ValueError."""
    torch.manual_seed(0)
    net = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, log_input_db=40.0)
    assert net.head.conv.in_channels == 2 * 4  # (image + log view) x scale^2
    x = torch.tensor([1.0, 0.1, 1e-2, 1e-3, 0.0]).view(1, 1, 1, 5)
    view = net._with_log_view(x)[:, 1].flatten()
    assert torch.allclose(view, torch.tensor([1.0, 0.5, 0.0, 0.0, 0.0]), atol=1e-6)
    randomize_(net)
    with torch.no_grad():  # the tail starts at zero: no gradient reaches the head before that
        net.tail.weight.normal_(0.0, 0.1)
    img = torch.rand(2, 1, 24, 20)
    net(img).sum().backward()
    assert net.head.conv.weight.grad[:, 4:].abs().sum() > 0  # the log view's sub-pixel channels
    net.eval()
    with torch.no_grad():
        ref = net(img)
        assert torch.allclose(reparameterize(net)(img), ref, atol=1e-5)
    plain = create_model("srvit_hsm", dim=8, depth=2, state_dim=4)
    assert plain.head.conv.in_channels == 4
    with pytest.raises(ValueError, match="log_input_db"):
        create_model("srvit_hsm", dim=8, depth=2, log_input_db=-3.0)


def test_grow_from_adds_the_log_view_at_zero_weight():
    """A network without the log input view loads into one with it (same depth): the view's
    head weights start at zero, so both compute the same function at first."""
    torch.manual_seed(0)
    plain = create_model("srvit_hsm", dim=8, depth=2, state_dim=4)
    randomize_(plain)
    with torch.no_grad():
        plain.tail.weight.normal_(0.0, 0.1)
    viewed = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, log_input_db=40.0)
    assert viewed.grow_from(plain.state_dict()) == 0
    plain.eval(), viewed.eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(viewed(x), plain(x), atol=1e-6)
    assert viewed.head.conv.weight[:, 4:].abs().sum() == 0


def test_full_resolution_refiner_starts_as_the_identity():
    """srvit_hsm(refine=n): grown from a network without the refiner it starts at that network's
    output exactly (zero-initialised correction), then trains; bad options are one-line errors."""
    torch.manual_seed(1)
    base = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, log_input_db=40.0).eval()
    with torch.no_grad():
        for p in base.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, log_input_db=40.0, refine=2, refine_width=4).eval()
    assert ref.grow_from(base.state_dict()) == 0
    x = torch.rand(1, 1, 24, 40)
    with torch.no_grad():
        assert torch.allclose(ref(x), base(x), atol=1e-6)
    ref.train()
    ref(x).sum().backward()
    assert ref.refine.out.weight.grad.abs().sum() > 0
    for bad in (dict(refine=-1), dict(refine=True), dict(refine=1, refine_width=0)):
        with pytest.raises(ValueError, match="refine"):
            create_model("srvit_hsm", dim=8, depth=1, state_dim=4, **bad)


def test_refiner_widens_and_takes_body_features_from_the_identity():
    """srvit_hsm(refine_features=k, wider refine_width): grown from a narrower refiner without
    features it starts at that network's output exactly (old weights in the leading slice, new
    inputs at zero), then every new weight trains; a refiner cannot shrink; features need a
    refiner."""
    torch.manual_seed(2)
    opts = dict(dim=8, depth=2, state_dim=4, log_input_db=40.0, refine=2)
    narrow = create_model("srvit_hsm", refine_width=4, **opts).eval()
    with torch.no_grad():
        for p in narrow.parameters():
            p.add_(0.1 * torch.randn_like(p))
    wide = create_model("srvit_hsm", refine_width=6, refine_features=3, **opts).eval()
    assert wide.grow_from(narrow.state_dict()) == 0
    assert wide.refine.body[0].weight.shape[:2] == (6, 3 + 3)  # [coarse, input, log view] + 3 features
    x = torch.rand(2, 1, 24, 40)
    with torch.no_grad():
        assert torch.allclose(wide(x), narrow(x), atol=1e-6)
    wide.train()
    opt = torch.optim.SGD(wide.parameters(), lr=0.1)
    for _ in range(2):  # the features reach the output once the zero-started weights have moved (step 2)
        opt.zero_grad()
        wide(x).square().sum().backward()
        if _ == 0:
            assert wide.refine.out.weight.grad[:, 4:].abs().sum() > 0  # the new channels reach the output
            assert wide.refine.body[0].weight.grad[:4, 3:].abs().sum() > 0  # kept channels see the features
        opt.step()
    for name in ("refine_feat.0.weight", "refine.body.0.weight", "refine.out.weight"):
        grad = dict(wide.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="does not fit inside"):
        narrow.grow_from(wide.state_dict())
    with pytest.raises(ValueError, match="refine_features needs"):
        create_model("srvit_hsm", dim=8, depth=1, state_dim=4, refine_features=2)
    with pytest.raises(ValueError, match="refine_features must"):
        create_model("srvit_hsm", dim=8, depth=1, state_dim=4, refine=1, refine_features=-1)


def test_phase_view_starts_at_the_magnitude_network_and_ignores_the_global_phase():
    """srvit_hsm(in_chans=2, phase_view=True): grown from a magnitude network it gives that
    network's output on the magnitude of its complex input (normalised to 1); once its phase
    weights move, the output depends on the phase differences but not on the image's global
    phase; phase_view needs a complex input."""
    torch.manual_seed(3)
    opts = dict(dim=8, depth=2, state_dim=4, log_input_db=40.0, refine=2, refine_width=4, point_head=4,
                point_head_input=2)
    mag_net = create_model("srvit_hsm", **opts).eval()
    with torch.no_grad():
        for p in mag_net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    net = create_model("srvit_hsm", in_chans=2, phase_view=True, **opts).eval()
    assert net.grow_from(mag_net.state_dict()) == 0
    z = torch.randn(2, 1, 22, 30, dtype=torch.complex64)
    x = torch.cat([z.real, z.imag], 1) * 0.7
    mag = z.abs() / z.abs().amax(dim=(-2, -1), keepdim=True)
    with torch.no_grad():
        assert torch.allclose(net(x), mag_net(mag), atol=1e-5)
        net.head.conv.weight[:, -16:].normal_(0, 0.3)  # the phase view's weights, moved
        turned = z * torch.exp(torch.tensor(1.1j))
        x_turned = torch.cat([turned.real, turned.imag], 1) * 0.7
        assert torch.allclose(net(x_turned), net(x), atol=1e-4)  # the global phase does not matter
        scrambled = z.abs() * torch.exp(2j * torch.pi * torch.rand(z.shape))
        x_scr = torch.cat([scrambled.real, scrambled.imag], 1) * 0.7
        assert not torch.allclose(net(x_scr), net(x), atol=1e-3)  # the phase differences do
    assert net.default_cfg["in_chans"] == 2
    from sarsr.sr import super_resolve

    rng = np.random.default_rng(0)
    image = rng.standard_normal((24, 24)) + 1j * rng.standard_normal((24, 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the complex image: no warning
        assert super_resolve(image, model=net, size=None, keep_input_points=False).shape == (24, 24)
    with pytest.warns(UserWarning, match="reads the complex image"):
        super_resolve(np.abs(image), model=net, size=None, keep_input_points=False)
    with pytest.raises(ValueError, match="phase_view needs a complex input"):
        create_model("srvit_hsm", dim=8, depth=1, state_dim=4, phase_view=True)


def test_one_resolver_for_every_model_spec(tmp_path):
    """sarsr.models.resolve: names (shipped weights), files (run checkpoints), explicit
    prefixes, task checks in one line; names_shipped_weights follows the same rule."""
    from sarsr.models import names_shipped_weights, parse_spec, resolve, resolve_state

    assert parse_spec("srvit_hsm") == ("shipped", "srvit_hsm")
    assert parse_spec("shipped:srvit_hsm") == ("shipped", "srvit_hsm")
    assert parse_spec("run/best.pt")[0] == parse_spec("file:best")[0] == parse_spec(tmp_path)[0] == "file"
    assert names_shipped_weights("srvit_hsm") and not names_shipped_weights("a/b") and not names_shipped_weights("")
    net = resolve("srvit_hsm", "super_resolution")
    assert not net.training and net.sarsr_config is None
    with pytest.raises(ValueError, match="not a super-resolution network"):
        resolve("point_detector", "super_resolution")
    with pytest.raises(FileNotFoundError, match="no model file"):
        resolve(tmp_path / "none.pt")
    with pytest.raises(ValueError, match="unknown model"):
        resolve("shipped:nonesuch")
    with pytest.raises(ValueError, match="registered name or a checkpoint"):
        parse_spec(3)
    state = resolve_state("srvit_hsm")
    assert set(state) == set(net.state_dict())


def test_complex_input_loses_its_linear_phase_ramp_before_resizing():
    """preprocess_input(complex_input=True): a linear phase ramp (the real capture's EMPM image
    turns ~180 deg a pixel) is taken out before the bilinear resize, which would otherwise cancel
    the magnitude between pixels; the magnitude is kept; a ramped image and the same image
    without the ramp give the same input up to one global phase."""
    from sarsr.transforms import preprocess_input, remove_phase_ramp

    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:40, 0:48]
    smooth = np.exp(-((yy - 20.0) ** 2 + (xx - 24.0) ** 2) / 60.0) * np.exp(0.3j * np.sin(yy / 7.0))
    ramped = smooth * np.exp(1j * (np.pi * yy + 2.9 * xx))
    flat = remove_phase_ramp(ramped)
    assert np.allclose(np.abs(flat), np.abs(ramped), atol=1e-6)
    assert abs(np.angle(np.vdot(flat[:-1], flat[1:]))) < 1e-4 and abs(np.angle(np.vdot(flat[:, :-1], flat[:, 1:]))) < 1e-4
    a, b = preprocess_input(ramped, 64, complex_input=True), preprocess_input(smooth, 64, complex_input=True)
    za, zb = torch.complex(a[0], a[1]), torch.complex(b[0], b[1])
    turn = torch.sum(za * zb.conj())
    assert torch.allclose(za, zb * turn / turn.abs(), atol=1e-4)  # one global phase apart
    assert float(za.abs().amax()) > 0.99  # the peak survives the resize
    real = rng.random((6, 5)).astype(np.float32)
    assert np.array_equal(remove_phase_ramp(real), real.astype(np.complex64))
    with pytest.raises(ValueError, match="remove_phase_ramp"):
        remove_phase_ramp(np.zeros((2, 3, 4), np.complex64))
