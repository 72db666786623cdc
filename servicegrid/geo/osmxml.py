"""Writing a line layer as an OpenStreetMap XML file (API 0.6), so any walking network can take
the same OSM path as real data.

:func:`write_osm_xml` turns a GeoDataFrame of LineStrings with a ``highway`` column into ``<node>``
and ``<way>`` elements. Vertices that coincide after rounding to 7 decimal degrees (about 1 cm)
become one node, so lines that share an end point or a vertex are connected in the file exactly
as they are in the layer; lines that merely cross without a shared vertex stay unconnected, as
bridges do in OpenStreetMap. pyosmium, osmnx and JOSM read the result.

Everything is vectorized: the unique vertices come from one ``np.unique`` on integer keys and the
text from numpy string arrays joined once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, InputError
from .crs import to_storage
from .workspace import atomic_path

__all__ = ["OsmFileSummary", "write_osm_xml"]

logger = logging.getLogger(__name__)

_SCALE = 10_000_000  # 7 decimal degrees, the precision of the OpenStreetMap database
_LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)


@dataclass(frozen=True)
class OsmFileSummary:
    """What :func:`write_osm_xml` wrote.

    Attributes
    ----------
    path
        The OSM XML file.
    nodes
        Number of ``<node>`` elements (every distinct vertex, intermediate ones included).
    ways
        Number of ``<way>`` elements (one per LineString part with at least two distinct nodes).
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` written in ``<bounds>``.
    """

    path: Path
    nodes: int
    ways: int
    bounds: tuple[float, float, float, float]


def write_osm_xml(
    roads: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    bounds: tuple[float, float, float, float] | None = None,
    tags: Sequence[str] = ("highway", "name"),
    generator: str = "servicegrid",
) -> OsmFileSummary:
    """Write ``roads`` as an OpenStreetMap XML file at ``path`` (atomically).

    Parameters
    ----------
    roads
        LineStrings or MultiLineStrings in any CRS, with a ``highway`` column (``footway``,
        ``residential``, …). Each LineString (each part of a MultiLineString) becomes one way.
        Rows without geometry are skipped and logged.
    path
        Output file, conventionally ``*.osm``.
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` in WGS-84 for the ``<bounds>`` element; default the
        extent of the nodes.
    tags
        Columns written as way tags, in this order; missing columns and blank values are left
        out. ``highway`` is always required.
    generator
        Value of the ``generator`` attribute of ``<osm>``.

    Returns
    -------
    OsmFileSummary
        The path and the numbers of nodes and ways written.

    Raises
    ------
    InputError
        If ``highway`` is missing or blank, or a geometry is not a line (naming the row).
    CRSError
        If ``roads`` has no CRS or its coordinates are not valid longitudes and latitudes after
        conversion to WGS-84.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> roads = gpd.GeoDataFrame(
    ...     {"highway": ["footway", "residential"]},
    ...     geometry=[shapely.LineString([(114.0, 37.7), (114.001, 37.7)]),
    ...               shapely.LineString([(114.001, 37.7), (114.001, 37.701)])],
    ...     crs=4326,
    ... )
    >>> out = write_osm_xml(roads, pathlib.Path(tempfile.mkdtemp()) / "walk.osm")
    >>> out.nodes, out.ways   # the shared corner is one node
    (3, 2)
    """
    if "highway" not in roads.columns:
        msg = "the walking network needs a 'highway' column (footway, residential, …) to write OSM"
        raise InputError(msg, layer="roads", field="highway")
    if roads.crs is None:
        msg = "the roads layer has no CRS; declare its coordinate system before writing OSM"
        raise CRSError(msg)
    geoms = roads.geometry.to_numpy()
    type_ids = shapely.get_type_id(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    wrong = present & ~np.isin(type_ids, _LINE_TYPES)
    if wrong.any():
        pos = int(np.flatnonzero(wrong)[0])
        kind = shapely.get_type_id(geoms[pos])
        msg = (
            f"geometry type {shapely.GeometryType(kind).name} is not a line; the walking network "
            f"holds LineStrings only ({int(wrong.sum())} such row(s))"
        )
        raise InputError(msg, layer="roads", row=_label(roads.index[pos]), field="geometry")
    highway = roads["highway"].astype("string").str.strip()
    blank = present & (highway.isna() | (highway == "")).to_numpy()
    if blank.any():
        pos = int(np.flatnonzero(blank)[0])
        msg = f"blank 'highway' class ({int(blank.sum())} such row(s)); give every line a class"
        raise InputError(msg, layer="roads", row=_label(roads.index[pos]), field="highway")
    if (~present).any():
        logger.warning("skipped %d road row(s) without geometry", int((~present).sum()))

    kept = roads.loc[present]
    wgs = to_storage(kept[[kept.geometry.name]]).geometry.to_numpy()
    parts, row_of_part = shapely.get_parts(wgs, return_index=True)
    coords, part_of_vertex = shapely.get_coordinates(parts, return_index=True)
    lon, lat = coords[:, 0], coords[:, 1]
    if not (np.all(np.isfinite(coords)) and np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)):
        msg = "road coordinates are not valid longitudes/latitudes after conversion to WGS-84"
        raise CRSError(msg)

    ilon = np.rint(lon * _SCALE).astype(np.int64)
    ilat = np.rint(lat * _SCALE).astype(np.int64)
    key = ((ilon + 180 * _SCALE) << 31) | (ilat + 90 * _SCALE)
    unique_key, first, node_of_vertex = np.unique(key, return_index=True, return_inverse=True)
    node_lon, node_lat = ilon[first], ilat[first]

    # Drop a vertex that repeats the node before it in the same way (closer than 1 cm).
    repeat = np.zeros(len(key), dtype=bool)
    repeat[1:] = (node_of_vertex[1:] == node_of_vertex[:-1]) & (part_of_vertex[1:] == part_of_vertex[:-1])
    node_of_vertex, part_of_vertex = node_of_vertex[~repeat], part_of_vertex[~repeat]
    per_part = np.bincount(part_of_vertex, minlength=len(parts))
    short = per_part < 2
    if short.any():
        logger.warning("skipped %d road line(s) shorter than 1 cm", int(short.sum()))
        keep_vertex = ~short[part_of_vertex]
        node_of_vertex, part_of_vertex = node_of_vertex[keep_vertex], part_of_vertex[keep_vertex]
    # Only nodes that some way still uses are written; renumber them 1..n in key order.
    used = np.zeros(len(unique_key), dtype=bool)
    used[node_of_vertex] = True
    new_id = np.cumsum(used)  # 1-based ids of used nodes
    node_ref = new_id[node_of_vertex]
    node_lon, node_lat = node_lon[used], node_lat[used]
    way_parts = np.flatnonzero(~short)
    way_id = np.zeros(len(parts), dtype=np.int64)
    way_id[way_parts] = np.arange(1, len(way_parts) + 1)

    if bounds is None:
        bounds = (
            float(node_lon.min()) / _SCALE,
            float(node_lat.min()) / _SCALE,
            float(node_lon.max()) / _SCALE,
            float(node_lat.max()) / _SCALE,
        )
    tag_text = _tag_text(kept, [t for t in dict.fromkeys(("highway", *tags)) if t in kept.columns])
    text = _document(
        node_lon,
        node_lat,
        node_ref,
        way_id[part_of_vertex],
        tag_text[row_of_part][part_of_vertex],
        bounds=bounds,
        generator=generator,
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    summary = OsmFileSummary(path=path, nodes=len(node_lon), ways=len(way_parts), bounds=bounds)
    logger.info("wrote %s: %d nodes, %d ways", path, summary.nodes, summary.ways)
    return summary


def _label(index_value: object) -> int | str:
    return index_value if isinstance(index_value, int | str) else str(index_value)


def _escape(values: np.ndarray) -> np.ndarray:
    """XML attribute text: ``& < > "`` and newlines as entities (object array in, object out)."""
    text = pd.Series(values, dtype="string").fillna("")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\n", "&#10;")):
        text = text.str.replace(raw, entity, regex=False)
    return text.to_numpy(dtype=object)


