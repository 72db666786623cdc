"""The walking network: one undirected graph of walkable paths, measured in metres.

:class:`StreetNetwork` holds the graph as a symmetric ``scipy.sparse`` CSR matrix of edge lengths
in a metric CRS (chosen by :mod:`servicegrid.geo.crs`), the node coordinates with a KD-tree, the
edge arrays with each edge's geometry (for snapping points onto edges), and connected-component
labels. It is built by one of the ``network_from_*`` functions:

- :func:`network_from_osm` reads an OpenStreetMap file (.osm, .osm.bz2, .osm.gz, .osm.pbf) with
  pyosmium and keeps the ways a pedestrian may use (see :func:`is_walkable`);
- :func:`network_from_graphml` and :func:`network_from_osmnx` take a graph written or built by
  osmnx;
- :func:`network_from_lines` takes the workspace ``roads`` layer;
- :func:`network_from_place` downloads a walking network with osmnx (needs the internet).

:func:`load_network` builds a network once and caches it beside the workspace, keyed by the
input's content, so later runs load it in a fraction of a second.

Ways are split into edges only where they share a node with another way (or end); the nodes
between are kept as the edge's geometry, so edge lengths are the exact lengths along the path.
Oneway tags are ignored: pedestrians walk both ways. Disconnected pieces are kept, labelled
(``component``, 0 being the largest) and reported in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import NetworkError
from ..geo.crs import STORAGE_CRS, metric_crs, metric_crs_for_lonlat
from ..geo.workspace import atomic_path

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "BUILDER_VERSION",
    "OSM_SUFFIXES",
    "SNAP_PIECE_M",
    "WALK_HIGHWAYS",
    "SegmentIndex",
    "StreetNetwork",
    "is_walkable",
    "load_network",
    "network_from_graphml",
    "network_from_lines",
    "network_from_osm",
    "network_from_osmnx",
    "network_from_place",
    "read_network",
    "write_network",
]

logger = logging.getLogger(__name__)

#: Changes whenever the way networks are built changes, so that cached networks are rebuilt.
BUILDER_VERSION = "1"

#: File name endings read as OpenStreetMap data (pyosmium detects the format from them).
OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".osm.opl", ".opl")

#: ``highway=*`` values a pedestrian may walk on. This follows the osmnx "walk" network type,
#: written as an allow-list instead of osmnx's deny-list, with one difference: cycleways are
#: kept (in Chinese towns separately mapped cycle tracks beside roads double as walkways), and
#: ``motorroad=yes`` removes a road (motorways and motor-only roads are never walkable).
WALK_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "steps",
        "pedestrian",
        "living_street",
        "residential",
        "service",
        "track",
        "unclassified",
        "road",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "trunk",
        "trunk_link",
        "cycleway",
        "corridor",
        "bridleway",
        "elevator",
    }
)

_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
_FOOT_FORBIDDEN = frozenset({"no", "use_sidepath"})
_NO_ACCESS = frozenset({"no", "private"})
_SIDEWALK_KEYS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")

# Marks a node reference whose node is missing from the file (see _parse_opl_refs).
_MISSING = -999.0


def is_walkable(tags: Mapping[str, str] | Any, *, include_private: bool = False) -> bool:
    """Whether a way with ``tags`` belongs to the walking network.

    A way is walkable when its ``highway`` value is in :data:`WALK_HIGHWAYS` and it is not an
    area (``area=yes``), not closed to pedestrians (``foot=no`` or ``foot=use_sidepath``), not a
    motor road (``motorroad=yes``), and not drawn with separately mapped sidewalks
    (``sidewalk=separate``: the sidewalks are the walkable ways). ``access=private`` or
    ``access=no`` and ``service=private`` exclude a way unless ``foot=yes``, ``designated`` or
    ``permissive`` allows walking, or ``include_private`` is set (useful when the paths inside
    gated compounds are tagged private).

    Parameters
    ----------
    tags : Mapping[str, str]
        The way's tags (a dict or a pyosmium tag list).
    include_private : bool
        Keep ways whose access is private.

    Examples
    --------
    >>> is_walkable({"highway": "footway"})
    True
    >>> is_walkable({"highway": "motorway"}), is_walkable({"highway": "primary", "foot": "no"})
    (False, False)
    >>> is_walkable({"highway": "service", "access": "private"})
    False
    >>> is_walkable({"highway": "service", "access": "private", "foot": "yes"})
    True
    """
    if tags.get("highway") not in WALK_HIGHWAYS or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in _FOOT_FORBIDDEN:
        return False
    if foot in _FOOT_ALLOWED:
        return True
    if tags.get("motorroad") == "yes":
        return False
    if any(tags.get(key) == "separate" for key in _SIDEWALK_KEYS):
        return False
    if include_private:
        return True
    return tags.get("access") not in _NO_ACCESS and tags.get("service") != "private"


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


def _resolve_crs(crs: CRS | str | int | None, lon: np.ndarray, lat: np.ndarray, box: Any) -> CRS:
    """The metric CRS to build in: ``crs`` when given, else the metric CRS of the extent."""
    if crs is not None:
        out = CRS.from_user_input(crs)
        if not out.is_projected:
            msg = f"the network CRS must be projected (metres), got {out.to_string()}"
            raise NetworkError(msg)
        return out
    if box is not None:
        return metric_crs_for_lonlat((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return metric_crs_for_lonlat(float((lon.min() + lon.max()) / 2), float((lat.min() + lat.max()) / 2))


def _project(x: np.ndarray, y: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """``(k, 2)`` coordinates ``x, y`` in ``src`` transformed to ``dst``."""
    if src.equals(dst):
        return np.column_stack([x, y]).astype(np.float64)
    tx, ty = Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
    return np.column_stack([tx, ty])


# --------------------------------------------------------------------------------------------
# OpenStreetMap files


def _check_osm_path(path: Path) -> None:
    name = path.name.lower()
    if not any(name.endswith(suffix) for suffix in OSM_SUFFIXES):
        msg = (
            f"{path}: not an OpenStreetMap file name; expected one of "
            f"{', '.join(OSM_SUFFIXES)} (or use network_from_graphml for .graphml)"
        )
        raise NetworkError(msg)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty; export the area again from openstreetmap.org or your extract tool"
        raise NetworkError(msg)


def _osm_box(path: Path) -> tuple[float, float, float, float] | None:
    """The ``<bounds>`` of an OSM file as (min lon, min lat, max lon, max lat), if it has one."""
    import osmium

    try:
        box = osmium.io.Reader(str(path), osmium.osm.NOTHING).header().box()
    except RuntimeError as exc:
        msg = f"{path}: cannot read as OpenStreetMap data: {exc}"
        raise NetworkError(msg) from exc
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _read_walkable_ways(path: Path, *, include_private: bool) -> tuple[np.ndarray, list[str]]:
    """Way ids and node-reference lists of the walkable ways, read in one pyosmium pass.

    The kept ways are written by libosmium as OPL text with their node locations
    (``Nn<id>x<lon>y<lat>,…``), which numpy parses in bulk: this avoids creating a Python object
    per node reference, which is what dominates a pure-Python pass over a large file.
    """
    import osmium

    way_ids: list[int] = []
    with tempfile.TemporaryDirectory(prefix="servicegrid-osm-") as tmp:
        opl = Path(tmp) / "ways.opl"
        writer = osmium.SimpleWriter(
            osmium.io.File(str(opl), "opl,locations_on_ways=true,add_metadata=false")
        )
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.TagFilter(*(("highway", v) for v in sorted(WALK_HIGHWAYS))))
        )
        try:
            for way in processor:
                if is_walkable(way.tags, include_private=include_private):
                    writer.add_way(way)
                    way_ids.append(way.id)
        except RuntimeError as exc:
            msg = f"{path}: cannot read as OpenStreetMap data ({exc}); the file may be truncated or not OSM"
            raise NetworkError(msg) from exc
        finally:
            writer.close()
        lines = opl.read_text(encoding="utf-8", errors="replace").splitlines()
    return np.asarray(way_ids, dtype=np.int64), [line.rpartition(" N")[2] for line in lines]


def _parse_opl_refs(fields: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids, lon, lat and the way number of each reference from OPL ``N`` fields.

    A reference whose node is missing from the file is written ``n<id>xy``; its coordinates
    come back as ``_MISSING``.
    """
    counts = np.fromiter((f.count(",") + 1 if f else 0 for f in fields), dtype=np.int64, count=len(fields))
    text = ",".join(f for f in fields if f)
    if not text:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty, empty, empty.astype(np.int64)
    text = text.replace("xy", f"x{_MISSING}y{_MISSING}").replace("n", "").replace("x", ",").replace("y", ",")
    values = np.fromstring(text, sep=",").reshape(-1, 3)
    if values.shape[0] != counts.sum():
        msg = "unexpected OPL node list while reading walkable ways"
        raise NetworkError(msg)
    ids = values[:, 0].astype(np.int64)
    way_of_ref = np.repeat(np.arange(len(fields)), counts)
    return ids, values[:, 1], values[:, 2], way_of_ref


