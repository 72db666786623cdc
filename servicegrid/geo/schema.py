"""The workspace data model: the standard layers, their columns, units and accepted aliases.

Every layer passes through :func:`servicegrid.geo.conform.conform_layer`, which renames
Chinese and English aliases to the canonical column names and reads each column as its kind;
enumerated columns name their vocabulary (:mod:`servicegrid.geo.vocabularies`).
``docs/data-model.md`` documents the same tables for people; the tests check that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ..errors import InputError

__all__ = [
    "LAYERS",
    "LAYER_ALIASES",
    "ColumnSpec",
    "LayerSpec",
    "columns_by_kind",
    "layer_spec",
    "missing_required",
]

Kind = Literal["str", "int", "float", "bool", "list"]
GeomKind = Literal["polygon", "point", "line", "polygon_or_point"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a workspace layer."""

    name: str
    kind: Kind
    description: str
    unit: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    references: str | None = None  # layer whose ``id`` this column points to
    minimum: float | None = None
    maximum: float | None = None
    vocabulary: str | None = None  # name of the vocabulary of an enumerated column


@dataclass(frozen=True)
class LayerSpec:
    """One standard layer of the workspace."""

    name: str
    geometry: GeomKind
    description: str
    columns: tuple[ColumnSpec, ...]
    parent: str | None = None  # layer that contains these units (for joins and nesting checks)
    parent_column: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        """Canonical column names, in order."""
        return [c.name for c in self.columns]


def _id(*extra: str) -> ColumnSpec:
    return ColumnSpec(
        "id",
        "str",
        "Unique identifier within the layer (a code or any text).",
        aliases=("编号", "编码", "代码", "序号", "ID", "identifier", *extra),
        required=True,
    )


def _name(*extra: str) -> ColumnSpec:
    return ColumnSpec("name", "str", "Name as used locally.", aliases=("名称", "名字", "name_zh", *extra))


_HOUSEHOLDS = ColumnSpec(
    "households",
    "int",
    "Number of households (户).",
    unit="households",
    aliases=("户数", "总户数", "住户数", "hh"),
    minimum=0,
    maximum=200_000,
)
_POPULATION = ColumnSpec(
    "population",
    "int",
    "Resident population (人口).",
    unit="people",
    aliases=("人口", "人数", "常住人口", "人口数", "pop"),
    minimum=0,
    maximum=2_000_000,
)


def _ref(name: str, target: str, zh: tuple[str, ...], text: str) -> ColumnSpec:
    return ColumnSpec(name, "str", text, aliases=zh, references=target)


