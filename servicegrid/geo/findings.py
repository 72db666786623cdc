"""Findings: one row per problem in a workspace, with where it is and what to do about it.

Conforming, validating and every stage that checks its input report problems as a findings
frame with the columns :data:`FINDING_COLUMNS` (severity, layer, id, row, field, check, message)
instead of raising at the first one, so that a user sees every problem at once. Errors stop the
stages; warnings and notes do not.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "FINDING_COLUMNS",
    "Severity",
    "concat_findings",
    "count_errors",
    "findings",
    "findings_json",
    "no_findings",
]

Severity = Literal["error", "warning", "info"]
FINDING_COLUMNS = ["severity", "layer", "id", "row", "field", "check", "message"]
_ORDER = {"error": 0, "warning": 1, "info": 2}


def findings(
    severity: Severity,
    layer: str,
    check: str,
    message: Iterable[str] | str,
    *,
    ids: Iterable[object] | None = None,
    rows: Iterable[int] | None = None,
    field: str | None = None,
) -> pd.DataFrame:
    """A findings frame; a single message is broadcast over the ids or rows given.

    Examples
    --------
    >>> f = findings("error", "compounds", "wrong_type", "'abc' is not a number", rows=[3], field="households")
    >>> f[["severity", "layer", "row", "field"]].to_dict("records")
    [{'severity': 'error', 'layer': 'compounds', 'row': 3, 'field': 'households'}]
    """
    messages = [message] if isinstance(message, str) else list(message)
    ids_list = list(ids) if ids is not None else None
    rows_list = list(rows) if rows is not None else None
    n = max(len(messages), len(ids_list or ()), len(rows_list or ()))
    if len(messages) == 1 and n > 1:
        messages = messages * n
    ids_list = ids_list if ids_list is not None else [None] * n
    rows_list = rows_list if rows_list is not None else [None] * n
    return pd.DataFrame(
        {
            "severity": pd.array([severity] * n, dtype="string"),
            "layer": pd.array([layer] * n, dtype="string"),
            "id": pd.array([None if i is None or pd.isna(i) else str(i) for i in ids_list], dtype="string"),
            "row": pd.array(rows_list, dtype="Int64"),
            "field": pd.array([field] * n, dtype="string"),
            "check": pd.array([check] * n, dtype="string"),
            "message": pd.array(messages, dtype="string"),
        },
        index=range(n),
    )


def no_findings() -> pd.DataFrame:
    """An empty findings frame."""
    return _empty().copy()


@functools.cache
def _empty() -> pd.DataFrame:
    # Built once: constructing seven typed empty columns costs about a millisecond, and a
    # workspace check asks for an empty frame hundreds of times.
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else "string") for c in FINDING_COLUMNS})


def concat_findings(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """All ``parts`` in one frame, errors first, then by layer and row (stable otherwise)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return no_findings()
    if any(list(p.columns) != FINDING_COLUMNS for p in frames):
        frames = [_empty(), *frames]  # every column, in order, whatever a part lacks
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    severity = out["severity"].to_numpy(dtype=object, na_value=None)
    rank = np.full(len(out), len(_ORDER))
    for name, value in _ORDER.items():
        rank[severity == name] = value
    layer, _ = pd.factorize(out["layer"], sort=True)
    layer = np.where(layer < 0, layer.max(initial=0) + 1, layer)  # blank layers last, as pandas sorts
    row = out["row"].to_numpy(dtype=float, na_value=np.inf)
    order = np.lexsort((row, layer, rank))  # lexsort is stable: ties keep their order
    return out.take(order).reset_index(drop=True)


def count_errors(found: pd.DataFrame) -> int:
    """Number of error findings."""
    return int((found["severity"] == "error").sum())


def findings_json(found: pd.DataFrame) -> str:
    """The findings as a JSON document (UTF-8, Chinese kept readable)."""
    records = found.astype(object).where(found.notna(), None).to_dict("records")
    errors = count_errors(found)
    warnings = int((found["severity"] == "warning").sum())
    payload = {"errors": errors, "warnings": warnings, "findings": records}
    return json.dumps(payload, ensure_ascii=False, indent=2)
