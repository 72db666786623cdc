"""The words of the maps in Chinese and English: layer names, legend, tooltips, popups, classes.

Grade and tier names come from the preset, and the missing items from the audit's own
``*_label`` columns, so the map uses the same words as the audit workbook. Everything else a map
says is here, once: :func:`words` returns the table for one language, which is handed to the
page's script as ``SG.words`` for the tooltips and popups it builds.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DISTANCE_CLASSES", "Lang", "say", "words"]

Lang = Literal["zh", "en"]

DISTANCE_CLASSES = ("doorstep", "within", "beyond", "unreachable")
"""Walking-distance classes of a compound or settlement, nearest first."""

_WORDS: dict[str, tuple[str, str]] = {
    # layers
    "paths": ("步行路网", "Walking paths"),
    "townships": ("乡镇（街道）界", "Townships"),
    "villages": ("村（社区）界", "Villages and communities"),
    "grids": ("网格", "Grids"),
    "microgrids": ("微网格", "Micro-grids"),
    "choropleth_villages": ("村（社区）户覆盖率", "Households covered per village"),
    "choropleth_grids": ("网格户覆盖率", "Households covered per grid"),
    "compounds": ("小区（按步行距离）", "Compounds by walking distance"),
    "settlements": ("自然村（按步行距离）", "Settlements by walking distance"),
    "facilities": ("党群服务阵地（按评级）", "Service facilities by grade"),
    "service_areas": ("步行服务范围", "Walking service area"),
    "uncovered": ("未覆盖区域", "Not covered"),
    "gap_last_hundred_meters": ("最后一百米", "Last hundred metres"),
    "gap_last_kilometer": ("最后一公里", "Last kilometre"),
    "gap_beyond_radius": ("超出服务半径", "Beyond the radius"),
    "proposed": ("规划新建与改造", "Proposed sites"),
    "before": ("方案前覆盖率（乡镇）", "Coverage before the plan"),
    "after": ("方案后覆盖率（乡镇）", "Coverage with the plan"),
    # title and legend
    "map_title": ("党群服务阵地覆盖图", "service network coverage map"),
    "synthetic": ("合成示例数据", "synthetic data"),
    "data_date": ("数据日期", "data of"),
    "standard": ("标准", "standard"),
    "legend": ("图例", "Legend"),
    "grades": ("阵地评级", "Facility grade"),
    "planned": ("规划中", "planned"),
    "out_of_service": ("停用", "out of service"),
    "no_grade": ("未评估", "not audited"),
    "marker_size": ("圆点大小表示层级", "dot size shows the tier"),
    "distance": ("到服务阵地的步行距离", "Walking distance to the facility"),
    "doorstep": ("100 米以内（家门口）", "within 100 m (doorstep)"),
    "within": ("服务半径以内", "within the tier's radius"),
    "beyond": ("超出服务半径", "beyond the radius"),
    "unreachable": ("无法步行到达", "unreachable on foot"),
    "coverage_rate": ("户覆盖率", "Households covered"),
    "no_data": ("无此层级服务对象", "not served by this tier"),
    "gaps": ("缺口（红框）", "Gaps (outlined)"),
    "plan": ("规划方案", "Plan"),
    "new": ("新建", "new"),
    "upgrade": ("改造", "upgrade"),
    "build_order": ("建设顺序", "build order"),
    "gcj02": (
        "底图为高德（GCJ-02），所有图层已换算到 GCJ-02 以与底图对齐",
        "Amap basemap (GCJ-02): every layer is converted to GCJ-02 to line up with it",
    ),
    "no_basemap": ("无底图：灰线为步行路网", "no basemap: grey lines are the walking paths"),
    "walk_radius": ("步行 {radius} 米", "{radius} m on foot"),
    # popups and tooltips (used by the page's script)
    "households": ("户", "households"),
    "served_by": ("服务阵地", "served by"),
    "walk": ("步行", "on foot"),
    "straight": ("直线", "straight line"),
    "m": ("米", "m"),
    "to_go": ("还差", "still to go"),
    "tier": ("层级", "tier"),
    "grade": ("评级", "grade"),
    "stars": ("星级", "stars"),
    "score": ("得分", "score"),
    "floor_area": ("面积", "floor area"),
    "minimum": ("标准", "minimum"),
    "missing_items": ("缺少项目", "missing items"),
    "missing_windows": ("缺少窗口", "missing windows"),
    "missing_zones": ("缺少功能区", "missing zones"),
    "missing_rooms": ("缺少功能室", "missing rooms"),
    "hours_problem": ("开放时间", "opening hours"),
    "nothing_missing": ("无缺项", "nothing missing"),
    "status": ("状态", "status"),
    "cost": ("费用", "cost"),
    "yuan": ("元", "yuan"),
    "households_new": ("新覆盖户数", "households newly covered"),
    "households_served": ("服务户数", "households served"),
    "covered": ("已覆盖", "covered"),
    "of": ("/", "of"),
    "area": ("面积", "area"),
    "radius": ("服务半径", "radius"),
    "before_after": ("方案前 → 方案后", "before → with the plan"),
    # controls
    "search": ("搜索小区、村、阵地…", "Find a compound, village or facility…"),
    "no_match": ("没有找到", "nothing found"),
    "measure": ("测距", "Measure"),
    "measure_hint": (
        "单击地图逐点量算，双击或再点按钮结束，Esc 清除",
        "Click points on the map; double-click or press the button to finish; Esc clears",
    ),
    "km": ("公里", "km"),
}


def say(key: str, lang: Lang, **values: object) -> str:
    """The text ``key`` in ``lang``, with ``{placeholders}`` filled.

    Examples
    --------
    >>> say("walk_radius", "zh", radius="300")
    '步行 300 米'
    """
    zh, en = _WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def words(lang: Lang) -> dict[str, str]:
    """Every text of the table in ``lang`` (for the page's script)."""
    return {key: (zh if lang == "zh" else en) for key, (zh, en) in _WORDS.items()}
