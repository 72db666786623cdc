"""The HiGHS boundary of siting: a sparse linear model, its LP relaxation, its integer solve.

Every siting model is expressed as one ``LinearModel`` (minimisation, column-wise sparse matrix)
and handed to HiGHS through ``highspy`` as whole numpy arrays, never row by row. This module
knows nothing about demand, candidates or coverage; it maps HiGHS statuses onto the answers
siting gives (optimal, time limit with or without an incumbent, infeasible), checks every point
HiGHS returns against the model, and offers the reductions that need solver output or only the
model: reduced-cost fixing and removing fixed columns (models are assembled from triplets with
:func:`csc_from_triplets`). ``kHighsInf`` is ``inf``, so unbounded sides are plain ``numpy.inf``.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, replace
from typing import Literal

import highspy
import numpy as np
from highspy._core import _Highs
from numpy.typing import NDArray
from scipy import sparse

__all__ = [
    "LinearModel",
    "SolveOutcome",
    "SolverWarning",
    "compact",
    "csc_from_triplets",
    "fix_by_reduced_cost",
    "solve",
]

logger = logging.getLogger(__name__)

Outcome = Literal["optimal", "time_limit", "infeasible"]
LpMethod = Literal["dual", "primal", "ipm"]

_MS = highspy.HighsModelStatus


@dataclass(frozen=True)
class LinearModel:
    """A minimisation ``cost @ x + offset`` subject to ``row_lower <= matrix @ x <= row_upper``.

    ``matrix`` is column-wise (CSC); bounds may hold ``±inf``; ``integer`` marks the integer
    columns. The arrays are never modified here: fixing returns a new model.
    """

    cost: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    integer: NDArray[np.bool_]
    matrix: sparse.csc_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    offset: float = 0.0

    @property
    def n_cols(self) -> int:
        """Number of columns (variables)."""
        return int(self.cost.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of rows (constraints)."""
        return int(self.row_lower.shape[0])


@dataclass(frozen=True)
class SolveOutcome:
    """What HiGHS returned for one solve.

    ``x`` is the best feasible point (None when there is none), ``objective`` its value (inf when
    there is none), ``bound`` a proven lower bound on the optimum (``-inf`` when none is known),
    ``reduced_cost`` and ``row_dual`` the column and row duals of an optimal LP (None for MIPs or
    unfinished LPs).
    """

    outcome: Outcome
    x: NDArray[np.float64] | None
    objective: float
    bound: float
    reduced_cost: NDArray[np.float64] | None
    seconds: float
    nodes: int
    row_dual: NDArray[np.float64] | None = None


def _highs(time_limit: float) -> _Highs:
    # The core class, not ``highspy.Highs``: the wrapper's constructor enables callbacks, which
    # prints HiGHS's banner to stdout before logging can be switched off (ERGO-Code/HiGHS#1702).
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
    return h


def solve(
    model: LinearModel,
    *,
    time_limit: float,
    relax: bool = False,
    rel_gap: float = 1e-6,
    start: NDArray[np.float64] | None = None,
    lp_method: LpMethod = "dual",
    presolve: bool = True,
) -> SolveOutcome:
    """Solve ``model`` (or its LP relaxation with ``relax=True``) with HiGHS.

    The point HiGHS returns is checked against the model (bounds, rows, integrality, and its
    objective against the reported one and the dual bound). HiGHS's MIP presolve has known
    defects that can report a wrong optimum (ERGO-Code/HiGHS#1725, #3094), one of which a MIP
    start triggers on p-median models; when the check fails the model is solved again with
    presolve off in the time left.

    Parameters
    ----------
    model
        The model to solve.
    time_limit
        Seconds; HiGHS stops there and the best point found so far is returned.
    relax
        Solve the LP relaxation (integrality dropped) and return reduced costs.
    rel_gap
        Relative optimality gap at which the MIP search stops.
    start
        A feasible point passed to HiGHS as a MIP start (its incumbent from the first node).
    lp_method
        Simplex variant or interior point for an LP solve; primal simplex is often much faster
        than dual simplex on covering relaxations.
    presolve
        Let HiGHS presolve the model.

    Returns
    -------
    SolveOutcome
        The status mapped to optimal / time_limit / infeasible, the point and the bounds.

    A failure (a status that is neither optimality, infeasibility nor a limit, or a point
    that does not satisfy the model) is retried with presolve off, the other simplex and another
    random seed; when every try fails, a :class:`SolverWarning` says so and the outcome is a
    time limit without a point, so that the caller keeps the plan it had. Never raises.
    """
    t0 = time.perf_counter()
    # HiGHS sometimes fails where a variant of the same solve succeeds ("Solve error" on small
    # capacitated models): presolve off, then the other simplex, then another random seed.
    attempts = [
        {"presolve": presolve, "lp_method": lp_method, "seed": 0},
        {"presolve": False, "lp_method": lp_method, "seed": 0},
        {"presolve": False, "lp_method": "primal" if lp_method != "primal" else "dual", "seed": 0},
        {"presolve": False, "lp_method": lp_method, "seed": 7},
    ]
    failures = []
    for attempt in attempts:
        left = time_limit - (time.perf_counter() - t0)
        if failures and left <= 0:
            break
        try:
            out = _run(model, max(left, 1e-3), relax, rel_gap, start, attempt)
        except _Failed as exc:
            failures.append(str(exc))
            continue
        if relax or _consistent(model, out, rel_gap):
            return out
        logger.warning(
            "HiGHS returned an inconsistent MIP answer (objective %.9g, bound %.9g); solving again",
            out.objective,
            out.bound,
        )
        failures.append("an answer that does not satisfy the model")
    what = "LP relaxation" if relax else "integer program"
    warnings.warn(
        f"HiGHS could not solve the {what} ({'; '.join(dict.fromkeys(failures))}), with presolve on "
        "or off, with either simplex or another seed; the best plan found before is kept with its bound",
        SolverWarning,
        stacklevel=2,
    )
    return SolveOutcome("time_limit", None, np.inf, -np.inf, None, time.perf_counter() - t0, 0)


