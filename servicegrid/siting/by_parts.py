"""Solving a siting problem part by part: :func:`solve_by_parts`, and how each model splits.

A county's demand rows fall into independent parts (:mod:`.decompose`): compounds that no
candidate joins, townships whose rows and candidates are disjoint. How each model uses them:

- ``set_cover``, and ``upgrade_or_build`` without a budget (each township has its own target):
  every part is solved on its own with the exact pipeline of its model (reductions, heuristic
  start, bounds, HiGHS), in threads when more than one is large, each with its share of the
  time left (:func:`~.decompose.solve_parts`); the parts that share did not let finish are
  solved again with the time the others left, keeping the better plan and bound of the two.
  The objective is the sum of the parts' objectives, the bound the sum of their bounds, the
  status optimal only when every part's is.
- ``max_cover`` (``p`` or a budget) and ``upgrade_or_build`` with a budget: the limit couples
  the parts. By default the problem is solved whole (its Lagrangian and LP bounds price the
  limit across all parts at once, and measured up to 64 demo counties side by side the whole
  model proved these optima sooner than any split); with ``whole_rows``, problems of at least
  that many rows have the limit split between the parts by :func:`~.allocate.allocate`, which
  proves a bound on every other split, and are solved whole as well when it runs out of shares
  to solve with its gap open (the better plan and the better bound of the two are kept). With
  both ``p`` and a budget the problem is always solved whole.
- ``p_median``: solved whole; ``p`` couples the parts, and its Lagrangian relaxation already
  prices a site across all of them.

Capacities split the same way: a capacity is shared only by rows within the site's reach, so a
required site with a capacity links its rows like a candidate does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from ..errors import InputError
from .allocate import Coverage, Shared, allocate
from .checks import (
    capacities,
    check_budget,
    check_options,
    check_p,
    check_target,
    cover_matrix,
    distance_pairs,
    group_labels,
    site_kinds,
    site_masks,
    vector,
)
from .decompose import BIN_ROWS, Part, combine, combined_status, solve_parts, split_parts, workers_for
from .exact import Clock, gap_closed, is_integral, relative_gap
from .max_cover import max_cover
from .p_median import p_median
from .result import (
    BoolArray,
    Decomposition,
    FloatArray,
    IntArray,
    Method,
    ModelName,
    Sense,
    SitingResult,
    Status,
)
from .set_cover import set_cover
from .upgrade import upgrade_or_build

__all__ = ["solve_by_parts"]

logger = logging.getLogger(__name__)

#: The budget of a part that gets nothing: only candidates that cost nothing fit.
_NOTHING = 1e-9
#: Parts left unfinished are solved again when at least this share of the time spent is left.
_AGAIN = 0.1


@dataclass(frozen=True)
class _Problem:
    """A checked covering problem: the model, its arrays and its options."""

    model: ModelName
    a: sparse.csc_array
    w: FloatArray
    c: FloatArray
    has_cost: bool
    req: BoolArray
    exc: BoolArray
    cap: FloatArray
    group: NDArray[np.generic] | None
    g: IntArray | None
    labels: NDArray[np.generic] | None
    target: float
    kind: NDArray[np.generic] | None
    p: int | None
    budget: float | None
    rel_gap: float

    @property
    def capacitated(self) -> bool:
        return bool(np.isfinite(self.cap[~self.exc]).any())

    def solve(self, *, limit: float, method: Method, relaxed: bool = False) -> SitingResult:
        """The whole problem by its model (``relaxed``: capacities dropped)."""
        kw = {
            "required": self.req,
            "excluded": self.exc,
            "capacity": None if relaxed else self.cap,
            "time_limit": max(limit, 1e-9),
            "method": method,
            "rel_gap": self.rel_gap,
        }
        if self.model == "set_cover":
            return set_cover(self.a, self.c, weight=self.w, **kw)
        if self.model == "max_cover":
            cost = self.c if self.has_cost else None
            return max_cover(self.a, self.w, p=self.p, budget=self.budget, cost=cost, **kw)
        return upgrade_or_build(
            self.a, self.w, self.c, self.group, self.target, budget=self.budget, kind=self.kind, **kw
        )


def solve_by_parts(
    model: ModelName,
    matrix: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike | None = None,
    *,
    cost: ArrayLike | None = None,
    group: ArrayLike | None = None,
    target: float | None = None,
    kind: ArrayLike | None = None,
    p: int | None = None,
    budget: float | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    unserved_penalty: float | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
    workers: int | None = None,
    bin_rows: int | None = None,
    whole_rows: int | None = None,
) -> SitingResult:
    """``model`` on ``matrix``, solved by its independent parts (see the module notes).

    Takes the arguments of the model (:func:`~.set_cover.set_cover`,
    :func:`~.max_cover.max_cover`, :func:`~.p_median.p_median`,
    :func:`~.upgrade.upgrade_or_build`; ``matrix`` is the coverage matrix, or the distances for
    p-median) and answers as it does: the same optimum, a valid bound, optimal only when
    proven; ``decomposition`` on the result says how it was split. ``workers`` caps the threads
    (default: the cores), ``bin_rows`` is the size below which components are batched into one
    part (default :data:`~.decompose.BIN_ROWS`), ``whole_rows`` the size from which a problem
    with a shared limit (``p`` or a budget) is split between its parts (default None: such
    problems are solved whole).
    """
    check_options(time_limit, method, rel_gap)
    clock = Clock(float(time_limit))
    if model == "p_median":
        if p is None:
            msg = "p-median needs p, the number of new sites"
            raise InputError(msg, field="p")
        result = p_median(
            matrix,
            np.ones(0) if weight is None else weight,
            p,
            required=required,
            excluded=excluded,
            unserved_penalty=unserved_penalty,
            time_limit=time_limit,
            method=method,
            rel_gap=rel_gap,
        )
        return _p_median_note(matrix, result, required, excluded)
    pr = _checked(
        model, matrix, weight, cost, group, target, kind, p, budget, required, excluded, capacity, rel_gap
    )
    n, m = pr.a.shape
    linking = ~pr.exc & (~pr.req | (np.isfinite(pr.cap) & pr.capacitated))
    parts, components = split_parts(
        pr.a, linking, group=pr.g, bin_rows=BIN_ROWS if bin_rows is None else bin_rows
    )
    clock.lap("split")
    coupled = model == "max_cover" or pr.budget is not None
    if len(parts) < 2:
        return pr.solve(limit=clock.left(), method=method)
    if coupled and (whole_rows is None or n < whole_rows or (pr.p is not None and pr.budget is not None)):
        limits = [
            what for what, given in (("p", pr.p is not None), ("the budget", pr.budget is not None)) if given
        ]
        note = f"solved whole: {' and '.join(limits)} couple{'s' if len(limits) == 1 else ''} its {components:,} independent parts"
        whole = pr.solve(limit=clock.left(), method=method)
        previous = whole.decomposition
        report = _report(parts, components, 1, whole=note)
        if previous is not None:  # what the model says of its components
            report = replace(report, enumerated=previous.enumerated, kept=previous.kept)
        return replace(whole, decomposition=report)
    threads = workers_for(parts, workers)
    on_part = _part_solver(pr)
    sense: Sense = "max" if coupled else "min"
    stalled = False
    if not coupled:
        results = solve_parts(
            parts, lambda k, limit: on_part(parts[k], limit, method, None), clock, workers=threads
        )
        results = _again(parts, results, on_part, clock, method=method, rel_gap=rel_gap, workers=workers)
        objective = float(sum(res.objective for res in results))
        bound = float(sum(res.bound for res in results))
        status = combined_status([res.status for res in results])
        report = _report(parts, components, threads)
    else:
        shared = (
            Shared("p", float(pr.p), np.ones(m))
            if pr.p is not None
            else Shared("budget", float(pr.budget or 0), pr.c)
        )
        # the first split and a bound: the whole problem's heuristic plan without capacities
        # (they only take plans away, so its bound holds with them)
        first = pr.solve(limit=min(5.0, max(0.1 * clock.left(), 1e-3)), method="heuristic", relaxed=True)
        clock.lap("bound")
        start = np.array(
            [float(shared.usage[np.intersect1d(first.sites, part.sites)].sum()) for part in parts]
        )
        csr = pr.a.tocsr()
        alloc = allocate(
            parts,
            [_coverage(pr, csr, shared.usage, part) for part in parts],
            lambda k, share, how, limit: on_part(parts[k], limit, how, share),
            shared,
            start,
            first.bound,
            clock,
            method=method,
            rel_gap=rel_gap,
            integral=model == "max_cover" and is_integral(pr.w),
            workers=threads,
        )
        results, objective, bound, stalled = alloc.results, alloc.objective, alloc.bound, alloc.stalled
        status = "optimal" if alloc.closed else ("heuristic" if method == "heuristic" else "time_limit")
        report = _report(
            parts, components, threads, coupling=shared.kind, rounds=alloc.rounds, solves=alloc.solves
        )
    enumerated = [r.decomposition for r in results if r.decomposition is not None]
    report = replace(
        report, enumerated=sum(d.enumerated for d in enumerated), kept=sum(d.kept for d in enumerated)
    )
    result = combine(
        model,
        sense,
        parts,
        results,
        shape=(n, m),
        required=pr.req,
        labels=pr.labels,
        capacitated=pr.capacitated,
        objective=objective,
        bound=bound,
        status=status,
        clock=clock,
        report=report,
    )
    if stalled and method == "exact" and clock.left() > 0:
        # the split ran out of shares to solve with its gap open: the whole problem decides
        result = _better(result, pr.solve(limit=clock.left(), method=method), clock, rel_gap=rel_gap)
    return result


def _checked(
    model: ModelName,
    matrix: object,
    weight: ArrayLike | None,
    cost: ArrayLike | None,
    group: ArrayLike | None,
    target: float | None,
    kind: ArrayLike | None,
    p: int | None,
    budget: float | None,
    required: ArrayLike | None,
    excluded: ArrayLike | None,
    capacity: ArrayLike | None,
    rel_gap: float,
) -> _Problem:
    """The inputs checked as the model checks them."""
    a = cover_matrix(matrix)
    n, m = a.shape
    w = np.ones(n) if weight is None else vector(weight, n, name="weight", what="demand row")
    req, exc = site_masks(required, excluded, m)
    cap = capacities(capacity, m)
    c = np.zeros(m) if cost is None else vector(cost, m, name="cost", what="candidate")
    labels, g = None, None
    if model == "upgrade_or_build":
        if group is None or target is None:
            msg = "upgrade_or_build needs a group per demand row and a target"
            raise InputError(msg, field="group" if group is None else "target")
        labels, g = group_labels(group, n)
        check_target(target)
        site_kinds(kind, m)
    if model == "max_cover":
        if p is None and budget is None:
            msg = "give p (number of new sites), budget (with cost), or both"
            raise InputError(msg, field="p")
        if p is not None:
            check_p(p, req, exc)
        if budget is not None and cost is None:
            msg = "a budget needs the cost of each candidate (cost=...)"
            raise InputError(msg, field="cost")
    return _Problem(
        model=model,
        a=a,
        w=w,
        c=c,
        has_cost=cost is not None,
        req=req,
        exc=exc,
        cap=cap,
        group=None if group is None else np.asarray(group),
        g=g,
        labels=labels,
        target=float(target or 0.0),
        kind=None if kind is None else np.asarray(kind),
        p=None if p is None else int(p),
        budget=None if budget is None else check_budget(budget),
        rel_gap=rel_gap,
    )


PartSolver = Callable[[Part, float, Method, "float | None"], SitingResult]


def _part_solver(pr: _Problem) -> PartSolver:
    """``solve(part, time_limit, method, share)``: the model on one part, with ``share`` of the
    shared limit (``None`` when nothing is shared; 0: no new sites)."""
    csr = pr.a.tocsr()

    def solve(part: Part, limit: float, how: Method, share: float | None) -> SitingResult:
        r, s = part.rows, part.sites
        sub = sparse.csc_array(csr[r][:, s])
        cap = pr.cap[s]
        if pr.capacitated and not np.isfinite(cap[~pr.exc[s]]).any():
            # a capacitated problem is answered by the capacitated model in every part (which
            # serves rows that have households, where set cover covers every row): a capacity
            # no load can reach keeps a part without any in that model
            cap = cap.copy()
            cap[np.flatnonzero(~pr.exc[s])[0]] = float(pr.w[r].sum()) + 1.0
        kw = {
            "required": pr.req[s],
            "excluded": pr.exc[s],
            "capacity": cap,
            "time_limit": limit,
            "method": how,
            "rel_gap": pr.rel_gap,
        }
        if pr.model == "set_cover":
            return set_cover(sub, pr.c[s], weight=pr.w[r], **kw)
        if pr.model == "max_cover":
            if share is not None and share <= 0:  # the required sites alone (and those costing nothing)
                cost = pr.c[s] if pr.p is None else np.ones(s.size)
                return max_cover(sub, pr.w[r], budget=_NOTHING, cost=cost, **kw)
            if pr.p is not None:
                return max_cover(sub, pr.w[r], p=round(share or 0), **kw)
            return max_cover(sub, pr.w[r], budget=share, cost=pr.c[s], **kw)
        spend = None if share is None else max(share, _NOTHING)
        kind = None if pr.kind is None else pr.kind[s]
        return upgrade_or_build(
            sub, pr.w[r], pr.c[s], np.asarray(pr.group)[r], pr.target, budget=spend, kind=kind, **kw
        )

    return solve


def _again(
    parts: list[Part],
    results: list[SitingResult],
    on_part: PartSolver,
    clock: Clock,
    *,
    method: Method,
    rel_gap: float,
    workers: int | None,
) -> list[SitingResult]:
    """A second pass with the time the first left: the parts its shares of the time did not let
    finish are solved again, and each keeps the better plan and the better bound of its two
    solves (both minimised)."""
    again = [k for k, res in enumerate(results) if res.status == "time_limit"]
    if method != "exact" or not again or clock.left() < _AGAIN * clock.total():
        return results
    redo = [parts[k] for k in again]
    second = solve_parts(
        redo,
        lambda i, limit: on_part(redo[i], limit, method, None),
        clock,
        workers=workers_for(redo, workers),
    )
    out = list(results)
    for k, res in zip(again, second, strict=True):  # one per part solved again
        first = out[k]
        best = res if res.objective < first.objective else first
        bound = min(max(first.bound, res.bound), best.objective)
        closed = gap_closed(best.objective, bound, rel_gap=rel_gap, integral=False)
        out[k] = replace(
            best,
            bound=bound,
            gap=relative_gap(best.objective, bound),
            status="optimal" if closed else "time_limit",
        )
    return out


def _coverage(pr: _Problem, csr: sparse.csr_array, usage: FloatArray, part: Part) -> Coverage:
    """The coverage objective of ``part`` without capacities (see :class:`~.allocate.Coverage`):
    the weight covered (max cover), or each township's progress up to its target."""
    r, s = part.rows, part.sites
    req, exc, w = pr.req[s], pr.exc[s], pr.w[r]
    free = np.flatnonzero(~req & ~exc)
    sub = sparse.csr_array(csr[r][:, s])
    base = (sub @ req.astype(np.float64)) > 0
    matrix = sparse.csr_array(sub[:, free])
    if pr.g is None:
        single = np.zeros(r.size, dtype=np.int64)
        weight = np.where(base, 0.0, w)
        return Coverage(
            matrix, weight, single, np.array([np.inf]), usage[s[free]], float(w[base].sum()), free
        )
    local, grp = np.unique(pr.g[r], return_inverse=True)
    allowed = (sub @ (~exc).astype(np.float64)) > 0
    coverable = np.bincount(grp, weights=w * allowed, minlength=local.size)
    before = np.bincount(grp, weights=w * base, minlength=local.size)
    goal = pr.target * coverable
    need = np.maximum(goal - before, 0.0)
    weight = np.where(base | ~allowed, 0.0, w)
    constant = float(np.minimum(before, goal).sum())
    return Coverage(matrix, weight, grp.astype(np.int64), need, usage[s[free]], constant, free)