def network_from_osm(
    path: str | os.PathLike[str],
    *,
    crs: CRS | str | int | None = None,
    include_private: bool = False,
) -> StreetNetwork:
    """The walking network of an OpenStreetMap file.

    Parameters
    ----------
    path : str or os.PathLike
        An .osm, .osm.bz2, .osm.gz or .osm.pbf file (an openstreetmap.org export, a Geofabrik or
        osmium extract, a JOSM save).
    crs : pyproj.CRS, str or int, optional
        Metric CRS to build in (use the workspace's ``metric_crs`` so distances and snapped
        points agree). Default: the metric CRS of the file's ``<bounds>``, or of its nodes.
    include_private : bool
        Keep ways tagged ``access=private`` (see :func:`is_walkable`).

    Returns
    -------
    StreetNetwork
        Node ids are OSM node ids; ``edge_way`` holds OSM way ids. Ways that leave the file's
        ``<bounds>`` are kept whole: paths outside the box still carry people.

    Raises
    ------
    NetworkError
        The file is missing, empty, corrupt or has no walkable ways.
    """
    path = Path(path)
    _check_osm_path(path)
    box = _osm_box(path)
    way_ids, fields = _read_walkable_ways(path, include_private=include_private)
    if way_ids.size == 0:
        msg = (
            f"{path}: no walkable ways (highway=footway, path, residential, … not closed to "
            "pedestrians); is this the right file?"
        )
        raise NetworkError(msg)
    ids, lon, lat, way_of_ref = _parse_opl_refs(fields)
    problems: list[str] = []
    valid = lon != _MISSING
    if not valid.all():
        missing = np.unique(ids[~valid])
        problems.append(
            f"{path.name}: {missing.size:,} node(s) used by walkable ways are missing from the file "
            f"(e.g. node {missing[0]}); those ways are split where the nodes are missing"
        )
    # A new path starts at every way and after every missing node.
    brk = np.ones(ids.size, dtype=bool)
    brk[1:] = (way_of_ref[1:] != way_of_ref[:-1]) | ~valid[:-1]
    ref_path = (np.cumsum(brk) - 1)[valid]
    path_way = way_ids[way_of_ref[brk]]
    ids, lon, lat = ids[valid], lon[valid], lat[valid]
    if ids.size == 0:
        msg = f"{path}: the walkable ways have no node coordinates (nodes missing from the file)"
        raise NetworkError(msg)
    key_id, first, ref_key = np.unique(ids, return_index=True, return_inverse=True)
    metric = _resolve_crs(crs, lon, lat, box)
    key_xy = _project(lon[first], lat[first], STORAGE_CRS, metric)
    return _assemble(
        ref_key.ravel(),
        ref_path,
        key_xy,
        key_id,
        path_way,
        crs=metric,
        source=path.name,
        problems=problems,
    )


