"""Sharing a limit between independent parts: how many new sites, or how much of the budget,
each part gets, with a proven bound on what any other split could achieve.

Max cover with ``p`` or a budget, and upgrade-or-build with a budget, are independent parts
joined by one row: the parts' shares of the limit add up to at most the limit. :func:`allocate`
splits it as a multiple-choice knapsack, in cells of the limit (one site; or the greatest common
divisor of the costs when they are whole numbers, so that every plan's cost is a whole number of
cells; or, when that would be too many cells, a fixed fraction of the budget, rounded up for plans
and down for bounds so that both stay valid):

- the **plans**: each part's solved plans (a part's plan for a share costs what its sites cost);
  the best combination that fits is the plan of the whole;
- the **bound**: for every part and every share, an upper bound on what the part can reach with
  it: the least of the bounds proven by the part's solves at that share or above (a part never
  does worse with more) and of the submodular bound of each known plan ``S`` of the part,
  ``f(S) + `` the most the other candidates' marginal gains over ``S`` add within the share
  (fractional knapsack), which holds because coverage, each group's counted only up to its
  target, gains less from a site the more is open. The best combination of these bounds that fits
  bounds every split, so it bounds the whole problem (capacities only lower what a part reaches).

Each round solves the parts exactly at the shares where the bound's best split and the plan's
best split are not proven, until they meet (proven optimal), the time runs out, or there is
nothing left to solve (then the caller may solve the whole problem). The first shares come from
a plan of the whole problem found by its heuristic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse

from .decompose import Part, solve_parts
from .exact import Clock, gap_closed, is_integral, tighten
from .result import BoolArray, FloatArray, IntArray, Method, SitingResult

__all__ = ["MAX_CELLS", "Allocation", "Coverage", "Shared", "allocate"]

logger = logging.getLogger(__name__)

#: Most cells the limit is divided into for the knapsack.
MAX_CELLS = 4000
#: Most knapsack entries computed at once (cells × a part's shares).
_CHUNK = 4_000_000


@dataclass(frozen=True)
class Shared:
    """The limit the parts share: ``kind`` ``"p"`` (sites) or ``"budget"``, its ``total``, and
    what each candidate of the whole problem uses of it (1, or its cost)."""

    kind: Literal["p", "budget"]
    total: float
    usage: FloatArray


@dataclass(frozen=True)
class Coverage:
    """The coverage objective of one part without capacities, for bounds.

    ``value(S) = constant + Σ_g min(new_g(S), need_g)``, where ``new_g`` is the weight of group
    ``g``'s rows that the part's free candidates ``S`` cover (rows the required sites cover
    weigh 0 here and are in ``constant``); ``need`` is ``inf`` for plain coverage. ``matrix``
    is the part's rows × its free candidates, ``free`` their positions in ``Part.sites``.
    """

    matrix: sparse.csr_array
    weight: FloatArray
    group: IntArray
    need: FloatArray
    usage: FloatArray
    constant: float
    free: IntArray

    def gains(self, is_open: BoolArray) -> tuple[float, FloatArray]:
        """The value of the open candidates and every candidate's marginal gain over them."""
        covered = (self.matrix @ is_open.astype(np.float64)) > 0
        new = np.bincount(self.group, weights=self.weight * covered, minlength=self.need.size)
        value = self.constant + float(np.minimum(new, self.need).sum())
        left_w = np.where(covered, 0.0, self.weight)
        if self.need.size == 1 and not np.isfinite(self.need[0]):
            return value, np.asarray(self.matrix.T @ left_w, dtype=np.float64)
        rest = np.maximum(self.need - new, 0.0)
        by_group = sparse.csr_array(
            (left_w, (np.arange(self.group.size), self.group)), shape=(self.group.size, self.need.size)
        )
        per = sparse.csr_array(self.matrix.T @ by_group)
        per.data = np.minimum(per.data, rest[per.indices])
        return value, np.asarray(per.sum(axis=1)).ravel()

    def bound(self, is_open: BoolArray, shares: FloatArray) -> FloatArray:
        """Upper bounds on the part's optimum with each of ``shares`` (submodular bound of the
        open candidates: their value plus the fractional knapsack of the gains)."""
        value, gain = self.gains(is_open)
        gain = np.where(is_open, 0.0, np.maximum(gain, 0.0))
        free_gain = float(gain[self.usage <= 0].sum())
        paid = np.flatnonzero((self.usage > 0) & (gain > 0))
        order = paid[np.argsort(-gain[paid] / self.usage[paid], kind="stable")]
        used = np.concatenate([[0.0], np.cumsum(self.usage[order])])
        got = np.concatenate([[0.0], np.cumsum(gain[order])])
        return value + free_gain + np.interp(shares, used, got)


@dataclass
class _Point:
    level: float
    used: float
    value: float
    bound: float
    proven: bool
    result: SitingResult