class SolverWarning(UserWarning):
    """HiGHS failed on a model in every way tried; the result is the best plan found before."""


class _Failed(Exception):
    """HiGHS stopped with a status that is neither optimality, infeasibility nor a limit."""


def _consistent(model: LinearModel, out: SolveOutcome, rel_gap: float) -> bool:
    if out.x is None:
        return True
    x = out.x
    scale = max(1.0, abs(out.objective))
    value = float(model.cost @ x + model.offset)
    if abs(value - out.objective) > 1e-6 * scale:
        return False
    tol = 1e-6
    if np.any(x < model.lower - tol) or np.any(x > model.upper + tol):
        return False
    ints = x[model.integer]
    if np.any(np.abs(ints - np.round(ints)) > 1e-5):
        return False
    activity = model.matrix @ x
    if np.any(activity < model.row_lower - tol * (1 + np.abs(model.row_lower))):
        return False
    if np.any(activity > model.row_upper + tol * (1 + np.abs(model.row_upper))):
        return False
    if out.outcome == "optimal" and np.isfinite(out.bound):
        return value - out.bound <= rel_gap * scale + 1e-6 * scale
    return True


def _run(
    model: LinearModel,
    time_limit: float,
    relax: bool,
    rel_gap: float,
    start: NDArray[np.float64] | None,
    attempt: dict[str, object],
) -> SolveOutcome:
    presolve, lp_method = attempt["presolve"], attempt["lp_method"]
    h = _highs(time_limit)
    if attempt["seed"]:
        h.setOptionValue("random_seed", int(attempt["seed"]))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    if not presolve:
        h.setOptionValue("presolve", "off")
    if not relax and lp_method == "primal":
        h.setOptionValue("simplex_strategy", 4)
    if relax:
        if lp_method == "ipm":
            h.setOptionValue("solver", "ipm")
        else:
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 4 if lp_method == "primal" else 1)
    a = model.matrix
    integrality = np.zeros(model.n_cols, dtype=np.int32) if relax else model.integer.astype(np.int32)
    h.passModel(
        model.n_cols,
        model.n_rows,
        int(a.nnz),
        1,  # column-wise
        1,  # minimise
        float(model.offset),
        model.cost.astype(np.float64, copy=False),
        model.lower.astype(np.float64, copy=False),
        model.upper.astype(np.float64, copy=False),
        model.row_lower.astype(np.float64, copy=False),
        model.row_upper.astype(np.float64, copy=False),
        a.indptr.astype(np.int32, copy=False),
        a.indices.astype(np.int32, copy=False),
        a.data.astype(np.float64, copy=False),
        integrality,
    )
    if start is not None and not relax:
        h.setSolution(
            model.n_cols,
            np.arange(model.n_cols, dtype=np.int32),
            np.asarray(start, dtype=np.float64),
        )
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    has_point = info.primal_solution_status == 2  # feasible
    x = np.array(h.getSolution().col_value, dtype=np.float64) if has_point else None
    objective = float(info.objective_function_value) if has_point else np.inf
    nodes = int(info.mip_node_count) if not relax else 0
    logger.debug(
        "HiGHS %s: %s after %.3f s (%d cols, %d rows, %d nodes)",
        "LP" if relax else "MIP",
        h.modelStatusToString(status),
        seconds,
        model.n_cols,
        model.n_rows,
        nodes,
    )
    if status == _MS.kOptimal:
        if relax:
            solution = h.getSolution()
            rc = np.array(solution.col_dual, dtype=np.float64)
            duals = np.array(solution.row_dual, dtype=np.float64)
            return SolveOutcome("optimal", x, objective, objective, rc, seconds, 0, duals)
        mip_bound = float(info.mip_dual_bound) if model.integer.any() else objective
        return SolveOutcome("optimal", x, objective, mip_bound, None, seconds, nodes)
    if status == _MS.kInfeasible:
        return SolveOutcome("infeasible", None, np.inf, np.inf, None, seconds, nodes)
    if status in (_MS.kTimeLimit, _MS.kInterrupt, _MS.kIterationLimit, _MS.kSolutionLimit):
        bound = -np.inf if relax or not model.integer.any() else float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = -np.inf
        return SolveOutcome("time_limit", x, objective, bound, None, seconds, nodes)
    raise _Failed(h.modelStatusToString(status))


