"""Scenario presets (TOML), shipped as package data of ``sarsr`` under the name
``sarsr.simulators`` (see ``pyproject.toml``); read them with :func:`sarsr.data.load_scenario`."""
