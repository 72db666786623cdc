"""The ``servicegrid`` command: options, tables and progress bars; every stage runs in the pipeline.

One module per command group — :mod:`.workspace` (import, import-osm, validate),
:mod:`.standards` (standards show/check/list), :mod:`.stages` (audit, coverage, plan),
:mod:`.map`, :mod:`.serve` (the HTTP service), :mod:`.batch` (many counties on Dask) and
:mod:`.demo` — all adding to the one Typer app of :mod:`._app`. Library modules are imported
inside the commands that need them, so ``servicegrid --help`` starts fast.
"""

from __future__ import annotations

from . import batch, demo, map, serve, stages, standards, workspace
from ._app import app

__all__ = ["app"]

del batch, demo, map, serve, stages, standards, workspace  # imported for the commands they add to app
