"""p-median: the least total weighted distance with ``p`` new sites, the required ones open.

:func:`p_median` checks its inputs, keeps the demand–site pairs that can beat a row's fallback
(its nearest required site, or the unserved penalty) as an
:class:`~servicegrid.siting.heuristics.median.Assignment`, and runs the shared skeleton with its
own pieces: greedy and vertex substitution, then the Lagrangian relaxation whose bound fixes
sites and pairs; the integer program on the pairs left, solved without the LP stage (the
Lagrangian bound is as strong). The result assigns every row to its nearest open site.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from .checks import check_options, check_p, check_penalty, distance_pairs, site_masks, vector
from .exact import Clock, Formulation, Incumbent, is_integral, relative_gap, solve_reduced
from .heuristics.incidence import mask
from .heuristics.median import (
    Assignment,
    LagrangianResult,
    greedy_median,
    interchange_median,
    lagrangian_median,
    median_build_order,
    median_cost,
)
from .highs import LinearModel, csc_from_triplets
from .result import BoolArray, FloatArray, IntArray, Method, SitingResult, Status

__all__ = ["p_median"]


def p_median(
    dist: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike,
    p: int,
    *,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    unserved_penalty: float | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The least total weighted distance with ``p`` new sites, required sites open.

    Each demand row is served by its nearest open site among its allowed pairs.

    Demand that no open site reaches: by default (``unserved_penalty=None``) every row with at
    least one allowed candidate must be served, as in the textbook p-median; when ``p`` new sites
    plus the required ones cannot reach all of them, the result has status ``"infeasible"`` and no
    sites. With ``unserved_penalty`` (a distance, e.g. the walking limit or twice it), a row may
    stay unserved at ``weight × penalty``, so a plan always exists and far-off demand does not
    force sites where few people live. Rows with no allowed candidate at all are never part of
    the objective; they are listed in ``uncoverable``. Rows of zero weight do not constrain the
    plan.

    Parameters
    ----------
    dist
        Demand × candidate distances. scipy.sparse: the stored entries (explicit zeros included)
        are the allowed pairs, e.g. walking distances within a limit; missing pairs are not
        allowed. Dense: every finite entry is allowed, ``inf`` is not.
    weight
        Weight of each demand row (households), non-negative.
    p
        Number of new sites (required sites come on top).
    required, excluded
        Candidates that must be open or may not be opened (indices or boolean mask).
    unserved_penalty
        Distance charged for a row no open site reaches; None forbids unserved rows.
    time_limit, method, rel_gap
        As for :func:`set_cover`.

    Returns
    -------
    SitingResult
        ``objective`` is the total weighted distance (penalties included), ``bound`` a lower
        bound; ``assignment`` gives every row's serving site.

    Raises
    ------
    InputError
        On negative or NaN distances, duplicate sparse entries, a bad ``p`` or penalty, or the
        errors listed for :func:`set_cover`.

    Examples
    --------
    >>> import numpy as np
    >>> dist = np.array([[0.0, 4.0, 9.0], [3.0, 0.0, 5.0], [9.0, 5.0, 0.0], [8.0, 6.0, 1.0]])
    >>> plan = p_median(dist, [1, 1, 1, 1], 2)
    >>> sorted(plan.sites.tolist()), plan.objective, plan.assignment.tolist()
    ([0, 2], 4.0, [0, 0, 2, 2])
    """
    check_options(time_limit, method, rel_gap)
    clock = Clock(float(time_limit))
    ptr, col, val, shape = distance_pairs(dist)
    n, m = shape
    w = vector(weight, n, name="weight", what="demand row")
    req, exc = site_masks(required, excluded, m)
    p_ = check_p(p, req, exc)
    check_penalty(unserved_penalty)
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    # reach
    any_site = np.bincount(row, minlength=n) > 0
    allowed_pair = ~exc[col]
    allowed = np.bincount(row[allowed_pair], minlength=n) > 0
    uncoverable = np.flatnonzero(~allowed)
    reason = np.where(any_site[uncoverable], "only_excluded", "no_candidate").astype(np.str_)
    # fallback: nearest required site, or the penalty
    pair_cost = w[row] * val
    fallback = np.full(n, np.inf)
    if unserved_penalty is not None:
        fallback = w * float(unserved_penalty)
    req_pair = req[col]
    np.minimum.at(fallback, row[req_pair], pair_cost[req_pair])
    active = allowed & (w > 0)
    free_pair = ~req[col] & ~exc[col] & active[row] & (pair_cost < fallback[row])
    rows_model = np.flatnonzero(active & (np.bincount(row[free_pair], minlength=n) > 0))
    in_model = np.zeros(n, dtype=bool)
    in_model[rows_model] = True
    constant = float(fallback[active & ~in_model].sum())
    cols_model = np.flatnonzero(~req & ~exc)
    col_pos = np.full(m, -1, dtype=np.int64)
    col_pos[cols_model] = np.arange(cols_model.size)
    row_pos = np.full(n, -1, dtype=np.int64)
    row_pos[rows_model] = np.arange(rows_model.size)
    sel = free_pair & (row_pos[row] >= 0)
    sub_row = row_pos[row[sel]]
    asg = Assignment(
        n_rows=int(rows_model.size),
        n_cols=int(cols_model.size),
        ptr=np.concatenate([[0], np.cumsum(np.bincount(sub_row, minlength=rows_model.size))]).astype(
            np.int64
        ),
        row=sub_row,
        col=col_pos[col[sel]],
        cost=pair_cost[sel],
        fallback=fallback[rows_model],
    )
    clock.lap("reduce")
    status: Status
    if asg.n_rows == 0:
        picked = np.zeros(0, dtype=np.int64)
        objective = bound = constant
        status = "optimal"
    else:
        # with method="heuristic", a plan leaving rows unserved (no penalty) has no finite value;
        # it is not a proof of infeasibility, so it is still returned
        solved = solve_reduced(_formulation(asg, p_, clock), clock, method=method, rel_gap=rel_gap)
        picked, status = solved.plan, solved.status
        objective = solved.value + constant
        bound = solved.bound + constant
    chosen = np.sort(cols_model[picked]) if status != "infeasible" else np.zeros(0, dtype=np.int64)
    return _median_result(
        ptr,
        col,
        val,
        w,
        req,
        exc,
        chosen,
        uncoverable,
        reason,
        unserved_penalty,
        objective=objective,
        bound=bound,
        status=status,
        clock=clock,
    )


