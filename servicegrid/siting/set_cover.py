"""Set covering: the least-cost set of candidates covering every coverable demand row.

:func:`set_cover` checks its inputs, hands capacitated problems to
:func:`~servicegrid.siting.capacitated.capacitated_siting`, reduces the rest exactly (a row
with one candidate forces it; dominated rows and columns, columns dearer than their rows'
cheapest alternatives) and runs the shared skeleton with its own pieces: greedy, pruning,
Lagrangian bound, exchanges and (equal costs: the fewest sites) covers one site smaller; the LP
optimum rounded into covers; and, with equal costs, the proof on a subset of the rows
(:func:`_cover_rows_first`) before the MIP on all of them.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from .capacitated import capacitated_siting
from .checks import check_options, cover_matrix, site_masks, vector
from .covering import CoverProblem, cover_result
from .exact import (
    NOTHING_LEFT,
    Clock,
    Formulation,
    Incumbent,
    gap_closed,
    is_integral,
    relaxation_bound,
    solve_reduced,
)
from .heuristics.incidence import Incidence
from .heuristics.set_cover import (
    cover_in_order,
    cover_with_sites,
    fewer_sites_cover,
    greedy_set_cover,
    improve_set_cover,
    lagrangian_set_cover,
    prune_set_cover,
)
from .highs import LinearModel, SolveOutcome, solve
from .reduce import dominated_columns, dominated_rows, set_cover_column_bound
from .result import BoolArray, FloatArray, IntArray, Method, SitingResult

__all__ = ["set_cover"]

logger = logging.getLogger(__name__)


def set_cover(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    cost: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The least-cost set of candidates that covers every coverable demand row.

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix (``cover[i, j]`` is 1 when candidate ``j`` covers demand
        row ``i``), scipy.sparse or a dense array.
    cost
        Cost of each candidate (non-negative).
    weight
        Weight of each demand row (households); used to report the weight each site newly
        covers, and against capacities. Default 1 per row.
    required, excluded
        Candidates that must be open (existing compliant facilities) or may not be opened, as
        indices or a boolean mask. Required sites cost nothing in the objective.
    capacity
        Most weight each candidate may serve (``nan``/``inf``: no limit); see :mod:`servicegrid.siting`.
    time_limit
        Seconds for the whole call; the best plan found by then is returned.
    method
        ``"exact"`` (integer program) or ``"heuristic"`` (greedy plus pruning, with the LP bound).
    rel_gap
        Relative gap at which the integer program counts as solved.

    Returns
    -------
    SitingResult
        ``objective`` is the total cost of the chosen sites; rows no allowed candidate reaches
        are in ``uncoverable``.

    Raises
    ------
    InputError
        On a malformed matrix, negative or non-finite costs or weights, shape mismatches, bad
        site indices, or sites both required and excluded.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> cover = sparse.csr_array(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]]))
    >>> plan = set_cover(cover, [3.0, 1.0, 1.0])
    >>> plan.sites.tolist(), plan.objective, plan.status, plan.uncoverable.tolist()
    ([1, 2], 2.0, 'optimal', [3])
    """
    check_options(time_limit, method, rel_gap)
    clock = Clock(float(time_limit))
    a = cover_matrix(cover)
    n, m = a.shape
    c = vector(cost, m, name="cost", what="candidate")
    w = np.ones(n) if weight is None else vector(weight, n, name="weight", what="demand row")
    req, exc = site_masks(required, excluded, m)
    problem = CoverProblem.of(a, w, c, req, exc, capacity)
    if problem.capacitated:

        def relaxed(limit: float) -> SitingResult:
            return set_cover(a, c, weight=w, required=req, excluded=exc, time_limit=limit, method="heuristic")

        return capacitated_siting("set_cover", problem, clock, rel_gap=rel_gap, relaxed=relaxed)
    rows = np.flatnonzero(problem.reach.coverable & ~problem.reach.base)
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    forced, keep_rows, keep_cols = _reduce_set_cover(sub, c[cols])
    clock.lap("reduce")
    solved = NOTHING_LEFT
    if keep_rows.size:
        a_red = sub[keep_rows][:, keep_cols].tocsc()
        pieces = _formulation(a_red, c[cols[keep_cols]], clock, rel_gap=rel_gap)
        solved = solve_reduced(pieces, clock, method=method, rel_gap=rel_gap)
    forced_cost = float(c[cols[forced]].sum())
    objective = solved.value + forced_cost
    chosen = np.sort(cols[np.concatenate([forced, keep_cols[solved.plan]])])
    return cover_result(
        "set_cover",
        problem,
        chosen,
        objective=objective,
        bound=min(solved.bound + forced_cost, objective),
        status=solved.status,
        sense="min",
        clock=clock,
    )


