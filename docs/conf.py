"""Sphinx configuration of the sarsr documentation site (``make docs``).

Sources: the user guide (``guide/``), the evaluation reports (``*.md`` beside this file), the API
reference built from the numpy-style docstrings (``api.rst``) and the gallery of runnable
examples (``examples/``, executed by sphinx-gallery at build time, each drawing one figure).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import sarsr  # noqa: E402  (after the path: the checkout's package, not an installed copy)

project = "sarsr"
author = "the sarsr developers"
copyright = "2026, the sarsr developers"
release = version = sarsr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/README.rst", "**/.ipynb_checkpoints"]
# the reports link to their JSON, CSV and figures beside them; MyST turns such links into downloads
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the reports start at their own heading levels

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"           # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # one entry per class, its methods documented below it
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = "sarsr"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
