"""One county of a batch, without Dask: folder names, which network, a county that fails, the workbook."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from servicegrid.batch import CountySummary, county_jobs, find_network, run_county, write_summary
from servicegrid.batch.county import GradeCounts, PlanFigures, TierCoverage
from servicegrid.errors import InputError
from servicegrid.geo.workspace import WorkspaceSettings, write_layers
from tests.builders import clean_layers


def workspace(path: Path, name: str = "", **layers) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_layers(path, {**clean_layers(), **layers}, settings=WorkspaceSettings(name=name))
    return path


def test_folders_are_named_after_the_county_else_the_stem_and_kept_apart(tmp_path):
    given = [
        workspace(tmp_path / "a" / "qingshan.gpkg", "青山县"),
        workspace(tmp_path / "b" / "qingshan.gpkg", "青山县"),
        workspace(tmp_path / "c" / "no-name.gpkg"),
        workspace(tmp_path / "d" / "slash.gpkg", "城关/新区 "),
        tmp_path / "missing.gpkg",  # its task fails later; it still gets a folder name
    ]
    jobs = county_jobs(given, tmp_path / "out")
    assert [job.folder.name for job in jobs] == ["青山县", "青山县_2", "no-name", "城关_新区", "missing"]
    assert [job.name for job in jobs] == ["青山县", "青山县", "no-name", "城关/新区", "missing"]
    assert all(job.folder.parent == (tmp_path / "out").resolve() for job in jobs)
    assert all(job.workspace.is_absolute() for job in jobs)


def test_the_same_workspace_twice_is_refused(tmp_path, monkeypatch):
    path = workspace(tmp_path / "county.gpkg", "青山县")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"county\.gpkg: the same workspace is given twice"):
        county_jobs([path, Path("county.gpkg")], tmp_path / "out")


def test_an_out_that_is_a_file_and_a_missing_network_dir_are_refused(tmp_path):
    path = workspace(tmp_path / "county.gpkg")
    (tmp_path / "taken").write_text("x")
    with pytest.raises(InputError, match="--out .*taken is a file"):
        county_jobs([path], tmp_path / "taken")
    with pytest.raises(InputError, match="--network-dir .*nets is not a folder"):
        county_jobs([path], tmp_path / "out", network_dir=tmp_path / "nets")


def test_the_network_is_the_stem_walk_file_in_the_network_dir_else_beside_the_workspace(tmp_path):
    path = tmp_path / "counties" / "county.gpkg"
    path.parent.mkdir()
    assert find_network(path) is None  # then load_network takes the roads layer
    beside = path.with_name("county-walk.osm")
    beside.write_text("")
    assert find_network(path) == beside
    nets = tmp_path / "nets"
    nets.mkdir()
    assert find_network(path, nets) == beside
    (nets / "county-walk.osm.pbf").write_text("")
    assert find_network(path, nets) == nets / "county-walk.osm.pbf"
    (nets / "other-walk.osm").write_text("")  # another county's
    assert find_network(path, nets) == nets / "county-walk.osm.pbf"


def test_two_networks_for_one_workspace_are_refused_naming_it(tmp_path):
    path = tmp_path / "county.gpkg"
    (tmp_path / "county-walk.osm").write_text("")
    (tmp_path / "county-walk.graphml").write_text("")
    with pytest.raises(InputError, match=r"county\.gpkg: more than one walking network .*county-walk\.osm"):
        find_network(path)


def test_a_broken_register_fails_with_its_findings_and_writes_nothing(tmp_path):
    layers = clean_layers()
    compounds = layers["compounds"].astype({"households": "string"})
    compounds.loc[0, "households"] = "约四百"
    path = workspace(tmp_path / "county.gpkg", "青山县", compounds=compounds)
    (job,) = county_jobs([path], tmp_path / "out", maps=False)
    summary = run_county(job)
    assert summary.status == "failed"
    assert not summary.ok
    assert summary.reason.startswith(f"{path.resolve()}: the workspace has 1 error(s)")
    found = summary.findings
    assert found[["layer", "id", "field", "message"]].values.tolist() == [
        ["compounds", "C1", "households", "'约四百' is not a number"]
    ]
    assert summary.grades is None
    assert summary.plan is None
    assert summary.coverage == ()
    assert not job.folder.exists()


def test_a_missing_workspace_fails_with_a_reason_naming_it(tmp_path):
    (job,) = county_jobs([tmp_path / "nowhere.gpkg"], tmp_path / "out")
    summary = run_county(job)
    assert summary.status == "failed"
    assert summary.findings is None
    assert summary.reason.startswith(f"{tmp_path / 'nowhere.gpkg'}: workspace not found")


def _ok(name: str, folder: Path) -> CountySummary:
    return CountySummary(
        workspace=folder / f"{name}.gpkg",
        folder=folder / name,
        name=name,
        status="ok",
        network="roads layer",
        warnings=2,
        grades=GradeCounts(total=10, model=2, compliant=5, noncompliant=3, planned=1),
        coverage=(
            TierCoverage("compound_station", "Residential-compound station", 8, 6, 1000.0, 750.0),
            TierCoverage("village_center", "Village center", 4, 4, 500.0, 500.0),
        ),
        plan=PlanFigures(
            tier="compound_station",
            status="optimal",
            objective=90000.0,
            bound=90000.0,
            gap=0.0,
            new_sites=2,
            upgrades=1,
            cost=90000.0,
            households_before=700.0,
            households_after=980.0,
            rate_before=0.7,
            rate_after=0.98,
        ),
        seconds=3.0,
    )


def test_the_summary_workbook_has_a_row_per_county_and_the_problems_of_the_failed(tmp_path):
    failed = CountySummary(
        workspace=tmp_path / "c.gpkg",
        folder=tmp_path / "C",
        name="C",
        status="failed",
        reason=f"{tmp_path / 'c.gpkg'}: workspace not found",
    )
    path = write_summary(tmp_path / "out" / "summary.xlsx", [_ok("A", tmp_path), failed], lang="en")
    assert sorted(p.name for p in path.parent.iterdir()) == ["summary.xlsx"]  # no temporary file left
    book = load_workbook(path)
    assert book.sheetnames == ["Counties", "Problems"]
    rows = list(book["Counties"].iter_rows(values_only=True))
    assert rows[0][0] == "Service network plans of 2 counties, 1 failed"
    head = dict(zip(rows[1], rows[2], strict=True))
    assert head["County"] == "A"
    assert head["Status"] == "ok"
    assert head["Reason"] is None
    assert (head["Total"], head["Model"], head["Compliant"], head["Below standard"]) == (10, 2, 5, 3)
    assert head["Residential-compound station households covered"] == 750
    assert head["Residential-compound station household rate"] == pytest.approx(0.75)
    assert head["Village center units covered"] == 4
    assert head["Plan cost (yuan)"] == 90000
    assert head["Households newly covered"] == 280
    other = dict(zip(rows[1], rows[3], strict=True))
    assert other["Status"] == "failed"
    assert other["Reason"].endswith("c.gpkg: workspace not found")
    assert other["Total"] is None
    assert other["Plan cost (yuan)"] is None
    problems = list(book["Problems"].iter_rows(values_only=True))
    assert problems[0] == ("County", "Severity", "Layer", "Id", "Row", "Field", "Problem")
    assert problems[1][0] == "C"
    assert problems[1][-1].endswith("workspace not found")


def test_the_summary_workbook_has_chinese_headings_by_default(tmp_path):
    path = write_summary(tmp_path / "summary.xlsx", [_ok("青山县", tmp_path)])
    book = load_workbook(path)
    assert book.sheetnames == ["各县汇总", "问题"]
    header = next(iter(book["各县汇总"].iter_rows(min_row=2, max_row=2, values_only=True)))
    assert header[:4] == ("县(区)", "工作区", "结果文件夹", "状态")
    assert {"示范型", "达标型", "不达标", "方案费用(元)", "方案新覆盖户数"} <= set(header)
    assert next(iter(book["各县汇总"].iter_rows(min_row=3, max_row=3, values_only=True)))[3] == "成功"
