"""The stage commands ``audit``, ``coverage`` and ``plan``: options, the tables they end with.

Each command opens the workspace through :mod:`servicegrid.pipeline`, runs one stage there and
prints what it returns; a workspace with errors is refused with its findings table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from ._app import Lang, app, console, opened, progress_bar, say

if TYPE_CHECKING:
    from ..coverage.analysis import CoverageResult
    from ..coverage.network import StreetNetwork
    from ..pipeline import Project
    from ..siting.plan import PlanResult
    from ..standards.audit import AuditResult
    from ..standards.models import Preset

PlanModel = Literal["set-cover", "max-cover", "p-median", "upgrade-or-build"]


@app.command()
def audit(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for workbooks, CSV, GeoJSON and results.gpkg.")],
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file (default: the workspace's setting).")
    ] = None,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en headers, labels and reasons.")] = "zh",
) -> None:
    """Audit every facility against its tier's standard (评估): 示范型 / 达标型 / 不达标.

    Score and stars, missing items, area shortfall, windows, zones, rooms and hours; the 1+1+2+N
    position check and the grid checks; one workbook per township and a county summary.
    """
    import warnings

    from ..pipeline import audit_workspace, check_output, open_workspace
    from ..standards.export import write_audit
    from ..standards.records import StandardsWarning

    check_output(out, kind="folder", inputs=[workspace, *_files(preset)])
    project = open_workspace(workspace, preset=preset)
    opened(project)
    with console.status("auditing facilities"), warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)  # printed once, from result.messages
        result = audit_workspace(project, lang=lang)
        files = write_audit(out, result, lang=lang)
    say(result.messages, style="yellow")
    console.print(audit_table(result))
    console.print(f"wrote {len(files)} files into {out}", markup=False)


def audit_table(result: AuditResult) -> Table:
    """Grades by tier (tiers without facilities left out), for the terminal."""
    from ..standards.headers import _COUNT_SHEET, _h

    lang = result.lang
    county = result.grades_by_tier()
    shown = county[(county["n"] > 0) | (county["tier"] == "total")]
    table = Table(title="评估结果：各层级评级" if lang == "zh" else "Audit: grades by tier")
    for column in ("tier_label", *_COUNT_SHEET[:4], "rate_meets", "n_planned"):
        table.add_column(_h(column, lang), justify="left" if column == "tier_label" else "right")
    for row in shown.itertuples(index=False):
        rate = "–" if row.rate_meets != row.rate_meets else f"{row.rate_meets:.0%}"  # NaN check
        table.add_row(
            str(row.tier_label),
            *(str(int(getattr(row, c))) for c in _COUNT_SHEET[:4]),
            rate,
            str(int(row.n_planned)),
        )
    return table


@app.command()
def coverage(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage.")],
    out: Annotated[Path, typer.Option("--out", help="Results GeoPackage (layers are added or replaced).")],
    network: Annotated[
        Path | None,
        typer.Option(
            help="Walking network: OpenStreetMap .osm/.osm.bz2/.osm.pbf or osmnx .graphml "
            "(default: the workspace's roads layer)."
        ),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file (default: the workspace's).")
    ] = None,
    planned: Annotated[bool, typer.Option("--planned", help="Count planned facilities too.")] = False,
    detour_factor: Annotated[
        float | None,
        typer.Option(help="Straight line × this factor when there is no network at all (default 1.3)."),
    ] = None,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Measure walking coverage (覆盖) and list the gaps: 最后一百米 and 最后一公里.

    For every compound, settlement, village and grid: the facility of each tier that should serve
    it, its distance on foot along the network, and whether it is within the tier's radius.
    """
    from ..pipeline import check_detour_factor, check_output, measure_coverage, open_workspace, write_coverage

    check_detour_factor(detour_factor)
    check_output(out, kind="gpkg", inputs=[workspace, network, *_files(preset)])
    project = open_workspace(workspace, preset=preset)
    opened(project)
    net = _network(project, network)
    with progress_bar("coverage") as draw:
        result = measure_coverage(
            project, network=net, include_planned=planned, detour_factor=detour_factor, progress=draw
        )
    say(result.notes, style="yellow")
    files = write_coverage(result, out, preset=project.preset, lang=lang)
    console.print(coverage_table(result, project.preset, lang))
    console.print(f"wrote {', '.join(str(f) for f in files)}", markup=False)


def _files(preset: str | None) -> list[Path]:
    """The preset as a file, when it names one (an input ``--out`` must not overwrite)."""
    return [Path(preset)] if preset is not None and Path(preset).is_file() else []


def _network(project: Project, source: Path | None) -> StreetNetwork | None:
    """The walking network of ``project`` (the file given, else its roads), with what was built."""
    from ..pipeline import load_network

    with console.status("loading the walking network"):
        net = load_network(project, source)
    if net is not None:
        say([net.summary()])
        say(net.problems, style="yellow")
    return net


def coverage_table(result: CoverageResult, preset: Preset, lang: Lang = "zh") -> Table:
    """Coverage of the county by tier, by units and by households."""
    import pandas as pd

    zh = lang == "zh"
    table = Table(title=("步行覆盖" if zh else "Walking coverage") + f" ({result.method})")
    headers = (
        ("层级", "单元", "覆盖单元", "户数", "覆盖户数", "百米内户数")
        if zh
        else ("tier", "units", "units covered", "households", "covered", "≤100 m")
    )
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i < 2 else "right")
    unit_names = {
        "compounds": "小区",
        "settlements": "自然村",
        "villages": "村/社区",
        "grids": "网格",
        "all": "合计(不重复)",
    }
    for rec in result.county_table().to_dict("records"):
        doorstep = ""
        if rec["tier"] == "compound_station":
            doorstep = (
                "–" if pd.isna(rec["doorstep_household_rate"]) else f"{rec['doorstep_household_rate']:.0%}"
            )
        rate = "–" if pd.isna(rec["household_rate"]) else f"{rec['household_rate']:.0%}"
        unit_rate = "–" if pd.isna(rec["unit_rate"]) else f"{rec['unit_rate']:.0%}"  # no units: not "nan%"
        table.add_row(
            preset.label("tiers", rec["tier"], lang),
            unit_names.get(rec["unit_layer"], rec["unit_layer"])
            if zh
            else ("all, counted once" if rec["unit_layer"] == "all" else rec["unit_layer"]),
            f"{int(rec['units_covered']):,}/{int(rec['units']):,} ({unit_rate})",
            f"{rec['households']:,.0f}",
            rate,
            doorstep,
        )
    return table


