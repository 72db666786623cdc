"""Commands that build and check a workspace: ``import``, ``import-osm`` and ``validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from ._app import Coords, Format, app, console, err_console, findings_table, say


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
    """Import a file into a workspace layer (导入), replacing that layer if the workspace has it.

    Chinese headers (名称, 户数, 人口, 面积, 层级, 经度, 纬度 …) are recognised, GBK shapefiles without
    a .cpg are detected, GCJ-02 and BD-09 coordinates are converted to WGS-84, and missing parent
    ids are filled by spatial join. The write is atomic: a failed import leaves the workspace as it was.
    """
    from ..geo.readers import read_source
    from ..pipeline import store_layers

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
    say(result.notes)
    stored = store_layers(
        into,
        {result.layer: result.frame},
        description=f"imported from {result.source}",
        source_coords=coords,
    )
    say(stored.notes)
    say([line for line in stored.summary() if line.startswith("replaced")], style="yellow")
    also = f" (also updated: {', '.join(stored.also_changed)})" if stored.also_changed else ""
    console.print(
        f"[bold green]{len(result.frame):,}[/] {result.layer} from {escape(result.source)} → "
        f"{escape(str(into))}{also}"
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
            help="Against the file's bounds (its `<bounds>` element): keep features that touch them "
            "whole, cut them, or keep all."
        ),
    ] = "intersects",
    replace: Annotated[
        list[str] | None,
        typer.Option("--replace", help="Replace this layer of the workspace with the file's (repeatable)."),
    ] = None,
    merge: Annotated[
        list[str] | None,
        typer.Option(
            "--merge",
            help="Add the file's features to this layer, keeping its rows and skipping features "
            "already there (same osm id, or same name within 50 m) (repeatable).",
        ),
    ] = None,
) -> None:
    """Import residential compounds (小区), service facilities and admin boundaries from OpenStreetMap.

    Compounds are landuse=residential areas with their names; facilities are townhalls, community
    centres, social facilities and government offices, with a suggested tier; boundaries that
    assemble become townships and villages. Broken relations (common in website exports) are
    reported and skipped. Into an existing workspace only the layers it lacks are added; a layer
    it has is replaced only with --replace LAYER, or merged with --merge LAYER.
    """
    from ..geo.osm import osm_layers
    from ..pipeline import community_point_notes, store_layers

    layers, notes, communities = osm_layers(source, clip=clip)
    say(notes)
    if not layers:
        console.print("[yellow]nothing to import: no compounds, facilities or boundaries in the file[/]")
        return
    stored = store_layers(
        into,
        layers,
        description=f"imported from {source.name} (© OpenStreetMap contributors, ODbL)",
        existing="keep",
        replace=replace or (),
        merge=merge or (),
    )
    say(stored.notes)
    say(stored.summary())
    say(community_point_notes(communities, stored))
    written = ", ".join(f"{len(layers[name]):,} {name}" for name in stored.given) or "nothing"
    also = f" (also updated: {', '.join(stored.also_changed)})" if stored.also_changed else ""
    console.print(
        f"[bold green]{escape(written)}[/] from {escape(source.name)} → {escape(str(into))}{escape(also)}"
    )


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
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file the tiers are checked against.")
    ] = None,
) -> None:
    """Check a workspace and list every problem at once (校验).

    Layers, columns, types, values of enumerated columns (status, kind, tier, decision), geometry,
    ids, references, nesting, overlaps, uncovered parts, impossible values, swapped or GCJ-02
    coordinates, settings. Exits 0 when there are no errors (warnings allowed), 1 otherwise.
    """
    from ..pipeline import fix_workspace, load_network, open_workspace, validate_workspace

    as_json = output_format == "json"
    info = err_console if as_json else console  # with --format json only the JSON goes to stdout
    project = open_workspace(workspace, preset=preset)
    net = None
    if network is not None:
        with err_console.status("loading the walking network"):
            net = load_network(project, network)
        say([net.summary()], to=info)
        say(net.problems, style="yellow", to=info)
    report = validate_workspace(project, network=net)
    if as_json:
        say(project.notes, to=info)
        console.print_json(report.to_json())
    else:
        say(project.notes, to=info)
        console.print(findings_table(report.findings))
        console.print(
            f"{report.errors} error(s), {report.warnings} warning(s) in {workspace}",
            style="bold red" if report.errors else "bold green",
            markup=False,
        )
    if fix:
        layers = fix_workspace(project)
        info.print(f"wrote repaired geometries and filled parent ids of {', '.join(layers)} to {workspace}")
    raise typer.Exit(0 if report.ok else 1)
