"""The ``batch`` command: many counties at once on Dask, a progress bar over the counties, the
table of how each one went and the findings of those that failed.

The counties run in :mod:`servicegrid.batch` (imported inside the command, with Dask).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ._app import Lang, app, console, err_console, findings_table, progress_bar

if TYPE_CHECKING:
    from ..batch import BatchResult


@app.command()
def batch(
    workspaces: Annotated[list[Path], typer.Argument(help="Workspace GeoPackages, one per county.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for one results folder per county and summary.xlsx.")
    ],
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="A Dask scheduler's address (tcp://host:8786) or scheduler file; default: a local "
            "cluster of worker processes on this machine."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes of the local cluster (default: one per core, 1 thread each)."),
    ] = None,
    network_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding `<workspace stem>-walk.osm.pbf` (or .osm, .osm.bz2, .osm.gz, .graphml) "
            "per county; default: beside each workspace. Without a file: the roads layer."
        ),
    ] = None,
    maps: Annotated[
        bool, typer.Option("--maps/--no-maps", help="Draw each county's maps (maps/), as demo does.")
    ] = True,
    timeout: Annotated[
        float, typer.Option(help="Seconds to reach the scheduler and for its first worker to join.")
    ] = 10.0,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en headers and labels.")] = "zh",
) -> None:
    """Run every stage on many counties at once (批量), each county an independent Dask task.

    Per county, into `OUT/<county name or workspace stem>/`: validate, audit/, coverage.gpkg,
    plan.gpkg (compound stations, as demo plans them) and maps/; then OUT/summary.xlsx with one
    row per county. A county that fails is reported and the others finish; the exit status is 1
    when any failed.
    """
    from ..batch import run_batch

    _quiet_dask()
    with progress_bar("batch") as draw:
        result = run_batch(
            workspaces,
            out,
            scheduler=scheduler,
            workers=workers,
            network_dir=network_dir,
            lang=lang,
            maps=maps,
            timeout=timeout,
            progress=draw,
        )
    n = len(result.counties)
    console.print(
        f"ran {n} count{'y' if n == 1 else 'ies'} on {result.engine}", markup=False, highlight=False
    )
    console.print(_counties_table(result, lang))
    for county in result.failed:
        if county.findings is not None and len(county.findings):
            console.print(findings_table(county.findings, title=f"{county.name}: {county.workspace}"))
        err_console.print(f"[bold red]failed:[/] {escape(county.reason)}", highlight=False, soft_wrap=True)
    console.print(
        f"wrote {len(result.counties) - len(result.failed)} of {len(result.counties)} counties and {result.summary}",
        markup=False,
        highlight=False,
    )
    if result.failed:
        raise typer.Exit(1)


def _quiet_dask() -> None:
    """Dask's scheduler and nannies log every start and stop at INFO; show them with --verbose only."""
    import distributed  # sets its loggers' levels on import, so set ours after it

    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger(distributed.__name__).setLevel(logging.WARNING)


def _counties_table(result: BatchResult, lang: Lang) -> Table:
    """One row per county: status, grades, household coverage per tier, the plan's cost and gain."""
    zh = lang == "zh"
    tiers: dict[str, str] = {}
    for county in result.counties:
        for cov in county.coverage:
            tiers.setdefault(cov.tier, cov.label)
    table = Table(title="各县(区)结果" if zh else "Counties")
    table.add_column("结果文件夹" if zh else "folder", overflow="fold")
    table.add_column("状态" if zh else "status")
    table.add_column("示范/达标/不达标" if zh else "model/compliant/below", justify="right")
    for label in tiers.values():
        table.add_column(f"{label} 户覆盖" if zh else f"{label}: households covered", justify="right")
    table.add_column("方案费用(元)" if zh else "plan cost (yuan)", justify="right")
    table.add_column("新覆盖户数" if zh else "newly covered", justify="right")
    for county in result.counties:
        grades = county.grades
        rates = {cov.tier: cov.household_rate for cov in county.coverage}
        plan = county.plan
        status = ("成功" if zh else "ok") if county.ok else "[red]" + ("失败" if zh else "failed") + "[/]"
        table.add_row(
            escape(county.folder.name),
            status,
            f"{grades.model}/{grades.compliant}/{grades.noncompliant}" if grades else "",
            *("" if rates.get(t) is None else f"{rates[t]:.0%}" for t in tiers),
            f"{plan.cost:,.0f}" if plan else "",
            f"{plan.households_new:,.0f}" if plan else "",
        )
    return table
