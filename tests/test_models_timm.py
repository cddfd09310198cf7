"""Parity with timm's published-model implementations: timm's randomly initialised (and then
randomised) weights, loaded into ours through the documented key mapping in
``timm_compat.py``, give the same outputs."""

import pytest
import torch

from sarsr.models import create_model

from .timm_compat import (import_timm, load_mapped, map_efficientvim, map_mobilevit, map_shvit,
                          randomize_)

CASES = [("shvit_s1", map_shvit), ("efficientvim_m1", map_efficientvim),
         ("mobilevit_xxs", map_mobilevit)]


@pytest.mark.parametrize("name,mapping", CASES, ids=[c[0] for c in CASES])
def test_same_output_as_timm(name, mapping):
    timm = import_timm()
    torch.manual_seed(0)
    theirs = timm.create_model(name)
    randomize_(theirs)
    ours = create_model(name)
    load_mapped(ours, theirs, mapping)
    theirs.eval(), ours.eval()
    x = torch.randn(2, 3, 128, 192)  # non-square; multiples of 64 so timm needs no resize
    with torch.no_grad():
        a, b = theirs(x), ours(x)
    assert a.shape == b.shape == (2, 1000)
    scale = a.abs().max()
    assert scale > 0
    torch.testing.assert_close(b, a, atol=1e-5 * float(scale) + 1e-5, rtol=1e-4)
