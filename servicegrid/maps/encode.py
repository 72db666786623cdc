"""Compact map data: geometry as delta-coded integers, properties as tables, JSON fit for a script.

A map's size is its coordinates. Each geometry source (a layer of polygons, lines or points) is
written once, however many map layers draw it (the village boundaries and the village coverage
choropleth share one):

- polygons and lines: every vertex rounded to 6 decimals of a degree (0.1 m) — fewer for a
  source simplified by metres (:func:`decimals_for`: a step finer than the simplification's own
  error is noise that costs bytes) — and written as the integer step from the vertex before it,
  one running chain through the whole source (so a ring's first vertex is a small step from
  the last ring too), each ring one string of ``x0 y0 dx1 dy1 …`` in the characters of the
  encoded polyline algorithm (:func:`polyline_text`); rings are written open (Leaflet closes
  them). ``[["ring","hole"],["second polygon"]]`` per feature;
- points: ``[lat, lon]`` with at most 6 decimals, as written;
- properties: one row of values per feature, the column names once per layer, only those a
  tooltip or popup shows; Chinese written as UTF-8.

:func:`simplify_to_budget` simplifies polygons (topology kept across a layer) and lines in the
workspace's metric CRS, a few metres at a time, until the map is within its vertex budget.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..coverage.areas import polygonal_parts
from ..geo.crs import STORAGE_CRS

__all__ = [
    "DECIMALS",
    "Encoded",
    "Simplified",
    "decimals_for",
    "dumps",
    "encode_geometry",
    "polyline_text",
    "simplify_to_budget",
    "table_rows",
    "vertex_count",
]

DECIMALS = 6
SIMPLIFY_STEPS_M = (1.0, 2.0, 5.0, 10.0, 20.0)
Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Encoded:
    """One geometry source written as JSON: its kind, its features and vertices."""

    kind: str  # "polygon", "line" or "point"
    json: str
    features: int
    vertices: int
    decimals: int = DECIMALS  # of a degree, for polygons and lines


class Simplified(NamedTuple):
    """Sources after :func:`simplify_to_budget`: the geometries, the tolerance (metres) each was
    simplified by (0 when untouched), and the note saying what the budget required (or None)."""

    sources: dict[str, gpd.GeoSeries]
    tolerances: dict[str, float]
    note: str | None


def decimals_for(tolerance_m: float) -> int:
    """Decimals of a degree worth writing for a source simplified by ``tolerance_m`` metres.

    The most decimals the map writes (6, 0.1 m) unless a coarser step rounds each vertex by
    less than half the tolerance: rounding to 10⁻ᵈ degree moves a vertex by at most half a step
    (0.56 m at 5 decimals on a meridian, less along a parallel).

    Examples
    --------
    >>> [decimals_for(t) for t in (0.0, 1.0, 2.0, 5.0, 10.0, 20.0)]
    [6, 6, 5, 5, 5, 4]
    """
    decimals = DECIMALS
    while decimals > 0 and _HALF_STEP_M * 10.0 ** (-(decimals - 1)) < tolerance_m / 2:
        decimals -= 1
    return decimals


_HALF_STEP_M = 0.5 * 111_320.0  # half a degree of latitude in metres (a step of 10⁰ degrees)


def vertex_count(geometries: Iterable[object] | np.ndarray) -> int:
    """Vertices of ``geometries`` as they are written (closing vertices not counted)."""
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) == 0:
        return 0
    total = int(shapely.get_num_coordinates(geoms).sum())
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if polygonal.any():
        total -= int(_ring_count(geoms[polygonal]))
    return total


def _ring_count(geoms: np.ndarray) -> int:
    parts = shapely.get_parts(geoms)
    return int(len(parts) + shapely.get_num_interior_rings(parts).sum())


def encode_geometry(
    geometries: np.ndarray, *, transform: Transform | None = None, decimals: int = DECIMALS
) -> Encoded:
    """The JSON of a geometry source (all polygons, all lines or all points).

    ``transform`` maps longitude and latitude arrays to those written (WGS-84 to GCJ-02 for an
    Amap basemap); the default writes them as they are. Polygons and lines are written in steps
    of 10⁻``decimals`` degree (points always to :data:`DECIMALS`).

    Examples
    --------
    >>> square = shapely.box(113.0, 37.0, 113.000002, 37.000001)
    >>> encode_geometry(np.array([square])).json  # steps 113000002, 37000000, 0, 1, -2, 0, 0, -1
    '[[["cc~ovE_shqeA?AB??@"]]]'
    >>> encode_geometry(np.array([shapely.Point(113.1234567, 37.5)])).json
    '[[37.5,113.123457]]'
    """
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) == 0:
        return Encoded("point", "[]", 0, 0)
    types = set(shapely.get_type_id(geoms).tolist())
    if 7 in types and types & {3, 6}:  # areas an overlay left with a stray line or point
        geoms = polygonal_parts(geoms)
        types = set(shapely.get_type_id(geoms).tolist())
    if types <= {0, 4}:
        return _points(geoms, transform)
    if types <= {1, 5}:
        return _chains(geoms, transform, kind="line", decimals=decimals)
    if types <= {3, 6}:
        return _chains(geoms, transform, kind="polygon", decimals=decimals)
    msg = f"a geometry source mixes points, lines and polygons (type ids {sorted(types)})"
    raise ValueError(msg)


def _points(geoms: np.ndarray, transform: Transform | None) -> Encoded:
    xy = shapely.get_coordinates(shapely.point_on_surface(geoms))
    lon, lat = xy[:, 0], xy[:, 1]
    if transform is not None:
        lon, lat = transform(lon, lat)
    pairs = np.column_stack([np.round(lat, DECIMALS), np.round(lon, DECIMALS)])
    return Encoded("point", dumps(pairs.tolist()), len(geoms), len(geoms))


def _chains(geoms: np.ndarray, transform: Transform | None, *, kind: str, decimals: int) -> Encoded:
    _, coords, offsets = shapely.to_ragged_array(geoms)
    offsets = [np.asarray(o) for o in offsets]
    one_each = np.arange(len(geoms) + 1)  # single parts: one polygon or line per feature
    polygon_ends: np.ndarray | None = None
    if kind == "polygon":
        ring_ends, polygon_ends, feature_ends = offsets if len(offsets) == 3 else (*offsets, one_each)
    else:
        ring_ends, feature_ends = offsets if len(offsets) == 2 else (offsets[0], one_each)
    lon, lat = coords[:, 0], coords[:, 1]
    if transform is not None:
        lon, lat = transform(lon, lat)
    scale = 10.0**decimals
    q = np.column_stack([np.rint(lon * scale), np.rint(lat * scale)]).astype(np.int64)
    starts, stops = ring_ends[:-1], ring_ends[1:]
    keep = np.ones(len(q), dtype=bool)
    if kind == "polygon":
        keep[stops[stops > starts] - 1] = False  # rings are written open
    index = np.cumsum(keep) - 1  # position of each kept vertex
    kept = q[keep]
    steps = kept.copy()
    steps[1:] -= kept[:-1]
    text, ends = polyline_text(steps.ravel())
    ends = np.concatenate([[0], ends])
    ring_text = [
        dumps(text[ends[2 * a] : ends[2 * b]])
        for a, b in zip(index[starts], index[stops - 1] + 1, strict=True)
    ]
    if kind == "polygon":
        polygon_text = ["[" + ",".join(ring_text[a:b]) + "]" for a, b in itertools.pairwise(polygon_ends)]
        parts = polygon_text
    else:
        parts = ring_text
    features = ["[" + ",".join(parts[a:b]) + "]" for a, b in itertools.pairwise(feature_ends)]
    return Encoded(kind, "[" + ",".join(features) + "]", len(geoms), int(keep.sum()), decimals)


def polyline_text(values: np.ndarray) -> tuple[str, np.ndarray]:
    """Integers written as the encoded polyline algorithm writes them, and where each ends.

    Each value is zigzag-coded (0, -1, 1, -2 … as 0, 1, 2, 3 …) and written five bits at a
    time, low bits first, as characters 63–126: a character at 95 or above says another
    follows. A step of a few metres takes two or three characters where its decimal digits and
    comma take four to six, and the text still compresses well. Returns the text and the end
    offset of each value in it.

    Examples
    --------
    The algorithm's published example, (38.5, -120.2), (40.7, -120.95), (43.252, -126.453) in
    steps of 10⁻⁵ degree:

    >>> polyline_text(np.array([3850000, -12020000, 220000, -75000, 255200, -550300]))[0]
    '_p~iF~ps|U_ulLnnqC_mqNvxq`@'
    >>> polyline_text(np.array([0, -1, 1, 17]))
    ('?@Aa@', array([1, 2, 3, 5]))
    """
    values = np.asarray(values, dtype=np.int64)
    zigzag = (values << 1) ^ (values >> 63)
    chunks = np.ones(len(values), dtype=np.int64)
    rest = zigzag >> 5
    while rest.any():
        chunks += rest > 0
        rest >>= 5
    width = int(chunks.max()) if len(values) else 1
    k = np.arange(width)
    bits = (zigzag[:, None] >> (5 * k)) & 31
    more = k < (chunks[:, None] - 1)
    codes = bits + np.where(more, 32, 0) + 63
    text = codes[k < chunks[:, None]].astype(np.uint8).tobytes().decode("ascii")
    return text, np.cumsum(chunks)


def simplify_to_budget(
    sources: Mapping[str, gpd.GeoSeries],
    *,
    budget: int,
    metric_crs: CRS,
    coverages: Iterable[str] = (),
    always: Mapping[str, float] | None = None,
) -> Simplified:
    """``sources`` (WGS-84) simplified until their vertices are within ``budget``.

    Sources named in ``always`` are simplified by the given tolerance (metres) in any case. When
    the total is still over the budget, every polygon and line source is simplified by 1, 2, 5,
    10 and then 20 m until it fits: those named in ``coverages`` (polygons that tile, such as
    villages or grids) with :func:`shapely.coverage_simplify`, which keeps shared edges shared,
    the others each with topology kept. The note says what was done, or is ``None`` when nothing
    beyond ``always`` was needed.
    """
    always = dict(always or {})
    coverage_names = set(coverages)
    metric = {name: geoms.to_crs(metric_crs) for name, geoms in sources.items() if _has_shape(geoms)}
    out = dict(sources)
    tolerances = dict.fromkeys(sources, 0.0)
    for name, tolerance in always.items():
        if name in metric:
            metric[name] = _simplified(metric[name], tolerance, coverage=name in coverage_names)
            out[name] = metric[name].to_crs(STORAGE_CRS)
            tolerances[name] = tolerance
    before = sum(vertex_count(geoms.to_numpy()) for geoms in out.values())
    if before <= budget:
        return Simplified(out, tolerances, None)
    total = before
    for tolerance in SIMPLIFY_STEPS_M:
        steps = {name: max(tolerance, always.get(name, 0.0)) for name in metric}
        trial = {
            name: _simplified(geoms, steps[name], coverage=name in coverage_names)
            for name, geoms in metric.items()
        }
        candidate = {**out, **{name: geoms.to_crs(STORAGE_CRS) for name, geoms in trial.items()}}
        total = sum(vertex_count(geoms.to_numpy()) for geoms in candidate.values())
        out = candidate
        tolerances.update(steps)
        if total <= budget:
            break
    note = (
        f"{before:,} vertices are over the budget of {budget:,}: polygons and lines simplified by "
        f"{tolerance:g} m (shared boundaries kept shared) to {total:,} vertices"
    )
    if total > budget:
        note += f", still over the budget at the largest step ({SIMPLIFY_STEPS_M[-1]:g} m)"
    return Simplified(out, tolerances, note)


def _has_shape(geoms: gpd.GeoSeries) -> bool:
    return bool(len(geoms)) and bool(np.isin(shapely.get_type_id(geoms.to_numpy()), (1, 3, 5, 6)).any())


def _simplified(geoms: gpd.GeoSeries, tolerance: float, *, coverage: bool) -> gpd.GeoSeries:
    values = geoms.to_numpy()
    if coverage:
        simple = shapely.coverage_simplify(values, tolerance)
    else:
        # Lines (the walking paths: one feature of every path) are simplified part by part
        # without the topology check, which is superlinear in a geometry's size (two minutes
        # for the paths of a city) and guards what lines do not need: a simplified line may
        # cross itself on a map. Polygons keep it, each on its own: a ring must stay valid.
        lines = np.isin(shapely.get_type_id(values), (1, 5))
        simple = np.array(values, dtype=object)
        if lines.any():
            simple[lines] = shapely.simplify(values[lines], tolerance, preserve_topology=False)
        if (~lines).any():
            simple[~lines] = shapely.simplify(values[~lines], tolerance, preserve_topology=True)
    simple = np.where(shapely.is_empty(simple), values, simple)  # a sliver never disappears
    return gpd.GeoSeries(simple, index=geoms.index, crs=geoms.crs)


def table_rows(frame: pd.DataFrame, columns: Iterable[str]) -> list[list[object]]:
    """The values of ``columns`` row by row, JSON-ready: missing values are ``None``, whole
    floats integers, other floats as they are (round them before)."""
    out = []
    for column in columns:
        values = frame[column] if column in frame.columns else pd.Series(pd.NA, index=frame.index)
        out.append(_json_values(values))
    return [list(row) for row in zip(*out, strict=True)] if out else [[] for _ in range(len(frame))]


def _json_values(values: pd.Series) -> list[object]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return [None if pd.isna(v) else bool(v) for v in values.astype(object)]
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        return [
            None if not math.isfinite(v) else (int(v) if w else float(v))
            for v, w in zip(numbers.tolist(), whole.tolist(), strict=True)
        ]
    return [None if pd.isna(v) else str(v) for v in values.astype(object)]


def dumps(value: object) -> str:
    """Compact JSON with Chinese as UTF-8, safe inside a ``<script>`` element and as the text
    Folium passes through Jinja once more (``{{``, ``{%`` and ``{#`` open a template tag there;
    they can only occur inside strings, where the second character is written as an escape).

    Examples
    --------
    >>> dumps({"name": "城关街道", "html": "</script>"})
    '{"name":"城关街道","html":"<\\\\/script>"}'
    >>> dumps(["{{ x }}", "{% if %}"])
    '["{\\\\u007b x }}","{\\\\u0025 if %}"]'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _TEMPLATE_TAG.sub(lambda m: f"{{\\u{ord(m[1]):04x}", text.replace("</", "<\\/"))


_TEMPLATE_TAG = re.compile(r"\{([{%#])")