# --------------------------------------------------------------------------------------------
# Lines: the workspace roads layer


def network_from_lines(
    roads: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    crs: CRS | str | int | None = None,
    tolerance: float = 0.001,
) -> StreetNetwork:
    """The walking network of a layer of lines (the workspace ``roads`` layer).

    Lines are joined where they share a vertex, at their ends or anywhere along them; vertices
    closer than ``tolerance`` metres count as shared. Lines that cross without a shared vertex
    are **not** connected, as in OpenStreetMap, where a bridge crosses a road without meeting
    it: add a vertex at real crossings.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame or GeoSeries
        LineStrings or MultiLineStrings in any declared CRS.
    crs : pyproj.CRS, str or int, optional
        Metric CRS to build in. Default: the layer's own CRS when it is projected, else the
        metric CRS of its extent.
    tolerance : float
        Vertices are matched after rounding to this many metres.

    Returns
    -------
    StreetNetwork
        Node ids are 0..n-1; ``edge_way`` is the row position of each edge's line in ``roads``.

    Raises
    ------
    NetworkError
        No CRS, geometries that are not lines, or no line at all.
    """
    geoms = roads.geometry if isinstance(roads, gpd.GeoDataFrame) else roads
    if geoms.crs is None:
        msg = "roads layer has no CRS; declare its coordinate system before building a network"
        raise NetworkError(msg)
    if crs is None:
        metric = geoms.crs if geoms.crs.is_projected else metric_crs(geoms)
    else:
        metric = _resolve_crs(crs, np.zeros(1), np.zeros(1), None)
    values = geoms.to_crs(metric).to_numpy() if not geoms.crs.equals(metric) else geoms.to_numpy()
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    types = shapely.get_type_id(values)
    bad = present & ~np.isin(types, [1, 5])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = f"roads layer, row {row + 1}: a {values[row].geom_type}; the roads layer must hold LineStrings"
        raise NetworkError(msg)
    rows = np.flatnonzero(present)
    parts, part_row = shapely.get_parts(values[rows], return_index=True)
    coords, part_of_coord = shapely.get_coordinates(parts, return_index=True)
    if coords.shape[0] == 0:
        msg = "roads layer has no lines to build a walking network from"
        raise NetworkError(msg)
    keys = np.round(coords / tolerance).astype(np.int64)
    _, first, ref_key = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    key_xy = coords[first]
    return _assemble(
        ref_key.ravel(),
        part_of_coord,
        key_xy,
        np.arange(key_xy.shape[0]),
        rows[part_row],
        crs=metric,
        source="roads layer",
        problems=[],
    )


