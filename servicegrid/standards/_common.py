"""Helpers shared by the audit modules: language checks, text assembled per facility, columns.

The text helpers build one string per row from numpy object arrays, looping over catalogue
entries or message parts (a handful), never over rows.
"""

from __future__ import annotations

from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from .models import Lang

__all__ = [
    "UNASSIGNED",
    "check_lang",
    "column_values",
    "fill",
    "join_masked",
    "join_parts",
    "pick",
    "when",
    "with_string_ids",
]

UNASSIGNED = ""
"""Township id used for facilities and units that lie in no known township."""


def check_lang(lang: str) -> None:
    """Refuse a language other than 'zh' and 'en'."""
    if lang not in get_args(Lang):
        msg = f"lang={lang!r} not supported; use one of {get_args(Lang)}"
        raise ValueError(msg)


def pick(lang: Lang, zh: str, en: str) -> str:
    """``zh`` or ``en`` by ``lang``."""
    return zh if lang == "zh" else en


def join_masked(mask: np.ndarray, names: list[str], sep: str) -> np.ndarray:
    """Per row, the ``names`` whose column in ``mask`` is True, joined by ``sep``."""
    out = np.full(len(mask), "", dtype=object)
    for j, name in enumerate(names):
        hit = mask[:, j]
        if hit.any():
            out[hit] = np.where(out[hit] == "", name, out[hit] + sep + name)
    return out


def join_parts(parts: list[np.ndarray], sep: str) -> np.ndarray:
    """Per row, the non-empty ``parts`` joined by ``sep``."""
    out = np.full(len(parts[0]) if parts else 0, "", dtype=object)
    for part in parts:
        has = part != ""
        out = np.where(has, np.where(out == "", part, out + sep + part), out)
    return out


def when(mask: np.ndarray, text: np.ndarray | str) -> np.ndarray:
    """``text`` where ``mask``, else the empty string."""
    return np.where(mask, text, "").astype(object)


def column_values(frame: pd.DataFrame, name: str, kind: Literal["float", "str"]) -> np.ndarray | None:
    """Column ``name`` as float (NaN for blank) or as it is; None when the frame lacks it."""
    if name not in frame.columns:
        return None
    if kind == "float":
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return frame[name].to_numpy()


def fill(mask: np.ndarray, lang: Lang, zh: str, en: str, *numbers: np.ndarray) -> np.ndarray:
    """Per row where ``mask``: the ``zh`` or ``en`` pattern with the row's numbers ({0}, {1}, …
    formatted with ``:g``); the empty string elsewhere. Only masked rows are formatted."""
    pattern = zh if lang == "zh" else en
    out = np.full(len(mask), "", dtype=object)
    rows = np.flatnonzero(mask)
    if len(rows):
        columns = [np.asarray(n, dtype=float)[rows] for n in numbers]
        out[rows] = [pattern.format(*(f"{v:g}" for v in values)) for values in zip(*columns, strict=True)]
    return out


def with_string_ids(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """A copy with ``id`` as text, or None for a missing or empty layer."""
    if frame is None or len(frame) == 0:
        return None
    out = frame.copy()
    out["id"] = out["id"].astype("string")
    return out
