"""Builders shared by the walking-network tests: small OSM files, a lattice of lines, and a check
that two networks are the same graph."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

from servicegrid.coverage.network import StreetNetwork

METRIC = "EPSG:32650"

HAIDIAN = ("cn-beijing-haidian-xueyuanlu-osm", "map.osm")
NINGHUA = ("cn-fujian-ninghua-county-osm", "map.osm")
OAKLAND = ("intl-osmnx-testdata", "West-Oakland.osm.bz2")
AGUASCALIENTES = ("intl-osmnx-testdata", "aguascalientes.osm.pbf")
GERMANY = ("intl-osmnx-testdata", "planet_10.068,48.135_10.071,48.137.osm")
REAL_FILES = [HAIDIAN, NINGHUA, OAKLAND, AGUASCALIENTES, GERMANY]


def lattice_lines(n: int = 5, spacing: float = 10.0) -> gpd.GeoDataFrame:
    """Streets of an n x n lattice: one line per row and column, with a vertex at every crossing."""
    ticks = np.arange(n) * spacing
    rows = [LineString([(x, y) for x in ticks]) for y in ticks]
    cols = [LineString([(x, y) for y in ticks]) for x in ticks]
    return gpd.GeoDataFrame(geometry=rows + cols, crs=METRIC)


def write_osm(path: Path, body: str, *, bounds: str | None = None) -> Path:
    box = f"\n <bounds {bounds}/>" if bounds else ""
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">{box}\n'
        + textwrap.dedent(body)
        + "\n</osm>\n",
        encoding="utf-8",
    )
    return path


def nodes_xml(coords: dict[int, tuple[float, float]]) -> str:
    return "\n".join(f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>' for i, (lon, lat) in coords.items())


def way_xml(way_id: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tag = "".join(f'<tag k="{k.replace("_", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{way_id}">{nds}{tag}</way>'


def assert_same_network(a: StreetNetwork, b: StreetNetwork) -> None:
    assert a.crs.equals(b.crs)
    for name in ("node_ids", "edge_u", "edge_v", "edge_way", "edge_offsets", "component"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("node_xy", "edge_length", "edge_coords"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.graph != b.graph).nnz == 0
