"""The ``servicegrid`` command: one Typer app whose commands call the library, nothing more.

Every :class:`~servicegrid.errors.ServiceGridError` is printed as a one-line message (in red,
without a traceback) and the command exits with status 1; bad usage exits with 2.
"""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from typer.core import TyperGroup

from . import __version__
from .errors import ServiceGridError

__all__ = ["app"]


class _UserErrors(TyperGroup):
    """Prints user errors as one line and exits 1 instead of showing a traceback."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except ServiceGridError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
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
    rich_markup_mode="rich",
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
