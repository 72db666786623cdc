"""Covering with capacities: the integer program when sites can serve only so many households.

A site with a capacity serves at most that much weight, so "within reach" no longer means
"served". Each demand row's weight may be split between the open sites that reach it (the
households of a compound can go to two stations); ``y[e]`` is the share of row ``i`` that site
``j`` serves for each pair ``e = (i, j)`` within reach, and ``x[j]`` opens site ``j``::

    Σ_j y[i, j] ≤ 1                 (= 1 when every row must be served)
    y[i, j] ≤ x[j]                  (only open sites serve; the strong form, one row per pair)
    Σ_i w[i] y[i, j] ≤ cap[j] x[j]  (for sites with a capacity)

plus, as the question asks, a site count, a budget, or per-group targets on the served weight
(with ``progress[g] ≤ target[g]`` counting each group only up to its target). The variables
are as many as the pairs within reach, never demand × candidate. This module builds and solves
that model, and :func:`capacitated_siting` asks it the question of each covering model (set
cover, max cover, upgrade-or-build with capacities) and reads the answer as a
:class:`~servicegrid.siting.result.SitingResult`. The reductions and heuristics of the
uncapacitated models do not hold here (a site that covers more may serve less), so HiGHS solves
the whole model, within the time limit, started from a greedy plan where the question has no
group targets; the least-cost question with group targets is first put to ``by_component``
(:mod:`.pareto`: the components' Pareto plans and a master program), when the model offers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
from scipy import sparse

from .covering import CoverProblem
from .exact import Clock, is_integral, relative_gap
from .highs import LinearModel, Outcome, solve
from .result import (
    BoolArray,
    Decomposition,
    FloatArray,
    IntArray,
    ModelName,
    Sense,
    SitingResult,
    Status,
)

__all__ = [
    "CapacitatedAnswer",
    "CapacitatedQuestion",
    "build_model",
    "capacitated_siting",
    "greedy_start",
    "solve_capacitated",
]

#: What to minimise: the cost of the open sites, or minus the served weight (each group's
#: counted up to its target when targets are given).
Minimise = Literal["cost", "unserved"]


@dataclass(frozen=True)
class CapacitatedQuestion:
    """One capacitated covering problem.

    ``a`` is the demand × candidate 0/1 matrix (CSC), ``w`` the weights, ``cost`` and ``cap``
    per candidate (``inf``: no capacity). ``rows`` marks the demand rows in the model (the others
    are served elsewhere or by no one). ``lower``/``upper`` bound each site's ``x`` (1/1 for
    required sites, 0/0 for excluded ones). ``serve_all`` makes every row of the model fully
    served. ``max_sites`` counts the sites with ``lower == 0``; ``budget`` caps their cost.
    ``group``/``target``/``base`` give each row's group, each group's target weight and the
    weight already served outside the model: with ``minimise="cost"`` every group must reach
    its target, with ``"unserved"`` the served weight counts only up to it. ``served_floor``
    asks for at least that served weight, each group's counted only up to its target (and
    then no group has to reach it).
    """

    a: sparse.csc_array
    w: FloatArray
    cost: FloatArray
    cap: FloatArray
    rows: BoolArray
    lower: FloatArray
    upper: FloatArray
    minimise: Minimise
    serve_all: bool = False
    max_sites: int | None = None
    budget: float | None = None
    group: IntArray | None = None
    target: FloatArray | None = None
    base: FloatArray | None = None
    served_floor: float | None = None


@dataclass(frozen=True)
class CapacitatedAnswer:
    """The solve: ``x`` per candidate and ``shares`` (demand × candidate) when a plan was found,
    and the model's whole ``point`` (a start for another question on the same model)."""

    outcome: Outcome
    x: FloatArray | None
    shares: sparse.csr_array | None
    objective: float
    bound: float
    point: FloatArray | None = None
    #: When answered component by component: components enumerated and kept whole.
    components: tuple[int, int] | None = None


