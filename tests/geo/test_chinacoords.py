"""GCJ-02 / BD-09 / CGCS2000 conversions: reference pairs, independent implementations, round trips."""

from __future__ import annotations

import warnings

import eviltransform
import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from servicegrid.errors import CRSError
from servicegrid.geo.chinacoords import (
    GCJ02_BOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_coord_system,
    frame_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_gcj02_area,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
N_RANDOM = 5000

# Mainland China, well inside the GCJ-02 box, for random points.
LON_RANGE = (73.6, 134.7)
LAT_RANGE = (18.2, 53.5)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Ellipsoidal distance in metres between two sets of WGS-84 positions."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240611)
    return rng.uniform(*LON_RANGE, N_RANDOM), rng.uniform(*LAT_RANGE, N_RANDOM)


# ---------------------------------------------------------------------------------------------
# Published reference pairs (lon, lat), with where each one was published.

# wandergis/coordtransform, test/app.js ("//result" block), input (116.404, 39.915) in every case.
# Its forward functions are the closed forms, so they must agree to floating-point precision.
WANDERGIS_WGS_TO_GCJ = ((116.404, 39.915), (116.41024449916938, 39.91640428150164))
WANDERGIS_GCJ_TO_BD = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))
# Its inverses are single-step approximations (not iterated), good to a decimetre or so.
WANDERGIS_BD_TO_GCJ = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))
WANDERGIS_GCJ_TO_WGS = ((116.404, 39.915), (116.39775550083061, 39.91359571849836))

# ipcjs/coordtransform (Java), CoordinateTransformUtilTest.test_wgs84ToBd09 / test_bd09ToWgs84.
IPCJS_WGS_TO_BD = ((118.3013077, 32.2719040), (118.31309502519456, 32.27614034221775))
IPCJS_BD_TO_WGS = ((120.698967, 31.324966), (120.68817433685123, 31.320969743354603))

# hujiulong/gcoord, test/unit/crs/{WGS84,GCJ02,BD09}.spec.ts at (123, 45); the suite checks them
# with toBeCloseTo(value, 5), i.e. to within 5e-6 degrees.
GCOORD = {
    "wgs84_to_gcj02": (123.00607541, 45.00197815),
    "wgs84_to_bd09": (123.0124491, 45.0083293),
    "gcj02_to_bd09": (123.00636499, 45.00636899),
    "gcj02_to_wgs84": (122.99395597, 44.99804071),
    "bd09_to_gcj02": (122.99363304, 44.99365430),
    "bd09_to_wgs84": (122.98762210, 44.99171540),
}

# cran/geoChina (Jun Cai), R/conv.R examples: Beijing railway station, given to 5 decimals, whose
# doc says the Baidu Maps API returns the same values as the local algorithms.
BEIJING_STATION = {
    "wgs84": (116.42079, 39.90105),
    "gcj02": (116.42703, 39.90245),
    "bd09": (116.43351, 39.90851),
}

# Alibaba Cloud address purification API, TransferCoord example (help.aliyun.com/zh/
# address-purification/addrpapi/developer-reference/coordinate-system-conversion): one GCJ-02 point
# with its BD-09 and WGS-84 values, to 6 decimals, as returned by a production service.
ALIYUN = {"gcj02": (120.026268, 30.279164), "bd09": (120.032768, 30.285238), "wgs84": (120.021519, 30.281543)}


def _xy(pair) -> tuple[float, float]:
    lon, lat = pair
    return float(lon), float(lat)


