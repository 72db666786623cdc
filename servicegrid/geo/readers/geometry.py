"""Geometry checks and repair: the geometry types a layer takes, collections, invalid polygons.

:func:`_check_geometry` reduces geometry collections to their parts of the layer's kind
(:func:`_parts_of_kind`), skips KML placemarks of another kind, refuses other wrong kinds with a
message that says what the file holds, repairs invalid polygons with ``make_valid`` (refusing
those that collapse) and reports features without geometry, which are kept for validation.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...errors import InputError
from ..schema import LayerSpec

# shapely type ids
_POINT, _LINE, _POLYGON, _MULTIPOINT, _MULTILINE, _MULTIPOLYGON, _COLLECTION = 0, 1, 3, 4, 5, 6, 7
_ALLOWED_TYPES = {
    "polygon": (_POLYGON, _MULTIPOLYGON),
    "point": (_POINT,),
    "line": (_LINE, _MULTILINE),
    "polygon_or_point": (_POLYGON, _MULTIPOLYGON, _POINT),
}
_KIND_TEXT = {
    "polygon": "polygons (Polygon or MultiPolygon)",
    "point": "points",
    "line": "lines (LineString or MultiLineString)",
    "polygon_or_point": "polygons or points",
}


def _rows(positions: np.ndarray, limit: int = 10) -> str:
    """'row 4' or 'rows 4, 9, 12' (1-based) for 0-based ``positions``, shortened after ``limit``."""
    rows = np.asarray(positions, dtype=int) + 1
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _parts_of_kind(geoms: np.ndarray, kind: str) -> np.ndarray:
    """For each geometry, its parts of ``kind`` ('polygon', 'point', 'line') as one geometry, or None."""
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0:
        return out
    parts, owner = shapely.get_parts(geoms, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)
    owner = owner[sub]
    type_id = shapely.get_type_id(parts)
    wanted, build = {
        "polygon": (_POLYGON, shapely.multipolygons),
        "point": (_POINT, shapely.multipoints),
        "line": (_LINE, shapely.multilinestrings),
    }[kind]
    keep = (type_id == wanted) & ~shapely.is_empty(parts)
    if keep.any():
        build(parts[keep], indices=owner[keep], out=out)
    single = ~shapely.is_missing(out) & (shapely.get_num_geometries(out) == 1)
    out[single] = shapely.get_geometry(out[single], 0)
    return out


def _check_geometry(
    frame: gpd.GeoDataFrame, spec: LayerSpec, notes: list[str], *, source: str, skip_other_kinds: bool
) -> gpd.GeoDataFrame:
    """Check the geometry types against the layer, repair invalid polygons, report what was done."""
    geoms = np.array(frame.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_id = shapely.get_type_id(geoms)
    layer_kind = spec.geometry

    collection = (type_id == _COLLECTION) & ~missing
    if collection.any():
        first = "polygon" if layer_kind in ("polygon", "polygon_or_point") else layer_kind
        reduced = _parts_of_kind(geoms[collection], first)
        if layer_kind == "polygon_or_point":
            none = shapely.is_missing(reduced)
            reduced[none] = _parts_of_kind(geoms[collection][none], "point")
        kept = ~shapely.is_missing(reduced)
        idx = np.flatnonzero(collection)
        geoms[idx[kept]] = reduced[kept]
        if kept.any():
            notes.append(
                f"{int(kept.sum())} geometry collection(s) reduced to their "
                f"{_KIND_TEXT[layer_kind].split(' (')[0]} ({_rows(idx[kept])})"
            )
    single_multipoint = (shapely.get_type_id(geoms) == _MULTIPOINT) & (shapely.get_num_geometries(geoms) == 1)
    if layer_kind in ("point", "polygon_or_point") and single_multipoint.any():
        geoms[single_multipoint] = shapely.get_geometry(geoms[single_multipoint], 0)
    type_id = shapely.get_type_id(geoms)

    wrong = ~missing & ~np.isin(type_id, _ALLOWED_TYPES[layer_kind])
    if wrong.any():
        right = ~missing & ~wrong
        if skip_other_kinds and right.any():
            names = frame["Name"].to_numpy()[wrong] if "Name" in frame.columns else np.array([])
            shown = ", ".join(repr(str(n)) for n in names[:10] if isinstance(n, str) and n)
            notes.append(
                f"{int(wrong.sum())} placemark(s) skipped because they are not "
                f"{_KIND_TEXT[layer_kind].split(' (')[0]}" + (f": {shown}" if shown else "")
            )
            keep = ~wrong
            frame, geoms, missing = frame[keep], geoms[keep], missing[keep]
        else:
            raise InputError(_wrong_kind_message(geoms, wrong, spec), source=source, layer=spec.name)

    polygonal = ~missing & np.isin(shapely.get_type_id(geoms), (_POLYGON, _MULTIPOLYGON))
    invalid = polygonal & ~shapely.is_valid(geoms)
    if invalid.any():
        idx = np.flatnonzero(invalid)
        repaired = _parts_of_kind(
            shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False), "polygon"
        )
        collapsed = shapely.is_missing(repaired) | (shapely.area(repaired) <= 0)
        if collapsed.any():
            msg = (
                f"{_rows(idx[collapsed])}: the polygon has no area once its self-intersections are "
                "removed (it collapses to a line or point); correct or remove it"
            )
            raise InputError(msg, source=source, layer=spec.name)
        geoms[idx] = repaired
        n = len(idx)
        notes.append(f"{n} invalid polygon{'s' if n > 1 else ''} repaired with make_valid ({_rows(idx)})")
    if missing.any():
        notes.append(
            f"{int(missing.sum())} feature(s) without geometry ({_rows(np.flatnonzero(missing))}); "
            "they are kept, and validation reports them"
        )
    out = frame.copy()
    out[frame.geometry.name] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    return out


def _wrong_kind_message(geoms: np.ndarray, wrong: np.ndarray, spec: LayerSpec) -> str:
    types = pd.Series(shapely.get_type_id(geoms[wrong]))
    names = {
        0: "Point",
        1: "LineString",
        2: "LinearRing",
        3: "Polygon",
        4: "MultiPoint",
        5: "MultiLineString",
        6: "MultiPolygon",
        7: "GeometryCollection",
    }
    found = ", ".join(f"{count} {names.get(int(t), 'unknown')}" for t, count in types.value_counts().items())
    message = (
        f"the {spec.name} layer takes {_KIND_TEXT[spec.geometry]}, but the file holds {found} "
        f"({_rows(np.flatnonzero(wrong))})"
    )
    if spec.geometry == "polygon" and np.isin(types, (_POINT, _MULTIPOINT)).all():
        message += (
            "; points cannot stand in for boundaries: import the boundaries from a shapefile, "
            "GeoPackage, GeoJSON or KML, or give a WKT column"
        )
    elif spec.geometry == "point":
        message += f"; export the {spec.name} as points, one per feature"
    return message
