"""Community points of an OpenStreetMap file: ``place=quarter`` / ``place=neighbourhood`` nodes
named …社区 (or …居委会), matched to the village polygons of the same file.

In Chinese OpenStreetMap data a community is often only such a node: its boundary is not drawn.
The workspace holds communities as ``villages`` polygons, so the points cannot be a layer of
their own; :func:`match_community_points` instead

- names a village polygon that contains a point and has no name of its own (kind ``community``);
- leaves a polygon that has a name alone, saying so when the names differ;
- lists the points no polygon contains, so the planner can draw or import their boundaries.

The points themselves are returned (``OsmFeatures.communities``) with the id of the polygon each
lies in; :func:`community_point_notes` says how they sit in the villages of a workspace that
keeps its own (``import-osm`` into a workspace with a village register).
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import STORAGE_CRS

__all__ = ["COMMUNITY_PLACES", "community_point_notes", "community_point_row", "match_community_points"]

COMMUNITY_PLACES = frozenset({"quarter", "neighbourhood"})
_COMMUNITY_NAME = re.compile(r"(?:社区|居委会|居民委员会)$")
_SHOWN = 20
FILE = "of the file"


def community_point_row(tags: Any, ident: int, lon: float, lat: float) -> dict[str, Any] | None:
    """The row of a community point, when the node is one (``place=quarter|neighbourhood``, a
    name ending in 社区, 居委会 or 居民委员会); else None."""
    name = tags.get("name") or tags.get("name:zh")
    if tags.get("place") not in COMMUNITY_PLACES or not name or not _COMMUNITY_NAME.search(name):
        return None
    return {"name": name, "place": tags.get("place"), "osm_id": f"node/{ident}", "lon": lon, "lat": lat}


def match_community_points(
    rows: list[dict[str, Any]], villages: gpd.GeoDataFrame, notes: list[str]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The community points as a frame (``village_id``: the polygon each lies in), and
    ``villages`` with unnamed polygons named after the point inside; what was done goes to ``notes``."""
    columns = ["name", "place", "osm_id"]
    data = pd.DataFrame(rows, columns=[*columns, "lon", "lat"])
    points = gpd.GeoDataFrame(
        data[columns].astype("string"),
        geometry=shapely.points(data["lon"].to_numpy(float), data["lat"].to_numpy(float)),
        crs=STORAGE_CRS,
    )
    points["village_id"] = pd.array([pd.NA] * len(points), dtype="string")
    if len(points) == 0:
        return points, villages
    inside, host = _hosts(points, villages)
    if len(inside):
        points.loc[points.index[inside], "village_id"] = villages["id"].astype("string").to_numpy()[host]
        unnamed = villages["name"].isna().to_numpy()[host]
        if unnamed.any():
            villages = villages.copy()
            rows_at = villages.index[host[unnamed]]
            villages.loc[rows_at, "name"] = points["name"].to_numpy()[inside[unnamed]]
            villages.loc[rows_at, "kind"] = "community"
            notes.append(
                f"{int(unnamed.sum())} unnamed village polygon(s) named after the community point inside: "
                + ", ".join(points["name"].to_numpy()[inside[unnamed]][:_SHOWN])
            )
    notes += community_point_notes(points, villages, where=FILE)
    return points, villages


def community_point_notes(
    points: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, *, where: str = "in the workspace"
) -> list[str]:
    """What ``villages`` (``where``: :data:`FILE`, or a workspace's) say about the community
    points: those in a polygon of their name (counted), of another name (listed), in none (listed)."""
    if not len(points):
        return []
    inside, host = _hosts(points, villages)
    notes = []
    names = villages["name"].astype("string").fillna("").to_numpy(dtype=object)[host] if len(host) else []
    own = points["name"].fillna("").to_numpy(dtype=object)[inside]
    same = np.asarray(names == own, dtype=bool) if len(host) else np.zeros(0, dtype=bool)
    if where != FILE and same.any():
        notes.append(f"{int(same.sum())} community point(s) lie in the village polygon of their name {where}")
    if (~same).any():
        pairs = [f"{p} in {v}" for p, v in zip(own[~same], np.asarray(names)[~same], strict=True)]
        notes.append(
            f"{int((~same).sum())} community point(s) lie in a village polygon of another name"
            f"{'' if where == FILE else ' ' + where} (kept): " + ", ".join(pairs[:_SHOWN])
        )
    lost = np.ones(len(points), dtype=bool)
    lost[inside] = False
    if lost.any():
        shown = points["name"].to_numpy()[lost]
        more = f" and {int(lost.sum()) - _SHOWN} more" if lost.sum() > _SHOWN else ""
        notes.append(
            f"{int(lost.sum())} community point(s) (place=quarter/neighbourhood named …社区) lie in no "
            f"village boundary {where}: {', '.join(shown[:_SHOWN])}{more}; the workspace holds "
            "communities as polygons: draw their boundaries or import the community register"
        )
    return notes


def _hosts(points: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each point inside a village polygon (the first, when polygons overlap) and that polygon."""
    if not len(villages) or not len(points):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    inside, host = villages.sindex.query(points.geometry.to_crs(villages.crs), predicate="within")
    first = np.unique(inside, return_index=True)[1]
    return inside[first], host[first]