# --------------------------------------------------------------------------------------------
# osmnx graphs (in memory, GraphML, downloaded)


def network_from_osmnx(G: nx.MultiDiGraph, *, crs: CRS | str | int | None = None) -> StreetNetwork:
    """The walking network of an osmnx graph (projected or not, simplified or not).

    Edge lengths are measured again along each edge's geometry in the metric CRS (osmnx's
    ``length`` attribute is a great-circle length); directed twins ``(u, v)`` and ``(v, u)``
    become one undirected edge. Reading the attributes walks networkx's Python dictionaries
    once; everything after is vectorized.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        A graph with node attributes ``x``, ``y``, optional edge ``geometry`` (LineString or
        WKT) and ``osmid``, and ``G.graph["crs"]``.
    crs : pyproj.CRS, str or int, optional
        Metric CRS to build in. Default: the metric CRS of the graph's extent.

    Raises
    ------
    NetworkError
        The graph has no CRS, no edges or nodes without coordinates.
    """
    source = str(G.graph.get("name") or "osmnx graph")
    if "crs" not in G.graph:
        msg = f"{source}: the graph has no 'crs' attribute; osmnx graphs carry one (G.graph['crs'])"
        raise NetworkError(msg)
    src = CRS.from_user_input(G.graph["crs"])
    nodes = list(G.nodes(data=True))
    if not nodes or G.number_of_edges() == 0:
        msg = f"{source}: the graph has no edges"
        raise NetworkError(msg)
    try:
        nx_ = np.array([float(d["x"]) for _, d in nodes])
        ny_ = np.array([float(d["y"]) for _, d in nodes])
    except KeyError as exc:
        msg = f"{source}: a node has no {exc} coordinate"
        raise NetworkError(msg) from exc
    try:
        node_id = np.array([int(n) for n, _ in nodes], dtype=np.int64)
    except (TypeError, ValueError):
        node_id = np.arange(len(nodes), dtype=np.int64)  # ids that are not numbers: positions
    position = {n: i for i, (n, _) in enumerate(nodes)}
    edges = list(G.edges(data=True))
    eu = np.array([position[u] for u, _, _ in edges], dtype=np.int64)
    ev = np.array([position[v] for _, v, _ in edges], dtype=np.int64)
    way = np.array([_first_int(d.get("osmid", -1)) for _, _, d in edges], dtype=np.int64)
    geometry = np.array([_as_geometry(d.get("geometry")) for _, _, d in edges], dtype=object)

    if src.is_geographic:
        lon, lat = nx_, ny_
    else:
        lon, lat = Transformer.from_crs(src, STORAGE_CRS, always_xy=True).transform(nx_, ny_)
    metric = _resolve_crs(crs, np.asarray(lon), np.asarray(lat), None)
    node_xy = _project(nx_, ny_, src, metric)

    # Interior vertices of each edge come from its geometry (when it has one); ends are the nodes.
    has_geom = ~shapely.is_missing(geometry)
    inner_xy = np.zeros((0, 2))
    inner_owner = np.zeros(0, dtype=np.int64)
    if has_geom.any():
        g = geometry[has_geom]
        coords, owner = shapely.get_coordinates(g, return_index=True)
        counts = np.bincount(owner, minlength=g.size)
        firsts = np.cumsum(counts) - counts
        interior = np.ones(coords.shape[0], dtype=bool)
        interior[firsts] = False
        interior[firsts + counts - 1] = False
        edge_index = np.flatnonzero(has_geom)[owner]
        # Geometry stored v->u (a reversed twin): flip its interior order.
        start_xy = np.column_stack([nx_[eu[has_geom]], ny_[eu[has_geom]]])
        end_xy = np.column_stack([nx_[ev[has_geom]], ny_[ev[has_geom]]])
        reverse = np.hypot(*(coords[firsts] - end_xy).T) < np.hypot(*(coords[firsts] - start_xy).T)
        rank = np.arange(coords.shape[0]) - np.repeat(firsts, counts)
        rank = np.where(reverse[owner], counts[owner] - 1 - rank, rank)
        order = np.lexsort((rank, edge_index))
        keep = interior[order]
        inner_owner = edge_index[order][keep]
        inner = coords[order][keep]
        inner_xy = _project(inner[:, 0], inner[:, 1], src, metric)

    # Undirected de-duplication: one edge per (min, max, way, interior geometry length).
    n_inner = np.bincount(inner_owner, minlength=eu.size)
    per_edge = np.repeat(np.arange(eu.size), n_inner + 2)
    # Build references: u, interior..., v for every edge, as one path per edge.
    pos_in_edge = np.arange(per_edge.size) - np.repeat(np.cumsum(n_inner + 2) - (n_inner + 2), n_inner + 2)
    is_u = pos_in_edge == 0
    is_v = pos_in_edge == np.repeat(n_inner + 1, n_inner + 2)
    n_nodes = node_xy.shape[0]
    ref_key = np.empty(per_edge.size, dtype=np.int64)
    ref_key[is_u] = eu
    ref_key[is_v] = ev
    interior_mask = ~(is_u | is_v)
    ref_key[interior_mask] = n_nodes + np.arange(int(interior_mask.sum()))
    key_xy = np.vstack([node_xy, inner_xy])
    key_id = np.concatenate([node_id, np.full(inner_xy.shape[0], -1, dtype=np.int64)])
    keep_edge = _undirected_unique(eu, ev, way, ref_key, per_edge, key_xy)
    keep_ref = keep_edge[per_edge]
    return _assemble(
        ref_key[keep_ref],
        per_edge[keep_ref],
        key_xy,
        key_id,
        way,
        crs=metric,
        source=source,
        problems=[],
    )


