"""The Typer app every command module adds to, and what they share: consoles, errors, progress.

Every :class:`~servicegrid.errors.ServiceGridError` is printed as a one-line message (in red,
without a traceback) and the command exits with status 1; a workspace a stage refuses also gets
its findings table, the one ``servicegrid validate`` prints. Bad usage exits with 2. Nothing here
imports the library's heavy modules: ``servicegrid --help`` stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from .. import __version__
from ..errors import ServiceGridError, WorkspaceErrors

if TYPE_CHECKING:
    import pandas as pd

    from ..pipeline import Project

__all__ = ["Coords", "Format", "Lang", "app", "console", "err_console"]

Lang = Literal["zh", "en"]
Format = Literal["table", "json"]
Coords = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]

console = Console()
err_console = Console(stderr=True)


class _UserErrors(TyperGroup):
    """Prints user errors as one line (and a refused workspace's findings) and exits 1."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except WorkspaceErrors as exc:
            console.print(findings_table(exc.findings))  # type: ignore[arg-type]
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
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


def say(lines: Iterable[str], *, style: str = "dim", to: Console | None = None) -> None:
    """Print each line literally (file names and values may contain [brackets])."""
    for line in lines:
        shown = "yellow" if line.startswith("warning:") else style
        (to or console).print(line, style=shown, markup=False, highlight=False)


def findings_table(findings: pd.DataFrame, *, limit: int = 200, title: str | None = None) -> Table:
    """The findings as a table: severity, layer, id, row, field, message (the first ``limit``)."""
    shown = findings.head(limit)
    caption = (
        f"{len(findings) - limit} more not shown; use 'servicegrid validate --format json' for all"
        if len(findings) > limit
        else None
    )
    table = Table(title=title or "Validation findings (校验结果)", caption=caption)
    for column in ("severity", "layer", "id", "row", "field", "message"):
        table.add_column(column, overflow="fold")
    colour = {"error": "red", "warning": "yellow", "info": "blue"}
    cells = shown[["severity", "layer", "id", "row", "field", "message"]].astype(object)
    for severity, *rest in cells.where(cells.notna(), "").to_numpy().tolist():
        table.add_row(f"[{colour.get(severity, 'white')}]{severity}[/]", *(escape(str(v)) for v in rest))
    return table


def opened(project: Project, *, to: Console | None = None) -> None:
    """What opening a workspace found that a stage goes on past: filled ids and warnings, once.

    A workspace with errors is refused here, before any network is loaded: the findings table
    (warnings included) is printed once, by the error handler.
    """
    from ..pipeline import require_valid

    require_valid(project)
    say(project.notes, to=to)
    if len(project.warnings):
        (to or console).print(findings_table(project.warnings, title="Warnings (警告)"))


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar that a stage moves: each call names the step and how far the stage is."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(title, total=None)

        def draw(step: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {step}", completed=done, total=total)

        yield draw