def solve_capacitated(
    q: CapacitatedQuestion, *, time_limit: float, rel_gap: float, start: FloatArray | None = None
) -> CapacitatedAnswer:
    """Solve the model of ``q``, started from ``start`` (a point of a question on the same
    model that is feasible for this one) or else from the greedy plan when there is one."""
    n, m = q.a.shape
    model, pair_row, pair_col = build_model(q)
    if start is None:
        start = greedy_start(q, pair_row, pair_col)
    out = solve(model, time_limit=time_limit, rel_gap=rel_gap, start=start)
    if out.x is None:
        return CapacitatedAnswer(out.outcome, None, None, out.objective, out.bound)
    x = np.round(out.x[:m])
    share = np.clip(out.x[m : m + pair_row.size], 0.0, 1.0)
    share[share < 1e-9] = 0.0
    shares = sparse.csr_array((share, (pair_row, pair_col)), shape=(n, m))
    shares.eliminate_zeros()
    return CapacitatedAnswer(out.outcome, x, shares, out.objective, out.bound, out.x)


def build_model(q: CapacitatedQuestion) -> tuple[LinearModel, IntArray, IntArray]:
    """The model of ``q`` (columns: sites, pairs, then group progress) and each pair's row and site."""
    n, m = q.a.shape
    coo = q.a.tocoo()
    keep = q.rows[coo.row] & (q.upper[coo.col] > 0)
    pair_row, pair_col = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    e = pair_row.size
    model_rows = np.flatnonzero(q.rows)
    slot = np.full(n, -1, dtype=np.int64)
    slot[model_rows] = np.arange(model_rows.size)
    pair_w = q.w[pair_row]
    group = np.zeros(n, dtype=np.int64) if q.group is None else q.group
    target = np.zeros(0) if q.target is None else np.asarray(q.target, dtype=np.float64)
    grouped = q.group is not None and q.target is not None
    n_groups = target.size if grouped else 0
    x_col, y_col, g_col = np.arange(m), m + np.arange(e), m + e + np.arange(n_groups)

    blocks: list[tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]] = []
    n_rows = 0

    def add(rows: IntArray, cols: IntArray, vals: FloatArray, lo: FloatArray, hi: FloatArray) -> None:
        nonlocal n_rows
        blocks.append((rows + n_rows, cols, vals, lo, hi))
        n_rows += lo.size

    k = model_rows.size
    add(slot[pair_row], y_col, np.ones(e), np.full(k, 1.0 if q.serve_all else 0.0), np.ones(k))
    pairs = np.arange(e)
    add(
        np.r_[pairs, pairs],
        np.r_[y_col, x_col[pair_col]],
        np.r_[np.ones(e), -np.ones(e)],
        np.full(e, -np.inf),
        np.zeros(e),
    )
    capped = np.flatnonzero(np.isfinite(q.cap) & (q.upper > 0))
    cap_slot = np.full(m, -1, dtype=np.int64)
    cap_slot[capped] = np.arange(capped.size)
    on_capped = cap_slot[pair_col] >= 0
    add(
        np.r_[cap_slot[pair_col[on_capped]], np.arange(capped.size)],
        np.r_[y_col[on_capped], x_col[capped]],
        np.r_[pair_w[on_capped], -q.cap[capped]],
        np.full(capped.size, -np.inf),
        np.zeros(capped.size),
    )
    free = np.flatnonzero(q.lower < q.upper)
    if q.max_sites is not None:
        add(
            np.zeros(free.size, dtype=np.int64),
            free,
            np.ones(free.size),
            np.array([-np.inf]),
            np.array([q.max_sites]),
        )
    if q.budget is not None:
        add(
            np.zeros(free.size, dtype=np.int64), free, q.cost[free], np.array([-np.inf]), np.array([q.budget])
        )
    progress_cost = np.zeros(n_groups)
    if grouped:
        base = np.zeros(n_groups) if q.base is None else q.base
        # progress[g] - Σ w y over g's pairs ≤ base[g]
        add(
            np.r_[group[pair_row], np.arange(n_groups)],
            np.r_[y_col, g_col],
            np.r_[-pair_w, np.ones(n_groups)],
            np.full(n_groups, -np.inf),
            base,
        )
        progress_cost = -np.ones(n_groups)
    if q.served_floor is not None:
        cols, vals = (g_col, np.ones(n_groups)) if grouped else (y_col, pair_w)
        add(np.zeros(cols.size, dtype=np.int64), cols, vals, np.array([q.served_floor]), np.array([np.inf]))

    if q.minimise == "cost":
        cost = np.r_[q.cost, np.zeros(e), np.zeros(n_groups)]
    else:
        cost = np.r_[np.zeros(m), np.zeros(e) if grouped else -pair_w, progress_cost]
    g_lower = np.zeros(n_groups)
    g_upper = target if grouped else np.zeros(0)
    if grouped and q.minimise == "cost" and q.served_floor is None:
        g_lower = g_upper.copy()  # every group reaches its target
    rows, cols, vals, lo, hi = (np.concatenate(part) for part in zip(*blocks, strict=True))
    model = LinearModel(
        cost=cost,
        lower=np.r_[q.lower, np.zeros(e), g_lower],
        upper=np.r_[q.upper, np.ones(e), g_upper],
        integer=np.r_[np.ones(m, dtype=bool), np.zeros(e + n_groups, dtype=bool)],
        matrix=sparse.csc_array((vals, (rows, cols)), shape=(n_rows, m + e + n_groups)),
        row_lower=lo,
        row_upper=hi,
    )
    return model, pair_row, pair_col