def _undirected_unique(
    eu: np.ndarray,
    ev: np.ndarray,
    way: np.ndarray,
    ref_key: np.ndarray,
    per_edge: np.ndarray,
    key_xy: np.ndarray,
) -> np.ndarray:
    """Mask keeping one of each pair of directed twin edges (same ends, way and length)."""
    xy = key_xy[ref_key]
    step = np.hypot(*(xy[1:] - xy[:-1]).T)
    same = per_edge[1:] == per_edge[:-1]
    length = np.bincount(per_edge[1:][same], weights=step[same], minlength=eu.size)
    frame = pd.DataFrame(
        {
            "a": np.minimum(eu, ev),
            "b": np.maximum(eu, ev),
            "way": way,
            "cm": np.round(length * 100).astype(np.int64),
        }
    )
    return ~frame.duplicated().to_numpy()


def _first_int(value: Any) -> int:
    """The way id of an osmnx edge: its ``osmid``, or the smallest of a merged edge's list."""
    if isinstance(value, str) and value.startswith("["):
        value = value.strip("[]").split(",")
    if isinstance(value, list | tuple):
        ints = [_first_int(v) for v in value]
        return min(ints) if ints else -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _as_geometry(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return shapely.from_wkt(value)
    return value


def network_from_graphml(
    path: str | os.PathLike[str], *, crs: CRS | str | int | None = None
) -> StreetNetwork:
    """The walking network of a GraphML file written by osmnx (``ox.save_graphml``).

    Raises
    ------
    NetworkError
        The file is missing, empty or not a GraphML graph with node coordinates.
    """
    import xml.etree.ElementTree as ET

    import networkx as nx

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty"
        raise NetworkError(msg)
    try:
        G = nx.read_graphml(path, force_multigraph=True)
    except (ET.ParseError, nx.NetworkXError, ValueError) as exc:
        msg = f"{path}: not a readable GraphML file ({exc})"
        raise NetworkError(msg) from exc
    G.graph["name"] = path.name
    return network_from_osmnx(G, crs=crs)


def network_from_place(place: str, *, crs: CRS | str | int | None = None) -> StreetNetwork:
    """Download the walking network of ``place`` (a name osmnx can geocode) with osmnx.

    Needs the internet and osmnx. The download uses osmnx's "walk" network type (which, unlike
    :func:`is_walkable`, also leaves out cycleways), unsimplified, with every piece kept; for a
    reproducible workspace prefer an OSM file and :func:`network_from_osm`.

    Raises
    ------
    NetworkError
        osmnx is not installed, the machine is offline, or the place is not found.
    """
    try:
        import osmnx as ox
        from osmnx._errors import InsufficientResponseError
    except ImportError as exc:
        msg = "downloading a network by place name needs osmnx: pip install osmnx"
        raise NetworkError(msg) from exc
    try:
        G = ox.graph_from_place(place, network_type="walk", simplify=False, retain_all=True)
    except (OSError, InsufficientResponseError, ValueError, TypeError) as exc:
        msg = f"could not download the walking network of {place!r}: {exc}"
        raise NetworkError(msg) from exc
    G.graph["name"] = place
    return network_from_osmnx(G, crs=crs)


# --------------------------------------------------------------------------------------------
# Cache


_ARRAYS = (
    "node_xy",
    "node_ids",
    "edge_u",
    "edge_v",
    "edge_length",
    "edge_way",
    "edge_coords",
    "edge_offsets",
    "component",
)


def write_network(network: StreetNetwork, path: str | os.PathLike[str], *, key: str = "") -> Path:
    """Save ``network`` to ``path`` (.npz, uncompressed), atomically.

    Geometries are stored as their vertex arrays (``edge_coords`` + ``edge_offsets``): rebuilding
    LineStrings from them is faster than parsing WKB and loses nothing.
    """
    path = Path(path)
    meta = {
        "builder_version": BUILDER_VERSION,
        "key": key,
        "crs": network.crs.to_wkt(),
        "source": network.source,
        "problems": list(network.problems),
    }
    arrays = {name: getattr(network, name) for name in _ARRAYS}
    graph = network.graph
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
            graph_data=graph.data,
            graph_indices=graph.indices,
            graph_indptr=graph.indptr,
            **arrays,
        )
    return path