_TOWNSHIP_ID = _ref(
    "township_id",
    "townships",
    ("乡镇", "乡镇编号", "所属乡镇", "街道", "所属街道", "乡镇街道", "township"),
    "Id of the township (乡镇/街道) the unit lies in; filled by spatial join when missing.",
)
_VILLAGE_ID = _ref(
    "village_id",
    "villages",
    ("村", "村社区", "所属村", "所属社区", "行政村", "村(社区)", "村（社区）", "village"),
    "Id of the village or community (村/社区) the unit lies in; filled by spatial join when missing.",
)

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "townships",
            "polygon",
            "Townships and streets (乡镇/街道) of the county.",
            (
                _id(),
                _name("乡镇名称", "街道名称", "乡镇", "乡", "街道", "乡镇街道"),
                ColumnSpec(
                    "kind",
                    "str",
                    "'town' (乡镇) or 'street' (街道).",
                    aliases=("类型", "类别"),
                    vocabulary="township_kind",
                ),
                ColumnSpec(
                    "code",
                    "str",
                    "12-digit statistical division code (统计用区划代码).",
                    aliases=("区划代码", "行政区划代码", "统计代码"),
                ),
            ),
            aliases=("乡镇", "街道", "township"),
        ),
        LayerSpec(
            "villages",
            "polygon",
            "Administrative villages and urban communities (行政村/社区).",
            (
                _id(),
                _name("村名", "社区名称", "村名称", "村", "社区", "行政村", "村社区"),
                _TOWNSHIP_ID,
                ColumnSpec(
                    "kind",
                    "str",
                    "'village' (行政村) or 'community' (社区); blank: a community when the name ends in 社区 or 居委会.",
                    aliases=("类型", "类别"),
                    vocabulary="village_kind",
                ),
                _HOUSEHOLDS,
                _POPULATION,
                ColumnSpec(
                    "code", "str", "12-digit statistical division code.", aliases=("区划代码", "统计代码")
                ),
            ),
            parent="townships",
            parent_column="township_id",
            aliases=("村", "社区", "行政村", "village"),
        ),
        LayerSpec(
            "grids",
            "polygon",
            "Management grids (网格), one grid worker each.",
            (
                _id("网格编号", "网格编码"),
                _name("网格名称"),
                _VILLAGE_ID,
                ColumnSpec(
                    "kind",
                    "str",
                    "'ordinary' (综合/普通网格, the default) or 'dedicated' (专属网格).",
                    aliases=("类型", "网格类型"),
                    vocabulary="grid_kind",
                ),
                _HOUSEHOLDS,
                _POPULATION,
                ColumnSpec(
                    "grid_workers",
                    "int",
                    "Number of grid workers (网格员).",
                    unit="people",
                    aliases=("网格员", "网格员数", "网格员人数"),
                    minimum=0,
                    maximum=100,
                ),
            ),
            parent="villages",
            parent_column="village_id",
            aliases=("网格", "grid"),
        ),
        LayerSpec(
            "microgrids",
            "polygon",
            "Micro-grids (微网格) of about ten households (十户联网).",
            (
                _id("微网格编号"),
                _name("微网格名称"),
                _ref(
                    "grid_id",
                    "grids",
                    ("网格", "所属网格", "网格编号"),
                    "Id of the grid the micro-grid lies in; filled by spatial join when missing.",
                ),
                _HOUSEHOLDS,
            ),
            parent="grids",
            parent_column="grid_id",
            aliases=("微网格", "microgrid"),
        ),
        LayerSpec(
            "compounds",
            "polygon_or_point",
            "Residential compounds (小区), the demand unit in towns.",
            (_id(), _name("小区名称", "小区"), _VILLAGE_ID, _HOUSEHOLDS, _POPULATION),
            parent="villages",
            parent_column="village_id",
            aliases=("小区", "compound"),
        ),
        LayerSpec(
            "settlements",
            "polygon_or_point",
            "Rural settlements (自然村/居民点) inside villages.",
            (_id(), _name("自然村", "自然村名称", "居民点"), _VILLAGE_ID, _HOUSEHOLDS, _POPULATION),
            parent="villages",
            parent_column="village_id",
            aliases=("自然村", "居民点", "settlement"),
        ),
        LayerSpec(
            "facilities",
            "point",
            "Service facilities (党群服务中心/站, 党员活动室, 驿站).",
            (
                _id(),
                _name("阵地名称", "中心名称", "站点名称"),
                ColumnSpec(
                    "tier",
                    "str",
                    "Facility tier: county_center, town_center, community_center, village_center, "
                    "compound_station, activity_room, courier_station (or its Chinese name).",
                    aliases=("层级", "级别", "类型", "类别", "阵地类型"),
                    required=True,
                    vocabulary="tier",
                ),
                ColumnSpec(
                    "status",
                    "str",
                    "'existing' (the default), 'planned', 'suspended' (temporarily out of service) or 'closed'.",
                    aliases=("状态", "建设状态", "运行状态", "使用状态"),
                    vocabulary="facility_status",
                ),
                _TOWNSHIP_ID,
                _VILLAGE_ID,
                _ref(
                    "compound_id",
                    "compounds",
                    ("所属小区", "小区编号"),
                    "Id of the compound a station belongs to, if any.",
                ),
                ColumnSpec(
                    "floor_area_m2",
                    "float",
                    "Floor area (建筑面积).",
                    unit="m²",
                    aliases=("面积", "建筑面积", "使用面积", "面积(平方米)", "面积（平方米）", "area"),
                    minimum=0,
                    maximum=100_000,
                ),
                ColumnSpec(
                    "hall_area_m2",
                    "float",
                    "Floor area of the one-stop service hall (服务大厅).",
                    unit="m²",
                    aliases=("大厅面积", "服务大厅面积"),
                    minimum=0,
                    maximum=100_000,
                ),
                ColumnSpec(
                    "items",
                    "list",
                    "Items present (the 'haves'): ids or Chinese labels separated by ；/;/、/,",
                    aliases=("配置", "建设内容", "有", "具备项目", "设施"),
                ),
                ColumnSpec(
                    "windows",
                    "list",
                    "Service windows present (党员服务, 综合业务, 帮办代办, 咨询投诉).",
                    aliases=("窗口", "服务窗口"),
                ),
                ColumnSpec(
                    "zones",
                    "list",
                    "Functional zones present (日常办公, 综合服务, 党群活动, 宣传教育).",
                    aliases=("功能区", "功能分区"),
                ),
                ColumnSpec(
                    "rooms",
                    "list",
                    "Rooms present (e.g. the 六室一站一中心 set).",
                    aliases=("功能室", "活动室"),
                ),
                ColumnSpec(
                    "opening_hours",
                    "str",
                    "Weekday schedule, e.g. 'Mo-Fr 08:30-12:00,14:30-18:00'.",
                    aliases=("开放时间", "办公时间"),
                ),
                ColumnSpec(
                    "weekend_duty",
                    "bool",
                    "Staffed on weekends and holidays (周末值班, '5+2').",
                    aliases=("周末值班", "节假日值班"),
                ),
                ColumnSpec(
                    "evening_sessions_per_week",
                    "int",
                    "Evening or off-hours sessions per week (错时延时, '白+黑').",
                    aliases=("错时延时", "晚间服务", "夜间服务次数"),
                    minimum=0,
                    maximum=14,
                ),
                ColumnSpec(
                    "staff",
                    "int",
                    "Staff on duty on a working day (坐班人数).",
                    unit="people",
                    aliases=("人员", "坐班人数", "工作人员"),
                    minimum=0,
                    maximum=1000,
                ),
            ),
            aliases=("阵地", "党群服务中心", "facility"),
        ),
        LayerSpec(
            "gates",
            "point",
            "Entrances of compounds (小区出入口).",
            (
                _id(),
                _ref(
                    "compound_id",
                    "compounds",
                    ("小区", "所属小区", "小区编号"),
                    "Id of the compound; filled from the nearest compound when missing.",
                ),
            ),
            parent="compounds",
            parent_column="compound_id",
            aliases=("出入口", "大门", "gate"),
        ),
        LayerSpec(
            "roads",
            "line",
            "Walking network when no OpenStreetMap file is given.",
            (
                _id(),
                _name("道路名称", "路名"),
                ColumnSpec(
                    "highway",
                    "str",
                    "OpenStreetMap-style class (footway, residential, …).",
                    aliases=("道路等级", "等级", "类型"),
                ),
            ),
            aliases=("道路", "路网", "road"),
        ),
        LayerSpec(
            "candidates",
            "point",
            "Candidate sites for new stations (空置用房, 租赁用房).",
            (
                _id(),
                _name("地点", "地址"),
                ColumnSpec(
                    "kind", "str", "What the site is (vacant public room, rental, …).", aliases=("类型",)
                ),
                ColumnSpec(
                    "tier",
                    "str",
                    "Tier the site could host (blank: any).",
                    aliases=("层级",),
                    vocabulary="tier",
                ),
                ColumnSpec(
                    "cost",
                    "float",
                    "Cost of opening the site.",
                    unit="yuan",
                    aliases=("费用", "成本", "造价", "投资", "金额"),
                    minimum=0,
                ),
                ColumnSpec(
                    "capacity",
                    "int",
                    "Households the site can serve (blank: unlimited); a constraint of the covering plans.",
                    unit="households",
                    aliases=("容量", "服务户数"),
                    minimum=0,
                ),
                ColumnSpec(
                    "decision",
                    "str",
                    "'required', 'excluded' or blank.",
                    aliases=("决定", "必选"),
                    vocabulary="candidate_decision",
                ),
            ),
            aliases=("候选点", "候选", "candidate"),
        ),
    )
}

LAYER_ALIASES: dict[str, str] = {
    alias.casefold(): spec.name for spec in LAYERS.values() for alias in (spec.name, *spec.aliases)
}


def layer_spec(name: str) -> LayerSpec:
    """The spec of layer ``name`` (canonical name or an alias such as 小区)."""
    key = LAYER_ALIASES.get(str(name).strip().casefold())
    if key is None:
        known = ", ".join(LAYERS)
        msg = f"unknown layer '{name}'; the workspace layers are: {known}"
        raise InputError(msg)
    return LAYERS[key]


def missing_required(frame: pd.DataFrame, layer: str) -> list[str]:
    """Required columns of ``layer`` that ``frame`` lacks."""
    return [c.name for c in layer_spec(layer).columns if c.required and c.name not in frame.columns]


def columns_by_kind(layer: str, kinds: Iterable[Kind]) -> list[str]:
    """Names of the columns of ``layer`` whose kind is one of ``kinds``."""
    kinds = set(kinds)
    return [c.name for c in layer_spec(layer).columns if c.kind in kinds]
