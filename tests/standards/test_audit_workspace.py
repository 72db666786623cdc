"""Auditing a whole workspace: the preset from the workspace settings, the terminal table."""

from __future__ import annotations

import warnings

from rich.console import Console

from servicegrid.cli.stages import audit_table
from servicegrid.geo.workspace import Workspace, WorkspaceSettings
from servicegrid.standards.audit import audit_layers
from servicegrid.standards.records import StandardsWarning

from .conftest import audit_county


def test_summary_table_for_the_terminal(written):
    _, written_audit = written
    result = written_audit.result
    console = Console(record=True, width=120)
    console.print(audit_table(result))
    text = console.export_text()
    assert "评估结果：各层级评级" in text
    assert "村党群服务中心" in text
    assert "合计" in text
    assert "县级党群服务中心" not in text  # tiers without facilities are left out
    grades = result.grades_by_tier().set_index("tier")
    assert grades.loc["village_center", ["n", "n_model", "n_compliant", "n_noncompliant"]].tolist() == [
        3,
        1,
        1,
        1,
    ]


def test_preset_from_the_workspace_settings_relative_to_the_workspace(tmp_path):
    (tmp_path / "my-county.yaml").write_text(
        "id: my-county\nextends: cn-default\nzh: 某县\nen: My county\n"
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 100, source: default}\n",
        encoding="utf-8",
    )
    base = audit_county()
    ws = Workspace(
        path=tmp_path / "county.gpkg",
        layers=base.layers,
        settings=WorkspaceSettings(name="示范县", preset="my-county.yaml"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_layers(ws)
    assert result.preset.id == "my-county"
    f8 = result.facilities.set_index("id").loc["F8"]
    assert f8["area_min_m2"] == 100.0
    assert any("the register records no" in m for m in result.messages)
