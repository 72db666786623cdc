"""Positions in requests and answers: ``lon``/``lat`` or ``location=lng,lat``, in any coordinate system.

A request gives a position in WGS-84 (GPS), CGCS2000, GCJ-02 (Amap, Tencent) or BD-09 (Baidu)
(:mod:`servicegrid.geo.chinacoords` converts them); the service works in the network's metric CRS
and answers in the caller's system unless ``out_coordsys`` names another. A pair that looks
swapped — a latitude-like longitude and a longitude-like latitude inside China — is refused with a
hint, never guessed (the same test as the register readers').
"""

from __future__ import annotations

import threading

import numpy as np
from pyproj import CRS, Transformer

from ..geo.chinacoords import COORD_SYSTEMS, CoordSystem, from_wgs84, to_wgs84
from ..geo.crs import STORAGE_CRS, in_china
from .problems import Problem

__all__ = ["COORD_SYSTEMS", "Converter", "CoordSystem", "parse_position", "swapped"]


def swapped(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Mask of pairs that lie in China only when read the other way round."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return np.asarray(in_china(lat, lon) & ~in_china(lon, lat))


def swap_hint(lon: float, lat: float) -> str:
    """The hint of a swapped pair."""
    return (
        f"lon={lon:g} and lat={lat:g} look swapped (a latitude-like longitude and a longitude-like latitude); "
        f"send lon={lat:g}&lat={lon:g} (longitude first: Baidu and Tencent write lat,lng first)"
    )


def parse_position(lon: float | None, lat: float | None, location: str | None) -> tuple[float, float]:
    """The (lon, lat) of a request: the ``lon``/``lat`` parameters or ``location=lng,lat``."""
    if location is not None:
        if lon is not None or lat is not None:
            raise Problem(
                422,
                "give either lon and lat or location, not both",
                kind="invalid-parameters",
                errors=[{"name": "location", "in": "query", "message": "given together with lon/lat"}],
            )
        parts = location.replace("，", ",").split(",")
        try:
            lon, lat = (float(p) for p in parts)
        except ValueError:
            raise Problem(
                422,
                f"location={location!r} is not 'lng,lat' (two numbers, longitude first)",
                kind="invalid-parameters",
                errors=[
                    {"name": "location", "in": "query", "message": "expected 'lng,lat', e.g. 113.6,37.7"}
                ],
            ) from None
    missing = [name for name, value in (("lon", lon), ("lat", lat)) if value is None]
    if missing:
        raise Problem(
            422,
            "give the position as lon and lat, or as location=lng,lat",
            kind="invalid-parameters",
            errors=[
                {"name": n, "in": "query", "message": "required (or give location=lng,lat)"} for n in missing
            ],
        )
    assert lon is not None
    assert lat is not None
    if bool(swapped(np.array([lon]), np.array([lat]))[0]):
        raise Problem(
            422,
            "the longitude and latitude look swapped",
            kind="swapped-coordinates",
            errors=[
                {"name": "lon", "in": "query", "message": f"{lon:g} looks like a latitude"},
                {"name": "lat", "in": "query", "message": f"{lat:g} looks like a longitude"},
            ],
            hint=swap_hint(lon, lat),
        )
    bad = [
        {"name": name, "in": "query", "message": f"{value} is not a {name} in degrees ({low}…{high})"}
        for name, value, low, high in (("lon", lon, -180, 180), ("lat", lat, -90, 90))
        if not (np.isfinite(value) and low <= value <= high)
    ]
    if bad:
        raise Problem(422, "the position is not a longitude and latitude in degrees", errors=bad)
    return float(lon), float(lat)


class Converter:
    """Converts caller positions to the network's metric CRS and back (one pyproj transformer per
    thread and direction: transformers are not shared between threads)."""

    def __init__(self, crs: CRS) -> None:
        self.crs = crs
        self._local = threading.local()

    def _transformer(self, inverse: bool) -> Transformer:
        name = "inverse" if inverse else "forward"
        found = getattr(self._local, name, None)
        if found is None:
            src, dst = (self.crs, STORAGE_CRS) if inverse else (STORAGE_CRS, self.crs)
            found = Transformer.from_crs(src, dst, always_xy=True)
            setattr(self._local, name, found)
        return found

    def to_metric(self, lon: np.ndarray, lat: np.ndarray, coordsys: CoordSystem) -> np.ndarray:
        """``(n, 2)`` metric coordinates of positions given in ``coordsys``."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if lon.size == 1 and lat.size == 1 and coordsys == "wgs84":  # a request: pyproj's scalar call
            x, y = self._transformer(False).transform(float(lon.flat[0]), float(lat.flat[0]))
            return np.array([[x, y]])
        w_lon, w_lat = to_wgs84(lon, lat, coordsys)
        x, y = self._transformer(False).transform(w_lon, w_lat)
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    def to_lonlat(self, xy: np.ndarray, coordsys: CoordSystem) -> np.ndarray:
        """``(n, 2)`` longitudes and latitudes in ``coordsys`` of metric coordinates."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 1 and coordsys == "wgs84":  # a request: pyproj's scalar call, 5x cheaper
            return np.array([self._transformer(True).transform(float(xy[0, 0]), float(xy[0, 1]))])
        lon, lat = self._transformer(True).transform(xy[:, 0], xy[:, 1])
        out_lon, out_lat = from_wgs84(np.atleast_1d(lon), np.atleast_1d(lat), coordsys)
        return np.column_stack([out_lon, out_lat])

    def wgs84_to(self, lonlat: np.ndarray, coordsys: CoordSystem) -> np.ndarray:
        """WGS-84 positions ``(n, 2)`` in ``coordsys``."""
        lonlat = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        if coordsys == "wgs84":
            return lonlat
        out_lon, out_lat = from_wgs84(lonlat[:, 0], lonlat[:, 1], coordsys)
        return np.column_stack([out_lon, out_lat])


def rounded_lonlat(lonlat: np.ndarray) -> list[list[float]]:
    """Positions rounded to 1e-7 degrees (about a centimetre)."""
    return np.round(np.asarray(lonlat, dtype=float), 7).tolist()
