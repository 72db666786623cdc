"""Heuristics and bounds for maximal covering: greedy, local search, tabu, Lagrangian.

:func:`max_cover_heuristic` is the first plan of :func:`~servicegrid.siting.max_cover.max_cover`
(greedy with a swap after each pick, local search, a short tabu search) with its bound;
:func:`improve_max_cover` is the local search from any plan (used on rounded LP optima) and
:func:`lagrangian_max_cover` the Lagrangian relaxation's bound and plans.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..result import FloatArray, IntArray
from .cover_search import BestPlan, CoverSearch, local_search, tabu
from .incidence import Incidence, ratio, subtract_newly_covered

__all__ = [
    "CoverPlan",
    "greedy_max_cover",
    "improve_max_cover",
    "lagrangian_max_cover",
    "max_cover_heuristic",
]

logger = logging.getLogger(__name__)


def greedy_max_cover(
    inc: Incidence,
    w: FloatArray,
    *,
    p: int | None,
    cost: FloatArray | None = None,
    budget: float | None = None,
) -> IntArray:
    """Greedy maximal covering: pick the largest marginal gain (per unit cost under a budget).

    Under a budget the better of the ratio-greedy plan and the best single affordable site is
    returned (the classic guarantee needs both). Returns the picks in order.
    """
    m = inc.n_cols
    tol = 1e-12 * max(float(w.sum()), 1.0)
    gains = inc.col_weight(w)
    base_gains = gains.copy()
    covered = np.zeros(inc.n_rows, dtype=bool)
    alive = np.ones(m, dtype=bool)
    chosen: list[int] = []
    value = 0.0
    spent = 0.0
    while p is None or len(chosen) < p:
        if budget is not None and cost is not None:
            alive &= cost <= budget - spent + 1e-9 * max(budget, 1.0)
        key = gains if budget is None or cost is None else ratio(gains, cost)
        key = np.where(alive & (gains > tol), key, -np.inf)
        j = int(np.argmax(key))
        if key[j] == -np.inf:
            break
        chosen.append(j)
        alive[j] = False
        value += gains[j]
        if cost is not None:
            spent += float(cost[j])
        rows = inc.rows_of(j)
        new = rows[~covered[rows]]
        covered[new] = True
        subtract_newly_covered(inc, gains, w, new)
    picks = np.asarray(chosen, dtype=np.int64)
    if budget is not None and cost is not None:
        affordable = np.flatnonzero(cost <= budget * (1 + 1e-12))
        if affordable.size:
            single = affordable[np.argmax(base_gains[affordable])]
            if base_gains[single] > value + tol:
                picks = np.array([single], dtype=np.int64)
    return picks


def improve_max_cover(
    inc: Incidence,
    w: FloatArray,
    chosen: IntArray,
    *,
    p: int | None,
    cost: FloatArray | None = None,
    budget: float | None = None,
    deadline: float = np.inf,
    max_moves: int = 500,
) -> IntArray:
    """Best-improvement local search for maximal covering: additions, then 1-swaps.

    Every (open k, closed j) swap is scored at once: the weight only ``j`` would newly cover,
    minus the weight only ``k`` covers, plus the weight only ``k`` covers that ``j`` also covers.
    Swaps must keep the number of sites and the budget. Stops when no move gains.
    """
    search = CoverSearch(inc, w, chosen, slots=(p if p is not None else max(chosen.size, 1) * 2))
    local_search(search, p=p, cost=cost, budget=budget, deadline=deadline, max_moves=max_moves)
    return search.sites()


@dataclass(frozen=True)
class CoverPlan:
    """A maximal-covering plan from the heuristic: its sites, covered weight and an upper bound."""

    sites: IntArray
    value: float
    bound: float


def max_cover_heuristic(
    inc: Incidence,
    w: FloatArray,
    *,
    p: int | None,
    cost: FloatArray | None = None,
    budget: float | None = None,
    deadline: float = np.inf,
    tabu_steps: int = 45,
    patience: int = 24,
) -> CoverPlan:
    """Greedy, then 1-swap local search, then (for a site count alone) a short tabu search.

    With a site count alone the greedy makes the best improving swap after each pick (a light
    form of greedy adding with substitution, which lands in better local optima than plain
    greedy at the cost of about one move per pick); under a budget it is the ratio greedy of
    :func:`greedy_max_cover`. The bound is the one :class:`BestPlan` keeps for the plan returned.
    Every step is a fixed number of moves, so the plan does not depend on the machine's speed
    unless ``deadline`` cuts the search short — and then only the improvement: the greedy plan
    (``p`` sites when ``p`` are asked and each still covers more) is always complete.
    """
    if budget is None or cost is None:
        search = CoverSearch(inc, w, np.zeros(0, dtype=np.int64), slots=p if p is not None else 1)
        if p is not None:
            tol = 1e-9 * max(search.total, 1.0)
            for _ in range(p):
                # the first answer is always whole: the clock stops only the improvement below
                if local_search(search, p=p, cost=None, budget=None, deadline=np.inf, max_moves=1) == 0:
                    break  # nothing left to cover
                if search.n_open > 1:
                    _swap_step(search, tol)
    else:
        plan = greedy_max_cover(inc, w, p=p, cost=cost, budget=budget)
        search = CoverSearch(inc, w, plan, slots=p if p is not None else max(plan.size, 1) * 2)
    local_search(search, p=p, cost=cost, budget=budget, deadline=deadline, max_moves=500 + inc.n_cols)
    best = BestPlan(search, p=p, cost=cost, budget=budget)
    if p is not None and budget is None and tabu_steps > 0:
        tabu(search, best, p, iterations=tabu_steps, patience=patience, deadline=deadline)
    logger.debug(
        "max-cover heuristic: %d moves, value %.6g, bound %.6g", search.moves, best.value, best.bound
    )
    return CoverPlan(best.sites, best.value, best.bound)


def _swap_step(search: CoverSearch, tol: float) -> bool:
    """Make the best swap when it gains more than ``tol``; say whether one was made."""
    profit = search.profit()
    s, j = divmod(int(np.argmax(profit)), search.inc.n_cols)
    if not profit[s, j] > tol:
        return False
    search.swap(int(search.site_of[s]), j)
    return True


def lagrangian_max_cover(
    inc: Incidence,
    w: FloatArray,
    chosen: IntArray,
    p: int,
    *,
    iterations: int,
    deadline: float = np.inf,
) -> tuple[IntArray, float, FloatArray]:
    """Lagrangian heuristic and bound for maximal covering with ``p`` sites.

    Relaxing ``z_i <= Σ_j a_ij y_j`` with multipliers ``0 <= μ_i <= w_i`` gives the upper bound
    ``L(μ) = Σ_i (w_i - μ_i) + (sum of the p largest Σ_i a_ij μ_i)``, minimised by subgradient
    steps (Galvão and ReVelle 1996). The p sites of each subproblem are a plan; new promising
    ones are improved by local search. Returns the best plan, the best bound and its multipliers.
    """
    search = CoverSearch(inc, w, chosen, slots=p)
    local_search(search, p=p, cost=None, budget=None, deadline=deadline, max_moves=200)
    best_plan, best_value = search.sites(), search.value
    tol = 1e-9 * max(float(w.sum()), 1.0)
    at = inc.to_csc().T.tocsr()
    mu = np.where(search.count == 1, w, np.where(search.count == 0, 0.0, 0.5 * w))
    best_bound, best_mu = np.inf, mu.copy()
    theta, stall = 1.0, 0
    seen: set[bytes] = {np.sort(best_plan).tobytes()}
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        score = at @ mu
        top = np.argpartition(-score, p - 1)[:p] if p < score.size else np.arange(score.size)
        bound = float((w - mu).sum() + score[top].sum())
        if bound < best_bound - tol:
            best_bound, best_mu, stall = bound, mu.copy(), 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if best_bound <= best_value + tol or theta < 1e-4:
            break
        cnt = np.bincount(inc.col_rows[np.isin(inc.col_of, top)], minlength=inc.n_rows)
        value = float(w[cnt > 0].sum())
        key = np.sort(top).tobytes()
        if value >= best_value * 0.97 and key not in seen:
            seen.add(key)
            trial = CoverSearch(inc, w, top, slots=p)
            local_search(trial, p=p, cost=None, budget=None, deadline=deadline, max_moves=200)
            if trial.value > best_value + tol:
                best_plan, best_value = trial.sites(), trial.value
        g = cnt - (mu < w)
        norm = float(g @ g)
        if norm == 0:
            break
        mu = np.clip(mu - theta * (bound - best_value) / norm * g, 0.0, w)
    return best_plan, best_bound, best_mu
