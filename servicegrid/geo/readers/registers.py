"""Reading registers: CSV and XLSX tables with longitude/latitude or WKT columns.

The table is read as a grid of cells (CSV in the detected or given encoding, with the delimiter
sniffed; an XLSX sheet with openpyxl), blank text made missing and empty lines skipped. The header
is promoted from the first line that names coordinate columns (registers often open with a title
line): longitude/latitude pairs such as 经度/纬度, lon/lat, x/y, or a WKT column. Coordinates may be
decimal degrees, degrees-minutes-seconds (116°20′30″) or full-width digits; swapped columns are
refused (:mod:`.coordinates`). Every row without a coordinate or with text that is not one is
named.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...errors import InputError
from ..crs import STORAGE_CRS, in_china
from ..encoding import EncodingGuess, codec_label, detect_text_encoding, normalize_codec
from ..schema import LayerSpec
from .coordinates import _check_surveying_axes, _check_swapped, _degree_like
from .geometry import _rows

_TABLE_SUFFIXES = {".csv": "CSV", ".txt": "CSV", ".xlsx": "Excel workbook"}

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

_DMS = re.compile(
    r"^(?:东经|北纬|东|北|[EN])?\s*(\d+(?:\.\d+)?)\s*(?:°|度)\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:'|′|分)\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|秒)\s*)?(?:[EN])?$",
    re.IGNORECASE,
)
_SRID_PREFIX = re.compile(r"^\s*SRID=\d+;", re.IGNORECASE)


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
    used = list(choice[1:])
    attributes = table.drop(columns=used)
    try:
        if choice[0] == "wkt":
            geometry = _wkt_geometry(table[choice[1]], source=source, layer=spec.name, field=choice[1])
        else:
            geometry = _point_geometry(
                table, choice[1], choice[2], source=source, layer=spec.name, degrees=degrees
            )
    except InputError as exc:
        raise _with_attribute_errors(exc, attributes, spec) from exc
    if choice[0] == "wkt":
        notes.append(f"column {choice[1]} used as WKT geometry")
    else:
        notes.append(f"columns {choice[1]}/{choice[2]} used as longitude/latitude")
    if "geometry" in attributes.columns:
        attributes = attributes.rename(columns={"geometry": "geometry_text"})
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geometry, index=table.index))
    bounds = frame.total_bounds
    if degrees and _degree_like(bounds):
        frame = frame.set_crs(STORAGE_CRS)
    return frame.reset_index(drop=True)


def _with_attribute_errors(exc: InputError, attributes: pd.DataFrame, spec: LayerSpec) -> InputError:
    """``exc`` (a coordinate that cannot be read) with the values of the other columns that cannot
    be read either, so that one import names every bad column at once."""
    from ..conform import conform

    frame = gpd.GeoDataFrame(attributes.reset_index(drop=True), geometry=[None] * len(attributes))
    try:
        conform(frame, spec.name, source=exc.source)
    except InputError as other:
        where = f"field '{other.header or other.field}' row {other.row}: " if other.row is not None else ""
        return InputError(
            f"{exc.detail}; also {where}{other.detail}",
            source=exc.source,
            layer=exc.layer,
            row=exc.row,
            field=exc.field,
            header=exc.header,
        )
    return exc


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
    """The cells of one sheet (the one named, else the first visible one), with a note naming
    the formula cells that carry no saved value (they read as blank)."""
    from openpyxl import load_workbook

    source = path.name
    try:
        book = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        msg = f"cannot be read as an .xlsx workbook; the file may be truncated, corrupt or of another format ({exc})"
        raise InputError(msg, source=source) from exc
    try:
        sheets = [str(ws.title) for ws in book.worksheets]
        visible = [str(ws.title) for ws in book.worksheets if ws.sheet_state == "visible"]
        if sheet is not None and sheet not in sheets:
            msg = f"no sheet '{sheet}'; the sheets are: {', '.join(sheets)}"
            raise InputError(msg, source=source)
        if sheet is None and not visible:
            msg = f"every sheet is hidden ({', '.join(sheets)}); name one with --source-layer"
            raise InputError(msg, source=source)
        chosen = sheet if sheet is not None else visible[0]
        if sheet is None:
            hidden = sheets[: sheets.index(chosen)]
            others = [s for s in sheets if s != chosen and s not in hidden]
            if hidden:
                notes.append(
                    f"hidden sheet(s) {', '.join(repr(h) for h in hidden)} skipped; sheet '{chosen}' read "
                    "(name another with --source-layer)"
                )
            elif others:
                notes.append(f"sheet '{chosen}' read (the workbook also has: {', '.join(others)})")
        values = _sheet_rows(book[chosen], values_only=True)
    finally:
        book.close()
    grid = pd.DataFrame(values, dtype=object) if values else pd.DataFrame(dtype=object)
    grid = grid.dropna(axis=1, how="all")
    grid.columns = range(grid.shape[1])
    _note_uncomputed_formulas(path, chosen, values, notes)
    return grid.infer_objects().apply(_strip_blank)


def _sheet_rows(ws: object, *, values_only: bool) -> list[tuple]:
    """Every row of a read-only sheet from A1, its recorded dimensions ignored (some programs write
    wrong ones)."""
    ws.reset_dimensions()  # type: ignore[attr-defined]
    rows = list(ws.iter_rows(min_row=1, min_col=1, values_only=values_only))  # type: ignore[attr-defined]
    while rows and all((c if values_only else c.value) is None for c in rows[-1]):
        rows.pop()
    return rows


def _note_uncomputed_formulas(path: Path, sheet: str, values: list[tuple], notes: list[str]) -> None:
    """A note naming the formula cells whose value the workbook does not hold."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    book = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        cells = _sheet_rows(book[sheet], values_only=False)
    finally:
        book.close()
    missing = [
        f"{get_column_letter(j + 1)}{i + 1}"
        for i, row in enumerate(cells)
        for j, cell in enumerate(row)
        if getattr(cell, "data_type", None) == "f"
        and (i >= len(values) or j >= len(values[i]) or values[i][j] is None)
    ]
    if missing:
        shown = ", ".join(missing[:12]) + (f" … ({len(missing)} cells)" if len(missing) > 12 else "")
        notes.append(
            f"warning: sheet '{sheet}': cell(s) {shown} hold formulas without a saved value (the "
            "workbook was written by a program that does not compute them) and are read as blank; "
            "open and save the workbook in Excel/WPS, then import it again"
        )


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
    text = unicodedata.normalize("NFKC", text)
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
    problems: list[InputError] = []
    parsed = []
    for col in (lon_col, lat_col):
        try:
            parsed.append(_coordinate_values(table[col], source=source, layer=layer, field=col))
        except InputError as exc:
            problems.append(exc)
    if problems:  # both columns named at once
        first, *rest = problems
        also = "".join(f"; also field '{e.field}' row {e.row}: {e.detail}" for e in rest)
        raise InputError(first.detail + also, source=source, layer=layer, row=first.row, field=first.field)
    (x, x_blank), (y, y_blank) = parsed
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
            swapped = in_china(y[pos], x[pos])
            hint = " (are longitude and latitude swapped in this row?)" if swapped else ""
            msg = (
                f"{value:g} is outside {limit} and is not a {('longitude' if bad_x else 'latitude')}"
                f"{hint} ({int((~in_range).sum())} such row(s))"
            )
            raise InputError(msg, source=source, layer=layer, row=pos + 1, field=field)
    else:
        _check_surveying_axes(x, y, lon_col, lat_col, source=source, layer=layer)
    return shapely.points(x, y)


def _wkt_geometry(values: pd.Series, *, source: str, layer: str, field: str) -> np.ndarray:
    text = values.astype("string").str.normalize("NFKC").str.strip().str.replace(_SRID_PREFIX, "", regex=True)
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
