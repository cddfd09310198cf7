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


@pytest.mark.parametrize("layer, forbidden", [("models", "radar"), ("nn", "radar")])
def test_no_lazy_import_reaches_across_layers(layer, forbidden):
    """The fresh-interpreter test above cannot see an import inside a function; read the source."""
    import ast
    from pathlib import Path

    import sarsr

    root = Path(sarsr.__file__).parent / layer
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".")
                hit = (node.level >= 2 and parts[0] == forbidden) or parts[:2] == ["sarsr", forbidden]
            elif isinstance(node, ast.Import):
                hit = any(a.name.split(".")[:2] == ["sarsr", forbidden] for a in node.names)
            else:
                continue
            assert not hit, f"{path.relative_to(root.parent)}:{node.lineno} imports {forbidden}"
