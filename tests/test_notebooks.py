"""Every notebook in notebooks/ runs top to bottom in a real kernel (nbclient)."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("SARSR_NOTEBOOK_SCANS", "3")  # notebook 3's scans per sigma (8 by default): same cells, less data
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_notebooks_match_their_sources(tmp_path, monkeypatch):
    """Rebuilding the notebooks from notebooks/_build_notebooks.py gives the committed cell
    sources (outputs may be stored executed; they are not compared)."""
    import runpy

    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("SARSR_NOTEBOOK_DIR", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["_build_notebooks.py"])
    runpy.run_path(str(NOTEBOOKS[0].parent / "_build_notebooks.py"))
    for path in NOTEBOOKS:
        built = nbformat.read(tmp_path / path.name, as_version=4)
        committed = nbformat.read(path, as_version=4)
        assert [(c.cell_type, c.source) for c in built.cells] == [(c.cell_type, c.source) for c in committed.cells], \
            f"{path.name} differs from its source; run python notebooks/_build_notebooks.py"
