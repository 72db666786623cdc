"""Heuristics and bounds for set covering: greedy, pruning, exchanges, Lagrangian, fewer sites.

Chvátal's greedy and pruning give the first cover, two-for-one exchanges improve it, Beasley's
Lagrangian relaxation gives a bound near the LP bound with further covers, and with equal costs
(the fewest sites) :func:`fewer_sites_cover` looks for covers one site smaller as maximal
covering with growing row weights (:func:`cover_with_sites`).
"""

from __future__ import annotations

import time

import numpy as np

from ..reduce import gather_rows
from ..result import BoolArray, FloatArray, IntArray
from .cover_search import BestPlan, CoverSearch, local_search, tabu
from .incidence import Incidence, mask, subtract_newly_covered

__all__ = [
    "cover_in_order",
    "cover_with_sites",
    "fewer_sites_cover",
    "greedy_set_cover",
    "improve_set_cover",
    "lagrangian_set_cover",
    "prune_set_cover",
]


def greedy_set_cover(inc: Incidence, cost: FloatArray) -> IntArray:
    """Chvátal's greedy: repeatedly pick the least cost per newly covered row.

    Every row must be coverable. Returns the picks in order (before pruning).
    """
    ones = np.ones(inc.n_rows)
    gains = inc.col_weight(ones)
    covered = np.zeros(inc.n_rows, dtype=bool)
    left = inc.n_rows
    chosen: list[int] = []
    while left > 0:
        with np.errstate(divide="ignore"):
            key = np.where(gains > 0.5, cost / np.maximum(gains, 1.0), np.inf)
        j = int(np.argmin(key))
        if not np.isfinite(key[j]):
            msg = "greedy set cover met a row that no column covers"
            raise RuntimeError(msg)
        chosen.append(j)
        rows = inc.rows_of(j)
        new = rows[~covered[rows]]
        covered[new] = True
        left -= new.size
        subtract_newly_covered(inc, gains, ones, new)
    return np.asarray(chosen, dtype=np.int64)


def cover_in_order(inc: Incidence, order: IntArray) -> IntArray:
    """Walk columns in ``order`` and keep each one that covers a row not yet covered."""
    first = np.full(inc.n_rows, inc.n_cols, dtype=np.int64)
    rank = np.empty(inc.n_cols, dtype=np.int64)
    rank[order] = np.arange(order.size)
    np.minimum.at(first, inc.col_rows, rank[inc.col_of])
    if np.any(first >= inc.n_cols):
        msg = "a row is covered by no column of the order"
        raise RuntimeError(msg)
    return order[np.unique(first)].astype(np.int64)


def improve_set_cover(
    inc: Incidence, cost: FloatArray, plan: IntArray, *, deadline: float = np.inf, max_passes: int = 10
) -> IntArray:
    """Two-for-one exchanges for set covering: replace two chosen columns by one cheaper column.

    For every pair of chosen columns, the rows only they cover must all lie in the replacing
    column; the cheapest such column is found from one bincount over those rows' entries.
    The first improving exchange is made and the pass restarts; pruning follows each exchange.
    """
    best = prune_set_cover(inc, cost, plan)
    tol = 1e-9 * max(float(cost[best].sum()), 1.0)
    for _ in range(max_passes):
        is_open = np.zeros(inc.n_cols, dtype=bool)
        is_open[best] = True
        count = inc.open_count(is_open)
        improved = False
        order = best[np.argsort(-cost[best], kind="stable")]
        for x in range(order.size):
            if time.perf_counter() > deadline:
                return best
            a = int(order[x])
            rows_a = inc.rows_of(a)
            for y in range(x + 1, order.size):
                b = int(order[y])
                rows_b = inc.rows_of(b)
                both = np.intersect1d(rows_a, rows_b, assume_unique=True)
                lost = np.concatenate(
                    [rows_a[count[rows_a] == 1], rows_b[count[rows_b] == 1], both[count[both] == 2]]
                )
                if lost.size == 0:
                    continue
                cols, _ = gather_rows(inc.row_ptr, inc.row_cols, lost)
                hits = np.bincount(cols, minlength=inc.n_cols)
                fits = np.flatnonzero((hits == lost.size) & ~is_open)
                if fits.size == 0:
                    continue
                j = int(fits[np.argmin(cost[fits])])
                if cost[j] < cost[a] + cost[b] - tol:
                    trial = np.concatenate([best[(best != a) & (best != b)], [j]])
                    best = prune_set_cover(inc, cost, trial)
                    improved = True
                    break
            if improved:
                break
        if not improved:
            break
    return best