@pytest.mark.parametrize(
    ("func", "case"),
    [
        (wgs84_to_gcj02, WANDERGIS_WGS_TO_GCJ),
        (gcj02_to_bd09, WANDERGIS_GCJ_TO_BD),
        (wgs84_to_bd09, IPCJS_WGS_TO_BD),
    ],
)
def test_forward_formulas_match_published_values_exactly(func, case):
    (lon, lat), expected = case
    got = func(lon, lat)
    np.testing.assert_allclose(_xy(got), expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    ("inverse", "forward", "case"),
    [
        (bd09_to_gcj02, gcj02_to_bd09, WANDERGIS_BD_TO_GCJ),
        (gcj02_to_wgs84, wgs84_to_gcj02, WANDERGIS_GCJ_TO_WGS),
        (bd09_to_wgs84, wgs84_to_bd09, IPCJS_BD_TO_WGS),
    ],
)
def test_inverses_refine_the_published_one_step_approximations(inverse, forward, case):
    (lon, lat), published = case
    got = _xy(inverse(lon, lat))
    # the published one-step value is close (metre level or better) ...
    assert metres(*got, *published) < 1.5
    # ... but only the iterated inverse maps back onto the input exactly
    back = _xy(forward(*got))
    published_back = _xy(forward(*published))
    assert metres(*back, lon, lat) < 1e-6
    assert metres(*published_back, lon, lat) > 100 * metres(*back, lon, lat)


@pytest.mark.parametrize("name", sorted(GCOORD))
def test_gcoord_reference_values(name):
    func = globals()[name]
    np.testing.assert_allclose(_xy(func(123.0, 45.0)), GCOORD[name], rtol=0, atol=5e-6)


@pytest.mark.parametrize(
    ("src", "dst"),
    [("wgs84", "gcj02"), ("wgs84", "bd09"), ("gcj02", "bd09"), ("gcj02", "wgs84"), ("bd09", "wgs84")],
)
def test_beijing_railway_station_published_triple(src, dst):
    wgs = to_wgs84(*BEIJING_STATION[src], src)
    got = from_wgs84(*wgs, dst)
    # input and output are each rounded to 5 decimals (half a unit each way): at most 1e-5 degrees
    # of rounding in all, plus the conversion's own slope; 1.5e-5 degrees is about 1.7 m
    np.testing.assert_allclose(_xy(got), BEIJING_STATION[dst], rtol=0, atol=1.5e-5)


def test_aliyun_service_values():
    gcj = ALIYUN["gcj02"]
    np.testing.assert_allclose(_xy(gcj02_to_bd09(*gcj)), ALIYUN["bd09"], rtol=0, atol=1e-6)
    # the service's WGS-84 value uses the one-step inverse: within 2 m of the exact one
    exact = _xy(gcj02_to_wgs84(*gcj))
    assert 0.5 < metres(*exact, *ALIYUN["wgs84"]) < 2.0
    assert metres(*_xy(wgs84_to_gcj02(*exact)), *gcj) < 1e-6


# ---------------------------------------------------------------------------------------------
# Independent implementations on thousands of random points inside China


def test_forward_matches_prcoords(china_points):
    lon, lat = china_points
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    ref_g = np.array([prcoords.wgs_gcj((la, lo)) for lo, la in zip(lon, lat, strict=True)])
    ref_b = np.array([prcoords.wgs_bd((la, lo)) for lo, la in zip(lon, lat, strict=True)])
    assert np.max(metres(g_lon, g_lat, ref_g[:, 1], ref_g[:, 0])) < 1e-6
    assert np.max(metres(b_lon, b_lat, ref_b[:, 1], ref_b[:, 0])) < 1e-6


def test_inverse_matches_prcoords_iterated(china_points):
    lon, lat = china_points
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    wb_lon, wb_lat = bd09_to_wgs84(b_lon, b_lat)
    # prcoords' "bored" inverses stop once an iteration moves less than 1e-5 degrees, which
    # leaves them up to about 2 cm from the exact inverse (measured on these points: 2.1 cm)
    ref_w = np.array([prcoords.gcj_wgs_bored((la, lo)) for lo, la in zip(g_lon, g_lat, strict=True)])
    ref_wb = np.array([prcoords.bd_wgs_bored((la, lo)) for lo, la in zip(b_lon, b_lat, strict=True)])
    assert np.max(metres(w_lon, w_lat, ref_w[:, 1], ref_w[:, 0])) < 0.05
    assert np.max(metres(wb_lon, wb_lat, ref_wb[:, 1], ref_wb[:, 0])) < 0.05


