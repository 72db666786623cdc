"""A solved plan read back on the workspace, and the layers that show it.

:func:`read_plan` turns a :class:`~servicegrid.siting.result.SitingResult` into what the
workspace reads (:class:`SolvedPlan`: the standing facilities, the sites to build in build
order, each unit's covered share today and with the plan, what each built site newly covers and
the weight it serves); the other functions make the result layers from it: the proposed sites,
the plan summary, coverage before and after per township, the units no candidate reaches, and
notes on what capacities did to the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse

from ..coverage.analysis import TierCoverage
from ..geo.hierarchy import containing_parent_ids
from ..geo.workspace import Workspace
from .result import SitingResult

__all__ = [
    "SolvedPlan",
    "before_after",
    "capacity_notes",
    "plan_summary",
    "proposed_sites",
    "read_plan",
    "uncoverable_units",
]


@dataclass(frozen=True)
class SolvedPlan:
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


def read_plan(
    result: SitingResult,
    kind: np.ndarray,
    cover: sparse.csr_array,
    dist: sparse.csr_array,
    radius: float,
    weight: np.ndarray,
) -> SolvedPlan:
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
    return SolvedPlan(
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


def capacity_notes(
    proposed: gpd.GeoDataFrame,
    plan: SolvedPlan,
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


def proposed_sites(
    sites: gpd.GeoDataFrame,
    plan: SolvedPlan,
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


def plan_summary(
    result: SitingResult,
    plan: SolvedPlan,
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


def before_after(
    units: gpd.GeoDataFrame,
    weight: np.ndarray,
    plan: SolvedPlan,
    workspace: Workspace,
) -> pd.DataFrame:
    """Households covered per township by the facilities meeting the standard, and with the plan."""
    before, after = plan.before, plan.after
    town = units["township_id"].astype("string").fillna("(outside every township)").to_numpy(dtype=object)
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
    lookup = (
        dict(zip(names["id"].astype("string"), names["name"].astype("string"), strict=True))
        if len(names) and "name" in names
        else {}
    )
    # a township without a name is shown by its id, never as a blank
    named = out["township_id"].map(lookup).astype("string")
    out.insert(1, "township_name", named.fillna(out["township_id"].astype("string")))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate_before"] = (out["households_before"] / out["households"]).round(4)
        out["rate_after"] = (out["households_after"] / out["households"]).round(4)
    return out


def uncoverable_units(units: gpd.GeoDataFrame, result: SitingResult) -> gpd.GeoDataFrame:
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
