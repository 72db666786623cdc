"""Fast siting heuristics and bounds: greedy, swap search, tabu, Lagrangian relaxations.

These give the first plan in milliseconds, the MIP start for HiGHS, and the answer (with a valid
bound) when an instance is too large to prove. Every step is numpy over the stored entries of a
sparse matrix; loops run over picks and moves, never over rows or pairs.

- Greedy keeps every site's marginal gain exact: after each pick it subtracts the weight of the
  rows that pick newly covered (one bincount over those rows' entries). That is the work a lazy
  greedy's priority queue of stale gains saves, done for all sites at once, so no queue is kept.
- Swap search (maximal covering) keeps an incremental state: every row books its weight to the
  'gain' row of a table while uncovered, to its site's row while covered once, so that the
  table holds what each site would add and, per open site, the weight only it covers that each
  other site also covers. All (open, closed) swaps are scored at once, and a move re-books only
  the rows whose booking changes (one scatter over their entries). Greedy makes the best swap
  after each pick; a short tabu search then walks out of 1-swap local optima.
- Set covering with equal costs (fewest sites) also searches for covers one site smaller as
  maximal covering with growing row weights (the weighting scheme of unicost set-covering local
  search), which finds covers that greedy, pruning and exchanges miss.
- p-median uses greedy plus vertex substitution scored for all swaps at once (Resende and
  Werneck's decomposition) and a Lagrangian relaxation whose bound fixes sites and pairs.
- Lagrangian relaxations of maximal covering and set covering give bounds near the LP bound in
  milliseconds and their subproblem solutions as further plans.

Covering problems come as an ``Incidence`` (both CSC and CSR structure of a 0/1 matrix);
p-median problems as ``Assignment`` (the allowed demand–site pairs with their weighted costs).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from ..reduce import gather_positions, gather_rows

__all__ = [
    "Assignment",
    "CoverPlan",
    "Incidence",
    "LagrangianResult",
    "cover_build_order",
    "cover_in_order",
    "cover_with_sites",
    "fewer_sites_cover",
    "greedy_max_cover",
    "greedy_median",
    "greedy_set_cover",
    "greedy_target",
    "improve_max_cover",
    "improve_set_cover",
    "improve_target",
    "interchange_median",
    "lagrangian_max_cover",
    "lagrangian_median",
    "lagrangian_set_cover",
    "max_cover_heuristic",
    "median_build_order",
    "median_cost",
    "prune_set_cover",
    "prune_target",
]

logger = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


# ---------------------------------------------------------------------------------------------
# covering problems


@dataclass(frozen=True)
class Incidence:
    """The 0/1 structure of a demand × site matrix, kept both column- and row-wise."""

    n_rows: int
    n_cols: int
    col_ptr: IntArray
    col_rows: IntArray
    row_ptr: IntArray
    row_cols: IntArray

    @classmethod
    def from_sparse(cls, a: sparse.sparray | sparse.spmatrix) -> Incidence:
        """Index a 0/1 sparse matrix (stored entries count as ones)."""
        csc = sparse.csc_array(a)
        csc.sum_duplicates()
        csc.sort_indices()
        csr = csc.tocsr()
        csr.sort_indices()
        n, m = csc.shape
        col_ptr = csc.indptr.astype(np.int64)
        return cls(
            n_rows=int(n),
            n_cols=int(m),
            col_ptr=col_ptr,
            col_rows=csc.indices.astype(np.int64),
            row_ptr=csr.indptr.astype(np.int64),
            row_cols=csr.indices.astype(np.int64),
        )

    def to_csc(self) -> sparse.csc_array:
        """The matrix as a float CSC array of ones."""
        return sparse.csc_array(
            (np.ones(self.col_rows.size), self.col_rows, self.col_ptr),
            shape=(self.n_rows, self.n_cols),
        )

    @cached_property
    def col_of(self) -> IntArray:
        """The column of each stored entry, in column order (built once)."""
        return np.repeat(np.arange(self.n_cols, dtype=np.int64), np.diff(self.col_ptr))

    @cached_property
    def transpose(self) -> sparse.csr_array:
        """The transposed matrix (site × demand) as a float CSR array of ones, built once."""
        return sparse.csr_array(
            (np.ones(self.col_rows.size), self.col_rows, self.col_ptr), shape=(self.n_cols, self.n_rows)
        )

    def col_weight(self, w: FloatArray) -> FloatArray:
        """Sum of ``w`` over the rows of each column."""
        return np.asarray(self.transpose @ np.asarray(w, dtype=np.float64), dtype=np.float64)

    def rows_of(self, j: int) -> IntArray:
        """The rows column ``j`` covers."""
        return self.col_rows[self.col_ptr[j] : self.col_ptr[j + 1]]

    def open_count(self, is_open: BoolArray) -> IntArray:
        """For each row, how many open columns cover it (work: the open columns' entries)."""
        pos, _ = gather_positions(self.col_ptr, np.flatnonzero(is_open))
        return np.bincount(self.col_rows[pos], minlength=self.n_rows).astype(np.int64)

    def open_index_sum(self, is_open: BoolArray) -> IntArray:
        """For each row, the sum of the indices of the open columns covering it."""
        cols = np.flatnonzero(is_open)
        pos, owner = gather_positions(self.col_ptr, cols)
        return np.bincount(
            self.col_rows[pos], weights=cols[owner].astype(np.float64), minlength=self.n_rows
        ).astype(np.int64)


def _subtract_newly_covered(inc: Incidence, gains: FloatArray, w: FloatArray, new_rows: IntArray) -> None:
    cols, owner = gather_rows(inc.row_ptr, inc.row_cols, new_rows)
    gains -= np.bincount(cols, weights=w[new_rows][owner], minlength=inc.n_cols)


def _ratio(gains: FloatArray, cost: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(cost > 0, gains / np.where(cost > 0, cost, 1.0), np.inf)
    return np.where(gains > 0, r, 0.0)


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
        key = gains if budget is None or cost is None else _ratio(gains, cost)
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
        _subtract_newly_covered(inc, gains, w, new)
    picks = np.asarray(chosen, dtype=np.int64)
    if budget is not None and cost is not None:
        affordable = np.flatnonzero(cost <= budget * (1 + 1e-12))
        if affordable.size:
            single = affordable[np.argmax(base_gains[affordable])]
            if base_gains[single] > value + tol:
                picks = np.array([single], dtype=np.int64)
    return picks


def _online_bound(
    value: float,
    gains: FloatArray,
    total: float,
    *,
    p: int | None,
    cost: FloatArray | None,
    budget: float | None,
) -> float:
    """An upper bound on the most weight any plan covers, from one plan's ``value`` and the
    marginal ``gains`` of the sites it leaves closed.

    Coverage is submodular, so the optimum is at most the plan's value plus the best marginal
    gains: the ``p`` largest, or under a budget the fractional knapsack of gains against costs
    (the tighter of the two when both apply); never more than ``total``.
    """
    bounds = [total]
    if p is not None:
        k = min(p, gains.size)
        top = np.partition(gains, gains.size - k)[gains.size - k :] if k > 0 else gains[:0]
        bounds.append(value + float(top.sum()))
    if budget is not None and cost is not None:
        free = (cost <= 0) & (gains > 0)
        extra = float(gains[free].sum())
        paid = np.flatnonzero(~free & (gains > 0))
        order = paid[np.argsort(-(gains[paid] / cost[paid]), kind="stable")]
        csum = np.cumsum(cost[order])
        full = csum <= budget
        extra += float(gains[order[full]].sum())
        k = int(full.sum())
        if k < order.size:
            left = budget - (float(csum[k - 1]) if k > 0 else 0.0)
            extra += gains[order[k]] * max(left, 0.0) / cost[order[k]]
        bounds.append(value + extra)
    return min(bounds)


class _CoverSearch:
    """Incremental state of a maximal-covering plan for add, drop and swap moves.

    Every demand row books its weight to one row of a weight table: the *gain* row while no open
    site covers it, the row of its only open site while exactly one does, and a *sink* row while
    two or more do. ``table[t, j]`` is the weight booked to ``t`` that column ``j`` covers, so

    - ``gain[j]`` (the gain row) is the uncovered weight ``j`` would newly cover,
    - ``extra[slot[k], j]`` is the weight only open ``k`` covers that ``j`` also covers,
    - ``loss[k]`` (the weight booked to k's row) is the weight only ``k`` covers,

    and the profit of swapping open ``k`` for closed ``j`` is ``gain[j] - loss[k] + extra[k, j]``
    for all pairs at once. A move re-books only the rows whose booking changes (those newly
    covered, uncovered, or passing between once and twice covered), with one scatter over their
    entries; a swap hands the closed site's slot to the opened one, so the rows both cover stay
    where they are.
    """

    _GAIN = 0
    _SINK = 1

    def __init__(self, inc: Incidence, w: FloatArray, chosen: IntArray, slots: int) -> None:
        self.inc = inc
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        n, m = inc.n_rows, inc.n_cols
        self._row_start = inc.row_ptr[:-1]
        self._row_len = np.diff(inc.row_ptr)
        self._mark = np.zeros(n, dtype=bool)
        self.total = float(self.w.sum())
        chosen = np.unique(np.asarray(chosen, dtype=np.int64))
        n_slots = max(int(slots), chosen.size, 1)
        self.is_open = np.zeros(m, dtype=bool)
        self.is_open[chosen] = True
        # slot[j] is j's slot (-1 when closed) and book[j] its table row; book[m + 1] is the sink
        # row and book[-1] the gain row, so that a row's table row is book[owner, -1 or m + 1]
        self.slot = np.full(m, -1, dtype=np.int64)
        self.slot[chosen] = np.arange(chosen.size)
        self.site_of = np.full(n_slots, -1, dtype=np.int64)
        self.site_of[: chosen.size] = chosen
        self._free = list(range(chosen.size, n_slots))[::-1]
        self._book = np.full(m + 3, self._SINK, dtype=np.int64)
        self._book[chosen] = 2 + np.arange(chosen.size)
        self._book[-1] = self._GAIN
        # per row, count * radix + (sum of the open sites covering it): one array, one update per
        # move, and the owner of a row covered once is state - radix (the sum is below the radix)
        self._radix = m * m + 1
        self.state = np.zeros(n, dtype=np.int64)
        if chosen.size:
            self.state = inc.open_count(self.is_open) * self._radix + inc.open_index_sum(self.is_open)
        self.target = self._targets(self.state)
        self.table = np.zeros((n_slots + 2, m))
        self.booked = np.zeros(n_slots + 2)
        self._slot_pen = np.where(self.site_of >= 0, 0.0, np.inf)
        self.moves = 0
        self.n_open = int(chosen.size)
        if chosen.size:
            self._rebuild()
        else:
            self.table[self._GAIN] = inc.col_weight(self.w)
            self.booked[self._GAIN] = self.total

    @property
    def count(self) -> IntArray:
        """For each row, how many open sites cover it."""
        return self.state // self._radix

    def _targets(self, state: IntArray) -> IntArray:
        return self._book[np.clip(state - self._radix, -1, self.inc.n_cols + 1)]

    def _rebuild(self) -> None:
        """Book every row from scratch (one pass over all entries)."""
        inc = self.inc
        m = inc.n_cols
        row_of = np.repeat(np.arange(inc.n_rows, dtype=np.int64), self._row_len)
        flat = np.bincount(
            self.target[row_of] * m + inc.row_cols, weights=self.w[row_of], minlength=self.table.size
        )
        self.table = flat.reshape(self.table.shape)
        self.booked = np.bincount(self.target, weights=self.w, minlength=self.booked.size)

    @property
    def gain(self) -> FloatArray:
        """Uncovered weight each site would newly cover (0 for open sites)."""
        return self.table[self._GAIN]

    @property
    def extra(self) -> FloatArray:
        """Per slot, the weight only its site covers that each site also covers."""
        return self.table[2 : 2 + self.site_of.size]

    @property
    def loss(self) -> FloatArray:
        """Per site, the weight only it covers (0 for closed sites)."""
        out = np.zeros(self.inc.n_cols)
        used = self.site_of >= 0
        out[self.site_of[used]] = self.booked[2 : 2 + self.site_of.size][used]
        return out

    @property
    def value(self) -> float:
        """The covered weight."""
        return self.total - float(self.booked[self._GAIN])

    def covered_weight(self) -> float:
        """The covered weight, summed afresh (no accumulated rounding)."""
        return float(self.w[self.state > 0].sum())

    def sites(self) -> IntArray:
        """The open sites, ascending."""
        return np.flatnonzero(self.is_open).astype(np.int64)

    def open(self, j: int) -> None:
        """Open closed site ``j``."""
        self._move(-1, j)

    def close(self, k: int) -> None:
        """Close open site ``k``."""
        self._move(k, -1)

    def swap(self, k: int, j: int) -> None:
        """Close open ``k`` and open closed ``j`` in one move."""
        self._move(k, j)

    def profit(self) -> FloatArray:
        """Slots × sites: what swapping each slot's site for each closed site adds.

        Free slots and open sites score ``-inf``; ``site_of`` maps a slot to its site.
        """
        t = self.table
        s = self.site_of.size
        gain = np.where(self.is_open, -np.inf, t[self._GAIN])
        return t[2 : 2 + s] + (gain[None, :] - (self.booked[2 : 2 + s] + self._slot_pen)[:, None])

    def _grow(self) -> None:
        s = self.site_of.size
        self.table = np.vstack([self.table, np.zeros((s, self.inc.n_cols))])
        self.booked = np.concatenate([self.booked, np.zeros(s)])
        self.site_of = np.concatenate([self.site_of, np.full(s, -1, dtype=np.int64)])
        self._slot_pen = np.concatenate([self._slot_pen, np.full(s, np.inf)])
        self._free = list(range(s, 2 * s))[::-1] + self._free

    def _move(self, k: int, j: int) -> None:
        self.moves += 1
        self.n_open += (j >= 0) - (k >= 0)
        inc = self.inc
        ptr, col_rows = inc.col_ptr, inc.col_rows
        state, radix = self.state, self._radix
        if k >= 0:
            rows_k = col_rows[ptr[k] : ptr[k + 1]]
            state[rows_k] -= radix + k
            self.is_open[k] = False
            s = int(self.slot[k])
            self.slot[k] = -1
            self._book[k] = self._SINK
            if j < 0:
                self.site_of[s] = -1
                self._slot_pen[s] = np.inf
                self._free.append(s)
        if j >= 0:
            rows_j = col_rows[ptr[j] : ptr[j + 1]]
            state[rows_j] += radix + j
            self.is_open[j] = True
            if k < 0:
                if not self._free:
                    self._grow()
                s = self._free.pop()
                self._slot_pen[s] = 0.0
            self.slot[j] = s
            self.site_of[s] = j
            self._book[j] = 2 + s
        # the rows whose count changed, each once
        if k >= 0 and j >= 0:
            mark = self._mark
            mark[rows_k] = True
            rows = np.concatenate([rows_k, rows_j[~mark[rows_j]]])
            mark[rows_k] = False
        else:
            rows = rows_k if k >= 0 else rows_j
        before = self.target[rows]
        after = self._targets(state[rows])
        moved = before != after
        if not moved.any():
            return
        r = rows[moved]
        t0 = before[moved]
        t1 = after[moved]
        self.target[r] = t1
        wr = self.w[r]
        np.subtract.at(self.booked, t0, wr)
        np.add.at(self.booked, t1, wr)
        # move each re-booked row's weight from its old to its new table row, on its columns
        lens = self._row_len[r]
        ends = np.cumsum(lens)
        pos = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - lens - self._row_start[r], lens)
        cols = inc.row_cols[pos]
        m = inc.n_cols
        flat = self.table.reshape(-1)
        we = np.repeat(wr, lens)
        np.subtract.at(flat, np.repeat(t0 * m, lens) + cols, we)
        np.add.at(flat, np.repeat(t1 * m, lens) + cols, we)


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
    search = _CoverSearch(inc, w, chosen, slots=(p if p is not None else max(chosen.size, 1) * 2))
    _local_search(search, p=p, cost=cost, budget=budget, deadline=deadline, max_moves=max_moves)
    return search.sites()


def _local_search(
    search: _CoverSearch,
    *,
    p: int | None,
    cost: FloatArray | None,
    budget: float | None,
    deadline: float,
    max_moves: int,
) -> int:
    """Best-improvement additions (while fewer than ``p`` are open) and swaps; returns the moves made."""
    m = search.inc.n_cols
    tol = 1e-9 * max(search.total, 1.0)
    c = np.zeros(m) if cost is None else cost
    spent = float(c[search.is_open].sum())
    moves = 0
    while moves < max_moves and time.perf_counter() <= deadline:
        slack = np.inf if budget is None else budget - spent + 1e-9 * max(budget, 1.0)
        if p is None or search.n_open < p:
            gain = search.gain
            addable = ~search.is_open & (c <= slack) & (gain > tol)
            if addable.any():
                key = gain if budget is None else _ratio(np.where(addable, gain, 0.0), c)
                j = int(np.argmax(np.where(addable, key, -np.inf)))
                search.open(j)
                spent += float(c[j])
                moves += 1
                continue
        profit = search.profit()
        if budget is not None:
            held = c[np.maximum(search.site_of, 0)]
            profit = np.where(c[None, :] - held[:, None] <= slack, profit, -np.inf)
        s, j = divmod(int(np.argmax(profit)), m)
        if not profit[s, j] > tol:
            break
        k = int(search.site_of[s])
        search.swap(k, j)
        spent += float(c[j] - c[k])
        moves += 1
    return moves


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
    :func:`greedy_max_cover`. The bound is :func:`_online_bound` of the plan returned.
    Every step is a fixed number of moves, so the plan does not depend on the machine's speed
    unless ``deadline`` cuts the search short.
    """
    if budget is None or cost is None:
        search = _CoverSearch(inc, w, np.zeros(0, dtype=np.int64), slots=p if p is not None else 1)
        if p is not None:
            tol = 1e-9 * max(search.total, 1.0)
            for _ in range(p):
                if _local_search(search, p=p, cost=None, budget=None, deadline=deadline, max_moves=1) == 0:
                    break  # nothing left to cover
                if search.n_open > 1:
                    _swap_step(search, tol)
    else:
        plan = greedy_max_cover(inc, w, p=p, cost=cost, budget=budget)
        search = _CoverSearch(inc, w, plan, slots=p if p is not None else max(plan.size, 1) * 2)
    _local_search(search, p=p, cost=cost, budget=budget, deadline=deadline, max_moves=500 + inc.n_cols)
    best = _Best(search, p=p, cost=cost, budget=budget)
    if p is not None and budget is None and tabu_steps > 0:
        _tabu(search, best, p, iterations=tabu_steps, patience=patience, deadline=deadline)
    logger.debug(
        "max-cover heuristic: %d moves, value %.6g, bound %.6g", search.moves, best.value, best.bound
    )
    return CoverPlan(best.sites, best.value, best.bound)


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
        alone = _CoverSearch(inc, ones, best, slots=best.size).loss[best]
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
        search = _CoverSearch(inc, w, plan, slots=p)
        _local_search(search, p=p, cost=None, budget=None, deadline=np.inf, max_moves=500 + inc.n_cols)
        best = _Best(search, p=p, cost=None, budget=None)
        if best.value < search.total:
            _tabu(search, best, p, iterations=steps, patience=patience, deadline=np.inf)
        plan = best.sites
        left = inc.open_count(_mask(inc.n_cols, plan)) == 0
        if not left.any():
            return plan, missed
        missed |= left
        w[left] += 1.0
    return None, missed


def _swap_step(search: _CoverSearch, tol: float) -> bool:
    """Make the best swap when it gains more than ``tol``; say whether one was made."""
    profit = search.profit()
    s, j = divmod(int(np.argmax(profit)), search.inc.n_cols)
    if not profit[s, j] > tol:
        return False
    search.swap(int(search.site_of[s]), j)
    return True


class _Best:
    """The best plan seen by a search, with its exact value and online bound."""

    def __init__(
        self, search: _CoverSearch, *, p: int | None, cost: FloatArray | None, budget: float | None
    ) -> None:
        self.p, self.cost, self.budget = p, cost, budget
        self.record(search)

    def record(self, search: _CoverSearch) -> None:
        self.sites = search.sites()
        self.value = search.covered_weight()
        gain = np.where(search.is_open, 0.0, search.gain)
        self.bound = _online_bound(
            self.value, gain, search.total, p=self.p, cost=self.cost, budget=self.budget
        )


def _tabu(
    search: _CoverSearch, best: _Best, p: int, *, iterations: int, patience: int, deadline: float
) -> None:
    """Tabu search over 1-swaps from a local optimum; ``best`` keeps the best plan seen.

    Each step makes the best swap even when it loses weight, except that a site just closed may
    not reopen (for 15 steps), and a site just opened may not close (for ``p // 2`` steps), unless
    the swap beats the best plan so far. This walks out of 1-swap local optima at the cost of
    one move per step; it stops after ``iterations`` steps or ``patience`` steps without a
    better plan.
    """
    m = search.inc.n_cols
    tol = 1e-9 * max(search.total, 1.0)
    best_value = search.value
    reopen_at = np.zeros(m, dtype=np.int64)
    close_at = np.zeros(m, dtype=np.int64)
    keep_in = max(2, p // 2)
    keep_out = 15
    last_gain = 0
    for it in range(1, iterations + 1):
        if time.perf_counter() > deadline or it - last_gain > patience or best_value >= search.total - tol:
            break
        profit = search.profit()
        held = search.site_of
        s, j = divmod(int(np.argmax(profit)), m)
        if not profit[s, j] > best_value - search.value + tol:  # no swap beats the best plan
            # tabu sites count at -inf: a site closed lately may not reopen, one opened lately
            # may not close (a free slot holds no site: its row is -inf already)
            profit += np.where(reopen_at > it, -np.inf, 0.0)[None, :]
            profit += np.where(close_at[held] > it, -np.inf, 0.0)[:, None]
            s, j = divmod(int(np.argmax(profit)), m)
            if profit[s, j] == -np.inf:
                break
        k = int(held[s])
        search.swap(k, j)
        reopen_at[k] = it + keep_out
        close_at[j] = it + keep_in
        if search.value > best_value + tol:
            best_value, last_gain = search.value, it
            best.record(search)


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
    search = _CoverSearch(inc, w, chosen, slots=p)
    _local_search(search, p=p, cost=None, budget=None, deadline=deadline, max_moves=200)
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
            trial = _CoverSearch(inc, w, top, slots=p)
            _local_search(trial, p=p, cost=None, budget=None, deadline=deadline, max_moves=200)
            if trial.value > best_value + tol:
                best_plan, best_value = trial.sites(), trial.value
        g = cnt - (mu < w)
        norm = float(g @ g)
        if norm == 0:
            break
        mu = np.clip(mu - theta * (bound - best_value) / norm * g, 0.0, w)
    return best_plan, best_bound, best_mu


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
        _subtract_newly_covered(inc, gains, ones, new)
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
        key = np.where(alive & (gains > tol), _ratio(gains, cost), -np.inf)
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


def cover_build_order(
    inc: Incidence, w: FloatArray, chosen: IntArray, *, already: BoolArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Order chosen sites by marginal gain: each next site newly covers the most weight.

    ``already`` marks rows covered before any chosen site opens (by the fixed sites). Returns
    the sites in build order and the weight each newly covers.
    """
    covered = np.zeros(inc.n_rows, dtype=bool) if already is None else already.copy()
    gains = inc.col_weight(np.where(covered, 0.0, w))
    left = np.zeros(inc.n_cols, dtype=bool)
    left[chosen] = True
    order: list[int] = []
    marginal: list[float] = []
    for _ in range(int(chosen.size)):
        j = int(np.argmax(np.where(left, gains, -np.inf)))
        order.append(j)
        marginal.append(float(max(gains[j], 0.0)))
        left[j] = False
        rows = inc.rows_of(j)
        new = rows[~covered[rows]]
        covered[new] = True
        _subtract_newly_covered(inc, gains, w, new)
    return np.asarray(order, dtype=np.int64), np.asarray(marginal, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# p-median


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
    d1, _ = median_cost(asg, _mask(m, plan), big)
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
            d_sub, _ = median_cost(asg, _mask(m, sub), big)
            total = float(d_sub.sum())
            if total < upper - tol:
                upper, best_plan = total, sub.copy()
        in_sub = _mask(m, sub)
        served = np.bincount(asg.row[in_sub[asg.col] & (rc < 0)], minlength=n)
        g = 1.0 - served - (finite_fallback & (asg.fallback < lam))
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (upper - value) / norm * g
    closed, opened, keep = _lagrangian_fixing(asg, p, best_lam, best, upper, margin)
    logger.debug("Lagrangian p-median: bound %.6g, upper %.6g after %d iterations", best, upper, it)
    return LagrangianResult(best, upper, best_plan, closed, opened, keep, it)


def _mask(m: int, sites: IntArray) -> BoolArray:
    out = np.zeros(m, dtype=bool)
    out[sites] = True
    return out


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
    in_sub = _mask(m, sub)
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
