"""The stages on an opened project — validate, audit, coverage, plan — and what they write."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from ..errors import InputError
from ..geo.findings import concat_findings
from ..geo.validate import ValidationReport, gcj_offset_findings
from ..geo.vocabularies import status_breakdown
from ..geo.workspace import atomic_path, write_layers
from ..progress import Progress
from ..standards.models import Preset
from .project import Lang, Project, require_valid

if TYPE_CHECKING:
    from ..coverage.analysis import CoverageResult
    from ..coverage.network import StreetNetwork
    from ..siting.plan import PlanModel, PlanResult
    from ..standards.audit import AuditResult

__all__ = [
    "audit_workspace",
    "check_detour_factor",
    "check_output",
    "fix_workspace",
    "measure_coverage",
    "plan_sites",
    "validate_workspace",
    "write_coverage",
    "write_plan",
]


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
    from ..geo.hierarchy import PARENT_LINKS

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
    from ..standards.audit import audit_layers

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
    from ..coverage.analysis import DEFAULT_DETOUR_FACTOR, measure_layers

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

    from ..siting.plan import plan_layers
    from ..standards.records import StandardsWarning

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

    old = tuple(getattr(result, name))
    return replace(result, **{name: (*notes, *old) if first else (*old, *notes)})


def write_coverage(
    result: CoverageResult, out: str | os.PathLike[str], *, preset: Preset | None = None, lang: Lang = "zh"
) -> list[Path]:
    """Write the coverage layers into the GeoPackage ``out`` and the gaps as ``<out>_gaps.csv``
    (UTF-8 with BOM, for Excel and WPS; headings, gap, unit and tier names in ``lang``). Returns
    the files written."""
    from ..coverage.labels import labelled_gaps

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
    from ..siting.export import write_plan_workbook

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

    from ..geo.workspace import clean_stale_temps

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
