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

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import pandas as pd

from .errors import InputError, WorkspaceErrors
from .geo.findings import concat_findings, count_errors
from .geo.hierarchy import fill_parent_ids
from .geo.validate import ValidationReport, gcj_offset_findings, validate_layers
from .geo.vocabularies import status_breakdown
from .geo.workspace import Workspace, WorkspaceSettings, atomic_path, read_workspace, write_layers
from .progress import Progress, Steps
from .standards.loader import load_preset, resolve_preset_path
from .standards.models import Preset

if TYPE_CHECKING:
    from .coverage.analysis import CoverageResult
    from .coverage.network import StreetNetwork
    from .demo import DemoFiles
    from .siting.plan import PlanModel, PlanResult
    from .standards.audit import AuditResult

__all__ = [
    "CACHE_FOLDER",
    "DemoRun",
    "Project",
    "Stored",
    "audit_workspace",
    "choose_preset",
    "fix_workspace",
    "load_network",
    "measure_coverage",
    "open_workspace",
    "plan_sites",
    "require_valid",
    "run_demo",
    "store_layers",
    "validate_workspace",
    "write_coverage",
    "write_plan",
]

logger = logging.getLogger(__name__)

CACHE_FOLDER = ".servicegrid-cache"  # beside the workspace: cached walking networks
Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Project:
    """An opened workspace: its layers conformed and checked, the preset it is planned with and
    everything that was found on the way.

    ``workspace`` holds the conformed layers (canonical column names and types, enumerations and
    tiers by their canonical ids, parent ids filled, invalid geometries repaired) and ``raw`` the
    layers as they are stored. ``findings`` has one row per problem (see
    :mod:`servicegrid.geo.findings`); ``notes`` says what opening filled in.
    """

    workspace: Workspace
    raw: Workspace
    preset: Preset
    findings: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    @property
    def path(self) -> Path | None:
        """The workspace file, if it was read from one."""
        return self.workspace.path

    @property
    def settings(self) -> WorkspaceSettings:
        """The workspace settings."""
        return self.workspace.settings

    @property
    def errors(self) -> int:
        """Number of error findings: a stage refuses the project when there is any."""
        return count_errors(self.findings)

    @property
    def warnings(self) -> pd.DataFrame:
        """The warning findings (the stages go on past them)."""
        return self.findings[self.findings["severity"] == "warning"].reset_index(drop=True)

    @property
    def cache_dir(self) -> Path | None:
        """Where walking networks are cached: beside the workspace file."""
        return self.path.parent / CACHE_FOLDER if self.path is not None else None


def choose_preset(workspace: Workspace, preset: str | os.PathLike[str] | Preset | None = None) -> Preset:
    """The preset given, else the workspace's setting (a relative path is relative to the workspace)."""
    if isinstance(preset, Preset):
        return preset
    name = preset or workspace.settings.preset
    base = workspace.path.parent if workspace.path is not None else None
    return load_preset(resolve_preset_path(name, relative_to=base))


def open_workspace(
    source: str | os.PathLike[str] | Workspace,
    *,
    preset: str | os.PathLike[str] | Preset | None = None,
) -> Project:
    """Read, conform, fill and validate a workspace: what every stage starts from.

    Parameters
    ----------
    source
        A workspace GeoPackage, or a :class:`~servicegrid.geo.workspace.Workspace` built in memory.
    preset
        Standards preset (name, YAML path or loaded preset); default the workspace's setting.

    Returns
    -------
    Project
        Bad values never raise: each is a finding (layer, id, row, field, value, what was
        expected) and the value is blank in the conformed layers.

    Raises
    ------
    InputError
        The file is missing or is not a GeoPackage.
    StandardsError
        The preset cannot be loaded.
    """
    raw = source if isinstance(source, Workspace) else read_workspace(source)
    chosen = choose_preset(raw, preset)
    report = validate_layers(raw, vocabularies={"tier": chosen.tier_vocabulary})
    return Project(
        workspace=report.workspace, raw=raw, preset=chosen, findings=report.findings, notes=report.notes
    )


def require_valid(project: Project) -> None:
    """Refuse a project whose workspace has errors (the stages call this first)."""
    if project.errors:
        raise WorkspaceErrors(project.findings, source=project.path)


def load_network(
    project: Project,
    source: str | os.PathLike[str] | None = None,
    *,
    include_private: bool = False,
) -> StreetNetwork | None:
    """The walking network: the file ``source``, else the workspace's ``roads`` layer, else none.

    Built in the workspace's metric CRS and cached beside the workspace (:attr:`Project.cache_dir`),
    so the second run loads it in a fraction of a second. ``network.summary()`` and
    ``network.problems`` say what was built and what was left out.
    """
    from .coverage.cache import load_network as build_or_load

    if source is not None:
        chosen: Path | gpd.GeoDataFrame = Path(source)
    elif "roads" in project.workspace:
        chosen = project.workspace.layer("roads")
    else:
        return None
    return build_or_load(
        chosen, cache_dir=project.cache_dir, crs=project.workspace.metric_crs, include_private=include_private
    )


