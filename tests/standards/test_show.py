"""Readable views of presets: tier rows, the rich table, thresholds with sources, the check line."""

from __future__ import annotations

from rich.console import Console

from servicegrid.standards.loader import load_preset
from servicegrid.standards.show import describe_preset, preset_rows, preset_table, threshold_rows


def test_preset_rows(preset):
    rows = {r["tier"]: r for r in preset_rows(preset)}
    assert list(rows) == list(preset.tiers)
    village = rows["village_center"]
    assert village["name"] == "村党群服务中心"
    assert village["standard_set"] == "十有"
    assert village["area_m2"] == "200 / 300"
    assert village["hall_m2"] == "40 / 50"
    assert village["required_items"].split("、")[:3] == ["有固定场所", "有统一标识", "有党旗(国旗)"]
    assert village["windows"] == "综合业务、党员服务"
    assert village["radius"] == "1000 m (2000 m)"
    assert rows["town_center"]["radius"] == "车程20分钟"
    assert rows["compound_station"]["stand_ins"] == "community_center、village_center、town_center"
    english = {r["tier"]: r for r in preset_rows(preset, lang="en")}
    assert english["compound_station"]["radius"] == "300 m (500 m)"
    assert english["village_center"]["windows"] == "General business, Party member services"


def test_preset_table_renders_tiers_and_items():
    console = Console(record=True, width=240)
    console.print(preset_table("shaanxi-example", lang="en"))
    text = console.export_text()
    assert "shaanxi-example" in text
    assert "(extends cn-default)" in text
    assert "300 / 500" in text  # the community override
    assert "Item catalogue" in text
    assert "staff ≥ 1" in text


def test_threshold_rows_carry_their_sources(preset):
    rows = threshold_rows(preset, lang="en")
    community = rows[rows["tier"] == "community_center"].set_index("requirement")
    assert community.loc["floor area, compliant", ["value", "source", "status"]].tolist() == [
        500.0,
        "yinchuan-2018",
        "C",
    ]
    assert community.loc["floor area, model", "source_title"].startswith("廊坊 DB1310/T 264.10")
    assert community.loc["walking radius", "value"] == 1000.0
    station = rows[rows["tier"] == "compound_station"].set_index("requirement")
    assert station.loc["floor area, compliant", ["source", "source_title", "status"]].tolist() == [
        "default",
        "servicegrid default",
        "I",
    ]
    assert set(rows["source"]) <= set(preset.sources) | {"seed", "default"}


def test_describe_preset():
    assert describe_preset(load_preset("shaanxi-example")) == (
        "preset 'shaanxi-example' is valid: 7 tiers, 30 items, 4 windows, 4 zones, 8 rooms, extends cn-default"
    )
