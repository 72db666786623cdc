"""Merging features from another source (an OpenStreetMap file) into a layer a register filled.

:func:`merge_features` keeps every row of the layer as it is and adds the incoming rows that do
not duplicate one of them. An incoming row duplicates a kept one when it carries the same OSM id
(``osm_id``, for a layer imported from OSM before) or has the same name, after NFKC
normalisation and without spaces, and lies within :data:`DUPLICATE_WITHIN_M` of it (a point's
distance, or the gap between two polygons: 0 when they overlap). The distance allows for a
register's coordinates and OpenStreetMap's placing the same building a few tens of metres apart;
the name keeps two different stations next door apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .crs import STORAGE_CRS, metric_crs

__all__ = ["DUPLICATE_WITHIN_M", "Merged", "merge_features"]

DUPLICATE_WITHIN_M = 50.0
"""An incoming feature with a kept one's name this close to it is the same feature (metres)."""


@dataclass(frozen=True)
class Merged:
    """The merged layer, and how many incoming rows were added and how many were duplicates."""

    frame: gpd.GeoDataFrame
    added: int
    duplicates: int
    duplicate_names: tuple[str, ...] = ()


def _names(frame: pd.DataFrame) -> pd.Series:
    if "name" not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    text = frame["name"].astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return text.replace("", pd.NA)


def merge_features(
    kept: gpd.GeoDataFrame, incoming: gpd.GeoDataFrame, *, within_m: float = DUPLICATE_WITHIN_M
) -> Merged:
    """``kept`` with the rows of ``incoming`` that duplicate none of its rows appended.

    Incoming ids that a kept row already uses get ``-osm`` appended, so ids stay unique.

    Examples
    --------
    >>> import shapely
    >>> kept = gpd.GeoDataFrame({"id": ["F1"], "name": ["东村党群服务中心"]},
    ...     geometry=[shapely.Point(113.6, 37.7)], crs=4326)
    >>> osm = gpd.GeoDataFrame({"id": ["n1", "n2"], "name": ["东村党群服务中心", "西村村委会"],
    ...     "osm_id": ["node/1", "node/2"]},
    ...     geometry=[shapely.Point(113.6002, 37.7), shapely.Point(113.61, 37.7)], crs=4326)
    >>> merged = merge_features(kept, osm)
    >>> merged.frame["id"].tolist(), merged.added, merged.duplicates
    (['F1', 'n2'], 1, 1)
    """
    kept = kept.to_crs(STORAGE_CRS).reset_index(drop=True)
    incoming = incoming.to_crs(STORAGE_CRS).reset_index(drop=True)
    duplicate = np.zeros(len(incoming), dtype=bool)
    if "osm_id" in kept.columns and "osm_id" in incoming.columns:
        known = set(kept["osm_id"].astype("string").dropna())
        duplicate |= incoming["osm_id"].astype("string").isin(known).fillna(False).to_numpy(dtype=bool)
    if len(kept) and len(incoming):
        crs = metric_crs(kept, incoming)
        mine, theirs = kept.geometry.to_crs(crs), incoming.geometry.to_crs(crs)
        left, right = mine.sindex.query(theirs, predicate="dwithin", distance=within_m)
        same = (
            _names(incoming).to_numpy(dtype=object)[left] == _names(kept).to_numpy(dtype=object)[right]
        ) & (_names(incoming).notna().to_numpy()[left])
        duplicate[left[same.astype(bool)]] = True
    added = incoming[~duplicate].copy()
    if "id" in added.columns and "id" in kept.columns:
        ids = added["id"].astype("string")
        clash = ids.isin(set(kept["id"].astype("string").dropna())).fillna(False).to_numpy(dtype=bool)
        added.loc[clash, "id"] = ids[clash] + "-osm"
    frame = gpd.GeoDataFrame(pd.concat([kept, added], ignore_index=True), crs=STORAGE_CRS)
    names = incoming.loc[duplicate, "name"] if "name" in incoming.columns else pd.Series(dtype="string")
    return Merged(
        frame,
        int((~duplicate).sum()),
        int(duplicate.sum()),
        tuple(str(n) for n in names.dropna()),
    )
