"""Image-to-image super-resolution networks for SAR magnitude images.

- :class:`MobileSRViT` — the paper's network (Smith et al., "A Vision Transformer Approach for
  Efficient Near-Field Irregular SAR Super-Resolution", 2022) exactly as released: stride 1
  everywhere, 16x16 patches, 69,122 parameters for the default configuration.
- :class:`EfficientSR` — faster variants built from the shared blocks: pixel-unshuffle to a
  reduced internal resolution, a stack of blocks with a chosen global mixer (SHViT single-head
  attention, EfficientViM HSM-SSD, STViT-R semantic tokens, or none = plain CNN), pixel-shuffle
  back, plus a global residual from the input.
- :class:`PlainCNN` — a plain 3x3-conv baseline (74,593 parameters at the defaults).

All take (B, in_chans, H, W) and return (B, out_chans, H, W) for any H, W.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from ..nn import (FFN, ConvNorm, EfficientViMBlock, InvertedResidual, LayerNorm2d, MobileViTBlock,
                  Residual, SemanticTokenAttention, SHViTBlock, pad_to_multiple, partial_dim)
from .registry import register_model

__all__ = ["MobileSRViT", "EfficientSR", "FullResRefiner", "PointHead", "PlainCNN", "MIXERS", "POINT_CHANNELS"]

#: Channels a point head appends to an SR network's image output, in order: the point logit,
#: the sub-pixel offset of the point's centre from the pixel (rows, columns; pixels of the
#: output grid) and the point's amplitude (label units).
POINT_CHANNELS = ("point_logit", "offset_row", "offset_col", "amplitude")


class MobileSRViT(nn.Module):
    """Mobile-SRViT (released ``HFFH_ViT`` v3/v31 configuration).

    conv 3x3 (BN, SiLU) → 4 MV2 (expansion 1) → 3 x [MV2 + MobileViT block] → 1x1 conv to one
    channel (BN, SiLU). MobileViT blocks: 1x1 local projection with BN+SiLU, 4 heads x 8, no qkv
    bias, no final LayerNorm, MLP = (2, 4, 4) x d, ``patch`` x ``patch`` patches.
    """

    def __init__(self, in_chans=1, out_chans=1, dims=(8, 8, 16),
                 channels=(16, 16, 16, 16, 16, 16, 16, 16, 32, 32), depths=(2, 4, 3),
                 mlp_mult=(2, 4, 4), patch=16, expansion=1.0, heads=4, head_dim=8):
        super().__init__()
        c = channels
        self.conv1 = ConvNorm(in_chans, c[0], 3, act=nn.SiLU)
        self.stem = nn.Sequential(InvertedResidual(c[0], c[1], 1, expansion),
                                  InvertedResidual(c[1], c[2], 1, expansion),
                                  InvertedResidual(c[2], c[3], 1, expansion),
                                  InvertedResidual(c[2], c[3], 1, expansion))
        trunk = []
        for j in range(3):
            cin, cout = c[3 + 2 * j], c[4 + 2 * j]
            trunk.append(nn.Sequential(
                InvertedResidual(cin, cout, 1, expansion),
                MobileViTBlock(c[5 + 2 * j] if 5 + 2 * j < len(c) else cout, dims[j], depths[j],
                               (patch, patch), heads=heads, head_dim=head_dim,
                               mlp_hidden=int(mlp_mult[j] * dims[j]), qkv_bias=False,
                               final_norm=False, local_proj_norm=True)))
        self.trunk = nn.Sequential(*trunk)
        self.condense = ConvNorm(c[-1], out_chans, 1, act=nn.SiLU)

    def forward_features(self, x):
        return self.trunk(self.stem(self.conv1(x)))

    def forward(self, x):
        return self.condense(self.forward_features(x))


class _TokenMixerBlock(nn.Module):
    """DW-conv residual → global mixer → FFN residual (the SHViT macro block with a pluggable
    mixer that already contains its own residual)."""

    def __init__(self, dim, mixer: nn.Module, ffn_ratio=2.0):
        super().__init__()
        self.conv = Residual(ConvNorm(dim, dim, 3, groups=dim, bn_weight_init=0.0))
        self.mixer = mixer
        self.ffn = Residual(FFN(dim, int(dim * ffn_ratio)))

    def forward(self, x):
        return self.ffn(self.mixer(self.conv(x)))


class _NormedMobileViT(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.block = MobileViTBlock(dim, dim // 2, 1, (patch, patch), heads=2, mlp_hidden=dim)

    def forward(self, x):
        return self.block(x)


def _block(mixer, dim, opts):
    if mixer == "shsa":
        return SHViTBlock(dim, opts.get("pdim") or partial_dim(dim), 16, True, opts.get("window", 16))
    if mixer == "hsm":
        return EfficientViMBlock(dim, opts.get("state_dim", 32), mlp_ratio=2.0)
    if mixer == "stvit":
        mix = SemanticTokenAttention(dim, opts.get("grid", (8, 8)), depth=1,
                                     heads=opts.get("heads", 2), mlp_ratio=2.0)
        return _TokenMixerBlock(dim, mix)
    if mixer == "mobilevit":
        return _TokenMixerBlock(dim, _NormedMobileViT(dim, opts.get("patch", 8)))
    if mixer == "none":
        return SHViTBlock(dim, attention=False)
    raise ValueError(f"unknown mixer {mixer!r}; choose from {MIXERS}")


MIXERS = ("shsa", "hsm", "stvit", "mobilevit", "none")


class EfficientSR(nn.Module):
    """Efficient SR body at reduced resolution.

    pixel-unshuffle by ``scale`` → 3x3 Conv-BN to ``dim`` → ``depth`` blocks with ``mixer`` →
    3x3 conv to ``out_chans·scale²`` → pixel-shuffle → + input (channel 0, when
    ``global_residual``). Inputs whose size is not a multiple of ``scale`` are reflect-padded
    and cropped back.

    ``log_input_db`` > 0 adds a log-magnitude view of channel 0 to the head's input:
    ``1 + 20 log10(max(|x|, floor)) / log_input_db`` with the floor at ``-log_input_db`` dB, so
    0 dB (the image maximum, 1) maps to 1 and the floor to 0; dim points 15-30 dB below the
    peak, near zero in the linear image, stand out in it. 0 (default) leaves the input as is.

    ``refine`` > 0 appends a :class:`FullResRefiner` of ``refine`` layers (``refine_width``
    channels) at the output's full resolution; ``refine_features`` > 0 also feeds it that many
    channels of the body's features brought to full resolution (a 1x1 conv to
    ``refine_features x scale^2`` channels, pixel-shuffled): what the body knows about the scene
    (inside a shape or not, a point or speckle) at the pitch where thin structure is drawn.

    ``phase_view`` (complex input, ``in_chans`` = 2: real and imaginary parts) computes the
    magnitude (normalised to 1 per image; everything else sees it as the magnitude networks see
    their input) and a phase-difference view for the head: for neighbours along rows and along
    columns, ``z[i + 1] conj(z[i]) / (|z[i + 1]| |z[i]| + 1e-3)`` turned by the image's mean phase
    step along that axis (real and imaginary parts: 4 channels, invariant to the image's global
    phase and to a linear phase ramp across it: the real capture's EMPM image steps by ~180 deg a
    pixel, a centring convention, the simulator's by ~0). Position error defocuses the image through
    the phase of the echoes; the magnitude alone discards what the complex image keeps of it
    (the local phase slope and curvature that phase-gradient autofocus reads).

    ``point_head`` > 0 adds a :class:`PointHead` of that width on the body's features
    (``point_head_input`` > 0: with a full-resolution branch of that many channels on the input
    and its log view, so the head localises on the input's own pixels): the
    output then carries ``out_chans + 4`` channels, the image followed by
    :data:`POINT_CHANNELS` (per-pixel point logit, sub-pixel offset, amplitude), decoded and
    drawn by :mod:`sarsr.sr.points`. ``has_point_head`` tells callers which kind they hold.
    """

    def __init__(self, in_chans=1, out_chans=1, dim=32, depth=6, mixer="shsa", scale=2,
                 global_residual=True, log_input_db=0.0, refine=0, refine_width=16, point_head=0,
                 point_head_input=0, refine_features=0, phase_view=False, **mixer_opts):
        super().__init__()
        if mixer not in MIXERS:
            raise ValueError(f"unknown mixer {mixer!r}; choose from {MIXERS}")
        if not log_input_db >= 0:
            raise ValueError(f"log_input_db must be >= 0 dB, got {log_input_db!r}")
        self.scale, self.global_residual, self.out_chans = scale, global_residual, out_chans
        self.log_input_db = float(log_input_db)
        if not isinstance(phase_view, bool) or (phase_view and in_chans != 2):
            raise ValueError(f"phase_view needs a complex input (in_chans = 2: real, imaginary; data.complex_input = "
                             f"true), got phase_view={phase_view!r}, in_chans={in_chans!r}")
        self.phase_view = phase_view
        mag_chans = 1 if phase_view else in_chans  # what the image path sees: the magnitude
        r2 = scale * scale
        self.unshuffle = nn.PixelUnshuffle(scale)
        self.head = ConvNorm((mag_chans + (self.log_input_db > 0) + 4 * phase_view) * r2, dim, 3, act=nn.SiLU)
        self.body = nn.Sequential(*[_block(mixer, dim, mixer_opts) for _ in range(depth)])
        self.body_norm = LayerNorm2d(dim)
        self.tail = nn.Conv2d(dim, out_chans * r2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.shuffle = nn.PixelShuffle(scale)
        if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
            raise ValueError(f"refine must be an integer >= 0 (full-resolution blocks), got {refine!r}")
        if isinstance(refine_width, bool) or not isinstance(refine_width, int) or refine_width < 1:
            raise ValueError(f"refine_width must be an integer >= 1, got {refine_width!r}")
        if isinstance(refine_features, bool) or not isinstance(refine_features, int) or refine_features < 0:
            raise ValueError(f"refine_features must be an integer >= 0 (body feature channels for the refiner), "
                             f"got {refine_features!r}")
        if refine_features and not refine:
            raise ValueError("refine_features needs a full-resolution refiner (refine > 0)")
        self.refine = (FullResRefiner(out_chans + mag_chans + (self.log_input_db > 0) + refine_features, out_chans,
                                      refine_width, refine) if refine else None)
        self.refine_feat = (nn.Sequential(nn.Conv2d(dim, refine_features * r2, 1), nn.PixelShuffle(scale))
                            if refine_features else None)
        if isinstance(point_head, bool) or not isinstance(point_head, int) or point_head < 0:
            raise ValueError(f"point_head must be an integer >= 0 (hidden width; 0 = none), got {point_head!r}")
        if isinstance(point_head_input, bool) or not isinstance(point_head_input, int) or point_head_input < 0:
            raise ValueError(f"point_head_input must be an integer >= 0 (channels of the head's full-resolution input "
                             f"branch; 0 = none), got {point_head_input!r}")
        if point_head_input and not point_head:
            raise ValueError("point_head_input needs a point head (point_head > 0)")
        self.points = (PointHead(dim, point_head, scale, input_width=point_head_input,
                                 input_chans=mag_chans + (self.log_input_db > 0)) if point_head else None)

    @property
    def has_point_head(self) -> bool:
        """Whether the output carries the :data:`POINT_CHANNELS` after the image."""
        return self.points is not None

    def grow_from(self, state: dict, gate_logit: float = -4.0) -> int:
        """Load the weights of a shallower network of the same kind and width (``state``: its
        state dict) and start the extra blocks near the identity: they are appended after the
        loaded ones with every branch gate ``sigmoid(alpha)`` set to ``sigmoid(gate_logit)``
        (0.018 by default), so the grown network starts at the shallow one's output to ~1 % and
        trains from there. A state without the log-magnitude input view (``log_input_db`` = 0)
        loads into a network with it: the view's head weights start at zero, so the grown
        network starts at the loaded one's output exactly; so does a magnitude network's state
        into a ``phase_view`` network (the phase view's head weights at zero: it starts at the
        magnitude network's output on the magnitude of the resized complex image). A narrower
        refiner (fewer channels or fewer inputs, e.g. without ``refine_features``) loads into a
        wider one: its weights fill
        the leading slice, the new inputs of every kept channel start at zero and the new
        channels at their initialisation, so the wider refiner starts at the narrower one's
        output exactly. Returns the number of blocks added.
        Raises ValueError when ``state`` is not a shallower network of this shape or the blocks
        have no branch gates."""
        state = dict(state)
        head_w, own_w = state.get("head.conv.weight"), self.head.conv.weight
        if (head_w is not None and head_w.shape[1] < own_w.shape[1] and head_w.shape[0] == own_w.shape[0]
                and (head_w.shape[1] - own_w.shape[1]) % (self.scale * self.scale) == 0):
            # views the state lacks (log magnitude, phase) come after its channels: their weights start at zero
            extra = own_w.shape[1] - head_w.shape[1]
            state["head.conv.weight"] = torch.cat([head_w, head_w.new_zeros(head_w.shape[0], extra, *head_w.shape[2:])], 1)
        own = self.state_dict()
        for k, v in list(state.items()):
            if k.startswith("refine.") and k in own and v.shape != own[k].shape:
                state[k] = _embed(v, own[k], k)
        old = {int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k))}
        n_old, n_new = len(old), len(self.body)
        if not old or old != set(range(n_old)) or n_old > n_new:
            raise ValueError(f"grow_from: the state has body blocks {sorted(old)[:8]}..., not a prefix "
                             f"of this network's {n_new}")
        missing = {k for k in own if (not (m := re.match(r"body\.(\d+)\.", k)) or int(m.group(1)) < n_old)
                   and not k.startswith(("refine.", "refine_feat.", "points."))} - set(state)  # a new refiner starts as the
        # identity; a new point head starts at its own initialisation (it adds channels, not image)
        extra = set(state) - set(own)
        if missing or extra:
            raise ValueError(f"grow_from: the state does not fit this network (missing {sorted(missing)[:3]}, "
                             f"unexpected {sorted(extra)[:3]})")
        try:
            self.load_state_dict({**own, **state})
        except RuntimeError as exc:  # same names, other shapes (another width)
            raise ValueError(f"grow_from: the state does not fit this network ({str(exc).splitlines()[-1].strip()[:160]})") from None
        for block in list(self.body)[n_old:]:
            if not isinstance(getattr(block, "alpha", None), nn.Parameter):
                raise ValueError(f"grow_from: {type(block).__name__} blocks have no branch gates (alpha)")
            with torch.no_grad():
                block.alpha.fill_(gate_logit)
        return n_new - n_old

    def _with_log_view(self, x):
        if not self.log_input_db:
            return x
        floor = 10.0 ** (-self.log_input_db / 20.0)
        log_view = 1.0 + 20.0 * torch.log10(x[:, :1].abs().clamp_min(floor)) / self.log_input_db
        return torch.cat([x, log_view], dim=1)

    def _views(self, x):
        """(the magnitude the image path sees, the head's input views) of a network input."""
        if not self.phase_view:
            return x, self._with_log_view(x)
        re, im = x[:, :1], x[:, 1:2]
        mag = torch.sqrt(re * re + im * im + 1e-20)
        peak = mag.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
        mag, re, im = mag / peak, re / peak, im / peak
        views = [self._with_log_view(mag)]
        for dim in (-2, -1):  # z[i + 1] conj(z[i]) along rows, then along columns
            n = x.shape[dim]
            a, b = re.narrow(dim, 1, n - 1), im.narrow(dim, 1, n - 1)
            c, d = re.narrow(dim, 0, n - 1), im.narrow(dim, 0, n - 1)
            pr, pi = a * c + b * d, b * c - a * d
            # the image's mean phase step along this axis (a linear phase ramp: a reconstruction's
            # centring convention or reference offset, no defocus) is taken out
            mr, mi = pr.sum(dim=(-2, -1), keepdim=True), pi.sum(dim=(-2, -1), keepdim=True)
            mn = torch.sqrt(mr * mr + mi * mi).clamp_min(1e-12)
            mr, mi = mr / mn, mi / mn
            pr, pi = pr * mr + pi * mi, pi * mr - pr * mi
            norm = mag.narrow(dim, 1, n - 1) * mag.narrow(dim, 0, n - 1) + 1e-3
            pair = torch.cat([pr / norm, pi / norm], dim=1)
            views.append(torch.cat([pair, pair.narrow(dim, n - 2, 1)], dim=dim))  # last row / column repeated
        return mag, torch.cat(views, dim=1)

    def _features(self, views):
        return self.body_norm(self.body(self.head(self.unshuffle(views))))

    def forward_features(self, x):
        return self._features(self._views(x)[1])

    def forward(self, x):
        xp, (H, W) = pad_to_multiple(x, self.scale, self.scale)
        mag, views = self._views(xp)
        feats = self._features(views)
        # the views start with the magnitude (and its log view): what the refiner and the point
        # head's input branch read, on the padded grid
        shown = views[:, : mag.shape[1] + (self.log_input_db > 0)]
        y = self.shuffle(self.tail(feats))[..., :H, :W]
        if self.global_residual:
            y = y + mag[:, : self.out_chans, :H, :W]
        if self.refine is not None:
            guide = shown[..., :H, :W]
            if self.refine_feat is not None:
                guide = torch.cat([guide, self.refine_feat(feats)[..., :H, :W]], dim=1)
            y = self.refine(y, guide)
        if self.points is not None:
            inp = shown if self.points.input_width else None
            y = torch.cat([y, self.points(feats, inp)[..., :H, :W]], dim=1)
        return y


def _embed(old: torch.Tensor, new: torch.Tensor, name: str) -> torch.Tensor:
    """``old`` (a narrower layer's weight or bias) inside ``new`` (the wider layer's
    initialisation): the leading slice is ``old``, the rest of the kept output channels (dim 0)
    zero (their new inputs), the new output channels ``new``'s own values. ValueError when
    ``old`` is larger than ``new`` along some dimension or of another rank."""
    if old.ndim != new.ndim or any(a > b for a, b in zip(old.shape, new.shape)):
        raise ValueError(f"grow_from: {name} {tuple(old.shape)} does not fit inside {tuple(new.shape)}")
    out = new.clone()
    out[: old.shape[0]] = 0
    out[tuple(slice(0, n) for n in old.shape)] = old
    return out


class FullResRefiner(nn.Module):
    """Full-resolution refinement after the pixel-shuffle: ``n`` 3x3 conv layers of ``width``
    channels (SiLU) on [coarse output, input (and its log view)], whose zero-initialised last
    conv adds a correction to the coarse output. Narrow point peaks, which the half-resolution
    body can only place on its own 2-pixel grid, are sharpened at the output's own pitch; a
    network grown with it starts exactly at the network without it."""

    def __init__(self, in_chans, out_chans, width=16, n=2):
        super().__init__()
        layers = [nn.Conv2d(in_chans, width, 3, padding=1), nn.SiLU()]
        for _ in range(n - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(width, out_chans, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, y, x):
        return y + self.out(self.body(torch.cat([y, x], dim=1)))


class PointHead(nn.Module):
    """CenterNet-style point head on the reduced-resolution body features (B, dim, H/s, W/s):
    1x1 conv to ``width`` (SiLU), two depthwise 3x3 + pointwise layers (SiLU; receptive field
    +4 feature pixels), 1x1 conv to ``4 s^2`` channels, pixel-shuffle to (B, 4, H, W) on the
    output grid: :data:`POINT_CHANNELS`. Initialised to say "no point here" (logit bias for a
    prior of 0.001, offsets 0, amplitude 0.6), so a head grown onto a trained body starts silent.

    ``input_width`` > 0 adds a full-resolution branch: a 3x3 conv of the network input
    (``input_chans`` channels: the image and its log view, (B, input_chans, H, W)) to
    ``input_width`` channels (SiLU), added to ``input_width`` more channels of the shuffled body
    output, then a depthwise 3x3 + pointwise layer (SiLU) and a zero-initialised 1x1 conv whose 4
    channels are added to the coarse ones. The body knows *whether* a point is there; the
    branch sees *which pixel* the input's peak is on (receptive field 5 input pixels), at about
    450 multiply-adds per output pixel for ``input_width`` = 8.
    """

    def __init__(self, dim: int, width: int = 32, scale: int = 2, prior: float = 1e-3, input_width: int = 0,
                 input_chans: int = 2):
        super().__init__()
        self.input_width = int(input_width)
        n = len(POINT_CHANNELS)
        self.body = nn.Sequential(
            nn.Conv2d(dim, width, 1), nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1), nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1), nn.SiLU())
        r2 = scale * scale
        self.out = nn.Conv2d(width, (n + self.input_width) * r2, 1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.normal_(self.out.weight, std=1e-3)
        bias = torch.zeros(n + self.input_width, r2)
        bias[0] = float(torch.logit(torch.tensor(prior)))
        bias[3] = 0.6
        with torch.no_grad():
            self.out.bias.copy_(bias.reshape(-1))  # pixel-shuffle takes channel c from c*r2 .. (c+1)*r2 - 1
        if self.input_width:
            iw = self.input_width
            self.inp = nn.Conv2d(input_chans, iw, 3, padding=1)
            self.fuse = nn.Sequential(nn.SiLU(), nn.Conv2d(iw, iw, 3, padding=1, groups=iw), nn.Conv2d(iw, iw, 1),
                                      nn.SiLU(), nn.Conv2d(iw, n, 1))
            nn.init.zeros_(self.fuse[-1].weight)
            nn.init.zeros_(self.fuse[-1].bias)

    def forward(self, feats, inp=None):
        """``feats`` (B, dim, H/s, W/s) -> (B, 4, H, W); ``inp`` (B, input_chans, H, W), needed
        when the head has an input branch (ignored otherwise)."""
        y = self.shuffle(self.out(self.body(feats)))
        if not self.input_width:
            return y
        if inp is None:
            raise ValueError("PointHead: this head has an input branch; pass the network input")
        n = len(POINT_CHANNELS)
        return y[:, :n] + self.fuse(y[:, n:] + self.inp(inp))


class PlainCNN(nn.Module):
    """Plain full-resolution CNN baseline: 3x3 conv in→width (ReLU), ``depth`` x [3x3 conv
    (ReLU)], 3x3 conv width→out, plus the input (global residual)."""

    def __init__(self, in_chans=1, out_chans=1, width=32, depth=8):
        super().__init__()
        layers = [nn.Conv2d(in_chans, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, out_chans, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.out_chans = out_chans

    def forward(self, x):
        return self.body(x) + x[:, : self.out_chans]


_SR = (1, 256, 256)
_PAPER = "Smith et al., Mobile-SRViT, WMCS 2022 / arXiv 2305.02074"


@register_model("super_resolution", _SR, _PAPER)
def mobile_srvit(in_chans=1, out_chans=1, patch=16):
    """The paper's Mobile-SRViT: 69,122 parameters, about 14 GMAC per 256x256 image."""
    return MobileSRViT(in_chans, out_chans, patch=patch)


@register_model("super_resolution", _SR, "SHViT single-head attention mixer (CVPR 2024)")
def srvit_shsa(in_chans=1, out_chans=1, dim=32, depth=6, scale=2, window=16):
    """Efficient SR: SHViT blocks (windowed single-head attention) at 1/scale resolution."""
    return EfficientSR(in_chans, out_chans, dim, depth, "shsa", scale, window=window)


@register_model("super_resolution", _SR, "EfficientViM HSM-SSD mixer (CVPR 2025)")
def srvit_hsm(in_chans=1, out_chans=1, dim=32, depth=6, scale=2, state_dim=32, log_input_db=0.0, refine=0,
              refine_width=16, point_head=0, point_head_input=0, refine_features=0, phase_view=False):
    """Efficient SR: EfficientViM blocks (global, linear-cost HSM-SSD) at 1/scale resolution;
    ``log_input_db`` > 0 adds a log-magnitude input view, ``refine`` > 0 full-resolution
    refinement layers after the pixel-shuffle (``refine_features`` > 0: fed that many channels of
    body features), ``point_head`` > 0 a point head of that width, ``point_head_input`` > 0 its
    full-resolution input branch, ``phase_view`` (complex input) a phase-difference view for the
    head (see :class:`EfficientSR`)."""
    return EfficientSR(in_chans, out_chans, dim, depth, "hsm", scale, state_dim=state_dim,
                       log_input_db=log_input_db, refine=refine, refine_width=refine_width, point_head=point_head,
                       point_head_input=point_head_input, refine_features=refine_features, phase_view=phase_view)


@register_model("super_resolution", _SR, "STViT-R semantic tokens (CVPR 2023)")
def srvit_stvit(in_chans=1, out_chans=1, dim=32, depth=6, scale=2, grid=8):
    """Efficient SR: semantic-token global mixers (grid x grid tokens) at 1/scale resolution."""
    return EfficientSR(in_chans, out_chans, dim, depth, "stvit", scale, grid=(grid, grid))


@register_model("super_resolution", _SR, "MobileViT block mixer (ICLR 2022)")
def srvit_mobilevit(in_chans=1, out_chans=1, dim=32, depth=6, scale=2, patch=8):
    """Efficient SR: MobileViT mixers (patch x patch) at 1/scale resolution."""
    return EfficientSR(in_chans, out_chans, dim, depth, "mobilevit", scale, patch=patch)


@register_model("super_resolution", _SR, "plain CNN baseline (cf. Mobile-SRGAN, ICIP 2022)")
def sr_cnn(in_chans=1, out_chans=1, width=32, depth=8):
    """Plain 3x3 CNN at full resolution: 74,593 parameters at the defaults (width 32, depth 8)."""
    return PlainCNN(in_chans, out_chans, width, depth)
