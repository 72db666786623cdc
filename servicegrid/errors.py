"""The exception hierarchy: every problem a user can fix is a ServiceGridError.

The command line prints these without a traceback and exits non-zero; anything else that
escapes is a bug. Each subclass also inherits the matching builtin so that ``except ValueError``
keeps working for library users.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "CRSError",
    "InputError",
    "NetworkError",
    "ServiceGridError",
    "StandardsError",
    "WorkspaceErrors",
]


class ServiceGridError(Exception):
    """A problem with the user's data, settings or request, with a message that says what to do."""


class InputError(ServiceGridError, ValueError):
    """A file, layer, row or field that cannot be read as given.

    The message is prefixed with where the problem is, e.g.
    ``villages.shp, row 12, field '户数' (households): 'abc' is not a number``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | PathLike[str] | None = None,
        layer: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
        header: str | None = None,
    ) -> None:
        self.source = None if source is None else str(source)
        self.layer = layer
        self.row = row
        self.field = field
        self.header = header
        self.detail = message
        super().__init__(_locate(message, self.source, layer, row, field, header))


class CRSError(ServiceGridError, ValueError):
    """A missing, unknown or unsuitable coordinate reference system."""


class StandardsError(ServiceGridError, ValueError):
    """A standards preset that cannot be loaded, or data that does not fit it."""


class NetworkError(ServiceGridError, ValueError):
    """A walking network that is empty, corrupt or does not overlap the planning area."""


class WorkspaceErrors(ServiceGridError, ValueError):
    """A workspace with errors that a stage refuses to run on; ``findings`` lists every problem.

    The findings are a frame with one row per problem (severity, layer, id, row, field, check,
    message), the same that ``servicegrid validate`` prints.
    """

    def __init__(self, findings: object, *, source: str | PathLike[str] | None = None) -> None:
        self.findings = findings
        self.source = None if source is None else str(source)
        errors = int((findings["severity"] == "error").sum())  # type: ignore[index]
        where = f"{self.source}: " if self.source else ""
        super().__init__(
            f"{where}the workspace has {errors} error(s); fix them (see 'servicegrid validate') and run again"
        )


def _locate(
    message: str,
    source: str | None,
    layer: str | None,
    row: int | str | None,
    field: str | None,
    header: str | None = None,
) -> str:
    where = []
    if source:
        where.append(source)
    if layer:
        where.append(f"layer '{layer}'")
    if row is not None:
        where.append(f"row {row}")
    if field:
        # Name the column as the user's file heads it, and the canonical field it maps to.
        where.append(f"field '{header}' ({field})" if header and header != field else f"field '{field}'")
    return f"{', '.join(where)}: {message}" if where else message