def greedy_start(q: CapacitatedQuestion, pair_row: IntArray, pair_col: IntArray) -> FloatArray | None:
    """A feasible point to start HiGHS from (sites, then pair shares), or None.

    Required sites serve first; then, while the count, budget or unserved weight allow, the site
    that can serve the most unserved weight within its capacity (per unit of cost when costs are
    minimised) opens and takes the largest unserved rows in its reach until it is full. Only for
    questions without group targets or a floor; None when every row must be served and the
    greedy plan does not.
    """
    if q.target is not None or q.served_floor is not None:
        return None
    m = q.a.shape[1]
    by_site = np.argsort(pair_col, kind="stable")
    ptr = np.searchsorted(pair_col[by_site], np.arange(m + 1))
    left = np.where(q.rows, q.w, 0.0)
    room = q.cap.astype(np.float64, copy=True)
    share = np.zeros(pair_row.size)
    x = q.lower.astype(np.float64, copy=True)
    tol = 1e-9 * max(float(left.sum()), 1.0)
    options = np.bincount(pair_row, minlength=q.a.shape[0])

    def serve(j: int) -> None:
        pairs = by_site[ptr[j] : ptr[j + 1]]
        # rows with the fewest other sites to turn to first, then the largest
        pairs = pairs[np.lexsort((-left[pair_row[pairs]], options[pair_row[pairs]]))]
        rows = pair_row[pairs]
        want = left[rows]
        before = np.r_[0.0, np.cumsum(want)[:-1]]
        take = np.clip(room[j] - before, 0.0, want)
        share[pairs] = take / q.w[rows]
        left[rows] -= take
        room[j] -= float(take.sum())

    for j in np.flatnonzero(q.lower > 0):
        serve(int(j))
    choosable = q.lower < q.upper
    opened, spent = 0, 0.0
    while q.max_sites is None or opened < q.max_sites:
        gain = np.minimum(np.bincount(pair_col, weights=left[pair_row], minlength=m), room)
        gain[~choosable | (x > 0)] = 0.0
        if q.budget is not None:
            gain[q.cost > q.budget - spent + tol] = 0.0
        if gain.max() <= tol:
            break
        per_cost = q.minimise == "cost" or q.max_sites is None
        key = np.divide(gain, q.cost, out=np.full(m, np.inf), where=q.cost > 0) if per_cost else gain
        j = int(np.argmax(np.where(gain > tol, key, -np.inf)))
        x[j] = 1.0
        opened += 1
        spent += float(q.cost[j])
        serve(j)
    if q.serve_all and left[q.rows].sum() > tol:
        return None
    return np.r_[x, share]


