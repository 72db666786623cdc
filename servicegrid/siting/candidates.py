"""The candidate sites of a plan: every site a plan for a tier may use, and the user's decisions.

:func:`plan_candidates` gathers the facilities that meet their standard (fixed, required), the
tier's failing facilities with a known upgrade cost (upgrades), the ``candidates`` layer (new
sites with their cost, capacity and decision) and, where the user lists none, generated sites
at compound gates and path nodes near the units no standard facility reaches. The user's
required and excluded ids are applied on top (:func:`apply_decisions`), and listed candidates
outside the planning area are refused (:func:`check_inside_area`).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..coverage.analysis import TierCoverage
from ..coverage.network import StreetNetwork
from ..errors import InputError
from ..geo.spatial_checks import OUTSIDE_AREA_M
from ..geo.workspace import Workspace
from ..standards.audit import audit_facilities
from ..standards.models import Preset
from ..standards.records import resolve_tiers
from .reach import reach_matrix, served_units, tier_spec

__all__ = ["apply_decisions", "check_inside_area", "plan_candidates"]

GENERATED_SPACING_SHARE = 0.4  # generated network sites: one per cell of 0.4 × radius


def plan_candidates(
    workspace: Workspace,
    preset: Preset,
    *,
    tier: str,
    crs: CRS,
    network: StreetNetwork | None = None,
    generate: bool = True,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Every site a plan for ``tier`` may use, in ``crs``, and notes on how they were found.

    The sites are the tier's facilities (those meeting the standard fixed, failing ones as
    upgrades), the ``candidates`` layer, and — with ``generate`` — a station inside every
    compound with households that no standard facility reaches today (so that no reachable
    compound is ever called uncoverable) and, when no candidates are listed, sites at the gates
    and path nodes near the units no standard facility reaches.

    Columns: ``site_id``, ``kind`` (``existing`` — meets the standard, fixed; ``upgrade`` — a
    facility of the tier below standard; ``new``), ``source`` (facilities, candidates,
    generated), ``facility_id``, ``name`` (a generated site is named after the compound or the
    unit it sits at), ``cost`` (yuan), ``capacity`` (households, blank when unlimited or
    unknown), ``decision`` (required, excluded or blank).
    """
    spec = tier_spec(preset, tier, dict(workspace.settings.radii_m))
    tier_def = preset.tiers[tier]
    notes: list[str] = []
    facilities = _facility_sites(workspace, preset, spec, crs, notes)
    listed = _listed_candidates(workspace, preset, tier, crs, notes)
    frames = [facilities, listed]
    if generate:
        frames.append(
            _generated_sites(workspace, spec, facilities, crs, network, notes, around=len(listed) == 0)
        )
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
    *,
    around: bool,
) -> gpd.GeoDataFrame:
    """Sites for the units no facility meeting the standard reaches: a station inside every such
    compound with households (where residents leave it: its representative point, or its point)
    and, with ``around``, the gates and the path nodes near the units, thinned to one per cell
    of 0.4 × radius. Each is named after the compound or unit it serves."""
    units = served_units(workspace, spec, crs)
    fixed = facilities[facilities["kind"] == "existing"]
    uncovered = np.ones(len(units), dtype=bool)
    if len(fixed) and len(units):
        reach = reach_matrix(
            units,
            fixed,
            limit=spec.radius_m,
            network=network,
            gates=workspace.layer("gates").to_crs(crs),
            snap_limit=workspace.settings.snap_limit_m,
        )
        uncovered = np.diff(reach.indptr) == 0
    units = units[uncovered].reset_index(drop=True)
    unit_name = (
        units["unit_name"].astype("string").fillna(units["unit_id"].astype("string")).to_numpy(dtype=object)
    )
    points, names = [], []
    # every compound with households is its own candidate: blank households too (a plan weighs
    # them at their layer's median); only a compound recorded as empty (0) is not
    compound = (units["unit_layer"] == "compounds").to_numpy() & (
        units["households"].astype("Float64").fillna(1).to_numpy(dtype=float) > 0
    )
    if compound.any():
        points.append(shapely.point_on_surface(units.geometry.to_numpy()[compound]))
        names.append(unit_name[compound] + "（小区内）")
    n_inside = int(compound.sum())
    if around:
        gates = workspace.layer("gates")
        if len(gates) and "compound_id" in gates:
            owner = pd.Series(np.arange(len(units)), index=units["unit_id"].to_numpy())
            owner = owner[~owner.index.duplicated()]
            pos = gates["compound_id"].astype("string").map(owner)
            mine = pos.notna().to_numpy()
            points.append(gates.to_crs(crs).geometry.to_numpy()[mine])
            names.append(unit_name[pos[mine].astype(int).to_numpy()] + "（出入口）")
        if network is not None and len(units):
            centre = units.geometry.representative_point()
            xy = np.column_stack([centre.x, centre.y])
            near = network.kdtree.query_ball_point(xy, r=spec.radius_m)
            nodes = np.unique(np.concatenate([np.asarray(n, dtype=np.int64) for n in near]))
            node_pts = shapely.points(network.node_xy[nodes])
            # name a path node after the nearest unit it was generated for
            _, nearest = shapely.STRtree(shapely.points(xy)).query_nearest(node_pts, all_matches=False)
            points.append(node_pts)
            names.append(unit_name[nearest] + "附近")
    pts = np.concatenate(points) if points else np.array([], dtype=object)
    labels = np.concatenate(names) if names else np.array([], dtype=object)
    if len(pts) == 0:
        return _empty_sites(crs)
    cell = GENERATED_SPACING_SHARE * spec.radius_m
    keys = np.floor(np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]) / cell).astype(np.int64)
    keys[:n_inside] = -1 - np.arange(n_inside)[:, None]  # a station inside each compound is kept
    _, first = np.unique(keys, axis=0, return_index=True)
    keep = np.sort(first)
    pts, labels = pts[keep], labels[keep]
    text = f"{n_inside:,} stations inside the compounds no standard facility reaches"
    if around:
        text += f" and {len(pts) - n_inside:,} sites at gates and path nodes near the {len(units):,} units it misses"
    notes.append(f"generated sites for {spec.tier}: {text}")
    return gpd.GeoDataFrame(
        {
            "site_id": "G:" + pd.RangeIndex(1, len(pts) + 1).astype(str),
            "kind": "new",
            "source": "generated",
            "facility_id": pd.array([pd.NA] * len(pts), dtype="string"),
            "name": pd.array(labels, dtype="string"),
            "cost": np.nan,
            "capacity": np.nan,
            "decision": None,
        },
        geometry=pts,
        crs=crs,
    )


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


def apply_decisions(
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


def check_inside_area(sites: gpd.GeoDataFrame, workspace: Workspace, crs: CRS) -> None:
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
