"""The ``standards`` commands: show a preset's tiers and items, check a preset file, list presets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._app import Lang, app, console

standards_app = typer.Typer(
    help="Standards presets (建设标准): show a preset's tiers and items, or check a preset file.",
    no_args_is_help=True,
)
app.add_typer(standards_app, name="standards")


@standards_app.command("show")
def standards_show(
    preset: Annotated[str, typer.Argument(help="Built-in preset name or YAML file.")] = "cn-default",
    lang: Annotated[Lang, typer.Option(help="zh or en labels.")] = "zh",
) -> None:
    """Print the tiers, required items, areas, windows and radii of a preset, with their sources."""
    from ..standards.loader import load_preset
    from ..standards.show import preset_table

    console.print(preset_table(load_preset(preset), lang=lang))


@standards_app.command("check")
def standards_check(
    file: Annotated[Path, typer.Argument(help="Preset YAML file to validate.")],
) -> None:
    """Validate a preset file (and the presets it extends); exits 1 naming the field that is wrong."""
    from ..standards.loader import check_preset
    from ..standards.show import describe_preset

    console.print(describe_preset(check_preset(file)))


@standards_app.command("list")
def standards_list() -> None:
    """List the built-in presets."""
    from ..standards.loader import list_presets

    table = Table(title="Built-in presets (内置标准)")
    for column in ("name", "zh", "en", "extends"):
        table.add_column(column)
    for info in list_presets():
        table.add_row(info.name, info.zh, info.en, info.extends or "")
    console.print(table)