def validate_workspace(project: Project, *, network: StreetNetwork | None = None) -> ValidationReport:
    """Every finding of the project; with ``network``, point layers are also checked against its
    paths (not only the ``roads`` layer) for a GCJ-02 offset."""
    found = project.findings
    if network is not None:
        paths = network.to_frames()[1].geometry
        found = concat_findings(
            [found[found["check"] != "looks_like_gcj02"], gcj_offset_findings(project.workspace, paths)]
        )
    return ValidationReport(found, project.workspace)


def fix_workspace(project: Project) -> list[str]:
    """Write the repaired geometries and the filled parent ids back into the workspace file,
    atomically; every other value stays as it is stored. Returns the layers written."""
    from .geo.hierarchy import PARENT_LINKS

    if project.path is None:
        msg = "the workspace was not read from a file; there is nothing to write back to"
        raise InputError(msg)
    written = {}
    parent_columns = {link.layer: set() for link in PARENT_LINKS}
    for link in PARENT_LINKS:
        parent_columns[link.layer].add(link.column)
    for name, raw in project.raw.layers.items():
        fixed = project.workspace.layers[name]
        out = raw.reset_index(drop=True).set_geometry(fixed.geometry.to_numpy(), crs=raw.crs)
        for column in parent_columns.get(name, ()):
            if column in fixed.columns:
                out[column] = fixed[column].to_numpy()
        written[name] = out
    write_layers(project.path, written)
    return sorted(written)


def audit_workspace(project: Project, *, lang: Lang = "zh") -> AuditResult:
    """Grade every facility against its tier's standard, the 1+1+2+N positions and the grids."""
    from .standards.audit import audit_layers

    require_valid(project)
    result = audit_layers(project.workspace, preset=project.preset, lang=lang)
    note = status_breakdown(_status(project), include_planned=False)
    return _with_notes(result, "messages", (f"audit: {note}",))


def measure_coverage(
    project: Project,
    *,
    network: StreetNetwork | None = None,
    include_planned: bool = False,
    detour_factor: float | None = None,
    progress: Progress | None = None,
) -> CoverageResult:
    """Walking coverage of every demand unit by every walk-based tier (see
    :func:`servicegrid.coverage.analysis.measure_layers`)."""
    from .coverage.analysis import DEFAULT_DETOUR_FACTOR, measure_layers

    require_valid(project)
    result = measure_layers(
        project.workspace,
        project.preset,
        network=network,
        include_planned=include_planned,
        detour_factor=DEFAULT_DETOUR_FACTOR if detour_factor is None else detour_factor,
        progress=progress,
    )
    note = status_breakdown(_status(project), include_planned=include_planned)
    return _with_notes(result, "notes", (f"coverage: {note}",), first=True)


def plan_sites(
    project: Project,
    *,
    tier: str = "compound_station",
    model: PlanModel = "upgrade-or-build",
    network: StreetNetwork | None = None,
    p: int | None = None,
    budget: float | None = None,
    target: float = 0.98,
    time_limit: float = 60.0,
    require: Sequence[str] = (),
    exclude: Sequence[str] = (),
    generate: bool = True,
    progress: Progress | None = None,
) -> PlanResult:
    """Where to build or upgrade stations of ``tier`` (see
    :func:`servicegrid.siting.plan.plan_layers`)."""
    import warnings

    from .siting.plan import plan_layers
    from .standards.records import StandardsWarning

    require_valid(project)
    with warnings.catch_warnings():
        # the audit reports these; a plan would only repeat them
        warnings.simplefilter("ignore", StandardsWarning)
        result = plan_layers(
            project.workspace,
            project.preset,
            tier=tier,
            model=model,
            network=network,
            p=p,
            budget=budget,
            target=target,
            time_limit=time_limit,
            require=require,
            exclude=exclude,
            generate=generate,
            progress=progress,
        )
    note = status_breakdown(_status(project), include_planned=False)
    return _with_notes(result, "notes", (f"plan: {note}",), first=True)


def _status(project: Project) -> pd.Series:
    """The conformed status of every facility (blank is existing)."""
    facilities = project.workspace.layer("facilities")
    if "status" in facilities.columns:
        return facilities["status"]
    return pd.Series("existing", index=facilities.index, dtype="string")