def _formulation(asg: Assignment, p: int, clock: Clock) -> Formulation:
    """The pieces of p-median on the pairs that can beat each row's fallback."""
    # an unserved row without fallback costs more than serving every row anywhere
    big = np.full(asg.n_rows, float(asg.cost.sum()) + 1.0)
    integral = is_integral(asg.cost, asg.fallback[np.isfinite(asg.fallback)])
    lag: LagrangianResult | None = None

    def heuristic() -> Incumbent:
        nonlocal lag
        plan = greedy_median(asg, p, big)
        plan = interchange_median(asg, plan, p, big, deadline=clock.deadline)
        d1, _ = median_cost(asg, mask(asg.n_cols, plan), np.full(asg.n_rows, np.inf))
        upper = float(d1.sum())
        clock.lap("heuristic")
        if np.isfinite(upper):
            lag = lagrangian_median(
                asg,
                p,
                upper,
                plan,
                margin=1 - 1e-6 if integral else 0.0,
                deadline=clock.start + 0.3 * (clock.deadline - clock.start),
            )
            plan, upper = lag.plan, lag.upper
            clock.lap("bound")
        return Incumbent(plan, upper, -np.inf if lag is None else lag.bound)

    def kept() -> BoolArray:
        return np.ones(asg.cost.size, dtype=bool) if lag is None else lag.keep

    def build(found: Incumbent) -> LinearModel:
        closed = np.zeros(asg.n_cols, dtype=bool) if lag is None else lag.closed
        opened = np.zeros(asg.n_cols, dtype=bool) if lag is None else lag.opened
        return _median_model(asg, p, kept(), closed, opened)

    def start(found: Incumbent) -> FloatArray | None:
        return _median_start(asg, kept(), found.plan) if np.isfinite(found.value) else None

    def evaluate(plan: IntArray) -> float:
        d1, _ = median_cost(asg, mask(asg.n_cols, plan), np.full(asg.n_rows, np.inf))
        return float(d1.sum())

    return Formulation(
        heuristic=heuristic,
        build=build,
        start=start,
        read=lambda x: np.flatnonzero(x[: asg.n_cols] > 0.5),
        evaluate=evaluate,
        integral=integral,  # assignments are 0/1 once sites are
        use_lp=False,
    )