def fix_by_reduced_cost(
    model: LinearModel,
    lp: SolveOutcome,
    incumbent: float,
    *,
    margin: float,
) -> tuple[LinearModel, int]:
    """Fix integer columns that cannot be in any plan better than ``incumbent``.

    With an optimal LP of value ``z`` and reduced cost ``d_j`` of a column at its lower bound,
    every point with that column raised by one costs at least ``z + d_j``; when that exceeds
    ``incumbent - margin`` the column can stay at its bound without losing a strictly better
    plan (likewise at the upper bound with ``-d_j``). ``margin`` is the amount by which a plan
    must beat the incumbent to matter (1 minus a tolerance when objectives are integral).

    Returns
    -------
    tuple of LinearModel and int
        The model with tightened bounds, and how many columns were fixed.
    """
    if lp.outcome != "optimal" or lp.reduced_cost is None or lp.x is None:
        return model, 0
    z, d, x = lp.objective, lp.reduced_cost, lp.x
    tol = 1e-7 * max(1.0, abs(incumbent))
    cutoff = incumbent - margin + tol
    at_lower = model.integer & (np.abs(x - model.lower) <= 1e-9) & (model.upper > model.lower)
    at_upper = model.integer & (np.abs(x - model.upper) <= 1e-9) & (model.upper > model.lower)
    fix_low = at_lower & (z + d > cutoff)
    fix_up = at_upper & (z - d > cutoff)
    if not (fix_low.any() or fix_up.any()):
        return model, 0
    lower = model.lower.copy()
    upper = model.upper.copy()
    upper[fix_low] = lower[fix_low]
    lower[fix_up] = upper[fix_up]
    return replace(model, lower=lower, upper=upper), int(fix_low.sum() + fix_up.sum())


def compact(model: LinearModel) -> tuple[LinearModel, NDArray[np.int64], NDArray[np.float64]] | None:
    """Remove fixed columns (moving them into the row bounds) and rows left without entries.

    Returns ``(smaller, kept_columns, fixed_point)`` where a point ``x`` of the smaller model
    expands to ``fixed_point`` with ``fixed_point[kept_columns] = x``; None when the fixed values
    already violate an emptied row (no point of the model has those values).
    """
    fixed = model.lower == model.upper
    kept = np.flatnonzero(~fixed).astype(np.int64)
    point = np.where(fixed, model.lower, 0.0)
    shift = model.matrix @ point
    sub = sparse.csc_array(model.matrix[:, kept])
    row_lower = model.row_lower - shift
    row_upper = model.row_upper - shift
    nonempty = np.diff(sub.tocsr().indptr) > 0
    tol = 1e-9 * (1 + np.abs(shift))
    empty = ~nonempty
    if np.any(row_lower[empty] > tol[empty]) or np.any(row_upper[empty] < -tol[empty]):
        return None
    rows = np.flatnonzero(nonempty)
    smaller = LinearModel(
        cost=model.cost[kept],
        lower=model.lower[kept],
        upper=model.upper[kept],
        integer=model.integer[kept],
        matrix=sparse.csc_array(sub[rows]),
        row_lower=row_lower[rows],
        row_upper=row_upper[rows],
        offset=float(model.offset + model.cost @ point),
    )
    return smaller, kept, point


def csc_from_triplets(
    rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64], shape: tuple[int, int]
) -> sparse.csc_array:
    """A model matrix from (row, column, value) triplets, duplicates summed."""
    out = sparse.csc_array((vals, (rows, cols)), shape=shape)
    out.sum_duplicates()
    return out
