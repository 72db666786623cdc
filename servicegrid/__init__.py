"""servicegrid: plan the grassroots service network of a Chinese county or district.

The public API is the pipeline (:mod:`servicegrid.pipeline`): open a workspace, choose its
network, run a stage::

    from servicegrid import open_workspace, load_network, measure_coverage, plan_sites

    project = open_workspace("county.gpkg")
    network = load_network(project, "county.osm.pbf")
    coverage = measure_coverage(project, network=network)
    plan = plan_sites(project, tier="compound_station", network=network)

The parts, lowest first (each imports only those before it): :mod:`servicegrid.geo` (the
workspace, its data model and vocabularies, readers, coordinate systems, validation),
:mod:`servicegrid.standards` (tiered standards and audits), :mod:`servicegrid.coverage` (walking
networks and coverage), :mod:`servicegrid.siting` (where to build or upgrade),
:mod:`servicegrid.demo` (the synthetic demo county), :mod:`servicegrid.pipeline`, and the
consumers :mod:`servicegrid.cli`, :mod:`servicegrid.maps` and :mod:`servicegrid.api`. Names are
imported on first use, so ``import servicegrid`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "open_workspace": "pipeline",
    "load_network": "pipeline",
    "validate_workspace": "pipeline",
    "fix_workspace": "pipeline",
    "audit_workspace": "pipeline",
    "measure_coverage": "pipeline",
    "plan_sites": "pipeline",
    "write_coverage": "pipeline",
    "write_plan": "pipeline",
    "store_layers": "pipeline",
    "run_demo": "pipeline",
    "Project": "pipeline",
    "read_workspace": "geo.workspace",
    "write_layers": "geo.workspace",
    "Workspace": "geo.workspace",
    "WorkspaceSettings": "geo.workspace",
    "read_source": "geo.readers",
    "load_preset": "standards.loader",
    "write_audit": "standards.export",
    "ServiceGridError": "errors",
    "InputError": "errors",
    "WorkspaceErrors": "errors",
}

__all__ = [
    "InputError",
    "Project",
    "ServiceGridError",
    "Workspace",
    "WorkspaceErrors",
    "WorkspaceSettings",
    "__version__",
    "audit_workspace",
    "fix_workspace",
    "load_network",
    "load_preset",
    "measure_coverage",
    "open_workspace",
    "plan_sites",
    "read_source",
    "read_workspace",
    "run_demo",
    "store_layers",
    "validate_workspace",
    "write_audit",
    "write_coverage",
    "write_layers",
    "write_plan",
]

if TYPE_CHECKING:
    from .errors import InputError, ServiceGridError, WorkspaceErrors
    from .geo.readers import read_source
    from .geo.workspace import Workspace, WorkspaceSettings, read_workspace, write_layers
    from .pipeline import (
        Project,
        audit_workspace,
        fix_workspace,
        load_network,
        measure_coverage,
        open_workspace,
        plan_sites,
        run_demo,
        store_layers,
        validate_workspace,
        write_coverage,
        write_plan,
    )
    from .standards.export import write_audit
    from .standards.loader import load_preset


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    msg = f"module 'servicegrid' has no attribute '{name}'"
    raise AttributeError(msg)
