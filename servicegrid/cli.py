"""The ``servicegrid`` command: one Typer app whose commands call the library, nothing more.

Every :class:`~servicegrid.errors.ServiceGridError` is printed as a one-line message (in red,
without a traceback) and the command exits with status 1; bad usage exits with 2.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import geopandas as gpd
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from . import __version__
from .errors import ServiceGridError
from .geo.workspace import atomic_path
from .siting.plan import PlanModel

if TYPE_CHECKING:
    from .coverage.analysis import CoverageResult
    from .coverage.network import StreetNetwork
    from .geo.workspace import Workspace
    from .siting.plan import PlanResult
    from .standards.models import Preset

__all__ = ["app"]


class _UserErrors(TyperGroup):
    """Prints user errors as one line and exits 1 instead of showing a traceback."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except ServiceGridError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_UserErrors,
    name="servicegrid",
    help=(
        "Plan the grassroots service network of a county: audit party-mass service centers "
        "(党群服务中心/站) against their standards, measure walking coverage of compounds (小区), "
        "villages (村) and grids (网格), and propose where to build or upgrade stations."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def version() -> None:
    """Print the servicegrid version."""
    console.print(f"servicegrid {__version__}")


Coords = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


@app.command("import")
def import_layer(
    layer: Annotated[
        str,
        typer.Argument(
            help="Workspace layer: townships, villages, grids, microgrids, compounds, settlements, facilities, "
            "gates, roads, candidates (Chinese names such as 小区 or 网格 work too)."
        ),
    ],
    source: Annotated[
        Path, typer.Argument(help="GeoPackage, GeoJSON, KML/KMZ, Shapefile, or a CSV/XLSX register.")
    ],
    into: Annotated[
        Path, typer.Option("--into", help="Workspace GeoPackage to write into (created if new).")
    ],
    coords: Annotated[
        Coords,
        typer.Option(
            help="Coordinate system of the source: wgs84, cgcs2000, gcj02 (Amap/Tencent), bd09 (Baidu)."
        ),
    ] = "wgs84",
    crs: Annotated[
        str | None, typer.Option(help="Source CRS when the file has none or a wrong one, e.g. EPSG:4547.")
    ] = None,
    source_layer: Annotated[
        str | None, typer.Option(help="Layer of a multi-layer file, or sheet of a workbook.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of a shapefile or CSV (detected when not given).")
    ] = None,
    lon: Annotated[str | None, typer.Option(help="Register column holding longitude (经度).")] = None,
    lat: Annotated[str | None, typer.Option(help="Register column holding latitude (纬度).")] = None,
    wkt: Annotated[str | None, typer.Option(help="Register column holding WKT geometry.")] = None,
) -> None:
    """Import a file into a workspace layer (导入), replacing that layer.

    Chinese headers (名称, 户数, 人口, 面积, 层级, 经度, 纬度 …) are recognised, GBK shapefiles without
    a .cpg are detected, GCJ-02 and BD-09 coordinates are converted to WGS-84, and missing parent
    ids are filled by spatial join. The write is atomic: a failed import leaves the workspace as it was.
    """
    from .geo.readers import read_source

    result = read_source(
        source,
        layer,
        coords=coords,
        source_layer=source_layer,
        encoding=encoding,
        crs=crs,
        lon=lon,
        lat=lat,
        wkt=wkt,
    )
    for note in result.notes:
        console.print(note, style="dim", markup=False)
    written = _store(into, {result.layer: result.frame}, description=f"imported from {result.source}")
    console.print(
        f"[bold green]{len(result.frame):,}[/] {result.layer} from {escape(result.source)} → {escape(str(into))}"
        + (
            f" (also updated: {', '.join(sorted(written - {result.layer}))})"
            if written - {result.layer}
            else ""
        )
    )


@app.command("import-osm")
def import_osm(
    source: Annotated[Path, typer.Argument(help="OpenStreetMap file: .osm, .osm.bz2 or .osm.pbf.")],
    into: Annotated[
        Path, typer.Option("--into", help="Workspace GeoPackage to write into (created if new).")
    ],
    clip: Annotated[
        Literal["intersects", "cut", "none"],
        typer.Option(
            help="Against the file's <bounds>: keep features that touch it whole, cut them, or keep all."
        ),
    ] = "intersects",
) -> None:
    """Import residential compounds (小区), service facilities and admin boundaries from OpenStreetMap.

    Compounds are landuse=residential areas with their names; facilities are townhalls, community
    centres, social facilities and government offices, with a suggested tier; boundaries that
    assemble become townships and villages. Broken relations (common in website exports) are
    reported and skipped.
    """
    from .geo.osm import osm_layers

    layers, notes = osm_layers(source, clip=clip)
    for note in notes:
        console.print(note, style="dim", markup=False)
    if not layers:
        console.print("[yellow]nothing to import: no compounds, facilities or boundaries in the file[/]")
        return
    _store(into, layers, description=f"imported from {source.name} (© OpenStreetMap contributors, ODbL)")
    counts = ", ".join(f"{len(frame):,} {name}" for name, frame in layers.items())
    console.print(f"[bold green]{escape(counts)}[/] from {escape(source.name)} → {escape(str(into))}")


def _store(path: Path, layers: dict[str, gpd.GeoDataFrame], *, description: str) -> set[str]:
    """Write ``layers`` into the workspace with parent ids filled; returns the layers written."""
    from .geo.hierarchy import fill_parent_ids
    from .geo.workspace import Workspace, WorkspaceSettings, read_workspace, write_layers

    existing = read_workspace(path) if path.exists() else Workspace(path, {}, WorkspaceSettings())
    filled, notes = fill_parent_ids(existing.with_layers(**layers))
    touched = set(layers) | {note.split(".", 1)[0] for note in notes}
    for note in notes:
        console.print(note, style="dim", markup=False)
    write_layers(
        path,
        {name: filled.layers[name] for name in touched},
        settings=None if path.exists() else existing.settings,
        description=description,
    )
    return touched


Format = Literal["table", "json"]


@app.command()
def validate(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage to check.")],
    output_format: Annotated[
        Format, typer.Option("--format", "-f", help="table (readable) or json (for other tools).")
    ] = "table",
    fix: Annotated[
        bool, typer.Option("--fix", help="Write repaired geometries and filled parent ids back, atomically.")
    ] = False,
    network: Annotated[
        Path | None,
        typer.Option(
            help="Walking network to check point layers against for a GCJ-02 offset (default: roads)."
        ),
    ] = None,
) -> None:
    """Check a workspace and list every problem at once (校验).

    Layers, columns, types, geometry, ids, references, nesting, overlaps, uncovered parts, impossible
    values, swapped or GCJ-02 coordinates. Exits 0 when there are no errors (warnings allowed), 1
    otherwise.
    """
    from .geo.hierarchy import fill_parent_ids
    from .geo.validate import validate_workspace
    from .geo.workspace import read_workspace, write_layers
    from .standards.records import resolve_tiers

    ws = read_workspace(workspace)
    filled, notes = fill_parent_ids(ws)
    preset = _preset_for(ws)
    paths = _network_for(ws, network).to_frames()[1].geometry if network is not None else None
    report = validate_workspace(
        filled, tier_resolver=lambda tiers: resolve_tiers(tiers, preset, strict=False), paths=paths
    )
    if output_format == "json":
        console.print_json(report.to_json())
    else:
        for note in notes:
            console.print(note, style="dim", markup=False)
        console.print(_findings_table(report.findings))
        console.print(
            f"{report.errors} error(s), {report.warnings} warning(s) in {workspace}",
            style="bold red" if report.errors else "bold green",
        )
    if fix:
        write_layers(workspace, dict(report.workspace.layers))
        console.print(f"wrote repaired layers to {workspace}")
    raise typer.Exit(0 if report.ok else 1)


def _findings_table(findings: pd.DataFrame, *, limit: int = 200) -> Table:
    shown = findings.head(limit)
    caption = (
        f"{len(findings) - limit} more not shown; use --format json for all"
        if len(findings) > limit
        else None
    )
    table = Table(title="Validation findings (校验结果)", caption=caption)
    for column in ("severity", "layer", "id", "row", "field", "message"):
        table.add_column(column, overflow="fold")
    colour = {"error": "red", "warning": "yellow", "info": "blue"}
    cells = shown[["severity", "layer", "id", "row", "field", "message"]].astype(object)
    for severity, *rest in cells.where(cells.notna(), "").to_numpy().tolist():
        table.add_row(f"[{colour.get(severity, 'white')}]{severity}[/]", *(escape(str(v)) for v in rest))
    return table


Lang = Literal["zh", "en"]

standards_app = typer.Typer(
    help="Standards presets (建设标准): show a preset's tiers and items, or check a preset file.",
    no_args_is_help=True,
)
app.add_typer(standards_app, name="standards")


@contextmanager
def _standards_warnings_shown_once() -> Iterator[None]:
    """Silence standards warnings while auditing: the audit keeps them and the command prints them."""
    from .standards.records import StandardsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        yield


def _preset_for(ws: Workspace, preset: str | None = None) -> Preset:
    """The preset named on the command line, else the workspace's (a path relative to the workspace)."""
    from .standards.loader import load_preset, resolve_preset_path

    name = preset or ws.settings.preset
    base = ws.path.parent if ws.path is not None else None
    return load_preset(resolve_preset_path(name, relative_to=base))


@standards_app.command("show")
def standards_show(
    preset: Annotated[str, typer.Argument(help="Built-in preset name or YAML file.")] = "cn-default",
    lang: Annotated[Lang, typer.Option(help="zh or en labels.")] = "zh",
) -> None:
    """Print the tiers, required items, areas, windows and radii of a preset, with their sources."""
    from .standards.loader import load_preset
    from .standards.show import preset_table

    console.print(preset_table(load_preset(preset), lang=lang))


@standards_app.command("check")
def standards_check(
    file: Annotated[Path, typer.Argument(help="Preset YAML file to validate.")],
) -> None:
    """Validate a preset file (and the presets it extends); exits 1 naming the field that is wrong."""
    from .standards.loader import check_preset
    from .standards.show import describe_preset

    console.print(describe_preset(check_preset(file)))


@standards_app.command("list")
def standards_list() -> None:
    """List the built-in presets."""
    from .standards.loader import list_presets

    table = Table(title="Built-in presets (内置标准)")
    for column in ("name", "zh", "en", "extends"):
        table.add_column(column)
    for info in list_presets():
        table.add_row(info.name, info.zh, info.en, info.extends or "")
    console.print(table)


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
    from .geo.hierarchy import fill_parent_ids
    from .geo.workspace import read_workspace
    from .standards.export import run_audit

    ws, _ = fill_parent_ids(read_workspace(workspace))
    with console.status("auditing facilities"), _standards_warnings_shown_once():
        run = run_audit(ws, preset=_preset_for(ws, preset), lang=lang, out_dir=out)
    for message in run.result.messages:
        console.print(message, style="yellow", markup=False)
    console.print(run.table())
    console.print(f"wrote {len(run.files)} files into {out}")


@contextmanager
def _progress(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar that advances one step each time the returned callback names a step."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(title, total=total)

        def step(name: str) -> None:
            bar.update(task, description=f"{title}: {name}", advance=1)

        yield step
        bar.update(task, completed=total)


def _network_for(ws: Workspace, network: Path | None) -> StreetNetwork | None:
    """The walking network: the given file, else the workspace's roads layer, else none (cached beside
    the workspace)."""
    from .coverage.network import load_network

    cache = ws.path.parent / ".servicegrid-cache" if ws.path is not None else None
    if network is not None:
        source: Path | gpd.GeoDataFrame = network
    elif "roads" in ws:
        source = ws.layer("roads")
    else:
        return None
    with console.status("loading the walking network"):
        net = load_network(source, cache_dir=cache, crs=ws.metric_crs)
    console.print(net.summary(), style="dim", markup=False)
    for problem in net.problems:
        console.print(problem, style="yellow", markup=False)
    return net


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
        float, typer.Option(help="Straight line × this factor when there is no network at all.")
    ] = 1.3,
) -> None:
    """Measure walking coverage (覆盖) and list the gaps: 最后一百米 and 最后一公里.

    For every compound, settlement, village and grid: the facility of each tier that should serve
    it, its distance on foot along the network, and whether it is within the tier's radius.
    """
    from .coverage.analysis import coverage_tiers, measure_coverage
    from .geo.hierarchy import fill_parent_ids
    from .geo.workspace import read_workspace, write_layers

    ws, _ = fill_parent_ids(read_workspace(workspace))
    chosen = _preset_for(ws, preset)
    net = _network_for(ws, network)
    steps = 5 + len(coverage_tiers(chosen, radii_m=ws.settings.radii_m))
    with _progress("coverage", steps) as step:
        result = measure_coverage(
            ws, chosen, network=net, include_planned=planned, detour_factor=detour_factor, progress=step
        )
    for note in result.notes:
        console.print(note, style="yellow", markup=False)
    write_layers(out, result.layers(), description=f"servicegrid coverage of {workspace.name}")
    gaps_csv = out.with_name(f"{out.stem}_gaps.csv")
    with atomic_path(gaps_csv) as tmp:
        result.gaps.drop(columns="geometry").to_csv(tmp, index=False, encoding="utf-8-sig")
    console.print(_coverage_table(result, chosen))
    console.print(f"wrote {out} and {gaps_csv.name}")


