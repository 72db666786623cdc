"""Demand units: every compound, settlement, village or community and grid in one frame, the
households each one counts for a tier (nested units counted once), and where residents leave it.

:func:`demand_units` gathers the demand layers with the township, village and grid each unit
lies in. :func:`counted_households` says how many households a unit counts for a tier that
serves several nested layers (a community center serves the compounds of a community and the
community itself): compounds and settlements count their own, a grid or village counts only the
households not already in the finer units inside it, and a village counts nothing when its
grids are served. :func:`access_points` gives the points a unit's walking distance starts from:
a compound's gates, else where a polygon's boundary meets a path, else a point inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..geo.hierarchy import containing_parent_ids
from ..geo.vocabularies import village_kind
from .network import StreetNetwork

__all__ = [
    "DEMAND_LAYERS",
    "DETOUR_FACTOR",
    "Access",
    "access_points",
    "counted_households",
    "demand_units",
    "inside_pairs",
    "straight_line_starts",
]

DEMAND_LAYERS = ("compounds", "settlements", "villages", "grids")
# Without a walking network, walks are straight lines this much longer (coverage and plans alike).
DETOUR_FACTOR = 1.3
_FINE = ("compounds", "settlements")  # units that lie inside grids and villages


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as text, or a blank column when ``frame`` lacks it."""
    if name in frame.columns:
        return frame[name].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def typed_column(frame: pd.DataFrame, name: str, dtype: str) -> pd.api.extensions.ExtensionArray:
    """Column ``name`` as an array of ``dtype``, or a blank one when ``frame`` lacks it."""
    if name in frame.columns:
        return pd.array(frame[name].to_numpy(), dtype=dtype)
    return pd.array([pd.NA] * len(frame), dtype=dtype)


def demand_units(layers: Mapping[str, gpd.GeoDataFrame], *, crs: CRS) -> gpd.GeoDataFrame:
    """Every demand unit (compound, settlement, village or community, grid) in one frame, in ``crs``.

    Columns: ``unit_layer``, ``unit_id``, ``unit_name``, ``unit_kind`` (``compounds``,
    ``settlements``, ``villages``, ``communities`` or ``grids``), ``area_kind`` (``community``
    or ``village``: the kind of village the unit lies in), households, population and the ids
    of the township, village and grid it lies in (the township by spatial join from ``layers``'
    townships where the unit's village does not say, or it has none).
    """
    villages = _village_info(layers.get("villages"))
    townships = layers.get("townships")
    grids = layers.get("grids")
    frames = []
    for layer in DEMAND_LAYERS:
        frame = layers.get(layer)
        if frame is None or len(frame) == 0:
            continue
        frame = frame.to_crs(crs)
        village_id = text_column(frame, "id" if layer == "villages" else "village_id")
        area_kind = village_id.map(villages["kind"]).astype(object).fillna("village").to_numpy(dtype=object)
        if layer == "villages":
            unit_kind = np.where(area_kind == "community", "communities", "villages")
        else:
            unit_kind = np.full(len(frame), layer)
        if layer == "grids":
            grid_id = frame["id"].astype("string")
        elif layer in _FINE and grids is not None and len(grids):
            grid_id = containing_parent_ids(frame, grids, crs=crs)
        else:
            grid_id = text_column(frame, "grid_id")
        township_id = pd.array(village_id.map(villages["township_id"]), dtype="string")
        if layer != "villages" or "township_id" in frame.columns:
            given = text_column(frame, "township_id").to_numpy()
            township_id = pd.array(np.where(pd.isna(township_id), given, township_id), dtype="string")
        if townships is not None and len(townships) and pd.isna(township_id).any():
            blank = pd.isna(township_id)
            found = containing_parent_ids(frame[blank], townships, crs=crs).to_numpy()
            township_id[blank] = found
        frames.append(
            gpd.GeoDataFrame(
                {
                    "unit_layer": layer,
                    "unit_id": frame["id"].astype("string").to_numpy(),
                    "unit_name": typed_column(frame, "name", "string"),
                    "unit_kind": unit_kind,
                    "area_kind": area_kind,
                    "households": typed_column(frame, "households", "Int64"),
                    "population": typed_column(frame, "population", "Int64"),
                    "township_id": township_id,
                    "village_id": pd.array(village_id, dtype="string"),
                    "grid_id": pd.array(grid_id, dtype="string"),
                },
                geometry=frame.geometry.to_numpy(),
                crs=crs,
            )
        )
    if not frames:
        msg = "the workspace has no demand units (compounds, settlements, villages or grids) to measure"
        raise InputError(msg)
    return pd.concat(frames, ignore_index=True)


