"""read_source on what it refuses before reading: unknown file types, missing files, misplaced options."""

from __future__ import annotations

import re

import pytest

from servicegrid.errors import CRSError, InputError
from servicegrid.geo.readers import read_source

from .conftest import KML, REGISTER, TOWN_NAMES, village_frame, write_csv


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a.xls", "a.xls: the old Excel .xls format is not read; save the workbook as .xlsx"),
        ("a.dbf", "a.dbf: this is one part of a shapefile; import its .shp file"),
        ("a.zip", "a.zip: unzip the archive first"),
        (
            "a.dwg",
            "a.dwg: unknown file type '.dwg'; servicegrid reads: .gpkg (GeoPackage), .geojson (GeoJSON)",
        ),
    ],
)
def test_unsupported_files(tmp_path, name, fragment):
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(InputError, match="^" + re.escape(fragment)):
        read_source(path, "villages")


def test_missing_file_and_unknown_layer_and_coords(tmp_path):
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_source(tmp_path / "nope.csv", "facilities")
    path = write_csv(tmp_path, REGISTER)
    with pytest.raises(InputError, match="unknown layer 'shops'"):
        read_source(path, "shops")
    with pytest.raises(CRSError, match="unknown coordinate system 'wgs'"):
        read_source(path, "facilities", coords="wgs")  # type: ignore[arg-type]


def test_table_options_are_refused_for_vector_files(tmp_path):
    path = tmp_path / "v.geojson"
    village_frame(TOWN_NAMES).to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match="--lon/--lat/--wkt apply to CSV and XLSX registers"):
        read_source(path, "villages", lon="x", lat="y")
    kml = tmp_path / "v.kml"
    kml.write_text(KML, encoding="utf-8")
    with pytest.raises(
        InputError, match="--encoding applies to shapefiles, GeoJSON and CSV files; KML files"
    ):
        read_source(kml, "facilities", encoding="gbk")
