"""Building walking networks from osmnx graphs: in memory, written as GraphML, downloaded by place.

:func:`network_from_osmnx` reads the node and edge attributes of a networkx graph once and builds
the network vectorized; :func:`network_from_graphml` reads a file written by
``osmnx.save_graphml``; :func:`network_from_place` downloads a walking network with osmnx (needs
the internet). OpenStreetMap files and the roads layer are read by
:mod:`servicegrid.coverage.sources`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import NetworkError
from ..geo.crs import STORAGE_CRS
from .network import StreetNetwork, _assemble
from .sources import _project, _resolve_crs, walkable_rows

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "network_from_graphml",
    "network_from_osmnx",
    "network_from_place",
]


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
    # GraphML made with graph_from_xml carries railways and rivers too: the same walk filter as
    # an OSM file, when the graph tags its edges
    tags = pd.DataFrame.from_records([_tags(d) for _, _, d in edges])
    problems: list[str] = []
    if "highway" in tags.columns:
        walkable, problems = walkable_rows(tags)
        edges = [e for e, ok in zip(edges, walkable, strict=True) if ok]
        if not edges:
            msg = f"{source}: no edge of the graph is walkable ({problems[0]})"
            raise NetworkError(msg)
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
        problems=problems,
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


_TAG_ATTRIBUTES = (
    "highway",
    "railway",
    "waterway",
    "aeroway",
    "power",
    "barrier",
    "natural",
    "landuse",
    "area",
    "foot",
    "motorroad",
    "access",
    "service",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
)


def _tags(data: dict[str, Any]) -> dict[str, Any]:
    """The OSM tags of an edge; GraphML stores osmnx's merged lists as text such as "['a', 'b']"."""
    out = {}
    for key in _TAG_ATTRIBUTES:
        value = data.get(key)
        if isinstance(value, str) and value.startswith("["):
            value = [v.strip(" '\"") for v in value.strip("[]").split(",")]
        out[key] = value
    return out


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
    :func:`~.sources.is_walkable`, also leaves out cycleways), unsimplified, with every piece kept; for a
    reproducible workspace prefer an OSM file and :func:`~.sources.network_from_osm`.

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
