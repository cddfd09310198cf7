# Two entry points for a new user (see README): `make demo` and `make test`.
# Both create .venv on first use. torch is pinned to the CPU wheel: an unpinned torch pulls
# several GB of CUDA packages. `make demo` installs only what the package needs; `make test`
# adds the test extras (pytest, pytest-xdist, hypothesis, scikit-image, nbclient, timm for parity tests);
# `make test` runs the suite in one worker process per core (`-n auto`), a test file per worker.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
TIMM_PIN := timm==1.0.31

.PHONY: demo test docs bench install install-dev clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev]"
	# timm is a test-only reference for parity tests; it declares torchvision (none exists for
	# CPU torch), so its light dependencies go first and timm itself last without dependencies
	# (pip then has no conflict to warn about).
	$(PY) -m pip install -q huggingface_hub safetensors pyyaml
	$(PY) -m pip install -q --no-deps $(TIMM_PIN)
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(VENV)/bin/sarsr demo --out out/demo --force

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n auto --dist loadfile

# The documentation site (docs/: user guide, reports, API reference, example gallery) into
# docs/_build/html; warnings are errors. The gallery's examples run during the build.
docs: $(VENV)/.installed-dev
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: $(VENV)/.installed
	$(VENV)/bin/sarsr bench radar
	$(VENV)/bin/sarsr bench bp
	$(VENV)/bin/sarsr bench models

clean:
	rm -rf $(VENV) out .pytest_cache
