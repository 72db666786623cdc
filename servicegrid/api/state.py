"""One state of the service: the opened workspace, its network, the audit and the indexes built on them.

A :class:`State` is never changed once built: an update builds the next one (reusing what did not
change) and the service swaps it in, so a request reads one consistent state from start to end.
What only some requests need — the coverage of every unit, the full coverage result with its
summaries, gaps and service areas, the audit of every facility with the township summaries, the
township workbooks — is computed on first use and kept with the state (:class:`Lazy`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from ..coverage.analysis import TierCoverage, coverage_tiers
from ..coverage.network import StreetNetwork
from ..coverage.snapping import snap_points
from ..pipeline import Project
from .areas import AreaIndex
from .facilities import FacilityTable, build_table
from .index import NearestIndex
from .points import Converter

if TYPE_CHECKING:
    from ..coverage.analysis import CoverageResult
    from ..standards.audit import AuditResult
    from .units import UnitCoverage

__all__ = ["Lazy", "State", "build_state", "tier_specs"]

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value computed once, on first use, by whichever thread asks first (the others wait)."""

    def __init__(self, compute: Callable[[], T], value: T | None = None) -> None:
        self._compute = compute
        self._value = value
        self._done = value is not None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether the value is there already."""
        return self._done

    def get(self) -> T:
        """The value, computing it if needed."""
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value = self._compute()
                    self._done = True
        return self._value  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class State:
    """Everything a request reads, for one version of the workspace."""

    version: int
    project: Project
    network: StreetNetwork
    network_source: str
    network_hash: str
    facilities: FacilityTable
    index: NearestIndex
    areas: AreaIndex
    converter: Converter
    walk_tiers: tuple[TierCoverage, ...]
    loaded_at: float
    updated_at: float | None = None
    lazy: dict[str, Lazy[Any]] = field(default_factory=dict)

    @property
    def units(self) -> UnitCoverage:
        """Coverage of every demand unit (computed on first use)."""
        return self.lazy["units"].get()

    @property
    def coverage(self) -> CoverageResult:
        """The coverage stage's full result (computed on first use)."""
        return self.lazy["coverage"].get()

    @property
    def full_audit(self) -> AuditResult:
        """The audit of every facility with its township summaries (computed on first use)."""
        return self.lazy["audit"].get()


def tier_specs(
    project: Project,
) -> tuple[tuple[TierCoverage, ...], dict[str, tuple[float | None, tuple[str, ...]]]]:
    """The walk-based tiers of the preset, and for every tier its radius and who answers for it
    (a tier without a walking radius is answered by its own facilities only)."""
    walk = tuple(coverage_tiers(project.preset, radii_m=project.settings.radii_m))
    specs: dict[str, tuple[float | None, tuple[str, ...]]] = {t.tier: (t.radius_m, t.providers) for t in walk}
    for tier in project.preset.tiers:
        specs.setdefault(tier, (None, (tier,)))
    return walk, specs


def build_state(
    project: Project,
    network: StreetNetwork,
    audit: AuditResult,
    *,
    version: int,
    network_source: str,
    network_hash: str,
    lang: str,
    lazies: Callable[[State], dict[str, Lazy[Any]]],
) -> State:
    """The first state of a service: the facility table, the index of every tier, the areas."""
    table = build_table(
        project.workspace.layer("facilities"), audit.facilities, project.preset, crs=network.crs, lang=lang
    )
    limit = project.settings.snap_limit_m
    snaps = snap_points(network, table.xy, max_distance=limit)
    walk, specs = tier_specs(project)
    index = NearestIndex.build(network, snaps, table.xy, table.tier, table.serving, specs, snap_limit_m=limit)
    state = State(
        version=version,
        project=project,
        network=network,
        network_source=network_source,
        network_hash=network_hash,
        facilities=table,
        index=index,
        areas=AreaIndex(project.workspace, network.crs),
        converter=Converter(network.crs),
        walk_tiers=walk,
        loaded_at=time.time(),
    )
    state.lazy.update(lazies(state))
    state.lazy["audit"] = Lazy(lambda: audit, audit)
    return state


def unsnapped(state: State) -> int:
    """Serving facilities too far from every path to be reached."""
    return int((state.facilities.serving & ~state.index.facility_snap.ok).sum())


def counts(state: State) -> dict[str, int]:
    """Features per layer, facilities by status."""
    out = {name: len(frame) for name, frame in state.project.workspace.layers.items()}
    status = state.facilities.frame["status"].astype(str).to_numpy()
    for value in np.unique(status).tolist():
        out[f"facilities_{value}"] = int((status == value).sum())
    return out
