"""Loading presets: the built-ins, inheritance, and every refusal with its file, path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from servicegrid.errors import StandardsError
from servicegrid.standards.loader import PRESET_DIR, check_preset, list_presets, load_preset
from servicegrid.standards.models import GRADES, Preset

FIXED_TIERS = [
    "county_center",
    "town_center",
    "community_center",
    "village_center",
    "compound_station",
    "activity_room",
    "courier_station",
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def child(tmp_path: Path, body: str, name: str = "county.yaml", parent: str = "cn-default") -> Path:
    return write(
        tmp_path / name, f"id: {Path(name).stem}\nextends: {parent}\nzh: 测试县\nen: Test county\n{body}"
    )


def test_builtin_presets_are_listed_and_load():
    names = [p.name for p in list_presets()]
    assert names == sorted(names)
    assert {"cn-default", "shaanxi-example"} <= set(names)
    for info in list_presets():
        preset = load_preset(info.name)
        assert isinstance(preset, Preset)
        assert preset.id == info.name


def test_cn_default_has_the_shared_vocabulary(preset):
    assert list(preset.tiers) == FIXED_TIERS
    assert set(GRADES) == set(preset.grades)
    assert (preset.grades["model"].zh, preset.grades["compliant"].zh, preset.grades["noncompliant"].zh) == (
        "示范型",
        "达标型",
        "不达标",
    )
    zh = {k: v.zh for k, v in preset.items.items()}
    # the labels of standards-reference.md §11 item_catalog, exactly
    assert zh["flag"] == "有党旗(国旗)"
    assert zh["disclosure_board"] == "有党务(村/居务)公开栏"
    assert zh["books_papers"] == "有书报(学习资料)"
    assert zh["unify_services"] == "统一基础服务事项"
    assert {k: v.zh for k, v in preset.windows.items()} == {
        "party_member": "党员服务",
        "general": "综合业务",
        "proxy": "帮办代办",
        "complaints": "咨询投诉",
    }
    assert [z.zh for z in preset.zones.values()] == ["日常办公", "综合服务", "党群活动", "宣传教育"]
    assert [r.zh for r in preset.rooms.values()] == [
        "多功能党员教育室",
        "文体活动室",
        "谈心谈话室",
        "书画室",
        "棋牌室",
        "图书室",
        "党群服务站",
        "老年人日间照料中心",
    ]


def test_cn_default_figures_and_their_sources(preset):
    village = preset.tiers["village_center"]
    assert len(village.required_items) == 10  # 十有
    assert village.area_min_m2.compliant.value == 200
    assert village.area_min_m2.compliant.source == "shaanxi-qiancun"
    assert preset.sources["shaanxi-qiancun"].status == "S"
    assert village.standard_set is not None
    assert village.standard_set.source == "default"
    assert len(preset.tiers["compound_station"].required_items) == 8  # 八有
    assert len(preset.tiers["activity_room"].required_items) == 6  # 六有
    assert preset.tiers["compound_station"].walk_radius_m.value == 300
    assert preset.tiers["community_center"].walk_radius_m.value == 1000
    assert preset.tiers["village_center"].walk_radius_m.value == 1000
    assert preset.tiers["town_center"].walk_radius_m is None
    assert preset.tiers["county_center"].walk_radius_m is None
    assert preset.tiers["community_center"].area_min_m2.compliant.value == 500
    assert preset.scoring.points_per_star.value == 10
    assert preset.scoring.max_stars == 10
    assert preset.upgrade_costs.per_m2_shortfall.source == "default"
    assert [r.tier for r in preset.position_system.rules][:3] == [
        "county_center",
        "town_center",
        "community_center",
    ]


def test_tier_names_resolve(preset):
    lookup = preset.tier_lookup
    assert lookup["村级党群服务中心"] == "village_center"
    assert lookup["村"] == "village_center"
    assert lookup["社区"] == "community_center"
    assert lookup["小区党群服务站"] == "compound_station"
    assert lookup["红扁担驿站"] == "compound_station"
    assert lookup["快递小哥加油站"] == "courier_station"


def test_child_overrides_one_field_and_inherits_the_rest(tmp_path, preset):
    path = child(
        tmp_path,
        "tiers:\n  community_center:\n    area_min_m2:\n      compliant: {value: 300, source: baoji-community}\n",
    )
    county = load_preset(path)
    got = county.tiers["community_center"]
    assert got.area_min_m2.compliant.value == 300
    assert got.area_min_m2.compliant.source == "baoji-community"
    # siblings and other tiers are inherited unchanged
    assert got.area_min_m2.model == preset.tiers["community_center"].area_min_m2.model
    assert got.hall_min_m2 == preset.tiers["community_center"].hall_min_m2
    assert got.required_rooms == preset.tiers["community_center"].required_rooms
    assert county.tiers["village_center"] == preset.tiers["village_center"]
    assert county.items == preset.items
    assert county.id == "county"
    assert county.extends == "cn-default"


def test_lists_are_replaced_whole(tmp_path):
    path = child(tmp_path, "tiers:\n  village_center:\n    required_windows: [general]\n")
    assert load_preset(path).tiers["village_center"].required_windows == ("general",)


def test_shaanxi_example(preset):
    shaanxi = load_preset("shaanxi-example")
    assert shaanxi.tiers["community_center"].area_min_m2.compliant.value == 300
    assert shaanxi.tiers["village_center"].area_min_m2.compliant.value == 200
    assert shaanxi.tiers["town_center"] == preset.tiers["town_center"]


def test_extends_chain_of_two_files(tmp_path):
    child(tmp_path, "tiers:\n  village_center:\n    required_windows: [general]\n", name="province.yaml")
    path = child(
        tmp_path,
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 150, source: default}\n",
        name="county.yaml",
        parent="province",
    )
    got = load_preset(path).tiers["village_center"]
    assert got.required_windows == ("general",)
    assert got.area_min_m2.compliant.value == 150
    assert got.area_min_m2.model.value == 300


def test_missing_parent_is_refused(tmp_path):
    path = child(tmp_path, "", parent="no-such-preset")
    with pytest.raises(StandardsError) as err:
        load_preset(path)
    text = str(err.value)
    assert str(path) in text
    assert "line 2" in text
    assert "extends: preset 'no-such-preset' not found" in text
    assert "cn-default" in text  # the built-in presets are listed


def test_cycle_is_refused(tmp_path):
    child(tmp_path, "", name="a.yaml", parent="b")
    child(tmp_path, "", name="b.yaml", parent="a")
    with pytest.raises(StandardsError, match=r"extends: inheritance cycle a\.yaml -> b\.yaml -> a\.yaml"):
        load_preset(tmp_path / "a.yaml")


def test_self_extension_is_a_cycle(tmp_path):
    child(tmp_path, "", name="a.yaml", parent="a")
    with pytest.raises(StandardsError, match="inheritance cycle a.yaml -> a.yaml"):
        load_preset(tmp_path / "a.yaml")


def test_negative_area_is_refused_with_field_path_and_line(tmp_path):
    path = child(
        tmp_path,
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: -200, source: default}\n",
    )
    with pytest.raises(StandardsError) as err:
        load_preset(path)
    text = str(err.value)
    assert text.startswith(f"{path}: invalid standards preset (1 problem(s))")
    assert "tiers.village_center.area_min_m2.compliant.value (county.yaml, line 8)" in text
    assert "greater than or equal to 0 (got -200)" in text


def test_unknown_item_in_a_tier_is_refused(tmp_path):
    path = child(tmp_path, "tiers:\n  village_center:\n    required_items: [site_fixed, flagg]\n")
    with pytest.raises(StandardsError) as err:
        load_preset(path)
    text = str(err.value)
    assert "tiers.village_center.required_items[1] (county.yaml, line 7)" in text
    assert "unknown item id 'flagg' (not in the 'items' catalogue); did you mean flag?" in text


def test_unknown_window_zone_room_and_tier_references(tmp_path):
    body = (
        "tiers:\n"
        "  town_center:\n"
        "    required_windows: [general, fax]\n"
        "    required_zones: [office, garden]\n"
        "    stand_ins: [province_center]\n"
        "position_system:\n"
        "  zh: 体系\n"
        "  en: system\n"
        "  rules:\n"
        "    - {tier: hamlet_center, per: village}\n"
    )
    with pytest.raises(StandardsError) as err:
        load_preset(child(tmp_path, body))
    text = str(err.value)
    assert "(4 problem(s))" in text
    assert "tiers.town_center.required_windows[1]" in text
    assert "unknown window id 'fax'" in text
    assert "tiers.town_center.required_zones[1]" in text
    assert "unknown zone id 'garden'" in text
    assert "tiers.town_center.stand_ins[0]" in text
    assert "unknown tier 'province_center'" in text
    assert "position_system.rules[0].tier" in text
    assert "unknown tier 'hamlet_center'" in text


def test_stand_in_must_be_a_higher_tier(tmp_path):
    body = "tiers:\n  town_center:\n    stand_ins: [compound_station]\n"
    with pytest.raises(
        StandardsError, match=r"tiers\.town_center\.stand_ins\[0\].*only higher tiers may stand in"
    ):
        load_preset(child(tmp_path, body))


def test_unknown_source_is_refused(tmp_path):
    body = "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 250, source: my-notice}\n"
    with pytest.raises(StandardsError) as err:
        load_preset(child(tmp_path, body))
    text = str(err.value)
    assert "tiers.village_center.area_min_m2.compliant.source" in text
    assert "unknown source 'my-notice'; add it to the 'sources' table" in text


def test_new_source_can_be_declared_in_the_child(tmp_path):
    body = (
        "sources:\n  my-notice: {title: 县委组织部通知, status: C}\n"
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 250, source: my-notice}\n"
    )
    got = load_preset(child(tmp_path, body))
    assert got.tiers["village_center"].area_min_m2.compliant.source == "my-notice"
    assert "yinchuan-2018" in got.sources  # parent's sources kept


def test_a_changed_figure_must_name_its_source_again(tmp_path):
    body = "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 250}\n"
    with pytest.raises(
        StandardsError, match=r"tiers\.village_center\.area_min_m2\.compliant\.source.*Field required"
    ):
        load_preset(child(tmp_path, body))


def test_model_minimum_below_compliant_is_refused(tmp_path):
    body = "tiers:\n  village_center:\n    area_min_m2:\n      model: {value: 150, source: default}\n"
    with pytest.raises(
        StandardsError, match=r"tiers\.village_center\.area_min_m2.*model minimum 150 m² is below"
    ):
        load_preset(child(tmp_path, body))


def test_misspelt_field_is_refused(tmp_path):
    body = "tiers:\n  village_center:\n    area_min_m3: {}\n"
    with pytest.raises(
        StandardsError, match=r"tiers\.village_center\.area_min_m3 \(county\.yaml, line 7\): Extra inputs"
    ):
        load_preset(child(tmp_path, body))


def test_alias_naming_two_tiers_is_refused(tmp_path):
    body = "tiers:\n  courier_station:\n    aliases: [村]\n"
    with pytest.raises(StandardsError, match="name '村' already names tier 'village_center'"):
        load_preset(child(tmp_path, body))


def test_scoring_groups_must_add_up(tmp_path):
    body = "scoring:\n  extra: {value: 30, source: default}\n"
    with pytest.raises(StandardsError, match=r"basic \+ function \+ extra = 110 points"):
        load_preset(child(tmp_path, body))


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path / "bad.yaml", "id: bad\nzh: x\ntiers: [unclosed\n")
    with pytest.raises(StandardsError, match=r"bad\.yaml, line \d+: not valid YAML"):
        load_preset(path)


def test_non_mapping_is_refused(tmp_path):
    with pytest.raises(StandardsError, match="a preset must be a YAML mapping"):
        load_preset(write(tmp_path / "list.yaml", "- a\n- b\n"))


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(
        StandardsError, match=r"preset 'nowhere' not found .*built-in presets are: cn-default"
    ):
        load_preset("nowhere")


def test_check_preset(tmp_path):
    assert check_preset(PRESET_DIR / "shaanxi-example.yaml").id == "shaanxi-example"
    with pytest.raises(StandardsError, match="no such preset file"):
        check_preset(tmp_path / "missing.yaml")


def test_a_standalone_preset_file(tmp_path, preset):
    """A complete preset without extends loads like the built-in one."""
    data = yaml.safe_load((PRESET_DIR / "cn-default.yaml").read_text(encoding="utf-8"))
    data["id"] = "copy"
    path = write(tmp_path / "copy.yaml", yaml.safe_dump(data, allow_unicode=True))
    copy = load_preset(path)
    assert copy.tiers == preset.tiers
    assert copy.id == "copy"


def test_null_removes_an_inherited_value(tmp_path):
    body = "tiers:\n  village_center:\n    hall_min_m2:\n      compliant: null\n      model: null\n"
    got = load_preset(child(tmp_path, body)).tiers["village_center"]
    assert got.hall_min_m2.compliant is None
    assert got.hall_min_m2.model is None
    assert got.area_min_m2.compliant.value == 200


def test_path_into_an_item_check(tmp_path):
    body = (
        "items:\n  staff:\n    check: {kind: number, column: staff, minimum: {value: -1, source: default}}\n"
    )
    with pytest.raises(StandardsError, match=r"items\.staff\.check\.minimum\.value \(county\.yaml, line 7\)"):
        load_preset(child(tmp_path, body))


# Hostile presets (issue 10, item 19): refused fast, with the field named


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values
    path = child(tmp_path, "\n".join(levels) + "\n")
    with pytest.raises(StandardsError, match=r"county\.yaml: the YAML expands to 1,234,567,917 values"):
        load_preset(path)
    many = child(tmp_path, "x: &x 1\nys: [" + ", ".join(["*x"] * 150) + "]\n", name="many.yaml")
    with pytest.raises(StandardsError, match=r"many\.yaml: more than 100 YAML aliases"):
        load_preset(many)


def test_recursive_alias_and_oversized_files_are_refused(tmp_path):
    path = child(tmp_path, "loop: &loop [*loop]\n")
    with pytest.raises(StandardsError, match="a YAML alias refers to the value it is inside"):
        load_preset(path)
    big = child(tmp_path, "# " + "x" * 1_100_000 + "\n", name="big.yaml")
    with pytest.raises(StandardsError, match=r"big\.yaml: 1,100,\d+ bytes is too large for a preset"):
        load_preset(big)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            "area_min_m2:\n      compliant: {value: .inf, source: default}",
            "area_min_m2.compliant.value",
            "finite number",
        ),
        (
            "area_min_m2:\n      compliant: {value: 250000, source: default}",
            "area_min_m2.compliant",
            "at most 100,000 m²",
        ),
        ("walk_radius_m: {value: 0, source: default}", "walk_radius_m", "reaches nobody"),
        (
            "walk_radius_m: {value: -300, source: default}",
            "walk_radius_m.value",
            "greater than or equal to 0",
        ),
    ],
)
def test_impossible_thresholds_are_refused_with_the_field_named(tmp_path, body, field, message):
    path = child(tmp_path, f"tiers:\n  village_center:\n    {body}\n")
    with pytest.raises(StandardsError) as info:
        load_preset(path)
    assert f"tiers.village_center.{field}" in str(info.value)
    assert message in str(info.value)
