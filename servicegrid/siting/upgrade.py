"""Upgrade or build: the least-cost mix of upgrades and new stations reaching a coverage target
in every group (township), or the most progress towards the targets for a budget.

:func:`upgrade_or_build` checks its inputs, hands capacitated problems to
:func:`~servicegrid.siting.capacitated.capacitated_siting`, keeps the rows of groups still short
of their target (identical rows merged within a group, dominated columns dropped) and runs the
shared skeleton with one of two sets of pieces: the target model (greedy per unit of
still-needed weight, drop-and-repair, the LP optimum guiding the greedy) or the progress model
(counting each group's covered weight only up to its target, under the budget). When the budget
lets every group reach its target, the cheapest such plan is solved for as well.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from .capacitated import capacitated_siting
from .checks import (
    check_budget,
    check_options,
    check_target,
    cover_matrix,
    group_labels,
    site_kinds,
    site_masks,
    vector,
)
from .covering import CoverProblem, Reach, cover_model, cover_result, cover_start
from .exact import Clock, Formulation, Incumbent, is_integral, solve_reduced
from .heuristics.incidence import Incidence
from .heuristics.targets import greedy_target, improve_target
from .highs import LinearModel, csc_from_triplets, solve
from .pareto import targets_by_component
from .reduce import dominated_columns, merge_identical_rows
from .result import BoolArray, FloatArray, GroupCoverage, IntArray, Method, Sense, SitingResult, Status

__all__ = ["upgrade_or_build"]


def upgrade_or_build(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike,
    cost: ArrayLike,
    group: ArrayLike,
    target: float,
    *,
    budget: float | None = None,
    kind: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The least-cost mix of upgrades and new stations meeting a coverage target in every group.

    Candidates are new sites and existing facilities that fail their standard (an upgrade makes
    them count); ``kind`` tells them apart for reporting. Without a budget, the plan is the
    cheapest one in which every group (township) covers at least ``target`` of its coverable
    weight. With a budget, the plan makes the most progress towards the targets: it maximises
    the covered weight counted in each group only up to its target (so money goes to the groups
    furthest behind), and when the budget lets every group reach its target, the cheapest such
    plan is returned.

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix, scipy.sparse or dense.
    weight
        Weight of each demand row (households), non-negative.
    cost
        Cost of each candidate: the build cost of a new site, the upgrade cost of a failing one.
    group
        Group label of each demand row (township code or name).
    target
        Share of each group's coverable weight to cover, in (0, 1].
    budget
        Most the plan may cost; switches to the most-progress objective.
    kind
        ``"new"`` or ``"upgrade"`` per candidate; reported per chosen site in ``site_kind``.
    required, excluded
        Candidates that must be open (compliant facilities) or may not be opened.
    capacity, time_limit, method, rel_gap
        As for :func:`set_cover`.

    Returns
    -------
    SitingResult
        Without a budget, ``objective`` is the plan's cost; with one, the covered weight counted
        up to each group's target. ``groups`` holds coverage per group before and after.
        Weight no candidate can reach is outside every target and listed in ``uncoverable``.

    Raises
    ------
    InputError
        On a target outside (0, 1], a non-positive budget, kinds other than new/upgrade, shape
        mismatches, or the errors listed for :func:`set_cover`.
    """
    check_options(time_limit, method, rel_gap)
    clock = Clock(float(time_limit))
    a = cover_matrix(cover)
    n, m = a.shape
    w = vector(weight, n, name="weight", what="demand row")
    c = vector(cost, m, name="cost", what="candidate")
    labels, g = group_labels(group, n)
    check_target(target)
    b_ = None if budget is None else check_budget(budget)
    kinds = site_kinds(kind, m)
    req, exc = site_masks(required, excluded, m)
    problem = CoverProblem.of(a, w, c, req, exc, capacity)
    reach = problem.reach
    n_groups = labels.size
    coverable_w = _group_sum(g, w, reach.coverable, n_groups)
    target_w = float(target) * coverable_w
    before = _group_sum(g, w, reach.base, n_groups)
    tol = 1e-9 * max(float(w.sum()), 1.0)
    if problem.capacitated:

        def relaxed(limit: float) -> SitingResult:
            return upgrade_or_build(
                a,
                w,
                c,
                g,
                target,
                budget=b_,
                required=req,
                excluded=exc,
                time_limit=limit,
                method="heuristic",
            )

        result = capacitated_siting(
            "upgrade_or_build",
            problem,
            clock,
            rel_gap=rel_gap,
            budget=b_,
            group=g,
            target=target_w,
            relaxed=relaxed,
            by_component=lambda q, on: targets_by_component(q, on, rel_gap=rel_gap),
        )
        served = np.asarray(result.shares.sum(axis=1)).ravel() if result.shares is not None else np.zeros(n)
        after = np.bincount(g, weights=w * served, minlength=n_groups).astype(np.float64)
        groups = _groups(labels, g, w, reach, coverable_w, target_w, before, after, tol)
        return replace(result, groups=groups, site_kind=None if kinds is None else kinds[result.sites])
    need = np.maximum(target_w - before, 0.0)
    need[need <= tol] = 0.0
    rows = np.flatnonzero(reach.coverable & ~reach.base & (w > 0) & (need[g] > 0))
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    if rows.size:
        rep, grp = merge_identical_rows(sub.tocsr(), key=g[rows])
        w_sub = np.bincount(grp, weights=w[rows], minlength=rep.size)
        g_sub = g[rows[rep]]
        sub = sub[rep].tocsc()
    else:
        w_sub, g_sub = np.zeros(0), np.zeros(0, dtype=np.int64)
    size = np.diff(sub.indptr)
    rank = np.empty(cols.size, dtype=np.int64)
    rank[np.lexsort((np.arange(cols.size), -size, c[cols]))] = np.arange(cols.size)
    useful = (size > 0) & ~dominated_columns(sub.tocsr(), rank)
    if b_ is not None:
        useful &= c[cols] <= b_ * (1 + 1e-12)
    keep_cols = np.flatnonzero(useful)
    a_red = sub[:, keep_cols].tocsc()
    c_red = c[cols[keep_cols]]
    clock.lap("reduce")
    status: Status = "optimal"
    progress_base = float(np.minimum(before, target_w).sum())
    if a_red.shape[0] == 0 or keep_cols.size == 0:
        picked = np.zeros(0, dtype=np.int64)
        objective = 0.0 if b_ is None else progress_base
        bound = objective
    else:
        inc = Incidence.from_sparse(a_red)
        targets = _target(inc, a_red, w_sub, g_sub, need, c_red, clock, tol=tol)
        if b_ is None:
            solved = solve_reduced(targets, clock, method=method, rel_gap=rel_gap)
            picked, objective, bound, status = solved.plan, solved.value, solved.bound, solved.status
        else:
            progress = _progress(inc, a_red, w_sub, g_sub, need, c_red, b_, clock)
            solved = solve_reduced(progress, clock, method=method, rel_gap=rel_gap)
            picked, status = solved.plan, solved.status
            objective, bound = progress_base - solved.value, progress_base - solved.bound
            if -solved.value >= need.sum() - tol:
                # every group reaches its target within the budget: spend as little as possible
                cheapest = solve_reduced(targets, clock, method=method, rel_gap=rel_gap)
                if cheapest.value <= float(c_red[picked].sum()):
                    picked = cheapest.plan
                    if status == "optimal" and cheapest.status != "optimal":
                        status = cheapest.status
    chosen = np.sort(cols[keep_cols[picked]])
    sense: Sense = "min" if b_ is None else "max"
    result = cover_result(
        "upgrade_or_build",
        problem,
        chosen,
        objective=objective,
        bound=(min(bound, objective) if sense == "min" else max(bound, objective)),
        status=status,
        sense=sense,
        clock=clock,
    )
    after_mask = np.zeros(n, dtype=bool)
    after_mask[result.covered] = True
    after = _group_sum(g, w, after_mask, n_groups)
    groups = _groups(labels, g, w, reach, coverable_w, target_w, before, after, tol)
    site_kind = None if kinds is None else kinds[result.sites]
    return replace(result, groups=groups, site_kind=site_kind)


