"""The coordinate system of a source: settled, checked for swapped axes, converted to WGS-84.

:func:`_resolve_crs` takes the ``--crs`` override, else the CRS the file declares, else
longitude/latitude degrees when the numbers look like degrees; coordinates that are not degrees
where degrees are declared are refused, with a guess at the Chinese Gauss–Krüger zone of
projected numbers (:func:`_projected_hint`). Register columns whose longitudes and latitudes (or,
in Chinese surveying order, eastings and northings) hold each other's values are refused.
:func:`_to_wgs84` converts from WGS-84, CGCS2000, GCJ-02 or BD-09 and says what it did.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from ...errors import CRSError, InputError
from ..chinacoords import CoordSystem, frame_to_wgs84, in_gcj02_area
from ..crs import STORAGE_CRS, in_china

_SYSTEM_LABELS = {
    "wgs84": "WGS-84",
    "cgcs2000": "CGCS2000 (EPSG:4490)",
    "gcj02": "GCJ-02 (Amap/Tencent)",
    "bd09": "BD-09 (Baidu)",
}

# Share of rows whose coordinates look swapped for the columns to be refused as swapped.
_SWAPPED_SHARE = 0.9


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


def _check_swapped(
    x: np.ndarray, y: np.ndarray, lon_col: str, lat_col: str, *, source: str, layer: str
) -> None:
    """Refuse longitude/latitude columns that hold each other's values in (nearly) every row."""
    swapped = in_china(y, x)  # read the other way round, the points fall in China
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
