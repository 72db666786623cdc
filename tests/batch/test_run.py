"""Many counties on Dask: the same answers as one machine, one county failing alone, the command line,
an existing scheduler and a bad address."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from servicegrid.batch import run_batch
from servicegrid.cli import app
from servicegrid.errors import InputError
from servicegrid.pipeline import (
    audit_workspace,
    load_network,
    measure_coverage,
    open_workspace,
    plan_sites,
    write_coverage,
    write_plan,
)
from servicegrid.standards.export import write_audit

from .conftest import NAMES

runner = CliRunner()


def single_machine(workspace: Path, network: Path, out: Path):
    """The pipeline run here, stage by stage, as the single commands run it; results written to ``out``."""
    project = open_workspace(workspace)
    audit = audit_workspace(project)
    write_audit(out / "audit", audit)
    net = load_network(project, network)
    coverage = measure_coverage(project, network=net)
    write_coverage(coverage, out / "coverage.gpkg", preset=project.preset)
    plan = plan_sites(project, tier="compound_station", network=net)
    write_plan(plan, out / "plan.gpkg", preset=project.preset)
    return audit, coverage, plan


def table(path: Path, layer: str) -> pd.DataFrame:
    return pd.DataFrame(pyogrio.read_dataframe(path, layer=layer, read_geometry=False))


def grades(folder: Path) -> pd.DataFrame:
    found = table(folder / "audit" / "results.gpkg", "audit_facilities")
    return found[["id", "tier", "grade"]].sort_values("id").reset_index(drop=True)


@pytest.mark.slow
def test_three_counties_on_two_worker_processes_equal_the_single_machine_run(counties, tmp_path):
    seen = []
    result = run_batch(
        [*counties.good, counties.broken],
        tmp_path / "out",
        workers=2,
        maps=False,
        progress=lambda step, done, total: seen.append((step, done, total)),
    )
    assert result.engine == "local cluster: 2 worker processes, 1 thread each"
    assert seen[0] == ("starting the local cluster", 0, 4)
    assert sorted(done for _, done, _ in seen[1:]) == [1, 2, 3, 4]
    assert {step for step, _, _ in seen[1:]} == {"甲县: ok", "乙县: ok", "丙县: ok", "丁县: failed"}

    *good, broken = result.counties
    assert [c.name for c in good] == list(NAMES)
    assert [c.status for c in good] == ["ok"] * 3
    assert {c.worker.rsplit(":", 1)[1] for c in good}.isdisjoint({str(os.getpid())})  # ran in other processes

    for county, workspace, network in zip(good, counties.good, counties.networks, strict=True):
        assert county.folder == (tmp_path / "out" / county.name).resolve()
        assert county.network == str(network)  # demo-county-walk.osm beside the workspace
        audit, coverage, plan = single_machine(workspace, network, tmp_path / "single" / county.name)
        total = audit.grades_by_tier().set_index("tier").loc["total"]
        assert (
            county.grades.total,
            county.grades.model,
            county.grades.compliant,
            county.grades.noncompliant,
        ) == (
            total["n"],
            total["n_model"],
            total["n_compliant"],
            total["n_noncompliant"],
        )
        pd.testing.assert_frame_equal(grades(county.folder), grades(tmp_path / "single" / county.name))

        every = coverage.county_table().query("unit_layer == 'all'")
        assert [
            (c.tier, c.units, c.units_covered, c.households, c.households_covered) for c in county.coverage
        ] == [
            (r.tier, r.units, r.units_covered, r.households, r.households_covered) for r in every.itertuples()
        ]
        pd.testing.assert_frame_equal(
            table(county.folder / "coverage.gpkg", "coverage_summary"),
            table(tmp_path / "single" / county.name / "coverage.gpkg", "coverage_summary"),
        )

        expected = plan.summary.iloc[0]
        assert county.plan.status == expected["status"] == "optimal"
        assert county.plan.objective == expected["objective"]
        assert county.plan.cost == expected["cost"]
        assert county.plan.households_new == pytest.approx(
            expected["households_after"] - expected["households_before"]
        )
        written = table(county.folder / "plan.gpkg", "plan_summary").iloc[0]
        assert written["objective"] == expected["objective"]
        assert (county.folder / "plan.xlsx").is_file()
        assert (county.folder / "audit" / "county_summary.xlsx").is_file()
        assert not (county.folder / "maps").exists()  # maps=False

    # the three counties differ, so equal figures are not a coincidence
    assert len({c.plan.objective for c in good}) == 3

    assert broken.name == "丁县"
    assert broken.status == "failed"
    assert broken.findings["message"].tolist() == ["'约四百' is not a number"]
    assert "county.gpkg: the workspace has 1 error(s)" in broken.reason

    book = load_workbook(result.summary)
    rows = list(book["各县汇总"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[3]) for r in rows] == [
        ("甲县", "成功"),
        ("乙县", "成功"),
        ("丙县", "成功"),
        ("丁县", "失败"),
    ]
    assert "1 error(s)" in rows[3][4]
    problems = list(book["问题"].iter_rows(min_row=2, values_only=True))
    assert [(p[0], p[2], p[5], p[6]) for p in problems] == [
        ("丁县", "compounds", "households", "'约四百' is not a number")
    ]


@pytest.mark.slow
def test_the_command_on_a_scheduler_the_test_started(counties, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = runner.invoke(
            app,
            [
                "batch",
                str(counties.good[0]),
                str(counties.broken),
                "--out",
                str(out),
                "--scheduler",
                cluster.scheduler_address,
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 1, result.output
    assert f"on scheduler {cluster.scheduler_address}: 2 workers" in result.output
    assert "'约四百' is not a number" in result.output  # the broken county's findings table
    assert "failed: " in result.output
    assert "county.gpkg: the workspace has 1 error(s)" in result.output
    assert "wrote 1 of 2 counties" in result.output
    assert "Traceback" not in result.output

    county = out / "甲县"
    for name in ("audit/county_summary.xlsx", "coverage.gpkg", "coverage_gaps.csv", "plan.gpkg", "plan.xlsx"):
        assert (county / name).is_file(), name
    assert (county / "maps" / "county.html").is_file()
    assert len(list((county / "maps" / "townships").glob("*.html"))) >= 1
    assert sorted(p.name for p in out.iterdir()) == ["summary.xlsx", "甲县"]  # no temporary files left

    book = load_workbook(out / "summary.xlsx")
    rows = list(book["各县汇总"].iter_rows(min_row=2, values_only=True))
    header, first, second = rows
    assert header[:5] == ("县(区)", "工作区", "结果文件夹", "状态", "原因")
    assert (first[0], first[3], second[0], second[3]) == ("甲县", "成功", "丁县", "失败")
    assert first[header.index("方案费用(元)")] > 0
    assert first[header.index("步行路网")].endswith("demo-county-walk.osm")


@pytest.mark.parametrize("address", ["foo://nowhere", "tcp://127.0.0.1:1"])
def test_a_bad_scheduler_address_is_one_line_not_a_traceback(tmp_path, address):
    result = runner.invoke(
        app,
        [
            "batch",
            str(tmp_path / "county.gpkg"),
            "--out",
            str(tmp_path / "out"),
            "--scheduler",
            address,
            "--timeout",
            "0.5",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: --scheduler {address}: cannot connect to a Dask scheduler (")
    assert not (tmp_path / "out" / "summary.xlsx").exists()


def test_workers_go_with_the_local_cluster_only(tmp_path):
    with pytest.raises(InputError, match="--workers 0: give 1 or more"):
        run_batch([tmp_path / "county.gpkg"], tmp_path / "out", workers=0)
    with pytest.raises(InputError, match="--workers sizes the local cluster"):
        run_batch([tmp_path / "county.gpkg"], tmp_path / "out", workers=2, scheduler="tcp://127.0.0.1:1")
