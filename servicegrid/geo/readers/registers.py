"""Reading one source file into one workspace layer, as the planner's files come.

:func:`read_source` takes a GeoPackage, GeoJSON, KML/KMZ, Shapefile, or a CSV/XLSX register
with longitude/latitude or WKT columns, and returns the layer conformed to the data model
(:func:`servicegrid.geo.schema.conform`) in WGS-84, together with notes that tell the user what
was assumed or repaired: the encoding detected for a shapefile without .cpg, the columns used as
coordinates, the coordinate system converted from, polygons repaired with ``make_valid``.

Anything that cannot be read as given raises :class:`~servicegrid.errors.InputError` naming the
file, layer, row and field; rows are counted from 1 over the data records (header excluded).

The order of work is fixed: read the raw features, settle the source CRS (``crs`` overrides
whatever the file declares), convert to WGS-84 (``coords`` says whether the longitudes and
latitudes are WGS-84, CGCS2000, GCJ-02 or BD-09), check and repair the geometry, conform the
columns.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from ..errors import CRSError, InputError
from .chinacoords import CoordSystem, check_coord_system, frame_to_wgs84, in_gcj02_area
from .crs import STORAGE_CRS
from .encoding import (
    EncodingGuess,
    codec_label,
    detect_dbf_encoding,
    detect_text_encoding,
    normalize_codec,
    sibling,
)
from .schema import LayerSpec, conform, layer_spec

__all__ = ["SUPPORTED_SUFFIXES", "ReadResult", "read_source"]

logger = logging.getLogger(__name__)

_VECTOR_SUFFIXES = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".shp": "Shapefile",
}
_TABLE_SUFFIXES = {".csv": "CSV", ".txt": "CSV", ".xlsx": "Excel workbook"}
SUPPORTED_SUFFIXES: dict[str, str] = {**_VECTOR_SUFFIXES, **_TABLE_SUFFIXES}

_SYSTEM_LABELS = {
    "wgs84": "WGS-84",
    "cgcs2000": "CGCS2000 (EPSG:4490)",
    "gcj02": "GCJ-02 (Amap/Tencent)",
    "bd09": "BD-09 (Baidu)",
}

# Coordinate column names, as (longitude, latitude) pairs in order of preference; headers are
# compared case-insensitively without spaces, underscores and bracketed remarks.
_LONLAT_PAIRS = (
    ("经度", "纬度"),
    ("longitude", "latitude"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("东经", "北纬"),
    ("x", "y"),
)
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "几何", "几何图形")

# Columns the LIBKML driver adds to every placemark, which carry no planning data.
_KML_NOISE = (
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)

# Longitude and latitude ranges of China, disjoint: the test for swapped columns.
_CHINA_LON = (73.0, 135.5)
_CHINA_LAT = (17.5, 54.0)
_SWAPPED_SHARE = 0.9

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

_DMS = re.compile(
    r"^(?:东经|北纬|东|北|[EN])?\s*(\d+(?:\.\d+)?)\s*(?:°|度)\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:'|′|分)\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|秒)\s*)?(?:[EN])?$",
    re.IGNORECASE,
)
_SRID_PREFIX = re.compile(r"^\s*SRID=\d+;", re.IGNORECASE)


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
    out = conform(frame.reset_index(drop=True), spec.name, source=source)
    for note in notes:
        logger.info("%s: %s", source, note)
    return ReadResult(out, tuple(notes), source, spec.name)


# --------------------------------------------------------------------------------------------
# vector files


def _unsupported(suffix: str) -> str:
    known = ", ".join(f"{s} ({k})" for s, k in SUPPORTED_SUFFIXES.items())
    if suffix == ".xls":
        return "the old Excel .xls format is not read; save the workbook as .xlsx"
    if suffix in (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx"):
        return "this is one part of a shapefile; import its .shp file (the other parts must lie beside it)"
    if suffix == ".zip":
        return "unzip the archive first and import the .shp, .gpkg or other file inside it"
    return f"unknown file type '{suffix or '(none)'}'; servicegrid reads: {known}"


def _gdal_message(exc: Exception) -> str:
    return str(exc).split("; It might help", 1)[0].strip()


def _read_ogr(
    path: Path | str, layer: str | None, *, encoding: str | None, kind: str, source: str
) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"cannot be read as {kind}; the file may be truncated, corrupt or of another format ({_gdal_message(exc)})"
        raise InputError(msg, source=source) from exc
    except UnicodeDecodeError as exc:
        label = codec_label(encoding) if encoding else "UTF-8"
        msg = f"the file's text is not valid {label}; pass its encoding with --encoding (e.g. gbk or gb18030)"
        raise InputError(msg, source=source) from exc
    return frame


def _read_geojson(
    path: Path, layer: str, notes: list[str], *, encoding: str | None, source: str
) -> gpd.GeoDataFrame:
    """A GeoJSON layer; text that is not UTF-8 (as the standard requires) is detected and reported."""
    if encoding is not None:
        codec = normalize_codec(encoding)
        if codec is None:
            msg = f"unknown encoding {encoding!r}; use e.g. utf-8, gbk, gb18030 or big5"
            raise InputError(msg, source=source)
        notes.append(f"encoding {codec_label(codec)} as given")
        return _read_ogr(path, layer, encoding=codec, kind="GeoJSON", source=source)
    try:
        return pyogrio.read_dataframe(path, layer=layer, force_2d=True)
    except UnicodeDecodeError:
        guess = detect_text_encoding(path.read_bytes(), source=source)
        notes.append(f"{guess.reason} (GeoJSON should be UTF-8; the file is not)")
        return _read_ogr(path, layer, encoding=guess.encoding, kind="GeoJSON", source=source)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return _read_ogr(path, layer, encoding=None, kind="GeoJSON", source=source)


def _list_layers(path: Path | str, kind: str, *, source: str) -> np.ndarray:
    try:
        return pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot be read as {kind}; the file may be truncated, corrupt or of another format ({_gdal_message(exc)})"
        raise InputError(msg, source=source) from exc


def _kmz_document(path: Path) -> str:
    """The GDAL path of the main KML document inside a KMZ archive.

    The LIBKML driver reading a .kmz directly drops the placemarks' ExtendedData fields, so the
    main document (``doc.kml``, else the first .kml at the top of the archive) is read through
    GDAL's /vsizip/ file system instead.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            documents = [n for n in archive.namelist() if n.lower().endswith(".kml")]
    except (zipfile.BadZipFile, OSError) as exc:
        msg = f"cannot be read as KMZ: it is not a zip archive (the file may be truncated or corrupt: {exc})"
        raise InputError(msg, source=path.name) from exc
    if not documents:
        msg = "the KMZ archive holds no .kml document"
        raise InputError(msg, source=path.name)
    top = [n for n in documents if "/" not in n]
    main = "doc.kml" if "doc.kml" in documents else (top or documents)[0]
    return f"/vsizip/{path.resolve()}/{main}"


