"""Maximal covering: the most demand weight covered with ``p`` new sites, or within a budget.

:func:`max_cover` checks its inputs, hands capacitated problems to
:func:`~servicegrid.siting.capacitated.capacitated_siting`, merges identical rows and drops
useless and dominated columns, and runs the shared skeleton with its own pieces: the max-cover
heuristic (greedy with swaps, local search, tabu) and, for a site count alone, the Lagrangian
bound and plans; the integer program with a site-count or budget row; the LP optimum rounded
into plans by local search.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from ..errors import InputError
from .capacitated import capacitated_siting
from .checks import check_budget, check_options, check_p, cover_matrix, site_masks, vector
from .covering import CoverProblem, cover_model, cover_result, cover_start
from .exact import NOTHING_LEFT, Clock, Formulation, Incumbent, is_integral, solve_reduced
from .heuristics.incidence import Incidence
from .heuristics.max_cover import improve_max_cover, lagrangian_max_cover, max_cover_heuristic
from .highs import LinearModel
from .reduce import dominated_columns, merge_identical_rows
from .result import FloatArray, IntArray, Method, SitingResult

__all__ = ["max_cover"]


def max_cover(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The most demand weight covered with ``p`` new sites, or within a budget (or both).

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix, scipy.sparse or dense.
    weight
        Weight of each demand row (households), non-negative.
    p
        Number of new sites (required sites come on top).
    budget
        Most the new sites may cost in total; needs ``cost``.
    cost
        Cost of each candidate (non-negative).
    required, excluded
        Candidates that must be open or may not be opened (indices or boolean mask).
    capacity, time_limit, method, rel_gap
        As for :func:`set_cover`.

    Returns
    -------
    SitingResult
        ``objective`` is the covered weight, required sites' coverage included; ``bound`` an
        upper bound on it.

    Raises
    ------
    InputError
        When neither ``p`` nor ``budget`` is given, ``p`` is not between 1 and the number of
        choosable candidates, the budget is not positive, ``budget`` comes without ``cost``, or on
        the errors listed for :func:`set_cover`.

    Examples
    --------
    >>> import numpy as np
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]])
    >>> plan = max_cover(cover, [5, 1, 4, 2], p=2)
    >>> plan.sites.tolist(), plan.objective, plan.marginal_gain.tolist()
    ([0, 1], 10.0, [6.0, 4.0])
    """
    check_options(time_limit, method, rel_gap)
    clock = Clock(float(time_limit))
    a = cover_matrix(cover)
    n, m = a.shape
    w = vector(weight, n, name="weight", what="demand row")
    req, exc = site_masks(required, excluded, m)
    if p is None and budget is None:
        msg = "give p (number of new sites), budget (with cost), or both"
        raise InputError(msg, field="p")
    p_ = None if p is None else check_p(p, req, exc)
    b_ = None if budget is None else check_budget(budget)
    if b_ is not None and cost is None:
        msg = "a budget needs the cost of each candidate (cost=...)"
        raise InputError(msg, field="cost")
    c = np.zeros(m) if cost is None else vector(cost, m, name="cost", what="candidate")
    problem = CoverProblem.of(a, w, c, req, exc, capacity)
    if problem.capacitated:

        def relaxed(limit: float) -> SitingResult:
            return max_cover(
                a,
                w,
                p=p_,
                budget=b_,
                cost=c,
                required=req,
                excluded=exc,
                time_limit=limit,
                method="heuristic",
            )

        return capacitated_siting(
            "max_cover", problem, clock, rel_gap=rel_gap, p=p_, budget=b_, relaxed=relaxed
        )
    reach = problem.reach
    base_weight = float(w[reach.base].sum())
    rows = np.flatnonzero(reach.coverable & ~reach.base & (w > 0))
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    # merge identical rows, drop useless and dominated columns
    if rows.size:
        rep, grp = merge_identical_rows(sub.tocsr())
        w_sub = np.bincount(grp, weights=w[rows], minlength=rep.size)
        sub = sub[rep].tocsc()
    else:
        w_sub = np.zeros(0)
    size = np.diff(sub.indptr)
    rank = np.empty(cols.size, dtype=np.int64)
    keys = (np.arange(cols.size), -size) if b_ is None else (np.arange(cols.size), -size, c[cols])
    rank[np.lexsort(keys)] = np.arange(cols.size)
    useful = (size > 0) & ~dominated_columns(sub.tocsr(), rank)
    if b_ is not None:
        useful &= c[cols] <= b_ * (1 + 1e-12)
    keep_cols = np.flatnonzero(useful)
    a_red = sub[:, keep_cols].tocsc()
    c_red = c[cols[keep_cols]]
    clock.lap("reduce")
    solved = NOTHING_LEFT
    if a_red.shape[0] and keep_cols.size:
        pieces = _formulation(a_red, w_sub, c_red, p_, b_, clock, method=method)
        solved = solve_reduced(pieces, clock, method=method, rel_gap=rel_gap)
    chosen = np.sort(cols[keep_cols[solved.plan]])
    objective = base_weight - solved.value
    return cover_result(
        "max_cover",
        problem,
        chosen,
        objective=objective,
        bound=max(base_weight - solved.bound, objective),
        status=solved.status,
        sense="max",
        clock=clock,
    )


