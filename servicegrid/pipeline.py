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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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


def audit_workspace(project: Project, *, lang: Lang = "zh", summarize: bool = True) -> AuditResult:
    """Grade every facility against its tier's standard, the 1+1+2+N positions and the grids
    (``summarize=False``: the graded facilities alone, see
    :func:`servicegrid.standards.audit.audit_layers`)."""
    from .standards.audit import audit_layers

    require_valid(project)
    result = audit_layers(project.workspace, preset=project.preset, lang=lang, summarize=summarize)
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

    check_detour_factor(detour_factor)
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


def check_detour_factor(value: float | None) -> None:
    """Refuse a detour factor that is not a finite number above 1 (``None``: the default).

    Raises
    ------
    InputError
        Naming ``--detour-factor`` (``detour_factor``) and the value.
    """
    import math

    if value is None:
        return
    if not math.isfinite(value) or value <= 1:
        msg = (
            f"--detour-factor (detour_factor) {value:g}: must be a number above 1, since a walk is "
            "never shorter than the straight line (1.3 is typical)"
        )
        raise InputError(msg)


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


def check_output(
    out: str | os.PathLike[str],
    *,
    kind: Literal["gpkg", "folder"],
    inputs: Sequence[str | os.PathLike[str] | None] = (),
) -> Path:
    """Refuse an output path before any computation: one line naming what is wrong.

    ``kind="gpkg"``: a GeoPackage file (``coverage``, ``plan``; the files written beside it,
    ``<out>_gaps.csv`` and ``<out>.xlsx``, too); ``kind="folder"``: a folder of files
    (``audit``). Refused: a folder where a file is wanted (and the other way round), the
    workspace or another input as the output (or as one of the files written with it), and a
    place that cannot be written to. Temporary files a killed run left there are removed
    (:func:`~servicegrid.geo.workspace.clean_stale_temps`).

    Raises
    ------
    InputError
        Naming ``--out`` and what to do.
    """
    import tempfile

    from .geo.workspace import clean_stale_temps

    out = Path(out)
    given = [Path(p).resolve() for p in inputs if p is not None]
    if kind == "gpkg":
        if out.is_dir():
            msg = f"--out {out} is a folder; give a GeoPackage file name, e.g. {out / 'results.gpkg'}"
            raise InputError(msg)
        written = [out, out.with_name(f"{out.stem}_gaps.csv"), out.with_suffix(".xlsx")]
        folder = out.parent
        if out.suffix.lower() == ".xlsx":
            msg = (
                f"--out {out} names a workbook; give a GeoPackage file name, e.g. {out.with_suffix('.gpkg')}"
            )
            raise InputError(msg)
        for path in written[1:]:
            if path.is_dir():
                msg = f"--out {out}: {path} is written beside it, but is a folder; give another file name"
                raise InputError(msg)
    else:
        if out.exists() and not out.is_dir():
            msg = f"--out {out} is a file; give a folder for the audit files (it is created if new)"
            raise InputError(msg)
        written = [
            out,
            *(out / name for name in ("results.gpkg", "audit.csv", "audit.geojson", "county_summary.xlsx")),
        ]
        folder = out
    for path in written:
        if path.resolve() in given:
            msg = f"--out {out} would overwrite the input {path}; write the results to another file"
            raise InputError(msg)
    if kind == "gpkg" and out.is_file():
        with out.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                msg = f"--out {out} exists and is not a GeoPackage; give a new .gpkg file name"
                raise InputError(msg)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        msg = f"--out {out}: {existing} is not a folder"
        raise InputError(msg)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        msg = f"--out {out}: cannot write into {existing} ({exc.strerror or exc}); choose a folder you can write to"
        raise InputError(msg) from exc
    if kind == "gpkg":
        clean_stale_temps(out)
    return out