def _read_vector(
    path: Path, suffix: str, notes: list[str], *, source_layer: str | None, encoding: str | None
) -> gpd.GeoDataFrame:
    kind = SUPPORTED_SUFFIXES[suffix]
    source = path.name
    if suffix == ".shp":
        guess: EncodingGuess | None = detect_dbf_encoding(path, encoding=encoding)
        if guess is not None and guess.reason:
            notes.append(guess.reason)
        return _read_ogr(path, None, encoding=guess.encoding if guess else None, kind=kind, source=source)
    gdal_path: Path | str = _kmz_document(path) if suffix == ".kmz" else path
    layers = _list_layers(gdal_path, kind, source=source)
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if suffix in (".kml", ".kmz"):
        return _read_kml(gdal_path, names, notes, source_layer=source_layer, kind=kind, source=source)
    if source_layer is not None:
        if source_layer not in names:
            msg = f"no layer '{source_layer}'; the layers are: {', '.join(names) or '(none)'}"
            raise InputError(msg, source=source)
        chosen = source_layer
    else:
        spatial = [str(n) for n, g in layers if g is not None]
        if not spatial:
            msg = "the file holds no layer with geometry"
            raise InputError(msg, source=source)
        if len(spatial) > 1:
            msg = (
                f"the file holds {len(spatial)} layers: {', '.join(spatial)}; choose one with --source-layer"
            )
            raise InputError(msg, source=source)
        chosen = spatial[0]
        if len(names) > 1:
            notes.append(f"layer '{chosen}' read (the only one with geometry)")
    if kind == "GeoJSON":
        return _read_geojson(path, chosen, notes, encoding=encoding, source=source)
    return _read_ogr(path, chosen, encoding=None, kind=kind, source=source)


