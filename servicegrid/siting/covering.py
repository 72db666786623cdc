"""What the covering models (set cover, max cover, upgrade-or-build) share.

The validated problem (:class:`CoverProblem`: the 0/1 demand × candidate matrix, weights, costs,
capacities, required and excluded sites, and which rows the allowed candidates reach), the
integer program ``z_i <= Σ_j a_ij y_j`` assembled from sparse blocks (never a loop over pairs)
with its start point from a plan, and the result of a plan: the chosen sites in build order,
each row's serving site, and the plan's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from .checks import capacities
from .exact import Clock, relative_gap
from .heuristics.incidence import Incidence, cover_build_order
from .highs import LinearModel, csc_from_triplets
from .result import BoolArray, FloatArray, IntArray, ModelName, Sense, SitingResult, Status

__all__ = ["CoverProblem", "Reach", "candidate_reach", "cover_model", "cover_result", "cover_start"]


@dataclass(frozen=True)
class Reach:
    """Which demand rows the allowed candidates reach (``coverable``), which the required ones
    cover already (``base``), and the rows no allowed candidate reaches with the reason."""

    coverable: BoolArray
    base: BoolArray
    uncoverable: IntArray
    reason: NDArray[np.str_]


def candidate_reach(a: sparse.csc_array, req: BoolArray, exc: BoolArray) -> Reach:
    """The reach of the allowed candidates of ``a`` (``exc`` excluded) and of the required ones."""
    any_site = np.bincount(a.indices, minlength=a.shape[0]) > 0
    allowed = a @ (~exc).astype(np.float64) > 0
    base = a @ req.astype(np.float64) > 0
    uncoverable = np.flatnonzero(~allowed)
    reason = np.where(any_site[uncoverable], "only_excluded", "no_candidate").astype(np.str_)
    return Reach(allowed, base, uncoverable.astype(np.int64), reason)


@dataclass(frozen=True)
class CoverProblem:
    """A validated covering problem: matrix, weights, costs, capacities, required/excluded, reach."""

    a: sparse.csc_array
    w: FloatArray
    c: FloatArray
    cap: FloatArray
    req: BoolArray
    exc: BoolArray
    reach: Reach

    @classmethod
    def of(
        cls,
        a: sparse.csc_array,
        w: FloatArray,
        c: FloatArray,
        req: BoolArray,
        exc: BoolArray,
        capacity: ArrayLike | None,
    ) -> CoverProblem:
        """The problem with the reach of its candidates and its checked capacities."""
        reach = candidate_reach(a, req, exc)
        return cls(a, w, c, capacities(capacity, a.shape[1]), req, exc, reach)

    @property
    def capacitated(self) -> bool:
        """Whether any candidate that may open has a capacity."""
        return bool(np.isfinite(self.cap[~self.exc]).any())


def cover_model(
    a: sparse.csc_array,
    cost_y: FloatArray,
    *,
    z_cost: FloatArray,
    extra_rows: list[tuple[FloatArray, float, float]],
    z_group: tuple[IntArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> LinearModel:
    """``z_i <= Σ_j a_ij y_j`` with y binary, z in [0, 1], plus rows over y and over z.

    ``extra_rows`` are dense coefficient vectors over y with their bounds; ``z_group`` adds one
    row per group ``(group, weight, lower, upper)`` over z (or, when present, v columns).
    """
    n, m = a.shape
    a_coo = a.tocoo()
    rows = [a_coo.row.astype(np.int64), np.arange(n, dtype=np.int64)]
    cols = [a_coo.col.astype(np.int64), m + np.arange(n, dtype=np.int64)]
    vals = [-np.ones(a_coo.nnz), np.ones(n)]
    row_lower = [np.full(n, -np.inf)]
    row_upper = [np.zeros(n)]
    r = n
    for coef, lo, hi in extra_rows:
        nz = np.flatnonzero(coef)
        rows.append(np.full(nz.size, r, dtype=np.int64))
        cols.append(nz.astype(np.int64))
        vals.append(coef[nz])
        row_lower.append(np.array([lo]))
        row_upper.append(np.array([hi]))
        r += 1
    n_cols = m + n
    col_cost = [cost_y, z_cost]
    lower = [np.zeros(m), np.zeros(n)]
    upper = [np.ones(m), np.ones(n)]
    if z_group is not None:
        group, weight, lo, hi = z_group
        g = lo.size
        rows.append(r + group)
        cols.append(m + np.arange(n, dtype=np.int64))
        vals.append(weight)
        row_lower.append(lo)
        row_upper.append(hi)
        r += g
    matrix = csc_from_triplets(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), (r, n_cols))
    integer = np.zeros(n_cols, dtype=bool)
    integer[:m] = True
    return LinearModel(
        cost=np.concatenate(col_cost),
        lower=np.concatenate(lower),
        upper=np.concatenate(upper),
        integer=integer,
        matrix=matrix,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
    )


def cover_start(a: sparse.csc_array, open_cols: IntArray, extra: int = 0) -> FloatArray:
    """The point of :func:`cover_model` opening ``open_cols`` (and ``extra`` zero columns after)."""
    m = a.shape[1]
    y = np.zeros(m)
    y[open_cols] = 1.0
    z = np.minimum(a @ y, 1.0)
    return np.concatenate([y, z, np.zeros(extra)])


def cover_result(
    model: ModelName,
    problem: CoverProblem,
    chosen: IntArray,
    *,
    objective: float,
    bound: float,
    status: Status,
    sense: Sense,
    clock: Clock,
) -> SitingResult:
    """The result of the plan opening ``chosen`` (the required sites on top), in build order."""
    a, w, c, req, reach = problem.a, problem.w, problem.c, problem.req, problem.reach
    inc = Incidence.from_sparse(a)
    fixed = np.flatnonzero(req).astype(np.int64)
    sites, gains = cover_build_order(inc, w, chosen, already=reach.base)
    rank = np.full(a.shape[1], np.iinfo(np.int64).max, dtype=np.int64)
    open_order = np.concatenate([fixed, sites])
    rank[open_order] = np.arange(open_order.size)
    best = np.full(a.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, inc.col_rows, rank[inc.col_of])
    assignment = np.full(a.shape[0], -1, dtype=np.int64)
    hit = best < open_order.size
    assignment[hit] = open_order[best[hit]]
    covered = np.flatnonzero(assignment >= 0)
    clock.lap("report")
    gap = relative_gap(objective, bound)
    if status == "heuristic" and gap == 0.0:
        status = "optimal"  # the bound proves the heuristic plan
    return SitingResult(
        model=model,
        status=status,
        sense=sense,
        sites=sites,
        marginal_gain=gains,
        fixed=fixed,
        objective=float(objective),
        bound=float(bound),
        gap=gap,
        cost=float(c[sites].sum()),
        covered=covered.astype(np.int64),
        covered_weight=float(w[covered].sum()),
        uncoverable=reach.uncoverable,
        uncoverable_reason=reach.reason,
        assignment=assignment.astype(np.int64),
        solve_time=clock.total(),
        timings=MappingProxyType(dict(clock.timings)),
    )
