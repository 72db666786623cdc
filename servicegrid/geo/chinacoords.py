"""The Chinese map coordinate systems GCJ-02 and BD-09, and their conversion to and from WGS-84.

GCJ-02 (国测局坐标, used by Amap/高德, Tencent/腾讯 and Google Maps inside China) adds a
deliberately irregular offset of a few hundred metres to WGS-84 positions. BD-09 (百度坐标,
Baidu) adds a further rotation and shift on top of GCJ-02. PROJ knows neither, so this module
implements both with vectorized numpy:

- the forward formulas are the published closed forms (Krasovsky 1940 ellipsoid parameters,
  ``a = 6378245``, ``e² = 0.00669342162296594323`` for GCJ-02; the ``x_pi = π·3000/180``
  rotation for BD-09);
- the inverses have no closed form and are computed by fixed-point iteration on the forward
  formula, ``w ← w − (f(w) − g)``. The offset changes by at most a few thousandths of a degree
  per degree, so each step gains about three decimal digits; the loop stops once every point
  moved less than 1e-11° (about a micrometre) and is bounded at 30 steps.

Which points are obfuscated: GCJ-02 is applied only inside the customary ``outOfChina``
bounding box shared by the public implementations (longitude 72.004–137.8347°E, latitude
0.8293–55.8271°N: eviltransform, prcoords, coordtransform). Data produced by those tools and
by the map apps use the same box, so points outside it pass through unchanged. This box is
wider than :func:`servicegrid.geo.crs.in_china` (which picks the metric CRS and must not
include neighbouring countries' UTM zones), because here the question is "did the producer of
the data apply the offset", and every producer tests this box. The BD-09 step (GCJ-02 ⇄
BD-09) is a pure formula applied everywhere, as Baidu's published formula and the reference
implementations do.

CGCS2000 (EPSG:4490, 国家大地坐标系) is a proper datum: it is handled through pyproj and lies
within centimetres of WGS-84.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from ..errors import CRSError
from .crs import STORAGE_CRS

__all__ = [
    "CGCS2000_CRS",
    "COORD_SYSTEMS",
    "GCJ02_BOX",
    "CoordSystem",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coord_system",
    "frame_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_gcj02_area",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

logger = logging.getLogger(__name__)

CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = get_args(CoordSystem)

CGCS2000_CRS = CRS.from_epsg(4490)

# The customary outOfChina box: (west, south, east, north) in degrees.
GCJ02_BOX = (72.004, 0.8293, 137.8347, 55.8271)

# Krasovsky 1940 ellipsoid, as in the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's rotation constant and fixed shift.
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

_TOLERANCE_DEG = 1e-11
_MAX_ITERATIONS = 30

FloatArray = NDArray[np.float64]


def check_coord_system(system: str) -> CoordSystem:
    """``system`` if it is one of :data:`COORD_SYSTEMS`, else a :class:`~servicegrid.errors.CRSError`."""
    if system not in COORD_SYSTEMS:
        msg = f"unknown coordinate system {system!r}; choose one of: {', '.join(COORD_SYSTEMS)}"
        raise CRSError(msg)
    return system  # type: ignore[return-value]


def in_gcj02_area(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points fall in the box where GCJ-02 differs from WGS-84 (see the module notes)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    west, south, east, north = GCJ02_BOX
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True)


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees of longitude, degrees of latitude) at WGS-84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + (
            common
            + 20.0 * np.sin(y * np.pi)
            + 40.0 * np.sin(y / 3.0 * np.pi)
            + 160.0 * np.sin(y / 12.0 * np.pi)
            + 320.0 * np.sin(y * np.pi / 30.0)
        )
        * 2.0
        / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + (
            common
            + 20.0 * np.sin(x * np.pi)
            + 40.0 * np.sin(x / 3.0 * np.pi)
            + 150.0 * np.sin(x / 12.0 * np.pi)
            + 300.0 * np.sin(x / 30.0 * np.pi)
        )
        * 2.0
        / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat_m * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon_m * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _raw_wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _raw_gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    guess: tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(w) = (lon, lat)`` for ``w`` by fixed-point iteration from ``guess``."""
    w_lon, w_lat = guess
    finite = np.isfinite(lon) & np.isfinite(lat)
    for _ in range(_MAX_ITERATIONS):
        f_lon, f_lat = forward(w_lon, w_lat)
        d_lon = f_lon - lon
        d_lat = f_lat - lat
        w_lon = w_lon - d_lon
        w_lat = w_lat - d_lat
        step = np.maximum(np.abs(d_lon), np.abs(d_lat))
        if not finite.any() or float(np.max(step[finite])) < _TOLERANCE_DEG:
            break
    else:  # pragma: no cover - the map contracts by a factor of about 1e-3 per step
        logger.warning("coordinate inversion stopped after %d steps without converging", _MAX_ITERATIONS)
    return w_lon, w_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 (Amap/Tencent) longitude and latitude of WGS-84 positions.

    Points outside the GCJ-02 box (:data:`GCJ02_BOX`) are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 10), round(float(lat), 10)
    (116.4102444992, 39.9164042815)
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    g_lon, g_lat = _raw_wgs84_to_gcj02(lon_a, lat_a)
    inside = in_gcj02_area(lon_a, lat_a)
    return np.where(inside, g_lon, lon_a), np.where(inside, g_lat, lat_a)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 longitude and latitude of GCJ-02 positions, exact to about 1e-11 degrees.

    The inverse is iterated until :func:`wgs84_to_gcj02` of the result reproduces the input;
    points outside the GCJ-02 box are returned unchanged and NaN stays NaN.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj02_offset(lon_a, lat_a)
    w_lon, w_lat = _invert(_raw_wgs84_to_gcj02, lon_a, lat_a, (lon_a - d_lon, lat_a - d_lat))
    inside = in_gcj02_area(lon_a, lat_a)
    return np.where(inside, w_lon, lon_a), np.where(inside, w_lat, lat_a)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 (Baidu) longitude and latitude of GCJ-02 positions."""
    return _raw_gcj02_to_bd09(*_as_arrays(lon, lat))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 longitude and latitude of BD-09 (Baidu) positions, exact to about 1e-11 degrees.

    Starts from Baidu's published approximate inverse (good to about 1e-7 degrees, a decimetre)
    and refines it by iteration on :func:`gcj02_to_bd09`.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    x = lon_a - _BD_DLON
    y = lat_a - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    guess = (z * np.cos(theta), z * np.sin(theta))
    return _invert(_raw_gcj02_to_bd09, lon_a, lat_a, guess)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 (Baidu) longitude and latitude of WGS-84 positions (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 longitude and latitude of BD-09 (Baidu) positions (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _cgcs2000_transformer(*, inverse: bool) -> Transformer:
    # pyproj transformers must not be shared between threads: one cached pair per thread
    return _cached_transformer(inverse, threading.get_ident())


@lru_cache(maxsize=16)
def _cached_transformer(inverse: bool, _thread: int) -> Transformer:
    src, dst = (STORAGE_CRS, CGCS2000_CRS) if inverse else (CGCS2000_CRS, STORAGE_CRS)
    return Transformer.from_crs(src, dst, always_xy=True)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: CoordSystem) -> tuple[FloatArray, FloatArray]:
    """WGS-84 longitude and latitude of positions given in ``system``.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees, in ``system``.
    system : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        The coordinate system of the input: WGS-84 (GPS), CGCS2000 geographic (EPSG:4490),
        GCJ-02 (Amap, Tencent) or BD-09 (Baidu).

    Returns
    -------
    tuple of numpy.ndarray
        Longitudes and latitudes in WGS-84.
    """
    return _convert(lon, lat, system, inverse=False)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, system: CoordSystem) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude in ``system`` of WGS-84 positions (the inverse of :func:`to_wgs84`)."""
    return _convert(lon, lat, system, inverse=True)