def _groups(
    labels: NDArray[np.generic],
    g: IntArray,
    w: FloatArray,
    reach: Reach,
    coverable_w: FloatArray,
    target_w: FloatArray,
    before: FloatArray,
    after: FloatArray,
    tol: float,
) -> GroupCoverage:
    """Coverage per group before and after the plan, against the targets."""
    return GroupCoverage(
        labels=labels,
        coverable_weight=coverable_w,
        uncoverable_weight=_group_sum(g, w, ~reach.coverable, labels.size),
        target_weight=target_w,
        before=before,
        after=after,
        met=after >= target_w - tol,
    )


def _group_sum(g: IntArray, w: FloatArray, mask: BoolArray, n_groups: int) -> FloatArray:
    return np.bincount(g[mask], weights=w[mask], minlength=n_groups).astype(np.float64)


def _target(
    inc: Incidence,
    a: sparse.csc_array,
    w: FloatArray,
    g: IntArray,
    need: FloatArray,
    c: FloatArray,
    clock: Clock,
    *,
    tol: float,
) -> Formulation:
    """The pieces of the target model: least cost with Σ_{i in g} w_i z_i >= need_g per group."""
    m = a.shape[1]

    def heuristic() -> Incumbent:
        plan = greedy_target(inc, w, g, need, c)
        plan = improve_target(inc, w, g, need, c, plan, deadline=clock.deadline)
        return Incumbent(plan, float(c[plan].sum()))

    def build(found: Incumbent) -> LinearModel:
        return cover_model(
            a,
            c,
            z_cost=np.zeros(a.shape[0]),
            extra_rows=[],
            z_group=(g, w, need - tol, np.full(need.size, np.inf)),
        )

    def lp_bound(model: LinearModel, found: Incumbent) -> float:
        lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method="primal")
        clock.lap("bound")
        lower = lp.objective if lp.outcome == "optimal" else 0.0
        return min(lower, found.value)

    def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
        # greedy on costs discounted by the LP's opening, then drop-and-repair
        guided = greedy_target(inc, w, g, need, c * (1.0 - 0.9 * np.clip(x[:m], 0, 1)))
        better = improve_target(inc, w, g, need, c, guided, deadline=clock.deadline)
        return cover_start(a, better), float(c[better].sum())

    return Formulation(
        heuristic=heuristic,
        build=build,
        start=lambda found: cover_start(a, found.plan),
        read=lambda x: np.flatnonzero(x[:m] > 0.5),
        evaluate=lambda plan: float(c[plan].sum()),
        integral=is_integral(c),
        lp_method="primal",
        round_lp=round_lp,
        lp_bound=lp_bound,
    )


