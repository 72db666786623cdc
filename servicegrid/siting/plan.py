"""Planning new and upgraded stations on a workspace: candidates, the sparse coverage matrix and
the one adaptor from GeoDataFrames to the siting models of :mod:`servicegrid.siting.exact`.

:func:`plan_sites` gathers the candidate sites of a tier (the ``candidates`` layer, existing
facilities that fail their standard as upgrades, and generated sites where the user has none),
measures which demand units each one reaches on foot (bounded shortest paths, only the pairs
within reach are stored), fixes the facilities that already meet the standard, solves the chosen
model and returns the proposed sites, the plan's numbers and coverage before and after per
township.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from ..coverage.analysis import TierCoverage, access_points, coverage_tiers, demand_units
from ..coverage.distance import distance_matrix_sparse
from ..coverage.network import StreetNetwork
from ..coverage.snapping import snap_points
from ..errors import InputError
from ..geo.hierarchy import containing_parent_ids
from ..geo.workspace import Workspace
from ..standards.audit import audit_facilities
from ..standards.models import Preset
from ..standards.records import resolve_tiers
from .exact import SitingResult, max_cover, p_median, set_cover, upgrade_or_build

__all__ = ["PlanModel", "PlanResult", "plan_candidates", "plan_sites"]

logger = logging.getLogger(__name__)

PlanModel = Literal["set-cover", "max-cover", "p-median", "upgrade-or-build"]
Progress = Callable[[str], None]

OUTSIDE_AREA_M = 10.0  # the validation tolerance for points outside the planning area
GENERATED_SPACING_SHARE = 0.4  # generated network sites: one per cell of 0.4 × radius
EUCLIDEAN_DETOUR = 1.3


@dataclass(frozen=True)
class PlanResult:
    """A plan and everything needed to read it: what to build, what it costs, what it changes."""

    proposed_sites: gpd.GeoDataFrame
    summary: pd.DataFrame
    before_after: pd.DataFrame
    candidates: gpd.GeoDataFrame
    uncoverable: gpd.GeoDataFrame
    siting: SitingResult
    notes: tuple[str, ...] = field(default=())

    def layers(self) -> dict[str, pd.DataFrame]:
        """The result layers by name, as written to the plan GeoPackage."""
        return {
            "proposed_sites": self.proposed_sites,
            "plan_summary": self.summary,
            "plan_before_after": self.before_after,
            "plan_candidates": self.candidates,
            "plan_uncoverable": self.uncoverable,
        }


def _tier_spec(preset: Preset, tier: str, radii_m: dict[str, float]) -> TierCoverage:
    specs = {spec.tier: spec for spec in coverage_tiers(preset, radii_m=radii_m)}
    if tier not in specs:
        walk = ", ".join(specs) or "none"
        msg = f"tier '{tier}' has no walking radius in preset '{preset.id}'; plannable tiers: {walk}"
        raise InputError(msg)
    return specs[tier]


def plan_candidates(
    workspace: Workspace,
    preset: Preset,
    *,
    tier: str,
    crs: CRS,
    network: StreetNetwork | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Every site a plan for ``tier`` may use, in ``crs``, and notes on how they were found.

    Columns: ``site_id``, ``kind`` (``existing`` — meets the standard, fixed; ``upgrade`` — a
    facility of the tier below standard; ``new``), ``source`` (facilities, candidates, gate,
    network), ``facility_id``, ``name``, ``cost`` (yuan), ``capacity`` (households, blank when
    unlimited or unknown), ``decision`` (required, excluded or blank).
    """
    spec = _tier_spec(preset, tier, dict(workspace.settings.radii_m))
    tier_def = preset.tiers[tier]
    notes: list[str] = []
    facilities = _facility_sites(workspace, preset, spec, crs, notes)
    listed = _listed_candidates(workspace, preset, tier, crs, notes)
    frames = [facilities, listed]
    if len(listed) == 0:
        frames.append(_generated_sites(workspace, spec, facilities, crs, network, notes))
    sites = (
        pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    )
    if sites is None:
        msg = f"no candidate sites for {tier}: add a candidates layer, or facilities of the tier to upgrade"
        raise InputError(msg, layer="candidates")
    new_cost = tier_def.new_build_cost.value if tier_def.new_build_cost is not None else np.nan
    blank_cost = sites["cost"].isna() & (sites["kind"] == "new")
    if blank_cost.any():
        sites.loc[blank_cost, "cost"] = new_cost
        notes.append(
            f"{int(blank_cost.sum())} new site(s) without a cost take the preset's build cost {new_cost:,.0f}"
        )
    return gpd.GeoDataFrame(sites, geometry="geometry", crs=crs), notes


