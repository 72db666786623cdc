"""Coverage of every demand unit per tier, kept current as facilities change, and its diff.

Built from the coverage stage's own parts (:mod:`servicegrid.coverage.analysis`): the demand
units (:func:`~servicegrid.coverage.demand.demand_units`), their access points (gates, where
a compound's boundary meets a path, else a point inside, :func:`~servicegrid.coverage.demand.access_points`)
snapped once, and per tier one multi-source pass
(:func:`~servicegrid.coverage.analysis.walk_to_units`) from the facilities that serve it;
each unit takes its best access point, a facility inside a unit serves it at distance 0
(:func:`~servicegrid.coverage.analysis.inside_units`),
and a unit is covered within the tier's radius — the rules of ``servicegrid coverage``, whose
result this matches unit for unit (the tests check it). After an update only the tiers the
facility takes part in are measured again, and :func:`coverage_diff` lists the units that
gained or lost coverage, with their households.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..coverage.analysis import RADIUS_EPS_M, TierCoverage, UnitNearest, inside_units, walk_to_units
from ..coverage.demand import access_points, demand_units
from ..coverage.network import StreetNetwork
from ..coverage.snapping import SnapResult, snap_points
from ..geo.workspace import Workspace

__all__ = ["UnitCoverage", "build_units", "coverage_diff", "remeasure"]


@dataclass(frozen=True, eq=False)
class UnitCoverage:
    """Per tier, the facility (table position, -1 none) and walk of every unit it serves."""

    units: gpd.GeoDataFrame  # demand units, metric CRS
    owner: np.ndarray  # access point -> unit position
    access: SnapResult
    tiers: Mapping[str, TierCoverage]
    served: Mapping[str, np.ndarray]  # unit positions served by each tier
    facility: Mapping[str, np.ndarray]
    walk_m: Mapping[str, np.ndarray]

    def covered(self, tier: str) -> np.ndarray:
        """Covered mask of the units ``tier`` serves (aligned with ``served[tier]``)."""
        return self.walk_m[tier] <= self.tiers[tier].radius_m + RADIUS_EPS_M


def build_units(
    workspace: Workspace,
    network: StreetNetwork,
    tiers: Iterable[TierCoverage],
    facility_xy: np.ndarray,
    facility_snap: SnapResult,
    facility_tier: np.ndarray,
    serving: np.ndarray,
    snap_limit_m: float,
) -> UnitCoverage:
    """Coverage of every unit of ``workspace`` by every tier of ``tiers``."""
    crs = network.crs
    layers = {n: workspace.layer(n) for n in ("compounds", "settlements", "villages", "grids")}
    units = demand_units({k: v for k, v in layers.items() if len(v)}, crs=crs)
    access = access_points(units, workspace.layer("gates").to_crs(crs), network)
    snap = snap_points(network, gpd.GeoSeries(access.points, crs=crs), max_distance=snap_limit_m)
    specs = {t.tier: t for t in tiers}
    empty = UnitCoverage(units, access.owner, snap, specs, {}, {}, {})
    return remeasure(empty, set(specs), facility_xy, facility_snap, facility_tier, serving, network)


def remeasure(
    state: UnitCoverage,
    tiers: set[str],
    facility_xy: np.ndarray,
    facility_snap: SnapResult,
    facility_tier: np.ndarray,
    serving: np.ndarray,
    network: StreetNetwork,
) -> UnitCoverage:
    """``state`` with the coverage of ``tiers`` measured again for the facilities given."""
    served, facility, walk = dict(state.served), dict(state.facility), dict(state.walk_m)
    for tier in tiers & set(state.tiers):
        spec = state.tiers[tier]
        mask = spec.serves_unit(state.units)
        members = np.flatnonzero(serving & np.isin(facility_tier, spec.providers))
        n = int(mask.sum())
        # Facility positions among ``members`` until the end, then in the facility table.
        nearest = UnitNearest(
            np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.full(n, None, dtype=object)
        )
        on_network = np.flatnonzero(facility_snap.ok[members])
        if on_network.size:
            sources = facility_snap.take(members[on_network])
            nearest, _, _ = walk_to_units(network, sources, state.access, state.owner, mask)
            found = nearest.facility
            nearest = replace(nearest, facility=np.where(found >= 0, on_network[np.maximum(found, 0)], -1))
        if members.size:
            nearest = inside_units(nearest, state.units[mask], shapely.points(facility_xy[members]))
            found = nearest.facility
            nearest = replace(nearest, facility=np.where(found >= 0, members[np.maximum(found, 0)], -1))
        served[tier], facility[tier], walk[tier] = np.flatnonzero(mask), nearest.facility, nearest.walk_m
    return replace(state, served=served, facility=facility, walk_m=walk)


def coverage_diff(
    before: UnitCoverage, after: UnitCoverage, tiers: Iterable[str], facility_ids: np.ndarray
) -> dict[str, Any]:
    """The units of ``tiers`` that gained or lost coverage between two states, with households."""
    units = after.units
    changes: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    hh = units["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
    for tier in sorted(tiers):
        if tier not in after.tiers:
            continue
        pos = after.served[tier]
        old, new = before.covered(tier), after.covered(tier)
        old_fac, new_fac = before.facility[tier], after.facility[tier]
        moved = (old != new) | (old_fac != new_fac)
        gained = int(hh[pos[new & ~old]].sum())
        lost = int(hh[pos[old & ~new]].sum())
        totals.append(
            {
                "tier": tier,
                "units_gained": int((new & ~old).sum()),
                "units_lost": int((old & ~new).sum()),
                "households_gained": gained,
                "households_lost": lost,
                "units_reassigned": int((moved & (old == new)).sum()),
            }
        )
        for i in np.flatnonzero(moved & (old != new)).tolist():
            row = units.iloc[int(pos[i])]
            changes.append(
                {
                    "tier": tier,
                    "change": "gained" if new[i] else "lost",
                    "unit_layer": str(row["unit_layer"]),
                    "unit_id": str(row["unit_id"]),
                    "unit_name": None if pd.isna(row["unit_name"]) else str(row["unit_name"]),
                    "households": None if pd.isna(row["households"]) else int(row["households"]),
                    "population": None if pd.isna(row["population"]) else int(row["population"]),
                    "township_id": None if pd.isna(row["township_id"]) else str(row["township_id"]),
                    "before": _side(old_fac[i], before.walk_m[tier][i], facility_ids),
                    "after": _side(new_fac[i], after.walk_m[tier][i], facility_ids),
                }
            )
    return {"tiers": totals, "units": changes}


def _side(facility: int, walk: float, ids: np.ndarray) -> dict[str, Any]:
    return {
        "facility_id": None if facility < 0 else str(ids[facility]),
        "walk_m": round(float(walk), 1) if np.isfinite(walk) else None,
    }