def capacitated_siting(
    model_name: ModelName,
    problem: CoverProblem,
    clock: Clock,
    *,
    rel_gap: float,
    p: int | None = None,
    budget: float | None = None,
    group: IntArray | None = None,
    target: FloatArray | None = None,
    relaxed: Callable[[float], SitingResult] | None = None,
    by_component: Callable[[CapacitatedQuestion, Clock], CapacitatedAnswer | None] | None = None,
) -> SitingResult:
    """The capacitated form of ``model_name`` (see the module notes).

    Rows that a required site without a capacity reaches are served there and stay out of the
    model. Set cover and targets that the capacities make impossible are answered by the plan
    serving the most weight (each group up to its target) and, among those, the cheapest.
    ``relaxed(limit)`` solves the same question without capacities by the heuristic: its bound
    holds here too (capacities only take plans away), and is there in milliseconds when HiGHS
    cannot finish the root of a large capacitated model. ``by_component(question, clock)``
    answers the least-cost question with targets component by component
    (:func:`~servicegrid.siting.pareto.targets_by_component`), or None to leave it to the whole
    program.
    """
    a, w, c, cap, req, exc, reach = (
        problem.a,
        problem.w,
        problem.c,
        problem.cap,
        problem.req,
        problem.exc,
        problem.reach,
    )
    n, m = a.shape
    unlimited_req = req & ~np.isfinite(cap)
    pre = a @ unlimited_req.astype(np.float64) > 0
    rows = reach.coverable & ~pre & (w > 0)
    free_cost = np.where(req, 0.0, c)
    base = (
        None
        if group is None or target is None
        else np.bincount(group, weights=w * pre, minlength=target.size)
    )
    ask = CapacitatedQuestion(
        a=a,
        w=w,
        cost=free_cost,
        cap=cap,
        rows=rows,
        lower=req.astype(np.float64),
        upper=(~exc).astype(np.float64),
        minimise="cost",
        group=group,
        target=target,
        base=base,
    )

    def run(q: CapacitatedQuestion, start: FloatArray | None = None) -> CapacitatedAnswer:
        answer = solve_capacitated(q, time_limit=max(clock.left(), 1e-3), rel_gap=rel_gap, start=start)
        clock.lap("solve")
        return answer

    def cheapest_serving_most(q: CapacitatedQuestion) -> CapacitatedAnswer:
        most = run(replace(q, minimise="unserved", serve_all=False, budget=None))
        if most.x is None:
            return most
        floor = -most.objective * (1 - 1e-9)
        cheap = run(replace(q, minimise="cost", serve_all=False, served_floor=floor), start=most.point)
        return cheap if cheap.x is not None else most

    sense: Sense = "max" if model_name == "max_cover" or budget is not None else "min"
    split = None  # targets answered component by component, when they can be
    if model_name == "upgrade_or_build" and budget is None and by_component is not None:
        split = by_component(ask, clock)
    relaxed_bound = np.nan
    if relaxed is not None and (split is None or split.outcome != "optimal"):
        relaxed_bound = relaxed(min(5.0, max(0.1 * clock.left(), 1e-3))).bound
        clock.lap("bound")
    pre_weight = float(w[pre].sum())
    if model_name == "set_cover":
        relaxed_bound = np.fmax(relaxed_bound, _capacity_bound(problem, rows, float(w[rows].sum())))
        answer = run(replace(ask, serve_all=True))
        if answer.outcome == "infeasible":
            relaxed_bound = np.nan  # the plan serving the most answers another question
            answer = cheapest_serving_most(ask)
        objective, bound = answer.objective, answer.bound
    elif model_name == "max_cover":
        answer = run(replace(ask, minimise="unserved", max_sites=p, budget=budget))
        objective, bound = pre_weight - answer.objective, pre_weight - answer.bound
    elif budget is None:  # targets
        answer = run(ask) if split is None else split
        if answer.outcome == "infeasible":
            relaxed_bound = np.nan
            answer = cheapest_serving_most(ask)
        objective, bound = answer.objective, answer.bound
    else:  # the most progress towards the targets for the budget
        answer = run(replace(ask, minimise="unserved", budget=budget))
        objective, bound = -answer.objective, -answer.bound
        if answer.x is not None and target is not None and objective >= target.sum() * (1 - 1e-9):
            cheap = run(replace(ask, budget=budget))
            if cheap.x is not None:
                answer = cheap
    status: Status = answer.outcome
    if answer.x is None:  # no plan: a time limit before the first one
        objective = np.inf if sense == "min" else -np.inf
    if np.isfinite(relaxed_bound):
        bound = max(bound, relaxed_bound) if sense == "min" else min(bound, relaxed_bound)
    if np.isfinite(objective):  # a bound never passes the plan it bounds
        bound = min(bound, objective) if sense == "min" else max(bound, objective)
    solved = sparse.coo_array((n, m)) if answer.shares is None else answer.shares.tocoo()
    served_pre = np.flatnonzero(pre)
    shares = sparse.csr_array(
        (
            np.r_[solved.data, np.ones(served_pre.size)],
            (np.r_[solved.row, served_pre], np.r_[solved.col, _first_column(a, unlimited_req)[served_pre]]),
        ),
        shape=(n, m),
    )
    x = np.zeros(m) if answer.x is None else answer.x
    chosen = np.flatnonzero((x > 0.5) & ~req)
    served = np.asarray(shares.multiply(w[:, None]).sum(axis=0)).ravel()
    order = chosen[np.lexsort((chosen, -served[chosen]))]
    share_row = np.asarray(shares.sum(axis=1)).ravel()
    covered = np.flatnonzero(share_row > 1e-9)
    assignment = np.full(n, -1, dtype=np.int64)
    if shares.nnz:
        best = shares.argmax(axis=1)
        assignment[covered] = np.asarray(best).ravel()[covered]
    clock.lap("report")
    if not np.isfinite(bound):
        bound = -np.inf if sense == "min" else np.inf
    if status == "time_limit" and relative_gap(objective, bound) == 0.0:
        status = "optimal"  # the relaxation's bound proves the plan
    return SitingResult(
        model=model_name,
        status=status,
        sense=sense,
        sites=order.astype(np.int64),
        marginal_gain=served[order],
        fixed=np.flatnonzero(req).astype(np.int64),
        objective=float(objective),
        bound=float(bound),
        gap=relative_gap(objective, bound),
        cost=float(c[order].sum()),
        covered=covered.astype(np.int64),
        covered_weight=float((w * np.minimum(share_row, 1.0)).sum()),
        uncoverable=reach.uncoverable,
        uncoverable_reason=reach.reason,
        assignment=assignment,
        solve_time=clock.total(),
        timings=MappingProxyType(dict(clock.timings)),
        shares=shares,
        decomposition=_by_component(split, a.shape),
    )


