"""The one place that decides in which coordinate system distances and areas are measured.

Storage is WGS-84 (EPSG:4326). Metric work happens in a local transverse Mercator CRS chosen
from the data: inside China the CGCS2000 3-degree Gauss–Krüger zone whose central meridian is
nearest (EPSG:4534–4554, central meridians 75°E…135°E), elsewhere the UTM zone. Nothing in
servicegrid measures in degrees or in Web Mercator.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS

from ..errors import CRSError

__all__ = [
    "STORAGE_CRS",
    "in_china",
    "metric_crs",
    "metric_crs_for_lonlat",
    "require_projected",
    "to_metric",
    "to_storage",
]

STORAGE_CRS = CRS.from_epsg(4326)

# EPSG:4534 is "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; each next code moves the central
# meridian 3° east, up to EPSG:4554 at 135°E.
_GK_FIRST_EPSG = 4534
_GK_FIRST_CM = 75
_GK_LAST_CM = 135

# A generous box around China's land territory; points outside use UTM.
_CHINA_LON = (73.0, 135.5)
_CHINA_LAT = (17.5, 54.0)


def in_china(lon: float | np.ndarray, lat: float | np.ndarray) -> np.ndarray:
    """Whether points fall in the box where servicegrid uses Chinese conventions."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1]) & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])


def metric_crs_for_lonlat(lon: float, lat: float) -> CRS:
    """The metric CRS for an area centred at ``lon``, ``lat`` (degrees, WGS-84).

    Examples
    --------
    >>> metric_crs_for_lonlat(116.35, 39.98).to_epsg()   # Beijing: CM 117°E
    4548
    >>> metric_crs_for_lonlat(-122.27, 37.80).to_epsg()  # Oakland: UTM 10N
    32610
    """
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 180:
        msg = f"cannot choose a metric CRS for lon={lon}, lat={lat}: not a WGS-84 position"
        raise CRSError(msg)
    if bool(in_china(lon, lat)):
        cm = int(np.clip(round(lon / 3) * 3, _GK_FIRST_CM, _GK_LAST_CM))
        return CRS.from_epsg(_GK_FIRST_EPSG + (cm - _GK_FIRST_CM) // 3)
    zone = int((lon + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs(*frames: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The metric CRS for the combined extent of ``frames`` (any CRS, at least one non-empty)."""
    bounds = []
    for frame in frames:
        if frame is None or len(frame) == 0:
            continue
        if frame.crs is None:
            msg = "a layer has no CRS; declare its coordinate system before measuring"
            raise CRSError(msg)
        b = (
            frame.to_crs(STORAGE_CRS).total_bounds
            if not frame.crs.equals(STORAGE_CRS)
            else frame.total_bounds
        )
        if np.all(np.isfinite(b)):
            bounds.append(b)
    if not bounds:
        msg = "cannot choose a metric CRS: every layer is empty"
        raise CRSError(msg)
    b = np.array(bounds)
    lon = (b[:, 0].min() + b[:, 2].max()) / 2
    lat = (b[:, 1].min() + b[:, 3].max()) / 2
    return metric_crs_for_lonlat(float(lon), float(lat))


def to_metric(frame: gpd.GeoDataFrame, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """``frame`` reprojected to ``crs`` (default: the metric CRS of its own extent)."""
    return frame.to_crs(crs if crs is not None else metric_crs(frame))


def to_storage(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in the storage CRS, WGS-84."""
    if frame.crs is None:
        msg = "a layer has no CRS; declare its coordinate system before storing it"
        raise CRSError(msg)
    return frame if frame.crs.equals(STORAGE_CRS) else frame.to_crs(STORAGE_CRS)


def require_projected(frame: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str) -> None:
    """Refuse a frame whose coordinates are not in metres."""
    if frame.crs is None:
        msg = f"{name} has no CRS; set it before measuring"
        raise CRSError(msg)
    if not frame.crs.is_projected:
        msg = (
            f"{name} is in geographic CRS {frame.crs.to_string()}; distances would be in degrees. "
            "Reproject with servicegrid.geo.crs.to_metric() first"
        )
        raise CRSError(msg)