def _formulation(a: sparse.csc_array, c: FloatArray, clock: Clock, *, rel_gap: float) -> Formulation:
    """The pieces of set covering on the reduced problem (every row covered, least cost)."""
    inc = Incidence.from_sparse(a)
    integral = is_integral(c)
    equal_cost = bool(c.size and np.all(c == c[0]) and c[0] > 0)
    hard = np.zeros(inc.n_rows, dtype=bool)  # rows that covers one site smaller left uncovered

    def heuristic() -> Incumbent:
        nonlocal hard
        plan = prune_set_cover(inc, c, greedy_set_cover(inc, c))
        plan, lower = lagrangian_set_cover(
            inc, c, plan, iterations=300, deadline=clock.start + 0.25 * (clock.deadline - clock.start)
        )
        plan = improve_set_cover(inc, c, plan, deadline=clock.deadline)
        if equal_cost:  # fewest sites
            floor = int(np.ceil(lower / c[0] - 1e-6)) if np.isfinite(lower) else 1
            plan, hard = fewer_sites_cover(inc, plan, floor=floor, deadline=clock.deadline)
        return Incumbent(plan, float(c[plan].sum()), lower)

    def build(found: Incumbent) -> LinearModel:
        return LinearModel(
            cost=c,
            lower=np.zeros(c.size),
            upper=np.ones(c.size),
            integer=np.ones(c.size, dtype=bool),
            matrix=a,
            row_lower=np.ones(a.shape[0]),
            row_upper=np.full(a.shape[0], np.inf),
        )

    def start(found: Incumbent) -> FloatArray:
        point = np.zeros(c.size)
        point[found.plan] = 1.0
        return point

    def lp_bound(model: LinearModel, found: Incumbent) -> float:
        lower = max(found.bound, _set_cover_floor(a, c))
        return relaxation_bound(model, found.value, lower, clock, rel_gap=rel_gap, integral=integral)

    def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
        order = np.lexsort((c, -np.round(x, 9)))
        cover_plan = improve_set_cover(inc, c, cover_in_order(inc, order), deadline=clock.deadline)
        point = np.zeros(c.size)
        point[cover_plan] = 1.0
        return point, float(c[cover_plan].sum())

    def refine(
        reduced: LinearModel, lp: SolveOutcome, incumbent: float, bound: float
    ) -> tuple[FloatArray | None, float, float]:
        return _cover_rows_first(
            reduced, lp, incumbent, bound, inc=inc, clock=clock, rel_gap=rel_gap, hard=hard
        )

    return Formulation(
        heuristic=heuristic,
        build=build,
        start=start,
        read=lambda x: np.flatnonzero(x > 0.5),
        evaluate=lambda plan: float(c[plan].sum()),
        integral=integral,
        round_lp=round_lp,
        refine=refine if equal_cost else None,
        lp_bound=lp_bound,
    )