def _tag_text(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One string per row: its ``<tag .../>`` lines, each preceded by a newline."""
    text = np.full(len(frame), "", dtype=object)
    for column in columns:  # a few tag columns, each vectorized over the rows
        values = frame[column].astype("string").str.strip()
        valid = (values.notna() & (values != "")).to_numpy()
        line = f'\n  <tag k="{_escape(np.array([column]))[0]}" v="' + _escape(values.to_numpy()) + '"/>'
        text = text + np.where(valid, line, "")
    return text


def _document(
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    node_ref: np.ndarray,
    way_of_vertex: np.ndarray,
    tags_of_vertex: np.ndarray,
    *,
    bounds: tuple[float, float, float, float],
    generator: str,
) -> str:
    """The whole file as one string, assembled from object arrays of per-element text."""
    minlon, minlat, maxlon, maxlat = bounds
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<osm version="0.6" generator="{_escape(np.array([generator]))[0]}">\n'
        f' <bounds minlat="{minlat:.7f}" minlon="{minlon:.7f}" maxlat="{maxlat:.7f}" maxlon="{maxlon:.7f}"/>'
    )
    ids = np.arange(1, len(node_lon) + 1).astype(str).astype(object)
    lat = np.char.mod("%.7f", node_lat / _SCALE).astype(object)
    lon = np.char.mod("%.7f", node_lon / _SCALE).astype(object)
    nodes = ' <node id="' + ids + '" version="1" lat="' + lat + '" lon="' + lon + '"/>'

    first = np.ones(len(way_of_vertex), dtype=bool)
    first[1:] = way_of_vertex[1:] != way_of_vertex[:-1]
    last = np.ones(len(way_of_vertex), dtype=bool)
    last[:-1] = first[1:]
    way_head = ' <way id="' + way_of_vertex.astype(str).astype(object) + '" version="1">\n'
    refs = '  <nd ref="' + node_ref.astype(str).astype(object) + '"/>'
    ways = np.where(first, way_head, "") + refs + np.where(last, tags_of_vertex + "\n </way>", "")
    return "\n".join((head, *nodes.tolist(), *ways.tolist(), "</osm>\n"))
