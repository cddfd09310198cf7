"""Model cost: parameter count, multiply-accumulates (MACs) and CPU latency."""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_params", "count_macs", "cpu_latency_ms"]


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _sdpa_flops(query_shape, key_shape, value_shape, *args, **kwargs):
    """FLOPs of softmax(q kᵀ) v for (B, H, L, E) shapes: 2·B·H·Lq·Lk·(E + Ev)."""
    b, h, lq, e = query_shape
    lk, ev = key_shape[-2], value_shape[-1]
    return 2 * b * h * lq * lk * (e + ev)


def _custom_formulas():
    """torch's counter has no formula for the CPU flash-attention kernel; add one."""
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {op: _sdpa_flops} if op is not None else {}


@torch.no_grad()
def count_macs(model: nn.Module, input_size, batch: int = 1) -> int:
    """MACs of one forward pass on a ``(batch, *input_size)`` input, counted by torch's FLOP counter
    (convs, linears, matmuls and attention; FLOPs / 2). Element-wise ops are not counted."""
    was_training = model.training
    model.eval()
    x = torch.randn(batch, *input_size)
    with FlopCounterMode(display=False, custom_mapping=_custom_formulas()) as fc:
        model(x)
    model.train(was_training)
    return fc.get_total_flops() // 2 // batch


@torch.no_grad()
def cpu_latency_ms(model: nn.Module, input_size, batch: int = 1, repeat: int = 5,
                   warmup: int = 1, threads: int | None = None) -> float:
    """Median wall time per image (ms) of eval-mode forward passes on CPU."""
    model.eval()
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        x = torch.randn(batch, *input_size)
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)
    times.sort()
    return 1e3 * times[len(times) // 2] / batch
