"""The one way in: open a workspace, choose its preset and walking network, run each stage.

Every consumer — the command line, the maps, the HTTP service, a notebook — goes through these
functions, so one register gives one answer everywhere:

- :func:`open_workspace` reads a workspace, conforms every layer to the data model (types,
  numbers written as text, canonical values of every enumerated column, tiers by the preset),
  fills missing parent ids, validates it and returns a :class:`Project`: the checked layers, the
  preset and every finding;
- :func:`load_network` picks the walking network (a file, else the ``roads`` layer) and caches
  it beside the workspace;
- the stages :func:`validate_workspace`, :func:`audit_workspace`, :func:`measure_coverage` and
  :func:`plan_sites` take the project; the last three refuse one with errors
  (:class:`~servicegrid.errors.WorkspaceErrors`, which carries the findings);
- :func:`write_coverage` and :func:`write_plan` write what the commands write (the audit's
  writer is :func:`~servicegrid.standards.export.write_audit`); :func:`store_layers` writes
  imported layers with their parent ids filled and says which layers changed.

Examples
--------
>>> from servicegrid import open_workspace, measure_coverage   # doctest: +SKIP
>>> project = open_workspace("county.gpkg")                    # doctest: +SKIP
>>> coverage = measure_coverage(project, network=load_network(project, "county.osm.pbf"))  # doctest: +SKIP
"""

from .project import CACHE_FOLDER, Project, choose_preset, load_network, open_workspace, require_valid
from .runs import STAGES, DemoRun, StagesRun, run_demo, run_stages
from .stages import (
    audit_workspace,
    check_detour_factor,
    check_output,
    fix_workspace,
    measure_coverage,
    plan_sites,
    validate_workspace,
    write_coverage,
    write_plan,
)
from .store import Stored, community_point_notes, store_layers

__all__ = [
    "CACHE_FOLDER",
    "STAGES",
    "DemoRun",
    "Project",
    "StagesRun",
    "Stored",
    "audit_workspace",
    "check_detour_factor",
    "check_output",
    "choose_preset",
    "community_point_notes",
    "fix_workspace",
    "load_network",
    "measure_coverage",
    "open_workspace",
    "plan_sites",
    "require_valid",
    "run_demo",
    "run_stages",
    "store_layers",
    "validate_workspace",
    "write_coverage",
    "write_plan",
]