def _read_kml(
    path: Path | str, names: list[str], notes: list[str], *, source_layer: str | None, kind: str, source: str
) -> gpd.GeoDataFrame:
    if source_layer is not None and source_layer not in names:
        msg = f"no folder '{source_layer}'; the folders are: {', '.join(names) or '(none)'}"
        raise InputError(msg, source=source)
    chosen = [source_layer] if source_layer is not None else names
    frames = []
    for name in chosen:  # one read per KML folder
        frame = _read_ogr(path, name, encoding=None, kind=kind, source=source)
        if len(frame):
            frames.append(frame.assign(kml_folder=name))
    if not frames:
        msg = "the file holds no placemarks"
        raise InputError(msg, source=source)
    if len(frames) > 1:
        folders = ", ".join(f"'{f['kml_folder'].iloc[0]}' ({len(f)})" for f in frames)
        notes.append(f"{len(frames)} KML folders combined: {folders}")
    combined = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    noise = [c for c in _KML_NOISE if c in combined.columns]
    return combined.drop(columns=noise)


# --------------------------------------------------------------------------------------------
# registers (CSV, XLSX)


def _read_table(
    path: Path,
    spec: LayerSpec,
    notes: list[str],
    *,
    source_layer: str | None,
    encoding: str | None,
    degrees: bool,
    lon: str | None,
    lat: str | None,
    wkt: str | None,
) -> gpd.GeoDataFrame:
    source = path.name
    if (lon is None) != (lat is None):
        msg = "give both --lon and --lat (the longitude and the latitude column)"
        raise InputError(msg, source=source)
    if wkt is not None and lon is not None:
        msg = "give either --lon/--lat or --wkt, not both"
        raise InputError(msg, source=source)
    if path.suffix.lower() == ".xlsx":
        if encoding is not None:
            msg = (
                "--encoding applies to shapefiles, GeoJSON and CSV files; an .xlsx workbook declares its own"
            )
            raise InputError(msg, source=source)
        grid = _xlsx_grid(path, notes, sheet=source_layer)
    else:
        if source_layer is not None:
            msg = "--source-layer names a GeoPackage layer, KML folder or workbook sheet; a CSV file has none"
            raise InputError(msg, source=source)
        grid = _csv_grid(path, notes, encoding=encoding)
    blank = grid.isna().all(axis=1).to_numpy()
    if blank.any():
        grid = grid[~blank]
        last = np.flatnonzero(~blank)
        interior = int(blank[: last[-1] + 1].sum()) if len(last) else 0
        if interior:
            notes.append(f"{interior} empty line(s) skipped; rows are counted without them")
    table, choice = _promote_header(grid, spec, notes, source=source, lon=lon, lat=lat, wkt=wkt)
    if len(table) == 0:
        msg = "the register has a header but no data rows"
        raise InputError(msg, source=source)
    if choice[0] == "wkt":
        column = choice[1]
        geometry = _wkt_geometry(table[column], source=source, layer=spec.name, field=column)
        notes.append(f"column {column} used as WKT geometry")
        used = [column]
    else:
        lon_col, lat_col = choice[1], choice[2]
        geometry = _point_geometry(table, lon_col, lat_col, source=source, layer=spec.name, degrees=degrees)
        notes.append(f"columns {lon_col}/{lat_col} used as longitude/latitude")
        used = [lon_col, lat_col]
    attributes = table.drop(columns=used)
    if "geometry" in attributes.columns:
        attributes = attributes.rename(columns={"geometry": "geometry_text"})
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geometry, index=table.index))
    bounds = frame.total_bounds
    if degrees and _degree_like(bounds):
        frame = frame.set_crs(STORAGE_CRS)
    return frame.reset_index(drop=True)


