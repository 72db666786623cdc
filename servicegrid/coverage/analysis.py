"""Walking coverage: the facility of each tier that should serve every compound, settlement,
village and grid, how far it is on foot, and the gaps ("last hundred metres", "last kilometre").

:func:`measure_layers` takes a workspace, a standards preset (which tiers are walk-based, their
radii, the demand units they serve and the higher tiers that may stand in for them) and a
walking network, and returns a :class:`CoverageResult`: one row per demand unit and tier, the
summaries per township, village and grid, the gap lists, service areas and uncovered areas.
Each tier is one multi-source shortest-path pass. Without a network, straight-line distance
times a detour factor stands in, and every row says ``method = "euclidean"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..geo.workspace import Workspace
from ..progress import Progress, Steps
from ..standards.models import Preset
from ..standards.records import resolve_tiers
from .areas import service_areas, uncovered_areas
from .demand import (
    DEMAND_LAYERS,
    DETOUR_FACTOR,
    access_points,
    counted_households,
    demand_units,
    inside_pairs,
    straight_line_starts,
    typed_column,
)
from .distance import nearest_facility
from .labels import beyond_text
from .network import StreetNetwork
from .snapping import SnapResult, snap_points

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "RADIUS_EPS_M",
    "CoverageResult",
    "TierCoverage",
    "UnitNearest",
    "coverage_tiers",
    "inside_units",
    "measure_layers",
    "walk_to_units",
]

logger = logging.getLogger(__name__)

Method = Literal["network", "euclidean"]

DEFAULT_DETOUR_FACTOR = DETOUR_FACTOR  # walking routes are about a third longer than the straight line
DOORSTEP_M = 100.0  # "the last hundred metres" taken literally
_NO_FACILITY = "no facility of this tier"
RADIUS_EPS_M = 1e-6
"""A unit exactly at the radius is covered, whatever the float rounding (coverage, plans, the API)."""
GAP_NAMES = {"compound_station": "last_hundred_meters", "village_center": "last_kilometer"}
UNIT_COLUMNS = [
    "unit_layer",
    "unit_id",
    "unit_name",
    "unit_kind",
    "households",
    "population",
    "township_id",
    "village_id",
    "grid_id",
]


@dataclass(frozen=True)
class TierCoverage:
    """How one walk-based tier is measured: its radius, who serves and what it serves."""

    tier: str
    radius_m: float
    partial_m: float | None
    providers: tuple[str, ...]  # the tier itself, then the higher tiers that may stand in
    serves: tuple[str, ...]

    def serves_unit(self, units: pd.DataFrame) -> np.ndarray:
        """Mask of ``units`` this tier should serve (grids follow the kind of their village)."""
        kind = units["unit_kind"].to_numpy()
        mask = np.isin(kind, self.serves)
        area = units["area_kind"].to_numpy()
        grids = kind == "grids"
        implicit = ((area == "community") & ("communities" in self.serves)) | (
            (area == "village") & ("villages" in self.serves)
        )
        return mask | (grids & implicit)


@dataclass(frozen=True)
class CoverageResult:
    """Everything :func:`measure_layers` found, as frames ready to write."""

    units: gpd.GeoDataFrame
    summary: pd.DataFrame
    gaps: gpd.GeoDataFrame
    service_areas: gpd.GeoDataFrame
    uncovered_areas: gpd.GeoDataFrame
    method: Method
    tiers: tuple[TierCoverage, ...]
    notes: tuple[str, ...] = field(default=())

    def layers(self) -> dict[str, pd.DataFrame]:
        """The result layers by name, as written to the results GeoPackage."""
        return {
            "coverage_units": self.units,
            "coverage_summary": self.summary,
            "coverage_gaps": self.gaps,
            "service_areas": self.service_areas,
            "uncovered_areas": self.uncovered_areas,
        }

    def county_table(self) -> pd.DataFrame:
        """Coverage of the whole county per tier and unit layer (the CLI's summary)."""
        county = self.summary[self.summary["level"] == "county"]
        return county.drop(columns=["level", "area_id", "area_name"]).reset_index(drop=True)


def coverage_tiers(preset: Preset, *, radii_m: Mapping[str, float] | None = None) -> list[TierCoverage]:
    """The walk-based tiers of ``preset``, with radii overridden by ``radii_m`` (workspace settings)."""
    radii_m = dict(radii_m or {})
    unknown = sorted(set(radii_m) - set(preset.tiers))
    if unknown:
        msg = f"radii_m names unknown tier(s) {', '.join(unknown)}; tiers are: {', '.join(preset.tiers)}"
        raise InputError(msg, layer="servicegrid_settings", field="radii_m")
    out = []
    for tier_id, tier in preset.tiers.items():
        if tier.walk_radius_m is None or not tier.serves:
            continue
        radius = float(radii_m.get(tier_id, tier.walk_radius_m.value))
        partial = None if tier.partial_radius_m is None else float(tier.partial_radius_m.value)
        out.append(
            TierCoverage(
                tier=tier_id,
                radius_m=radius,
                partial_m=partial if partial is not None and partial > radius else None,
                providers=(tier_id, *tier.stand_ins),
                serves=tuple(tier.serves),
            )
        )
    return out


def measure_layers(
    workspace: Workspace,
    preset: Preset,
    *,
    network: StreetNetwork | None = None,
    include_planned: bool = False,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    progress: Progress | None = None,
) -> CoverageResult:
    """Walking coverage of every demand unit by every walk-based tier of ``preset``.

    Parameters
    ----------
    workspace
        The workspace (facilities and at least one demand layer; gates improve compound access).
    preset
        Standards preset: walk radii, served units and stand-in tiers (radii overridden by the
        workspace settings' ``radii_m``).
    network
        The walking network in the workspace's metric CRS. ``None`` measures straight lines
        times ``detour_factor`` and marks every row ``method="euclidean"``.
    include_planned
        Count planned facilities too (by default only existing ones count).
    progress
        Called with ``(step, done, total)`` as each step starts (see :mod:`servicegrid.progress`).

    Returns
    -------
    CoverageResult
    """
    tiers = coverage_tiers(preset, radii_m=workspace.settings.radii_m)
    say = Steps(progress, 4 + len(tiers))
    crs = network.crs if network is not None else workspace.metric_crs
    notes: list[str] = []
    say("demand units")
    wanted = (*DEMAND_LAYERS, "townships")
    units = demand_units({name: workspace.layer(name) for name in wanted if name in workspace}, crs=crs)
    notes.extend(_point_compound_note(units))
    facilities = _facilities(workspace, preset, include_planned=include_planned, crs=crs)
    if network is None:
        notes.append(
            f"no walking network: distances are straight lines × {detour_factor:g} (method=euclidean); "
            "give an OpenStreetMap file with --network or a roads layer for walking distances"
        )
        logger.info(notes[-1])  # in the result notes too
        method: Method = "euclidean"
    else:
        method = "network"
        _check_overlap(network, units, margin_m=workspace.settings.snap_limit_m)
    say("access points")
    gates = workspace.layer("gates").to_crs(crs)
    access = access_points(units, gates, network)
    ap_snap = None
    fac_snap = None
    if network is not None:
        say("snapping to the network")
        limit = workspace.settings.snap_limit_m
        ap_snap = snap_points(network, gpd.GeoSeries(access.points, crs=crs), max_distance=limit)
        fac_snap = snap_points(network, facilities.geometry, max_distance=limit)
        far = ~fac_snap.ok
        if far.any():
            named = _named(facilities[far])
            notes.append(
                f"{int(far.sum())} facilities are farther than {limit:g} m from every path and cannot be "
                f"reached: {named}"
            )
    rows, areas = [], []
    for spec in tiers:
        say(f"distances: {spec.tier}")
        served = spec.serves_unit(units)
        provider = np.isin(facilities["tier"].to_numpy(), spec.providers)
        if not provider.any():
            if served.any():
                notes.append(
                    f"{spec.tier}: no facility of this tier or a stand-in serves today; every unit is a gap"
                )
            n = int(served.sum())
            nearest = UnitNearest(np.full(n, -1), np.full(n, np.inf), np.full(n, _NO_FACILITY, dtype=object))
        elif network is None:
            nearest = _euclidean(units, served, gates, facilities[provider], detour_factor=detour_factor)
        else:
            nearest, node_source, node_distance = walk_to_units(
                network, fac_snap.take(provider), ap_snap, access.owner, served
            )
            areas.append(
                service_areas(
                    network, spec, facilities[provider], fac_snap.take(provider), node_source, node_distance
                )
            )
        nearest = inside_units(nearest, units[served], facilities.geometry.to_numpy()[provider])
        counted = np.column_stack(
            [counted_households(units, served, column)[served] for column in ("households", "population")]
        )
        rows.append(_unit_rows(units[served], nearest, facilities[provider], spec, method, counted))
    say("summaries")
    unit_rows = _with_names(pd.concat(rows, ignore_index=True) if rows else _empty_units(crs), workspace)
    reach = pd.concat(areas, ignore_index=True) if areas else gpd.GeoDataFrame(geometry=[], crs=crs)
    result = CoverageResult(
        units=unit_rows,
        summary=summarize_coverage(unit_rows, workspace),
        gaps=coverage_gaps(unit_rows, tiers),
        service_areas=reach,
        uncovered_areas=uncovered_areas(
            units, unit_rows, reach, tiers, workspace.layer("villages").to_crs(crs)
        ),
        method=method,
        tiers=tuple(tiers),
        notes=tuple(notes),
    )
    say.finish()
    return result


def _facilities(workspace: Workspace, preset: Preset, *, include_planned: bool, crs: CRS) -> gpd.GeoDataFrame:
    """Facilities that count (existing, or planned too), with tier ids resolved, in ``crs``."""
    frame = workspace.layer("facilities")
    if len(frame) == 0:
        msg = "the workspace has no facilities to measure coverage from"
        raise InputError(msg, layer="facilities")
    status = (
        frame["status"].astype("string").str.strip().str.casefold().fillna("existing")
        if "status" in frame
        else pd.Series("existing", index=frame.index)
    )
    keep = status.isin(["existing", "现有", "已建", "在用", ""]) | (
        include_planned & status.isin(["planned", "规划", "在建", "拟建"])
    )
    frame = frame[keep.to_numpy()]
    tiers = resolve_tiers(frame["tier"], preset, ids=frame["id"])
    present = ~(shapely.is_missing(frame.geometry.array) | shapely.is_empty(frame.geometry.array))
    out = frame.assign(tier=tiers.to_numpy(), id=frame["id"].astype("string"))[present]
    return out.to_crs(crs).reset_index(drop=True)


def _check_overlap(network: StreetNetwork, units: gpd.GeoDataFrame, *, margin_m: float) -> None:
    """Refuse a network that lies somewhere else than the workspace (no unit within snapping reach)."""
    net_box = shapely.box(*network.node_xy.min(axis=0), *network.node_xy.max(axis=0))
    if not shapely.dwithin(units.geometry.to_numpy(), net_box, margin_m).any():
        msg = (
            f"the walking network ({network.source or 'given'}) does not overlap the workspace's demand units; "
            "is it the network of another place?"
        )
        raise InputError(msg)


@dataclass(frozen=True)
class UnitNearest:
    """Per served unit: nearest facility position (-1 none), walking metres and a reason."""

    facility: np.ndarray
    walk_m: np.ndarray
    reason: np.ndarray


def walk_to_units(
    network: StreetNetwork,
    sources: SnapResult,
    ap_snap: SnapResult,
    ap_owner: np.ndarray,
    served: np.ndarray,
) -> tuple[UnitNearest, np.ndarray, np.ndarray]:
    """One multi-source pass from ``sources``; each served unit takes its best access point.

    Returns the units' nearest facility (position among ``sources``) and walk, and per network
    node its nearest source and distance (for service areas).
    """
    keep = served[ap_owner]
    targets = ap_snap.take(keep)
    owner = ap_owner[keep]
    result = nearest_facility(network, sources, targets)
    # Units are numbered by their position among the served ones.
    unit_pos = np.cumsum(served) - 1
    owner = unit_pos[owner]
    order = np.lexsort((result.distance, owner))
    first = order[np.unique(owner[order], return_index=True)[1]]
    n = int(served.sum())
    facility = np.full(n, -1, dtype=np.int64)
    walk = np.full(n, np.inf)
    reason = np.full(n, None, dtype=object)
    facility[owner[first]] = result.source[first]
    walk[owner[first]] = result.distance[first]
    reason[owner[first]] = result.reason[first]
    return UnitNearest(facility, walk, reason), result.node_source, result.node_distance


def _euclidean(
    units: gpd.GeoDataFrame,
    served: np.ndarray,
    gates: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    detour_factor: float,
) -> UnitNearest:
    """Straight lines × ``detour_factor`` from the same places walking starts from: a compound's
    gates, else the unit itself (its boundary, 0 inside it), else its point."""
    start, owner = straight_line_starts(units, gates)
    keep = served[owner]
    start, owner = start[keep], owner[keep]
    ap_idx, fac_idx = facilities.sindex.nearest(start, return_all=False)
    dist = np.full(len(start), np.inf)
    dist[ap_idx] = shapely.distance(start[ap_idx], facilities.geometry.to_numpy()[fac_idx]) * detour_factor
    fac = np.full(len(start), -1, dtype=np.int64)
    fac[ap_idx] = fac_idx
    unit_pos = np.cumsum(served) - 1
    owner = unit_pos[owner]
    order = np.lexsort((dist, owner))
    first = order[np.unique(owner[order], return_index=True)[1]]
    n = int(served.sum())
    facility = np.full(n, -1, dtype=np.int64)
    walk = np.full(n, np.inf)
    facility[owner[first]] = fac[first]
    walk[owner[first]] = dist[first]
    return UnitNearest(facility, walk, np.full(n, None, dtype=object))


def inside_units(nearest: UnitNearest, units: gpd.GeoDataFrame, facility_points: np.ndarray) -> UnitNearest:
    """A facility inside a unit's polygon (compound, settlement, village, grid) serves it at 0 m.

    ``facility_points`` are the facilities' shapely points, positions as in ``nearest.facility``.
    """
    fac_idx, where = inside_pairs(units, facility_points)
    if len(fac_idx) == 0:
        return nearest
    facility, walk, reason = nearest.facility.copy(), nearest.walk_m.copy(), nearest.reason.copy()
    facility[where], walk[where], reason[where] = fac_idx, 0.0, None
    return UnitNearest(facility, walk, reason)


def _named(facilities: gpd.GeoDataFrame, limit: int = 5) -> str:
    """'F12 (青山站), F30 (…), …' for a note."""
    names = typed_column(facilities, "name", "string").to_numpy(dtype=object)
    shown = [
        f"{i} ({n})" if isinstance(n, str) else str(i) for i, n in zip(facilities["id"], names, strict=True)
    ]
    return ", ".join(shown[:limit]) + (", …" if len(shown) > limit else "")


def _point_compound_note(units: gpd.GeoDataFrame) -> list[str]:
    compound = (units["unit_layer"] == "compounds").to_numpy()
    points = compound & (shapely.get_type_id(units.geometry.to_numpy()) == 0)
    if not points.any():
        return []
    return [
        f"{int(points.sum())} compounds are given as points, without a boundary: each is measured from "
        "its point (draw the compounds or add gates for distances from their entrances)"
    ]


def _unit_rows(
    units: gpd.GeoDataFrame,
    nearest: UnitNearest,
    facilities: gpd.GeoDataFrame,
    spec: TierCoverage,
    method: Method,
    counted: np.ndarray,
) -> gpd.GeoDataFrame:
    found = nearest.facility >= 0
    fac_ids = facilities["id"].to_numpy(dtype=object)
    fac_names = (
        typed_column(facilities, "name", "string").to_numpy(dtype=object) if len(facilities) else fac_ids
    )
    fac_geom = facilities.geometry.to_numpy()
    facility_id = np.where(found, fac_ids[np.maximum(nearest.facility, 0)] if len(facilities) else None, None)
    facility_name = np.where(
        found, fac_names[np.maximum(nearest.facility, 0)] if len(facilities) else None, None
    )
    straight = np.full(len(units), np.nan)
    if found.any():
        straight[found] = shapely.distance(
            units.geometry.to_numpy()[found], fac_geom[nearest.facility[found]]
        )
    walk = np.where(np.isfinite(nearest.walk_m), nearest.walk_m, np.nan)
    covered = walk <= spec.radius_m + RADIUS_EPS_M
    partial = (
        ~covered & (walk <= spec.partial_m + RADIUS_EPS_M)
        if spec.partial_m
        else np.zeros(len(units), dtype=bool)
    )
    reason = nearest.reason.copy()
    beyond = found & np.isfinite(walk) & ~covered
    how = "on foot" if method == "network" else "estimated from the straight line (no walking network)"
    reason[beyond] = [
        f"{beyond_text(w, spec.radius_m)} m {how}, beyond the {spec.radius_m:,.0f} m radius"
        for w in walk[beyond]
    ]
    no_facility = ~found & pd.isna(reason)
    reason[no_facility] = _NO_FACILITY
    out = units[UNIT_COLUMNS].copy()
    return gpd.GeoDataFrame(
        out.assign(
            tier=spec.tier,
            households_counted=counted[:, 0],
            population_counted=counted[:, 1],
            facility_id=pd.array(facility_id, dtype="string"),
            facility_name=pd.array(facility_name, dtype="string"),
            walk_m=np.round(walk, 2),
            straight_m=np.round(straight, 2),
            radius_m=spec.radius_m,
            covered=covered,
            partial=partial,
            doorstep=walk <= DOORSTEP_M + RADIUS_EPS_M,
            method=method,
            reason=pd.array(reason, dtype="string"),
        ),
        geometry=shapely.point_on_surface(units.geometry.to_numpy()),
        crs=units.crs,
    )


def _empty_units(crs: CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype="string") for c in [*UNIT_COLUMNS, "tier"]}, geometry=[], crs=crs
    )


