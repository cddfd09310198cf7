"""Pixel losses of the trainer: zero at the label, the peak term's shift tolerance and the clean
term's charge on false points (and its silence near label structure)."""

import pytest
import torch

from sarsr.train.losses import LOSSES, get_loss, l1, l1_peak, l1_peak_clean


def _image(points=(), shape=None, amp=1.0, n=32):
    y = torch.zeros(1, 1, n, n)
    for r, c in points:
        y[0, 0, r, c] = amp
    if shape is not None:
        r0, r1, c0, c1 = shape
        y[0, 0, r0:r1, c0:c1] = 0.3
    return y


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_zero_at_the_label_and_positive_elsewhere(name):
    y = _image([(8, 8)], shape=(16, 24, 16, 24))
    loss = get_loss(name)
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
