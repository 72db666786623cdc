"""Writing into an existing workspace (issue 10, item 13): import-osm adds only what is missing,
replaces or merges a layer only when told; import replaces the layer it names and says so."""

from __future__ import annotations

import shapely
from typer.testing import CliRunner

from servicegrid.cli import app
from servicegrid.geo.workspace import read_workspace, write_layers
from tests.builders import clean_layers, frame

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def register_workspace(path):
    """A county whose facilities come from the office's register (three rows), without compounds."""
    layers = clean_layers()
    del layers["compounds"]
    layers["facilities"] = frame(
        [
            {"id": "F1", "name": "青山镇党群服务中心", "tier": "town_center"},
            {"id": "F2", "name": "新华社区党群服务中心", "tier": "community_center"},
            {"id": "F3", "name": "和平社区党群服务中心", "tier": "community_center"},
        ],
        [shapely.Point(500, 500), shapely.Point(2500, 500), shapely.Point(3500, 1500)],
    )
    write_layers(path, layers)
    return path


def lonlat(x: float, y: float) -> tuple[float, float]:
    point = frame([{}], [shapely.Point(x, y)]).geometry.iloc[0]
    return point.x, point.y


def osm_file(path):
    """Two facilities (one is the register's F2, placed 20 m off) and one compound."""
    f2 = lonlat(2520, 500)
    new = lonlat(1500, 1500)
    square = [lonlat(2100, 100), lonlat(2400, 100), lonlat(2400, 400), lonlat(2100, 400)]
    nodes = "\n".join(
        f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>' for i, (lon, lat) in enumerate(square, start=1)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        f"{nodes}\n"
        f'<node id="10" lat="{f2[1]:.7f}" lon="{f2[0]:.7f}"><tag k="amenity" v="community_centre"/>'
        '<tag k="name" v="新华社区党群服务中心"/></node>\n'
        f'<node id="11" lat="{new[1]:.7f}" lon="{new[0]:.7f}"><tag k="amenity" v="townhall"/>'
        '<tag k="name" v="西村村民委员会"/></node>\n'
        '<way id="20"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
        '<tag k="landuse" v="residential"/><tag k="name" v="幸福小区"/></way>\n</osm>\n',
        encoding="utf-8",
    )
    return path


def test_import_osm_adds_only_the_missing_layers(tmp_path):
    workspace = register_workspace(tmp_path / "county.gpkg")
    result = invoke("import-osm", osm_file(tmp_path / "town.osm"), "--into", workspace)
    assert result.exit_code == 0, result.output
    stored = read_workspace(workspace)
    assert stored.layers["facilities"]["id"].tolist() == ["F1", "F2", "F3"]  # the register stays
    assert stored.layers["compounds"]["name"].tolist() == ["幸福小区"]  # the missing layer is added
    assert "added compounds" in result.output
    assert (
        "kept facilities as it is (3 rows; the file has 2): --replace facilities replaces it, "
        "--merge facilities adds the new ones" in result.output
    )


def test_import_osm_merge_keeps_the_register_and_skips_duplicates(tmp_path):
    workspace = register_workspace(tmp_path / "county.gpkg")
    result = invoke(
        "import-osm", osm_file(tmp_path / "town.osm"), "--into", workspace, "--merge", "facilities"
    )
    assert result.exit_code == 0, result.output
    facilities = read_workspace(workspace).layers["facilities"]
    assert facilities["id"].tolist() == ["F1", "F2", "F3", "n11"]
    assert facilities["name"].tolist()[-1] == "西村村民委员会"
    assert "merged into facilities: 3 rows kept, 1 added, 1 already there" in result.output


def test_import_osm_replace_and_its_mistakes(tmp_path):
    workspace = register_workspace(tmp_path / "county.gpkg")
    osm = osm_file(tmp_path / "town.osm")
    result = invoke("import-osm", osm, "--into", workspace, "--replace", "阵地")
    assert result.exit_code == 0, result.output
    assert read_workspace(workspace).layers["facilities"]["id"].tolist() == ["n10", "n11"]
    assert "replaced facilities: 3 rows → 2" in result.output
    before = workspace.read_bytes()
    bad = invoke("import-osm", osm, "--into", workspace, "--replace", "grids")
    assert bad.exit_code == 1
    assert "--replace/--merge grids: the file has no grids (it has: compounds, facilities)" in bad.output
    both = invoke("import-osm", osm, "--into", workspace, "--replace", "compounds", "--merge", "compounds")
    assert "compounds: give --replace or --merge, not both" in both.output
    assert workspace.read_bytes() == before


def test_import_replaces_the_layer_it_names_and_says_so_and_records_the_coords(tmp_path):
    workspace = register_workspace(tmp_path / "county.gpkg")
    csv = tmp_path / "台账.csv"
    csv.write_text(
        "编号,名称,层级,经度,纬度\nF9,东村党群服务中心,village_center,113.601,37.701\n", encoding="utf-8"
    )
    result = invoke("import", "facilities", csv, "--into", workspace, "--coords", "gcj02")
    assert result.exit_code == 0, result.output
    assert "replaced facilities: 3 rows → 1" in result.output
    stored = read_workspace(workspace)
    assert stored.layers["facilities"]["id"].tolist() == ["F9"]
    assert stored.settings.source_coords == "gcj02"
    again = invoke("import", "facilities", csv, "--into", workspace)
    assert again.exit_code == 0
    assert read_workspace(workspace).settings.source_coords == "wgs84"  # what the last import declared


def test_import_osm_reports_community_points_against_the_villages_the_workspace_keeps(tmp_path):
    # issue 10, item 14: place nodes named …社区 are matched to the register's village polygons
    workspace = register_workspace(tmp_path / "county.gpkg")
    places = [
        ("新华社区", lonlat(2500, 1500)),
        ("和平社区", lonlat(2600, 1600)),
        ("南郊社区", lonlat(9000, 9000)),
    ]
    extra = "".join(
        f'<node id="{30 + i}" lat="{lat:.7f}" lon="{lon:.7f}"><tag k="place" v="neighbourhood"/>'
        f'<tag k="name" v="{name}"/></node>\n'
        for i, (name, (lon, lat)) in enumerate(places)
    )
    osm = osm_file(tmp_path / "town.osm")
    osm.write_text(osm.read_text(encoding="utf-8").replace("</osm>", extra + "</osm>"), encoding="utf-8")
    result = invoke("import-osm", osm, "--into", workspace)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "1 community point(s) lie in the village polygon of their name in the workspace" in out
    assert (
        "1 community point(s) lie in a village polygon of another name in the workspace (kept): 和平社区 in 新华社区"
        in out
    )
    assert (
        "1 community point(s) (place=quarter/neighbourhood named …社区) lie in no village boundary in the workspace: 南郊社区"
        in out
    )
    # the file's own notes said the same against the file (which has no villages)
    assert "lie in no village boundary of the file: 新华社区, 和平社区, 南郊社区" in out
    assert read_workspace(workspace).layers["villages"]["name"].tolist() == [
        "东村",
        "西村",
        "新华社区",
        "和平社区",
    ]