def _village_info(villages: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Kind (community or village) and township of each village, indexed by village id."""
    if villages is None or len(villages) == 0:
        return pd.DataFrame({"kind": pd.Series(dtype=object), "township_id": pd.Series(dtype="string")})
    info = pd.DataFrame(
        {
            "kind": village_kind(villages).to_numpy(),
            "township_id": text_column(villages, "township_id").to_numpy(),
        },
        index=villages["id"].astype("string").to_numpy(),
    )
    return info[~info.index.duplicated()]


def counted_households(units: pd.DataFrame, served: np.ndarray, column: str = "households") -> np.ndarray:
    """The households (or ``column``) each served unit counts for, so that nested units count once.

    Compounds and settlements count their own. What a village or community holds beyond them
    (its register figure less theirs, never below zero) is counted by its served grids — shared
    in proportion to what each grid holds beyond the compounds and settlements inside it — or,
    without grids, by the village itself. A village's units thus add up to its register figure
    whenever that figure is at least the sum of its compounds and settlements. Without a village
    figure a grid counts its own rest. Units not served count 0; blank values stay blank (NaN).

    Examples
    --------
    >>> units = pd.DataFrame({"unit_layer": ["compounds", "villages"], "unit_id": ["K", "V"],
    ...                       "households": [400, 1000], "village_id": ["V", "V"], "grid_id": [None, None]})
    >>> counted_households(units, np.array([True, True])).tolist()
    [400.0, 600.0]
    """
    value = units[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    layer = units["unit_layer"].to_numpy(dtype=object)
    village_of = units["village_id"].to_numpy(dtype=object)
    out = np.where(served, value, 0.0)
    fine = served & np.isin(layer, _FINE)
    grid = served & (layer == "grids")
    village = (layer == "villages") & pd.notna(village_of)

    def by(keys: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per key, looked up at the keys ``at`` (0 for keys without any)."""
        sums = pd.Series(np.nan_to_num(values)).groupby(keys).sum()
        return pd.Series(at).map(sums).fillna(0.0).to_numpy(dtype=float)

    # what each village holds beyond its compounds and settlements (NaN: no village figure)
    fine_in_village = by(village_of[fine], value[fine], village_of[village])
    rest = pd.Series(np.maximum(value[village] - fine_in_village, 0.0), index=village_of[village])
    rest = rest[~rest.index.duplicated()]
    if grid.any():
        own = units["unit_id"].to_numpy(dtype=object)[grid]
        grid_rest = np.maximum(
            value[grid] - by(units["grid_id"].to_numpy(dtype=object)[fine], value[fine], own), 0.0
        )
        share_of = village_of[grid]
        total = by(share_of, grid_rest, share_of)
        target = pd.Series(share_of).map(rest).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = np.where(total > 0, grid_rest * target / total, 0.0)
        out[grid] = np.where(np.isnan(target), grid_rest, scaled)
    mine = served & village
    if mine.any():
        by_grids = by(village_of[grid], out[grid], village_of[mine]) if grid.any() else 0.0
        out[mine] = np.maximum(rest.reindex(village_of[mine]).to_numpy(dtype=float) - by_grids, 0.0)
        out[mine] = np.where(np.isnan(value[mine]), np.nan, out[mine])
    return out


@dataclass(frozen=True)
class Access:
    """Access points of demand units (metric), the unit each belongs to, and how it was found."""

    points: np.ndarray  # shapely points, metric
    owner: np.ndarray  # position of the unit each point belongs to
    kind: np.ndarray  # gate, boundary or inside


def access_points(units: gpd.GeoDataFrame, gates: gpd.GeoDataFrame, network: StreetNetwork | None) -> Access:
    """Where residents leave each unit: a compound's gates; else, for any polygon, where its
    boundary meets a path; else a point inside it (a unit given as a point: the point)."""
    n = len(units)
    geom = units.geometry.to_numpy()
    compound = (units["unit_layer"] == "compounds").to_numpy()
    polygonal = np.isin(shapely.get_type_id(geom), (3, 6))
    points, owner, kind = [], [], []
    has_access = np.zeros(n, dtype=bool)
    if len(gates) and "compound_id" in gates:
        pos = pd.Series(np.flatnonzero(compound), index=units["unit_id"].to_numpy()[compound])
        pos = pos[~pos.index.duplicated()]
        gate_owner = gates["compound_id"].astype("string").map(pos)
        ok = gate_owner.notna().to_numpy()
        points.append(gates.geometry.to_numpy()[ok])
        owner.append(gate_owner[ok].astype(int).to_numpy())
        kind.append(np.full(ok.sum(), "gate"))
        has_access[owner[-1]] = True
    if network is not None and network.n_edges:
        todo = np.flatnonzero(polygonal & ~has_access)
        boundary = shapely.boundary(geom[todo])
        b_idx, e_idx = network.edge_tree.query(boundary, predicate="intersects")
        if len(b_idx):
            crossing = shapely.intersection(boundary[b_idx], network.edge_geometry[e_idx])
            parts, part_of = shapely.get_parts(crossing, return_index=True)
            is_point = shapely.get_type_id(parts) == 0
            # Where a path runs along the boundary the crossing is a line: take a point on it.
            parts = np.where(is_point, parts, shapely.point_on_surface(parts))
            points.append(parts)
            owner.append(todo[b_idx[part_of]])
            kind.append(np.full(len(parts), "boundary"))
            has_access[todo[b_idx[part_of]]] = True
    rest = np.flatnonzero(~has_access)
    points.append(shapely.point_on_surface(geom[rest]))
    owner.append(rest)
    kind.append(np.full(len(rest), "inside"))
    return Access(np.concatenate(points), np.concatenate(owner).astype(np.int64), np.concatenate(kind))


def straight_line_starts(units: gpd.GeoDataFrame, gates: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Where a straight-line distance starts, for the fallback without a network: the same
    places a walk starts from — a compound's gates, else the unit itself (its boundary; 0 inside
    it), a point unit at its point. Returns the start geometries and the unit each belongs to."""
    access = access_points(units, gates, None)
    from_gate = access.kind == "gate"
    starts = np.where(from_gate, access.points, units.geometry.to_numpy()[access.owner])
    return starts, access.owner


def inside_pairs(units: gpd.GeoDataFrame, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, unit) positions of the points lying inside a polygon unit: served there at 0 m."""
    geom = units.geometry.to_numpy()
    polygonal = np.flatnonzero(np.isin(shapely.get_type_id(geom), (3, 6)))
    if len(polygonal) == 0 or len(points) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    point_idx, unit_idx = shapely.STRtree(geom[polygonal]).query(points, predicate="within")
    return point_idx, polygonal[unit_idx]