def _progress(
    inc: Incidence,
    a: sparse.csc_array,
    w: FloatArray,
    g: IntArray,
    need: FloatArray,
    c: FloatArray,
    budget: float,
    clock: Clock,
) -> Formulation:
    """The pieces of the progress model: most Σ_g min(covered_g, need_g) within the budget,
    as its negative."""
    m = a.shape[1]
    ceiling = float(need.sum())

    def heuristic() -> Incumbent:
        plan = greedy_target(inc, w, g, need, c, budget=budget)
        _, value = _progress_start(a, w, g, need, plan)
        return Incumbent(plan, -value, -ceiling)

    def build(found: Incumbent) -> LinearModel:
        return _progress_model(a, w, g, need, c, budget)

    def lp_bound(model: LinearModel, found: Incumbent) -> float:
        lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method="primal")
        clock.lap("bound")
        upper = min(-lp.objective, ceiling) if lp.outcome == "optimal" else ceiling
        return -max(upper, -found.value)

    return Formulation(
        heuristic=heuristic,
        build=build,
        start=lambda found: _progress_start(a, w, g, need, found.plan)[0],
        read=lambda x: np.flatnonzero(x[:m] > 0.5),
        evaluate=lambda plan: -_progress_start(a, w, g, need, plan)[1],
        integral=is_integral(w, need),  # v_g = min(need_g, covered weight)
        lp_method="primal",
    )


def _progress_model(
    a: sparse.csc_array, w: FloatArray, g: IntArray, need: FloatArray, c: FloatArray, budget: float
) -> LinearModel:
    """Max Σ_g v_g with v_g <= need_g and v_g <= Σ_{i in g} w_i z_i, under the budget."""
    base = cover_model(
        a, np.zeros(a.shape[1]), z_cost=np.zeros(a.shape[0]), extra_rows=[(c.copy(), -np.inf, budget)]
    )
    n, m = a.shape
    n_groups = need.size
    # rows: v_g - Σ w_i z_i <= 0, appended after the base rows; columns v appended
    r0 = base.n_rows
    z_cols = m + np.arange(n, dtype=np.int64)
    v_cols = m + n + np.arange(n_groups, dtype=np.int64)
    coo = base.matrix.tocoo()
    rows = np.concatenate([coo.row, r0 + g, r0 + np.arange(n_groups)])
    cols = np.concatenate([coo.col, z_cols, v_cols])
    vals = np.concatenate([coo.data, -w, np.ones(n_groups)])
    matrix = csc_from_triplets(rows, cols, vals, (r0 + n_groups, m + n + n_groups))
    return LinearModel(
        cost=np.concatenate([base.cost, -np.ones(n_groups)]),
        lower=np.concatenate([base.lower, np.zeros(n_groups)]),
        upper=np.concatenate([base.upper, need]),
        integer=np.concatenate([base.integer, np.zeros(n_groups, dtype=bool)]),
        matrix=matrix,
        row_lower=np.concatenate([base.row_lower, np.full(n_groups, -np.inf)]),
        row_upper=np.concatenate([base.row_upper, np.zeros(n_groups)]),
    )


def _progress_start(
    a: sparse.csc_array, w: FloatArray, g: IntArray, need: FloatArray, plan: IntArray
) -> tuple[FloatArray, float]:
    x = cover_start(a, plan)
    z = x[a.shape[1] :]
    v = np.minimum(np.bincount(g, weights=w * z, minlength=need.size), need)
    return np.concatenate([x, v]), float(v.sum())
