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
