"""The exact pipeline every siting model runs, and the skeleton the models share.

:func:`solve_reduced` is the one sequence of a model on its reduced problem: the heuristic plan
(with any bound proven on the way), the integer program started from it, and then either the
bound of the heuristic plan (``method="heuristic"``) or :func:`solve_exact`. A model hands it a
:class:`Formulation` holding its own pieces (heuristic, model builder, reader of a point, value
of a plan, options of the exact solve) and gets back a :class:`Solved` plan. :func:`solve_exact`
proves or improves an incumbent: LP bound, rounding of the LP optimum, reduced-cost fixing, a
model's own refining stage, then the MIP on the columns left. All values here are in
minimisation form. Also here: the :class:`Clock` of a call (deadline and seconds per phase) and
the helpers that decide when a gap is closed and how large it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .highs import LinearModel, LpMethod, SolveOutcome, compact, fix_by_reduced_cost, solve
from .result import FloatArray, IntArray, Method, Status

__all__ = [
    "NOTHING_LEFT",
    "Clock",
    "ExactOutcome",
    "Formulation",
    "Incumbent",
    "Refine",
    "RoundLp",
    "Solved",
    "gap_closed",
    "is_integral",
    "relative_gap",
    "relaxation_bound",
    "solve_exact",
    "solve_reduced",
    "tighten",
]

logger = logging.getLogger(__name__)


class Clock:
    """The deadline of a call and the seconds spent per phase (``timings``)."""

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


#: A model's own stage of :func:`solve_exact` between the LP and the MIP: given the model with its
#: reduced-cost fixings, the LP outcome, the incumbent's value and the best lower bound, it
#: returns a better plan as a point of the model (or None), the incumbent's value (the new one
#: when better) and a lower bound. A point may leave the fixings' bounds; it then cannot start
#: the MIP, which only looks for plans better than it.
Refine = Callable[[LinearModel, SolveOutcome, float, float], tuple[FloatArray | None, float, float]]

#: Rounding of the LP optimum into a plan: its point in the model and its value.
RoundLp = Callable[[FloatArray], tuple[FloatArray, float]]


@dataclass(frozen=True)
class ExactOutcome:
    """Outcome of the exact pipeline, in minimisation form.

    ``x`` is the solver's point when it beat the caller's incumbent, None when the incumbent
    stands (or, with status infeasible, when there is no plan at all).
    """

    x: FloatArray | None
    objective: float
    bound: float
    status: Status


def is_integral(*arrays: FloatArray) -> bool:
    return all(bool(np.all(np.abs(a) < 2**50) and np.all(a == np.round(a))) for a in arrays if a.size)


def gap_closed(objective: float, bound: float, *, rel_gap: float, integral: bool) -> bool:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return False
    diff = objective - bound
    if integral and diff < 1 - 1e-6:
        return True
    return diff <= rel_gap * max(abs(objective), 1e-9) + 1e-9


def tighten(objective: float, bound: float, *, integral: bool) -> float:
    """With an integral objective, a lower bound within 1 of the plan proves the plan's value."""
    if integral and np.isfinite(objective) and np.isfinite(bound) and 0 <= objective - bound < 1 - 1e-6:
        return objective
    return bound


def _within(x: FloatArray, model: LinearModel) -> bool:
    return bool(np.all(x >= model.lower - 1e-9) and np.all(x <= model.upper + 1e-9))


def solve_exact(
    model: LinearModel,
    start: FloatArray | None,
    incumbent: float,
    clock: Clock,
    *,
    rel_gap: float,
    integral: bool,
    lp_method: LpMethod = "dual",
    use_lp: bool = True,
    known_bound: float = -np.inf,
    presolve: bool = True,
    round_lp: RoundLp | None = None,
    refine: Refine | None = None,
) -> ExactOutcome:
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
    if use_lp and clock.left() > 0 and not gap_closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
        lp = solve(model, relax=True, time_limit=clock.left(), lp_method=lp_method)
        clock.lap("bound")
        if lp.outcome == "infeasible":
            return ExactOutcome(None, np.inf, np.inf, "infeasible")
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
            and not gap_closed(incumbent, bound, rel_gap=rel_gap, integral=integral)
        ):
            point, value, bound = refine(reduced, lp, incumbent, bound)
            if point is not None and value < incumbent:
                start, incumbent, x_best = point, value, point
                reduced, fixed = fix_by_reduced_cost(model, lp, incumbent, margin=margin)
                logger.debug("reduced-cost fixing against the refined plan fixed %d columns", fixed)
    if gap_closed(incumbent, bound, rel_gap=rel_gap, integral=integral):
        return ExactOutcome(x_best, incumbent, tighten(incumbent, bound, integral=integral), "optimal")
    if clock.left() <= 0:
        return ExactOutcome(x_best, incumbent, bound, "time_limit")
    packed = compact(reduced)
    if packed is None:  # the fixings leave no point: nothing beats the incumbent
        return ExactOutcome(x_best, incumbent, bound, "optimal" if np.isfinite(incumbent) else "infeasible")
    small, kept, fixed_point = packed
    mip_start = None
    if start is not None and _within(start, reduced):
        mip_start = start[kept]
    mip: SolveOutcome = solve(
        small, time_limit=clock.left(), rel_gap=rel_gap, start=mip_start, presolve=presolve
    )
    clock.lap("solve")
    if mip.outcome == "infeasible" and not np.isfinite(incumbent):
        return ExactOutcome(None, np.inf, np.inf, "infeasible")
    improved = mip.x is not None and mip.objective < incumbent
    if improved and mip.x is not None:
        x_best = fixed_point.copy()
        x_best[kept] = mip.x
    value = mip.objective if improved else incumbent
    # the reduced model lost only plans no better than the incumbent
    reduced_bound = np.inf if mip.outcome == "infeasible" else mip.bound
    bound = max(bound, min(incumbent, reduced_bound))
    if not np.isfinite(value):
        return ExactOutcome(None, np.inf, bound, "time_limit")
    bound = min(bound, value)
    done = mip.outcome in ("optimal", "infeasible")
    if done or gap_closed(value, bound, rel_gap=rel_gap, integral=integral):
        return ExactOutcome(x_best, value, tighten(value, bound, integral=integral), "optimal")
    return ExactOutcome(x_best, value, bound, "time_limit")