@dataclass
class _Curve:
    """What is known of one part: its solves by share, and its plans' bound curves."""

    top: float
    points: dict[float, _Point] = field(default_factory=dict)
    tried: set[float] = field(default_factory=set)
    curves: list[FloatArray] = field(default_factory=list)


@dataclass(frozen=True)
class Allocation:
    """The split: each part's result at its share, the total, the bound, whether they meet, the
    rounds and part solves it took, and whether it ran out of shares to solve."""

    results: list[SitingResult]
    objective: float
    bound: float
    closed: bool
    rounds: int
    solves: int
    stalled: bool


Evaluate = Callable[[int, float, Method, float], SitingResult]


def allocate(
    parts: Sequence[Part],
    coverage: Sequence[Coverage],
    evaluate: Evaluate,
    shared: Shared,
    start: FloatArray,
    bound: float,
    clock: Clock,
    *,
    method: Method,
    rel_gap: float,
    integral: bool,
    workers: int,
    max_rounds: int = 60,
) -> Allocation:
    """Split ``shared`` between ``parts`` (see the module notes), for a maximised objective.

    ``evaluate(k, share, method, time_limit)`` solves part ``k`` with that share of the limit
    (0: no new sites) and returns its result; ``start`` holds a first share per part, ``bound``
    an upper bound on the whole problem proven elsewhere (``inf`` when none).
    """
    usage_total = np.array(
        [float(shared.usage[p.sites[c.free]].sum()) for p, c in zip(parts, coverage, strict=True)]
    )
    tops = np.minimum(usage_total, shared.total)
    step, exact_cells = _cell(shared, parts, coverage)
    cells = int(np.floor(shared.total / step + 1e-9))
    known = [_Curve(top=float(t)) for t in tops]
    strides = [
        _stride(shared, part, cov, step, exact_cells) for part, cov in zip(parts, coverage, strict=True)
    ]
    for k, cov in enumerate(coverage):
        known[k].curves.append(
            _bound_curve(cov, np.zeros(cov.free.size, dtype=bool), known[k].top, step, cells, exact_cells)
        )
    solves = 0

    def solve(tasks: list[tuple[int, float]], how: Method) -> None:
        nonlocal solves
        done = solve_parts(
            [parts[k] for k, _ in tasks],
            lambda i, limit: evaluate(tasks[i][0], tasks[i][1], how, limit),
            clock,
            workers=workers,
        )
        solves += len(tasks)
        for (k, level), res in zip(tasks, done, strict=True):
            curve = known[k]
            used = float(res.sites.size) if shared.kind == "p" else float(res.cost)
            point = _Point(
                level, used, res.objective, max(res.bound, res.objective), res.status == "optimal", res
            )
            old = curve.points.get(level)
            if old is None or point.value > old.value or (point.proven and not old.proven):
                curve.points[level] = point
            if how == "exact":
                curve.tried.add(level)
            is_open = np.zeros(coverage[k].free.size, dtype=bool)
            slot = np.searchsorted(parts[k].sites[coverage[k].free], parts[k].sites[res.sites])
            is_open[slot] = True
            curve.curves.append(_bound_curve(coverage[k], is_open, curve.top, step, cells, exact_cells))

    first = sorted(
        {(k, 0.0) for k in range(len(parts))} | {(k, float(min(s, tops[k]))) for k, s in enumerate(start)}
    )
    solve(first, method)
    rounds, stalled = 0, False
    while True:
        rounds += 1
        plan_value, plan_cells = _best([_plan_values(c, step, cells, exact_cells) for c in known], cells)
        upper, upper_cells = _best([_upper_values(c, step, cells, exact_cells) for c in known], cells)
        upper = min(upper, bound)
        closed = gap_closed(-plan_value, -upper, rel_gap=rel_gap, integral=integral)
        logger.debug("allocation round %d: plan %.9g, bound %.9g", rounds, plan_value, upper)
        if closed or method == "heuristic" or clock.left() <= 0:
            break
        tasks = set()
        for k, c in enumerate(upper_cells):
            level = float(min((c if exact_cells else c + 1) * step, known[k].top))
            if level not in known[k].tried:
                tasks.add((k, level))
        for k, c in enumerate(plan_cells):
            # the plan's share, proven, and a stride either side of it
            point = _plan_point(known[k], c, step, exact_cells)
            for level in (point.level, point.level - strides[k], point.level + strides[k]):
                level = float(min(max(level, 0.0), known[k].top))
                if level not in known[k].tried:
                    tasks.add((k, level))
        if not tasks or rounds >= max_rounds:
            stalled = True
            break
        solve(sorted(tasks), "exact")
    chosen = [_plan_point(known[k], c, step, exact_cells) for k, c in enumerate(plan_cells)]
    objective = float(sum(p.value for p in chosen))
    upper = max(upper, objective)
    return Allocation(
        results=[p.result for p in chosen],
        objective=objective,
        bound=-tighten(-objective, -upper, integral=integral),
        closed=closed,
        rounds=rounds,
        solves=solves,
        stalled=stalled,
    )


