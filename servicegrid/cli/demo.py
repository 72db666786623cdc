"""The ``demo`` command: the synthetic demo county, every stage run on it, and what it shows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ._app import Lang, app, console, progress_bar, say
from .stages import audit_table, coverage_table, print_plan

if TYPE_CHECKING:
    from ..pipeline import DemoRun


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo workspace and every result.")
    ] = Path("servicegrid-demo"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same county.")] = 0,
    scale: Annotated[
        int,
        typer.Option(
            help="Size: N times the demo county (more townships, villages, compounds and roads, "
            "still one county with one walking network); 1 is the demo county."
        ),
    ] = 1,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en labels.")] = "zh",
) -> None:
    """Generate the synthetic demo county (示范县) and run every stage on it, offline.

    The county is clearly labelled synthetic. Stages: validate, audit, walking coverage, a plan
    for compound stations, and the maps (county and townships, in maps/). `--scale 16` makes a
    county 16 times the size, for trying servicegrid at city or province scale.
    """
    from ..demo import check_scale
    from ..maps import write_demo_maps
    from ..pipeline import run_demo

    check_scale(scale)  # a one-line error before the progress bar starts
    with progress_bar("demo") as draw:
        run = run_demo(out, seed=seed, scale=scale, lang=lang, progress=draw, maps=write_demo_maps)
    console.print(_workspace_table(run, lang))
    found = run.project.findings
    errors = int((found["severity"] == "error").sum())
    warnings = int((found["severity"] == "warning").sum())
    console.print(f"validate: {errors} error(s), {warnings} warning(s)")
    say(run.audit.messages, style="yellow")
    console.print(audit_table(run.audit))
    say(run.coverage.notes, style="yellow")
    console.print(coverage_table(run.coverage, run.project.preset, lang))
    say(run.plan.notes, style="yellow")
    print_plan(run.plan, run.project.preset, lang)
    console.print(f"wrote {len(run.written)} files into {out}:", markup=False)
    say(f"  {path}" for path in run.written if path.parent in (out, out / "audit"))
    maps = [path for path in run.maps if path.suffix == ".html"]
    console.print(f"maps ({len(maps)}, open in a browser, offline):", markup=False)
    say(f"  {path}" for path in maps)
    console.print(
        f"serve it: servicegrid serve {run.files.workspace} --network {run.files.network} "
        "(then http://127.0.0.1:8000/docs)",
        markup=False,
        soft_wrap=True,
    )


def _workspace_table(run: DemoRun, lang: Lang) -> Table:
    zh = lang == "zh"
    ws = run.project.workspace
    table = Table(title=f"{ws.settings.name} — " + ("工作区" if zh else "workspace"))
    table.add_column("图层" if zh else "layer")
    table.add_column("要素" if zh else "features", justify="right")
    for name, frame in ws.layers.items():
        table.add_row(name, f"{len(frame):,}")
    table.add_row("walking network (OSM nodes)", f"{run.files.network_nodes:,}")
    return table
