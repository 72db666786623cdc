"""Siting models on plain arrays: where to build or upgrade stations, with proof of quality.

Four models, each taking a demand × candidate matrix (scipy.sparse, or a dense array for small
instances) plus weights and costs, so that they work on any problem; the GeoDataFrame adaptor
that builds those arrays from a workspace lives elsewhere.

- :func:`set_cover`: the least-cost set of candidates covering every coverable demand row;
- :func:`max_cover`: the most weight covered with ``p`` new sites or within a budget;
- :func:`p_median`: the least total weighted distance with ``p`` new sites;
- :func:`upgrade_or_build`: the least-cost mix of upgrades and new stations reaching a coverage
  target in every group (township), or the most progress towards it for a budget.

Each is solved exactly as an integer program with HiGHS after cheap exact reductions (merged
identical rows, dominated rows and columns, rows already covered by required sites, forced
columns), warm-started from a heuristic plan (greedy, then swaps, tabu steps or drop-and-repair
moves). Bounds come from Lagrangian relaxations (milliseconds, and for p-median the one that
fixes sites and demand-site pairs) and the LP relaxation, whose optimum is also rounded into
plans and whose reduced costs fix columns that cannot be in a better plan; fixed columns leave
the model before the MIP. Set covering with equal costs (the fewest sites) also searches for
covers one site smaller, and proves its lower bound first on a subset of the rows (those with a
positive LP dual, grown by the rows that smaller plans leave uncovered): a MIP on a few hundred
rows settles in a fraction of the time HiGHS spends at the root of the whole model. With
``method="heuristic"`` the heuristic plan comes back with its bound, so the gap is known. A
time limit never raises: the best plan found and its gap come back with status
``"time_limit"``.

Every point HiGHS returns is checked against the model; a wrong answer from HiGHS's MIP presolve
(a known class of defects) is detected and the model solved again without presolve.

Conventions shared by all models:

- ``required`` sites are open in every plan and are not counted in ``p``, ``budget`` or the
  reported cost; ``excluded`` sites are never opened. Both take candidate indices or a boolean
  mask.
- Demand rows that no allowed candidate can reach are not an error: they are left out of the
  model and listed in :attr:`SitingResult.uncoverable` with the reason.
- Results list the chosen sites in build order: each next site is the one that newly covers
  (or, for p-median, saves) the most, and :attr:`SitingResult.marginal_gain` says how much.
- ``capacity`` (set cover, max cover, upgrade-or-build) limits the weight a site may serve
  (``nan`` or ``inf``: no limit). With any finite capacity the model assigns shares of each row
  to the open sites that reach it (:mod:`servicegrid.siting.capacitated`) and HiGHS solves
  it whole, without the reductions and heuristics, which assume that reach is service. When
  capacities make a target or full coverage impossible, the plan serves the most it can and,
  among such plans, costs the least.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from ..errors import InputError
from . import reduce as red
from .capacitated import CapacitatedAnswer, CapacitatedQuestion, solve_capacitated
from .heuristics import cover_search as heur
from .highs import (
    LinearModel,
    LpMethod,
    SolveOutcome,
    compact,
    fix_by_reduced_cost,
    solve,
)

__all__ = [
    "GroupCoverage",
    "Method",
    "ModelName",
    "Sense",
    "SiteKind",
    "SitingResult",
    "Status",
    "UncoverableReason",
    "max_cover",
    "p_median",
    "set_cover",
    "upgrade_or_build",
]

logger = logging.getLogger(__name__)

Status = Literal["optimal", "time_limit", "infeasible", "heuristic"]
Method = Literal["exact", "heuristic"]
ModelName = Literal["set_cover", "max_cover", "p_median", "upgrade_or_build"]
Sense = Literal["min", "max"]
UncoverableReason = Literal["no_candidate", "only_excluded"]
SiteKind = Literal["new", "upgrade"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class GroupCoverage:
    """Coverage per group (township) before and after a plan, against its target.

    All arrays are aligned with ``labels`` (the distinct group labels, sorted). Weights count
    coverable rows only; ``target_weight`` is ``target × coverable_weight``; ``before`` is what
    the required (existing) sites cover, ``after`` what the whole plan covers.
    """

    labels: NDArray[np.generic]
    coverable_weight: FloatArray
    uncoverable_weight: FloatArray
    target_weight: FloatArray
    before: FloatArray
    after: FloatArray
    met: BoolArray


@dataclass(frozen=True)
class SitingResult:
    """The answer of a siting model: the plan, its value, and how far from optimal it can be.

    Attributes
    ----------
    model
        Which model produced it.
    status
        ``"optimal"`` (proven within ``rel_gap``), ``"time_limit"`` (the best plan found when time
        ran out; ``gap`` says how good it is), ``"infeasible"`` (no plan satisfies the
        constraints; only p-median without a penalty can be), ``"heuristic"`` (the greedy-plus-
        swap plan with a proven bound).
    sense
        Whether ``objective`` is minimised or maximised; ``bound`` is a lower bound on the optimum
        for ``"min"`` and an upper bound for ``"max"``.
    sites
        Chosen candidate indices (required sites not included), in build order.
    marginal_gain
        For each entry of ``sites``: the weight it newly covers after the required sites and the
        sites before it. For p-median, the weighted distance it saves, a row that no site opened
        so far reaches counting at the unserved penalty (or, without one, at the largest
        distance in ``dist`` plus one). With capacities, the weight it serves (in decreasing
        order).
    fixed
        The required candidate indices (open in every plan), ascending.
    objective, bound, gap
        The plan's value, the proven bound on the optimum, and ``|objective - bound| /
        |objective|`` (0 when proven optimal, ``inf`` when there is no plan).
    cost
        Total cost of ``sites``.
    covered
        Demand rows covered (p-median: served) by the plan, required sites included, ascending.
    covered_weight
        Their total weight.
    uncoverable, uncoverable_reason
        Demand rows no allowed candidate can reach, and why: ``"no_candidate"`` (no candidate
        at all) or ``"only_excluded"`` (only excluded candidates reach it).
    assignment
        For every demand row, the open candidate serving it (the nearest for p-median, else the
        earliest in build order with required sites first), or -1.
    solve_time
        Seconds from the call to the answer.
    timings
        Seconds per phase (``reduce``, ``heuristic``, ``build``, ``bound``, ``solve``, ...).
    groups
        Coverage per group, for :func:`upgrade_or_build`.
    site_kind
        The ``kind`` of each entry of ``sites`` when kinds were given.
    shares
        With capacities: demand × candidate, the share of each row's weight each open site
        serves (a row may be split between sites; its covered share is the row sum). ``None``
        without capacities, where a row is covered whole by any open site within reach.
    """

    model: ModelName
    status: Status
    sense: Sense
    sites: IntArray
    marginal_gain: FloatArray
    fixed: IntArray
    objective: float
    bound: float
    gap: float
    cost: float
    covered: IntArray
    covered_weight: float
    uncoverable: IntArray
    uncoverable_reason: NDArray[np.str_]
    assignment: IntArray
    solve_time: float
    timings: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    groups: GroupCoverage | None = None
    site_kind: NDArray[np.str_] | None = None
    shares: sparse.csr_array | None = None

    @property
    def open_sites(self) -> IntArray:
        """Every open candidate: the required ones, then the chosen ones in build order."""
        return np.concatenate([self.fixed, self.sites])

    def summary(self) -> dict[str, float | int | str]:
        """The plan's headline numbers as plain Python values (for a summary table)."""
        return {
            "model": self.model,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "sites": int(self.sites.size),
            "fixed": int(self.fixed.size),
            "cost": self.cost,
            "covered_rows": int(self.covered.size),
            "covered_weight": self.covered_weight,
            "uncoverable_rows": int(self.uncoverable.size),
            "solve_time": self.solve_time,
        }


# ---------------------------------------------------------------------------------------------
# input checks


class _Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.perf_counter()
        self.deadline = self.start + limit
        self._last = self.start
        self.timings: dict[str, float] = {}

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._last
        self._last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


def _check_options(time_limit: float, method: str, rel_gap: float) -> None:
    if not (isinstance(time_limit, int | float) and np.isfinite(time_limit) and time_limit > 0):
        msg = f"time_limit must be a positive number of seconds, got {time_limit!r}"
        raise InputError(msg, field="time_limit")
    if method not in get_args(Method):
        msg = f"method={method!r} is not supported; use one of {get_args(Method)}"
        raise InputError(msg, field="method")
    if not (isinstance(rel_gap, int | float) and 0 <= rel_gap < 1):
        msg = f"rel_gap must be in [0, 1), got {rel_gap!r}"
        raise InputError(msg, field="rel_gap")


