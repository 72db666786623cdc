"""Planning new and upgraded stations on a workspace: the one adaptor from GeoDataFrames to the
siting models.

:func:`plan_layers` gathers the candidate sites of a tier (:mod:`.candidates`), measures which
demand units each one reaches on foot (:mod:`.reach`), fixes the facilities that already meet
the standard, solves the chosen model and returns a :class:`PlanResult` (:mod:`.plan_results`
reads the plan back): the proposed sites in build order, the plan's numbers, coverage before and
after per township, the candidates and the units no candidate reaches, with notes on what
shaped the plan.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from ..coverage.demand import DETOUR_FACTOR, counted_households
from ..coverage.network import StreetNetwork
from ..errors import InputError
from ..geo.workspace import Workspace
from ..progress import Progress, Steps
from ..standards.models import Preset
from .by_parts import solve_by_parts
from .candidates import apply_decisions, check_inside_area, plan_candidates
from .highs import SolverWarning
from .plan_results import (
    before_after,
    capacity_notes,
    plan_summary,
    proposed_sites,
    read_plan,
    uncoverable_units,
)
from .reach import reach_matrix, served_units, tier_spec, within
from .result import ModelName, SitingResult

__all__ = ["PlanModel", "PlanResult", "plan_layers"]

logger = logging.getLogger(__name__)

PlanModel = Literal["set-cover", "max-cover", "p-median", "upgrade-or-build"]
_MODELS: dict[str, ModelName] = {
    "set-cover": "set_cover",
    "max-cover": "max_cover",
    "p-median": "p_median",
    "upgrade-or-build": "upgrade_or_build",
}


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


OUTSIDE_TOWNSHIPS = "(outside every township)"


def unit_weights(units: gpd.GeoDataFrame) -> tuple[np.ndarray, str, list[str]]:
    """What each unit weighs in a plan: its households, nested units counted once (a community
    counts only the households its compounds do not), and what the notes say about it.

    A unit without a household figure weighs the median of the units of its layer that have one
    (the notes say how many); when no unit has a figure every unit weighs 1 and the figures
    count units.
    """
    counted = counted_households(units, np.ones(len(units), dtype=bool))
    own = units["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(own).all():
        return (
            np.ones(len(units)),
            "units",
            ["no households recorded: every unit weighs 1, so the figures count units"],
        )
    notes = []
    blank = np.isnan(own)
    if blank.any():
        layer = units["unit_layer"].to_numpy(dtype=object)
        median = pd.Series(own).groupby(layer).median()
        fill = pd.Series(layer[blank]).map(median).to_numpy(dtype=float)
        counted[blank] = np.nan_to_num(fill, nan=0.0)
        shown = ", ".join(f"{name} {value:,.0f}" for name, value in median.dropna().items())
        notes.append(
            f"{int(blank.sum()):,} of {len(units):,} units have no households recorded: each weighs the "
            f"median of its layer ({shown}); the plan's household figures include these estimates"
        )
    return np.nan_to_num(counted, nan=0.0), "households", notes


def plan_layers(
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
    generate: bool = True,
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
    generate
        Add generated sites (a station inside every compound no standard facility reaches, and
        without listed candidates sites at gates and path nodes); ``False`` plans with the
        listed candidates and the facilities alone.

    Returns
    -------
    PlanResult
    """
    if model not in get_args(PlanModel):
        msg = f"model '{model}' is not one of {', '.join(get_args(PlanModel))}"
        raise InputError(msg)
    say = Steps(progress, 5)
    crs = network.crs if network is not None else workspace.metric_crs
    spec = tier_spec(preset, tier, dict(workspace.settings.radii_m))
    notes: list[str] = []
    say("candidate sites")
    sites, site_notes = plan_candidates(
        workspace, preset, tier=tier, crs=crs, network=network, generate=generate
    )
    notes.extend(site_notes)
    if network is None:
        notes.append(f"no walking network: reach is the straight line × {DETOUR_FACTOR:g}")
    sites = apply_decisions(sites, require=require, exclude=exclude)
    check_inside_area(sites, workspace, crs)
    say("demand units")
    units = served_units(workspace, spec, crs)
    if len(units) == 0:
        msg = f"the workspace has no units that {tier} serves ({', '.join(spec.serves)})"
        raise InputError(msg)
    weight, weighed_by, weight_notes = unit_weights(units)
    notes.extend(weight_notes)
    say("coverage matrix")
    limit = spec.radius_m if model != "p-median" else max(spec.partial_m or 0.0, 2 * spec.radius_m)
    dist = reach_matrix(
        units,
        sites,
        limit=limit,
        network=network,
        gates=workspace.layer("gates").to_crs(crs),
        snap_limit=workspace.settings.snap_limit_m,
    )
    cover = within(dist, spec.radius_m)
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
    if model == "p-median" and p is None:
        msg = "p-median needs --p, the number of new sites"
        raise InputError(msg)
    group = None
    if model == "upgrade-or-build":
        group = units["township_id"].astype("string").fillna(OUTSIDE_TOWNSHIPS).to_numpy(dtype=object)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SolverWarning)
        result = solve_by_parts(
            _MODELS[model],
            dist if model == "p-median" else cover,
            weight,
            cost=cost if model != "p-median" else None,
            group=group,
            target=target if model == "upgrade-or-build" else None,
            kind=np.where(kind == "upgrade", "upgrade", "new") if model == "upgrade-or-build" else None,
            p=p if model in ("max-cover", "p-median") else None,
            budget=budget if model in ("max-cover", "upgrade-or-build") else None,
            required=required,
            excluded=excluded,
            capacity=capacity if model != "p-median" else None,
            unserved_penalty=limit if model == "p-median" else None,
            time_limit=time_limit,
        )
    notes.extend(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, SolverWarning)))
    if result.decomposition is not None and result.decomposition.note:
        notes.append(result.decomposition.note)
    say("results")
    population = units["population"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    plan = read_plan(result, kind, cover, dist, spec.radius_m, weight)
    proposed = proposed_sites(sites, plan, weight, population, workspace, crs)
    notes.extend(capacity_notes(proposed, plan, result, weight, weighed_by, model))
    say.finish()
    return PlanResult(
        proposed_sites=proposed,
        summary=plan_summary(result, plan, spec, model, weight, cover, sites).assign(weight=weighed_by),
        before_after=before_after(units, weight, plan, workspace),
        candidates=sites,
        uncoverable=uncoverable_units(units, result),
        siting=result,
        notes=tuple(notes),
    )