def _csv_grid(path: Path, notes: list[str], *, encoding: str | None) -> pd.DataFrame:
    source = path.name
    data = path.read_bytes()
    if encoding is not None:
        codec = normalize_codec(encoding)
        if codec is None:
            msg = f"unknown encoding {encoding!r}; use e.g. utf-8, gbk, gb18030 or big5"
            raise InputError(msg, source=source)
        try:
            data.decode(codec)
        except UnicodeDecodeError as exc:
            msg = (
                f"the file is not valid {codec_label(codec)} (byte 0x{data[exc.start]:02X} at offset "
                f"{exc.start}); leave --encoding out to detect it, or try gb18030"
            )
            raise InputError(msg, source=source) from exc
        if codec == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
            codec = "utf-8-sig"
        guess = EncodingGuess(codec, f"encoding {codec_label(codec)} as given")
    else:
        guess = detect_text_encoding(data, source=source)
    if guess.reason:
        notes.append(guess.reason)
    text = data.decode(guess.encoding)
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in sample and "," not in sample else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        msg = "the file is empty"
        raise InputError(msg, source=source)
    return pd.DataFrame(rows, dtype=object).apply(_strip_blank)


def _xlsx_grid(path: Path, notes: list[str], *, sheet: str | None) -> pd.DataFrame:
    source = path.name
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        msg = f"cannot be read as an .xlsx workbook; the file may be truncated, corrupt or of another format ({exc})"
        raise InputError(msg, source=source) from exc
    with book:
        sheets = [str(s) for s in book.sheet_names]
        if sheet is not None and sheet not in sheets:
            msg = f"no sheet '{sheet}'; the sheets are: {', '.join(sheets)}"
            raise InputError(msg, source=source)
        chosen = sheet if sheet is not None else sheets[0]
        if sheet is None and len(sheets) > 1:
            notes.append(f"sheet '{chosen}' read (the workbook also has: {', '.join(sheets[1:])})")
        grid = pd.read_excel(book, sheet_name=chosen, header=None)
    return grid.apply(_strip_blank)


def _strip_blank(column: pd.Series) -> pd.Series:
    """A column with text stripped and blank text made missing; numbers and dates untouched."""
    if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) not in (
        "string",
        "mixed",
        "mixed-integer",
    ):
        return column
    stripped = column.str.strip()  # NaN for cells that are not text
    text = column.where(stripped.isna(), stripped)
    return text.where(text.notna() & (text != ""), np.nan)


def _norm_header(text: str) -> str:
    text = re.sub(r"[（(][^（()）]*[)）]", "", text)
    return re.sub(r"[\s_\-:：°]", "", text).casefold()


def _clean_headers(row: pd.Series) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(row.tolist()):  # one pass over the header cells
        if value is None or (isinstance(value, float) and np.isnan(value)):
            text = f"column_{i + 1}"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value).strip()
        count = seen.get(text, 0)
        seen[text] = count + 1
        headers.append(text if count == 0 else f"{text}.{count}")
    return headers


def _find_coordinates(
    headers: list[str], spec: LayerSpec, *, lon: str | None, lat: str | None, wkt: str | None
) -> tuple[str, ...] | None:
    """``("lonlat", lon_col, lat_col)`` or ``("wkt", col)`` among ``headers``, or None."""
    if lon is not None and lat is not None:
        lon_col, lat_col = _match_header(headers, lon), _match_header(headers, lat)
        return ("lonlat", lon_col, lat_col) if lon_col is not None and lat_col is not None else None
    if wkt is not None:
        col = _match_header(headers, wkt)
        return ("wkt", col) if col is not None else None
    normal = {_norm_header(h): h for h in reversed(headers)}
    pair: tuple[str, ...] | None = None
    for lon_name, lat_name in _LONLAT_PAIRS:
        if lon_name in normal and lat_name in normal:
            pair = ("lonlat", normal[lon_name], normal[lat_name])
            break
    if pair is None:
        lon_cols = [h for h in headers if "经度" in h]
        lat_cols = [h for h in headers if "纬度" in h]
        if len(lon_cols) == 1 and len(lat_cols) == 1:
            pair = ("lonlat", lon_cols[0], lat_cols[0])
    wkt_col = next((normal[n] for n in _WKT_NAMES if n in normal), None)
    if wkt_col is not None and (pair is None or spec.geometry in ("polygon", "line")):
        return ("wkt", wkt_col)
    return pair


def _match_header(headers: list[str], name: str) -> str | None:
    if name in headers:
        return name
    folded = [h for h in headers if h.strip().casefold() == name.strip().casefold()]
    return folded[0] if folded else None