def _with_notes(result: object, name: str, notes: tuple[str, ...], *, first: bool = False) -> object:
    from dataclasses import replace

    old = tuple(getattr(result, name))
    return replace(result, **{name: (*notes, *old) if first else (*old, *notes)})


def write_coverage(
    result: CoverageResult, out: str | os.PathLike[str], *, preset: Preset | None = None, lang: Lang = "zh"
) -> list[Path]:
    """Write the coverage layers into the GeoPackage ``out`` and the gaps as ``<out>_gaps.csv``
    (UTF-8 with BOM, for Excel and WPS; headings, gap, unit and tier names in ``lang``). Returns
    the files written."""
    from .coverage.labels import labelled_gaps

    out = Path(out)
    write_layers(out, result.layers(), description=f"servicegrid coverage ({result.method})")
    gaps_csv = out.with_name(f"{out.stem}_gaps.csv")
    tiers = {t: preset.label("tiers", t, lang) for t in preset.tiers} if preset is not None else {}
    with atomic_path(gaps_csv) as tmp:
        labelled_gaps(result.gaps, tiers, lang).to_csv(tmp, index=False, encoding="utf-8-sig")
    return [out, gaps_csv]


def write_plan(
    result: PlanResult, out: str | os.PathLike[str], *, preset: Preset | None = None, lang: Lang = "zh"
) -> list[Path]:
    """Write the plan layers into the GeoPackage ``out`` and the plan's workbook beside it
    (``<out>.xlsx``: the headline, before and after per township, the sites in build order).
    Returns the files written."""
    from .siting.export import write_plan_workbook

    out = Path(out)
    tier = result.summary["tier"].iloc[0] if len(result.summary) else ""
    write_layers(out, result.layers(), description=f"servicegrid plan for {tier}")
    tiers = {t: preset.label("tiers", t, lang) for t in preset.tiers} if preset is not None else {}
    book = write_plan_workbook(
        result, out.with_suffix(".xlsx"), tier_labels=tiers, lang=lang, notes=result.notes
    )
    return [out, book]


@dataclass(frozen=True)
class Stored:
    """Layers written into a workspace: which were given, which others changed, and the notes."""

    path: Path
    given: tuple[str, ...]
    also_changed: tuple[str, ...]
    notes: tuple[str, ...]


def store_layers(
    path: str | os.PathLike[str], layers: Mapping[str, gpd.GeoDataFrame], *, description: str
) -> Stored:
    """Write ``layers`` into the workspace at ``path`` (created if new) with parent ids filled,
    atomically; layers whose parent ids the new ones let fill in are written too."""
    path = Path(path)
    existing = read_workspace(path) if path.exists() else Workspace(path, {}, WorkspaceSettings())
    filled = fill_parent_ids(existing.with_layers(**layers))
    touched = set(layers) | set(filled.changed)
    write_layers(
        path,
        {name: filled.workspace.layers[name] for name in sorted(touched)},
        settings=None if path.exists() else existing.settings,
        description=description,
    )
    return Stored(
        path=path,
        given=tuple(layers),
        also_changed=tuple(sorted(touched - set(layers))),
        notes=filled.notes,
    )


@dataclass(frozen=True)
class DemoRun:
    """What :func:`run_demo` generated, computed and wrote."""

    files: DemoFiles
    project: Project
    audit: AuditResult
    coverage: CoverageResult
    plan: PlanResult
    written: tuple[Path, ...]


def run_demo(
    out: str | os.PathLike[str], *, seed: int = 0, lang: Lang = "zh", progress: Progress | None = None
) -> DemoRun:
    """Generate the synthetic demo county into ``out`` and run every stage on it, offline.

    Writes the workspace and its OpenStreetMap file, the audit (``audit/``), walking coverage
    (``coverage.gpkg`` and its gaps CSV) and a plan for compound stations (``plan.gpkg``).
    """
    from .demo import write_demo_county
    from .standards.export import write_audit

    out = Path(out)
    step = Steps(progress, 6)
    step("generating the demo county")
    files = write_demo_county(out, seed=seed)
    step("validating")
    project = open_workspace(files.workspace)
    step("auditing facilities")
    audit = audit_workspace(project, lang=lang)
    written = list(write_audit(out / "audit", audit, lang=lang))
    step("loading the walking network")
    network = load_network(project, files.network)
    step("walking coverage")
    coverage = measure_coverage(project, network=network)
    written += write_coverage(coverage, out / "coverage.gpkg", preset=project.preset, lang=lang)
    step("planning compound stations")
    plan = plan_sites(project, tier="compound_station", network=network)
    written += write_plan(plan, out / "plan.gpkg", preset=project.preset, lang=lang)
    step.finish()
    return DemoRun(files, project, audit, coverage, plan, (files.workspace, files.network, *written))