def _cover_rows_first(
    model: LinearModel,
    lp: SolveOutcome,
    incumbent: float,
    bound: float,
    *,
    inc: Incidence,
    clock: Clock,
    rel_gap: float,
    hard: BoolArray | None = None,
    max_rounds: int = 6,
    share: float = 0.5,
) -> tuple[FloatArray | None, float, float]:
    """Fewest sites by rows: exact covers of a subset of the rows for bounds, swaps for plans.

    For set covering with equal costs. Every cover of all rows covers any subset of them, so the
    fewest sites covering a subset is a lower bound, and a MIP on a few hundred rows proves it
    far sooner than one on all of them (HiGHS's root cuts and heuristics work on every row).
    The first subset is the rows with a positive LP dual (without the others the LP optimum is
    unchanged, by complementary slackness, so the subset keeps the LP's strength) and the
    ``hard`` rows, those that plans one site smaller than the incumbent left uncovered. Each
    round solves the subset exactly. When its plan covers every row it is optimal outright;
    otherwise :func:`cover_with_sites` looks for a cover of every row by as many sites, and
    the rows left uncovered by the plan and by that search join the subset. Bounds hold for
    ``model`` as given, with its reduced-cost fixings (a subset optimum above the incumbent
    proves the incumbent). Stops when the gap closes, after ``max_rounds`` rounds, or when the
    subset grows past ``share`` of the rows (a MIP on most rows is no quicker than the one on
    all); the MIP on all rows then starts from what was found. Returns (better plan as a point
    of ``model`` or None, its value, bound).
    """
    if lp.outcome != "optimal" or lp.row_dual is None:
        return None, incumbent, bound
    integral = is_integral(model.cost)
    csr = model.matrix.tocsr()
    first = np.abs(lp.row_dual) > 1e-9
    if hard is not None:
        first |= hard
    rows = np.flatnonzero(first)
    best: FloatArray | None = None
    tol = 1e-9 * max(abs(incumbent), 1.0) if np.isfinite(incumbent) else 1e-9
    for round_ in range(max_rounds):
        if rows.size == 0 or rows.size > share * model.n_rows or clock.left() <= 0:
            break
        part = sparse.csc_array(csr[rows])
        cols = np.flatnonzero((np.diff(part.indptr) > 0) & (model.upper > 0))  # columns covering a row
        sub = LinearModel(
            cost=model.cost[cols],
            lower=model.lower[cols],
            upper=model.upper[cols],
            integer=model.integer[cols],
            matrix=sparse.csc_array(part[:, cols]),
            row_lower=model.row_lower[rows],
            row_upper=model.row_upper[rows],
            offset=float(model.cost @ model.lower - model.cost[cols] @ model.lower[cols]),
        )
        # no MIP start: with one, HiGHS's presolve has returned wrong optima on these subsets
        out = solve(sub, time_limit=clock.left() / 2, rel_gap=rel_gap)
        clock.lap("solve")
        if out.outcome == "infeasible":  # no plan the fixings allow covers even these rows
            return best, incumbent, max(bound, incumbent)
        bound = max(bound, min(incumbent, out.bound))
        logger.debug(
            "set cover on %d of %d rows (round %d): %s %.6g, bound %.6g",
            rows.size,
            model.n_rows,
            round_ + 1,
            out.outcome,
            out.objective,
            bound,
        )
        if out.x is None:
            break
        x = model.lower.copy()
        x[cols] = out.x > 0.5
        left = np.flatnonzero(csr @ x < 0.5)
        if left.size == 0:  # the subset's plan covers every row: optimal when proven on the subset
            if float(model.cost @ x) < incumbent - tol:
                best, incumbent = x, float(model.cost @ x)
            if out.outcome == "optimal":
                bound = max(bound, min(incumbent, out.bound))
        else:
            found, missed = cover_with_sites(inc, np.flatnonzero(x > 0.5), deadline=clock.deadline)
            if found is not None and float(model.cost[found].sum()) < incumbent - tol:
                best = np.zeros(model.n_cols)
                best[found] = 1.0
                incumbent = float(model.cost[found].sum())
                logger.debug("swap search covered every row at cost %.6g", incumbent)
            left = np.union1d(left, np.flatnonzero(missed))
        clock.lap("heuristic")
        if gap_closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
            break
        rows = np.union1d(rows, left)
    return best, incumbent, bound


def _set_cover_floor(a: sparse.csc_array, c: FloatArray) -> float:
    """A weak but valid lower bound: the dearest row's cheapest column."""
    csr = a.tocsr()
    cheapest = np.minimum.reduceat(c[csr.indices], csr.indptr[:-1]) if csr.nnz else np.zeros(1)
    return float(np.max(cheapest, initial=0.0))


def _reduce_set_cover(
    sub: sparse.csc_array, cost: FloatArray, *, max_rounds: int = 8
) -> tuple[IntArray, IntArray, IntArray]:
    """Forced columns, and the rows and columns left after the exact set-cover reductions."""
    rows = np.arange(sub.shape[0])
    cols = np.arange(sub.shape[1])
    forced: list[IntArray] = []
    for _ in range(max_rounds):
        changed = False
        a = sub[rows][:, cols].tocsc()
        # a row with one column forces it
        row_len = np.diff(a.tocsr().indptr)
        single = np.flatnonzero(row_len == 1)
        if single.size:
            ess = np.unique(a.tocsr()[single].indices)
            forced.append(cols[ess])
            hit = np.diff(a[:, ess].tocsr().indptr) > 0
            rows = rows[~hit]
            keep = np.ones(cols.size, dtype=bool)
            keep[ess] = False
            cols = cols[keep]
            changed = True
            a = sub[rows][:, cols].tocsc()
        # columns dearer than their rows' cheapest alternatives, or inside a better column
        c = cost[cols]
        drop = set_cover_column_bound(a, c)
        size = np.diff(a.indptr)
        rank = np.empty(cols.size, dtype=np.int64)
        rank[np.lexsort((np.arange(cols.size), -size, c))] = np.arange(cols.size)
        drop |= dominated_columns(a.tocsr(), rank)
        drop |= size == 0
        if drop.any():
            cols = cols[~drop]
            changed = True
            a = sub[rows][:, cols].tocsc()
        # rows implied by a row with fewer columns
        redundant = dominated_rows(a)
        if redundant.any():
            rows = rows[~redundant]
            changed = True
        if not changed or rows.size == 0:
            break
    if rows.size == 0:
        cols = cols[:0]
    forced_cols = np.concatenate(forced) if forced else np.zeros(0, dtype=np.int64)
    logger.debug(
        "set cover reductions: %d×%d -> %d×%d, %d forced",
        sub.shape[0],
        sub.shape[1],
        rows.size,
        cols.size,
        forced_cols.size,
    )
    return forced_cols.astype(np.int64), rows.astype(np.int64), cols.astype(np.int64)