def test_forward_matches_eviltransform(china_points):
    lon, lat = china_points
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    ref_g = np.array([eviltransform.wgs2gcj(la, lo) for lo, la in zip(lon, lat, strict=True)])
    ref_b = np.array([eviltransform.gcj2bd(la, lo) for lo, la in zip(g_lon, g_lat, strict=True)])
    ref_back = np.array([eviltransform.bd2gcj(la, lo) for lo, la in zip(b_lon, b_lat, strict=True)])
    # eviltransform scales the offset with the WGS-84 semi-major axis instead of Krasovsky's,
    # a relative difference of 1.7e-5 on offsets under 1 km: under 2 cm
    assert np.max(metres(g_lon, g_lat, ref_g[:, 1], ref_g[:, 0])) < 0.02
    assert np.max(metres(b_lon, b_lat, ref_b[:, 1], ref_b[:, 0])) < 1e-6
    # its BD-09 inverse is the one-step approximation, good to a few decimetres (measured: 0.22 m)
    assert np.max(metres(g_lon, g_lat, ref_back[:, 1], ref_back[:, 0])) < 0.5


def test_round_trips_in_metres(china_points):
    lon, lat = china_points
    w_lon, w_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(metres(lon, lat, w_lon, w_lat)) < 0.005
    w_lon, w_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.max(metres(lon, lat, w_lon, w_lat)) < 0.005
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    r_lon, r_lat = wgs84_to_gcj02(*gcj02_to_wgs84(g_lon, g_lat))
    assert np.max(metres(g_lon, g_lat, r_lon, r_lat)) < 0.005


def test_gcj_offset_is_tens_to_hundreds_of_metres(china_points):
    lon, lat = china_points
    offset = metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert offset.min() > 10
    assert offset.max() < 1000
    assert 200 < np.median(offset) < 700


# ---------------------------------------------------------------------------------------------
# Hypothesis round trips

lons = st.floats(min_value=LON_RANGE[0], max_value=LON_RANGE[1], allow_nan=False)
lats = st.floats(min_value=LAT_RANGE[0], max_value=LAT_RANGE[1], allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(lon=lons, lat=lats)
def test_gcj02_round_trip_property(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back) < 0.005
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert metres(lon, lat, *again) < 0.005


@settings(max_examples=300, deadline=None)
@given(lon=lons, lat=lats, system=st.sampled_from(["wgs84", "cgcs2000", "gcj02", "bd09"]))
def test_to_and_from_wgs84_are_inverse(lon, lat, system):
    back = to_wgs84(*from_wgs84(lon, lat, system), system)
    assert metres(lon, lat, *back) < 0.005


# ---------------------------------------------------------------------------------------------
# Outside China, shapes, NaN, CGCS2000


def test_points_outside_the_gcj_box_pass_through():
    lon = np.array([2.3522, -122.27, 72.0, 139.69, 110.0])  # Paris, Oakland, west of box, Tokyo, south
    lat = np.array([48.8566, 37.80, 40.0, 35.69, 0.5])
    assert not in_gcj02_area(lon, lat).any()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    west, south, east, north = GCJ02_BOX
    assert in_gcj02_area([west + 0.01, east - 0.01], [south + 0.01, north - 0.01]).all()


def test_nan_stays_nan_and_does_not_block_the_others():
    lon = np.array([116.4, np.nan, 121.47])
    lat = np.array([39.9, 30.0, 31.23])
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    assert np.isnan(w_lon[1])
    assert w_lat[1] == 30.0
    back = wgs84_to_gcj02(w_lon[[0, 2]], w_lat[[0, 2]])
    assert np.max(metres(back[0], back[1], lon[[0, 2]], lat[[0, 2]])) < 1e-6


def test_scalars_and_broadcasting():
    lon, lat = wgs84_to_gcj02(116.404, [39.9, 40.0])
    assert lon.shape == (2,)
    assert lat.shape == (2,)
    single = gcj02_to_wgs84(116.404, 39.915)
    assert np.ndim(single[0]) == 0


def test_inputs_are_not_mutated():
    lon = np.array([116.4, 121.47])
    lat = np.array([39.9, 31.23])
    before = lon.copy(), lat.copy()
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, before[0])
    np.testing.assert_array_equal(lat, before[1])