def _facility_sites(
    workspace: Workspace, preset: Preset, spec: TierCoverage, crs: CRS, notes: list[str]
) -> gpd.GeoDataFrame:
    """Existing providers meeting their standard (fixed) and the tier's own failing ones (upgrades)."""
    frame = workspace.layer("facilities")
    if len(frame) == 0:
        return _empty_sites(crs)
    status = frame["status"].astype("string").str.casefold().fillna("existing") if "status" in frame else None
    if status is not None:
        frame = frame[status.isin(["existing", "现有", "已建", "在用"]).to_numpy()]
    tiers = resolve_tiers(frame["tier"], preset, ids=frame["id"])
    frame = frame.assign(tier=tiers.to_numpy())[np.isin(tiers.to_numpy(dtype=object), spec.providers)]
    if len(frame) == 0:
        return _empty_sites(crs)
    audit = audit_facilities(frame, preset)
    meets = audit["meets_standard"].to_numpy(dtype=bool)
    upgrade_cost = audit["upgrade_cost"].to_numpy(dtype=float)
    own = (frame["tier"] == spec.tier).to_numpy()
    upgradable = ~meets & own & np.isfinite(upgrade_cost)
    unknown = ~meets & own & ~np.isfinite(upgrade_cost)
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} failing {spec.tier} facilities have no floor area recorded, so their "
            "upgrade cost is unknown; they are not offered as upgrades"
        )
    keep = meets | upgradable
    kind = np.where(meets, "existing", "upgrade")[keep]
    return gpd.GeoDataFrame(
        {
            "site_id": "F:" + frame["id"].astype("string").to_numpy()[keep],
            "kind": kind,
            "source": "facilities",
            "facility_id": frame["id"].astype("string").to_numpy()[keep],
            "name": _text(frame, "name")[keep],
            "cost": np.where(kind == "existing", 0.0, upgrade_cost[keep]),
            "capacity": np.nan,
            "decision": np.where(kind == "existing", "required", None),
        },
        geometry=frame.to_crs(crs).geometry.to_numpy()[keep],
        crs=crs,
    )


