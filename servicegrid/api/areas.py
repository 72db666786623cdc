"""Where a point is: its township, village or community, grid, compound and settlement.

The polygons of the workspace's layers sit in one STRtree (metric CRS), each layer a run of its
positions; locating a point, or a batch of them, is one ``within`` query, whose hits are sorted
into layers (the first polygon of a layer, by position, when a layer's polygons overlap). The planning area is the townships (else
the villages): a point outside every one of them is outside the area the workspace plans. The
tiers that serve a point follow from where it is, by the preset's ``serves`` lists: compound
stations where it is in a compound, community centers in a community, village centers in a
village (grids follow the kind of their village).
"""

from __future__ import annotations

import bisect
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
        geoms = []
        for name in LAYERS:
            if name not in workspace:
                continue
            frame = workspace.layer(name).reset_index(drop=True)
            polygonal = np.isin(shapely.get_type_id(frame.geometry.array), (3, 6))
            if not polygonal.any():
                continue
            frame = frame[polygonal].reset_index(drop=True)
            self.frames[name] = frame
            geoms.append(frame.geometry.to_crs(crs).to_numpy())
        self.names = tuple(self.frames)
        sizes = [len(f) for f in self.frames.values()]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._start_list = self.starts.tolist()
        self.tree = shapely.STRtree(np.concatenate(geoms) if geoms else np.array([], dtype=object))
        villages = self.frames.get("villages")
        self.village_kind = village_kind(villages).to_numpy(dtype=object) if villages is not None else None
        self.area_layer = next((n for n in ("townships", "villages") if n in self.frames), None)

    def locate(self, xy: np.ndarray) -> Located:
        """The polygons each metric point ``(m, 2)`` lies in."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 1:
            return self._locate_one(float(xy[0, 0]), float(xy[0, 1]))
        points = shapely.points(xy)
        m = len(points)
        found = np.full((len(self.names), m), -1, dtype=np.int64)
        if len(self.names):
            p_idx, g_idx = self.tree.query(points, predicate="within")
            layer = np.searchsorted(self.starts, g_idx, side="right") - 1
            order = np.lexsort((g_idx, p_idx, layer))  # per layer and point, the lowest position first
            layer, p_idx, g_idx = layer[order], p_idx[order], g_idx[order]
            first = np.ones(order.size, dtype=bool)
            first[1:] = (layer[1:] != layer[:-1]) | (p_idx[1:] != p_idx[:-1])
            found[layer[first], p_idx[first]] = g_idx[first] - self.starts[layer[first]]
        at = dict(zip(self.names, found, strict=True))
        inside = at[self.area_layer] >= 0 if self.area_layer else np.ones(m, dtype=bool)
        return Located(at, inside)

    def _locate_one(self, x: float, y: float) -> Located:
        """:meth:`locate` of one point (a request of the service) on Python integers: the same
        query and rule, without numpy's per-call cost on arrays of one."""
        starts = self._start_list
        found = [-1] * len(self.names)
        for hit in sorted(self.tree.query(shapely.Point(x, y), predicate="within").tolist()):
            layer = bisect.bisect_right(starts, hit) - 1
            if found[layer] < 0:
                found[layer] = hit - starts[layer]
        at = {name: np.array([f], dtype=np.int64) for name, f in zip(self.names, found, strict=True)}
        inside = at[self.area_layer] >= 0 if self.area_layer else np.ones(1, dtype=bool)
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
