"""The command line: exit codes and messages, run in-process on real files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from servicegrid.cli import app
from servicegrid.geo.workspace import read_workspace, write_layers
from tests.builders import clean_layers

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(map(str, args)), catch_exceptions=False)


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("validate", "version"):
        assert command in result.output


def test_validate_clean_workspace_exits_zero(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_validate_errors_exit_one_and_json_lists_them(tmp_path):
    layers = clean_layers()
    layers["compounds"] = layers["compounds"].assign(village_id=["V9"])
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    result = invoke("validate", path, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["errors"] == 1
    assert payload["findings"][0]["message"] == "village_id 'V9' does not exist in villages"


def test_validate_fix_writes_filled_parent_ids(tmp_path):
    layers = clean_layers()
    layers["grids"] = layers["grids"].assign(village_id=None)
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    assert invoke("validate", path, "--fix").exit_code == 0
    assert read_workspace(path).layers["grids"]["village_id"].tolist() == ["V1", "V1", "V2", "V2"]


@pytest.mark.parametrize("name", ["missing.gpkg"])
def test_missing_workspace_is_a_message_not_a_traceback(tmp_path, name):
    result = invoke("validate", tmp_path / name)
    assert result.exit_code == 1
    assert "workspace not found" in result.output
    assert "Traceback" not in result.output


def test_import_register_with_amap_coordinates_fills_parents(tmp_path):
    from servicegrid.geo.chinacoords import gcj02_to_wgs84, wgs84_to_gcj02

    path = tmp_path / "county.gpkg"
    write_layers(path, {k: v for k, v in clean_layers().items() if k != "facilities"})
    # Two centers inside villages V1 and V3, written with Amap (GCJ-02) coordinates as a GBK CSV.
    lon, lat = wgs84_to_gcj02([113.6030, 113.6300], [37.7050, 37.7050])
    csv = tmp_path / "台账.csv"
    csv.write_bytes(
        (
            "名称,层级,面积,经度,纬度\n"
            f"东村党群服务中心,村级党群服务中心,260平方米,{lon[0]:.7f},{lat[0]:.7f}\n"
            f"新华社区党群服务中心,社区党群服务中心,520,{lon[1]:.7f},{lat[1]:.7f}\n"
        ).encode("gbk")
    )
    result = invoke("import", "facilities", csv, "--into", path, "--coords", "gcj02")
    assert result.exit_code == 0, result.output
    assert "2 facilities from 台账.csv" in result.output
    facilities = read_workspace(path).layers["facilities"]
    assert facilities["name"].tolist() == ["东村党群服务中心", "新华社区党群服务中心"]
    assert facilities["floor_area_m2"].tolist() == [260.0, 520.0]
    assert facilities["village_id"].tolist() == ["V1", "V3"]
    assert facilities["township_id"].tolist() == ["T1", "T2"]
    back_lon, back_lat = gcj02_to_wgs84(lon, lat)
    assert facilities.geometry.x.to_numpy() == pytest.approx(back_lon, abs=1e-7)
    assert facilities.geometry.y.to_numpy() == pytest.approx(back_lat, abs=1e-7)


def test_import_of_a_broken_register_leaves_the_workspace_intact(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    before = path.read_bytes()
    csv = tmp_path / "register.csv"
    csv.write_text("名称,户数,经度,纬度\n幸福小区,很多,113.62,37.70\n", encoding="utf-8")
    result = invoke("import", "settlements", csv, "--into", path)
    assert result.exit_code == 1
    assert (
        "register.csv, layer 'settlements', row 1, field '户数' (households): '很多' is not a number"
        in result.output
    )
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


@pytest.mark.slow
def test_demo_runs_every_stage_offline_and_writes_its_files(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "validate: 0 error(s)" in result.output
    assert "Audit: grades by tier" in result.output
    assert "Walking coverage (network)" in result.output
    ws = read_workspace(out / "demo-county.gpkg")
    assert ws.settings.synthetic
    assert (out / "demo-county-walk.osm").stat().st_size > 1_000_000
    assert (out / "audit" / "county_summary.xlsx").exists()
    assert len(list((out / "audit" / "townships").glob("*.xlsx"))) == len(ws.layers["townships"])
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert {
        "coverage_units",
        "coverage_summary",
        "coverage_gaps",
        "service_areas",
        "uncovered_areas",
    } <= layers


def test_audit_command_writes_workbooks_and_refuses_unknown_tiers(tmp_path):
    layers = clean_layers()
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    result = invoke("audit", path, "--out", tmp_path / "audit")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "audit" / "county_summary.xlsx").exists()
    layers["facilities"] = layers["facilities"].assign(tier=["town_center", "太空站"])
    write_layers(path, layers)
    result = invoke("audit", path, "--out", tmp_path / "audit2")
    assert result.exit_code == 1
    assert (
        "│ error    │ facilities │ F2 │ 2   │ tier  │ tier '太空站' is not a known value; accepted:"
        in result.output
    )
    assert "the workspace has 1 error(s)" in result.output
    assert not (tmp_path / "audit2").exists()


def test_standards_check_names_the_field_of_a_bad_preset(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nextends: cn-default\nzh: 坏\nen: bad\n"
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: -5, source: default}\n",
        encoding="utf-8",
    )
    result = invoke("standards", "check", bad)
    assert result.exit_code == 1
    assert "tiers.village_center.area_min_m2.compliant" in result.output


def test_plan_command_writes_proposed_sites(tmp_path):
    from tests.siting.test_planning import county

    path = tmp_path / "county.gpkg"
    write_layers(path, county())
    result = invoke("plan", path, "--out", tmp_path / "plan.gpkg", "--model", "set-cover", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output
    import pyogrio

    sites = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="proposed_sites")
    assert sorted(sites["site_id"]) == ["C:P3", "F:F2"]


def test_coverage_with_a_corrupt_network_file_is_a_message(tmp_path):
    from tests.siting.test_planning import county

    path = tmp_path / "county.gpkg"
    write_layers(path, county())
    broken = tmp_path / "streets.osm"
    broken.write_text("<osm version='0.6'><node id='1' lat='37.7'", encoding="utf-8")
    result = invoke("coverage", path, "--network", broken, "--out", tmp_path / "cov.gpkg")
    assert result.exit_code == 1
    assert "streets.osm" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cov.gpkg").exists()


def test_messages_with_brackets_are_printed_as_they_are(tmp_path):
    csv = tmp_path / "[2024]register.csv"
    csv.write_text("名称,户数,经度,纬度\n幸福小区,[很多],113.62,37.70\n", encoding="utf-8")
    result = invoke("import", "settlements", csv, "--into", tmp_path / "county.gpkg")
    assert result.exit_code == 1
    assert "[2024]register.csv" in result.output
    assert "'[很多]' is not a number" in result.output


def table_row(output: str, *cells: str) -> list[str]:
    """The cells of the first table row of ``output`` that holds every one of ``cells``."""
    for line in output.splitlines():
        parts = [p.strip() for p in line.strip("│").split("│")]
        if all(any(p.startswith(c) for p in parts) for c in cells):
            return parts
    raise AssertionError(f"no table row with {cells} in:\n{output}")


@pytest.mark.parametrize(
    ("broken", "row"),
    [
        ("households", ["error", "compounds", "C1", "1", "households", "'约四百' is not a number"]),
        ("tier", ["error", "facilities", "", "", "tier", "required column 'tier' is missing"]),
        ("settings", ["error", "servicegrid_settings", "", "", "snap_limit_m", "'{oops' is not a readable"]),
    ],
)
@pytest.mark.parametrize("command", ["coverage", "plan"])
def test_stages_refuse_a_broken_workspace_with_its_findings(tmp_path, command, broken, row):
    import pandas as pd
    import pyogrio

    layers = clean_layers()
    if broken == "households":
        layers["compounds"] = layers["compounds"].assign(households=["约四百"])
    if broken == "tier":
        layers["facilities"] = layers["facilities"].drop(columns="tier")
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    if broken == "settings":
        table = pd.DataFrame({"key": ["snap_limit_m"], "value": ["{oops"]})
        pyogrio.write_dataframe(table, path, layer="servicegrid_settings", driver="GPKG")
    result = invoke(command, path, "--out", tmp_path / "out.gpkg")
    assert result.exit_code == 1
    found = table_row(result.output, row[0], row[1], row[-1])
    assert [p[: len(r)] for p, r in zip(found, row, strict=True)] == row
    assert "the workspace has 1 error(s)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.gpkg").exists()


def test_validate_json_prints_only_json_on_stdout(tmp_path):
    from tests.builders import lattice

    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    net = tmp_path / "roads.gpkg"
    write_layers(net, {"roads": lattice(step=500)})
    from servicegrid.geo.osmxml import write_osm_xml

    osm = write_osm_xml(lattice(step=500), tmp_path / "walk.osm")
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json", "--network", str(osm.path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["errors"] == 0
    assert "walk.osm: 25 nodes, 40 edges" in result.stderr
    # what opening the workspace did is said too, on stderr (F1 had no village id)
    assert "facilities.village_id: 1 filled by spatial join" in result.stderr
    assert "filled" not in result.stdout


def test_audit_prints_each_standards_warning_once(tmp_path, recwarn):
    """The audit's warnings are printed from its messages; Python's copy (with a source line) is not."""
    from servicegrid.standards.records import StandardsWarning

    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    result = invoke("audit", path, "--out", tmp_path / "audit")
    assert result.exit_code == 0, result.output
    assert result.output.count("the register records no items") == 1
    assert not [w for w in recwarn if issubclass(w.category, StandardsWarning)]


def test_import_osm_help_names_the_bounds_element():
    result = invoke("import-osm", "--help")
    import re

    text = re.sub(r"[│\s]+", " ", result.output)  # the help box, wrapped at any width
    assert "Against the file's bounds (its <bounds> element): keep features" in text


@pytest.mark.parametrize(
    ("lang", "headers", "gap"),
    [
        ("zh", ["缺口", "单元图层", "单元编号"], "最后一百米"),
        ("en", ["Gap", "Unit layer", "Unit id"], "last hundred metres"),
    ],
)
def test_coverage_gaps_csv_speaks_the_planners_language(tmp_path, lang, headers, gap):
    import pandas as pd

    from tests.builders import lattice

    layers = clean_layers()
    layers["roads"] = lattice(step=250, size=4000)
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    result = invoke("coverage", path, "--out", tmp_path / "cov.gpkg", "--lang", lang)
    assert result.exit_code == 0, result.output
    gaps = pd.read_csv(tmp_path / "cov_gaps.csv", encoding="utf-8-sig")
    assert list(gaps.columns[:3]) == headers
    # the compound C1 has no station: the last hundred metres, with its township named
    assert gap in set(gaps[headers[0]])
    township = "乡镇(街道)" if lang == "zh" else "Township"
    assert set(gaps[township].dropna()) <= {"青山镇", "城关街道"}


def test_plan_writes_a_workbook_beside_its_geopackage(tmp_path):
    import openpyxl

    from tests.builders import lattice

    layers = clean_layers()
    layers["roads"] = lattice(step=250, size=4000)
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    result = invoke("plan", path, "--out", tmp_path / "plan.gpkg")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    assert book.sheetnames == ["汇总", "各乡镇", "选址点位"]
    sites = list(book["选址点位"].iter_rows(values_only=True))
    assert sites[0][:3] == ("建设顺序", "点位编号", "类型")
    # the one compound without a station gets one inside it, named after it
    assert [row[6] for row in sites[1:]] == ["幸福小区（小区内）"]
    towns = [row[1] for row in book["各乡镇"].iter_rows(min_row=2, values_only=True)]
    assert towns == ["城关街道"]


def test_coverage_table_never_prints_nan_for_a_tier_without_counted_units(tmp_path):
    """A compound layer without households: the counted-once row has no units, shown as '–'."""
    layers = clean_layers()
    layers["compounds"] = layers["compounds"].assign(households=None)
    path = tmp_path / "county.gpkg"
    write_layers(path, layers)
    result = invoke("coverage", path, "--out", tmp_path / "cov.gpkg")
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output
    row = [line for line in result.output.splitlines() if "小区党群服务站" in line and "合计(不重复)" in line]
    assert [cell.strip() for cell in row[0].strip("│").split("│")][2] == "0/0 (–)"