def _listed_candidates(
    workspace: Workspace, preset: Preset, tier: str, crs: CRS, notes: list[str]
) -> gpd.GeoDataFrame:
    frame = workspace.layer("candidates")
    if len(frame) == 0:
        return _empty_sites(crs)
    if "tier" in frame:
        given = frame["tier"].astype("string")
        resolved = resolve_tiers(given.fillna(tier), preset, ids=frame["id"])
        frame = frame[(resolved == tier).to_numpy()]
    decision = (
        frame["decision"]
        .astype("string")
        .str.strip()
        .str.casefold()
        .replace({"必选": "required", "排除": "excluded"})
        if "decision" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    bad = decision.notna() & ~decision.isin(["required", "excluded", ""])
    if bad.any():
        msg = f"decision '{decision[bad].iloc[0]}' is not 'required', 'excluded' or blank"
        raise InputError(
            msg, layer="candidates", row=int(np.flatnonzero(bad.to_numpy())[0]) + 1, field="decision"
        )
    cost, capacity = (
        pd.to_numeric(frame[column], errors="coerce")
        if column in frame
        else pd.Series(np.nan, index=frame.index)
        for column in ("cost", "capacity")
    )
    for values, column in ((cost, "cost"), (capacity, "capacity")):
        if (values < 0).any():
            msg = f"negative {column} {values[values < 0].iloc[0]:g}; a {column} must be zero or more"
            raise InputError(
                msg, layer="candidates", row=int(np.flatnonzero((values < 0).to_numpy())[0]) + 1, field=column
            )
    return gpd.GeoDataFrame(
        {
            "site_id": "C:" + frame["id"].astype("string").to_numpy(),
            "kind": "new",
            "source": "candidates",
            "facility_id": pd.array([pd.NA] * len(frame), dtype="string"),
            "name": _text(frame, "name"),
            "cost": cost.to_numpy(dtype=float),
            "capacity": capacity.to_numpy(dtype=float),
            "decision": decision.replace("", pd.NA).to_numpy(dtype=object),
        },
        geometry=frame.to_crs(crs).geometry.to_numpy(),
        crs=crs,
    )


def _generated_sites(
    workspace: Workspace,
    spec: TierCoverage,
    facilities: gpd.GeoDataFrame,
    crs: CRS,
    network: StreetNetwork | None,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """Where the user lists no candidates: the gates of the compounds and the path nodes near the
    units that no facility meeting the standard reaches, thinned to one per cell of 0.4 × radius."""
    units = _served_units(workspace, spec, crs)
    fixed = facilities[facilities["kind"] == "existing"]
    uncovered = np.ones(len(units), dtype=bool)
    if len(fixed) and len(units):
        reach = _reach_matrix(
            units,
            fixed,
            limit=spec.radius_m,
            network=network,
            gates=workspace.layer("gates").to_crs(crs),
            snap_limit=workspace.settings.snap_limit_m,
        )
        uncovered = np.diff(reach.indptr) == 0
    units = units[uncovered]
    points = []
    gates = workspace.layer("gates")
    if len(gates) and "compound_id" in gates:
        mine = gates["compound_id"].astype("string").isin(set(units["unit_id"])).to_numpy()
        points.append(gates.to_crs(crs).geometry.to_numpy()[mine])
    if network is not None and len(units):
        centre = units.geometry.representative_point()
        near = network.kdtree.query_ball_point(np.column_stack([centre.x, centre.y]), r=spec.radius_m)
        nodes = np.unique(np.concatenate([np.asarray(n, dtype=np.int64) for n in near]))
        points.append(shapely.points(network.node_xy[nodes]))
    pts = np.concatenate(points) if points else np.array([], dtype=object)
    if len(pts) == 0:
        return _empty_sites(crs)
    cell = GENERATED_SPACING_SHARE * spec.radius_m
    keys = np.floor(np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]) / cell).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    pts = pts[np.sort(first)]
    notes.append(
        f"no candidates listed for {spec.tier}: generated {len(pts):,} sites at gates and path nodes near the "
        f"{len(units):,} units no standard facility reaches"
    )
    return gpd.GeoDataFrame(
        {
            "site_id": "G:" + pd.RangeIndex(1, len(pts) + 1).astype(str),
            "kind": "new",
            "source": "generated",
            "facility_id": pd.array([pd.NA] * len(pts), dtype="string"),
            "name": pd.array([pd.NA] * len(pts), dtype="string"),
            "cost": np.nan,
            "capacity": np.nan,
            "decision": None,
        },
        geometry=pts,
        crs=crs,
    )


def _served_units(workspace: Workspace, spec: TierCoverage, crs: CRS) -> gpd.GeoDataFrame:
    """The demand units ``spec`` serves, in ``crs``."""
    names = ("compounds", "settlements", "villages", "grids")
    layers = {k: workspace.layer(k) for k in names if k in workspace}
    if not layers:
        msg = "the workspace has no demand units (compounds, settlements, villages or grids)"
        raise InputError(msg)
    units = demand_units(layers, crs=crs)
    return units[spec.serves_unit(units)].reset_index(drop=True)


