"""The dependency graph points one way: radar <- io, data; nn <- models <- sr <- train <- vision
<- cli. Importing a layer in a fresh interpreter must not import a higher one."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sarsr

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


#: third-party packages slow enough to import (or optional) that modules load them inside the
#: function that needs them: ``import sarsr.radar`` / ``sarsr.data`` / ``sarsr.cli`` stay light
HEAVY = {"torch", "scipy", "matplotlib", "h5py", "numba", "dask", "distributed", "PIL", "tqdm"}
#: modules whose every import is lazy by design, stated in their docstring
ALL_LAZY = {"cli.py"}


def test_imports_inside_functions_are_only_the_lazy_ones():
    """An import sits at module top unless a lazy import buys start-up time or breaks a cycle, and
    the line says so: inside functions only the heavy packages above (in a module that does not
    import them at top anyway) and in-package imports commented ``# lazy: <why>``."""
    pkg = Path(sarsr.__file__).parent
    bad = []
    for path in pkg.rglob("*.py"):
        rel = str(path.relative_to(pkg))
        if rel in ALL_LAZY:
            continue
        src = path.read_text()
        lines = src.splitlines()
        tree = ast.parse(src)
        top = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
               for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and not getattr(n, "level", 0)
               for a in n.names}
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for n in ast.walk(fn):
                if not isinstance(n, (ast.Import, ast.ImportFrom)):
                    continue
                level = getattr(n, "level", 0) or 0
                name = n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
                first = (name or "").split(".")[0]
                said = "# lazy:" in lines[n.end_lineno - 1]
                if level == 0 and first in HEAVY:
                    if first in top:
                        bad.append(f"{rel}:{n.lineno}: {first} is imported at module top already")
                elif not said:
                    bad.append(f"{rel}:{n.lineno}: import inside a function without '# lazy: <why>'")
    assert not bad, "\n".join(sorted(set(bad)))
