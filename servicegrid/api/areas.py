"""Where a point is: its township, village or community, grid, compound and settlement.

The polygons of the workspace's layers sit in one STRtree per layer (metric CRS); locating a
batch of points is one bulk ``within`` query per layer. The planning area is the townships (else
the villages): a point outside every one of them is outside the area the workspace plans. The
tiers that serve a point follow from where it is, by the preset's ``serves`` lists: compound
stations where it is in a compound, community centers in a community, village centers in a
village (grids follow the kind of their village).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ..coverage.analysis import TierCoverage
from ..geo.vocabularies import village_kind
from ..geo.workspace import Workspace

__all__ = ["LAYERS", "AreaIndex", "Located"]

LAYERS = ("townships", "villages", "grids", "compounds", "settlements")


@dataclass(frozen=True, eq=False)
class Located:
    """For each point, the position of the polygon of each layer it lies in (-1: none)."""

    at: dict[str, np.ndarray]
    inside: np.ndarray  # within the planning area (True everywhere when there is no area layer)


class AreaIndex:
    """The polygons of a workspace, indexed for point queries."""

    def __init__(self, workspace: Workspace, crs: CRS) -> None:
        self.frames: dict[str, gpd.GeoDataFrame] = {}
        self.trees: dict[str, shapely.STRtree] = {}
        for name in LAYERS:
            if name not in workspace:
                continue
            frame = workspace.layer(name).reset_index(drop=True)
            geom = frame.geometry.array
            polygonal = np.isin(shapely.get_type_id(geom), (3, 6))
            if not polygonal.any():
                continue
            frame = frame[polygonal].reset_index(drop=True)
            self.frames[name] = frame
            self.trees[name] = shapely.STRtree(frame.geometry.to_crs(crs).to_numpy())
        villages = self.frames.get("villages")
        self.village_kind = village_kind(villages).to_numpy(dtype=object) if villages is not None else None
        self.area_layer = next((n for n in ("townships", "villages") if n in self.trees), None)

    def locate(self, xy: np.ndarray) -> Located:
        """The polygons each metric point ``(m, 2)`` lies in."""
        points = shapely.points(np.asarray(xy, dtype=float).reshape(-1, 2))
        m = len(points)
        at = {}
        for name, tree in self.trees.items():
            if m == 1:  # a single request: a scalar query, without the pairs' bookkeeping
                hit = tree.query(points[0], predicate="within")
                at[name] = np.array([hit[0] if hit.size else -1], dtype=np.int64)
                continue
            found = np.full(m, -1, dtype=np.int64)
            p_idx, g_idx = tree.query(points, predicate="within")
            if p_idx.size:
                first = np.unique(p_idx, return_index=True)[1]
                found[p_idx[first]] = g_idx[first]
            at[name] = found
        inside = at[self.area_layer] >= 0 if self.area_layer else np.ones(m, dtype=bool)
        return Located(at, inside)

    def ids(self, layer: str, positions: np.ndarray) -> list[str | None]:
        """The ids of the polygons at ``positions`` (None for -1)."""
        if layer not in self.frames:
            return [None] * len(positions)
        ids = self.frames[layer]["id"].astype("string").to_numpy(dtype=object)
        return [None if p < 0 else str(ids[p]) for p in np.asarray(positions).tolist()]

    def serving_tiers(self, located: Located, row: int, tiers: Sequence[TierCoverage]) -> list[str]:
        """The walk-based tiers that serve the point ``row`` of ``located``, by where it is."""
        units: set[str] = set()
        if "compounds" in located.at and located.at["compounds"][row] >= 0:
            units.add("compounds")
        if "settlements" in located.at and located.at["settlements"][row] >= 0:
            units.add("settlements")
        village = located.at["villages"][row] if "villages" in located.at else -1
        if village >= 0 and self.village_kind is not None:
            kind = self.village_kind[village]
            units.add("communities" if kind == "community" else "villages")
        if not units:
            return [t.tier for t in tiers]
        return [t.tier for t in tiers if units & set(t.serves)]
