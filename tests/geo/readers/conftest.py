"""Builders shared by the reader tests: village polygons, shapefiles and registers written to disk."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Geod

from servicegrid.geo.crs import to_metric
from servicegrid.geo.readers import ReadResult

GEOD = Geod(ellps="WGS84")

TOWN_NAMES = ["学院路街道", "清河街道", "东升镇"]
RARE_NAMES = ["䶮村", "𠀾村", "学院路街道"]  # U+4DAE (Ext-A) and U+2003E (Ext-B) are outside GBK


def squares(n: int, *, lon0: float = 116.30, lat0: float = 39.95, size: float = 0.01) -> list:
    return [shapely.box(lon0 + i * size, lat0, lon0 + (i + 1) * size, lat0 + size) for i in range(n)]


def village_frame(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "编号": [f"V{i + 1}" for i in range(len(names))],
            "名称": names,
            "户数": [120, 80, 45][: len(names)],
        },
        geometry=squares(len(names)),
        crs=4326,
    )


def write_shapefile(tmp_path, frame, encoding, *, stem="villages", keep_cpg=False, keep_prj=True):
    path = tmp_path / f"{stem}.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    if not keep_prj:
        path.with_suffix(".prj").unlink()
    return path


def write_csv(tmp_path, text: str, *, name="register.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def xy(result: ReadResult) -> np.ndarray:
    return shapely.get_coordinates(result.frame.geometry.array)


def max_offset_m(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> float:
    """Largest Hausdorff distance between paired geometries, in metres (any vertex order)."""
    a = to_metric(got.to_crs(4326)).geometry.array
    b = gpd.GeoSeries(want.to_crs(4326).geometry.array, crs=4326).to_crs(got.pipe(to_metric).crs).array
    return float(np.max(shapely.hausdorff_distance(a, b)))


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document><name>东升镇</name>
 <Folder><name>北片</name>
  <Placemark><name>学院路党群服务中心</name><Point><coordinates>116.3530,39.9920,0</coordinates></Point></Placemark>
  <Placemark><name>清华园站</name><Point><coordinates>116.3260,40.0050,0</coordinates></Point></Placemark>
 </Folder>
 <Folder><name>南片</name>
  <Placemark><name>双清路驿站</name><Point><coordinates>116.3420,40.0010</coordinates></Point></Placemark>
  <Placemark><name>镇界</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
   116.30,39.98 116.38,39.98 116.38,40.02 116.30,40.02 116.30,39.98</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
 </Folder>
</Document></kml>
"""

REGISTER = (
    "编号,名称,层级,经度,纬度,户数,面积\n"
    "F1,学院路街道党群服务中心,town_center,116.3530,39.9920,,800\n"
    "F2,清华园社区党群服务站,compound_station,116.3260,40.0050,,120\n"
    "F3,双清路快递小哥加油站,courier_station,116.3420,40.0010,,30\n"
)