@dataclass(frozen=True)
class Stored:
    """Layers written into a workspace: which were given, what happened to each, the notes.

    ``added``: layers the workspace did not have; ``replaced``: layer → (rows before, rows
    now); ``merged``: layer → (rows kept, rows added, incoming rows that were already there);
    ``kept``: layers the workspace already had and that were left as they were → (rows in the
    workspace, rows offered); ``also_changed``: other layers whose blank parent ids the new
    layers filled.
    """

    path: Path
    given: tuple[str, ...]
    also_changed: tuple[str, ...]
    notes: tuple[str, ...]
    added: tuple[str, ...] = ()
    replaced: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    merged: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    kept: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """One line per thing done to the workspace, for the user."""
        lines = [f"added {name}" for name in self.added]
        lines += [f"replaced {name}: {old:,} rows → {new:,}" for name, (old, new) in self.replaced.items()]
        lines += [
            f"merged into {name}: {kept:,} rows kept, {new:,} added, {dup:,} already there"
            for name, (kept, new, dup) in self.merged.items()
        ]
        lines += [
            f"kept {name} as it is ({old:,} rows; the file has {offered:,}): --replace {name} replaces it, "
            f"--merge {name} adds the new ones"
            for name, (old, offered) in self.kept.items()
        ]
        return lines


def community_point_notes(
    path: str | os.PathLike[str], points: gpd.GeoDataFrame, stored: Stored
) -> list[str]:
    """How the community points of an OpenStreetMap import sit in the villages the workspace
    kept (its own register: the file's villages were not written, or merged into it); nothing
    when the villages written are the file's own (their notes came with the file's)."""
    from .geo.osm_places import community_point_notes as notes_for

    if not len(points) or "villages" in stored.added or "villages" in stored.replaced:
        return []
    villages = read_workspace(path).layers.get("villages")
    if villages is None or not len(villages):
        return []
    return notes_for(points, villages, where="in the workspace")


def store_layers(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    description: str,
    existing: Literal["replace", "keep"] = "replace",
    replace: Sequence[str] = (),
    merge: Sequence[str] = (),
    source_coords: str | None = None,
) -> Stored:
    """Write ``layers`` into the workspace at ``path`` (created if new) with parent ids filled,
    atomically; layers whose parent ids the new ones let fill in are written too.

    Parameters
    ----------
    existing
        What to do with a layer the workspace already has: ``"replace"`` it (``servicegrid
        import``, which names the one layer it writes) or ``"keep"`` it (``import-osm``, which
        offers several): then only the layers in ``replace`` are replaced and those in ``merge``
        get the new features that duplicate none of theirs (:func:`servicegrid.geo.merge.merge_features`).
    source_coords
        The coordinate system the source declared (``--coords``), recorded in the settings.
    """
    from .geo.merge import merge_features
    from .geo.schema import layer_spec

    path = Path(path)
    replace_set = {layer_spec(n).name for n in replace}
    merge_set = {layer_spec(n).name for n in merge}
    for name in sorted((replace_set | merge_set) - set(layers)):
        msg = f"--replace/--merge {name}: the file has no {name} (it has: {', '.join(layers) or 'nothing'})"
        raise InputError(msg, source=path)
    if replace_set & merge_set:
        msg = f"{', '.join(sorted(replace_set & merge_set))}: give --replace or --merge, not both"
        raise InputError(msg, source=path)
    current = read_workspace(path) if path.exists() else Workspace(path, {}, WorkspaceSettings())
    writing: dict[str, gpd.GeoDataFrame] = {}
    added: list[str] = []
    replaced: dict[str, tuple[int, int]] = {}
    merged: dict[str, tuple[int, int, int]] = {}
    kept: dict[str, tuple[int, int]] = {}
    for name, frame in layers.items():
        old = current.layers.get(name)
        if old is None or len(old) == 0:
            writing[name] = frame
            added.append(name)
        elif name in merge_set:
            result = merge_features(old, frame)
            writing[name] = result.frame
            merged[name] = (len(old), result.added, result.duplicates)
        elif existing == "replace" or name in replace_set:
            writing[name] = frame
            replaced[name] = (len(old), len(frame))
        else:
            kept[name] = (len(old), len(frame))
    filled = fill_parent_ids(current.with_layers(**writing))
    touched = set(writing) | set(filled.changed)
    settings = None if path.exists() else current.settings
    if source_coords is not None and not current.settings_problems:
        settings = current.settings.model_copy(update={"source_coords": source_coords})
    if touched or settings is not None:
        write_layers(
            path,
            {name: filled.workspace.layers[name] for name in sorted(touched)},
            settings=settings,
            description=description,
        )
    return Stored(
        path=path,
        given=tuple(writing),
        also_changed=tuple(sorted(touched - set(writing))),
        notes=filled.notes,
        added=tuple(added),
        replaced=replaced,
        merged=merged,
        kept=kept,
    )


