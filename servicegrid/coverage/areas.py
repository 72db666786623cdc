"""Service areas and uncovered areas: where each facility's walk reaches, and where no facility of
a tier does, village by village.

:func:`service_areas` draws each facility's catchment within its tier's radius from one
multi-source pass over the network. :func:`uncovered_areas` gives, per tier and village, the
compounds and settlements that are not covered and the parts of served villages and communities
outside every service area. Each village is worked out against only the units and service areas
that touch it (bulk STRtree queries, then unions and differences grouped by village, every
village at once), so the cost grows with the size of the county rather than with the number of
villages times the size of a county-wide union.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .demand import typed_column
from .network import StreetNetwork
from .snapping import SnapResult

if TYPE_CHECKING:
    from .analysis import TierCoverage

__all__ = ["SERVICE_AREA_MARGIN_M", "polygonal_parts", "service_areas", "uncovered_areas"]

SERVICE_AREA_MARGIN_M = 25.0  # a service area reaches a building depth beyond the path
_MIN_PIECE_M2 = 1.0  # an uncovered piece smaller than this is float noise along a boundary
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def service_areas(
    network: StreetNetwork,
    spec: TierCoverage,
    facilities: gpd.GeoDataFrame,
    snaps: SnapResult,
    node_source: np.ndarray,
    node_distance: np.ndarray,
) -> gpd.GeoDataFrame:
    """Each facility's catchment within the radius: the network it is the nearest facility for,
    as the concave hull of the reached nodes and its own entrance, a building depth wide."""
    reached = (node_source >= 0) & (node_distance <= spec.radius_m)
    labels = np.concatenate([node_source[reached], np.flatnonzero(snaps.ok)])
    xy = np.concatenate([network.node_xy[reached], snaps.xy[snaps.ok]])
    if len(labels) == 0:
        return gpd.GeoDataFrame(geometry=[], crs=network.crs)
    order = np.argsort(labels, kind="stable")
    labels, xy = labels[order], xy[order]
    present, dense = np.unique(labels, return_inverse=True)  # multipoints wants 0..k-1, sorted
    hulls = shapely.concave_hull(shapely.multipoints(shapely.points(xy), indices=dense), ratio=0.3)
    polygons = shapely.buffer(hulls, SERVICE_AREA_MARGIN_M, quad_segs=4)
    counts = np.bincount(dense)
    return gpd.GeoDataFrame(
        {
            "tier": spec.tier,
            "facility_id": facilities["id"].to_numpy()[present],
            "facility_name": typed_column(facilities, "name", "string")[present],
            "facility_tier": facilities["tier"].to_numpy()[present],
            "radius_m": spec.radius_m,
            "reached_nodes": counts - 1,
            "area_m2": np.round(shapely.area(polygons), 1),
        },
        geometry=polygons,
        crs=network.crs,
    )


def uncovered_areas(
    units: gpd.GeoDataFrame,
    unit_rows: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    tiers: list[TierCoverage],
    villages: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Where each tier does not reach, per village: compounds and settlements that are not covered
    (their own polygons), and the parts of served villages and communities outside every service
    area.

    Parameters
    ----------
    units
        The demand units (:func:`~servicegrid.coverage.demand.demand_units`), metric.
    unit_rows
        Coverage per unit and tier (``tier``, ``unit_layer``, ``unit_id``, ``covered``).
    areas
        The service areas (:func:`service_areas`) of every tier, in ``units``' CRS.
    villages
        The villages layer in ``units``' CRS: the result has one row per tier and village with
        an uncovered area larger than 1 m². Without villages, one row per tier for the county.
    """
    geom = units.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geom), _POLYGONAL)
    kind = units["unit_kind"].to_numpy()
    small = np.isin(kind, ["compounds", "settlements"])
    large = np.isin(kind, ["villages", "communities"])
    key = pd.MultiIndex.from_arrays([units["unit_layer"].to_numpy(), units["unit_id"].to_numpy()])
    village_geom = villages.geometry.to_numpy()
    tree = shapely.STRtree(village_geom) if len(villages) else None
    parts = []
    for spec in tiers:  # a few tiers
        served = spec.serves_unit(units) & polygonal
        rows = unit_rows[(unit_rows["tier"] == spec.tier).to_numpy()]
        open_rows = rows[~rows["covered"].to_numpy(dtype=bool)]
        uncovered = pd.MultiIndex.from_arrays(
            [open_rows["unit_layer"].to_numpy(), open_rows["unit_id"].to_numpy()]
        )
        missed = served & small & key.isin(uncovered)
        mine = areas[(areas["tier"] == spec.tier).to_numpy()] if len(areas) else areas
        reach = mine.geometry.to_numpy() if len(mine) else np.array([], dtype=object)
        if tree is None:
            gap = _county_gap(geom[missed], geom[served & large], reach)
            pieces, village_ids = np.array([gap]), pd.array([pd.NA], dtype="string")
        else:
            gaps = _gaps_by_village(geom[missed], geom[served & large], reach, village_geom, tree)
            found = np.flatnonzero(~shapely.is_missing(gaps))
            pieces = gaps[found]
            village_ids = pd.array(villages["id"].astype("string").to_numpy()[found], dtype="string")
        pieces = polygonal_parts(pieces)
        keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > _MIN_PIECE_M2)
        if not keep.any():
            continue
        parts.append(
            gpd.GeoDataFrame(
                {
                    "tier": spec.tier,
                    "village_id": village_ids[keep],
                    "area_m2": np.round(shapely.area(pieces[keep]), 1),
                },
                geometry=pieces[keep],
                crs=units.crs,
            )
        )
    if not parts:
        return gpd.GeoDataFrame({"tier": pd.Series(dtype="string")}, geometry=[], crs=units.crs)
    return pd.concat(parts, ignore_index=True)


