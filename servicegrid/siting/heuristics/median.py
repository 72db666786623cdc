"""Heuristics and bounds for p-median: greedy, vertex substitution, Lagrangian with fixing.

Problems come as an :class:`Assignment` (the allowed demand–site pairs with their weighted
costs and each row's fallback). Greedy and best-improvement vertex substitution scored for all
swaps at once (Resende and Werneck's decomposition) give the plan; the Lagrangian relaxation of
'every row is served once' gives the bound and fixes sites and pairs that no better plan uses.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..result import BoolArray, FloatArray, IntArray
from .incidence import mask

__all__ = [
    "Assignment",
    "LagrangianResult",
    "greedy_median",
    "interchange_median",
    "lagrangian_median",
    "median_build_order",
    "median_cost",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    """The allowed demand–site pairs of a p-median problem, row-wise, with weighted costs.

    ``cost[k]`` is the weighted distance of pair ``k`` (row ``row[k]``, site ``col[k]``);
    ``fallback[i]`` is what row ``i`` costs when no chosen site serves it (its nearest fixed
    site, or the unserved penalty; ``inf`` when it must be served by a chosen site).
    """

    n_rows: int
    n_cols: int
    ptr: IntArray
    row: IntArray
    col: IntArray
    cost: FloatArray
    fallback: FloatArray

    @property
    def col_order(self) -> IntArray:
        """Pair positions sorted by site (stable), to walk the pairs of one site."""
        return np.argsort(self.col, kind="stable")


def median_cost(asg: Assignment, is_open: BoolArray, big: FloatArray) -> tuple[FloatArray, IntArray]:
    """Each row's cost to its nearest open site (or fallback, or ``big`` when none), and that pair.

    Returns ``(d1, pair)`` with ``pair[i] = -1`` when the fallback (or nothing) serves row ``i``.
    """
    masked = np.where(is_open[asg.col], asg.cost, np.inf)
    starts = asg.ptr[:-1]
    nonempty = asg.ptr[1:] > starts
    best = np.full(asg.n_rows, np.inf)
    if masked.size:
        best[nonempty] = np.minimum.reduceat(masked, starts[nonempty])
    floor = np.minimum(asg.fallback, big)
    d1 = np.minimum(best, floor)
    hit = (masked == d1[asg.row]) & np.isfinite(masked) & (masked < floor[asg.row])
    pos = np.flatnonzero(hit)
    pair = np.full(asg.n_rows, -1, dtype=np.int64)
    if pos.size:
        rows = asg.row[pos]
        first = np.ones(pos.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        pair[rows[first]] = pos[first]
    return d1, pair


def _second_cost(asg: Assignment, is_open: BoolArray, pair: IntArray, big: FloatArray) -> FloatArray:
    masked = np.where(is_open[asg.col], asg.cost, np.inf)
    served = pair >= 0
    masked[pair[served]] = np.inf
    starts = asg.ptr[:-1]
    nonempty = asg.ptr[1:] > starts
    second = np.full(asg.n_rows, np.inf)
    if masked.size:
        second[nonempty] = np.minimum.reduceat(masked, starts[nonempty])
    return np.minimum(second, np.minimum(asg.fallback, big))


def greedy_median(asg: Assignment, p: int, big: FloatArray) -> IntArray:
    """Greedy p-median: open, p times, the site that lowers the total cost most.

    Rows with no fallback count at ``big`` until served, so coverage comes first.
    """
    m = asg.n_cols
    d1 = np.minimum(asg.fallback, big).astype(np.float64)
    by_col = asg.col_order
    col_ptr = np.concatenate([[0], np.cumsum(np.bincount(asg.col, minlength=m))])
    is_open = np.zeros(m, dtype=bool)
    chosen: list[int] = []
    for _ in range(p):
        gains = np.bincount(asg.col, weights=np.maximum(d1[asg.row] - asg.cost, 0.0), minlength=m)
        gains[is_open] = -1.0
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        chosen.append(j)
        is_open[j] = True
        seg = by_col[col_ptr[j] : col_ptr[j + 1]]
        np.minimum.at(d1, asg.row[seg], asg.cost[seg])
    return np.asarray(chosen, dtype=np.int64)


def interchange_median(
    asg: Assignment,
    chosen: IntArray,
    p: int,
    big: FloatArray,
    *,
    deadline: float = np.inf,
    max_moves: int = 1000,
) -> IntArray:
    """Best-improvement vertex substitution (Teitz–Bart) scored for all swaps at once.

    For an open ``k`` and closed ``j``, the saving of swapping is ``gain[j] - loss[k] +
    extra[k, j]``: what opening ``j`` saves everyone, minus what closing ``k`` costs its clients
    (moving to their second-nearest), plus the part of that loss ``j`` itself recovers
    (Resende and Werneck's decomposition). Additions are tried while fewer than ``p`` are open.
    """
    m = asg.n_cols
    is_open = np.zeros(m, dtype=bool)
    is_open[chosen] = True
    order = list(int(j) for j in chosen)
    tol = 1e-9 * max(float(np.minimum(asg.fallback, big).sum()), 1.0)
    for _ in range(max_moves):
        if time.perf_counter() > deadline:
            break
        d1, pair = median_cost(asg, is_open, big)
        saving = np.maximum(d1[asg.row] - asg.cost, 0.0)
        gain = np.bincount(asg.col, weights=saving, minlength=m)
        gain[is_open] = -np.inf
        if len(order) < p:
            j = int(np.argmax(gain))
            if gain[j] > tol:
                is_open[j] = True
                order.append(j)
                continue
        opened = np.flatnonzero(is_open)
        if opened.size == 0:
            break
        d2 = _second_cost(asg, is_open, pair, big)
        served = pair >= 0
        owner = np.full(asg.n_rows, -1, dtype=np.int64)
        owner[served] = asg.col[pair[served]]
        slot = np.full(m, -1, dtype=np.int64)
        slot[opened] = np.arange(opened.size)
        loss = np.bincount(slot[owner[served]], weights=(d2 - d1)[served], minlength=opened.size)
        own = owner[asg.row]
        sel = (own >= 0) & (asg.cost < d2[asg.row])
        vals = d2[asg.row[sel]] - np.maximum(asg.cost[sel], d1[asg.row[sel]])
        extra = np.bincount(
            slot[own[sel]] * m + asg.col[sel], weights=vals, minlength=opened.size * m
        ).reshape(opened.size, m)
        profit = gain[None, :] - loss[:, None] + extra
        flat = int(np.argmax(profit))
        k_slot, j = divmod(flat, m)
        if not profit[k_slot, j] > tol:
            break
        k = int(opened[k_slot])
        is_open[k] = False
        is_open[j] = True
        order[order.index(k)] = j
    return np.asarray(order, dtype=np.int64)


@dataclass(frozen=True)
class LagrangianResult:
    """The best Lagrangian bound of a p-median problem and what it proves.

    ``closed``/``opened`` are sites that no plan better than ``upper`` (by more than the margin)
    may open/close; ``keep`` marks the pairs such a plan may still use. ``upper`` and ``plan`` are
    the best plan seen (possibly improved from the one given).
    """

    bound: float
    upper: float
    plan: IntArray
    closed: BoolArray
    opened: BoolArray
    keep: BoolArray
    iterations: int


def lagrangian_median(
    asg: Assignment,
    p: int,
    upper: float,
    plan: IntArray,
    *,
    margin: float,
    deadline: float,
    max_iter: int = 600,
) -> LagrangianResult:
    """Subgradient optimisation of the Lagrangian relaxing 'every row is served once'.

    For multipliers ``λ``, ``L(λ) = Σλᵢ + Σᵢ min(0, fᵢ - λᵢ) + (sum of the p most negative
    ρⱼ)`` with ``ρⱼ = Σᵢ min(0, cᵢⱼ - λᵢ)``; every ``L(λ)`` is a lower bound (Beasley 1993). At the
    best multipliers, forcing a site open or closed, or a pair in, raises the bound by an amount
    read off ``ρ``; when that passes ``upper - margin`` the site or pair is fixed. The subproblem's
    open sites are priced as plans on the way, which can lower ``upper``.
    """
    n, m = asg.n_rows, asg.n_cols
    big = np.full(n, np.inf)
    finite_fallback = np.isfinite(asg.fallback)
    d1, _ = median_cost(asg, mask(m, plan), big)
    lam = np.where(np.isfinite(d1), d1, asg.cost.max(initial=0.0)).astype(np.float64)
    best_lam = lam.copy()
    best = -np.inf
    theta = 2.0
    stall = 0
    best_plan = plan.copy()
    it = 0
    tol = 1e-7 * max(1.0, abs(upper))
    for it in range(1, max_iter + 1):
        if time.perf_counter() > deadline:
            break
        rc = asg.cost - lam[asg.row]
        rho = np.bincount(asg.col, weights=np.minimum(rc, 0.0), minlength=m)
        sub = _p_smallest_negative(rho, p)
        value = float(lam.sum() + np.minimum(asg.fallback - lam, 0.0)[finite_fallback].sum() + rho[sub].sum())
        if value > best + tol:
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= 30:
                theta, stall = theta / 2, 0
        if best >= upper - margin + tol or theta < 1e-3:
            break
        if it % 10 == 1 and sub.size:
            d_sub, _ = median_cost(asg, mask(m, sub), big)
            total = float(d_sub.sum())
            if total < upper - tol:
                upper, best_plan = total, sub.copy()
        in_sub = mask(m, sub)
        served = np.bincount(asg.row[in_sub[asg.col] & (rc < 0)], minlength=n)
        g = 1.0 - served - (finite_fallback & (asg.fallback < lam))
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (upper - value) / norm * g
    closed, opened, keep = _lagrangian_fixing(asg, p, best_lam, best, upper, margin)
    logger.debug("Lagrangian p-median: bound %.6g, upper %.6g after %d iterations", best, upper, it)
    return LagrangianResult(best, upper, best_plan, closed, opened, keep, it)


def _p_smallest_negative(rho: FloatArray, p: int) -> IntArray:
    if p <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(p, rho.size)
    part = np.argpartition(rho, k - 1)[:k] if k < rho.size else np.arange(rho.size)
    return part[rho[part] < 0].astype(np.int64)


def _lagrangian_fixing(
    asg: Assignment, p: int, lam: FloatArray, value: float, upper: float, margin: float
) -> tuple[BoolArray, BoolArray, BoolArray]:
    m = asg.n_cols
    if not np.isfinite(value) or not np.isfinite(upper):
        return np.zeros(m, bool), np.zeros(m, bool), np.ones(asg.cost.size, bool)
    rc = asg.cost - lam[asg.row]
    rho = np.bincount(asg.col, weights=np.minimum(rc, 0.0), minlength=m)
    sub = _p_smallest_negative(rho, p)
    in_sub = mask(m, sub)
    srt = np.sort(rho)
    rho_p = min(srt[p - 1], 0.0) if p - 1 < m else 0.0
    rho_next = min(srt[p], 0.0) if p < m else 0.0
    cutoff = upper - margin + 1e-7 * max(1.0, abs(upper))
    open_bound = np.where(in_sub, value, value + rho - rho_p)
    closed = ~in_sub & (open_bound > cutoff)
    opened = in_sub & (value - rho + rho_next > cutoff)
    keep = open_bound[asg.col] + np.maximum(rc, 0.0) <= cutoff
    keep &= ~closed[asg.col]
    return closed, opened, keep


def median_build_order(asg: Assignment, chosen: IntArray, big: FloatArray) -> tuple[IntArray, FloatArray]:
    """Order chosen sites by the cost each next one saves (rows unserved count at ``big``)."""
    m = asg.n_cols
    d1 = np.minimum(asg.fallback, big).astype(np.float64)
    left = np.zeros(m, dtype=bool)
    left[chosen] = True
    in_chosen = left[asg.col]
    rows, cols, cost = asg.row[in_chosen], asg.col[in_chosen], asg.cost[in_chosen]
    order: list[int] = []
    saved: list[float] = []
    for _ in range(int(chosen.size)):
        gains = np.bincount(cols, weights=np.maximum(d1[rows] - cost, 0.0), minlength=m)
        j = int(np.argmax(np.where(left, gains, -np.inf)))
        order.append(j)
        saved.append(float(gains[j]))
        left[j] = False
        at = cols == j
        np.minimum.at(d1, rows[at], cost[at])
    return np.asarray(order, dtype=np.int64), np.asarray(saved, dtype=np.float64)
