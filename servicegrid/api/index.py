"""The nearest-facility index: per tier, every network node's nearest facility, computed once.

At start-up (and for the tiers a facility update touches) each tier gets one multi-source pass
(:func:`servicegrid.coverage.distance.nearest_facility`) over the walking network from the
facilities that answer for it (the tier and the higher tiers the preset lets stand in); that
gives every node its nearest facility and the distance to it. A request is then a coordinate
conversion, a snap onto the nearest edge (:func:`servicegrid.coverage.snapping.snap_points`,
a KD-tree search) and an array lookup at the two ends of that edge, plus the facilities on the
same edge — the same walk that coverage counts (offset to the path, along the edge, through the
network, along the facility's edge, to the facility).

``k > 1`` and routes use a bounded single-source search (:func:`scipy.sparse.csgraph.dijkstra`
on the network's CSR graph, from both ends of the snapped edge, with a distance limit); the route
is the walk as a LineString in the network's metric CRS, exactly as long as the distance.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from ..coverage.distance import nearest_facility
from ..coverage.network import StreetNetwork
from ..coverage.snapping import SnapResult, snap_points

__all__ = ["Answer", "NearestIndex", "Search", "TierIndex", "splice_snaps"]


@dataclass(frozen=True, eq=False)
class TierIndex:
    """One tier's precomputed pass: who answers for it and every node's nearest of them."""

    tier: str
    radius_m: float | None
    providers: tuple[str, ...]
    members: np.ndarray  # positions (in the facility table) of the snapped serving providers
    node_member: np.ndarray  # (n,) index into members of each node's nearest, -1 when none
    node_distance: np.ndarray  # (n,) walking metres from the node to it
    edge_sorted: np.ndarray  # members' edges, sorted
    edge_order: np.ndarray  # members (indices into members) in that order


@dataclass(frozen=True, eq=False)
class Answer:
    """The nearest facility of each point for one tier (facility positions, -1 when none)."""

    facility: np.ndarray
    walk_m: np.ndarray


@dataclass(frozen=True, eq=False)
class Search:
    """A bounded search from one snapped point: distances from both ends of its edge."""

    point: SnapResult
    dist: np.ndarray  # (2, n)
    pred: np.ndarray  # (2, n)
    limit: float


class NearestIndex:
    """Everything a nearest answer needs, for one state of the facilities.

    ``facility_snap`` holds every facility of the table snapped to the network (in table order);
    ``serving`` marks those that serve residents (existing status, with a position).
    """

    def __init__(
        self,
        network: StreetNetwork,
        facility_snap: SnapResult,
        facility_xy: np.ndarray,
        facility_tier: np.ndarray,
        serving: np.ndarray,
        tiers: Mapping[str, TierIndex],
        snap_limit_m: float,
    ) -> None:
        self.network = network
        self.facility_snap = facility_snap
        self.facility_xy = facility_xy  # where the facilities are (routes end at the door)
        self.facility_tier = facility_tier
        self.serving = serving
        self.tiers = dict(tiers)
        self.snap_limit_m = snap_limit_m

    @classmethod
    def build(
        cls,
        network: StreetNetwork,
        facility_snap: SnapResult,
        facility_xy: np.ndarray,
        facility_tier: np.ndarray,
        serving: np.ndarray,
        specs: Mapping[str, tuple[float | None, tuple[str, ...]]],
        *,
        snap_limit_m: float,
    ) -> NearestIndex:
        """One pass per tier of ``specs`` (tier → (radius, providers))."""
        tiers = {
            tier: _tier_index(network, facility_snap, facility_tier, serving, tier, radius, providers)
            for tier, (radius, providers) in specs.items()
        }
        return cls(network, facility_snap, facility_xy, facility_tier, serving, tiers, snap_limit_m)

    def rebuilt(
        self,
        facility_snap: SnapResult,
        facility_xy: np.ndarray,
        facility_tier: np.ndarray,
        serving: np.ndarray,
        tiers: set[str],
    ) -> NearestIndex:
        """A new index for changed facilities: the passes of ``tiers`` run again, the others kept."""
        out = dict(self.tiers)
        for tier in tiers & set(self.tiers):
            old = self.tiers[tier]
            out[tier] = _tier_index(
                self.network, facility_snap, facility_tier, serving, tier, old.radius_m, old.providers
            )
        return NearestIndex(
            self.network, facility_snap, facility_xy, facility_tier, serving, out, self.snap_limit_m
        )

    def tiers_of(self, facility_tiers: set[str]) -> set[str]:
        """The tiers whose answers facilities of ``facility_tiers`` take part in."""
        return {t for t, ti in self.tiers.items() if facility_tiers & set(ti.providers)}

    # -- snapping and the precomputed answer --------------------------------------------------------

    def snap(self, xy: np.ndarray) -> SnapResult:
        """Snap metric points ``(m, 2)`` onto the network (the workspace's snap limit)."""
        return snap_points(
            self.network, np.asarray(xy, dtype=float).reshape(-1, 2), max_distance=self.snap_limit_m
        )

    def nearest(self, tier: str, points: SnapResult) -> Answer:
        """The nearest facility of ``tier`` for every snapped point (vectorized)."""
        ti = self.tiers[tier]
        m = len(points)
        if m == 1:
            return self._nearest_one(ti, points)
        ok = points.ok
        if ti.members.size == 0 or not ok.any():
            return Answer(np.full(m, -1, dtype=np.int64), np.full(m, np.inf))
        u = np.where(ok, points.node_u, 0)
        v = np.where(ok, points.node_v, 0)
        via_u = ti.node_distance[u] + np.where(ok, points.to_u, np.inf)
        via_v = ti.node_distance[v] + np.where(ok, points.to_v, np.inf)
        best = np.minimum(via_u, via_v)
        member = np.where(via_v < via_u, ti.node_member[v], ti.node_member[u])
        self._same_edge(ti, points, best, member)
        walk = np.where(ok & (member >= 0), best + points.offset, np.inf)
        facility = np.where(np.isfinite(walk), ti.members[np.maximum(member, 0)], -1)
        return Answer(facility.astype(np.int64), walk)

    def _nearest_one(self, ti: TierIndex, point: SnapResult) -> Answer:
        """:meth:`nearest` of one snapped point (a request) on Python numbers: the same walk and
        rules (the end of the edge with the shorter walk, the u end on a tie; a facility on the
        point's own edge when walking along the edge is shorter, the first of equals)."""
        if ti.members.size == 0 or not bool(point.ok[0]):
            return Answer(np.array([-1], dtype=np.int64), np.array([np.inf]))
        u, v = int(point.node_u[0]), int(point.node_v[0])
        via_u = float(ti.node_distance[u]) + float(point.to_u[0])
        via_v = float(ti.node_distance[v]) + float(point.to_v[0])
        best, member = (via_v, int(ti.node_member[v])) if via_v < via_u else (via_u, int(ti.node_member[u]))
        edge = int(point.edge[0])
        lo, hi = np.searchsorted(ti.edge_sorted, [edge, edge + 1]).tolist()
        if hi > lo:
            mem = ti.edge_order[lo:hi]
            fpos = ti.members[mem]
            fs = self.facility_snap
            direct = fs.offset[fpos] + np.abs(fs.position[fpos] - float(point.position[0]))
            j = int(np.argmin(direct))
            if float(direct[j]) < best:
                best, member = float(direct[j]), int(mem[j])
        walk = best + float(point.offset[0]) if member >= 0 else math.inf
        if not math.isfinite(walk):
            return Answer(np.array([-1], dtype=np.int64), np.array([np.inf]))
        return Answer(np.array([int(ti.members[member])], dtype=np.int64), np.array([walk]))

    def _same_edge(self, ti: TierIndex, points: SnapResult, best: np.ndarray, member: np.ndarray) -> None:
        """Let facilities on a point's own edge win when the walk along the edge is shorter."""
        edge = np.where(points.ok, points.edge, -1)
        lo = np.searchsorted(ti.edge_sorted, edge, side="left")
        hi = np.searchsorted(ti.edge_sorted, edge, side="right")
        counts = np.where(points.ok, hi - lo, 0)
        total = int(counts.sum())
        if total == 0:
            return
        t_rep = np.repeat(np.arange(len(points)), counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        mem = ti.edge_order[np.repeat(lo, counts) + within]
        fpos = ti.members[mem]
        fs = self.facility_snap
        direct = fs.offset[fpos] + np.abs(fs.position[fpos] - points.position[t_rep])
        order = np.lexsort((direct, t_rep))
        first = np.ones(order.size, dtype=bool)
        first[1:] = t_rep[order][1:] != t_rep[order][:-1]
        t_best, m_best, d_best = t_rep[order][first], mem[order][first], direct[order][first]
        better = d_best < best[t_best]
        best[t_best[better]] = d_best[better]
        member[t_best[better]] = m_best[better]

    # -- bounded single-source search, k nearest and routes -------------------------------------------

    def search(self, point: SnapResult, limit: float) -> Search:
        """Distances from both ends of the snapped point's edge, up to ``limit`` metres."""
        ends = [int(point.node_u[0]), int(point.node_v[0])]
        dist, pred = dijkstra(
            self.network.graph, directed=True, indices=ends, limit=limit, return_predecessors=True
        )
        return Search(point, dist, pred, limit)

    def walks(self, search: Search, tier: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Walking metres from the searched point to every member of ``tier``, with how each walk
        goes: the end of the point's edge it leaves by (0 u, 1 v) and the end of the facility's edge
        it arrives by (0 u, 1 v, -1 straight along a shared edge)."""
        ti = self.tiers[tier]
        p = search.point
        fs = self.facility_snap
        fpos = ti.members
        from_u = p.to_u[0] + search.dist[0]
        from_v = p.to_v[0] + search.dist[1]
        origin = np.minimum(from_u, from_v)
        fu, fv = fs.node_u[fpos], fs.node_v[fpos]
        via_fu = origin[fu] + fs.to_u[fpos]
        via_fv = origin[fv] + fs.to_v[fpos]
        best = np.minimum(via_fu, via_fv)
        arrive = (via_fv < via_fu).astype(np.int64)
        same = fs.edge[fpos] == p.edge[0]
        direct = np.where(same, np.abs(fs.position[fpos] - p.position[0]), np.inf)
        shared = direct <= best
        best = np.where(shared, direct, best)
        arrive = np.where(shared, -1, arrive)
        end_node = np.where(arrive == 1, fv, fu)
        leave = (from_v[end_node] < from_u[end_node]).astype(np.int64)
        walk = best + p.offset[0] + fs.offset[fpos]
        return walk, leave, arrive

    def k_nearest(self, search: Search, tier: str, k: int, max_m: float) -> tuple[np.ndarray, ...]:
        """The ``k`` nearest members within ``max_m``: facility positions, walks, leave and arrive ends."""
        walk, leave, arrive = self.walks(search, tier)
        keep = np.flatnonzero(np.isfinite(walk) & (walk <= max_m))
        order = keep[np.argsort(walk[keep], kind="stable")][:k]
        return self.tiers[tier].members[order], walk[order], leave[order], arrive[order]

    @cached_property
    def _pair_edge(self) -> dict[tuple[int, int], int]:
        """The shortest edge between every pair of adjacent nodes."""
        net = self.network
        order = np.lexsort(
            (net.edge_length, np.maximum(net.edge_u, net.edge_v), np.minimum(net.edge_u, net.edge_v))
        )
        out: dict[tuple[int, int], int] = {}
        for e in order.tolist():
            a, b = int(net.edge_u[e]), int(net.edge_v[e])
            out.setdefault((min(a, b), max(a, b)), e)
        return out

    def _edge_line(self, e: int) -> shapely.LineString:
        net = self.network
        return shapely.LineString(net.edge_coords[net.edge_offsets[e] : net.edge_offsets[e + 1]])

    def route(
        self, search: Search, origin_xy: np.ndarray, facility: int, leave: int, arrive: int
    ) -> np.ndarray:
        """The walk from ``origin_xy`` to ``facility`` as ``(c, 2)`` metric coordinates."""
        net = self.network
        p = search.point
        fs = self.facility_snap
        f_edge, f_pos = int(fs.edge[facility]), float(fs.position[facility])
        p_edge, p_pos = int(p.edge[0]), float(p.position[0])
        parts: list[np.ndarray] = [np.asarray(origin_xy, dtype=float).reshape(1, 2), p.xy[:1]]
        if arrive == -1:
            parts.append(_along(self._edge_line(p_edge), p_pos, f_pos))
        else:
            start = int(p.node_u[0] if leave == 0 else p.node_v[0])
            end = int(fs.node_u[facility] if arrive == 0 else fs.node_v[facility])
            parts.append(
                _along(self._edge_line(p_edge), p_pos, 0.0 if leave == 0 else float(net.edge_length[p_edge]))
            )
            nodes = [end]
            while nodes[-1] != start:
                nodes.append(int(search.pred[leave, nodes[-1]]))
            nodes.reverse()
            for a, b in itertools.pairwise(nodes):
                e = self._pair_edge[(min(a, b), max(a, b))]
                coords = net.edge_coords[net.edge_offsets[e] : net.edge_offsets[e + 1]]
                parts.append(coords if int(net.edge_u[e]) == a else coords[::-1])
            parts.append(
                _along(self._edge_line(f_edge), 0.0 if arrive == 0 else float(net.edge_length[f_edge]), f_pos)
            )
        parts += [fs.xy[facility : facility + 1], self.facility_xy[facility : facility + 1]]
        coords = np.concatenate([part.reshape(-1, 2) for part in parts])
        keep = np.ones(len(coords), dtype=bool)
        keep[1:] = np.any(np.abs(np.diff(coords, axis=0)) > 1e-9, axis=1)
        return coords[keep]


def _along(line: shapely.LineString, start: float, end: float) -> np.ndarray:
    """Coordinates along ``line`` from ``start`` to ``end`` metres (reversed when end < start)."""
    if abs(end - start) < 1e-9:
        return np.asarray(line.interpolate(start).coords).reshape(-1, 2)
    piece = substring(line, start, end)
    return np.asarray(piece.coords).reshape(-1, 2)


def _tier_index(
    network: StreetNetwork,
    facility_snap: SnapResult,
    facility_tier: np.ndarray,
    serving: np.ndarray,
    tier: str,
    radius: float | None,
    providers: tuple[str, ...],
) -> TierIndex:
    members = np.flatnonzero(serving & facility_snap.ok & np.isin(facility_tier, providers))
    n = network.n_nodes
    if members.size:
        result = nearest_facility(network, facility_snap.take(members))
        node_member, node_distance = result.node_source, result.node_distance
    else:
        node_member, node_distance = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    edges = facility_snap.edge[members]
    order = np.argsort(edges, kind="stable")
    return TierIndex(
        tier=tier,
        radius_m=radius,
        providers=providers,
        members=members,
        node_member=np.asarray(node_member, dtype=np.int64),
        node_distance=np.asarray(node_distance, dtype=float),
        edge_sorted=edges[order],
        edge_order=order,
    )


def splice_snaps(old: SnapResult, positions: np.ndarray, new: SnapResult, size: int) -> SnapResult:
    """``old`` (extended to ``size`` entries) with the entries at ``positions`` replaced by ``new``."""
    import pandas as pd

    def grow(values: np.ndarray, fill: object) -> np.ndarray:
        if len(values) >= size:
            return values[:size].copy()
        extra = np.full((size - len(values), *values.shape[1:]), fill, dtype=values.dtype)
        return np.concatenate([values, extra])

    fields = {
        "edge": -1,
        "offset": np.nan,
        "position": np.nan,
        "to_u": np.nan,
        "to_v": np.nan,
        "node_u": -1,
        "node_v": -1,
        "xy": np.nan,
        "reason": None,
    }
    arrays = {name: grow(getattr(old, name), fill) for name, fill in fields.items()}
    for name, values in arrays.items():
        values[positions] = getattr(new, name)
    return replace(old, index=pd.RangeIndex(size), **arrays)