def _coverage_table(result: CoverageResult, preset: Preset, lang: Lang = "zh") -> Table:
    """Coverage of the county by tier, by units and by households."""
    zh = lang == "zh"
    table = Table(title=("步行覆盖" if zh else "Walking coverage") + f" ({result.method})")
    headers = (
        ("层级", "单元", "覆盖单元", "户数", "覆盖户数", "百米内户数")
        if zh
        else ("tier", "units", "units covered", "households", "covered", "≤100 m")
    )
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i < 2 else "right")
    unit_names = {"compounds": "小区", "settlements": "自然村", "villages": "村/社区", "grids": "网格"}
    for rec in result.county_table().to_dict("records"):
        doorstep = ""
        if rec["tier"] == "compound_station":
            doorstep = (
                "–" if pd.isna(rec["doorstep_household_rate"]) else f"{rec['doorstep_household_rate']:.0%}"
            )
        rate = "–" if pd.isna(rec["household_rate"]) else f"{rec['household_rate']:.0%}"
        table.add_row(
            preset.label("tiers", rec["tier"], lang),
            unit_names.get(rec["unit_layer"], rec["unit_layer"]) if zh else rec["unit_layer"],
            f"{int(rec['units_covered']):,}/{int(rec['units']):,} ({rec['unit_rate']:.0%})",
            f"{rec['households']:,.0f}",
            rate,
            doorstep,
        )
    return table


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo workspace and every result.")
    ] = Path("servicegrid-demo"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same county.")] = 0,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Generate the synthetic demo county (示范县) and run every stage on it, offline.

    The county is clearly labelled synthetic. Stages: validate, audit, walking coverage and a plan
    for compound stations.
    """
    from .coverage.analysis import coverage_tiers, measure_coverage
    from .coverage.network import load_network
    from .geo.demo import write_demo_county
    from .geo.validate import validate_workspace
    from .geo.workspace import read_workspace, write_layers
    from .standards.export import run_audit
    from .standards.records import resolve_tiers

    with console.status("generating the demo county"):
        files = write_demo_county(out, seed=seed)
        ws = read_workspace(files.workspace)
    preset = _preset_for(ws)
    console.print(_workspace_table(ws, files.network_nodes, lang))
    with console.status("validating"):
        report = validate_workspace(
            ws, tier_resolver=lambda tiers: resolve_tiers(tiers, preset, strict=False)
        )
    console.print(f"validate: {report.errors} error(s), {report.warnings} warning(s)")
    with console.status("auditing facilities"), _standards_warnings_shown_once():
        audit_run = run_audit(ws, preset=preset, lang=lang, out_dir=out / "audit")
    for message in audit_run.result.messages:
        console.print(message, style="yellow", markup=False)
    console.print(audit_run.table())
    net = load_network(files.network, cache_dir=out / ".servicegrid-cache", crs=ws.metric_crs)
    steps = 5 + len(coverage_tiers(preset, radii_m=ws.settings.radii_m))
    with _progress("coverage", steps) as step:
        result = measure_coverage(ws, preset, network=net, progress=step)
    write_layers(
        out / "coverage.gpkg", result.layers(), description="servicegrid coverage of the demo county"
    )
    console.print(_coverage_table(result, preset, lang))
    proposal = _run_plan(ws, preset, net, tier="compound_station", model="upgrade-or-build", target=0.98)
    write_layers(out / "plan.gpkg", proposal.layers(), description="servicegrid plan for the demo county")
    _print_plan(proposal, preset, lang)
    console.print(
        f"wrote {files.workspace}, {files.network.name}, {len(audit_run.files)} audit files in "
        f"{out / 'audit'}, {out / 'coverage.gpkg'} and {out / 'plan.gpkg'}"
    )


def _workspace_table(ws: Workspace, network_nodes: int, lang: Lang) -> Table:
    zh = lang == "zh"
    table = Table(title=f"{ws.settings.name} — " + ("工作区" if zh else "workspace"))
    table.add_column("图层" if zh else "layer")
    table.add_column("要素" if zh else "features", justify="right")
    for name, frame in ws.layers.items():
        table.add_row(name, f"{len(frame):,}")
    table.add_row("walking network (OSM nodes)", f"{network_nodes:,}")
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
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Propose where to build or upgrade stations (选址), with a proof of how good the plan is.

    Solved exactly where it can be proven; lists the households each site newly covers, coverage
    before and after per township, and the gap to the optimum. Candidates with a `capacity`
    serve at most that many households (set-cover, max-cover, upgrade-or-build).
    """
    from .geo.hierarchy import fill_parent_ids
    from .geo.workspace import read_workspace, write_layers

    ws, _ = fill_parent_ids(read_workspace(workspace))
    chosen = _preset_for(ws, preset)
    net = _network_for(ws, network)
    result = _run_plan(
        ws,
        chosen,
        net,
        tier=tier,
        model=model,
        p=p,
        budget=budget,
        target=target,
        time_limit=time_limit,
        require=require or (),
        exclude=exclude or (),
    )
    write_layers(out, result.layers(), description=f"servicegrid plan for {tier} in {workspace.name}")
    _print_plan(result, chosen, lang)
    console.print(f"wrote {out}")


def _run_plan(ws: Workspace, preset: Preset, net: StreetNetwork | None, **options: object) -> PlanResult:
    from .siting.plan import plan_sites

    with _progress("plan", 6) as step, _standards_warnings_shown_once():
        result = plan_sites(ws, preset, network=net, progress=step, **options)
    for note in result.notes:
        console.print(note, style="yellow", markup=False)
    return result


def _print_plan(result: PlanResult, preset: Preset, lang: Lang) -> None:
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
        + f"{row['solve_time_s']:.2f} s"
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
