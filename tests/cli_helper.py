"""Run the ``sarsr`` command line in this process (a subprocess per call costs seconds of imports)."""

import contextlib
import io
import os
import warnings


def run_cli(*args, env=None):
    """``sarsr ARGS`` as :func:`sarsr.cli.main` runs it; returns (exit code, stderr stripped).

    ``env`` is added to ``os.environ`` for the call. Python warnings are written to the captured
    stderr, as a real process would print them, so a test that asserts one line of stderr sees them.
    """
    from sarsr.cli import main

    err, out = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: err.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            try:
                rc = main([str(a) for a in args])
            except SystemExit as exc:  # argparse's usage errors
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return rc, err.getvalue().strip()
