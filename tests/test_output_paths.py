"""--out is checked before any computation (issue 10, item 18): one line, nothing written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from servicegrid.cli import app
from servicegrid.geo.workspace import write_layers
from tests.builders import clean_layers, lattice

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, {**clean_layers(), "roads": lattice(step=250, size=4000)})
    return path


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("command", ["coverage", "plan"])
def test_bad_gpkg_outputs_are_one_line_errors(workspace, tmp_path, command):
    folder = tmp_path / "results"
    folder.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a GeoPackage")
    cases = {
        folder: f"--out {folder} is a folder; give a GeoPackage file name",
        workspace: f"--out {workspace} would overwrite the input {workspace}",
        notes: f"--out {notes} exists and is not a GeoPackage",
        "/proc/servicegrid/out.gpkg": "--out /proc/servicegrid/out.gpkg: cannot write into /proc",
    }
    before = workspace.read_bytes()
    for out, message in cases.items():
        result = run(command, workspace, "--out", out)
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, result.output
        assert message in lines[0], result.output
        assert "walking" not in result.output  # refused before any computation
    assert workspace.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.gpkg", "notes.txt", "results"]


def test_the_files_written_beside_the_geopackage_are_checked_too(workspace, tmp_path):
    """plan writes <out>.xlsx beside its GeoPackage: a folder there, or a workbook named as the
    GeoPackage, is refused before any computation (it was a traceback after the whole plan)."""
    (tmp_path / "plan.xlsx").mkdir()
    cases = {
        tmp_path / "plan.gpkg": f"--out {tmp_path / 'plan.gpkg'}: {tmp_path / 'plan.xlsx'} is written "
        "beside it, but is a folder; give another file name",
        tmp_path / "方案.xlsx": f"--out {tmp_path / '方案.xlsx'} names a workbook; give a GeoPackage file "
        f"name, e.g. {tmp_path / '方案.gpkg'}",
    }
    for out, message in cases.items():
        result = run("plan", workspace, "--out", out)
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [f"error: {message}"], result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.gpkg", "plan.xlsx"]


def test_an_input_network_or_preset_is_not_an_output(workspace, tmp_path):
    network = tmp_path / "walk.osm"
    network.write_text("<osm/>")
    result = run("coverage", workspace, "--network", network, "--out", network)
    assert result.exit_code == 1
    assert f"would overwrite the input {network}" in result.output


def test_audit_out_must_be_a_folder_and_not_hold_the_workspace(workspace, tmp_path):
    result = run("audit", workspace, "--out", workspace)
    assert result.exit_code == 1
    assert f"--out {workspace} is a file; give a folder for the audit files" in result.output
    named = tmp_path / "results.gpkg"
    named.write_bytes(workspace.read_bytes())
    result = run("audit", named, "--out", tmp_path)
    assert result.exit_code == 1
    assert f"would overwrite the input {named}" in result.output


@pytest.mark.parametrize("factor", ["1", "0.8", "-2", "nan", "inf"])
def test_a_detour_factor_not_above_one_is_refused(workspace, tmp_path, factor):
    """Hostile options (issue 10, item 19): refused before any computation, the field named."""
    result = run("coverage", workspace, "--out", tmp_path / "c.gpkg", "--detour-factor", factor)
    assert result.exit_code == 1
    assert "--detour-factor (detour_factor)" in result.output
    assert "must be a number above 1" in result.output
    assert not (tmp_path / "c.gpkg").exists()


def test_measure_coverage_refuses_the_detour_factor_too(workspace):
    from servicegrid.errors import InputError
    from servicegrid.pipeline import measure_coverage, open_workspace

    with pytest.raises(InputError, match=r"detour_factor\) 0\.5: must be a number above 1"):
        measure_coverage(open_workspace(workspace), detour_factor=0.5)