def _median_model(
    asg: Assignment, p: int, keep: BoolArray, closed: BoolArray, opened: BoolArray
) -> LinearModel:
    """Columns y (sites), x (kept pairs), u (rows with a fallback)."""
    m, n = asg.n_cols, asg.n_rows
    k_idx = np.flatnonzero(keep)
    n_pairs = k_idx.size
    has_fb = np.isfinite(asg.fallback)
    fb_rows = np.flatnonzero(has_fb)
    n_fb = fb_rows.size
    x0, u0 = m, m + n_pairs
    n_cols = m + n_pairs + n_fb
    pr, pc = asg.row[k_idx], asg.col[k_idx]
    # rows: assignment (n), linking (n_pairs), cardinality (1)
    link = n + np.arange(n_pairs, dtype=np.int64)
    card = n + n_pairs
    rows = np.concatenate([pr, link, link, np.full(m, card), fb_rows])
    cols = np.concatenate(
        [x0 + np.arange(n_pairs), x0 + np.arange(n_pairs), pc, np.arange(m), u0 + np.arange(n_fb)]
    )
    vals = np.concatenate([np.ones(n_pairs), np.ones(n_pairs), -np.ones(n_pairs), np.ones(m), np.ones(n_fb)])
    matrix = csc_from_triplets(rows, cols, vals, (card + 1, n_cols))
    lower = np.zeros(n_cols)
    upper = np.ones(n_cols)
    upper[:m][closed] = 0.0
    lower[:m][opened] = 1.0
    integer = np.zeros(n_cols, dtype=bool)
    integer[:m] = True
    return LinearModel(
        cost=np.concatenate([np.zeros(m), asg.cost[k_idx], asg.fallback[fb_rows]]),
        lower=lower,
        upper=upper,
        integer=integer,
        matrix=matrix,
        row_lower=np.concatenate([np.ones(n), np.full(n_pairs, -np.inf), [-np.inf]]),
        row_upper=np.concatenate([np.ones(n), np.zeros(n_pairs), [float(p)]]),
    )


def _median_start(asg: Assignment, keep: BoolArray, plan: IntArray) -> FloatArray | None:
    """The point of :func:`_median_model` for ``plan`` (None when it uses a pair fixed out)."""
    m, n = asg.n_cols, asg.n_rows
    k_idx = np.flatnonzero(keep)
    n_pairs = k_idx.size
    has_fb = np.isfinite(asg.fallback)
    fb_rows = np.flatnonzero(has_fb)
    n_fb = fb_rows.size
    x0, u0 = m, m + n_pairs
    n_cols = m + n_pairs + n_fb
    is_open = mask(m, plan)
    _, pair = median_cost(asg, is_open, np.full(n, np.inf))
    served = pair >= 0
    slot = np.full(asg.cost.size, -1, dtype=np.int64)
    slot[k_idx] = np.arange(n_pairs)
    if np.any(slot[pair[served]] < 0) or np.any(~served & ~has_fb):
        return None  # the plan uses a pair fixed out: only better plans remain
    x = np.zeros(n_cols)
    x[:m] = is_open
    x[x0 + slot[pair[served]]] = 1.0
    fb_slot = np.full(n, -1, dtype=np.int64)
    fb_slot[fb_rows] = np.arange(n_fb)
    x[u0 + fb_slot[~served]] = 1.0
    return x


def _median_result(
    ptr: IntArray,
    col: IntArray,
    val: FloatArray,
    w: FloatArray,
    req: BoolArray,
    exc: BoolArray,
    chosen: IntArray,
    uncoverable: IntArray,
    reason: NDArray[np.str_],
    penalty: float | None,
    *,
    objective: float,
    bound: float,
    status: Status,
    clock: Clock,
) -> SitingResult:
    n, m = w.size, req.size
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    is_open = req.copy()
    is_open[chosen] = True
    openp = is_open[col]
    # nearest open site per row (ties: lowest candidate index)
    dist_open = np.where(openp, val, np.inf)
    order = np.lexsort((col, dist_open, row))
    first = np.ones(order.size, dtype=bool)
    first[1:] = row[order][1:] != row[order][:-1]
    best = order[first]
    assignment = np.full(n, -1, dtype=np.int64)
    ok = np.isfinite(dist_open[best])
    assignment[row[best][ok]] = col[best][ok]
    covered = np.flatnonzero(assignment >= 0)
    # build order by saving, with unserved rows at the penalty (or the largest distance)
    big_d = float(penalty) if penalty is not None else float(val.max(initial=0.0)) + 1.0
    allowed = ~exc[col]
    pair_cost = w[row] * val
    fallback = w * big_d
    np.minimum.at(fallback, row[allowed & req[col]], pair_cost[allowed & req[col]])
    sel = np.isin(col, chosen)
    asg = Assignment(
        n_rows=n,
        n_cols=m,
        ptr=ptr,
        row=row[sel],
        col=col[sel],
        cost=pair_cost[sel],
        fallback=fallback,
    )
    sites, gains = median_build_order(asg, chosen, np.full(n, np.inf))
    clock.lap("report")
    gap = relative_gap(objective, bound) if status != "infeasible" else np.inf
    if status == "heuristic" and gap == 0.0:
        status = "optimal"  # the bound proves the heuristic plan
    return SitingResult(
        model="p_median",
        status=status,
        sense="min",
        sites=sites,
        marginal_gain=gains,
        fixed=np.flatnonzero(req).astype(np.int64),
        objective=float(objective),
        bound=float(bound),
        gap=gap,
        cost=0.0,
        covered=covered,
        covered_weight=float(w[covered].sum()),
        uncoverable=uncoverable,
        uncoverable_reason=reason,
        assignment=assignment,
        solve_time=clock.total(),
        timings=MappingProxyType(dict(clock.timings)),
    )