def _cover_matrix(cover: object) -> sparse.csc_array:
    if sparse.issparse(cover):
        a = sparse.csc_array(cover, copy=True)  # type: ignore[arg-type]
    elif isinstance(cover, np.ndarray):
        if cover.ndim != 2:
            msg = f"the coverage matrix must be 2-D (demand × candidate), got {cover.ndim}-D"
            raise InputError(msg, field="cover")
        a = sparse.csc_array(cover)
    else:
        msg = (
            "the coverage matrix must be a scipy.sparse matrix or a 2-D numpy array, "
            f"got {type(cover).__name__}"
        )
        raise InputError(msg, field="cover")
    if a.ndim != 2:
        msg = "the coverage matrix must be 2-D (demand × candidate)"
        raise InputError(msg, field="cover")
    a.sum_duplicates()
    data = np.asarray(a.data)
    if data.dtype != np.bool_:
        bad = ~((data == 0) | (data == 1))
        if bad.any():
            rows = a.indices[np.flatnonzero(bad)[:3]]
            msg = (
                f"the coverage matrix must hold 0/1 (or boolean) values; found {data[bad][0].item()!r} "
                f"(demand rows {rows.tolist()}); pass `distances <= radius` rather than distances"
            )
            raise InputError(msg, field="cover")
    out = sparse.csc_array(
        (np.ones(a.nnz), a.indices.astype(np.int64), a.indptr.astype(np.int64)), shape=a.shape
    )
    out.data[np.asarray(data, dtype=np.float64) == 0] = 0.0
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _vector(values: ArrayLike, size: int, *, name: str, what: str) -> FloatArray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != size:
        msg = f"{name} must have one value per {what} ({size}), got shape {arr.shape}"
        raise InputError(msg, field=name)
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
        msg = f"{name} must be numeric, got dtype {arr.dtype}"
        raise InputError(msg, field=name)
    out = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        msg = f"{name} must be finite; {what} {int(bad[0])} has {float(out[bad[0]])!r}"
        raise InputError(msg, field=name)
    neg = np.flatnonzero(out < 0)
    if neg.size:
        msg = f"{name} must not be negative; {what} {int(neg[0])} has {float(out[neg[0]])!r}"
        raise InputError(msg, field=name)
    return out


def _site_mask(sites: ArrayLike | None, m: int, *, name: str) -> BoolArray:
    mask = np.zeros(m, dtype=bool)
    if sites is None:
        return mask
    arr = np.asarray(sites)
    if arr.dtype == np.bool_:
        if arr.shape != (m,):
            msg = f"{name} as a boolean mask needs one value per candidate ({m}), got shape {arr.shape}"
            raise InputError(msg, field=name)
        return arr.copy()
    arr = arr.ravel()
    if arr.size == 0:
        return mask
    if not np.issubdtype(arr.dtype, np.integer):
        msg = f"{name} must be candidate indices (integers) or a boolean mask, got dtype {arr.dtype}"
        raise InputError(msg, field=name)
    bad = arr[(arr < 0) | (arr >= m)]
    if bad.size:
        msg = f"{name} holds candidate index {int(bad[0])}, outside 0..{m - 1}"
        raise InputError(msg, field=name)
    mask[arr] = True
    return mask


def _sites(required: ArrayLike | None, excluded: ArrayLike | None, m: int) -> tuple[BoolArray, BoolArray]:
    req = _site_mask(required, m, name="required")
    exc = _site_mask(excluded, m, name="excluded")
    both = np.flatnonzero(req & exc)
    if both.size:
        msg = (
            f"candidates {both[:10].tolist()} are both required and excluded; a site can be one or the other"
        )
        raise InputError(msg, field="required")
    return req, exc


def _check_p(p: object, req: BoolArray, exc: BoolArray) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        msg = f"p must be a whole number of new sites, got {p!r}"
        raise InputError(msg, field="p")
    free = int((~req & ~exc).sum())
    if p < 1:
        msg = f"p must be at least 1, got {p}"
        raise InputError(msg, field="p")
    if p > free:
        msg = (
            f"p={p} new sites but only {free} candidates can be chosen "
            f"({req.size} candidates, {int(req.sum())} required, {int(exc.sum())} excluded)"
        )
        raise InputError(msg, field="p")
    return int(p)


def _check_budget(budget: object) -> float:
    if isinstance(budget, bool) or not isinstance(budget, int | float | np.integer | np.floating):
        msg = f"budget must be a number, got {budget!r}"
        raise InputError(msg, field="budget")
    if not np.isfinite(budget) or budget <= 0:
        msg = f"budget must be a positive amount, got {budget!r}"
        raise InputError(msg, field="budget")
    return float(budget)


# ---------------------------------------------------------------------------------------------
# reach of the candidates


@dataclass(frozen=True)
class _Reach:
    coverable: BoolArray
    base: BoolArray
    uncoverable: IntArray
    reason: NDArray[np.str_]


def _reach(a: sparse.csc_array, req: BoolArray, exc: BoolArray) -> _Reach:
    any_site = np.bincount(a.indices, minlength=a.shape[0]) > 0
    allowed = a @ (~exc).astype(np.float64) > 0
    base = a @ req.astype(np.float64) > 0
    uncoverable = np.flatnonzero(~allowed)
    reason = np.where(any_site[uncoverable], "only_excluded", "no_candidate").astype(np.str_)
    return _Reach(allowed, base, uncoverable.astype(np.int64), reason)


# ---------------------------------------------------------------------------------------------
# exact solve shared by the models


#: A model's own stage of :func:`_exact` between the LP and the MIP: given the model with its
#: reduced-cost fixings, the LP outcome, the incumbent's value and the best lower bound, it
#: returns a better plan as a point of the model (or None), the incumbent's value (the new one
#: when better) and a lower bound. A point may leave the fixings' bounds; it then cannot start
#: the MIP, which only looks for plans better than it.
Refine = Callable[[LinearModel, SolveOutcome, float, float], tuple[FloatArray | None, float, float]]


@dataclass(frozen=True)
class _Exact:
    """Outcome of the exact pipeline, in minimisation form.

    ``x`` is the solver's point when it beat the caller's incumbent, None when the incumbent
    stands (or, with status infeasible, when there is no plan at all).
    """

    x: FloatArray | None
    objective: float
    bound: float
    status: Status


def _integral(*arrays: FloatArray) -> bool:
    return all(bool(np.all(np.abs(a) < 2**50) and np.all(a == np.round(a))) for a in arrays if a.size)


def _closed(objective: float, bound: float, *, rel_gap: float, integral: bool) -> bool:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return False
    diff = objective - bound
    if integral and diff < 1 - 1e-6:
        return True
    return diff <= rel_gap * max(abs(objective), 1e-9) + 1e-9


def _tighten(objective: float, bound: float, *, integral: bool) -> float:
    """With an integral objective, a lower bound within 1 of the plan proves the plan's value."""
    if integral and np.isfinite(objective) and np.isfinite(bound) and 0 <= objective - bound < 1 - 1e-6:
        return objective
    return bound


def _within(x: FloatArray, model: LinearModel) -> bool:
    return bool(np.all(x >= model.lower - 1e-9) and np.all(x <= model.upper + 1e-9))


def _exact(
    model: LinearModel,
    start: FloatArray | None,
    incumbent: float,
    clock: _Clock,
    *,
    rel_gap: float,
    integral: bool,
    lp_method: LpMethod = "dual",
    use_lp: bool = True,
    known_bound: float = -np.inf,
    presolve: bool = True,
    round_lp: Callable[[FloatArray], tuple[FloatArray, float]] | None = None,
    refine: Refine | None = None,
) -> _Exact:
    """Prove or improve an incumbent: LP bound, reduced-cost fixing, then the MIP.

    ``incumbent`` is the value of the caller's best plan (``inf`` when there is none) and
    ``start`` its point in ``model`` (None when it cannot be written there, e.g. because a
    Lagrangian reduction removed one of its pairs; the model then only holds better plans).
    ``known_bound`` is a lower bound proven elsewhere. ``integral`` says that every plan's
    value is a whole number (so a bound within 1 proves optimality). ``round_lp`` turns the LP optimum into a
    plan (point and value), which replaces the incumbent when better. ``refine`` is a model's own
    stage between the LP and the MIP (see :data:`Refine`); when it finds a better plan the
    columns are fixed again against it. Fixed columns are removed before the MIP.
    """
    margin = 1 - 1e-6 if integral else 0.0
    bound = known_bound
    reduced = model
    x_best: FloatArray | None = None
    if use_lp and clock.left() > 0 and not _closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
        lp = solve(model, relax=True, time_limit=clock.left(), lp_method=lp_method)
        clock.lap("bound")
        if lp.outcome == "infeasible":
            return _Exact(None, np.inf, np.inf, "infeasible")
        if lp.outcome == "optimal":
            bound = max(bound, lp.objective)
            if round_lp is not None and lp.x is not None:
                point, value = round_lp(lp.x)
                clock.lap("heuristic")
                if value < incumbent:
                    start, incumbent, x_best = point, value, point
        if np.isfinite(incumbent):
            reduced, fixed = fix_by_reduced_cost(model, lp, incumbent, margin=margin)
            logger.debug("reduced-cost fixing fixed %d of %d columns", fixed, model.n_cols)
        if (
            refine is not None
            and clock.left() > 0
            and not _closed(incumbent, bound, rel_gap=rel_gap, integral=integral)
        ):
            point, value, bound = refine(reduced, lp, incumbent, bound)
            if point is not None and value < incumbent:
                start, incumbent, x_best = point, value, point
                reduced, fixed = fix_by_reduced_cost(model, lp, incumbent, margin=margin)
                logger.debug("reduced-cost fixing against the refined plan fixed %d columns", fixed)
    if _closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
        return _Exact(x_best, incumbent, _tighten(incumbent, bound, integral=integral), "optimal")
    if clock.left() <= 0:
        return _Exact(x_best, incumbent, bound, "time_limit")
    packed = compact(reduced)
    if packed is None:  # the fixings leave no point: nothing beats the incumbent
        return _Exact(x_best, incumbent, bound, "optimal" if np.isfinite(incumbent) else "infeasible")
    small, kept, fixed_point = packed
    mip_start = None
    if start is not None and _within(start, reduced):
        mip_start = start[kept]
    mip: SolveOutcome = solve(
        small, time_limit=clock.left(), rel_gap=rel_gap, start=mip_start, presolve=presolve
    )
    clock.lap("solve")
    if mip.outcome == "infeasible" and not np.isfinite(incumbent):
        return _Exact(None, np.inf, np.inf, "infeasible")
    improved = mip.x is not None and mip.objective < incumbent
    if improved and mip.x is not None:
        x_best = fixed_point.copy()
        x_best[kept] = mip.x
    value = mip.objective if improved else incumbent
    # the reduced model lost only plans no better than the incumbent
    reduced_bound = np.inf if mip.outcome == "infeasible" else mip.bound
    bound = max(bound, min(incumbent, reduced_bound))
    if not np.isfinite(value):
        return _Exact(None, np.inf, bound, "time_limit")
    bound = min(bound, value)
    done = mip.outcome in ("optimal", "infeasible")
    if done or _closed(value, bound, rel_gap=rel_gap, integral=integral):
        return _Exact(x_best, value, _tighten(value, bound, integral=integral), "optimal")
    return _Exact(x_best, value, bound, "time_limit")


