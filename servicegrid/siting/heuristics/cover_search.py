"""The incremental state of a maximal-covering search and the moves on it.

:class:`CoverSearch` books every demand row's weight so that all (open, closed) swaps are
scored at once and a move re-books only the rows whose booking changes; :func:`local_search`
makes best-improvement additions and swaps, :func:`tabu` walks out of 1-swap local optima, and
:class:`BestPlan` keeps the best plan seen with its bound from submodularity.
"""

from __future__ import annotations

import time

import numpy as np

from ..result import FloatArray, IntArray
from .incidence import Incidence, ratio

__all__ = ["BestPlan", "CoverSearch", "local_search", "tabu"]


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


class CoverSearch:
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


def local_search(
    search: CoverSearch,
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
                key = gain if budget is None else ratio(np.where(addable, gain, 0.0), c)
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


class BestPlan:
    """The best plan seen by a search, with its exact value and online bound."""

    def __init__(
        self, search: CoverSearch, *, p: int | None, cost: FloatArray | None, budget: float | None
    ) -> None:
        self.p, self.cost, self.budget = p, cost, budget
        self.record(search)

    def record(self, search: CoverSearch) -> None:
        self.sites = search.sites()
        self.value = search.covered_weight()
        gain = np.where(search.is_open, 0.0, search.gain)
        self.bound = _online_bound(
            self.value, gain, search.total, p=self.p, cost=self.cost, budget=self.budget
        )


def tabu(
    search: CoverSearch, best: BestPlan, p: int, *, iterations: int, patience: int, deadline: float
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