def _cell(shared: Shared, parts: Sequence[Part], coverage: Sequence[Coverage]) -> tuple[float, bool]:
    """The size of a cell of the limit and whether every plan uses a whole number of cells."""
    if shared.kind == "p":
        return 1.0, True
    free = np.unique(np.concatenate([p.sites[c.free] for p, c in zip(parts, coverage, strict=True)]))
    costs = shared.usage[free]
    costs = costs[costs > 0]
    if costs.size and is_integral(costs):
        unit = float(np.gcd.reduce(costs.astype(np.int64)))
        if shared.total / unit <= MAX_CELLS:
            return unit, True
    return shared.total / MAX_CELLS, False


def _stride(shared: Shared, part: Part, cov: Coverage, step: float, exact_cells: bool) -> float:
    """How far from its share a part's neighbouring shares are: one site, or what a typical
    candidate of the part costs (in whole cells)."""
    usage = shared.usage[part.sites[cov.free]]
    usage = usage[usage > 0]
    typical = float(np.median(usage)) if usage.size else step
    cells = max(1.0, np.ceil(typical / step - 1e-9)) if exact_cells else typical / step
    return float(cells * step)


def _bound_curve(
    cov: Coverage, is_open: BoolArray, top: float, step: float, cells: int, exact_cells: bool
) -> FloatArray:
    """The submodular bound of a plan for every cell up to the part's top share. A cell holds
    the shares from ``c × step`` (alone when shares are whole cells) to just under ``(c + 1) ×
    step``: its bound is the curve's at the cell's largest share."""
    last = min(cells, int(np.ceil(top / step - 1e-9)))
    share = np.arange(last + 1, dtype=np.float64) * step
    if not exact_cells:
        share = np.minimum(share + step, top)
    return cov.bound(is_open, share)


def _upper_values(curve: _Curve, step: float, cells: int, exact_cells: bool) -> FloatArray:
    """Upper bounds of a part per cell: the least of its plans' curves and of the bounds its
    solves proved at that share or above."""
    upper = np.min(np.vstack(curve.curves), axis=0)
    share = np.arange(upper.size, dtype=np.float64) * step
    reach = share if exact_cells else share + step  # every share of the cell must be at most the level
    for point in curve.points.values():
        below = reach <= point.level + 1e-9 * max(step, 1.0)
        if point.level >= curve.top - 1e-9 * max(step, 1.0):
            below[:] = True  # more than every site costs reaches no further
        upper[below] = np.minimum(upper[below], point.bound)
    return upper


def _plan_values(curve: _Curve, step: float, cells: int, exact_cells: bool) -> FloatArray:
    """The best known plan of a part per cell (a plan needs the cells its cost fills)."""
    need = {lvl: _cells_of(p.used, step, exact_cells) for lvl, p in curve.points.items()}
    last = min(cells, max(need.values()))
    values = np.full(last + 1, -np.inf)
    for lvl, point in curve.points.items():
        if need[lvl] <= last:
            values[need[lvl]] = max(values[need[lvl]], point.value)
    return np.maximum.accumulate(values)


def _plan_point(curve: _Curve, cell: int, step: float, exact_cells: bool) -> _Point:
    """The best known plan of a part that fits in ``cell`` cells."""
    fits = [p for p in curve.points.values() if _cells_of(p.used, step, exact_cells) <= cell]
    return max(fits, key=lambda p: (p.value, p.proven, -p.used))


def _cells_of(used: float, step: float, exact_cells: bool) -> int:
    if exact_cells:
        return round(used / step)
    return int(np.ceil(used / step - 1e-9))


def _best(values: Sequence[FloatArray], cells: int) -> tuple[float, IntArray]:
    """Multiple-choice knapsack: one entry of ``values[k]`` per part (entry ``j`` uses ``j``
    cells), the most total value in at most ``cells`` cells; the value and each part's cells."""
    best = np.zeros(cells + 1)
    choice = []
    for v in values:
        width = v.size
        padded = np.concatenate([np.full(width - 1, -np.inf), best])
        windows = sliding_window_view(padded, width)[:, ::-1]  # windows[c, j] = best[c - j]
        new = np.empty(cells + 1)
        arg = np.empty(cells + 1, dtype=np.int64)
        chunk = max(1, _CHUNK // width)
        for lo in range(0, cells + 1, chunk):
            total = windows[lo : lo + chunk] + v[None, :]
            arg[lo : lo + chunk] = np.argmax(total, axis=1)
            new[lo : lo + chunk] = total[np.arange(total.shape[0]), arg[lo : lo + chunk]]
        best = new
        choice.append(arg)
    picks = np.zeros(len(values), dtype=np.int64)
    c = cells
    for k in range(len(values) - 1, -1, -1):
        picks[k] = choice[k][c]
        c -= int(picks[k])
    return float(best[cells]), picks