def _gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return np.inf
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / abs(objective) if objective != 0 else np.inf


# ---------------------------------------------------------------------------------------------
# building models from sparse blocks (no loops over pairs)


def _csc(rows: IntArray, cols: IntArray, vals: FloatArray, shape: tuple[int, int]) -> sparse.csc_array:
    out = sparse.csc_array((vals, (rows, cols)), shape=shape)
    out.sum_duplicates()
    return out


def _cover_model(
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
    matrix = _csc(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), (r, n_cols))
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


def _cover_start(a: sparse.csc_array, open_cols: IntArray, extra: int = 0) -> FloatArray:
    m = a.shape[1]
    y = np.zeros(m)
    y[open_cols] = 1.0
    z = np.minimum(a @ y, 1.0)
    return np.concatenate([y, z, np.zeros(extra)])


# ---------------------------------------------------------------------------------------------
# set cover


def set_cover(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    cost: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The least-cost set of candidates that covers every coverable demand row.

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix (``cover[i, j]`` is 1 when candidate ``j`` covers demand
        row ``i``), scipy.sparse or a dense array.
    cost
        Cost of each candidate (non-negative).
    weight
        Weight of each demand row (households); used to report the weight each site newly
        covers, and against capacities. Default 1 per row.
    required, excluded
        Candidates that must be open (existing compliant facilities) or may not be opened, as
        indices or a boolean mask. Required sites cost nothing in the objective.
    capacity
        Most weight each candidate may serve (``nan``/``inf``: no limit); see the module notes.
    time_limit
        Seconds for the whole call; the best plan found by then is returned.
    method
        ``"exact"`` (integer program) or ``"heuristic"`` (greedy plus pruning, with the LP bound).
    rel_gap
        Relative gap at which the integer program counts as solved.

    Returns
    -------
    SitingResult
        ``objective`` is the total cost of the chosen sites; rows no allowed candidate reaches
        are in ``uncoverable``.

    Raises
    ------
    InputError
        On a malformed matrix, negative or non-finite costs or weights, shape mismatches, bad
        site indices, or sites both required and excluded.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> cover = sparse.csr_array(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]]))
    >>> plan = set_cover(cover, [3.0, 1.0, 1.0])
    >>> plan.sites.tolist(), plan.objective, plan.status, plan.uncoverable.tolist()
    ([1, 2], 2.0, 'optimal', [3])
    """
    _check_options(time_limit, method, rel_gap)
    clock = _Clock(float(time_limit))
    a = _cover_matrix(cover)
    n, m = a.shape
    c = _vector(cost, m, name="cost", what="candidate")
    w = np.ones(n) if weight is None else _vector(weight, n, name="weight", what="demand row")
    req, exc = _sites(required, excluded, m)
    reach = _reach(a, req, exc)
    cap = _capacity(capacity, m)
    if np.isfinite(cap[~exc]).any():

        def relaxed(limit: float) -> SitingResult:
            return set_cover(a, c, weight=w, required=req, excluded=exc, time_limit=limit, method="heuristic")

        problem = _Problem(a, w, c, cap, req, exc, reach)
        return _capacitated("set_cover", problem, clock, rel_gap=rel_gap, relaxed=relaxed)
    rows = np.flatnonzero(reach.coverable & ~reach.base)
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    forced, keep_rows, keep_cols = _reduce_set_cover(sub, c[cols])
    clock.lap("reduce")
    chosen_sub = forced.copy()
    objective_extra = float(c[cols[forced]].sum())
    status: Status = "optimal"
    bound = 0.0
    if keep_rows.size:
        a_red = sub[keep_rows][:, keep_cols].tocsc()
        c_red = c[cols[keep_cols]]
        inc = heur.Incidence.from_sparse(a_red)
        plan = heur.prune_set_cover(inc, c_red, heur.greedy_set_cover(inc, c_red))
        plan, lower = heur.lagrangian_set_cover(
            inc, c_red, plan, iterations=300, deadline=clock.start + 0.25 * (clock.deadline - clock.start)
        )
        plan = heur.improve_set_cover(inc, c_red, plan, deadline=clock.deadline)
        hard = np.zeros(inc.n_rows, dtype=bool)
        equal_cost = bool(c_red.size and np.all(c_red == c_red[0]) and c_red[0] > 0)
        if equal_cost:  # fewest sites
            floor = int(np.ceil(lower / c_red[0] - 1e-6)) if np.isfinite(lower) else 1
            plan, hard = heur.fewer_sites_cover(inc, plan, floor=floor, deadline=clock.deadline)
        plan_value = float(c_red[plan].sum())
        clock.lap("heuristic")
        model = LinearModel(
            cost=c_red,
            lower=np.zeros(c_red.size),
            upper=np.ones(c_red.size),
            integer=np.ones(c_red.size, dtype=bool),
            matrix=a_red,
            row_lower=np.ones(a_red.shape[0]),
            row_upper=np.full(a_red.shape[0], np.inf),
        )
        clock.lap("build")
        start = np.zeros(c_red.size)
        start[plan] = 1.0
        if method == "heuristic":
            lower = max(lower, _set_cover_floor(a_red, c_red))
            if not _closed(plan_value, lower, rel_gap=rel_gap, integral=_integral(c_red)):
                lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3))
                clock.lap("bound")
                if lp.outcome == "optimal":
                    lower = max(lower, lp.objective)
            lower = _tighten(plan_value, lower, integral=_integral(c_red))
            picked, value, bound, status = plan, plan_value, lower, "heuristic"
        else:

            def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
                order = np.lexsort((c_red, -np.round(x, 9)))
                cover_plan = heur.improve_set_cover(
                    inc, c_red, heur.cover_in_order(inc, order), deadline=clock.deadline
                )
                point = np.zeros(c_red.size)
                point[cover_plan] = 1.0
                return point, float(c_red[cover_plan].sum())

            def refine(
                reduced: LinearModel, lp: SolveOutcome, incumbent: float, bound: float
            ) -> tuple[FloatArray | None, float, float]:
                return _cover_rows_first(
                    reduced, lp, incumbent, bound, inc=inc, clock=clock, rel_gap=rel_gap, hard=hard
                )

            ex = _exact(
                model,
                start,
                plan_value,
                clock,
                rel_gap=rel_gap,
                integral=_integral(c_red),
                round_lp=round_lp,
                known_bound=lower,
                refine=refine if equal_cost else None,
            )
            picked = plan if ex.x is None else np.flatnonzero(ex.x > 0.5)
            value, bound, status = float(c_red[picked].sum()), ex.bound, ex.status
        chosen_sub = np.concatenate([forced, keep_cols[picked]])
        bound += objective_extra
        objective = value + objective_extra
    else:
        objective = objective_extra
        bound = objective
    chosen = np.sort(cols[chosen_sub])
    return _cover_result(
        "set_cover",
        a,
        w,
        c,
        req,
        chosen,
        reach,
        objective=objective,
        bound=min(bound, objective),
        status=status,
        sense="min",
        clock=clock,
    )


def _cover_rows_first(
    model: LinearModel,
    lp: SolveOutcome,
    incumbent: float,
    bound: float,
    *,
    inc: heur.Incidence,
    clock: _Clock,
    rel_gap: float,
    hard: BoolArray | None = None,
    max_rounds: int = 6,
    share: float = 0.5,
) -> tuple[FloatArray | None, float, float]:
    """Fewest sites by rows: exact covers of a subset of the rows for bounds, swaps for plans.

    For set covering with equal costs. Every cover of all rows covers any subset of them, so the
    fewest sites covering a subset is a lower bound, and a MIP on a few hundred rows proves it
    far sooner than one on all of them (HiGHS's root cuts and heuristics work on every row).
    The first subset is the rows with a positive LP dual (without the others the LP optimum is
    unchanged, by complementary slackness, so the subset keeps the LP's strength) and the
    ``hard`` rows, those that plans one site smaller than the incumbent left uncovered. Each
    round solves the subset exactly. When its plan covers every row it is optimal outright;
    otherwise :func:`heur.cover_with_sites` looks for a cover of every row by as many sites, and
    the rows left uncovered by the plan and by that search join the subset. Bounds hold for
    ``model`` as given, with its reduced-cost fixings (a subset optimum above the incumbent
    proves the incumbent). Stops when the gap closes, after ``max_rounds`` rounds, or when the
    subset grows past ``share`` of the rows (a MIP on most rows is no quicker than the one on
    all); the MIP on all rows then starts from what was found. Returns (better plan as a point
    of ``model`` or None, its value, bound).
    """
    if lp.outcome != "optimal" or lp.row_dual is None:
        return None, incumbent, bound
    integral = _integral(model.cost)
    csr = model.matrix.tocsr()
    first = np.abs(lp.row_dual) > 1e-9
    if hard is not None:
        first |= hard
    rows = np.flatnonzero(first)
    best: FloatArray | None = None
    tol = 1e-9 * max(abs(incumbent), 1.0) if np.isfinite(incumbent) else 1e-9
    for round_ in range(max_rounds):
        if rows.size == 0 or rows.size > share * model.n_rows or clock.left() <= 0:
            break
        part = sparse.csc_array(csr[rows])
        cols = np.flatnonzero((np.diff(part.indptr) > 0) & (model.upper > 0))  # columns covering a row
        sub = LinearModel(
            cost=model.cost[cols],
            lower=model.lower[cols],
            upper=model.upper[cols],
            integer=model.integer[cols],
            matrix=sparse.csc_array(part[:, cols]),
            row_lower=model.row_lower[rows],
            row_upper=model.row_upper[rows],
            offset=float(model.cost @ model.lower - model.cost[cols] @ model.lower[cols]),
        )
        # no MIP start: with one, HiGHS's presolve has returned wrong optima on these subsets
        out = solve(sub, time_limit=clock.left() / 2, rel_gap=rel_gap)
        clock.lap("solve")
        if out.outcome == "infeasible":  # no plan the fixings allow covers even these rows
            return best, incumbent, max(bound, incumbent)
        bound = max(bound, min(incumbent, out.bound))
        logger.debug(
            "set cover on %d of %d rows (round %d): %s %.6g, bound %.6g",
            rows.size,
            model.n_rows,
            round_ + 1,
            out.outcome,
            out.objective,
            bound,
        )
        if out.x is None:
            break
        x = model.lower.copy()
        x[cols] = out.x > 0.5
        left = np.flatnonzero(csr @ x < 0.5)
        if left.size == 0:  # the subset's plan covers every row: optimal when proven on the subset
            if float(model.cost @ x) < incumbent - tol:
                best, incumbent = x, float(model.cost @ x)
            if out.outcome == "optimal":
                bound = max(bound, min(incumbent, out.bound))
        else:
            found, missed = heur.cover_with_sites(inc, np.flatnonzero(x > 0.5), deadline=clock.deadline)
            if found is not None and float(model.cost[found].sum()) < incumbent - tol:
                best = np.zeros(model.n_cols)
                best[found] = 1.0
                incumbent = float(model.cost[found].sum())
                logger.debug("swap search covered every row at cost %.6g", incumbent)
            left = np.union1d(left, np.flatnonzero(missed))
        clock.lap("heuristic")
        if _closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
            break
        rows = np.union1d(rows, left)
    return best, incumbent, bound


def _set_cover_floor(a: sparse.csc_array, c: FloatArray) -> float:
    """A weak but valid lower bound: the dearest row's cheapest column."""
    csr = a.tocsr()
    cheapest = np.minimum.reduceat(c[csr.indices], csr.indptr[:-1]) if csr.nnz else np.zeros(1)
    return float(np.max(cheapest, initial=0.0))


def _reduce_set_cover(
    sub: sparse.csc_array, cost: FloatArray, *, max_rounds: int = 8
) -> tuple[IntArray, IntArray, IntArray]:
    """Forced columns, and the rows and columns left after the exact set-cover reductions."""
    rows = np.arange(sub.shape[0])
    cols = np.arange(sub.shape[1])
    forced: list[IntArray] = []
    for _ in range(max_rounds):
        changed = False
        a = sub[rows][:, cols].tocsc()
        # a row with one column forces it
        row_len = np.diff(a.tocsr().indptr)
        single = np.flatnonzero(row_len == 1)
        if single.size:
            ess = np.unique(a.tocsr()[single].indices)
            forced.append(cols[ess])
            hit = np.diff(a[:, ess].tocsr().indptr) > 0
            rows = rows[~hit]
            keep = np.ones(cols.size, dtype=bool)
            keep[ess] = False
            cols = cols[keep]
            changed = True
            a = sub[rows][:, cols].tocsc()
        # columns dearer than their rows' cheapest alternatives, or inside a better column
        c = cost[cols]
        drop = red.set_cover_column_bound(a, c)
        size = np.diff(a.indptr)
        rank = np.empty(cols.size, dtype=np.int64)
        rank[np.lexsort((np.arange(cols.size), -size, c))] = np.arange(cols.size)
        drop |= red.dominated_columns(a.tocsr(), rank)
        drop |= size == 0
        if drop.any():
            cols = cols[~drop]
            changed = True
            a = sub[rows][:, cols].tocsc()
        # rows implied by a row with fewer columns
        redundant = red.dominated_rows(a)
        if redundant.any():
            rows = rows[~redundant]
            changed = True
        if not changed or rows.size == 0:
            break
    if rows.size == 0:
        cols = cols[:0]
    forced_cols = np.concatenate(forced) if forced else np.zeros(0, dtype=np.int64)
    logger.debug(
        "set cover reductions: %d×%d -> %d×%d, %d forced",
        sub.shape[0],
        sub.shape[1],
        rows.size,
        cols.size,
        forced_cols.size,
    )
    return forced_cols.astype(np.int64), rows.astype(np.int64), cols.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# maximal covering


def max_cover(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The most demand weight covered with ``p`` new sites, or within a budget (or both).

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix, scipy.sparse or dense.
    weight
        Weight of each demand row (households), non-negative.
    p
        Number of new sites (required sites come on top).
    budget
        Most the new sites may cost in total; needs ``cost``.
    cost
        Cost of each candidate (non-negative).
    required, excluded
        Candidates that must be open or may not be opened (indices or boolean mask).
    capacity, time_limit, method, rel_gap
        As for :func:`set_cover`.

    Returns
    -------
    SitingResult
        ``objective`` is the covered weight, required sites' coverage included; ``bound`` an
        upper bound on it.

    Raises
    ------
    InputError
        When neither ``p`` nor ``budget`` is given, ``p`` is not between 1 and the number of
        choosable candidates, the budget is not positive, ``budget`` comes without ``cost``, or on
        the errors listed for :func:`set_cover`.

    Examples
    --------
    >>> import numpy as np
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]])
    >>> plan = max_cover(cover, [5, 1, 4, 2], p=2)
    >>> plan.sites.tolist(), plan.objective, plan.marginal_gain.tolist()
    ([0, 1], 10.0, [6.0, 4.0])
    """
    _check_options(time_limit, method, rel_gap)
    clock = _Clock(float(time_limit))
    a = _cover_matrix(cover)
    n, m = a.shape
    w = _vector(weight, n, name="weight", what="demand row")
    req, exc = _sites(required, excluded, m)
    if p is None and budget is None:
        msg = "give p (number of new sites), budget (with cost), or both"
        raise InputError(msg, field="p")
    p_ = None if p is None else _check_p(p, req, exc)
    b_ = None if budget is None else _check_budget(budget)
    if b_ is not None and cost is None:
        msg = "a budget needs the cost of each candidate (cost=...)"
        raise InputError(msg, field="cost")
    c = np.zeros(m) if cost is None else _vector(cost, m, name="cost", what="candidate")
    reach = _reach(a, req, exc)
    cap = _capacity(capacity, m)
    if np.isfinite(cap[~exc]).any():

        def relaxed(limit: float) -> SitingResult:
            return max_cover(
                a,
                w,
                p=p_,
                budget=b_,
                cost=c,
                required=req,
                excluded=exc,
                time_limit=limit,
                method="heuristic",
            )

        problem = _Problem(a, w, c, cap, req, exc, reach)
        return _capacitated("max_cover", problem, clock, rel_gap=rel_gap, p=p_, budget=b_, relaxed=relaxed)
    base_weight = float(w[reach.base].sum())
    rows = np.flatnonzero(reach.coverable & ~reach.base & (w > 0))
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    # merge identical rows, drop useless and dominated columns
    if rows.size:
        rep, grp = red.merge_identical_rows(sub.tocsr())
        w_sub = np.bincount(grp, weights=w[rows], minlength=rep.size)
        sub = sub[rep].tocsc()
    else:
        w_sub = np.zeros(0)
    size = np.diff(sub.indptr)
    rank = np.empty(cols.size, dtype=np.int64)
    keys = (np.arange(cols.size), -size) if b_ is None else (np.arange(cols.size), -size, c[cols])
    rank[np.lexsort(keys)] = np.arange(cols.size)
    useful = (size > 0) & ~red.dominated_columns(sub.tocsr(), rank)
    if b_ is not None:
        useful &= c[cols] <= b_ * (1 + 1e-12)
    keep_cols = np.flatnonzero(useful)
    a_red = sub[:, keep_cols].tocsc()
    c_red = c[cols[keep_cols]]
    clock.lap("reduce")
    budget_cost = c_red if b_ is not None else None
    status: Status = "optimal"
    if a_red.shape[0] and keep_cols.size:
        inc = heur.Incidence.from_sparse(a_red)
        found = heur.max_cover_heuristic(
            inc, w_sub, p=p_, cost=budget_cost, budget=b_, deadline=clock.deadline
        )
        plan, value, upper = found.sites, found.value, found.bound
        clock.lap("heuristic")
        if p_ is not None and b_ is None and method == "exact" and value < upper:
            lag_plan, lag_bound, _ = heur.lagrangian_max_cover(
                inc,
                w_sub,
                plan,
                p_,
                iterations=300,
                deadline=clock.start + 0.25 * (clock.deadline - clock.start),
            )
            lag_value = _covered_weight(a_red, w_sub, lag_plan)
            if lag_value > value:
                plan, value = lag_plan, lag_value
            upper = min(upper, lag_bound)
            clock.lap("bound")
        extra = []
        if p_ is not None:
            extra.append((np.ones(keep_cols.size), -np.inf, float(p_)))
        if b_ is not None:
            extra.append((c_red.copy(), -np.inf, b_))
        model = _cover_model(a_red, np.zeros(keep_cols.size), z_cost=-w_sub, extra_rows=extra)
        clock.lap("build")
        if method == "heuristic":
            integral = _integral(w_sub)
            if not _closed(-value, -upper, rel_gap=rel_gap, integral=integral):
                lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method="primal")
                clock.lap("bound")
                if lp.outcome == "optimal":
                    upper = min(upper, -lp.objective)
            upper = -_tighten(-value, -upper, integral=integral)
            picked, sub_value, sub_bound, status = plan, value, upper, "heuristic"
        else:

            def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
                order = np.argsort(-x[: keep_cols.size], kind="stable")
                seed = _affordable_prefix(order, p_, budget_cost, b_)
                better = heur.improve_max_cover(
                    inc, w_sub, seed, p=p_, cost=budget_cost, budget=b_, deadline=clock.deadline
                )
                point = _cover_start(a_red, better)
                return point, -float(w_sub @ point[keep_cols.size :])

            ex = _exact(
                model,
                _cover_start(a_red, plan),
                -value,
                clock,
                rel_gap=rel_gap,
                integral=_integral(w_sub),  # z is 0/1 once y is
                lp_method="primal",
                known_bound=-upper,
                presolve=False,  # after the reductions, HiGHS presolve costs more than it saves
                round_lp=round_lp,
            )
            picked = plan if ex.x is None else np.flatnonzero(ex.x[: keep_cols.size] > 0.5)
            sub_value = _covered_weight(a_red, w_sub, picked)
            sub_bound, status = -ex.bound, ex.status
        chosen = np.sort(cols[keep_cols[picked]])
    else:
        chosen = np.zeros(0, dtype=np.int64)
        sub_value = sub_bound = 0.0
    objective = base_weight + sub_value
    return _cover_result(
        "max_cover",
        a,
        w,
        c,
        req,
        chosen,
        reach,
        objective=objective,
        bound=max(base_weight + sub_bound, objective),
        status=status,
        sense="max",
        clock=clock,
    )


def _covered_weight(a: sparse.csc_array, w: FloatArray, sites: IntArray) -> float:
    hit = np.zeros(a.shape[0], dtype=bool)
    sub = a[:, np.asarray(sites, dtype=np.int64)]
    hit[sparse.csc_array(sub).indices] = True
    return float(w[hit].sum())


def _affordable_prefix(
    order: IntArray, p: int | None, cost: FloatArray | None, budget: float | None
) -> IntArray:
    """The longest prefix of ``order`` that fits in ``p`` sites and in the budget."""
    if budget is None or cost is None:
        return order[: (order.size if p is None else p)].astype(np.int64)
    spent = np.cumsum(cost[order])
    fits = order[spent <= budget * (1 + 1e-12)]
    return fits[: (fits.size if p is None else p)].astype(np.int64)


# ---------------------------------------------------------------------------------------------
# upgrade or build


def upgrade_or_build(
    cover: sparse.sparray | sparse.spmatrix | NDArray[np.generic],
    weight: ArrayLike,
    cost: ArrayLike,
    group: ArrayLike,
    target: float,
    *,
    budget: float | None = None,
    kind: ArrayLike | None = None,
    required: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    time_limit: float = 60.0,
    method: Method = "exact",
    rel_gap: float = 1e-6,
) -> SitingResult:
    """The least-cost mix of upgrades and new stations meeting a coverage target in every group.

    Candidates are new sites and existing facilities that fail their standard (an upgrade makes
    them count); ``kind`` tells them apart for reporting. Without a budget, the plan is the
    cheapest one in which every group (township) covers at least ``target`` of its coverable
    weight. With a budget, the plan makes the most progress towards the targets: it maximises
    the covered weight counted in each group only up to its target (so money goes to the groups
    furthest behind), and when the budget lets every group reach its target, the cheapest such
    plan is returned.

    Parameters
    ----------
    cover
        Demand × candidate 0/1 matrix, scipy.sparse or dense.
    weight
        Weight of each demand row (households), non-negative.
    cost
        Cost of each candidate: the build cost of a new site, the upgrade cost of a failing one.
    group
        Group label of each demand row (township code or name).
    target
        Share of each group's coverable weight to cover, in (0, 1].
    budget
        Most the plan may cost; switches to the most-progress objective.
    kind
        ``"new"`` or ``"upgrade"`` per candidate; reported per chosen site in ``site_kind``.
    required, excluded
        Candidates that must be open (compliant facilities) or may not be opened.
    capacity, time_limit, method, rel_gap
        As for :func:`set_cover`.

    Returns
    -------
    SitingResult
        Without a budget, ``objective`` is the plan's cost; with one, the covered weight counted
        up to each group's target. ``groups`` holds coverage per group before and after.
        Weight no candidate can reach is outside every target and listed in ``uncoverable``.

    Raises
    ------
    InputError
        On a target outside (0, 1], a non-positive budget, kinds other than new/upgrade, shape
        mismatches, or the errors listed for :func:`set_cover`.
    """
    _check_options(time_limit, method, rel_gap)
    clock = _Clock(float(time_limit))
    a = _cover_matrix(cover)
    n, m = a.shape
    w = _vector(weight, n, name="weight", what="demand row")
    c = _vector(cost, m, name="cost", what="candidate")
    groups_in = np.asarray(group)
    if groups_in.ndim != 1 or groups_in.shape[0] != n:
        msg = f"group must have one label per demand row ({n}), got shape {groups_in.shape}"
        raise InputError(msg, field="group")
    labels, g = np.unique(groups_in, return_inverse=True)
    g = g.ravel().astype(np.int64)
    if isinstance(target, bool) or not isinstance(target, int | float | np.floating) or not 0 < target <= 1:
        msg = f"target must be a share in (0, 1], e.g. 0.98, got {target!r}"
        raise InputError(msg, field="target")
    b_ = None if budget is None else _check_budget(budget)
    kinds = None
    if kind is not None:
        kinds = np.asarray(kind).astype(np.str_)
        if kinds.shape != (m,):
            msg = f"kind must have one value per candidate ({m}), got shape {kinds.shape}"
            raise InputError(msg, field="kind")
        bad = np.flatnonzero(~np.isin(kinds, get_args(SiteKind)))
        if bad.size:
            msg = f"kind of candidate {int(bad[0])} is {str(kinds[bad[0]])!r}; use 'new' or 'upgrade'"
            raise InputError(msg, field="kind")
    req, exc = _sites(required, excluded, m)
    reach = _reach(a, req, exc)
    n_groups = labels.size
    coverable_w = _group_sum(g, w, reach.coverable, n_groups)
    target_w = float(target) * coverable_w
    before = _group_sum(g, w, reach.base, n_groups)
    tol = 1e-9 * max(float(w.sum()), 1.0)
    cap = _capacity(capacity, m)
    if np.isfinite(cap[~exc]).any():

        def relaxed(limit: float) -> SitingResult:
            return upgrade_or_build(
                a,
                w,
                c,
                g,
                target,
                budget=b_,
                required=req,
                excluded=exc,
                time_limit=limit,
                method="heuristic",
            )

        problem = _Problem(a, w, c, cap, req, exc, reach)
        result = _capacitated(
            "upgrade_or_build",
            problem,
            clock,
            rel_gap=rel_gap,
            budget=b_,
            group=g,
            target=target_w,
            relaxed=relaxed,
        )
        served = np.asarray(result.shares.sum(axis=1)).ravel() if result.shares is not None else np.zeros(n)
        after = np.bincount(g, weights=w * served, minlength=n_groups).astype(np.float64)
        groups = GroupCoverage(
            labels=labels,
            coverable_weight=coverable_w,
            uncoverable_weight=_group_sum(g, w, ~reach.coverable, n_groups),
            target_weight=target_w,
            before=before,
            after=after,
            met=after >= target_w - tol,
        )
        return replace(result, groups=groups, site_kind=None if kinds is None else kinds[result.sites])
    need = np.maximum(target_w - before, 0.0)
    need[need <= tol] = 0.0
    rows = np.flatnonzero(reach.coverable & ~reach.base & (w > 0) & (need[g] > 0))
    cols = np.flatnonzero(~req & ~exc)
    sub = a[rows][:, cols].tocsc() if rows.size else sparse.csc_array((0, cols.size))
    if rows.size:
        rep, grp = red.merge_identical_rows(sub.tocsr(), key=g[rows])
        w_sub = np.bincount(grp, weights=w[rows], minlength=rep.size)
        g_sub = g[rows[rep]]
        sub = sub[rep].tocsc()
    else:
        w_sub, g_sub = np.zeros(0), np.zeros(0, dtype=np.int64)
    size = np.diff(sub.indptr)
    rank = np.empty(cols.size, dtype=np.int64)
    rank[np.lexsort((np.arange(cols.size), -size, c[cols]))] = np.arange(cols.size)
    useful = (size > 0) & ~red.dominated_columns(sub.tocsr(), rank)
    if b_ is not None:
        useful &= c[cols] <= b_ * (1 + 1e-12)
    keep_cols = np.flatnonzero(useful)
    a_red = sub[:, keep_cols].tocsc()
    c_red = c[cols[keep_cols]]
    clock.lap("reduce")
    status: Status = "optimal"
    progress_base = float(np.minimum(before, target_w).sum())
    if a_red.shape[0] == 0 or keep_cols.size == 0:
        picked = np.zeros(0, dtype=np.int64)
        objective = 0.0 if b_ is None else progress_base
        bound = objective
    elif b_ is None:
        inc = heur.Incidence.from_sparse(a_red)
        picked, objective, bound, status = _solve_target(
            inc, a_red, w_sub, g_sub, need, c_red, clock, method=method, rel_gap=rel_gap, tol=tol
        )
    else:
        inc = heur.Incidence.from_sparse(a_red)
        picked, progress, upper, status = _solve_progress(
            inc, a_red, w_sub, g_sub, need, c_red, b_, clock, method=method, rel_gap=rel_gap
        )
        objective, bound = progress_base + progress, progress_base + upper
        if progress >= need.sum() - tol:
            # every group reaches its target within the budget: spend as little as possible
            cheapest, spend, _, cheap_status = _solve_target(
                inc, a_red, w_sub, g_sub, need, c_red, clock, method=method, rel_gap=rel_gap, tol=tol
            )
            if spend <= float(c_red[picked].sum()):
                picked = cheapest
                if status == "optimal" and cheap_status != "optimal":
                    status = cheap_status
    chosen = np.sort(cols[keep_cols[picked]])
    sense: Sense = "min" if b_ is None else "max"
    result = _cover_result(
        "upgrade_or_build",
        a,
        w,
        c,
        req,
        chosen,
        reach,
        objective=objective,
        bound=(min(bound, objective) if sense == "min" else max(bound, objective)),
        status=status,
        sense=sense,
        clock=clock,
    )
    after_mask = np.zeros(n, dtype=bool)
    after_mask[result.covered] = True
    after = _group_sum(g, w, after_mask, n_groups)
    unc = ~reach.coverable
    groups = GroupCoverage(
        labels=labels,
        coverable_weight=coverable_w,
        uncoverable_weight=_group_sum(g, w, unc, n_groups),
        target_weight=target_w,
        before=before,
        after=after,
        met=after >= target_w - tol,
    )
    site_kind = None if kinds is None else kinds[result.sites]
    return replace(result, groups=groups, site_kind=site_kind)


def _capacity(capacity: ArrayLike | None, m: int) -> FloatArray:
    """Capacities per candidate with ``inf`` for none (``nan`` or ``inf`` given, or no array)."""
    if capacity is None:
        return np.full(m, np.inf)
    arr = np.asarray(capacity, dtype=np.float64)
    if arr.shape != (m,):
        msg = f"capacity must have one value per candidate ({m}), got shape {arr.shape}"
        raise InputError(msg, field="capacity")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        msg = f"capacity must not be negative; candidate {int(neg[0])} has {float(arr[neg[0]])!r}"
        raise InputError(msg, field="capacity")
    return np.where(np.isnan(arr), np.inf, arr)


@dataclass(frozen=True)
class _Problem:
    """A validated covering problem: matrix, weights, costs, capacities, required/excluded, reach."""

    a: sparse.csc_array
    w: FloatArray
    c: FloatArray
    cap: FloatArray
    req: BoolArray
    exc: BoolArray
    reach: _Reach


def _capacitated(
    model_name: ModelName,
    problem: _Problem,
    clock: _Clock,
    *,
    rel_gap: float,
    p: int | None = None,
    budget: float | None = None,
    group: IntArray | None = None,
    target: FloatArray | None = None,
    relaxed: Callable[[float], SitingResult] | None = None,
) -> SitingResult:
    """The capacitated form of ``model_name`` (see :mod:`servicegrid.siting.capacitated`).

    Rows that a required site without a capacity reaches are served there and stay out of the
    model. Set cover and targets that the capacities make impossible are answered by the plan
    serving the most weight (each group up to its target) and, among those, the cheapest.
    ``relaxed(limit)`` solves the same question without capacities by the heuristic: its bound
    holds here too (capacities only take plans away), and is there in milliseconds when HiGHS
    cannot finish the root of a large capacitated model.
    """
    a, w, c, cap, req, exc, reach = (
        problem.a,
        problem.w,
        problem.c,
        problem.cap,
        problem.req,
        problem.exc,
        problem.reach,
    )
    n, m = a.shape
    unlimited_req = req & ~np.isfinite(cap)
    pre = a @ unlimited_req.astype(np.float64) > 0
    rows = reach.coverable & ~pre & (w > 0)
    free_cost = np.where(req, 0.0, c)
    base = (
        None
        if group is None or target is None
        else np.bincount(group, weights=w * pre, minlength=target.size)
    )
    ask = CapacitatedQuestion(
        a=a,
        w=w,
        cost=free_cost,
        cap=cap,
        rows=rows,
        lower=req.astype(np.float64),
        upper=(~exc).astype(np.float64),
        minimise="cost",
        group=group,
        target=target,
        base=base,
    )

    def run(q: CapacitatedQuestion, start: FloatArray | None = None) -> CapacitatedAnswer:
        answer = solve_capacitated(q, time_limit=max(clock.left(), 1e-3), rel_gap=rel_gap, start=start)
        clock.lap("solve")
        return answer

    def cheapest_serving_most(q: CapacitatedQuestion) -> CapacitatedAnswer:
        most = run(replace(q, minimise="unserved", serve_all=False, budget=None))
        if most.x is None:
            return most
        floor = -most.objective * (1 - 1e-9)
        cheap = run(replace(q, minimise="cost", serve_all=False, served_floor=floor), start=most.point)
        return cheap if cheap.x is not None else most

    sense: Sense = "max" if model_name == "max_cover" or budget is not None else "min"
    relaxed_bound = np.nan
    if relaxed is not None:
        relaxed_bound = relaxed(min(5.0, max(0.1 * clock.left(), 1e-3))).bound
        clock.lap("bound")
    pre_weight = float(w[pre].sum())
    if model_name == "set_cover":
        relaxed_bound = np.fmax(relaxed_bound, _capacity_bound(problem, rows, float(w[rows].sum())))
        answer = run(replace(ask, serve_all=True))
        if answer.outcome == "infeasible":
            relaxed_bound = np.nan  # the plan serving the most answers another question
            answer = cheapest_serving_most(ask)
        objective, bound = answer.objective, answer.bound
    elif model_name == "max_cover":
        answer = run(replace(ask, minimise="unserved", max_sites=p, budget=budget))
        objective, bound = pre_weight - answer.objective, pre_weight - answer.bound
    elif budget is None:  # targets
        answer = run(ask)
        if answer.outcome == "infeasible":
            relaxed_bound = np.nan
            answer = cheapest_serving_most(ask)
        objective, bound = answer.objective, answer.bound
    else:  # the most progress towards the targets for the budget
        answer = run(replace(ask, minimise="unserved", budget=budget))
        objective, bound = -answer.objective, -answer.bound
        if answer.x is not None and target is not None and objective >= target.sum() * (1 - 1e-9):
            cheap = run(replace(ask, budget=budget))
            if cheap.x is not None:
                answer = cheap
    status: Status = answer.outcome
    if answer.x is None:  # no plan: a time limit before the first one
        objective = np.inf if sense == "min" else -np.inf
    if np.isfinite(relaxed_bound):
        bound = max(bound, relaxed_bound) if sense == "min" else min(bound, relaxed_bound)
    if np.isfinite(objective):  # a bound never passes the plan it bounds
        bound = min(bound, objective) if sense == "min" else max(bound, objective)
    solved = sparse.coo_array((n, m)) if answer.shares is None else answer.shares.tocoo()
    served_pre = np.flatnonzero(pre)
    shares = sparse.csr_array(
        (
            np.r_[solved.data, np.ones(served_pre.size)],
            (np.r_[solved.row, served_pre], np.r_[solved.col, _first_column(a, unlimited_req)[served_pre]]),
        ),
        shape=(n, m),
    )
    x = np.zeros(m) if answer.x is None else answer.x
    chosen = np.flatnonzero((x > 0.5) & ~req)
    served = np.asarray(shares.multiply(w[:, None]).sum(axis=0)).ravel()
    order = chosen[np.lexsort((chosen, -served[chosen]))]
    share_row = np.asarray(shares.sum(axis=1)).ravel()
    covered = np.flatnonzero(share_row > 1e-9)
    assignment = np.full(n, -1, dtype=np.int64)
    if shares.nnz:
        best = shares.argmax(axis=1)
        assignment[covered] = np.asarray(best).ravel()[covered]
    clock.lap("report")
    if not np.isfinite(bound):
        bound = -np.inf if sense == "min" else np.inf
    if status == "time_limit" and _gap(objective, bound) == 0.0:
        status = "optimal"  # the relaxation's bound proves the plan
    return SitingResult(
        model=model_name,
        status=status,
        sense=sense,
        sites=order.astype(np.int64),
        marginal_gain=served[order],
        fixed=np.flatnonzero(req).astype(np.int64),
        objective=float(objective),
        bound=float(bound),
        gap=_gap(objective, bound),
        cost=float(c[order].sum()),
        covered=covered.astype(np.int64),
        covered_weight=float((w * np.minimum(share_row, 1.0)).sum()),
        uncoverable=reach.uncoverable,
        uncoverable_reason=reach.reason,
        assignment=assignment,
        solve_time=clock.total(),
        timings=MappingProxyType(dict(clock.timings)),
        shares=shares,
    )


def _capacity_bound(problem: _Problem, rows: BoolArray, need: float) -> float:
    """A lower bound on the cost of serving ``need`` weight of ``rows``: the fractional knapsack
    of the sites' usable capacities (the least of the capacity and the weight within reach), the
    cheapest per unit served first. 0 when a choosable site has no capacity."""
    a, c, cap, req, exc = problem.a, problem.c, problem.cap, problem.req, problem.exc
    usable = np.minimum(cap, problem.w[rows] @ a[np.flatnonzero(rows)])
    need -= float(usable[req].sum())
    free = ~req & ~exc & (usable > 0)
    if need <= 0 or not np.isfinite(usable[free]).all():
        return 0.0
    order = np.flatnonzero(free)[np.argsort(c[free] / usable[free], kind="stable")]
    filled = np.cumsum(usable[order])
    k = int(np.searchsorted(filled, need))
    if k >= order.size:
        return np.inf  # the capacities cannot serve it all: no plan to bound
    before = filled[k - 1] if k else 0.0
    bound = float(c[order[:k]].sum() + c[order[k]] * (need - before) / usable[order[k]])
    return float(np.ceil(bound - 1e-9)) if _integral(c) else bound


def _first_column(a: sparse.csc_array, mask: BoolArray) -> IntArray:
    """For each row, the lowest-index column in ``mask`` that covers it (-1: none)."""
    coo = a[:, np.flatnonzero(mask)].tocoo()
    first = np.full(a.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, coo.row, np.flatnonzero(mask)[coo.col])
    first[first == np.iinfo(np.int64).max] = -1
    return first


def _group_sum(g: IntArray, w: FloatArray, mask: BoolArray, n_groups: int) -> FloatArray:
    return np.bincount(g[mask], weights=w[mask], minlength=n_groups).astype(np.float64)


def _solve_target(
    inc: heur.Incidence,
    a: sparse.csc_array,
    w: FloatArray,
    g: IntArray,
    need: FloatArray,
    c: FloatArray,
    clock: _Clock,
    *,
    method: Method,
    rel_gap: float,
    tol: float,
) -> tuple[IntArray, float, float, Status]:
    """Least cost with Σ_{i in g} w_i z_i >= need_g for every group; (sites, cost, bound, status)."""
    plan = heur.greedy_target(inc, w, g, need, c)
    plan = heur.improve_target(inc, w, g, need, c, plan, deadline=clock.deadline)
    value = float(c[plan].sum())
    clock.lap("heuristic")
    model = _cover_model(
        a,
        c,
        z_cost=np.zeros(a.shape[0]),
        extra_rows=[],
        z_group=(g, w, need - tol, np.full(need.size, np.inf)),
    )
    clock.lap("build")
    if method == "heuristic":
        lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method="primal")
        clock.lap("bound")
        lower = lp.objective if lp.outcome == "optimal" else 0.0
        return plan, value, min(lower, value), "heuristic"

    def round_lp(x: FloatArray) -> tuple[FloatArray, float]:
        # greedy on costs discounted by the LP's opening, then drop-and-repair
        guided = heur.greedy_target(inc, w, g, need, c * (1.0 - 0.9 * np.clip(x[: a.shape[1]], 0, 1)))
        better = heur.improve_target(inc, w, g, need, c, guided, deadline=clock.deadline)
        return _cover_start(a, better), float(c[better].sum())

    ex = _exact(
        model,
        _cover_start(a, plan),
        value,
        clock,
        rel_gap=rel_gap,
        integral=_integral(c),
        lp_method="primal",
        round_lp=round_lp,
    )
    picked = plan if ex.x is None else np.flatnonzero(ex.x[: a.shape[1]] > 0.5)
    return picked, float(c[picked].sum()), ex.bound, ex.status


def _solve_progress(
    inc: heur.Incidence,
    a: sparse.csc_array,
    w: FloatArray,
    g: IntArray,
    need: FloatArray,
    c: FloatArray,
    budget: float,
    clock: _Clock,
    *,
    method: Method,
    rel_gap: float,
) -> tuple[IntArray, float, float, Status]:
    """Most Σ_g min(covered_g, need_g) within the budget; (sites, progress, upper bound, status)."""
    plan = heur.greedy_target(inc, w, g, need, c, budget=budget)
    start, value = _progress_start(a, w, g, need, plan)
    clock.lap("heuristic")
    model = _progress_model(a, w, g, need, c, budget)
    clock.lap("build")
    ceiling = float(need.sum())
    if method == "heuristic":
        lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method="primal")
        clock.lap("bound")
        upper = min(-lp.objective, ceiling) if lp.outcome == "optimal" else ceiling
        return plan, value, max(upper, value), "heuristic"
    ex = _exact(
        model,
        start,
        -value,
        clock,
        rel_gap=rel_gap,
        integral=_integral(w, need),  # v_g = min(need_g, covered weight)
        lp_method="primal",
        known_bound=-ceiling,
    )
    picked = plan if ex.x is None else np.flatnonzero(ex.x[: a.shape[1]] > 0.5)
    _, progress = _progress_start(a, w, g, need, picked)
    return picked, progress, -ex.bound, ex.status


def _progress_model(
    a: sparse.csc_array, w: FloatArray, g: IntArray, need: FloatArray, c: FloatArray, budget: float
) -> LinearModel:
    """Max Σ_g v_g with v_g <= need_g and v_g <= Σ_{i in g} w_i z_i, under the budget."""
    base = _cover_model(
        a, np.zeros(a.shape[1]), z_cost=np.zeros(a.shape[0]), extra_rows=[(c.copy(), -np.inf, budget)]
    )
    n, m = a.shape
    n_groups = need.size
    # rows: v_g - Σ w_i z_i <= 0, appended after the base rows; columns v appended
    r0 = base.n_rows
    z_cols = m + np.arange(n, dtype=np.int64)
    v_cols = m + n + np.arange(n_groups, dtype=np.int64)
    coo = base.matrix.tocoo()
    rows = np.concatenate([coo.row, r0 + g, r0 + np.arange(n_groups)])
    cols = np.concatenate([coo.col, z_cols, v_cols])
    vals = np.concatenate([coo.data, -w, np.ones(n_groups)])
    matrix = _csc(rows, cols, vals, (r0 + n_groups, m + n + n_groups))
    return LinearModel(
        cost=np.concatenate([base.cost, -np.ones(n_groups)]),
        lower=np.concatenate([base.lower, np.zeros(n_groups)]),
        upper=np.concatenate([base.upper, need]),
        integer=np.concatenate([base.integer, np.zeros(n_groups, dtype=bool)]),
        matrix=matrix,
        row_lower=np.concatenate([base.row_lower, np.full(n_groups, -np.inf)]),
        row_upper=np.concatenate([base.row_upper, np.zeros(n_groups)]),
    )


def _progress_start(
    a: sparse.csc_array, w: FloatArray, g: IntArray, need: FloatArray, plan: IntArray
) -> tuple[FloatArray, float]:
    x = _cover_start(a, plan)
    z = x[a.shape[1] :]
    v = np.minimum(np.bincount(g, weights=w * z, minlength=need.size), need)
    return np.concatenate([x, v]), float(v.sum())


# ---------------------------------------------------------------------------------------------
# p-median


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
    _check_options(time_limit, method, rel_gap)
    clock = _Clock(float(time_limit))
    ptr, col, val, shape = _distance_pairs(dist)
    n, m = shape
    w = _vector(weight, n, name="weight", what="demand row")
    req, exc = _sites(required, excluded, m)
    p_ = _check_p(p, req, exc)
    if unserved_penalty is not None and (
        isinstance(unserved_penalty, bool)
        or not isinstance(unserved_penalty, int | float | np.integer | np.floating)
        or not np.isfinite(unserved_penalty)
        or unserved_penalty < 0
    ):
        msg = f"unserved_penalty must be a non-negative distance or None, got {unserved_penalty!r}"
        raise InputError(msg, field="unserved_penalty")
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
    asg = heur.Assignment(
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
        # an unserved row without fallback costs more than serving every row anywhere
        big = np.full(asg.n_rows, float(asg.cost.sum()) + 1.0)
        plan = heur.greedy_median(asg, p_, big)
        plan = heur.interchange_median(asg, plan, p_, big, deadline=clock.deadline)
        d1, _ = heur.median_cost(asg, _mask(asg.n_cols, plan), np.full(asg.n_rows, np.inf))
        upper = float(d1.sum())
        clock.lap("heuristic")
        integral = _integral(asg.cost, asg.fallback[np.isfinite(asg.fallback)])
        margin = 1 - 1e-6 if integral else 0.0
        lag: heur.LagrangianResult | None = None
        if np.isfinite(upper):
            lag = heur.lagrangian_median(
                asg,
                p_,
                upper,
                plan,
                margin=margin,
                deadline=clock.start + 0.3 * (clock.deadline - clock.start),
            )
            plan, upper = lag.plan, lag.upper
            clock.lap("bound")
        lower = -np.inf if lag is None else lag.bound
        if method == "heuristic":
            # a plan leaving rows unserved (no penalty) has no finite value; it is not a proof
            # of infeasibility, so it is still returned
            picked, objective, bound, status = plan, upper, lower, "heuristic"
        else:
            keep = np.ones(asg.cost.size, dtype=bool) if lag is None else lag.keep
            closed = np.zeros(asg.n_cols, dtype=bool) if lag is None else lag.closed
            opened = np.zeros(asg.n_cols, dtype=bool) if lag is None else lag.opened
            incumbent = plan if np.isfinite(upper) else None
            model, start = _median_model(asg, p_, keep, closed, opened, incumbent)
            clock.lap("build")
            ex = _exact(
                model,
                start,
                upper,
                clock,
                rel_gap=rel_gap,
                integral=integral,  # assignments are 0/1 once sites are
                use_lp=False,
                known_bound=lower,
            )
            status, bound = ex.status, ex.bound
            if ex.x is not None:
                picked = np.flatnonzero(ex.x[: asg.n_cols] > 0.5)
                d1, _ = heur.median_cost(asg, _mask(asg.n_cols, picked), np.full(asg.n_rows, np.inf))
                objective = float(d1.sum())
            elif np.isfinite(upper):
                picked, objective = plan, upper
            else:
                picked, objective = np.zeros(0, dtype=np.int64), np.inf
        objective += constant
        bound += constant
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


def _mask(m: int, sites: IntArray) -> BoolArray:
    out = np.zeros(m, dtype=bool)
    out[sites] = True
    return out


def _distance_pairs(
    dist: object,
) -> tuple[IntArray, IntArray, FloatArray, tuple[int, int]]:
    """Row pointers, columns and values of the allowed pairs (CSR order)."""
    if sparse.issparse(dist):
        d = dist  # type: ignore[assignment]
        if d.ndim != 2:  # type: ignore[union-attr]
            msg = "the distance matrix must be 2-D (demand × candidate)"
            raise InputError(msg, field="dist")
        coo = sparse.coo_array(d)
        key = coo.row.astype(np.int64) * coo.shape[1] + coo.col
        if np.unique(key).size != key.size:
            msg = "the distance matrix has duplicate entries for the same demand–candidate pair"
            raise InputError(msg, field="dist")
        order = np.lexsort((coo.col, coo.row))
        r = coo.row[order].astype(np.int64)
        c = coo.col[order].astype(np.int64)
        v = np.asarray(coo.data[order], dtype=np.float64)
        shape = (int(coo.shape[0]), int(coo.shape[1]))
        keep = ~np.isposinf(v)
        r, c, v = r[keep], c[keep], v[keep]
    elif isinstance(dist, np.ndarray):
        if dist.ndim != 2:
            msg = f"the distance matrix must be 2-D (demand × candidate), got {dist.ndim}-D"
            raise InputError(msg, field="dist")
        if not np.issubdtype(dist.dtype, np.number):
            msg = f"the distance matrix must be numeric, got dtype {dist.dtype}"
            raise InputError(msg, field="dist")
        shape = (int(dist.shape[0]), int(dist.shape[1]))
        flat = np.asarray(dist, dtype=np.float64)
        r, c = np.nonzero(~np.isposinf(flat))
        v = flat[r, c]
        r, c = r.astype(np.int64), c.astype(np.int64)
    else:
        msg = (
            "the distance matrix must be a scipy.sparse matrix or a 2-D numpy array, "
            f"got {type(dist).__name__}"
        )
        raise InputError(msg, field="dist")
    bad = np.flatnonzero(np.isnan(v) | (v < 0))
    if bad.size:
        k = int(bad[0])
        msg = (
            f"distances must be non-negative numbers; demand row {int(r[k])}, candidate "
            f"{int(c[k])} has {float(v[k])!r}"
        )
        raise InputError(msg, field="dist")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=shape[0]))]).astype(np.int64)
    return ptr, c, v, shape


def _median_model(
    asg: heur.Assignment,
    p: int,
    keep: BoolArray,
    closed: BoolArray,
    opened: BoolArray,
    plan: IntArray | None,
) -> tuple[LinearModel, FloatArray | None]:
    """Columns y (sites), x (kept pairs), u (rows with a fallback); start from ``plan``."""
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
    matrix = _csc(rows, cols, vals, (card + 1, n_cols))
    lower = np.zeros(n_cols)
    upper = np.ones(n_cols)
    upper[:m][closed] = 0.0
    lower[:m][opened] = 1.0
    integer = np.zeros(n_cols, dtype=bool)
    integer[:m] = True
    model = LinearModel(
        cost=np.concatenate([np.zeros(m), asg.cost[k_idx], asg.fallback[fb_rows]]),
        lower=lower,
        upper=upper,
        integer=integer,
        matrix=matrix,
        row_lower=np.concatenate([np.ones(n), np.full(n_pairs, -np.inf), [-np.inf]]),
        row_upper=np.concatenate([np.ones(n), np.zeros(n_pairs), [float(p)]]),
    )
    if plan is None:
        return model, None
    is_open = _mask(m, plan)
    _, pair = heur.median_cost(asg, is_open, np.full(n, np.inf))
    served = pair >= 0
    slot = np.full(asg.cost.size, -1, dtype=np.int64)
    slot[k_idx] = np.arange(n_pairs)
    if np.any(slot[pair[served]] < 0) or np.any(~served & ~has_fb):
        return model, None  # the plan uses a pair fixed out: only better plans remain
    x = np.zeros(n_cols)
    x[:m] = is_open
    x[x0 + slot[pair[served]]] = 1.0
    fb_slot = np.full(n, -1, dtype=np.int64)
    fb_slot[fb_rows] = np.arange(n_fb)
    x[u0 + fb_slot[~served]] = 1.0
    return model, x


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
    clock: _Clock,
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
    asg = heur.Assignment(
        n_rows=n,
        n_cols=m,
        ptr=ptr,
        row=row[sel],
        col=col[sel],
        cost=pair_cost[sel],
        fallback=fallback,
    )
    sites, gains = heur.median_build_order(asg, chosen, np.full(n, np.inf))
    clock.lap("report")
    gap = _gap(objective, bound) if status != "infeasible" else np.inf
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


# ---------------------------------------------------------------------------------------------
# shared result assembly


def _cover_result(
    model: ModelName,
    a: sparse.csc_array,
    w: FloatArray,
    c: FloatArray,
    req: BoolArray,
    chosen: IntArray,
    reach: _Reach,
    *,
    objective: float,
    bound: float,
    status: Status,
    sense: Sense,
    clock: _Clock,
) -> SitingResult:
    inc = heur.Incidence.from_sparse(a)
    fixed = np.flatnonzero(req).astype(np.int64)
    sites, gains = heur.cover_build_order(inc, w, chosen, already=reach.base)
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
    gap = _gap(objective, bound)
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
