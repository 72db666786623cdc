"""The ``map`` command: a coverage map per county and per township that opens offline in a browser.

Results not given as files are computed through the pipeline, as ``audit``, ``coverage`` and
``plan`` would; the maps themselves are drawn by :mod:`servicegrid.maps`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from ._app import Lang, app, console, opened, progress_bar, say

if TYPE_CHECKING:
    from ..maps.files import MapsWritten

Basemap = Literal["none", "tianditu", "amap", "osm"]


@app.command(name="map")
def map_command(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for county.html and townships/*.html.")],
    coverage: Annotated[
        Path | None, typer.Option(help="Results of 'servicegrid coverage' (default: computed).")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Results of 'servicegrid plan' (default: computed).")
    ] = None,
    audit: Annotated[
        Path | None,
        typer.Option(
            help="Folder written by 'servicegrid audit' (default: computed); its township workbooks "
            "get the township pictures."
        ),
    ] = None,
    township: Annotated[
        list[str] | None,
        typer.Option("--township", help="Only this township's map (its id; repeat for more)."),
    ] = None,
    basemap: Annotated[
        Basemap, typer.Option(help="none (default, offline), tianditu (needs a key), amap (GCJ-02), osm.")
    ] = "none",
    tianditu_key: Annotated[str | None, typer.Option(help="Tianditu key for --basemap tianditu.")] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            help="Tier whose coverage is shown first (default: the plan's), and planned when computed."
        ),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option(help="Walking network for computed coverage and plans (default: the roads layer)."),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file (default: the workspace's).")
    ] = None,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Draw coverage maps (覆盖图): county.html and one map per township, self-contained, offline.

    Layers: boundaries, household coverage per village and grid, compounds and settlements by
    walking distance, facilities by grade (popups list what they lack), service areas, the gaps
    (最后一百米, 最后一公里), the plan. With --basemap amap every layer is converted to GCJ-02.
    """
    from ..maps import add_pictures, map_data, write_maps
    from ..maps.basemaps import check_basemap
    from ..pipeline import load_network, open_workspace

    check_basemap(basemap, tianditu_key=tianditu_key)
    project = open_workspace(workspace, preset=preset)
    opened(project)
    needs_network = coverage is None or plan is None
    net = None
    if needs_network:
        with console.status("loading the walking network"):
            net = load_network(project, network)
    with progress_bar("map") as draw:
        data = map_data(
            project,
            audit=audit,
            coverage=coverage,
            plan=plan,
            network=net,
            plan_tier=tier or "compound_station",
            lang=lang,
            progress=draw,
        )
        written = write_maps(
            out,
            data,
            townships=township,
            basemap=basemap,
            tianditu_key=tianditu_key,
            tier=tier,
            lang=lang,
            progress=draw,
        )
    console.print(_layers_table(written, lang))
    console.print(_files_table(written, lang))
    for file in written.maps:
        say((f"{file.path.name}: {note}" for note in file.notes), style="yellow")
    if audit is not None and audit.is_dir():
        changed = add_pictures(audit, written.png, data, lang=lang)
        console.print(f"added the township picture to {len(changed)} workbooks in {audit}", markup=False)
    console.print(f"wrote {len(written.paths)} files into {out}", markup=False)


def _files_table(written: MapsWritten, lang: Lang) -> Table:
    zh = lang == "zh"
    table = Table(title="地图文件" if zh else "Map files")
    for header in ("文件", "大小 MB", "顶点", "图层") if zh else ("file", "MB", "vertices", "layers"):
        table.add_column(header, justify="left" if header in ("文件", "file") else "right")
    for file in written.maps:
        table.add_row(str(file.path), f"{file.bytes / 1e6:.2f}", f"{file.vertices:,}", str(len(file.layers)))
    return table


def _layers_table(written: MapsWritten, lang: Lang) -> Table:
    """The layers of the county map (else the first township map): features and vertices."""
    zh = lang == "zh"
    first = written.maps[0]
    table = Table(title=f"{first.path.name} — " + ("图层" if zh else "layers"))
    for header in ("图层", "要素", "顶点", "默认显示") if zh else ("layer", "features", "vertices", "shown"):
        table.add_column(header, justify="left" if header in ("图层", "layer") else "right")
    for layer in first.layers:
        table.add_row(layer.name, f"{layer.features:,}", f"{layer.vertices:,}", "✓" if layer.shown else "")
    return table