def _gaps_by_village(
    missed: np.ndarray, large: np.ndarray, reach: np.ndarray, village: np.ndarray, tree: shapely.STRtree
) -> np.ndarray:
    """Per village (None where nothing is uncovered): the missed units inside it, with the parts
    of the served villages and communities inside it that no service area reaches."""
    n = len(village)
    # the served villages and communities, each cut to every village it touches
    unit, where = tree.query(large, predicate="intersects")
    served = _union_by(_clipped(large[unit], village[where]), where, n)
    has_served = ~shapely.is_missing(served)
    # minus only the service areas touching those villages
    area, where = tree.query(reach, predicate="intersects")
    wanted = has_served[where]
    reached = _union_by(reach[area[wanted]], where[wanted], n)
    has_reach = ~shapely.is_missing(reached)
    beyond = served.copy()
    both = has_served & has_reach
    beyond[both] = shapely.difference(served[both], reached[both])
    # and the missed compounds and settlements, cut likewise
    unit, where = tree.query(missed, predicate="intersects")
    inside = _union_by(_clipped(missed[unit], village[where]), where, n)
    has_inside = ~shapely.is_missing(inside)
    gap = np.where(has_inside, inside, beyond)
    both = has_inside & ~shapely.is_missing(beyond)
    gap[both] = shapely.union(inside[both], beyond[both])
    return gap


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with the collections an overlay can leave (polygons with a stray line or point
    where two boundaries met) cut down to their polygons: an area layer holds areas only."""
    out = np.asarray(geoms, dtype=object).copy()
    mixed = np.flatnonzero(shapely.get_type_id(out) == 7)
    if len(mixed) == 0:
        return out
    parts, owner = shapely.get_parts(out[mixed], return_index=True)
    keep = np.isin(shapely.get_type_id(parts), _POLYGONAL)
    polygons, of = shapely.get_parts(parts[keep], return_index=True)  # multipolygons into polygons
    owner = owner[keep][of]
    out[mixed] = shapely.MultiPolygon()
    if len(polygons):
        groups, dense = np.unique(owner, return_inverse=True)
        out[mixed[groups]] = shapely.multipolygons(polygons, indices=dense)
    return out


def _clipped(geoms: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """``geoms`` cut to ``clip`` pairwise; None where only a shared edge or corner is left."""
    out = shapely.intersection(geoms, clip)
    out[~(shapely.area(out) > 0)] = None
    return out


def _union_by(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Per group 0 … n-1, the union of its geometries (None for a group without any).

    Each group's geometries are gathered into one collection and unioned on its own, all
    groups in one call, so the cost follows the sizes of the groups.
    """
    out = np.full(n, None, dtype=object)
    present = ~shapely.is_missing(geoms)
    geoms, group = geoms[present], group[present]
    if len(geoms) == 0:
        return out
    order = np.argsort(group, kind="stable")
    groups, dense = np.unique(group[order], return_inverse=True)
    collections = shapely.geometrycollections(geoms[order], indices=dense)
    out[groups] = shapely.union_all(collections[:, None], axis=1)
    return out


def _county_gap(missed: np.ndarray, large: np.ndarray, reach: np.ndarray) -> shapely.Geometry:
    """The uncovered area of the whole county, for a workspace without villages to split it by."""
    covered = shapely.union_all(reach) if len(reach) else shapely.Polygon()
    beyond = shapely.difference(shapely.union_all(large), covered)
    return shapely.union_all([shapely.union_all(missed), beyond])
