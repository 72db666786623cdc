"""The walking network type and the assembly of its sparse graph.

:class:`StreetNetwork` holds one undirected graph of walkable paths, measured in metres: a
symmetric ``scipy.sparse`` CSR matrix of edge lengths in a metric CRS (chosen by
:mod:`servicegrid.geo.crs`), the node coordinates with a KD-tree, the edge arrays with each edge's
geometry (for snapping points onto edges, see :class:`SegmentIndex`), and connected-component
labels.

This module turns paths (sequences of node references, as every source yields them) into a
network: ways are split into edges only where they share a node with another way (or end); the
nodes between are kept as the edge's geometry, so edge lengths are the exact lengths along the
path. Oneway tags are ignored: pedestrians walk both ways. Disconnected pieces are kept, labelled
(``component``, 0 being the largest) and reported in the log.

Networks are built from their sources by :mod:`servicegrid.coverage.sources` (OpenStreetMap
files, the roads layer, osmnx graphs) and cached by :mod:`servicegrid.coverage.cache`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import scipy
import shapely
from pyproj import CRS
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import NetworkError

__all__ = [
    "SNAP_PIECE_M",
    "SegmentIndex",
    "StreetNetwork",
    "segment_index_arrays",
    "segment_index_from_arrays",
    "with_segment_index",
]

logger = logging.getLogger(__name__)

#: Longest straight piece of path in the snapping index, metres. Shorter pieces make the
#: nearest-piece search tighter (fewer candidates per point) at the cost of a larger index.
SNAP_PIECE_M = 50.0


@dataclass(frozen=True, eq=False)
class SegmentIndex:
    """Every edge cut into straight pieces no longer than :data:`SNAP_PIECE_M`.

    Attributes
    ----------
    start, end : numpy.ndarray
        ``(p, 2)`` ends of each piece, in the direction of its edge.
    edge : numpy.ndarray
        ``(p,)`` the edge each piece belongs to.
    along : numpy.ndarray
        ``(p,)`` distance along the edge from its ``u`` end to the piece's start, metres.
    half : float
        Half the length of the longest piece: no point of a piece is farther than this from the
        piece's midpoint, which is what makes the midpoint KD-tree search exact.
    tree : scipy.spatial.cKDTree
        KD-tree of the piece midpoints.
    """

    start: np.ndarray
    end: np.ndarray
    edge: np.ndarray
    along: np.ndarray
    half: float
    tree: cKDTree


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """An undirected walking network in a metric CRS.

    Nodes are path ends and the points where paths meet; every edge runs between two nodes
    along its geometry. Arrays are never modified after construction.

    Attributes
    ----------
    crs : pyproj.CRS
        The metric CRS of all coordinates and lengths (metres).
    node_xy : numpy.ndarray
        ``(n, 2)`` node coordinates.
    node_ids : numpy.ndarray
        ``(n,)`` int64 node ids of the source (OSM node ids, osmnx node ids, or 0..n-1).
    edge_u, edge_v : numpy.ndarray
        ``(m,)`` int64 node indices of each edge's ends; the geometry runs from ``u`` to ``v``.
    edge_length : numpy.ndarray
        ``(m,)`` length of each edge along its geometry, metres.
    edge_way : numpy.ndarray
        ``(m,)`` int64 id of the way (OSM way id, or row of the roads layer) each edge lies on.
    edge_coords : numpy.ndarray
        ``(c, 2)`` vertices of all edge geometries, edge after edge.
    edge_offsets : numpy.ndarray
        ``(m + 1,)`` where each edge's vertices start in ``edge_coords``.
    graph : scipy.sparse.csr_array
        ``(n, n)`` symmetric matrix of the shortest edge length between adjacent nodes
        (self-loops left out; explicit zeros are zero-length edges).
    component : numpy.ndarray
        ``(n,)`` connected-component label of each node; 0 is the largest piece.
    source : str
        What the network was built from (a file name or a description).
    problems : tuple[str, ...]
        Things in the input the builder had to work around (missing nodes, …).
    """

    crs: CRS
    node_xy: np.ndarray
    node_ids: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_way: np.ndarray
    edge_coords: np.ndarray
    edge_offsets: np.ndarray
    graph: csr_array
    component: np.ndarray
    source: str = ""
    problems: tuple[str, ...] = field(default=())

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges (parallel edges and self-loops included)."""
        return int(self.edge_u.shape[0])

    @property
    def component_sizes(self) -> np.ndarray:
        """Number of nodes in each connected component, largest first."""
        return np.bincount(self.component, minlength=1 if self.n_nodes else 0)

    @property
    def total_length_m(self) -> float:
        """Total length of all edges, metres."""
        return float(self.edge_length.sum())

    @cached_property
    def edge_geometry(self) -> np.ndarray:
        """Shapely LineStrings of the edges (metric CRS), running from ``u`` to ``v``."""
        counts = np.diff(self.edge_offsets)
        return shapely.linestrings(self.edge_coords, indices=np.repeat(np.arange(self.n_edges), counts))

    @cached_property
    def kdtree(self) -> cKDTree:
        """KD-tree of the node coordinates."""
        return cKDTree(self.node_xy)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """STRtree of :attr:`edge_geometry`, for spatial queries on whole edges."""
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def segment_index(self) -> SegmentIndex:
        """The straight pieces of all edges with a KD-tree of their midpoints, for snapping."""
        return _segment_index(self)

    def to_frames(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Nodes (points) and edges (lines) as GeoDataFrames in the network's metric CRS."""
        nodes = gpd.GeoDataFrame(
            {"node_id": self.node_ids, "component": self.component},
            geometry=shapely.points(self.node_xy),
            crs=self.crs,
        )
        edges = gpd.GeoDataFrame(
            {
                "u": self.edge_u,
                "v": self.edge_v,
                "length_m": self.edge_length,
                "way_id": self.edge_way,
                "component": self.component[self.edge_u] if self.n_edges else np.zeros(0, np.int32),
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )
        return nodes, edges

    def summary(self) -> str:
        """One line describing size and connectivity, for logs and the command line."""
        sizes = self.component_sizes
        largest = int(sizes[0]) if sizes.size else 0
        share = 100.0 * largest / self.n_nodes if self.n_nodes else 0.0
        return (
            f"{self.source or 'network'}: {self.n_nodes:,} nodes, {self.n_edges:,} edges, "
            f"{self.total_length_m / 1000:,.1f} km of paths; {sizes.size:,} connected piece(s), "
            f"the largest holds {largest:,} nodes ({share:.1f}%)"
        )


def segment_index_arrays(index: SegmentIndex) -> dict[str, np.ndarray]:
    """The arrays of ``index``, KD-tree included, for a network cache (no pickling: plain arrays).

    The KD-tree is stored as the state scipy pickles it with (its points and node arrays), so a
    cached network snaps without building the tree again (~0.1 s per 100,000 path nodes).
    """
    out = {
        "piece_start": index.start,
        "piece_end": index.end,
        "piece_edge": index.edge,
        "piece_along": index.along,
        "piece_half": np.array(index.half),
    }
    state = index.tree.__getstate__()
    out["piece_state_size"] = np.array(len(state))
    for i, part in enumerate(state):
        if part is not None:  # None parts stay out (no object arrays): the size restores them
            out[f"piece_tree_{i}"] = np.asarray(part)
    out["piece_scipy"] = np.array(scipy.__version__)  # the state's layout is scipy's own
    return out


def segment_index_from_arrays(arrays: Mapping[str, np.ndarray]) -> SegmentIndex:
    """The index :func:`segment_index_arrays` stored. The KD-tree is restored only when this
    scipy wrote it and it holds exactly the pieces' midpoints; otherwise it is built again."""
    start, end = arrays["piece_start"], arrays["piece_end"]
    mid = (start + end) / 2
    tree = None
    if "piece_scipy" in arrays and str(arrays["piece_scipy"]) == scipy.__version__:
        try:
            state: list[object] = [None] * int(arrays["piece_state_size"])
            for key in (k for k in arrays if k.startswith("piece_tree_")):
                value = arrays[key]
                state[int(key.rsplit("_", 1)[1])] = value.item() if value.ndim == 0 else value
            restored = cKDTree.__new__(cKDTree)
            restored.__setstate__(tuple(state))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            restored = None
        ok = restored is not None and restored.n == len(mid) and np.array_equal(restored.data, mid)
        tree = restored if ok else None
    if tree is None:
        tree = cKDTree(mid)
    return SegmentIndex(
        start=start,
        end=end,
        edge=arrays["piece_edge"],
        along=arrays["piece_along"],
        half=float(arrays["piece_half"]),
        tree=tree,
    )


def with_segment_index(network: StreetNetwork, index: SegmentIndex) -> StreetNetwork:
    """``network`` with its snapping index already in place (read from a cache)."""
    network.__dict__["segment_index"] = index  # what the cached_property would have stored
    return network


def _segment_index(network: StreetNetwork) -> SegmentIndex:
    """Cut the edges of ``network`` into short straight pieces and index their midpoints."""
    coords, offsets = network.edge_coords, network.edge_offsets
    last = np.zeros(coords.shape[0], dtype=bool)
    last[offsets[1:] - 1] = True
    k = np.flatnonzero(~last)
    a, b = coords[k], coords[k + 1]
    seg_edge = np.repeat(np.arange(network.n_edges), np.diff(offsets) - 1)
    seg_len = np.hypot(*(b - a).T)
    # distance along the edge at each segment's start
    total = np.cumsum(seg_len)
    first = np.ones(k.size, dtype=bool)
    first[1:] = seg_edge[1:] != seg_edge[:-1]
    base = np.maximum.accumulate(np.where(first, np.arange(k.size), 0))
    seg_along = (total - seg_len) - (total[base] - seg_len[base])
    pieces = np.maximum(1, np.ceil(seg_len / SNAP_PIECE_M)).astype(np.int64)
    owner = np.repeat(np.arange(k.size), pieces)
    j = np.arange(owner.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    f0 = (j / pieces[owner])[:, None]
    f1 = ((j + 1) / pieces[owner])[:, None]
    step = (b - a)[owner]
    start = a[owner] + step * f0
    end = a[owner] + step * f1
    half = float((seg_len / pieces).max() / 2) if k.size else 0.0
    return SegmentIndex(
        start=start,
        end=end,
        edge=seg_edge[owner],
        along=seg_along[owner] + seg_len[owner] * f0[:, 0],
        half=half,
        tree=cKDTree((start + end) / 2),
    )


# --------------------------------------------------------------------------------------------
# The core: paths (sequences of node references) -> StreetNetwork


def _assemble(
    ref_key: np.ndarray,
    ref_path: np.ndarray,
    key_xy: np.ndarray,
    key_id: np.ndarray,
    path_way: np.ndarray,
    *,
    crs: CRS,
    source: str,
    problems: list[str],
) -> StreetNetwork:
    """Build the network from node references grouped into paths.

    ``ref_key`` (R,) indexes ``key_xy``/``key_id`` (the candidate nodes); ``ref_path`` (R,) is
    non-decreasing and numbers the path each reference belongs to; consecutive references of the
    same path are joined by a straight segment. ``path_way`` maps path numbers to way ids.
    """
    ref_key = np.asarray(ref_key, dtype=np.int64)
    ref_path = np.asarray(ref_path, dtype=np.int64)
    # A node repeated consecutively in a path adds nothing.
    if ref_key.size:
        dup = np.zeros(ref_key.size, dtype=bool)
        dup[1:] = (ref_path[1:] == ref_path[:-1]) & (ref_key[1:] == ref_key[:-1])
        ref_key, ref_path = ref_key[~dup], ref_path[~dup]
    # Paths that keep fewer than two references have no segment.
    if ref_key.size:
        sizes = np.bincount(ref_path)
        keep = sizes[ref_path] >= 2
        ref_key, ref_path = ref_key[keep], ref_path[keep]
    if ref_key.size == 0:
        msg = f"{source}: no walkable paths to build a network from"
        raise NetworkError(msg)

    n_refs = ref_key.size
    first = np.ones(n_refs, dtype=bool)
    first[1:] = ref_path[1:] != ref_path[:-1]
    last = np.ones(n_refs, dtype=bool)
    last[:-1] = first[1:]
    uses = np.bincount(ref_key, minlength=key_xy.shape[0])
    is_junction_key = np.zeros(key_xy.shape[0], dtype=bool)
    is_junction_key[ref_key[first | last]] = True
    is_junction_key |= uses >= 2
    junction = is_junction_key[ref_key]

    # Graph nodes: the junction keys, renumbered 0..n-1 in key order.
    node_of_key = np.full(key_xy.shape[0], -1, dtype=np.int64)
    node_keys = np.flatnonzero(is_junction_key & (uses > 0))
    node_of_key[node_keys] = np.arange(node_keys.size)

    # Edges: consecutive junction references within one path.
    jpos = np.flatnonzero(junction)
    same = ref_path[jpos[:-1]] == ref_path[jpos[1:]]
    starts, ends = jpos[:-1][same], jpos[1:][same]

    ref_xy = key_xy[ref_key]
    seg = np.zeros(n_refs, dtype=np.float64)
    step = np.hypot(*(ref_xy[1:] - ref_xy[:-1]).T)
    seg[:-1] = np.where(first[1:], 0.0, step)
    edge_length = _segment_sums(seg, starts, ends)

    counts = ends - starts + 1
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    coord_index = np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts) + np.repeat(starts, counts)
    edge_coords = ref_xy[coord_index]

    edge_u = node_of_key[ref_key[starts]]
    edge_v = node_of_key[ref_key[ends]]
    edge_way = np.asarray(path_way, dtype=np.int64)[ref_path[starts]]
    node_xy = key_xy[node_keys]
    node_ids = np.asarray(key_id, dtype=np.int64)[node_keys]
    return _finish(
        crs=crs,
        node_xy=node_xy,
        node_ids=node_ids,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length=edge_length,
        edge_way=edge_way,
        edge_coords=edge_coords,
        edge_offsets=offsets,
        source=source,
        problems=problems,
    )


def _segment_sums(seg: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``seg[starts[k]:ends[k]].sum()`` for every k, without a cumulative sum over all edges."""
    counts = ends - starts
    idx = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts)
    owner = np.repeat(np.arange(starts.size), counts)
    return np.bincount(owner, weights=seg[idx], minlength=starts.size)


def _csr(n: int, u: np.ndarray, v: np.ndarray, length: np.ndarray) -> csr_array:
    """Symmetric CSR matrix of the shortest length between adjacent nodes (no self-loops)."""
    loop = u == v
    rows = np.concatenate([u[~loop], v[~loop]])
    cols = np.concatenate([v[~loop], u[~loop]])
    data = np.concatenate([length[~loop], length[~loop]])
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, data = rows[keep], cols[keep], data[keep]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    index_type = np.int32 if max(n, rows.size) < np.iinfo(np.int32).max else np.int64
    return csr_array(
        (data.astype(np.float64), cols.astype(index_type), indptr.astype(index_type)), shape=(n, n)
    )


def _finish(
    *,
    crs: CRS,
    node_xy: np.ndarray,
    node_ids: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_length: np.ndarray,
    edge_way: np.ndarray,
    edge_coords: np.ndarray,
    edge_offsets: np.ndarray,
    source: str,
    problems: list[str] | tuple[str, ...],
    graph: csr_array | None = None,
    component: np.ndarray | None = None,
) -> StreetNetwork:
    """Attach the CSR matrix and component labels (computing them unless given) and log."""
    n = node_xy.shape[0]
    if graph is None:
        graph = _csr(n, edge_u, edge_v, edge_length)
    if component is None:
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels)
        rank = np.empty_like(sizes)
        rank[np.argsort(-sizes, kind="stable")] = np.arange(sizes.size)
        component = rank[labels].astype(np.int32)
    net = StreetNetwork(
        crs=crs,
        node_xy=np.ascontiguousarray(node_xy, dtype=np.float64),
        node_ids=np.asarray(node_ids, dtype=np.int64),
        edge_u=np.asarray(edge_u, dtype=np.int64),
        edge_v=np.asarray(edge_v, dtype=np.int64),
        edge_length=np.asarray(edge_length, dtype=np.float64),
        edge_way=np.asarray(edge_way, dtype=np.int64),
        edge_coords=np.ascontiguousarray(edge_coords, dtype=np.float64),
        edge_offsets=np.asarray(edge_offsets, dtype=np.int64),
        graph=graph,
        component=np.asarray(component, dtype=np.int32),
        source=source,
        problems=tuple(problems),
    )
    logger.info(net.summary())
    sizes = net.component_sizes
    if sizes.size > 1:
        logger.info(
            "%s: %d smaller piece(s) not connected to the main network are kept (sizes: %s); "
            "points snapped to them reach only facilities on the same piece",
            net.source,
            sizes.size - 1,
            ", ".join(str(s) for s in sizes[1:11]) + (" …" if sizes.size > 11 else ""),
        )
    for problem in problems:
        logger.info("%s", problem)  # kept in network.problems for the caller
    return net
