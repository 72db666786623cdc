"""Building walking networks from their sources: OpenStreetMap files and lines.

- :func:`network_from_osm` reads an OpenStreetMap file (.osm, .osm.bz2, .osm.gz, .osm.pbf) with
  pyosmium and keeps the ways a pedestrian may use (see :func:`is_walkable`);
- :func:`network_from_lines` takes the workspace ``roads`` layer.

Graphs built or written by osmnx are read by :mod:`servicegrid.coverage.osmnx_graphs`. Every
source is read into paths of node references in a metric CRS (:func:`_resolve_crs`) and handed to
:mod:`servicegrid.coverage.network`, which assembles the
:class:`~servicegrid.coverage.network.StreetNetwork`;
:func:`servicegrid.coverage.cache.load_network` picks the builder for a file and caches the
result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import NetworkError
from ..geo.crs import STORAGE_CRS, metric_crs, metric_crs_for_lonlat
from .network import StreetNetwork, _assemble

__all__ = [
    "OSM_SUFFIXES",
    "WALK_HIGHWAYS",
    "is_walkable",
    "network_from_lines",
    "network_from_osm",
    "walkable_rows",
]

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


_TAG_KEYS = ("highway", "area", "foot", "motorroad", "access", "service", *_SIDEWALK_KEYS)
_NOT_WALKS = ("railway", "waterway", "aeroway", "power", "barrier", "natural", "landuse")


def walkable_rows(tags: pd.DataFrame, *, include_private: bool = False) -> tuple[np.ndarray, list[str]]:
    """Which rows of a table of way tags (one column per key) belong to the walking network, and
    a note on what was dropped, by reason — the filter of :func:`is_walkable` for sources that
    carry tags as columns (GraphML and osmnx graphs, a roads layer with a ``highway`` column).

    A row without any ``highway`` value is dropped as what it is (``railway=rail``,
    ``waterway=river`` …) when the source tags its ways, so that a railway is never walked along.
    A value that is a list (osmnx's merged edges) is walkable when any of its parts is.

    Examples
    --------
    >>> keep, notes = walkable_rows(pd.DataFrame({"highway": ["footway", None, "motorway"],
    ...                                           "railway": [None, "rail", None]}))
    >>> keep.tolist(), notes
    ([True, False, False], ['dropped 2 of 3 ways that are not walkable: highway=motorway 1, railway=rail 1'])
    """
    n = len(tags)
    if n == 0:
        return np.zeros(0, dtype=bool), []
    columns = [c for c in _TAG_KEYS if c in tags.columns]
    records = tags[columns].astype(object).where(tags[columns].notna(), None).to_dict("records")
    keep = np.zeros(n, dtype=bool)
    for i, record in enumerate(records):  # one small dict per way: the filter is per-way logic
        highway = record.get("highway")
        options = highway if isinstance(highway, list | tuple) else [highway]
        keep[i] = any(is_walkable({**record, "highway": h}, include_private=include_private) for h in options)
    if keep.all():
        return keep, []
    blank = "no highway tag"
    reason = pd.Series(blank, index=tags.index, dtype=object)
    if "highway" in tags.columns:
        hw = tags["highway"].map(lambda v: ",".join(map(str, v)) if isinstance(v, list | tuple) else v)
        reason = reason.where(hw.isna(), "highway=" + hw.astype(str))
    for key in reversed(_NOT_WALKS):
        if key in tags.columns:
            has = tags[key].notna() & (reason == blank)
            reason = reason.where(~has, key + "=" + tags[key].astype(str))
    counts = reason[~keep].value_counts()
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]
    shown = ", ".join(f"{r} {c:,}" for r, c in counts.head(6).items()) + (", …" if len(counts) > 6 else "")
    return keep, [f"dropped {int((~keep).sum()):,} of {n:,} ways that are not walkable: {shown}"]


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
    problems: list[str] = []
    if isinstance(roads, gpd.GeoDataFrame) and "highway" in roads.columns and roads["highway"].notna().any():
        # a line the user drew without a class is a path they mean to walk: only classed ones are filtered
        classed = roads["highway"].notna().to_numpy()
        walkable, problems = walkable_rows(pd.DataFrame(roads.drop(columns=roads.geometry.name))[classed])
        present[np.flatnonzero(classed)[~walkable]] = False
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
        problems=problems,
    )