def lagrangian_set_cover(
    inc: Incidence,
    cost: FloatArray,
    plan: IntArray,
    *,
    iterations: int,
    deadline: float = np.inf,
) -> tuple[IntArray, float]:
    """Lagrangian heuristic and bound for set covering (Beasley 1990).

    Relaxing the covering rows with multipliers ``u >= 0`` gives the lower bound
    ``L(u) = Σ_i u_i + Σ_j min(0, c_j - Σ_{i in j} u_i)``, raised by subgradient steps; at each
    step the columns taken in order of their Lagrangian cost form a cover, which is pruned and
    kept when cheaper. Returns the best cover and the best bound.
    """
    best_plan = plan
    best_value = float(cost[plan].sum())
    tol = 1e-9 * max(best_value, 1.0)
    ones = np.ones(inc.n_rows)
    col_size = inc.col_weight(ones)
    # start from each row's cheapest per-row price
    price = np.where(col_size > 0, cost / np.maximum(col_size, 1.0), np.inf)
    u = np.full(inc.n_rows, np.inf)
    np.minimum.at(u, inc.col_rows, price[inc.col_of])
    u = np.where(np.isfinite(u), u, 0.0)
    best_bound = -np.inf
    theta, stall = 2.0, 0
    for it in range(iterations):
        if time.perf_counter() > deadline:
            break
        rc = cost - inc.col_weight(u)
        chosen = rc < 0
        bound = float(u.sum() + rc[chosen].sum())
        if bound > best_bound + tol:
            best_bound, stall = bound, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        if best_value - best_bound < tol or theta < 1e-4:
            break
        if it % 3 == 0:
            order = np.lexsort((cost, rc))
            trial = prune_set_cover(inc, cost, cover_in_order(inc, order))
            value = float(cost[trial].sum())
            if value < best_value - tol:
                best_plan, best_value = trial, value
        covered = np.bincount(inc.col_rows[chosen[inc.col_of]], minlength=inc.n_rows)
        g = 1.0 - covered
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0:
            break
        u = np.maximum(u + theta * (1.05 * best_value - bound) / norm * g, 0.0)
    return best_plan, best_bound


def prune_set_cover(inc: Incidence, cost: FloatArray, chosen: IntArray) -> IntArray:
    """Drop chosen columns, dearest first, whose rows all stay covered without them."""
    is_open = np.zeros(inc.n_cols, dtype=bool)
    is_open[chosen] = True
    count = inc.open_count(is_open)
    keep = np.ones(chosen.size, dtype=bool)
    for pos in np.argsort(-cost[chosen], kind="stable"):
        rows = inc.rows_of(int(chosen[pos]))
        if np.all(count[rows] >= 2):
            count[rows] -= 1
            keep[pos] = False
    return chosen[keep]


def fewer_sites_cover(
    inc: Incidence, plan: IntArray, *, floor: int, deadline: float = np.inf
) -> tuple[IntArray, BoolArray]:
    """With equal costs, covers of every row by fewer sites, one site less at a time.

    Drops the site of ``plan`` that alone covers the least and looks for a cover by the rest's
    number of sites with :func:`cover_with_sites`; repeats while one is found and the size stays
    above ``floor`` (a lower bound on the number of sites) and ``deadline`` has not passed.
    Every row must be covered by ``plan``. Returns the smallest cover found and the rows the
    plans one site smaller missed (where a proof that no smaller cover exists has to look).
    """
    ones = np.ones(inc.n_rows)
    best = np.asarray(plan, dtype=np.int64)
    missed = np.zeros(inc.n_rows, dtype=bool)
    while best.size - 1 >= max(floor, 1) and time.perf_counter() <= deadline:
        alone = CoverSearch(inc, ones, best, slots=best.size).loss[best]
        trial, missed = cover_with_sites(inc, np.delete(best, int(np.argmin(alone))), deadline=deadline)
        if trial is None:
            break
        best = trial
        missed = np.zeros(inc.n_rows, dtype=bool)
    return best, missed


def cover_with_sites(
    inc: Incidence,
    start: IntArray,
    *,
    rounds: int = 60,
    steps: int = 20,
    patience: int = 10,
    deadline: float = np.inf,
) -> tuple[IntArray | None, BoolArray]:
    """A plan with as many sites as ``start`` covering every row (None when none is found).

    Maximal covering with row weights that grow on the rows a round leaves uncovered (the
    weighting scheme of local search for unicost set covering): each round is swaps and a short
    tabu search from the previous round's best plan under the current weights, so rows that stay
    uncovered pull the plan towards them. At most ``rounds`` rounds, none begun after
    ``deadline``. Also returns which rows some round left uncovered: the rows that plans of this
    size find hard to cover together.
    """
    p = int(start.size)
    w = np.ones(inc.n_rows)
    missed = np.zeros(inc.n_rows, dtype=bool)
    plan = np.asarray(start, dtype=np.int64)
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        search = CoverSearch(inc, w, plan, slots=p)
        local_search(search, p=p, cost=None, budget=None, deadline=np.inf, max_moves=500 + inc.n_cols)
        best = BestPlan(search, p=p, cost=None, budget=None)
        if best.value < search.total:
            tabu(search, best, p, iterations=steps, patience=patience, deadline=np.inf)
        plan = best.sites
        left = inc.open_count(mask(inc.n_cols, plan)) == 0
        if not left.any():
            return plan, missed
        missed |= left
        w[left] += 1.0
    return None, missed
