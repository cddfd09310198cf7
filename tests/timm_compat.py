"""Test-only helpers for loading timm (a test dependency) without torchvision.

timm imports a few torchvision names at import time (FrozenBatchNorm2d, transforms); no CPU
torchvision wheel exists for our pinned torch, so we install placeholder ``torchvision.*``
modules whose attributes are dummy classes. Only model construction is used from timm.
"""

import importlib.abc
import importlib.machinery
import re
import sys
import types

import pytest
import torch


class _Dummy(type):
    def __getattr__(cls, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Dummy(attr, (), {})

    def __hash__(cls):
        return id(cls)


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []

        def __getattr__(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return _Dummy(attr, (), {})

        m.__getattr__ = __getattr__
        return m

    def exec_module(self, module):
        pass


def import_timm():
    """Import timm with torchvision stubbed out, or skip the test when timm is absent."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        if not any(isinstance(f, _StubFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _StubFinder())
    return pytest.importorskip("timm")


def randomize_(model: torch.nn.Module, seed=0):
    """Give every parameter/buffer a non-trivial value (BN stats, zero-init gates, ...), so a
    parity test exercises every weight."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim <= 1 or name.endswith("alpha"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.3 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


# --- documented key mappings: timm name -> sarsr name --------------------------------------

def map_shvit(key: str) -> str:
    key = re.sub(r"^patch_embed\.(\d)\.", lambda m: f"patch_embed.{int(m.group(1)) // 2}.", key)
    key = key.replace(".c.", ".conv.")
    return key.replace("head.l.", "head.linear.")


def map_efficientvim(key: str) -> str:
    key = re.sub(r"^patch_embed\.conv\.(\d)\.", r"patch_embed.\1.", key)
    key = re.sub(r"mixer\.(BCdt_proj|dw|hz_proj|out_proj)\.conv\.",
                 lambda m: f"mixer.{m.group(1).replace('BCdt', 'bcdt')}.", key)
    key = key.replace("ffn.fc1.", "ffn.pw1.").replace("ffn.fc2.", "ffn.pw2.")
    key = re.sub(r"downsample\.dwconv1\.", "downsample.0.m.", key)
    key = re.sub(r"downsample\.dwconv2\.", "downsample.2.m.", key)
    key = re.sub(r"downsample\.conv\.(\d)\.",
                 lambda m: "downsample.1." + ["conv1", "conv2", "se", "conv3"][int(m.group(1))] + ".", key)
    if not re.match(r"^norm\.|^stages\.\d+\.blocks\.\d+\.norm\.", key):
        key = key.replace(".norm.", ".bn.")  # ConvLayer2d norm = our ConvNorm BN
    key = re.sub(r"^norm\.([0-2])\.", r"state_norms.\1.", key)
    key = re.sub(r"^norm\.3\.", "norm.", key)
    return "head_weights" if key == "weights" else key


def map_mobilevit(key: str) -> str:
    key = key.replace("conv1_1x1.", "expand.").replace("conv2_kxk.", "dw.").replace("conv3_1x1.", "project.")
    return key.replace("head.fc.", "head.")


def load_mapped(ours: torch.nn.Module, theirs: torch.nn.Module, mapping) -> None:
    state = {mapping(k): v for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state, strict=True)
