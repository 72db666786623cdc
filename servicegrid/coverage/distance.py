"""Walking distances on the network: the nearest facility of every point, and distance matrices.

Both functions work on points already snapped with :func:`~servicegrid.coverage.snapping.snap_points`
and count the whole walk: from the source point straight to its path (offset), along its edge to
a node, through the network, along the target's edge, and straight to the target. Sources and
targets on the same edge also get the direct walk along that edge.

Each snapped source becomes a virtual node joined to both ends of its edge, so that:

- :func:`nearest_facility` finds the nearest source of every node and every target with ONE
  multi-source ``scipy.sparse.csgraph.dijkstra`` pass (``min_only=True``; its ``sources`` output
  tells which source is nearest);
- :func:`distance_matrix_sparse` runs one bounded dijkstra per block of sources
  (``indices=``, ``limit=``) and keeps the pairs within the limit in a sparse matrix.

A target on another piece of the network than every source, or beyond ``limit``, gets an
infinite distance internally and a reason text; nothing here raises for unreachable points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from .network import StreetNetwork
from .snapping import SnapResult

__all__ = ["NearestResult", "distance_matrix_sparse", "nearest_facility"]

_NOT_CONNECTED = "not connected: no facility on the same piece of the walking network"
_NO_SOURCES = "no facility to reach (none was snapped to the network)"


@dataclass(frozen=True, eq=False)
class NearestResult:
    """The nearest source of every target and every network node.

    Attributes
    ----------
    source : numpy.ndarray
        ``(m,)`` position (in the sources' :class:`SnapResult`) of each target's nearest
        source; -1 when none is reachable within the limit.
    distance : numpy.ndarray
        ``(m,)`` walking distance, metres; ``inf`` when no source is reachable.
    reason : numpy.ndarray
        ``(m,)`` ``None`` when a source was found, else why not (object array of str).
    node_source, node_distance : numpy.ndarray
        The same for every network node (distance from the node itself, no offsets).
    """

    source: np.ndarray
    distance: np.ndarray
    reason: np.ndarray
    node_source: np.ndarray
    node_distance: np.ndarray


def _check_limit(limit: float | None) -> float:
    if limit is None:
        return np.inf
    if not limit > 0:
        msg = f"limit must be a positive number of metres, got {limit}"
        raise InputError(msg)
    return float(limit)


def _with_sources(network: StreetNetwork, sources: SnapResult) -> tuple[csr_array, np.ndarray]:
    """The network's graph with one virtual node per snapped source (rows n..n+k-1).

    A virtual node has edges out to both ends of its source's edge, weighted by the offset plus
    the distance along the edge; nothing leads into it, so no path passes through a source.
    """
    positions = np.flatnonzero(sources.ok)
    k = positions.size
    g = network.graph
    n = network.n_nodes
    u = sources.node_u[positions]
    v = sources.node_v[positions]
    wu = sources.offset[positions] + sources.to_u[positions]
    wv = sources.offset[positions] + sources.to_v[positions]
    loop = u == v
    per_row = np.where(loop, 1, 2)
    starts = np.cumsum(per_row) - per_row
    cols = np.empty(per_row.sum(), dtype=g.indices.dtype)
    data = np.empty(per_row.sum(), dtype=np.float64)
    cols[starts] = u
    data[starts] = np.where(loop, np.minimum(wu, wv), wu)
    two = ~loop
    cols[starts[two] + 1] = v[two]
    data[starts[two] + 1] = wv[two]
    indptr = np.concatenate([g.indptr, g.indptr[-1] + np.cumsum(per_row)]).astype(g.indptr.dtype)
    graph = csr_array(
        (np.concatenate([g.data, data]), np.concatenate([g.indices, cols]), indptr),
        shape=(n + k, n + k),
    )
    return graph, positions


def _same_edge_pairs(sources: SnapResult, src_pos: np.ndarray, targets: SnapResult) -> tuple[np.ndarray, ...]:
    """Pairs (source position, target position, distance) of points on the same edge.

    The distance is the walk along the shared edge: both offsets plus the gap between them.
    """
    t_pos = np.flatnonzero(targets.ok)
    s_edge = sources.edge[src_pos]
    order = np.argsort(s_edge, kind="stable")
    s_sorted = s_edge[order]
    t_edge = targets.edge[t_pos]
    lo = np.searchsorted(s_sorted, t_edge, side="left")
    hi = np.searchsorted(s_sorted, t_edge, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    t_rep = np.repeat(t_pos, counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    s_rep = src_pos[order[np.repeat(lo, counts) + within]]
    dist = (
        sources.offset[s_rep]
        + np.abs(sources.position[s_rep] - targets.position[t_rep])
        + targets.offset[t_rep]
    )
    return s_rep, t_rep, dist


def _unreached_reason(
    network: StreetNetwork, sources: SnapResult, src_pos: np.ndarray, targets: SnapResult, limit: float
) -> np.ndarray:
    """Why each snapped target found no source: another network piece, or beyond ``limit``."""
    covered = np.zeros(int(network.component.max(initial=-1)) + 1, dtype=bool)
    covered[network.component[sources.node_u[src_pos]]] = True
    comp = network.component[np.where(targets.ok, targets.node_u, 0)] if network.n_nodes else np.zeros(0, int)
    beyond = f"no facility within {limit:,.0f} m on foot" if np.isfinite(limit) else _NOT_CONNECTED
    return np.where(covered[comp], beyond, _NOT_CONNECTED).astype(object)


def nearest_facility(
    network: StreetNetwork,
    sources: SnapResult,
    targets: SnapResult | None = None,
    *,
    limit: float | None = None,
) -> NearestResult:
    """The nearest source (facility) of every target and node, by walking distance.

    One multi-source dijkstra pass over the network gives every node its nearest source; each
    target then takes the better of its edge's two ends (plus the walk along the edge and its
    offset), or a source on its own edge when that is nearer.

    Parameters
    ----------
    network : StreetNetwork
        The walking network the points were snapped to.
    sources : SnapResult
        Snapped facilities. Unsnapped ones never count as nearest.
    targets : SnapResult, optional
        Snapped demand points (compound gates, settlements, …). Without it only the node arrays
        are filled (``source``/``distance``/``reason`` are empty).
    limit : float, optional
        Search radius in metres: sources farther away are not found (``inf``, reason
        ``"no facility within N m on foot"``). Bounding the search makes it faster.

    Returns
    -------
    NearestResult
    """
    limit_m = _check_limit(limit)
    n = network.n_nodes
    if targets is None:
        targets = SnapResult(
            index=pd.RangeIndex(0),
            edge=np.zeros(0, dtype=np.int64),
            offset=np.zeros(0),
            position=np.zeros(0),
            to_u=np.zeros(0),
            to_v=np.zeros(0),
            node_u=np.zeros(0, dtype=np.int64),
            node_v=np.zeros(0, dtype=np.int64),
            xy=np.zeros((0, 2)),
            reason=np.zeros(0, dtype=object),
        )
    m = len(targets)
    graph, src_pos = _with_sources(network, sources)
    k = src_pos.size
    if k == 0:
        reason = np.where(targets.ok, _NO_SOURCES, targets.reason).astype(object)
        return NearestResult(
            source=np.full(m, -1, dtype=np.int64),
            distance=np.full(m, np.inf),
            reason=reason,
            node_source=np.full(n, -1, dtype=np.int64),
            node_distance=np.full(n, np.inf),
        )
    dist, _, origin = dijkstra(
        graph,
        directed=True,
        indices=n + np.arange(k),
        min_only=True,
        return_predecessors=True,
        limit=limit_m,
    )
    node_distance = dist[:n]
    origin = origin[:n]
    node_source = np.where(origin >= n, src_pos[np.clip(origin - n, 0, k - 1)], -1)

    ok = targets.ok
    u = np.where(ok, targets.node_u, 0)
    v = np.where(ok, targets.node_v, 0)
    via_u = node_distance[u] + targets.to_u
    via_v = node_distance[v] + targets.to_v
    best = np.where(via_v < via_u, via_v, via_u)
    source = np.where(via_v < via_u, node_source[v], node_source[u])

    s_rep, t_rep, direct = _same_edge_pairs(sources, src_pos, targets)
    if direct.size:
        direct = direct - targets.offset[t_rep]  # offsets of targets are added below for all
        order = np.lexsort((direct, t_rep))
        first = np.ones(order.size, dtype=bool)
        first[1:] = t_rep[order][1:] != t_rep[order][:-1]
        t_best, s_best, d_best = t_rep[order][first], s_rep[order][first], direct[order][first]
        better = d_best < best[t_best]
        best[t_best[better]] = d_best[better]
        source[t_best[better]] = s_best[better]

    distance = np.where(ok, best + targets.offset, np.inf)
    found = ok & np.isfinite(distance) & (distance <= limit_m)
    distance = np.where(found, distance, np.inf)
    source = np.where(found, source, -1).astype(np.int64)
    reason = targets.reason.copy()
    unreached = ok & ~found
    if unreached.any():
        reason[unreached] = _unreached_reason(network, sources, src_pos, targets.take(unreached), limit_m)
    return NearestResult(
        source=source,
        distance=distance,
        reason=reason,
        node_source=node_source.astype(np.int64),
        node_distance=node_distance,
    )


def distance_matrix_sparse(
    network: StreetNetwork,
    sources: SnapResult,
    targets: SnapResult,
    *,
    limit: float,
    block_bytes: int = 64 * 2**20,
) -> csr_array:
    """Walking distances between every source and target within ``limit``, as a sparse matrix.

    Parameters
    ----------
    network : StreetNetwork
        The walking network the points were snapped to.
    sources, targets : SnapResult
        Snapped sources (facilities or candidate sites) and targets (demand points).
    limit : float
        Largest distance kept, metres (the largest service radius of interest).
    block_bytes : int
        Memory for one block of dijkstra rows; sources are processed in blocks of this size.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(len(sources), len(targets))``; entry ``[i, j]`` is the walking distance from
        source ``i`` to target ``j`` when it is within ``limit``. The stored entries are the
        pairs within reach, and a distance of 0 is stored as an explicit zero: read pairs
        from ``indptr``/``indices``/``data`` (or ``tocoo()``), not with ``nonzero()``.
        Unsnapped sources and targets have empty rows and columns.
    """
    limit_m = _check_limit(limit)
    if not np.isfinite(limit_m):
        msg = "distance_matrix_sparse needs a finite limit (metres)"
        raise InputError(msg)
    n = network.n_nodes
    graph, src_pos = _with_sources(network, sources)
    k = src_pos.size
    t_pos = np.flatnonzero(targets.ok)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    if k and t_pos.size:
        tu, tv = targets.node_u[t_pos], targets.node_v[t_pos]
        tq_u, tq_v, t_off = targets.to_u[t_pos], targets.to_v[t_pos], targets.offset[t_pos]
        width = max(n + k, t_pos.size)
        block = max(1, int(block_bytes // (8 * width)))
        for start in range(0, k, block):
            stop = min(k, start + block)
            dist = dijkstra(graph, directed=True, indices=n + np.arange(start, stop), limit=limit_m)
            cand = np.minimum(dist[:, tu] + tq_u, dist[:, tv] + tq_v) + t_off
            r, c = np.nonzero(cand <= limit_m)
            rows.append(src_pos[start + r])
            cols.append(t_pos[c])
            vals.append(cand[r, c])
        s_rep, t_rep, direct = _same_edge_pairs(sources, src_pos, targets)
        near = direct <= limit_m
        rows.append(s_rep[near])
        cols.append(t_rep[near])
        vals.append(direct[near])
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    val = np.concatenate(vals) if vals else np.zeros(0)
    order = np.lexsort((val, col, row))
    row, col, val = row[order], col[order], val[order]
    keep = np.ones(row.size, dtype=bool)
    keep[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
    row, col, val = row[keep], col[keep], val[keep]
    shape = (len(sources), len(targets))
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=shape[0]), out=indptr[1:])
    return csr_array((val, col.astype(np.int64), indptr), shape=shape)