@dataclass(frozen=True)
class StagesRun:
    """What :func:`run_stages` computed for one workspace, and the files it wrote."""

    project: Project
    audit: AuditResult
    coverage: CoverageResult
    plan: PlanResult
    written: tuple[Path, ...]
    network_source: str


STAGES = 5
"""Steps :func:`run_stages` reports: validating, auditing, the network, coverage, the plan."""


def run_stages(
    workspace: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    network: str | os.PathLike[str] | None = None,
    tier: str = "compound_station",
    lang: Lang = "zh",
    step: Steps | None = None,
) -> StagesRun:
    """Every stage on one workspace, as ``servicegrid demo`` and ``servicegrid batch`` run them.

    Opens (and validates) the workspace, audits it into ``out/audit/``, measures walking coverage
    into ``out/coverage.gpkg`` (and its gaps CSV) and plans ``tier`` into ``out/plan.gpkg`` (and
    its workbook). Every output is checked before any work; a workspace with errors is refused
    (:class:`~servicegrid.errors.WorkspaceErrors`). ``network``: the walking network's file (else
    the workspace's roads, else straight lines).
    """
    from .standards.export import write_audit

    out = Path(out)
    inputs = [workspace, network]
    check_output(out / "audit", kind="folder", inputs=inputs)
    check_output(out / "coverage.gpkg", kind="gpkg", inputs=inputs)
    check_output(out / "plan.gpkg", kind="gpkg", inputs=inputs)
    step = step or Steps(None, STAGES)
    step("validating")
    project = open_workspace(workspace)
    step("auditing facilities")
    audit = audit_workspace(project, lang=lang)
    written = list(write_audit(out / "audit", audit, lang=lang))
    step("loading the walking network")
    net = load_network(project, network)
    step("walking coverage")
    coverage = measure_coverage(project, network=net)
    written += write_coverage(coverage, out / "coverage.gpkg", preset=project.preset, lang=lang)
    step(f"planning {tier}")
    plan = plan_sites(project, tier=tier, network=net)
    written += write_plan(plan, out / "plan.gpkg", preset=project.preset, lang=lang)
    if network is not None:
        used = str(network)
    elif net is not None:
        used = "roads layer"
    else:
        used = "none: straight line × detour factor"
    return StagesRun(project, audit, coverage, plan, tuple(written), used)


@dataclass(frozen=True)
class DemoRun:
    """What :func:`run_demo` generated, computed and wrote."""

    files: DemoFiles
    project: Project
    audit: AuditResult
    coverage: CoverageResult
    plan: PlanResult
    written: tuple[Path, ...]
    maps: tuple[Path, ...] = ()


def run_demo(
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    scale: int = 1,
    lang: Lang = "zh",
    progress: Progress | None = None,
    maps: Callable[[DemoRun], Sequence[Path]] | None = None,
) -> DemoRun:
    """Generate the synthetic demo county into ``out`` and run every stage on it, offline.

    ``scale`` generates a county that many times the demo's size, still one county with one
    walking network (see :func:`servicegrid.demo.build_demo_county`); a value that is not a
    whole number from 1 to 128 (``--scale 0``) is refused before anything is written.

    Writes the workspace and its OpenStreetMap file, then :func:`run_stages`: the audit
    (``audit/``), walking coverage (``coverage.gpkg`` and its gaps CSV) and a plan for compound
    stations (``plan.gpkg``). ``maps`` draws the maps of the run and returns the files it wrote
    — ``servicegrid demo`` passes :func:`servicegrid.maps.write_demo_maps` (the maps sit above
    the pipeline, which cannot import them).
    """
    from .demo import check_scale, write_demo_county

    check_scale(scale)
    out = Path(out)
    step = Steps(progress, 1 + STAGES + (1 if maps else 0))
    step("generating the demo county")
    files = write_demo_county(out, seed=seed, scale=scale)
    stages = run_stages(files.workspace, out, network=files.network, lang=lang, step=step)
    run = DemoRun(
        files,
        stages.project,
        stages.audit,
        stages.coverage,
        stages.plan,
        (files.workspace, files.network, *stages.written),
    )
    if maps is not None:
        step("drawing the maps")
        drawn = tuple(maps(run))
        run = replace(run, written=(*run.written, *drawn), maps=drawn)
    step.finish()
    return run