def relative_gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return np.inf
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / abs(objective) if objective != 0 else np.inf


def relaxation_bound(
    model: LinearModel,
    value: float,
    bound: float,
    clock: Clock,
    *,
    rel_gap: float,
    integral: bool,
    lp_method: LpMethod = "dual",
) -> float:
    """``bound`` on a plan of ``value``, raised by the LP relaxation of ``model`` when the gap
    is still open, and tightened to the plan's value when that is proven."""
    if not gap_closed(value, bound, rel_gap=rel_gap, integral=integral):
        lp = solve(model, relax=True, time_limit=max(clock.left(), 1e-3), lp_method=lp_method)
        clock.lap("bound")
        if lp.outcome == "optimal":
            bound = max(bound, lp.objective)
    return tighten(value, bound, integral=integral)


# ---------------------------------------------------------------------------------------------
# the skeleton of a model


@dataclass(frozen=True)
class Incumbent:
    """The heuristic plan of a reduced problem: its sites, its value and a bound proven on the
    way (``-inf`` when there is none)."""

    plan: IntArray
    value: float
    bound: float = -np.inf


@dataclass(frozen=True)
class Formulation:
    """A model's own pieces for :func:`solve_reduced`, in minimisation form.

    ``heuristic()`` finds the first plan; ``build(found)`` returns the integer program and
    ``start(found)`` the plan as a point of it (None when it is not one; only the exact solve
    needs it); ``read(x)`` gives the sites of a point of the model and ``evaluate(plan)`` their
    value. ``integral`` says every plan's value is a whole
    number. ``lp_bound(model, found)`` is the bound of the heuristic plan with
    ``method="heuristic"`` (default :func:`relaxation_bound`); without ``use_lp`` that bound is
    ``found.bound`` and no model is built. The other fields are options of :func:`solve_exact`.
    """

    heuristic: Callable[[], Incumbent]
    build: Callable[[Incumbent], LinearModel]
    start: Callable[[Incumbent], FloatArray | None]
    read: Callable[[FloatArray], IntArray]
    evaluate: Callable[[IntArray], float]
    integral: bool
    lp_method: LpMethod = "dual"
    use_lp: bool = True
    presolve: bool = True
    round_lp: RoundLp | None = None
    refine: Refine | None = None
    lp_bound: Callable[[LinearModel, Incumbent], float] | None = None


@dataclass(frozen=True)
class Solved:
    """A model's answer on its reduced problem: the sites, their value, the bound, the status."""

    plan: IntArray
    value: float
    bound: float
    status: Status


#: The answer when the reductions leave nothing to decide.
NOTHING_LEFT = Solved(np.zeros(0, dtype=np.int64), 0.0, 0.0, "optimal")


def solve_reduced(f: Formulation, clock: Clock, *, method: Method, rel_gap: float) -> Solved:
    """Heuristic plan, integer program, then its bound or the exact solve started from it.

    With ``method="exact"`` the plan is the solver's when it beat the heuristic's, else the
    heuristic's; when neither has a finite value there is no plan (no sites, value ``inf``).
    """
    found = f.heuristic()
    clock.lap("heuristic")
    if method == "heuristic" and not f.use_lp:
        return Solved(found.plan, found.value, found.bound, "heuristic")
    model = f.build(found)
    clock.lap("build")
    if method == "heuristic":
        if f.lp_bound is not None:
            bound = f.lp_bound(model, found)
        else:
            bound = relaxation_bound(
                model,
                found.value,
                found.bound,
                clock,
                rel_gap=rel_gap,
                integral=f.integral,
                lp_method=f.lp_method,
            )
        return Solved(found.plan, found.value, bound, "heuristic")
    ex = solve_exact(
        model,
        f.start(found),
        found.value,
        clock,
        rel_gap=rel_gap,
        integral=f.integral,
        lp_method=f.lp_method,
        use_lp=f.use_lp,
        known_bound=found.bound,
        presolve=f.presolve,
        round_lp=f.round_lp,
        refine=f.refine,
    )
    if ex.x is not None:
        plan = f.read(ex.x)
        return Solved(plan, f.evaluate(plan), ex.bound, ex.status)
    if np.isfinite(found.value):
        return Solved(found.plan, found.value, ex.bound, ex.status)
    return Solved(found.plan[:0], np.inf, ex.bound, ex.status)
