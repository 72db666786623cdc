"""Every stage on one workspace into a folder (:func:`run_stages`), and the demo county's run."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..progress import Progress, Steps
from .project import Lang, Project, load_network, open_workspace
from .stages import audit_workspace, check_output, measure_coverage, plan_sites, write_coverage, write_plan

if TYPE_CHECKING:
    from ..coverage.analysis import CoverageResult
    from ..demo import DemoFiles
    from ..siting.plan import PlanResult
    from ..standards.audit import AuditResult

__all__ = ["STAGES", "DemoRun", "StagesRun", "run_demo", "run_stages"]


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
    from ..standards.export import write_audit

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
    from ..demo import check_scale, write_demo_county

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