def _empty_sites(crs: CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            c: pd.Series(dtype="string")
            for c in ("site_id", "kind", "source", "facility_id", "name", "decision")
        }
        | {"cost": pd.Series(dtype=float), "capacity": pd.Series(dtype=float)},
        geometry=[],
        crs=crs,
    )


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column in frame.columns:
        return frame[column].astype("string").to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _reach_matrix(
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


def _apply_decisions(
    sites: gpd.GeoDataFrame, *, require: Sequence[str], exclude: Sequence[str]
) -> gpd.GeoDataFrame:
    """``sites`` with the user's required and excluded ids marked; unknown ids are refused."""
    if not require and not exclude:
        return sites
    both = set(map(str, require)) & set(map(str, exclude))
    if both:
        msg = f"site(s) {', '.join(sorted(both))} are both required and excluded"
        raise InputError(msg)
    plain = sites["site_id"].str.split(":", n=1).str[1]
    decision = sites["decision"].astype(object).to_numpy(copy=True)
    for ids, value in ((require, "required"), (exclude, "excluded")):
        wanted = pd.Series(list(ids), dtype="string")
        known = wanted.isin(sites["site_id"]) | wanted.isin(plain)
        if not known.all():
            msg = (
                f"no candidate site or facility of this tier has id {', '.join(wanted[~known])}; "
                f"ids are facility or candidate ids such as {', '.join(plain.head(3))}"
            )
            raise InputError(msg)
        decision[(sites["site_id"].isin(wanted) | plain.isin(wanted)).to_numpy()] = value
    return sites.assign(decision=decision)


def _check_inside_area(sites: gpd.GeoDataFrame, workspace: Workspace, crs: CRS) -> None:
    """Refuse listed candidates outside the planning area: their coordinates are wrong."""
    area_layer = next((n for n in ("townships", "villages") if n in workspace), None)
    listed = (sites["source"] == "candidates").to_numpy()
    if area_layer is None or not listed.any():
        return
    area = shapely.union_all(workspace.layer(area_layer).to_crs(crs).geometry.to_numpy())
    outside = listed & ~shapely.dwithin(sites.geometry.to_numpy(), area, OUTSIDE_AREA_M)
    if outside.any():
        ids = sites.loc[outside, "site_id"].str.slice(2).to_numpy()
        far = shapely.distance(sites.geometry.to_numpy()[outside], area)
        shown = ", ".join(f"{i} ({d:,.0f} m)" for i, d in zip(ids[:5], far[:5], strict=True))
        msg = (
            f"{int(outside.sum())} candidate(s) lie outside the planning area ({area_layer}): {shown}; "
            "check their coordinates (and --coords on import)"
        )
        raise InputError(msg, layer="candidates")


def _within(dist: sparse.csr_array, radius: float) -> sparse.csr_array:
    """0/1 matrix of the stored pairs within ``radius`` (a stored zero distance is within)."""
    coo = dist.tocoo()
    keep = coo.data <= radius + 1e-6
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    return sparse.csr_array((ones, (coo.row[keep], coo.col[keep])), shape=dist.shape)


def plan_sites(
    workspace: Workspace,
    preset: Preset,
    *,
    tier: str,
    model: PlanModel = "upgrade-or-build",
    network: StreetNetwork | None = None,
    p: int | None = None,
    budget: float | None = None,
    target: float = 0.98,
    time_limit: float = 60.0,
    require: Sequence[str] = (),
    exclude: Sequence[str] = (),
    progress: Progress | None = None,
) -> PlanResult:
    """Where to build or upgrade stations of ``tier``, solved exactly where it can be proven.

    Parameters
    ----------
    workspace, preset
        The workspace and the standards preset (radius, served units, stand-ins, costs).
    tier
        A walk-based tier, e.g. ``compound_station``.
    model
        ``set-cover`` (least cost covering every reachable unit), ``max-cover`` (most households
        with ``p`` sites or within ``budget``), ``p-median`` (least household-weighted walk with
        ``p`` new sites) or ``upgrade-or-build`` (least cost reaching ``target`` in every
        township, or the most progress for ``budget``).
    network
        The walking network; ``None`` uses straight lines × 1.3 (and says so in the notes).
    time_limit
        Seconds for the solver; on time-out the best plan found is returned with its gap.
    require, exclude
        Sites that must be open or may not be used, by facility or candidate id (or site id such
        as ``C:P12``), on top of the ``decision`` column of the candidates layer.

    Returns
    -------
    PlanResult
    """
    if model not in get_args(PlanModel):
        msg = f"model '{model}' is not one of {', '.join(get_args(PlanModel))}"
        raise InputError(msg)
    say = progress or (lambda _step: None)
    crs = network.crs if network is not None else workspace.metric_crs
    spec = _tier_spec(preset, tier, dict(workspace.settings.radii_m))
    notes: list[str] = []
    say("candidate sites")
    sites, site_notes = plan_candidates(workspace, preset, tier=tier, crs=crs, network=network)
    notes.extend(site_notes)
    if network is None:
        notes.append(f"no walking network: reach is the straight line × {EUCLIDEAN_DETOUR:g}")
    sites = _apply_decisions(sites, require=require, exclude=exclude)
    _check_inside_area(sites, workspace, crs)
    say("demand units")
    units = _served_units(workspace, spec, crs)
    if len(units) == 0:
        msg = f"the workspace has no units that {tier} serves ({', '.join(spec.serves)})"
        raise InputError(msg)
    households = units["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    weighed_by = "households"
    if np.isnan(households).all():
        notes.append("no households recorded: every unit weighs 1, so the figures count units")
        households = np.ones(len(units))
        weighed_by = "units"
    weight = np.nan_to_num(households, nan=0.0)
    say("coverage matrix")
    limit = spec.radius_m if model != "p-median" else max(spec.partial_m or 0.0, 2 * spec.radius_m)
    dist = _reach_matrix(
        units,
        sites,
        limit=limit,
        network=network,
        gates=workspace.layer("gates").to_crs(crs),
        snap_limit=workspace.settings.snap_limit_m,
    )
    cover = _within(dist, spec.radius_m)
    cost = sites["cost"].to_numpy(dtype=float)
    capacity = sites["capacity"].to_numpy(dtype=float)
    required = (sites["decision"] == "required").to_numpy()
    excluded = (sites["decision"] == "excluded").to_numpy()
    kind = sites["kind"].to_numpy(dtype=object)
    # required new sites and upgrades are part of the plan: their cost comes out of the budget
    required_builds = required & (kind != "existing")
    if budget is not None and required_builds.any():
        committed = float(np.nansum(cost[required_builds]))
        if committed >= budget:
            msg = (
                f"the required new sites and upgrades cost {committed:,.0f}, which leaves nothing of "
                f"the budget {budget:,.0f}"
            )
            raise InputError(msg, field="budget")
        budget -= committed
    say(f"solving {model}")
    if model == "set-cover":
        result = set_cover(
            cover,
            cost,
            weight=weight,
            required=required,
            excluded=excluded,
            capacity=capacity,
            time_limit=time_limit,
        )
    elif model == "max-cover":
        result = max_cover(
            cover,
            weight,
            p=p,
            budget=budget,
            cost=cost,
            required=required,
            excluded=excluded,
            capacity=capacity,
            time_limit=time_limit,
        )
    elif model == "p-median":
        if p is None:
            msg = "p-median needs --p, the number of new sites"
            raise InputError(msg)
        result = p_median(
            dist,
            weight,
            p,
            required=required,
            excluded=excluded,
            unserved_penalty=limit,
            time_limit=time_limit,
        )
    else:
        group = units["township_id"].astype("string").fillna("(no township)").to_numpy(dtype=object)
        result = upgrade_or_build(
            cover,
            weight,
            cost,
            group,
            target,
            budget=budget,
            kind=np.where(kind == "upgrade", "upgrade", "new"),
            required=required,
            excluded=excluded,
            capacity=capacity,
            time_limit=time_limit,
        )
    say("results")
    population = units["population"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    plan = _read_plan(result, kind, cover, dist, spec.radius_m, weight)
    proposed = _proposed(sites, plan, weight, population, workspace, crs)
    notes.extend(_capacity_notes(proposed, plan, result, weight, weighed_by, model))
    return PlanResult(
        proposed_sites=proposed,
        summary=_summary(result, plan, spec, model, weight, cover, sites).assign(weight=weighed_by),
        before_after=_before_after(units, weight, plan, workspace),
        candidates=sites,
        uncoverable=_uncoverable(units, result),
        siting=result,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Plan:
    """A solved plan as the workspace reads it: what stands today, what is to be built, and
    whom each site serves.

    ``standing`` are the facilities meeting the standard; ``built`` the new sites and upgrades
    in build order, those the user required first (their ``marginal_gain`` is NaN: the model did
    not choose them). Per unit, ``before`` and ``after`` are the covered shares today and with
    the plan (0 or 1, between with capacities, where a unit may be split between sites);
    ``new`` (units × built) is the share of each unit each built site newly covers and ``load``
    the weight each built site serves.
    """

    standing: np.ndarray
    built: np.ndarray
    marginal_gain: np.ndarray
    n_required: int
    before: np.ndarray
    after: np.ndarray
    new: sparse.csr_array
    load: np.ndarray

    @property
    def open_sites(self) -> np.ndarray:
        return np.concatenate([self.standing, self.built])


def _read_plan(
    result: SitingResult,
    kind: np.ndarray,
    cover: sparse.csr_array,
    dist: sparse.csr_array,
    radius: float,
    weight: np.ndarray,
) -> _Plan:
    standing = result.fixed[kind[result.fixed] == "existing"]
    forced = result.fixed[kind[result.fixed] != "existing"]
    built = np.concatenate([forced, result.sites]).astype(np.int64)
    open_sites = np.concatenate([standing, built])
    before = _covered_mask(cover, standing).astype(float)
    n = cover.shape[0]
    if result.shares is None:
        # whole units: each is newly covered by the first built site reaching it and served by
        # the nearest open site within reach
        after = _covered_mask(cover, open_sites).astype(float)
        first = _first_built(cover, built)
        hit = (first >= 0) & (before == 0)
        new = sparse.csr_array(
            (np.ones(int(hit.sum())), (np.flatnonzero(hit), first[hit])), shape=(n, built.size)
        )
        load = _nearest_open_load(dist, open_sites, radius, weight)[built]
    else:
        shares = sparse.csr_array(result.shares)
        after = np.minimum(np.asarray(shares.sum(axis=1)).ravel(), 1.0)
        new = sparse.csr_array(shares[:, built].multiply((1.0 - before)[:, None]))
        load = (weight @ shares)[built]
    return _Plan(
        standing=standing,
        built=built,
        marginal_gain=np.concatenate([np.full(forced.size, np.nan), result.marginal_gain]),
        n_required=forced.size,
        before=before,
        after=after,
        new=new,
        load=np.asarray(load, dtype=float),
    )


def _first_built(cover: sparse.csr_array, built: np.ndarray) -> np.ndarray:
    """For each unit, the build-order position of the first built site that covers it (-1: none)."""
    first = np.full(cover.shape[0], -1, dtype=np.int64)
    if built.size:
        sub = cover[:, built].tocoo()
        order = np.lexsort((sub.col, sub.row))
        rows, cols = sub.row[order], sub.col[order]
        keep = np.r_[True, rows[1:] != rows[:-1]] if rows.size else np.zeros(0, dtype=bool)
        first[rows[keep]] = cols[keep]
    return first


def _nearest_open_load(
    dist: sparse.csr_array, open_sites: np.ndarray, radius: float, weight: np.ndarray
) -> np.ndarray:
    """Per site, the weight of the units whose nearest open site within ``radius`` it is."""
    coo = dist.tocoo()
    is_open = np.zeros(dist.shape[1], dtype=bool)
    is_open[open_sites] = True
    keep = is_open[coo.col] & (coo.data <= radius + 1e-6)
    rows, cols, walk = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((cols, walk, rows))  # per unit, nearest first (ties: lower site index)
    rows, cols = rows[order], cols[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if rows.size else np.zeros(0, dtype=bool)
    return np.bincount(cols[first], weights=weight[rows[first]], minlength=dist.shape[1])


def _capacity_notes(
    proposed: gpd.GeoDataFrame,
    plan: _Plan,
    result: SitingResult,
    weight: np.ndarray,
    weighed_by: str,
    model: str,
) -> list[str]:
    """What capacities did to the plan, or where the plan exceeds them (p-median ignores them)."""
    notes = []
    over = proposed[proposed["over_capacity"]]
    if len(over):
        shown = [
            f"{s} ({h:,.0f} > {c:,.0f})"
            for s, h, c in zip(over["site_id"], over["households_served"], over["capacity"], strict=True)
        ]
        notes.append(
            f"{len(over)} proposed site(s) would serve more {weighed_by} than their capacity: "
            + ", ".join(shown[:5])
            + (", …" if len(shown) > 5 else "")
            + f"; {model} does not take capacities into account (set-cover, max-cover and "
            "upgrade-or-build do)"
        )
    if result.shares is not None:
        reachable = np.ones(len(weight), dtype=bool)
        reachable[result.uncoverable] = False
        short = float((weight * (1.0 - plan.after))[reachable].sum())
        if short > 0.5 and model == "set-cover":
            notes.append(
                f"capacities leave {short:,.0f} {weighed_by} within reach unserved: the plan serves the "
                "most it can, at the least cost"
            )
        groups = result.groups
        if groups is not None and not groups.met.all():
            behind = ", ".join(str(label) for label in groups.labels[~groups.met][:5])
            notes.append(f"capacities keep {int((~groups.met).sum())} township(s) below the target: {behind}")
    return notes


def _proposed(
    sites: gpd.GeoDataFrame,
    plan: _Plan,
    weight: np.ndarray,
    population: np.ndarray,
    workspace: Workspace,
    crs: CRS,
) -> gpd.GeoDataFrame:
    chosen = sites.iloc[plan.built].reset_index(drop=True)
    k = len(chosen)
    hh_new = weight @ plan.new
    pop_new = np.nan_to_num(population) @ plan.new
    units_new = np.bincount(plan.new.tocoo().col, minlength=k)
    capacity = chosen["capacity"].to_numpy(dtype=float)
    served = np.round(plan.load, 1)
    out = gpd.GeoDataFrame(
        {
            "build_order": np.arange(1, k + 1),
            "site_id": chosen["site_id"].to_numpy(),
            "kind": chosen["kind"].to_numpy(),
            "decision": np.where(np.arange(k) < plan.n_required, "required", "chosen"),
            "source": chosen["source"].to_numpy(),
            "facility_id": chosen["facility_id"].to_numpy(),
            "name": chosen["name"].to_numpy(),
            "cost": chosen["cost"].to_numpy(dtype=float),
            "units_new": units_new,
            "households_new": np.round(hh_new, 1),
            "population_new": np.round(pop_new, 1),
            "marginal_gain": np.round(plan.marginal_gain, 3),
            "households_served": served,
            "capacity": capacity,
            "over_capacity": np.nan_to_num(served - capacity, nan=0.0) > 0.5,
        },
        geometry=chosen.geometry.to_numpy(),
        crs=crs,
    )
    for column, layer in (("township_id", "townships"), ("village_id", "villages")):
        parents = workspace.layer(layer)
        out[column] = (
            containing_parent_ids(out, parents, crs=crs).to_numpy()
            if len(parents) and k
            else pd.array([pd.NA] * k, dtype="string")
        )
    return out


def _summary(
    result: SitingResult,
    plan: _Plan,
    spec: TierCoverage,
    model: str,
    weight: np.ndarray,
    cover: sparse.csr_array,
    sites: gpd.GeoDataFrame,
) -> pd.DataFrame:
    reachable = np.asarray(cover.sum(axis=1)).ravel() > 0
    before, after = plan.before, plan.after
    total = weight.sum()
    kinds = sites["kind"].to_numpy(dtype=object)[plan.built]
    row = {
        "tier": spec.tier,
        "model": model,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_time_s": round(result.solve_time, 3),
        "new_sites": int((kinds == "new").sum()),
        "upgrades": int((kinds == "upgrade").sum()),
        "required_sites": plan.n_required,
        "standing_sites": int(plan.standing.size),
        "candidates": len(sites),
        "cost": float(np.nansum(sites["cost"].to_numpy(dtype=float)[plan.built])),
        "radius_m": spec.radius_m,
        "units": len(weight),
        "households": total,
        "households_reachable": weight[reachable].sum(),
        "households_before": weight @ before,
        "households_after": weight @ after,
        "rate_before": weight @ before / total if total else np.nan,
        "rate_after": weight @ after / total if total else np.nan,
        "households_uncoverable": weight[result.uncoverable].sum(),
    }
    return pd.DataFrame([row])


def _covered_mask(cover: sparse.csr_array, open_sites: np.ndarray) -> np.ndarray:
    if open_sites.size == 0:
        return np.zeros(cover.shape[0], dtype=bool)
    return np.asarray(cover[:, open_sites].sum(axis=1)).ravel() > 0


def _before_after(
    units: gpd.GeoDataFrame,
    weight: np.ndarray,
    plan: _Plan,
    workspace: Workspace,
) -> pd.DataFrame:
    """Households covered per township by the facilities meeting the standard, and with the plan."""
    before, after = plan.before, plan.after
    town = units["township_id"].astype("string").fillna("(no township)").to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "township_id": town,
            "units": 1,
            "households": weight,
            "households_before": weight * before,
            "households_after": weight * after,
            "units_before": before,
            "units_after": after,
        }
    )
    out = frame.groupby("township_id", sort=True).sum().reset_index()
    names = workspace.layer("townships")
    if len(names) and "name" in names:
        lookup = dict(zip(names["id"].astype("string"), names["name"].astype("string"), strict=True))
        out.insert(1, "township_name", out["township_id"].map(lookup))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate_before"] = (out["households_before"] / out["households"]).round(4)
        out["rate_after"] = (out["households_after"] / out["households"]).round(4)
    return out


def _uncoverable(units: gpd.GeoDataFrame, result: SitingResult) -> gpd.GeoDataFrame:
    rows = units.iloc[result.uncoverable]
    reasons = {
        "no_candidate": "no candidate site within walking reach",
        "only_excluded": "only excluded candidates within walking reach",
    }
    out = rows[
        ["unit_layer", "unit_id", "unit_name", "households", "population", "township_id", "village_id"]
    ].copy()
    out["reason"] = pd.Series(result.uncoverable_reason).map(reasons).fillna("unreachable").to_numpy()
    return gpd.GeoDataFrame(out, geometry=rows.geometry.representative_point().to_numpy(), crs=units.crs)
