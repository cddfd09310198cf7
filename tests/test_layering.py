"""The dependency graph points one way: radar <- io, data; nn <- models <- sr <- train <- vision
<- cli. Importing a layer in a fresh interpreter must not import a higher one."""

import subprocess
import sys

import pytest

#: layer -> sarsr subpackages / modules it must not import
FORBIDDEN = {
    "radar": {"io", "data", "nn", "models", "sr", "train", "vision", "cli", "bench", "demo"},
    "io": {"data", "nn", "models", "sr", "train", "vision", "cli"},
    "data": {"io", "nn", "models", "sr", "train", "vision", "cli"},
    "nn": {"radar", "io", "data", "models", "sr", "train", "vision", "cli"},
    "models": {"io", "data", "sr", "train", "vision", "cli"},
    "sr": {"train", "vision", "cli"},
    "train": {"vision", "cli"},
    "vision": {"cli", "bench", "demo"},
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_no_higher_layer(layer):
    code = (f"import sys, sarsr.{layer}\n"
            "print(' '.join(sorted({n.split('.')[1] for n in sys.modules if n.startswith('sarsr.') and n.count('.') >= 1})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-800:]
    loaded = set(r.stdout.split())
    assert not loaded & FORBIDDEN[layer], f"sarsr.{layer} imports {sorted(loaded & FORBIDDEN[layer])}"


def test_trainer_imports_no_task():
    code = "import sys, sarsr.train.trainer\nprint(any(n.startswith('sarsr.vision') for n in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.stdout.strip() == "False", r.stderr[-800:]