def read_network(path: str | os.PathLike[str], *, key: str | None = None) -> StreetNetwork:
    """Load a network saved by :func:`write_network`.

    Raises
    ------
    NetworkError
        The file is not a saved network, was written by another builder version, or (when
        ``key`` is given) was built from other input.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in _ARRAYS}
            graph_parts = (data["graph_data"], data["graph_indices"], data["graph_indptr"])
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        msg = f"{path}: not a saved servicegrid network ({exc})"
        raise NetworkError(msg) from exc
    if meta.get("builder_version") != BUILDER_VERSION:
        msg = f"{path}: saved by network builder version {meta.get('builder_version')}, now {BUILDER_VERSION}"
        raise NetworkError(msg)
    if key is not None and meta.get("key") != key:
        msg = f"{path}: built from other input"
        raise NetworkError(msg)
    n = arrays["node_xy"].shape[0]
    return StreetNetwork(
        crs=CRS.from_wkt(meta["crs"]),
        graph=csr_array(graph_parts, shape=(n, n)),
        source=meta.get("source", ""),
        problems=tuple(meta.get("problems", ())),
        **arrays,
    )


def _hash_file(path: Path, digest: Any) -> None:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)


def load_network(
    source: str | os.PathLike[str] | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cache_dir: str | os.PathLike[str] | None,
    crs: CRS | str | int | None = None,
    include_private: bool = False,
) -> StreetNetwork:
    """Build the network of ``source``, or load it from the cache when it was built before.

    Parameters
    ----------
    source : path or GeoDataFrame
        An OpenStreetMap file (see :data:`OSM_SUFFIXES`), an osmnx ``.graphml`` file, or the
        roads layer.
    cache_dir : path or None
        Folder for cached networks (usually beside the workspace); ``None`` disables the cache.
        Entries are named ``<source>.<key>.network.npz`` where the key hashes the input's
        bytes, the builder version, the CRS and the options, so any change to the input
        rebuilds it.
    crs : pyproj.CRS, str or int, optional
        Metric CRS to build in (pass the workspace's metric CRS).
    include_private : bool
        Keep private ways (OSM sources only, see :func:`is_walkable`).

    Raises
    ------
    NetworkError
        The source cannot be read or holds no walkable path.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"v{BUILDER_VERSION};private={include_private};".encode())
    crs_text = "" if crs is None else CRS.from_user_input(crs).to_wkt()
    digest.update(crs_text.encode())
    if isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = source.geometry if isinstance(source, gpd.GeoDataFrame) else source
        digest.update(b"roads;")
        digest.update(str(geoms.crs.to_wkt() if geoms.crs else "").encode())
        digest.update(b"".join(shapely.to_wkb(geoms.to_numpy(), hex=False).tolist()))
        stem = "roads"

        def build() -> StreetNetwork:
            return network_from_lines(source, crs=crs)

    else:
        path = Path(source)
        name = path.name.lower()
        if not path.is_file():
            msg = f"{path}: no such file"
            raise NetworkError(msg)
        if name.endswith(".graphml"):

            def build() -> StreetNetwork:
                return network_from_graphml(path, crs=crs)

        else:
            _check_osm_path(path)

            def build() -> StreetNetwork:
                return network_from_osm(path, crs=crs, include_private=include_private)

        digest.update(b"file;")
        _hash_file(path, digest)
        stem = path.name
    key = digest.hexdigest()
    if cache_dir is None:
        return build()
    cache = Path(cache_dir) / f"{stem}.{key}.network.npz"
    if cache.is_file():
        try:
            network = read_network(cache, key=key)
        except NetworkError as exc:
            logger.warning("ignoring the cached network %s (%s); rebuilding it", cache, exc)
        else:
            logger.info("loaded the cached network %s", cache)
            return network
    network = build()
    try:
        write_network(network, cache, key=key)
    except OSError as exc:
        logger.warning("could not cache the network in %s (%s); it will be rebuilt next time", cache, exc)
    else:
        logger.info("cached the network in %s", cache)
    return network