def _convert(
    lon: ArrayLike, lat: ArrayLike, system: CoordSystem, *, inverse: bool
) -> tuple[FloatArray, FloatArray]:
    """``system`` → WGS-84, or WGS-84 → ``system`` when ``inverse``."""
    check_coord_system(system)
    obfuscated = {
        "gcj02": (gcj02_to_wgs84, wgs84_to_gcj02),
        "bd09": (bd09_to_wgs84, wgs84_to_bd09),
    }
    if system in obfuscated:
        return obfuscated[system][int(inverse)](lon, lat)
    lon_a, lat_a = _as_arrays(lon, lat)
    if system == "cgcs2000":
        out_lon, out_lat = _cgcs2000_transformer(inverse=inverse).transform(lon_a, lat_a)
        return np.asarray(out_lon, dtype=float), np.asarray(out_lat, dtype=float)
    return lon_a, lat_a


def frame_to_wgs84(frame: gpd.GeoDataFrame, system: CoordSystem) -> gpd.GeoDataFrame:
    """A copy of ``frame`` with every coordinate converted from ``system`` to WGS-84 (EPSG:4326).

    Points, lines and polygons (and their multi-part forms) are converted vertex by vertex in
    one vectorized pass; Z values are dropped (the workspace is two-dimensional).

    How the frame's own CRS is read:

    - ``"wgs84"``: the frame is reprojected from its CRS (no CRS means WGS-84 degrees);
    - ``"cgcs2000"``: a frame without CRS or with a geographic CRS holds CGCS2000 degrees
      (EPSG:4490); a projected frame (e.g. a Gauss–Krüger zone, EPSG:4547) is reprojected;
    - ``"gcj02"`` / ``"bd09"``: the obfuscation lives in longitude/latitude, so a projected
      frame (e.g. GCJ-02 digitised on Web Mercator tiles) is first unprojected to degrees,
      then de-obfuscated.
    """
    check_coord_system(system)
    crs = frame.crs
    if system == "wgs84":
        out = frame.set_crs(STORAGE_CRS) if crs is None else frame.to_crs(STORAGE_CRS)
        return _with_geometry(out, shapely.force_2d(out.geometry.array))
    if system == "cgcs2000":
        if crs is None or crs.is_geographic:
            out = frame.set_crs(CGCS2000_CRS, allow_override=True).to_crs(STORAGE_CRS)
        else:
            out = frame.to_crs(STORAGE_CRS)
        return _with_geometry(out, shapely.force_2d(out.geometry.array))
    if crs is not None and not crs.is_geographic:
        frame = frame.to_crs(STORAGE_CRS)
    convert = gcj02_to_wgs84 if system == "gcj02" else bd09_to_wgs84
    geometry = shapely.transform(
        frame.geometry.array,
        lambda xy: np.column_stack(convert(xy[:, 0], xy[:, 1])),
        include_z=False,
    )
    return _with_geometry(frame, geometry)


def _with_geometry(frame: gpd.GeoDataFrame, geometry: np.ndarray) -> gpd.GeoDataFrame:
    """A copy of ``frame`` whose active geometry column holds ``geometry`` in WGS-84."""
    out = frame.copy()
    out[frame.geometry.name] = gpd.GeoSeries(np.asarray(geometry), index=frame.index, crs=STORAGE_CRS)
    return out
