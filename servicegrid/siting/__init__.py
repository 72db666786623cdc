"""Siting: where to build or upgrade stations, with proof of quality.

Four models, each taking a demand × candidate matrix (scipy.sparse, or a dense array for small
instances) plus weights and costs, so that they work on any problem; :func:`plan_layers` is the
adaptor that builds those arrays from a workspace and reads the plan back as layers.

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

:func:`solve_by_parts` (what :func:`plan_layers` calls) splits a problem into the parts that
share no decision (compounds no candidate joins, townships with their own targets) and solves
them side by side: the optimum is the sum of theirs, and a time limit hits only the parts still
open. Capacitated township targets are solved component by component (:mod:`.pareto`).

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
  to the open sites that reach it (:mod:`.capacitated`) and HiGHS solves it whole, without the
  reductions and heuristics, which assume that reach is service. When capacities make a target
  or full coverage impossible, the plan serves the most it can and, among such plans, costs the
  least.

Modules, each owning one thing:

- :mod:`.result`: :class:`SitingResult`, :class:`GroupCoverage` and the literal types;
- :mod:`.checks`: the input checks of the models;
- :mod:`.exact`: the clock, the exact pipeline (LP, fixing, MIP), gap helpers, and the skeleton
  every model runs (:func:`~.exact.solve_reduced` on a :class:`~.exact.Formulation`);
- :mod:`.covering`: what the covering models share (validated problem, integer program, result);
- :mod:`.set_cover`, :mod:`.max_cover`, :mod:`.upgrade`, :mod:`.p_median`: one model each;
- :mod:`.capacitated`: covering with capacities, its model and the questions the models ask it;
- :mod:`.highs`: the HiGHS boundary; :mod:`.reduce`: exact reductions of covering problems;
- :mod:`.heuristics`: greedy, local search, tabu and Lagrangian bounds, by model family;
- :mod:`.decompose`, :mod:`.by_parts`, :mod:`.allocate`: :func:`solve_by_parts`, the models
  solved by their independent parts (a shared ``p`` or budget split between them);
  :mod:`.pareto`: capacitated township targets component by component, each small
  component's plans from :mod:`.frontier`;
- :mod:`.reach`, :mod:`.candidates`, :mod:`.plan`, :mod:`.plan_results`: planning on a workspace
  (walking reach, candidate sites, :func:`plan_layers`, the plan read back as layers).

Siting sits above :mod:`servicegrid.coverage`: it uses the walking networks, distances and
coverage tiers from there, never the other way round.
"""

from .by_parts import solve_by_parts
from .candidates import plan_candidates
from .highs import SolverWarning
from .max_cover import max_cover
from .p_median import p_median
from .plan import PlanModel, PlanResult, plan_layers
from .result import (
    Decomposition,
    GroupCoverage,
    Method,
    ModelName,
    Sense,
    SiteKind,
    SitingResult,
    Status,
    UncoverableReason,
)
from .set_cover import set_cover
from .upgrade import upgrade_or_build

__all__ = [
    "Decomposition",
    "GroupCoverage",
    "Method",
    "ModelName",
    "PlanModel",
    "PlanResult",
    "Sense",
    "SiteKind",
    "SitingResult",
    "SolverWarning",
    "Status",
    "UncoverableReason",
    "max_cover",
    "p_median",
    "plan_candidates",
    "plan_layers",
    "set_cover",
    "solve_by_parts",
    "upgrade_or_build",
]
