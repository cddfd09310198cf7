"""Pixel losses of the trainer: zero at the label, the peak term's shift tolerance and the clean
term's charge on false points (and its silence near label structure)."""

import pytest
import torch

from sarsr.train.losses import LOSSES, get_loss, l1, l1_peak, l1_peak_clean, needs_input


def _image(points=(), shape=None, amp=1.0, n=32):
    y = torch.zeros(1, 1, n, n)
    for r, c in points:
        y[0, 0, r, c] = amp
    if shape is not None:
        r0, r1, c0, c1 = shape
        y[0, 0, r0:r1, c0:c1] = 0.3
    return y


@pytest.mark.parametrize("name", sorted(n for n in LOSSES if not getattr(LOSSES[n], "logits", False)))
def test_every_loss_is_zero_at_the_label_and_positive_elsewhere(name):
    """Every pixel loss (the detector's logit loss, point_bce, is tested in test_point_detector)."""
    y = _image([(8, 8)], shape=(16, 24, 16, 24))
    fn = get_loss(name)
    loss = (lambda p, t: fn(p, t, y)) if needs_input(fn) else fn  # the input shows the label exactly
    assert float(loss(y, y)) == pytest.approx(0.0, abs=1.1e-3)   # charbonnier: eps = 1e-3
    assert float(loss(torch.zeros_like(y), y)) > 0


def test_peak_term_prefers_a_shifted_sharp_point_to_a_dim_smear():
    y = _image([(10, 10)])
    shifted = _image([(11, 11)])                 # right height, one pixel off
    smear = _image([(10, 10)], amp=0.3)           # right place, dim
    # plain L1 prefers the dim smear; l1_peak prefers the sharp shifted point
    assert float(l1(smear, y)) < float(l1(shifted, y))
    assert float(l1_peak(shifted, y)) < float(l1_peak(smear, y))


def test_clean_term_charges_a_false_point_but_not_a_point_near_the_label():
    y = _image([(10, 10)])
    false_point = y.clone()
    false_point[0, 0, 25, 25] = 0.6               # far from any label structure
    near_point = y.clone()
    near_point[0, 0, 12, 12] = 0.6                # within guard // 2 of the label point
    extra_far = float(l1_peak_clean(false_point, y)) - float(l1_peak(false_point, y))
    extra_near = float(l1_peak_clean(near_point, y)) - float(l1_peak(near_point, y))
    assert extra_far == pytest.approx(4.0 * (0.6 - 0.1) / y.numel(), rel=1e-5)
    assert extra_near == pytest.approx(0.0, abs=1e-7)


def test_unknown_loss_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown loss 'l3'"):
        get_loss("l3")


def test_loss_options_bind_keywords_and_bad_options_are_one_line_errors():
    y = _image([(10, 10)])
    three_off = _image([(13, 13)])                # three pixels off: outside kernel 5, inside 9
    smear = _image([(10, 10)], amp=0.3)
    wide = get_loss("l1_peak", {"kernel": 9})
    # the default kernel (5) prefers the dim smear to a point 3 px off; kernel 9 tolerates it
    assert float(l1_peak(smear, y)) < float(l1_peak(three_off, y))
    assert float(wide(three_off, y)) < float(wide(smear, y))
    assert float(wide(three_off, y)) == pytest.approx(float(l1_peak(three_off, y, kernel=9)))
    clean = get_loss("l1_peak_clean", {"point_weight": 12.0})   # passed through to the peak term
    assert float(clean(three_off, y)) == pytest.approx(float(l1_peak(three_off, y, point_weight=12.0)))
    with pytest.raises(ValueError, match=r"train.loss_options.kernal: loss 'l1_peak' takes no option"):
        get_loss("l1_peak", {"kernal": 9})
    with pytest.raises(ValueError, match="positive odd number of pixels"):
        get_loss("l1_peak_clean", {"guard": 8})
    with pytest.raises(ValueError, match="takes no option 'kernel'"):
        get_loss("l1", {"kernel": 5})
    with pytest.raises(ValueError, match="expected a number >= 0"):
        get_loss("l1_peak", {"point_weight": "big"})


def test_mse_scale_and_its_minimiser_is_the_mean_where_l1_takes_the_median():
    y = _image([(10, 10)])
    pred = torch.zeros_like(y)
    assert float(get_loss("mse", {"scale": 16.0})(pred, y)) == pytest.approx(16 * float(((pred - y) ** 2).mean()))
    # a point whose place is unsure between two pixels (one label each, 30 % / 70 %): squared
    # error is least for the blend 0.3 / 0.7, absolute error for the likelier place alone
    a, b = _image([(10, 10)]), _image([(10, 12)])
    def expected(loss, p):
        return 0.3 * float(loss(p, a)) + 0.7 * float(loss(p, b))
    blend, likelier = 0.3 * a + 0.7 * b, b
    assert expected(get_loss("mse"), blend) < expected(get_loss("mse"), likelier)
    assert expected(get_loss("l1"), likelier) < expected(get_loss("l1"), blend)
    with pytest.raises(ValueError, match="expected a number >= 0"):
        get_loss("mse", {"scale": -1.0})


def test_config_names_every_registered_loss():
    from sarsr.config import LOSS_NAMES

    assert set(LOSS_NAMES) == set(LOSSES)


def test_mse_sparse_zeroes_a_haze_far_from_the_label_and_keeps_structure():
    y = _image([(10, 10)], shape=(20, 28, 4, 12))
    haze = y.clone()
    haze[..., :, 20:] = 0.02                      # a haze on the background, far from any label
    f = get_loss("mse_sparse")
    assert float(f(haze, y)) > float(f(y, y)) == pytest.approx(0.0)
    # a 0.02 haze costs the sparse term sparse_weight / (scale x 0.02) = 6.25x what it costs the squared error
    sq = float(get_loss("mse", {"scale": 16.0})(haze, y))
    assert float(f(haze, y)) - sq == pytest.approx(6.25 * sq, rel=1e-3)
    near = y.clone()
    near[0, 0, 11, 11] = 0.3                      # next to the point: the squared error's business only
    assert float(f(near, y)) == pytest.approx(float(get_loss("mse", {"scale": 16.0})(near, y)))