def _with_names(rows: gpd.GeoDataFrame, workspace: Workspace) -> gpd.GeoDataFrame:
    """The township and village names beside their ids (where the layers name them)."""
    if len(rows) == 0:
        return rows
    at = list(rows.columns).index("village_id") + 1
    for column, layer in (("village_name", "villages"), ("township_name", "townships")):
        key = column.replace("_name", "_id")
        names = pd.Series(_names(workspace.layer(layer)), dtype="string")
        rows.insert(at, column, rows[key].map(names).astype("string"))
    return rows


def summarize_coverage(units: pd.DataFrame, workspace: Workspace) -> pd.DataFrame:
    """Coverage per tier and unit layer for the county and every township, village and grid.

    Each unit layer a tier serves has its own rows; the rows with ``unit_layer`` "all" add the
    layers up with nested units counted once (``households_counted``: a community's compounds
    are not counted again in the community), so their households are the register's.
    """
    if len(units) == 0:
        return pd.DataFrame()
    covered = units["covered"].to_numpy(dtype=bool)
    doorstep = units["doorstep"].to_numpy(dtype=bool)
    layers = []
    for layer, hh_col, pop_col in (
        (units["unit_layer"].to_numpy(), "households", "population"),
        (np.full(len(units), "all", dtype=object), "households_counted", "population_counted"),
    ):
        hh = units[hh_col].astype("Float64").fillna(0).to_numpy(dtype=float)
        pop = units[pop_col].astype("Float64").fillna(0).to_numpy(dtype=float)
        counts = hh_col == "households" or None
        layers.append(
            pd.DataFrame(
                {
                    "tier": units["tier"].to_numpy(),
                    "unit_layer": layer,
                    "units": 1 if counts else (hh > 0).astype(int),
                    "units_covered": covered.astype(int) if counts else ((hh > 0) & covered).astype(int),
                    "households": hh,
                    "households_covered": hh * covered,
                    "households_doorstep": hh * doorstep,
                    "population": pop,
                    "population_covered": pop * covered,
                }
            )
        )
    base = pd.concat(layers, ignore_index=True)
    units = pd.concat([units, units], ignore_index=True)
    names = {
        level: _names(workspace.layer(layer))
        for level, layer in (("township", "townships"), ("village", "villages"), ("grid", "grids"))
    }
    parts = []
    for level, key in (
        ("county", None),
        ("township", "township_id"),
        ("village", "village_id"),
        ("grid", "grid_id"),
    ):
        area = pd.Series("county", index=units.index) if key is None else units[key].astype("string")
        frame = base.assign(area_id=area.to_numpy())
        frame = frame[frame["area_id"].notna()]
        grouped = (
            frame.groupby(["area_id", "tier", "unit_layer"], sort=True).sum(numeric_only=True).reset_index()
        )
        grouped.insert(0, "level", level)
        grouped.insert(2, "area_name", grouped["area_id"].map(names.get(level, {})) if key else "county")
        parts.append(grouped)
    out = pd.concat(parts, ignore_index=True)
    out["units_uncovered"] = out["units"] - out["units_covered"]
    out["households_uncovered"] = out["households"] - out["households_covered"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["unit_rate"] = (out["units_covered"] / out["units"]).round(4)
        out["household_rate"] = (
            out["households_covered"] / out["households"].where(out["households"] > 0)
        ).round(4)
        out["doorstep_household_rate"] = (
            out["households_doorstep"] / out["households"].where(out["households"] > 0)
        ).round(4)
        out["population_rate"] = (
            out["population_covered"] / out["population"].where(out["population"] > 0)
        ).round(4)
    if "method" in units.columns:  # one per run: every figure says how its distances were found
        out["method"] = str(units["method"].iloc[0])
    return out


def _names(layer: gpd.GeoDataFrame) -> dict[str, str]:
    if len(layer) == 0 or "name" not in layer:
        return {}
    return dict(zip(layer["id"].astype("string"), layer["name"].astype("string"), strict=True))


def coverage_gaps(units: gpd.GeoDataFrame, tiers: list[TierCoverage]) -> gpd.GeoDataFrame:
    """Units beyond their tier's radius, nearest first to fix: the "last hundred metres" for
    compounds without a station in reach, the "last kilometre" for settlements and villages."""
    if len(units) == 0:
        return units
    gaps = units[~units["covered"].to_numpy(dtype=bool)].copy()
    gaps.insert(0, "gap", gaps["tier"].map(GAP_NAMES).fillna("beyond_radius").to_numpy())
    gaps["to_go_m"] = (gaps["walk_m"] - gaps["radius_m"]).round(1)
    hh = gaps["households"].astype("Float64").fillna(0)
    return (
        gaps.assign(_hh=hh.to_numpy())
        .sort_values(["gap", "tier", "_hh"], ascending=[True, True, False])
        .drop(columns="_hh")
        .reset_index(drop=True)
    )