def test_cgcs2000_is_within_centimetres_of_wgs84():
    lon = np.array([116.35, 87.6, 126.6])
    lat = np.array([39.98, 43.8, 45.75])
    w_lon, w_lat = to_wgs84(lon, lat, "cgcs2000")
    assert np.max(metres(lon, lat, w_lon, w_lat)) < 0.05


def test_unknown_system_is_refused():
    with pytest.raises(
        CRSError, match=r"unknown coordinate system 'utm'; choose one of: wgs84, cgcs2000, gcj02, bd09"
    ):
        check_coord_system("utm")
    with pytest.raises(CRSError, match="unknown coordinate system"):
        to_wgs84(116.0, 40.0, "gcj")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# GeoDataFrames


def _gcj_frame() -> gpd.GeoDataFrame:
    geoms = [
        shapely.Point(116.404, 39.915),
        shapely.LineString([(116.30, 39.90), (116.31, 39.91), (116.32, 39.905)]),
        shapely.Polygon(
            [(116.3, 39.9), (116.4, 39.9), (116.4, 40.0), (116.3, 40.0)],
            holes=[[(116.33, 39.93), (116.36, 39.93), (116.36, 39.96)]],
        ),
        shapely.MultiPolygon([shapely.box(121.4, 31.2, 121.5, 31.3), shapely.box(121.6, 31.2, 121.7, 31.3)]),
    ]
    return gpd.GeoDataFrame({"name": ["a", "b", "c", "d"]}, geometry=geoms, crs=4326)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_frame_to_wgs84_converts_every_vertex(system):
    frame = _gcj_frame()
    before = frame.copy()
    out = frame_to_wgs84(frame, system)
    assert out.crs.to_epsg() == 4326
    assert out["name"].tolist() == ["a", "b", "c", "d"]
    xy_in = shapely.get_coordinates(frame.geometry.array)
    xy_out = shapely.get_coordinates(out.geometry.array)
    expected = np.column_stack(to_wgs84(xy_in[:, 0], xy_in[:, 1], system))
    np.testing.assert_allclose(xy_out, expected, rtol=0, atol=1e-12)
    assert out.geometry.geom_type.tolist() == ["Point", "LineString", "Polygon", "MultiPolygon"]
    assert shapely.get_num_interior_rings(out.geometry.array[2]) == 1
    assert_geodataframe_equal(frame, before)


def test_frame_to_wgs84_unprojects_a_projected_gcj_frame():
    gcj = _gcj_frame()
    projected = gcj.to_crs(3857)  # e.g. digitised on Amap's Web Mercator tiles
    out = frame_to_wgs84(projected, "gcj02")
    expected = frame_to_wgs84(gcj, "gcj02")
    xy = shapely.get_coordinates(out.geometry.array)
    xy_expected = shapely.get_coordinates(expected.geometry.array)
    assert np.max(metres(xy[:, 0], xy[:, 1], xy_expected[:, 0], xy_expected[:, 1])) < 1e-3


def test_frame_to_wgs84_cgcs2000_gauss_kruger_and_geographic():
    wgs = gpd.GeoDataFrame(geometry=[shapely.Point(116.35, 39.98), shapely.Point(117.2, 40.1)], crs=4326)
    gk = wgs.to_crs(4548)  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
    out = frame_to_wgs84(gk, "cgcs2000")
    assert out.crs.to_epsg() == 4326
    d = metres(out.geometry.x, out.geometry.y, wgs.geometry.x, wgs.geometry.y)
    assert np.max(d) < 0.05
    no_crs = gpd.GeoDataFrame(geometry=wgs.geometry.array, crs=None)
    out2 = frame_to_wgs84(no_crs, "cgcs2000")
    assert np.max(metres(out2.geometry.x, out2.geometry.y, wgs.geometry.x, wgs.geometry.y)) < 0.05


def test_frame_to_wgs84_drops_z_and_keeps_geometry_column_name():
    frame = gpd.GeoDataFrame(
        {"v": [1]}, geometry=gpd.GeoSeries([shapely.Point(116.4, 39.9, 50.0)]), crs=4326
    ).rename_geometry("geom")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = frame_to_wgs84(frame, "gcj02")
    assert out.geometry.name == "geom"
    assert list(out.columns) == ["v", "geom"]
    assert not out.geometry.has_z.any()