def _report(
    parts: list[Part],
    components: int,
    workers: int,
    *,
    coupling: str = "",
    rounds: int = 0,
    solves: int = 0,
    whole: str = "",
) -> Decomposition:
    rows = np.array([part.rows.size for part in parts])
    return Decomposition(
        components=components,
        parts=len(parts),
        largest=parts[int(np.argmax(rows))].size,
        workers=workers,
        coupling=coupling,
        rounds=rounds,
        solves=solves,
        whole=whole,
    )


def _better(split: SitingResult, whole: SitingResult, clock: Clock, *, rel_gap: float) -> SitingResult:
    """The better plan of the split's and the whole solve's, with the better of their bounds
    (both maximised)."""
    best = whole if whole.objective > split.objective else split
    bound = max(min(split.bound, whole.bound), best.objective)
    closed = gap_closed(-best.objective, -bound, rel_gap=rel_gap, integral=False)
    status: Status = "optimal" if closed else ("time_limit" if best.status == "optimal" else best.status)
    report = split.decomposition
    note = "" if report is None else f"{report.note}; with its gap open it was solved whole as well"
    return replace(
        best,
        bound=bound,
        gap=relative_gap(best.objective, bound),
        status=status,
        solve_time=clock.total(),
        decomposition=None if report is None else replace(report, whole=note),
    )


def _p_median_note(
    matrix: object, result: SitingResult, required: ArrayLike | None, excluded: ArrayLike | None
) -> SitingResult:
    """p-median is solved whole; the note says how many parts its ``p`` couples."""
    ptr, col, _, (n, m) = distance_pairs(matrix)
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    reach = sparse.csc_array((np.ones(col.size), (row, col)), shape=(n, m))
    req, exc = site_masks(required, excluded, m)
    parts, components = split_parts(reach, ~req & ~exc, bin_rows=1)
    if components < 2:
        return result
    note = f"solved whole: p couples its {components:,} independent parts (p-median prices a site across all of them)"
    return replace(result, decomposition=_report(parts, components, 1, whole=note))
