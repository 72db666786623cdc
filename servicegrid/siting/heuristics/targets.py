"""Heuristics for per-group coverage targets (upgrade-or-build).

:func:`greedy_target` picks the least cost per unit of still-needed weight (each group's gain
capped at what it still needs), with or without a budget; :func:`improve_target` is
drop-and-repair local search and :func:`prune_target` drops sites no group needs.
"""

from __future__ import annotations

import time

import numpy as np

from ..reduce import gather_positions
from ..result import BoolArray, FloatArray, IntArray
from .incidence import Incidence, ratio

__all__ = ["greedy_target", "improve_target", "prune_target"]


def greedy_target(
    inc: Incidence,
    w: FloatArray,
    group: IntArray,
    need: FloatArray,
    cost: FloatArray,
    *,
    budget: float | None = None,
    start: IntArray | None = None,
    banned: BoolArray | None = None,
) -> IntArray:
    """Greedy for per-group coverage targets: least cost per unit of still-needed weight.

    A site's gain is the weight it newly covers in each group, capped at what that group still
    needs, summed over groups. Without a budget it runs until every group meets its need; with
    one it stops when nothing affordable gains. ``start`` sites are open from the outset (and
    returned first); ``banned`` sites are never picked. Returns the sites in order.
    """
    m = inc.n_cols
    n_groups = need.size
    need = need.astype(np.float64).copy()
    tol = 1e-9 * max(float(w.sum()), 1.0)
    # (site, group) pairs present in the matrix, and the pair of every stored entry
    key_csc = inc.col_of * n_groups + group[inc.col_rows]
    pair_keys, pair_of_csc = np.unique(key_csc, return_inverse=True)
    pair_col = pair_keys // n_groups
    pair_group = pair_keys % n_groups
    row_of_csr = np.repeat(np.arange(inc.n_rows), np.diff(inc.row_ptr))
    pair_of_csr = np.searchsorted(pair_keys, inc.row_cols * n_groups + group[row_of_csr])
    covered = np.zeros(inc.n_rows, dtype=bool)
    alive = np.ones(m, dtype=bool) if banned is None else ~banned
    chosen: list[int] = []
    spent = 0.0
    if start is not None and start.size:
        is_start = np.zeros(m, dtype=bool)
        is_start[start] = True
        covered = np.bincount(inc.col_rows[is_start[inc.col_of]], minlength=inc.n_rows) > 0
        need -= np.bincount(group[covered], weights=w[covered], minlength=n_groups)
        alive &= ~is_start
        chosen.extend(int(j) for j in start)
        spent = float(cost[start].sum())
    open_weight = np.bincount(
        pair_of_csc, weights=np.where(covered, 0.0, w)[inc.col_rows], minlength=pair_keys.size
    )
    while (need > tol).any():
        if budget is not None:
            alive &= cost <= budget - spent + 1e-9 * max(budget, 1.0)
        gains = np.bincount(
            pair_col, weights=np.minimum(open_weight, np.maximum(need[pair_group], 0.0)), minlength=m
        )
        key = np.where(alive & (gains > tol), ratio(gains, cost), -np.inf)
        j = int(np.argmax(key))
        if not key[j] > -np.inf:
            break
        chosen.append(j)
        alive[j] = False
        spent += float(cost[j])
        rows = inc.rows_of(j)
        new = rows[~covered[rows]]
        covered[new] = True
        need -= np.bincount(group[new], weights=w[new], minlength=n_groups)
        pos, owner = gather_positions(inc.row_ptr, new)
        open_weight -= np.bincount(pair_of_csr[pos], weights=w[new][owner], minlength=pair_keys.size)
    return np.asarray(chosen, dtype=np.int64)


def improve_target(
    inc: Incidence,
    w: FloatArray,
    group: IntArray,
    need: FloatArray,
    cost: FloatArray,
    plan: IntArray,
    *,
    deadline: float = np.inf,
    max_rounds: int = 20,
) -> IntArray:
    """Drop-and-repair local search for the target model: cheaper plans meeting every need.

    For each site of the plan, dearest first, close it, ban it, reopen greedily what the groups
    then miss and prune; the first such plan that costs less replaces the plan. Stops when a full
    pass finds nothing cheaper.
    """
    best = prune_target(inc, w, group, need, cost, plan)
    best_cost = float(cost[best].sum())
    tol = 1e-9 * max(best_cost, 1.0)
    for _ in range(max_rounds):
        improved = False
        for j in best[np.argsort(-cost[best], kind="stable")]:
            if time.perf_counter() > deadline:
                return best
            banned = np.zeros(inc.n_cols, dtype=bool)
            banned[j] = True
            rest = best[best != j]
            trial = greedy_target(inc, w, group, need, cost, start=rest, banned=banned)
            if not _meets(inc, w, group, need, trial):
                continue
            trial = prune_target(inc, w, group, need, cost, trial)
            if float(cost[trial].sum()) < best_cost - tol:
                best, best_cost, improved = trial, float(cost[trial].sum()), True
                break
        if not improved:
            break
    return best


def _meets(inc: Incidence, w: FloatArray, group: IntArray, need: FloatArray, plan: IntArray) -> bool:
    is_open = np.zeros(inc.n_cols, dtype=bool)
    is_open[plan] = True
    hit = inc.open_count(is_open) > 0
    got = np.bincount(group[hit], weights=w[hit], minlength=need.size)
    return bool(np.all(got >= need - 1e-9 * max(float(w.sum()), 1.0)))


def prune_target(
    inc: Incidence,
    w: FloatArray,
    group: IntArray,
    need: FloatArray,
    cost: FloatArray,
    chosen: IntArray,
) -> IntArray:
    """Drop chosen sites, dearest first, while every group still meets its need without them."""
    n_groups = need.size
    is_open = np.zeros(inc.n_cols, dtype=bool)
    is_open[chosen] = True
    count = inc.open_count(is_open)
    covered_w = np.bincount(group[count > 0], weights=w[count > 0], minlength=n_groups)
    tol = 1e-9 * max(float(w.sum()), 1.0)
    keep = np.ones(chosen.size, dtype=bool)
    for pos in np.argsort(-cost[chosen], kind="stable"):
        rows = inc.rows_of(int(chosen[pos]))
        lost = rows[count[rows] == 1]
        loss = np.bincount(group[lost], weights=w[lost], minlength=n_groups)
        if np.all(covered_w - loss >= need - tol):
            count[rows] -= 1
            covered_w -= loss
            keep[pos] = False
    return chosen[keep]
