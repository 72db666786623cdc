"""What a siting model answers: :class:`SitingResult` (the plan, its value, the proven bound on
the optimum and how it was reached), :class:`GroupCoverage` (coverage per group against its
target), :class:`Decomposition` (how a plan solved by parts was split), and the literal types of
statuses, methods, model names, senses and site kinds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = [
    "Decomposition",
    "GroupCoverage",
    "Method",
    "ModelName",
    "Sense",
    "SiteKind",
    "SitingResult",
    "Status",
    "UncoverableReason",
]

Status = Literal["optimal", "time_limit", "infeasible", "heuristic"]
Method = Literal["exact", "heuristic"]
ModelName = Literal["set_cover", "max_cover", "p_median", "upgrade_or_build"]
Sense = Literal["min", "max"]
UncoverableReason = Literal["no_candidate", "only_excluded"]
SiteKind = Literal["new", "upgrade"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


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
class Decomposition:
    """How a problem was split into independent parts and solved (see :mod:`.by_parts`).

    ``components`` counts the connected components of the demand × candidate reach graph (with
    the groups when each has its own target) that hold a choice; ``parts`` the sub-problems
    solved (small components are batched into one); ``largest`` the rows and candidates of the
    largest part; ``workers`` the threads that solved them. ``coupling`` names what couples
    the parts (``"p"``, ``"budget"``) when a shared limit was split between them,
    ``rounds`` and ``solves`` how many allocation rounds and part solves that took. ``whole``
    says why the problem was solved whole instead (empty when it was split). ``enumerated`` and
    ``kept`` count the components whose plans were enumerated and those kept whole when
    capacitated township targets were solved component by component (:mod:`.pareto`).
    """

    components: int
    parts: int
    largest: tuple[int, int]
    workers: int = 1
    coupling: str = ""
    rounds: int = 0
    solves: int = 0
    whole: str = ""
    enumerated: int = 0
    kept: int = 0

    @property
    def note(self) -> str:
        """One line for a plan's notes."""
        split = self._split()
        if not self.enumerated:
            return split
        by_component = (
            f"township targets by component: {self.enumerated:,} components' plans enumerated, "
            f"{self.kept:,} kept whole"
        )
        return f"{split}; {by_component}" if split else f"capacitated {by_component}"

    def _split(self) -> str:
        if self.whole:
            return self.whole
        if self.parts < 2:
            return ""
        rows, sites = self.largest
        size = f"largest {rows:,} rows × {sites:,} sites"
        threads = f"{self.workers} threads" if self.workers > 1 else "1 thread"
        if self.coupling:
            what = "the number of new sites" if self.coupling == "p" else "the budget"
            return (
                f"solved as {self.parts:,} parts ({size}) with {what} shared between them: "
                f"{self.rounds} allocation rounds, {self.solves:,} part solves, {threads}"
            )
        return (
            f"solved as {self.parts:,} independent parts ({self.components:,} components; {size}), {threads}"
        )


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
    decomposition
        How the problem was split into parts (:func:`~servicegrid.siting.solve_by_parts`), or
        its capacitated township targets solved component by component; ``None`` otherwise.
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
    decomposition: Decomposition | None = None

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
