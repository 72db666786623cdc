"""Community points of an OpenStreetMap file: ``place=quarter`` / ``place=neighbourhood`` nodes
named …社区 (or …居委会), matched to the village polygons of the same file.

In Chinese OpenStreetMap data a community is often only such a node: its boundary is not drawn.
The workspace holds communities as ``villages`` polygons, so the points cannot be a layer of
their own; :func:`match_community_points` instead

- names a village polygon that contains a point and has no name of its own (kind ``community``);
- leaves a polygon that has a name alone, saying so when the names differ;
- lists the points no polygon contains, so the planner can draw or import their boundaries.

The points themselves are returned (``OsmFeatures.communities``) with the id of the polygon each
lies in, for a caller that wants to place them on a map.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import STORAGE_CRS

__all__ = ["COMMUNITY_PLACES", "community_point_row", "match_community_points"]

COMMUNITY_PLACES = frozenset({"quarter", "neighbourhood"})
_COMMUNITY_NAME = re.compile(r"(?:社区|居委会|居民委员会)$")
_SHOWN = 20


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
    if len(villages):
        inside, host = villages.sindex.query(points.geometry, predicate="within")
        first = np.unique(inside, return_index=True)[1]
        inside, host = inside[first], host[first]
        points.loc[points.index[inside], "village_id"] = villages["id"].astype("string").to_numpy()[host]
        names = villages["name"].astype("string")
        unnamed = names.isna().to_numpy()[host]
        if unnamed.any():
            villages = villages.copy()
            rows_at = villages.index[host[unnamed]]
            villages.loc[rows_at, "name"] = points["name"].to_numpy()[inside[unnamed]]
            villages.loc[rows_at, "kind"] = "community"
            notes.append(
                f"{int(unnamed.sum())} unnamed village polygon(s) named after the community point inside: "
                + ", ".join(points["name"].to_numpy()[inside[unnamed]][:_SHOWN])
            )
        named = ~unnamed
        host_names = names.fillna("").to_numpy(dtype=object)[host]
        differs = named & (host_names != points["name"].fillna("").to_numpy(dtype=object)[inside])
        if differs.any():
            pairs = zip(
                points["name"].to_numpy()[inside[differs]], names.to_numpy()[host[differs]], strict=True
            )
            notes.append(
                f"{int(differs.sum())} community point(s) lie in a village polygon of another name (kept): "
                + ", ".join(f"{p} in {v}" for p, v in list(pairs)[:_SHOWN])
            )
    lost = points["village_id"].isna().to_numpy()
    if lost.any():
        shown = points["name"].to_numpy()[lost]
        more = f" and {int(lost.sum()) - _SHOWN} more" if lost.sum() > _SHOWN else ""
        notes.append(
            f"{int(lost.sum())} community point(s) (place=quarter/neighbourhood named …社区) lie in no "
            f"village boundary of the file: {', '.join(shown[:_SHOWN])}{more}; the workspace holds "
            "communities as polygons: draw their boundaries or import the community register"
        )
    return points, villages
