"""One county of a batch: the task a worker runs, and what it sends back.

:func:`run_county` runs what ``servicegrid demo`` runs on a county's own workspace — open and
validate, audit, walking coverage, a plan for compound stations and (unless told not to) the
maps — through the same :mod:`servicegrid.pipeline` and :mod:`servicegrid.maps` functions the
single commands call, writes the same files into the county's folder and returns a
:class:`CountySummary`: a few numbers and names, small enough to send from a worker to the
client (no GeoDataFrames). A problem the user can fix (a workspace with errors, a missing file)
is a county with ``status="failed"`` and its reason (and findings), never an exception.

:func:`county_jobs` turns the workspaces given into :class:`CountyJob` s, one folder each;
:func:`find_network` says which walking network a county is measured on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import InputError, ServiceGridError, WorkspaceErrors

if TYPE_CHECKING:
    import pandas as pd

    from ..coverage.analysis import CoverageResult
    from ..pipeline import Project
    from ..siting.plan import PlanResult
    from ..standards.audit import AuditResult

__all__ = [
    "NETWORK_SUFFIXES",
    "CountyJob",
    "CountySummary",
    "GradeCounts",
    "PlanFigures",
    "TierCoverage",
    "county_jobs",
    "find_network",
    "run_county",
]

logger = logging.getLogger(__name__)

Lang = Literal["zh", "en"]
Status = Literal["ok", "failed"]

NETWORK_SUFFIXES = (".osm.pbf", ".osm", ".osm.bz2", ".osm.gz", ".graphml")
"""How a county's walking network file may end: ``<workspace stem>-walk<suffix>``."""

PLAN_TIER = "compound_station"
"""The tier a batch plans, as ``servicegrid demo`` does."""

_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f\x7f]+')
_MAX_FOLDER_CHARS = 100


@dataclass(frozen=True)
class CountyJob:
    """What a worker needs to run one county: absolute paths and the options of the batch."""

    workspace: Path
    folder: Path
    name: str
    network_dir: Path | None = None
    lang: Lang = "zh"
    maps: bool = True


@dataclass(frozen=True)
class GradeCounts:
    """Existing facilities of the county by audit grade (the audit's total row)."""

    total: int
    model: int
    compliant: int
    noncompliant: int
    planned: int


@dataclass(frozen=True)
class TierCoverage:
    """Walking coverage of the county by one tier, demand units counted once across layers."""

    tier: str
    label: str
    units: int
    units_covered: int
    households: float
    households_covered: float

    @property
    def household_rate(self) -> float | None:
        """Share of households covered (None without households)."""
        return self.households_covered / self.households if self.households else None


@dataclass(frozen=True)
class PlanFigures:
    """The plan's headline: how it was solved, what it costs and whom it newly covers."""

    tier: str
    status: str
    objective: float
    bound: float
    gap: float
    new_sites: int
    upgrades: int
    cost: float
    households_before: float
    households_after: float
    rate_before: float
    rate_after: float

    @property
    def households_new(self) -> float:
        """Households the plan newly covers."""
        return self.households_after - self.households_before


@dataclass(frozen=True)
class CountySummary:
    """What a county's task sends back: status, the figures of each stage and the files written.

    ``findings`` holds the error findings when the workspace was refused (the table
    ``servicegrid validate`` prints), else ``None``; ``reason`` is the one-line reason of a
    failed county. ``network`` says what the walking distances were measured on. ``worker`` is
    the host and process the task ran in, ``seconds`` how long it took there.
    """

    workspace: Path
    folder: Path
    name: str
    status: Status
    reason: str = ""
    findings: pd.DataFrame | None = field(default=None, repr=False)
    network: str = ""
    warnings: int = 0
    grades: GradeCounts | None = None
    coverage: tuple[TierCoverage, ...] = ()
    plan: PlanFigures | None = None
    files: tuple[Path, ...] = field(default=(), repr=False)
    seconds: float = 0.0
    worker: str = ""

    @property
    def ok(self) -> bool:
        """True when every stage ran and wrote its files."""
        return self.status == "ok"


def county_jobs(
    workspaces: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    network_dir: str | os.PathLike[str] | None = None,
    lang: Lang = "zh",
    maps: bool = True,
) -> list[CountyJob]:
    """One job per workspace, each with its own folder ``out/<county name or workspace stem>/``.

    The folder is named after the county (the workspace's ``name`` setting), else the
    workspace's file name without ``.gpkg``; characters file systems refuse become ``_``, and a
    name already taken (compared case-folded) gets ``_2``, ``_3`` … in the order given. A
    workspace that cannot be read is named by its stem (its task then fails with the reason).

    Raises
    ------
    InputError
        No workspace, the same workspace twice, ``out`` a file, or ``network_dir`` not a folder.
    """
    if not workspaces:
        msg = "give at least one workspace GeoPackage"
        raise InputError(msg)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file; give a folder for the counties' results (it is created if new)"
        raise InputError(msg)
    net_dir = None if network_dir is None else Path(network_dir).resolve()
    if net_dir is not None and not net_dir.is_dir():
        msg = f"--network-dir {network_dir} is not a folder"
        raise InputError(msg)
    paths = [Path(w).resolve() for w in workspaces]
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            msg = "the same workspace is given twice; give each county once"
            raise InputError(msg, source=path)
        seen.add(path)
    taken: set[str] = {"summary.xlsx"}
    jobs = []
    for path in paths:
        name = county_name(path) or path.stem
        folder = _folder_name(name, path.stem, taken)
        taken.add(folder.casefold())
        jobs.append(CountyJob(path, out / folder, name, net_dir, lang, maps))
    return jobs


