"""Who reaches whom on foot, between a workspace's demand units and candidate sites.

The walking spec of a tier (radius, served units), the demand units it serves, the units ×
sites matrix of walking distances for the pairs within a limit (bounded shortest paths on the
network, or the straight line × :data:`~servicegrid.coverage.demand.DETOUR_FACTOR`, from the same places as coverage's without one; only pairs within reach
are stored), and the 0/1 coverage matrix of the pairs within the radius.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy import sparse

from ..coverage.analysis import RADIUS_EPS_M, TierCoverage, coverage_tiers
from ..coverage.demand import (
    DEMAND_LAYERS,
    DETOUR_FACTOR,
    access_points,
    demand_units,
    inside_pairs,
    straight_line_starts,
)
from ..coverage.distance import distance_matrix_sparse
from ..coverage.network import StreetNetwork
from ..coverage.snapping import snap_points
from ..errors import InputError
from ..geo.workspace import Workspace
from ..standards.models import Preset

__all__ = ["reach_matrix", "served_units", "tier_spec", "within"]


def tier_spec(preset: Preset, tier: str, radii_m: dict[str, float]) -> TierCoverage:
    specs = {spec.tier: spec for spec in coverage_tiers(preset, radii_m=radii_m)}
    if tier not in specs:
        walk = ", ".join(specs) or "none"
        msg = f"tier '{tier}' has no walking radius in preset '{preset.id}'; plannable tiers: {walk}"
        raise InputError(msg)
    return specs[tier]


def served_units(workspace: Workspace, spec: TierCoverage, crs: CRS) -> gpd.GeoDataFrame:
    """The demand units ``spec`` serves, in ``crs``."""
    layers = {k: workspace.layer(k) for k in DEMAND_LAYERS if k in workspace}
    if not layers:
        msg = "the workspace has no demand units (compounds, settlements, villages or grids)"
        raise InputError(msg)
    if "townships" in workspace:
        layers["townships"] = workspace.layer("townships")
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
    if network is None:
        starts, owner = straight_line_starts(units, gates)
        ap_idx, site_idx = shapely.STRtree(sites.geometry.to_numpy()).query(
            starts, predicate="dwithin", distance=limit / DETOUR_FACTOR
        )
        dist = shapely.distance(sites.geometry.to_numpy()[site_idx], starts[ap_idx]) * DETOUR_FACTOR
        unit_idx = owner[ap_idx]
    else:
        access = access_points(units, gates, network)
        ap_snap = snap_points(network, gpd.GeoSeries(access.points, crs=units.crs), max_distance=snap_limit)
        site_snap = snap_points(network, sites.geometry, max_distance=snap_limit)
        matrix = distance_matrix_sparse(network, site_snap, ap_snap, limit=limit).tocoo()
        site_idx, ap_idx, dist = matrix.row, matrix.col, matrix.data
        unit_idx = access.owner[ap_idx]
    # Sites inside a unit's polygon serve it at distance 0.
    s_in, u_in = inside_pairs(units, sites.geometry.to_numpy())
    site_idx = np.concatenate([site_idx, s_in])
    unit_idx = np.concatenate([unit_idx, u_in])
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
    keep = coo.data <= radius + RADIUS_EPS_M
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    return sparse.csr_array((ones, (coo.row[keep], coo.col[keep])), shape=dist.shape)
