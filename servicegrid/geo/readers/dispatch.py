"""Reading a source file into a workspace layer: :func:`read_source`, which runs every step in order.

:func:`read_source` picks the reader by file type (:mod:`.vector` or :mod:`.registers`), settles the
source CRS and converts to WGS-84 (:mod:`.coordinates`), checks and repairs the geometry
(:mod:`.geometry`), conforms the columns to the data model and returns a :class:`ReadResult` with
the notes for the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from ...errors import InputError
from ..chinacoords import CoordSystem, check_coord_system
from ..conform import conform, rename_aliases
from ..encoding import sibling
from ..schema import LayerSpec, layer_spec
from .coordinates import _parse_crs, _resolve_crs, _to_wgs84
from .geometry import _check_geometry
from .registers import _TABLE_SUFFIXES, _read_table
from .vector import _VECTOR_SUFFIXES, _read_vector

__all__ = ["SUPPORTED_SUFFIXES", "ReadResult", "read_source"]

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: dict[str, str] = {**_VECTOR_SUFFIXES, **_TABLE_SUFFIXES}


@dataclass(frozen=True)
class ReadResult:
    """A source file read into one workspace layer.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The layer in WGS-84 (EPSG:4326) with canonical column names and types.
    notes : tuple of str
        What the reader assumed, detected, converted or repaired, one sentence each, for the user.
    source : str
        The file name the layer came from.
    layer : str
        The canonical workspace layer name (``villages`` for 村).
    """

    frame: gpd.GeoDataFrame
    notes: tuple[str, ...]
    source: str
    layer: str


def read_source(
    path: str | PathLike[str],
    layer: str,
    *,
    coords: CoordSystem = "wgs84",
    source_layer: str | None = None,
    encoding: str | None = None,
    crs: str | CRS | None = None,
    lon: str | None = None,
    lat: str | None = None,
    wkt: str | None = None,
) -> ReadResult:
    """Read ``path`` as workspace layer ``layer``.

    Parameters
    ----------
    path : path-like
        A .gpkg, .geojson/.json, .kml, .kmz, .shp, .csv/.txt or .xlsx file.
    layer : str
        The workspace layer (``villages``, ``facilities``, … or a Chinese alias such as 小区).
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, default "wgs84"
        The system of the source's longitudes/latitudes: GPS (WGS-84), CGCS2000, GCJ-02
        (Amap, Tencent) or BD-09 (Baidu). Everything is converted to WGS-84.
    source_layer : str, optional
        The layer of a GeoPackage, the folder of a KML/KMZ, or the sheet of a workbook.
        Default: the only spatial layer (several: an error listing them), every KML folder
        combined, the first sheet.
    encoding : str, optional
        Text encoding of a shapefile's .dbf or of a CSV file. Default: the .cpg file, else
        detected from the bytes (UTF-8, GBK, GB18030).
    crs : str or pyproj.CRS, optional
        The CRS of the file's coordinates, overriding what the file declares (e.g.
        ``"EPSG:4547"`` for a CGCS2000 Gauss–Krüger layer); applied before ``coords``.
    lon, lat : str, optional
        Register columns holding longitude and latitude (default: recognised headers such as
        经度/纬度, lon/lat, lng, longitude/latitude, x/y, 东经/北纬).
    wkt : str, optional
        Register column holding WKT geometry (default: a column named wkt, geometry, geom or 几何).

    Returns
    -------
    ReadResult
        The conformed layer in WGS-84 and the notes for the user.

    Raises
    ------
    InputError
        A file, layer, row or field that cannot be read, with what to do about it.
    CRSError
        An unknown ``coords`` value or a ``crs`` that PROJ does not know.
    """
    path = Path(path)
    source = path.name
    spec = layer_spec(layer)
    check_coord_system(coords)
    suffix = path.suffix.lower()
    if not path.exists():
        msg = "file not found"
        raise InputError(msg, source=str(path))
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(_unsupported(suffix), source=source)
    if path.is_dir():
        msg = f"is a folder, not a {SUPPORTED_SUFFIXES[suffix]} file"
        raise InputError(msg, source=source)
    kind = SUPPORTED_SUFFIXES[suffix]
    target_crs = _parse_crs(crs) if crs is not None else None
    notes: list[str] = []
    if suffix in _TABLE_SUFFIXES:
        degrees = target_crs is None or target_crs.is_geographic
        frame = _read_table(
            path,
            spec,
            notes,
            source_layer=source_layer,
            encoding=encoding,
            degrees=degrees,
            lon=lon,
            lat=lat,
            wkt=wkt,
        )
        what = "the register's coordinates carry no coordinate system"
    else:
        if lon is not None or lat is not None or wkt is not None:
            msg = f"--lon/--lat/--wkt apply to CSV and XLSX registers; a {kind} file carries its own geometry"
            raise InputError(msg, source=source)
        if encoding is not None and suffix not in (".shp", ".geojson", ".json"):
            msg = (
                f"--encoding applies to shapefiles, GeoJSON and CSV files; {kind} files declare their "
                "own encoding"
            )
            raise InputError(msg, source=source)
        frame = _read_vector(path, suffix, notes, source_layer=source_layer, encoding=encoding)
        what = (
            "the shapefile has no .prj (no coordinate system)"
            if suffix == ".shp" and sibling(path, ".prj") is None
            else "the file declares no coordinate system"
        )
    if len(frame) == 0:
        msg = "the file holds no features"
        raise InputError(msg, source=source)
    frame = _resolve_crs(frame, target_crs, coords=coords, notes=notes, source=source, what=what)
    frame = _to_wgs84(frame, coords, notes)
    frame = _check_geometry(frame, spec, notes, source=source, skip_other_kinds=suffix in (".kml", ".kmz"))
    frame = _ensure_ids(frame.reset_index(drop=True), spec, notes, source=source)
    out = conform(frame, spec.name, source=source, notes=notes)
    for note in notes:
        logger.info("%s: %s", source, note)
    return ReadResult(out, tuple(notes), source, spec.name)


#: Layers no other layer refers to by id: ids generated from the row order cannot break a reference.
ROW_ID_LAYERS = ("settlements", "microgrids", "gates", "roads")


def _ensure_ids(
    frame: gpd.GeoDataFrame, spec: LayerSpec, notes: list[str], *, source: str
) -> gpd.GeoDataFrame:
    """``frame`` with an id column, or an error when ids cannot be generated safely.

    Generated ids are safe when nothing can come to depend on one and then see it point to
    another feature after the next import: row numbers for the layers no other layer refers to
    (:data:`ROW_ID_LAYERS`); for every other layer — the parents other layers refer to by id, and
    the facilities and candidates users name in plans and audits — only the names, when every row
    has a distinct one (a name stays with its feature whatever the row order).
    """
    renamed = rename_aliases(frame, spec)
    if "id" in renamed.columns and renamed["id"].astype("string").str.strip().fillna("").ne("").any():
        return frame
    headers = ", ".join((spec.column("id").name, *spec.column("id").aliases[:4]))
    if spec.name in ROW_ID_LAYERS:
        prefix = spec.name[:1].upper()
        notes.append(
            f"no id column ({headers}): ids {prefix}1…{prefix}{len(frame)} generated from the row order "
            f"(safe: no other layer refers to {spec.name} by id)"
        )
        return frame
    names = renamed["name"].astype("string").str.strip().replace("", pd.NA) if "name" in renamed else None
    if names is not None and names.notna().all() and names.is_unique:
        notes.append(
            f"no id column ({headers}): each feature's name is its id (the names are distinct; "
            "add an id column to keep ids when a name changes)"
        )
        return frame.assign(id=names.to_numpy())
    if names is None:
        why = "and no name column to take them from"
    elif names.isna().any():
        why = f"and {int(names.isna().sum())} row(s) have no name to take one from"
    else:
        twice = names[names.duplicated()].unique()[:3]
        why = "and the names are not distinct (" + ", ".join(f"'{n}'" for n in twice) + " more than once)"
    msg = (
        f"the register has no id column ({headers}), {why}; ids made up from the row order could "
        f"point to other {spec.name} after the next import: add an id column"
    )
    raise InputError(msg, source=source, layer=spec.name)


def _unsupported(suffix: str) -> str:
    known = ", ".join(f"{s} ({k})" for s, k in SUPPORTED_SUFFIXES.items())
    if suffix == ".xls":
        return "the old Excel .xls format is not read; save the workbook as .xlsx"
    if suffix in (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx"):
        return "this is one part of a shapefile; import its .shp file (the other parts must lie beside it)"
    if suffix == ".zip":
        return "unzip the archive first and import the .shp, .gpkg or other file inside it"
    return f"unknown file type '{suffix or '(none)'}'; servicegrid reads: {known}"