@app.command()
def plan(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage.")],
    out: Annotated[Path, typer.Option("--out", help="Plan GeoPackage (layers are added or replaced).")],
    tier: Annotated[str, typer.Option(help="Tier to plan, e.g. compound_station.")] = "compound_station",
    model: Annotated[
        PlanModel,
        typer.Option(help="set-cover, max-cover, p-median or upgrade-or-build."),
    ] = "upgrade-or-build",
    p: Annotated[int | None, typer.Option("--p", help="Number of new sites (max-cover, p-median).")] = None,
    budget: Annotated[
        float | None, typer.Option(help="Budget in yuan (max-cover, upgrade-or-build).")
    ] = None,
    target: Annotated[
        float, typer.Option(help="Share of households to cover in every township (upgrade-or-build).")
    ] = 0.98,
    time_limit: Annotated[
        float, typer.Option(help="Seconds for the solver; the best plan found is kept.")
    ] = 60.0,
    network: Annotated[
        Path | None, typer.Option(help="Walking network file (default: the workspace's roads layer).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file (default: the workspace's).")
    ] = None,
    require: Annotated[
        list[str] | None, typer.Option(help="Facility or candidate id that must be in the plan (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Facility or candidate id the plan may not use (repeatable).")
    ] = None,
    generated: Annotated[
        bool,
        typer.Option(
            "--generated/--no-generated",
            help="Add generated sites: a station in every compound no standard facility reaches, "
            "and without a candidates layer sites at gates and path nodes.",
        ),
    ] = True,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Propose where to build or upgrade stations (选址), with a proof of how good the plan is.

    Solved exactly where it can be proven; lists the households each site newly covers, coverage
    before and after per township, and the gap to the optimum. Candidates with a `capacity`
    serve at most that many households (set-cover, max-cover, upgrade-or-build).
    """
    from ..pipeline import check_output, open_workspace, plan_sites, write_plan

    check_output(out, kind="gpkg", inputs=[workspace, network, *_files(preset)])
    project = open_workspace(workspace, preset=preset)
    opened(project)
    net = _network(project, network)
    with progress_bar("plan") as draw:
        result = plan_sites(
            project,
            tier=tier,
            model=model,
            network=net,
            p=p,
            budget=budget,
            target=target,
            time_limit=time_limit,
            require=require or (),
            exclude=exclude or (),
            generate=generated,
            progress=draw,
        )
    say(result.notes, style="yellow")
    files = write_plan(result, out, preset=project.preset, lang=lang)
    print_plan(result, project.preset, lang)
    console.print(f"wrote {', '.join(str(f) for f in files)}", markup=False)


def print_plan(result: PlanResult, preset: Preset, lang: Lang) -> None:
    """The plan's headline, its before/after table per township and what it could not reach."""
    zh = lang == "zh"
    row = result.summary.iloc[0]
    gap = "0" if row["gap"] == 0 else f"{row['gap']:.2%}"
    console.print(
        ("选址方案" if zh else "Plan")
        + f" ({preset.label('tiers', row['tier'], lang)}, {row['model']}): {row['status']}, "
        + (
            f"新建 {row['new_sites']} 处、改造 {row['upgrades']} 处"
            + (f"（含必选 {row['required_sites']} 处）" if row["required_sites"] else "")
            + f"，费用 {row['cost']:,.0f} 元"
            if zh
            else f"{row['new_sites']} new, {row['upgrades']} upgrades"
            + (f" ({row['required_sites']} required)" if row["required_sites"] else "")
            + f", cost {row['cost']:,.0f} yuan"
        )
        + f"; objective {row['objective']:,.0f}, bound {row['bound']:,.0f}, gap {gap}, "
        + f"{row['solve_time_s']:.2f} s",
        markup=False,
    )
    units = row["weight"] == "units"
    if zh:
        title = "方案前后覆盖（" + ("单元" if units else "户") + "）"
    else:
        title = f"Coverage before and after ({row['weight']})"
    table = Table(title=title)
    headers = (
        ("乡镇/街道", "单元" if units else "户数", "现有达标", "方案后")
        if zh
        else ("township", row["weight"], "before", "after")
    )
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    name = "township_name" if "township_name" in result.before_after else "township_id"
    for rec in result.before_after.to_dict("records"):
        table.add_row(
            str(rec[name]),
            f"{rec['households']:,.0f}",
            f"{rec['rate_before']:.0%}",
            f"{rec['rate_after']:.0%}",
        )
    table.add_row(
        "合计" if zh else "total",
        f"{row['households']:,.0f}",
        f"{row['rate_before']:.0%}",
        f"{row['rate_after']:.0%}",
        style="bold",
    )
    console.print(table)
    if row["households_uncoverable"]:
        console.print(
            f"[yellow]{row['households_uncoverable']:,.0f} {row['weight']} have no candidate site within reach "
            "(layer plan_uncoverable); coverage targets count only the reachable ones[/]"
        )