def _by_component(split: CapacitatedAnswer | None, shape: tuple[int, int]) -> Decomposition | None:
    """What a component-by-component answer says about itself."""
    if split is None or split.components is None:
        return None
    enumerated, kept = split.components
    return Decomposition(
        components=enumerated + kept, parts=1, largest=shape, enumerated=enumerated, kept=kept
    )


def _capacity_bound(problem: CoverProblem, rows: BoolArray, need: float) -> float:
    """A lower bound on the cost of serving ``need`` weight of ``rows``: the fractional knapsack
    of the sites' usable capacities (the least of the capacity and the weight within reach), the
    cheapest per unit served first. 0 when a choosable site has no capacity."""
    a, c, cap, req, exc = problem.a, problem.c, problem.cap, problem.req, problem.exc
    usable = np.minimum(cap, problem.w[rows] @ a[np.flatnonzero(rows)])
    need -= float(usable[req].sum())
    free = ~req & ~exc & (usable > 0)
    if need <= 0 or not np.isfinite(usable[free]).all():
        return 0.0
    order = np.flatnonzero(free)[np.argsort(c[free] / usable[free], kind="stable")]
    filled = np.cumsum(usable[order])
    k = int(np.searchsorted(filled, need))
    if k >= order.size:
        return np.inf  # the capacities cannot serve it all: no plan to bound
    before = filled[k - 1] if k else 0.0
    bound = float(c[order[:k]].sum() + c[order[k]] * (need - before) / usable[order[k]])
    return float(np.ceil(bound - 1e-9)) if is_integral(c) else bound


def _first_column(a: sparse.csc_array, mask: BoolArray) -> IntArray:
    """For each row, the lowest-index column in ``mask`` that covers it (-1: none)."""
    coo = a[:, np.flatnonzero(mask)].tocoo()
    first = np.full(a.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, coo.row, np.flatnonzero(mask)[coo.col])
    first[first == np.iinfo(np.int64).max] = -1
    return first