def _promote_header(
    grid: pd.DataFrame,
    spec: LayerSpec,
    notes: list[str],
    *,
    source: str,
    lon: str | None,
    lat: str | None,
    wkt: str | None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The data records under the header line, and the coordinate columns found in the header.

    The header is the first line; when that line names no coordinate columns, the next few
    lines are tried, since registers often open with a title line above the header.
    """
    lines = min(len(grid), 10)
    for h in range(lines):
        headers = _clean_headers(grid.iloc[h])
        choice = _find_coordinates(headers, spec, lon=lon, lat=lat, wkt=wkt)
        if choice is not None:
            break
    else:
        headers = _clean_headers(grid.iloc[0])
        raise InputError(_missing_columns_message(headers, lon=lon, lat=lat, wkt=wkt), source=source)
    table = grid.iloc[h + 1 :].reset_index(drop=True)
    table.columns = headers
    table = table.infer_objects()
    if h:
        notes.append(
            f"header found on line {h + 1}; the line(s) above it were skipped as a title, and rows "
            "are counted from the line below the header"
        )
    return table, choice


def _missing_columns_message(headers: list[str], *, lon: str | None, lat: str | None, wkt: str | None) -> str:
    found = ", ".join(headers)
    if lon is not None:
        missing = [c for c in (lon, lat) if c is not None and _match_header(headers, c) is None]
        return f"no column {' or '.join(repr(m) for m in missing)}; the columns are: {found}"
    if wkt is not None:
        return f"no column '{wkt}'; the columns are: {found}"
    return (
        "no coordinate columns: expected longitude/latitude columns (经度/纬度, lon/lat, lng, "
        "longitude/latitude, x/y, 东经/北纬) or a WKT column (wkt, geometry, geom, 几何); "
        f"the columns are: {found}. Name them with --lon COL --lat COL or --wkt COL"
    )


def _coordinate_values(
    values: pd.Series, *, source: str, layer: str, field: str
) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (degrees or metres) from a coordinate column, and the mask of blank cells."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        number = values.to_numpy(dtype=float)
        return number, np.isnan(number)
    text = values.astype("string").str.normalize("NFKC").str.strip()
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
    number = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    rest = ~blank & number.isna().to_numpy()
    if rest.any():
        parts = text[rest].str.extract(_DMS).apply(pd.to_numeric, errors="coerce")
        minutes = parts[1].fillna(0.0)
        seconds = parts[2].fillna(0.0)
        ok = parts[0].notna() & (minutes < 60) & (seconds < 60)
        number[rest] = (parts[0] + minutes / 60 + seconds / 3600).where(ok).to_numpy()
    bad = ~blank & number.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        msg = (
            f"{values.iloc[pos]!r} is not a coordinate (give decimal degrees such as 116.35, or "
            f"116°20′30″) ({int(bad.sum())} such value(s) in this column)"
        )
        raise InputError(msg, source=source, layer=layer, row=pos + 1, field=field)
    return number.to_numpy(dtype=float), blank


def _point_geometry(
    table: pd.DataFrame, lon_col: str, lat_col: str, *, source: str, layer: str, degrees: bool
) -> np.ndarray:
    x, x_blank = _coordinate_values(table[lon_col], source=source, layer=layer, field=lon_col)
    y, y_blank = _coordinate_values(table[lat_col], source=source, layer=layer, field=lat_col)
    blank = x_blank | y_blank
    if blank.any():
        rows = np.flatnonzero(blank)
        msg = (
            f"{_rows(rows)} {'have' if len(rows) > 1 else 'has'} no coordinates in {lon_col}/{lat_col}; "
            "a register row without coordinates cannot be placed on the map: fill them in or remove "
            "the row(s)"
        )
        raise InputError(msg, source=source, layer=layer)
    if degrees:
        _check_swapped(x, y, lon_col, lat_col, source=source, layer=layer)
        in_range = (np.abs(x) <= 180) & (np.abs(y) <= 90)
        if in_range.any() and not in_range.all():
            pos = int(np.flatnonzero(~in_range)[0])
            bad_x = abs(x[pos]) > 180
            field, value = (lon_col, x[pos]) if bad_x else (lat_col, y[pos])
            limit = "−180…180" if bad_x else "−90…90"
            swapped = _in(x[pos], _CHINA_LAT) and _in(y[pos], _CHINA_LON)
            hint = " (are longitude and latitude swapped in this row?)" if swapped else ""
            msg = (
                f"{value:g} is outside {limit} and is not a {('longitude' if bad_x else 'latitude')}"
                f"{hint} ({int((~in_range).sum())} such row(s))"
            )
            raise InputError(msg, source=source, layer=layer, row=pos + 1, field=field)
    else:
        _check_surveying_axes(x, y, lon_col, lat_col, source=source, layer=layer)
    return shapely.points(x, y)


def _in(value: np.ndarray | float, bounds: tuple[float, float]) -> np.ndarray:
    return (np.asarray(value) >= bounds[0]) & (np.asarray(value) <= bounds[1])


def _check_swapped(
    x: np.ndarray, y: np.ndarray, lon_col: str, lat_col: str, *, source: str, layer: str
) -> None:
    """Refuse longitude/latitude columns that hold each other's values in (nearly) every row."""
    swapped = _in(x, _CHINA_LAT) & _in(y, _CHINA_LON)
    if len(x) and swapped.sum() >= max(1.0, _SWAPPED_SHARE * len(x)):
        msg = (
            f"the coordinate columns look swapped: '{lon_col}' (read as longitude) holds latitude-like "
            f"values (18–54) and '{lat_col}' (read as latitude) holds longitude-like values (73–135) in "
            f"{int(swapped.sum())} of {len(x)} rows; if the headers are swapped, pass --lon {lat_col} "
            f"--lat {lon_col}, otherwise correct the file"
        )
        raise InputError(msg, source=source, layer=layer)


def _check_surveying_axes(
    x: np.ndarray, y: np.ndarray, lon_col: str, lat_col: str, *, source: str, layer: str
) -> None:
    """Refuse projected columns read the wrong way round.

    Chinese surveying names the northing X and the easting Y. Inside China northings have 7
    digits (1.5–6.5 million metres) and eastings 6 digits, or 8 with the zone number in front,
    so a column pair read as (easting, northing) that holds (northing, easting) shows.
    """
    northing_like = (x >= 1.5e6) & (x < 6.5e6)
    easting_like = ((y >= 1e5) & (y < 1e6)) | ((y >= 1.3e7) & (y < 4.6e7))
    swapped = northing_like & easting_like
    if len(x) and swapped.sum() >= max(1.0, _SWAPPED_SHARE * len(x)):
        msg = (
            f"the coordinate columns look swapped: '{lon_col}' (read as the easting) holds northings "
            f"and '{lat_col}' (read as the northing) holds eastings in {int(swapped.sum())} of {len(x)} "
            "rows (Chinese surveying calls the northing X and the easting Y); pass "
            f"--lon {lat_col} --lat {lon_col}"
        )
        raise InputError(msg, source=source, layer=layer)


def _wkt_geometry(values: pd.Series, *, source: str, layer: str, field: str) -> np.ndarray:
    text = values.astype("string").str.strip().str.replace(_SRID_PREFIX, "", regex=True)
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
    if blank.any():
        rows = np.flatnonzero(blank)
        msg = f"{_rows(rows)} {'have' if len(rows) > 1 else 'has'} no geometry; fill in the WKT or remove the row(s)"
        raise InputError(msg, source=source, layer=layer, field=field)
    geometry = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
    bad = shapely.is_missing(geometry)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        shown = str(values.iloc[pos])
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        msg = f"{shown!r} is not valid WKT ({int(bad.sum())} such value(s) in this column)"
        raise InputError(msg, source=source, layer=layer, row=pos + 1, field=field)
    return shapely.force_2d(geometry)


# --------------------------------------------------------------------------------------------
# coordinate systems


def _parse_crs(crs: str | CRS) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except ProjCRSError as exc:
        msg = f"--crs {crs!s} is not a coordinate reference system PROJ knows (e.g. EPSG:4547): {exc}"
        raise CRSError(msg) from exc


def _crs_text(crs: CRS) -> str:
    code = crs.to_epsg()
    return f"{crs.name} (EPSG:{code})" if code is not None else crs.name


def _num(value: float) -> str:
    """A coordinate for a message: metres with thousands separators, degrees with 6 decimals."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _degree_like(bounds: np.ndarray) -> bool:
    x0, y0, x1, y1 = (float(b) for b in bounds)
    if not np.all(np.isfinite(bounds)):
        return True  # no coordinates at all: nothing contradicts degrees
    return x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90


def _projected_hint(bounds: np.ndarray) -> str:
    """A guess at the Chinese Gauss–Krüger CRS of projected coordinates, or ''."""
    x0, y0, x1, y1 = (float(b) for b in bounds)
    if not (y0 >= 1e6 and y1 < 1e7):
        return ""
    zone0, zone1 = int(x0 // 1e6), int(x1 // 1e6)
    if x0 >= 1e7 and zone0 == zone1:
        if 25 <= zone0 <= 45:
            code = 4513 + zone0 - 25
            return (
                f"; eastings of 8 digits starting with {zone0} suggest CGCS2000 3-degree Gauss-Kruger "
                f"zone {zone0} (EPSG:{code})"
            )
        if 13 <= zone0 <= 23:
            code = 4491 + zone0 - 13
            return (
                f"; eastings of 8 digits starting with {zone0} suggest CGCS2000 6-degree Gauss-Kruger "
                f"zone {zone0} (EPSG:{code})"
            )
    if x0 >= 1e5 and x1 < 1e6:
        return (
            "; 6-digit eastings suggest a Gauss-Kruger zone without zone number, e.g. CGCS2000 "
            "3-degree Gauss-Kruger CM 117E (EPSG:4548): choose the central meridian nearest the area"
        )
    return ""


def _resolve_crs(
    frame: gpd.GeoDataFrame,
    target: CRS | None,
    *,
    coords: str,
    notes: list[str],
    source: str,
    what: str,
) -> gpd.GeoDataFrame:
    """``frame`` with its source CRS settled: the override, the declared CRS, or degrees."""
    declared = frame.crs
    bounds = frame.total_bounds
    extent = (
        f"x {_num(bounds[0])}…{_num(bounds[2])}, y {_num(bounds[1])}…{_num(bounds[3])}"
        if np.all(np.isfinite(bounds))
        else "no coordinates"
    )
    if target is not None:
        instead = (
            f", instead of the declared {_crs_text(declared)}"
            if declared is not None and not declared.equals(target)
            else ""
        )
        notes.append(f"coordinates read in {_crs_text(target)} as given with --crs{instead}")
        if target.is_geographic and not _degree_like(bounds):
            msg = (
                f"--crs {_crs_text(target)} is geographic, but the coordinates ({extent}) are not "
                f"longitude/latitude degrees; pass the projected CRS{_projected_hint(bounds)}"
            )
            raise InputError(msg, source=source)
        return frame.set_crs(target, allow_override=True)
    if declared is None:
        if not _degree_like(bounds):
            msg = (
                f"{what}, and the coordinates ({extent}) are not longitude/latitude degrees; "
                f"pass the source CRS with --crs{_projected_hint(bounds)}"
            )
            raise InputError(msg, source=source)
        notes.append(
            f"{what}; the coordinates look like longitude/latitude degrees and are read as "
            f"{_SYSTEM_LABELS[coords]} (pass --crs if that is wrong)"
        )
        return frame.set_crs(STORAGE_CRS)
    if declared.is_geographic and not _degree_like(bounds):
        msg = (
            f"the file declares {_crs_text(declared)}, but its coordinates ({extent}) are not "
            f"longitude/latitude degrees; pass the real CRS with --crs{_projected_hint(bounds)}"
        )
        raise InputError(msg, source=source)
    return frame


def _to_wgs84(frame: gpd.GeoDataFrame, coords: CoordSystem, notes: list[str]) -> gpd.GeoDataFrame:
    declared = frame.crs
    if coords == "wgs84":
        if declared is not None and not declared.equals(STORAGE_CRS):
            notes.append(f"reprojected from {_crs_text(declared)} to WGS-84")
        return frame_to_wgs84(frame, "wgs84")
    out = frame_to_wgs84(frame, coords)
    note = f"coordinates converted from {_SYSTEM_LABELS[coords]} to WGS-84"
    if declared is not None and not declared.is_geographic:
        note += f" (after unprojecting from {_crs_text(declared)})"
    if coords in ("gcj02", "bd09"):
        xy = shapely.get_coordinates(out.geometry.array)
        outside = int((~in_gcj02_area(xy[:, 0], xy[:, 1])).sum())
        if outside:
            note += (
                f"; {outside} vertices lie outside China, where the map apps use WGS-84 unchanged, "
                "and were left as they are"
            )
    notes.append(note)
    return out


# --------------------------------------------------------------------------------------------
# geometry checks


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
