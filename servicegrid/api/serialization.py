"""Writing answers: orjson on the hot path, GeoJSON and CSV media types, numbers made JSON-safe.

Routes build plain dicts and lists and return them through :func:`geojson` or :func:`json`,
which serialize with orjson directly (no per-request pydantic model is constructed; the pydantic
models of :mod:`.schemas` only document the answers in OpenAPI). NaN and infinite numbers become
``null``; numpy scalars and arrays are written as numbers and lists.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
from starlette.responses import Response

__all__ = [
    "CSV_MEDIA_TYPE",
    "GEOJSON_MEDIA_TYPE",
    "csv_response",
    "finite",
    "geojson",
    "json",
    "records",
    "rounded",
]

GEOJSON_MEDIA_TYPE = "application/geo+json"
CSV_MEDIA_TYPE = "text/csv"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return finite(float(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    msg = f"cannot serialize {type(value).__name__}"
    raise TypeError(msg)


def dumps(content: Any) -> bytes:
    """``content`` as JSON bytes (orjson; NaN becomes null)."""
    return orjson.dumps(content, default=_default, option=_OPTIONS)


def json(content: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(dumps(content), status_code=status, media_type="application/json", headers=headers)


def geojson(content: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A GeoJSON response (``application/geo+json``)."""
    return Response(dumps(content), status_code=status, media_type=GEOJSON_MEDIA_TYPE, headers=headers)


def finite(value: float | None) -> float | None:
    """``value``, or None when it is missing, NaN or infinite."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    """``value`` rounded for an answer (None when not finite)."""
    value = finite(value)
    return None if value is None else round(value, digits)


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain values (missing values as None)."""
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    if not len(frame):
        return []
    out = frame[columns].astype(object)
    out = out.where(pd.notna(out), None)
    rows = out.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return rows


def csv_response(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, filename: str) -> Response:
    """A CSV answer (UTF-8 with a byte-order mark, so Excel and WPS read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return Response(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