def county_name(path: Path) -> str | None:
    """The ``name`` setting of the workspace at ``path``, read without loading its layers (None
    when the file is not a readable workspace or has no name)."""
    from ..geo.workspace import SETTINGS_TABLE

    if not path.is_file():
        return None
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
            row = db.execute(f'SELECT value FROM "{SETTINGS_TABLE}" WHERE key = ?', ("name",)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except (TypeError, json.JSONDecodeError):
        return None
    return value.strip() or None if isinstance(value, str) else None


def _folder_name(name: str, stem: str, taken: set[str]) -> str:
    """A folder name for ``name`` (else ``stem``) that no other county of the batch has."""
    base = _UNSAFE.sub("_", name).strip("_.")[:_MAX_FOLDER_CHARS] or _UNSAFE.sub("_", stem).strip("_.")
    base = base or "county"
    candidate, i = base, 1
    while candidate.casefold() in taken:
        i += 1
        candidate = f"{base}_{i}"
    return candidate


def find_network(
    workspace: str | os.PathLike[str], network_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """The walking network file of a county: ``<workspace stem>-walk<suffix>`` (suffixes:
    :data:`NETWORK_SUFFIXES`) in ``network_dir``, else beside the workspace; ``None`` when
    there is none (then :func:`servicegrid.pipeline.load_network` takes the ``roads`` layer).

    ``servicegrid demo`` writes ``demo-county-walk.osm`` beside ``demo-county.gpkg``.

    Raises
    ------
    InputError
        Naming the workspace, when one folder holds two network files for it.
    """
    workspace = Path(workspace)
    folders = [Path(network_dir)] if network_dir is not None else []
    folders.append(workspace.parent)
    for folder in folders:
        found = [folder / f"{workspace.stem}-walk{suffix}" for suffix in NETWORK_SUFFIXES]
        found = [path for path in found if path.is_file()]
        if len(found) > 1:
            msg = (
                f"more than one walking network for this workspace ({', '.join(p.name for p in found)} "
                f"in {folder}); keep one"
            )
            raise InputError(msg, source=workspace)
        if found:
            return found[0]
    return None


def run_county(job: CountyJob) -> CountySummary:
    """Run every stage on one county and write its files into ``job.folder``; never raises for a
    problem the user can fix (the county is then ``failed``, with the reason).

    Writes ``audit/`` (:func:`~servicegrid.standards.export.write_audit`), ``coverage.gpkg``
    and its gaps CSV (:func:`~servicegrid.pipeline.write_coverage`), ``plan.gpkg`` and its
    workbook (:func:`~servicegrid.pipeline.write_plan`) and, with ``job.maps``, ``maps/``
    (:func:`~servicegrid.maps.write_maps`, the township pictures also on the audit workbooks).
    """
    started = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    try:
        summary = _run(job)
    except WorkspaceErrors as exc:
        findings = exc.findings[exc.findings["severity"] == "error"].reset_index(drop=True)  # type: ignore[index]
        logger.info("%s: refused: %s", job.workspace, exc)
        summary = CountySummary(
            job.workspace, job.folder, job.name, "failed", reason=str(exc), findings=findings
        )
    except ServiceGridError as exc:
        logger.info("%s: failed: %s", job.workspace, exc)
        reason = str(exc) if str(job.workspace) in str(exc) else f"{job.workspace}: {exc}"
        summary = CountySummary(job.workspace, job.folder, job.name, "failed", reason=reason)
    return replace(summary, seconds=time.perf_counter() - started, worker=where)


def _run(job: CountyJob) -> CountySummary:
    from ..maps import write_stage_maps
    from ..pipeline import run_stages

    run = run_stages(
        job.workspace,
        job.folder,
        network=find_network(job.workspace, job.network_dir),
        tier=PLAN_TIER,
        lang=job.lang,
    )
    written = list(run.written)
    if job.maps:
        written += write_stage_maps(job.folder, run, plan_tier=PLAN_TIER)
    return CountySummary(
        workspace=job.workspace,
        folder=job.folder,
        name=job.name,
        status="ok",
        network=run.network_source,
        warnings=len(run.project.warnings),
        grades=_grades(run.audit),
        coverage=_coverage(run.coverage, run.project, job.lang),
        plan=_plan(run.plan),
        files=tuple(written),
    )


def _grades(audit: AuditResult) -> GradeCounts:
    table = audit.grades_by_tier()
    total = table[table["tier"] == "total"].iloc[0]
    return GradeCounts(
        total=int(total["n"]),
        model=int(total["n_model"]),
        compliant=int(total["n_compliant"]),
        noncompliant=int(total["n_noncompliant"]),
        planned=int(total["n_planned"]),
    )


def _coverage(result: CoverageResult, project: Project, lang: Lang) -> tuple[TierCoverage, ...]:
    table = result.county_table()
    rows = table[table["unit_layer"] == "all"]
    return tuple(
        TierCoverage(
            tier=str(rec["tier"]),
            label=project.preset.label("tiers", rec["tier"], lang),
            units=int(rec["units"]),
            units_covered=int(rec["units_covered"]),
            households=float(rec["households"]),
            households_covered=float(rec["households_covered"]),
        )
        for rec in rows.to_dict("records")
    )


def _plan(result: PlanResult) -> PlanFigures:
    row = result.summary.iloc[0]
    return PlanFigures(
        tier=str(row["tier"]),
        status=str(row["status"]),
        objective=float(row["objective"]),
        bound=float(row["bound"]),
        gap=float(row["gap"]),
        new_sites=int(row["new_sites"]),
        upgrades=int(row["upgrades"]),
        cost=float(row["cost"]),
        households_before=float(row["households_before"]),
        households_after=float(row["households_after"]),
        rate_before=float(row["rate_before"]),
        rate_after=float(row["rate_after"]),
    )