def _formulation(
    a: sparse.csc_array,
    w: FloatArray,
    c: FloatArray,
    p: int | None,
    budget: float | None,
    clock: Clock,
    *,
    method: Method,
) -> Formulation:
    """The pieces of maximal covering on the reduced problem, as minus the covered weight."""
    inc = Incidence.from_sparse(a)
    k = a.shape[1]
    budget_cost = c if budget is not None else None

    def heuristic() -> Incumbent:
        found = max_cover_heuristic(inc, w, p=p, cost=budget_cost, budget=budget, deadline=clock.deadline)
        plan, value, upper = found.sites, found.value, found.bound
        clock.lap("heuristic")
        if p is not None and budget is None and method == "exact" and value < upper:
            lag_plan, lag_bound, _ = lagrangian_max_cover(
                inc,
                w,
                plan,
                p,
                iterations=300,
                deadline=clock.start + 0.25 * (clock.deadline - clock.start),
            )
            lag_value = _covered_weight(a, w, lag_plan)
            if lag_value > value:
                plan, value = lag_plan, lag_value
            upper = min(upper, lag_bound)
            clock.lap("bound")
        return Incumbent(plan, -value, -upper)

    def build(found: Incumbent) -> LinearModel:
        extra = []
        if p is not None:
            extra.append((np.ones(k), -np.inf, float(p)))
        if budget is not None:
            extra.append((c.copy(), -np.inf, budget))
        return cover_model(a, np.zeros(k), z_cost=-w, extra_rows=extra)

    def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
        order = np.argsort(-x[:k], kind="stable")
        seed = _affordable_prefix(order, p, budget_cost, budget)
        better = improve_max_cover(
            inc, w, seed, p=p, cost=budget_cost, budget=budget, deadline=clock.deadline
        )
        point = cover_start(a, better)
        return point, -float(w @ point[k:])

    return Formulation(
        heuristic=heuristic,
        build=build,
        start=lambda found: cover_start(a, found.plan),
        read=lambda x: np.flatnonzero(x[:k] > 0.5),
        evaluate=lambda plan: -_covered_weight(a, w, plan),
        integral=is_integral(w),  # z is 0/1 once y is
        lp_method="primal",
        presolve=False,  # after the reductions, HiGHS presolve costs more than it saves
        round_lp=round_lp,
    )


def _covered_weight(a: sparse.csc_array, w: FloatArray, sites: IntArray) -> float:
    hit = np.zeros(a.shape[0], dtype=bool)
    sub = a[:, np.asarray(sites, dtype=np.int64)]
    hit[sparse.csc_array(sub).indices] = True
    return float(w[hit].sum())


def _affordable_prefix(
    order: IntArray, p: int | None, cost: FloatArray | None, budget: float | None
) -> IntArray:
    """The longest prefix of ``order`` that fits in ``p`` sites and in the budget."""
    if budget is None or cost is None:
        return order[: (order.size if p is None else p)].astype(np.int64)
    spent = np.cumsum(cost[order])
    fits = order[spent <= budget * (1 + 1e-12)]
    return fits[: (fits.size if p is None else p)].astype(np.int64)
