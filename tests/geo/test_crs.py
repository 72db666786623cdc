"""The metric CRS choice: Gauss–Krüger zones in China, UTM elsewhere, never degrees."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from servicegrid.errors import CRSError
from servicegrid.geo.crs import metric_crs, metric_crs_for_lonlat, require_projected, to_metric


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (116.35, 39.98, 4548),  # Beijing, CM 117°E
        (116.65, 26.27, 4548),  # Ninghua, Fujian
        (113.6, 37.7, 4547),  # Shanxi, CM 114°E
        (75.99, 39.47, 4534),  # Kashgar, CM 75°E
        (134.2, 47.7, 4554),  # Fuyuan, Heilongjiang, CM 135°E
        (-122.27, 37.80, 32610),  # Oakland: UTM 10N
        (-102.29, 21.88, 32613),  # Aguascalientes: UTM 13N
        (10.07, 48.14, 32632),  # southern Germany: UTM 32N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
    ],
)
def test_zone_choice(lon, lat, epsg):
    assert metric_crs_for_lonlat(lon, lat).to_epsg() == epsg


@given(st.floats(73.5, 135.0), st.floats(18.5, 53.5))
def test_chinese_zone_central_meridian_is_within_1_5_degrees(lon, lat):
    crs = metric_crs_for_lonlat(lon, lat)
    assert crs.name.startswith("CGCS2000 / 3-degree Gauss-Kruger CM")
    cm = float(crs.name.split("CM ")[1].rstrip("E"))
    assert abs(cm - lon) <= 1.5 or cm in (75, 135)


def test_lengths_in_metric_crs_match_the_geodesic():
    # 0.01° of latitude near Beijing is 1,110.9 m on the ellipsoid.
    line = gpd.GeoSeries([shapely.LineString([(116.35, 39.98), (116.35, 39.99)])], crs=4326)
    length = to_metric(gpd.GeoDataFrame(geometry=line)).length.iloc[0]
    geod = line.crs.get_geod().geometry_length(line.iloc[0])
    assert length == pytest.approx(geod, rel=2e-4)


def test_metric_crs_of_several_frames_uses_their_joint_extent():
    a = gpd.GeoDataFrame(geometry=[shapely.Point(112.9, 30)], crs=4326)
    b = gpd.GeoDataFrame(geometry=[shapely.Point(115.3, 30)], crs=4326)
    assert metric_crs(a, b).to_epsg() == metric_crs_for_lonlat(114.1, 30).to_epsg()


def test_refusals():
    with pytest.raises(CRSError, match="not a WGS-84 position"):
        metric_crs_for_lonlat(200.0, 10.0)
    with pytest.raises(CRSError, match="every layer is empty"):
        metric_crs(gpd.GeoDataFrame(geometry=[], crs=4326))
    with pytest.raises(CRSError, match="distances would be in degrees"):
        require_projected(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326), name="compounds")
