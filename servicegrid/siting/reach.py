"""Who reaches whom on foot, between a workspace's demand units and candidate sites.

The walking spec of a tier (radius, served units), the demand units it serves, the units ×
sites matrix of walking distances for the pairs within a limit (bounded shortest paths on the
network, or the straight line × :data:`EUCLIDEAN_DETOUR` without one; only pairs within reach
are stored), and the 0/1 coverage matrix of the pairs within the radius.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy import sparse

from ..coverage.analysis import TierCoverage, access_points, coverage_tiers, demand_units
from ..coverage.distance import distance_matrix_sparse
from ..coverage.network import StreetNetwork
from ..coverage.snapping import snap_points
from ..errors import InputError
from ..geo.workspace import Workspace
from ..standards.models import Preset

__all__ = ["EUCLIDEAN_DETOUR", "reach_matrix", "served_units", "tier_spec", "within"]

EUCLIDEAN_DETOUR = 1.3


def tier_spec(preset: Preset, tier: str, radii_m: dict[str, float]) -> TierCoverage:
    specs = {spec.tier: spec for spec in coverage_tiers(preset, radii_m=radii_m)}
    if tier not in specs:
        walk = ", ".join(specs) or "none"
        msg = f"tier '{tier}' has no walking radius in preset '{preset.id}'; plannable tiers: {walk}"
        raise InputError(msg)
    return specs[tier]


def served_units(workspace: Workspace, spec: TierCoverage, crs: CRS) -> gpd.GeoDataFrame:
    """The demand units ``spec`` serves, in ``crs``."""
    names = ("compounds", "settlements", "villages", "grids")
    layers = {k: workspace.layer(k) for k in names if k in workspace}
    if not layers:
        msg = "the workspace has no demand units (compounds, settlements, villages or grids)"
        raise InputError(msg)
    units = demand_units(layers, crs=crs)
    return units[spec.serves_unit(units)].reset_index(drop=True)


def reach_matrix(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    limit: float,
    network: StreetNetwork | None,
    gates: gpd.GeoDataFrame,
    snap_limit: float,
) -> sparse.csr_array:
    """Units × sites walking distance for the pairs within ``limit`` (explicit zeros kept)."""
    access = access_points(units, gates, network)
    if network is None:
        ap = gpd.GeoSeries(access.points, crs=units.crs)
        site_idx, ap_idx = ap.sindex.query(
            sites.geometry.to_numpy(), predicate="dwithin", distance=limit / EUCLIDEAN_DETOUR
        )
        dist = shapely.distance(sites.geometry.to_numpy()[site_idx], access.points[ap_idx]) * EUCLIDEAN_DETOUR
    else:
        ap_snap = snap_points(network, gpd.GeoSeries(access.points, crs=units.crs), max_distance=snap_limit)
        site_snap = snap_points(network, sites.geometry, max_distance=snap_limit)
        matrix = distance_matrix_sparse(network, site_snap, ap_snap, limit=limit).tocoo()
        site_idx, ap_idx, dist = matrix.row, matrix.col, matrix.data
    unit_idx = access.owner[ap_idx]
    # Sites inside a compound serve it at distance 0.
    compound = (units["unit_layer"] == "compounds").to_numpy()
    if compound.any():
        s_in, u_in = gpd.GeoSeries(units.geometry.to_numpy()[compound]).sindex.query(
            sites.geometry.to_numpy(), predicate="within"
        )
        site_idx = np.concatenate([site_idx, s_in])
        unit_idx = np.concatenate([unit_idx, np.flatnonzero(compound)[u_in]])
        dist = np.concatenate([dist, np.zeros(len(s_in))])
    # Keep the shortest distance of each (unit, site) pair over the unit's access points.
    order = np.lexsort((dist, site_idx, unit_idx))
    pairs = np.column_stack([unit_idx[order], site_idx[order]])
    first = np.ones(len(order), dtype=bool)
    first[1:] = np.any(pairs[1:] != pairs[:-1], axis=1)
    return sparse.csr_array(
        (dist[order][first], (pairs[first, 0], pairs[first, 1])), shape=(len(units), len(sites))
    )


def within(dist: sparse.csr_array, radius: float) -> sparse.csr_array:
    """0/1 matrix of the stored pairs within ``radius`` (a stored zero distance is within)."""
    coo = dist.tocoo()
    keep = coo.data <= radius + 1e-6
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    return sparse.csr_array((ones, (coo.row[keep], coo.col[keep])), shape=dist.shape)
