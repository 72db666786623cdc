"""The map's layers, built from :class:`~servicegrid.maps.data.MapData`: what each draws, its
name in the layer control, its colours, and the few properties its tooltip or popup shows.

Each :class:`Layer` draws features of one geometry :class:`Source` (a source written once may be
drawn by several layers: the villages by their boundaries and by every coverage choropleth).
Layers, bottom to top:

- the walking paths (only without a basemap), township, village, grid and micro-grid boundaries
  (grids and micro-grids off);
- household coverage per village for each walk-based tier, per grid for the chosen tier (off);
  the county map shows the chosen tier's, and for the villages it does not serve the next finest
  tier's that serves them (township maps show their compounds instead);
- walking service areas per tier and the area the chosen tier does not reach (off);
- compounds and settlements coloured by walking-distance class;
- the gap lists as outlines (最后一百米, 最后一公里) with the distance still to go;
- coverage per township before and with the plan (off); facilities by grade; proposed sites.

:data:`PROPERTY_KEYS` lists the properties a layer of each kind may carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .data import MapData, finest_unit_layer, tier_label
from .text import DISTANCE_CLASSES, Lang, say

__all__ = [
    "DISTANCE_COLOURS",
    "GRADE_COLOURS",
    "PROPERTY_KEYS",
    "RATE_BREAKS",
    "RATE_COLOURS",
    "Layer",
    "Source",
    "build_layers",
]

GRADE_COLOURS = {
    "model": "#1a9641",
    "compliant": "#2b83ba",
    "noncompliant": "#d7191c",
    "planned": "#9e9ac8",
    "out": "#525252",
    "none": "#969696",
}
"""Facility marker colour by grade, then planned, out of service (suspended or closed), not audited."""
DISTANCE_COLOURS = {"doorstep": "#006837", "within": "#78c679", "beyond": "#fd8d3c", "unreachable": "#7a0177"}
NO_DATA_COLOUR = "#bdbdbd"
RATE_BREAKS = (0.5, 0.8, 0.9, 0.98)
RATE_COLOURS = ("#d7301f", "#fc8d59", "#fdcc8a", "#c2e699", "#31a354")
"""Household coverage classes: below 50 %, 50–80 %, 80–90 %, 90–98 %, 98 % and more."""
GAP_COLOURS = {"last_hundred_meters": "#e31a1c", "last_kilometer": "#ff7f00", "beyond_radius": "#b15928"}
TIER_COLOURS = ("#6a51a3", "#3182bd", "#31a354", "#dd3497", "#636363")
SITE_COLOURS = {"new": "#7b2cbf", "upgrade": "#e66101"}
_MARKER_RADIUS = {1: 11.0, 2: 9.0, 3: 7.0, 4: 5.5}  # by tier level; lower levels 4.5

PROPERTY_KEYS = {
    "boundary": ("name", "households"),
    "choropleth": ("name", "rate", "households", "households_covered"),
    "unit": ("name", "households", "facility", "walk_m", "straight_m", "cls"),
    "facility": (
        "name",
        "tier",
        "grade",
        "cls",
        "r",
        "stars",
        "score",
        "area",
        "area_min",
        "missing",
        "windows",
        "zones",
        "rooms",
        "hours",
        "status",
    ),
    "area": ("name", "area_ha"),
    "gap": ("name", "households", "facility", "walk_m", "to_go_m"),
    "site": ("name", "order", "kind", "cost", "households_new", "households_served"),
    "before_after": (
        "name",
        "rate_before",
        "rate_after",
        "households",
        "households_before",
        "households_after",
    ),
    "paths": (),
}


@dataclass(frozen=True)
class Source:
    """Geometries written once (WGS-84); ``tiles`` when they cover an area without overlapping
    (simplified with their shared edges kept shared)."""

    key: str
    geometry: gpd.GeoSeries
    tiles: bool = False


@dataclass(frozen=True)
class Layer:
    """One entry of the layer control: features ``index`` of source ``source`` (all when None),
    drawn by the page's ``kind`` drawer with ``style``, and one row of ``keys`` per feature."""

    key: str
    name: str
    source: str
    kind: str
    keys: tuple[str, ...]
    rows: list[list[object]]
    style: dict[str, object]
    show: bool = True
    swatch: str = "#888888"
    index: np.ndarray | None = None
    search: bool = False
    labels: bool = False
    legend: dict[str, object] = field(default_factory=dict)

    @property
    def features(self) -> int:
        """How many features the layer draws."""
        return len(self.rows)


def build_layers(
    data: MapData, *, tier: str | None = None, lang: Lang = "zh", paths: bool = True
) -> tuple[list[Source], list[Layer], str | None]:
    """The sources and layers of a map of ``data``; ``tier`` is the tier whose coverage is shown
    first (default: the plan's tier, else the tier with the smallest radius). Returns the
    sources, the layers bottom to top, and the chosen tier."""
    tier = tier or _default_tier(data)
    sources: dict[str, Source] = {}
    layers: list[Layer] = []

    def source(key: str, frame: gpd.GeoDataFrame, *, tiles: bool = False) -> str:
        if key not in sources:
            sources[key] = Source(key, frame.geometry, tiles=tiles)
        return key

    if paths and len(data.frame("paths")):
        layers.append(_paths(data, source, lang))
    layers += _boundaries(data, source, lang)
    layers += _choropleths(data, source, tier, lang)
    layers += _service_areas(data, source, tier, lang)
    for name in ("compounds", "settlements"):
        layer = _units(data, source, name, lang)
        if layer is not None:
            layers.append(layer)
    layers += _gaps(data, source, lang)
    layers += _before_after(data, source, lang)
    if len(data.frame("facilities")):
        layers.append(_facilities(data, source, lang))
    if len(data.frame("proposed")):
        layers.append(_proposed(data, source, lang))
    used = {layer.source for layer in layers}
    return [s for k, s in sources.items() if k in used], layers, tier


def _default_tier(data: MapData) -> str | None:
    if data.plan_tier and data.plan_tier in data.radii:
        return data.plan_tier
    return min(data.radii, key=lambda t: (data.radii[t], t)) if data.radii else None


def _radius_text(data: MapData, tier: str, lang: Lang) -> str:
    radius = data.radii.get(tier)
    label = tier_label(data.preset, tier, lang)
    if radius is None:
        return label
    walk = say("walk_radius", lang, radius=f"{radius:,.0f}")
    return f"{label}（{walk}）" if lang == "zh" else f"{label} ({walk})"


def _named(text: str, count: int, lang: Lang) -> str:
    return f"{text}（{count:,}）" if lang == "zh" else f"{text} ({count:,})"


def _paths(data: MapData, source, lang: Lang) -> Layer:
    paths = data.frame("paths")
    parts = shapely.get_parts(paths.geometry.to_numpy())
    merged = shapely.line_merge(shapely.multilinestrings(parts)) if len(parts) else shapely.MultiLineString()
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries([merged], crs=paths.crs))
    style = {"color": "#b5b5b5", "weight": 1, "opacity": 0.9, "interactive": False}
    return Layer(
        "paths", say("paths", lang), source("paths", frame), "paths", (), [[]], style, swatch="#b5b5b5"
    )


def _boundaries(data: MapData, source, lang: Lang) -> list[Layer]:
    spec = {
        "townships": ({"color": "#252525", "weight": 2.6, "fill": False}, True),
        "villages": ({"color": "#636363", "weight": 1.2, "fill": False}, True),
        "grids": ({"color": "#737373", "weight": 0.8, "dashArray": "4 3", "fill": False}, False),
        "microgrids": ({"color": "#969696", "weight": 0.6, "dashArray": "2 3", "fill": False}, False),
    }
    out = []
    for name, (style, show) in spec.items():
        frame = data.frame(name)
        if not len(frame):
            continue
        names = frame["name"] if "name" in frame else frame["id"]
        table = pd.DataFrame(
            {"name": names.fillna(frame["id"]).to_numpy(), "households": _col(frame, "households")}
        )
        out.append(
            Layer(
                name,
                _named(say(name, lang), len(frame), lang),
                source(name, frame, tiles=True),
                "boundary",
                PROPERTY_KEYS["boundary"],
                _rows(table, PROPERTY_KEYS["boundary"]),
                style,
                show=show,
                swatch=str(style["color"]),
                search=name == "villages",
                labels=name == "townships",
            )
        )
    return out


def _choropleths(data: MapData, source, tier: str | None, lang: Lang) -> list[Layer]:
    summary = data.summary
    if not len(summary) or tier is None:
        return []
    out = []
    tiers = sorted(data.radii, key=lambda t: (t != tier, data.radii[t], t))
    coloured: set[str] = set()  # villages already coloured by a layer shown at first
    for level, layer_name, only_chosen in (("village", "villages", False), ("grid", "grids", True)):
        frame = data.frame(layer_name)
        if not len(frame):
            continue
        for each in tiers:
            if only_chosen and each != tier:
                continue
            rows = summary[(summary["level"] == level) & (summary["tier"] == each)]
            unit_layer = finest_unit_layer(rows["unit_layer"])
            rows = rows[rows["unit_layer"] == unit_layer].drop_duplicates("area_id")
            if not len(rows):
                continue
            position = pd.Index(frame["id"].astype("string")).get_indexer(rows["area_id"].astype("string"))
            rows, position = rows[position >= 0], position[position >= 0]
            table = pd.DataFrame(
                {
                    "name": frame["name"].to_numpy()[position]
                    if "name" in frame
                    else rows["area_id"].to_numpy(),
                    "rate": rows["household_rate"].astype(float).round(3).to_numpy(),
                    "households": rows["households"].astype(float).round(0).to_numpy(),
                    "households_covered": rows["households_covered"].astype(float).round(0).to_numpy(),
                }
            )
            what = say(f"choropleth_{layer_name}", lang)
            radius = _radius_text(data, each, lang)
            # the county map colours every village once: by the chosen tier, and the villages
            # it does not serve by the next finest tier that serves them
            areas = set(rows["area_id"].astype(str))
            show = level == "village" and data.township_id is None and (each == tier or not areas & coloured)
            if show:
                coloured |= areas
            out.append(
                Layer(
                    f"choropleth_{level}_{each}",
                    f"{what}：{radius}" if lang == "zh" else f"{what}: {radius}",
                    source(layer_name, frame, tiles=True),
                    "choropleth",
                    PROPERTY_KEYS["choropleth"],
                    _rows(table, PROPERTY_KEYS["choropleth"]),
                    {
                        "color": "#ffffff",
                        "weight": 0.6,
                        "fillOpacity": 0.5,
                        "ramp": {"key": "rate", "breaks": list(RATE_BREAKS), "colors": list(RATE_COLOURS)},
                        "tier": radius,
                    },
                    show=show,
                    swatch=RATE_COLOURS[0],
                    index=position,
                    legend={"ramp": radius},
                )
            )
    return out


def _service_areas(data: MapData, source, tier: str | None, lang: Lang) -> list[Layer]:
    out = []
    areas = data.frame("service_areas")
    colours = {
        t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(sorted(data.radii, key=data.radii.get))
    }
    if len(areas):
        for each in sorted(areas["tier"].astype(str).unique(), key=lambda t: data.radii.get(t, 0)):
            position = np.flatnonzero(areas["tier"].astype(str).to_numpy() == each)
            mine = areas.iloc[position]
            table = pd.DataFrame(
                {
                    "name": mine["facility_name"].fillna(mine["facility_id"]).to_numpy(),
                    "area_ha": (mine["area_m2"].astype(float) / 1e4).round(1).to_numpy(),
                }
            )
            colour = colours.get(each, TIER_COLOURS[-1])
            name = f"{say('service_areas', lang)}：{_radius_text(data, each, lang)}"
            out.append(
                Layer(
                    f"service_areas_{each}",
                    _named(name, len(mine), lang),
                    source("service_areas", areas),
                    "area",
                    PROPERTY_KEYS["area"],
                    _rows(table, PROPERTY_KEYS["area"]),
                    {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.12},
                    show=False,
                    swatch=colour,
                    index=position,
                )
            )
    uncovered = data.frame("uncovered")
    if len(uncovered) and tier is not None:
        position = np.flatnonzero(uncovered["tier"].astype(str).to_numpy() == tier)
        if len(position):
            mine = uncovered.iloc[position]
            village_names = _lookup_names(data.frame("villages"))
            table = pd.DataFrame(
                {
                    "name": mine["village_id"]
                    .astype("string")
                    .map(village_names)
                    .fillna(mine["village_id"])
                    .to_numpy(),
                    "area_ha": (mine["area_m2"].astype(float) / 1e4).round(1).to_numpy(),
                }
            )
            name = f"{say('uncovered', lang)}：{_radius_text(data, tier, lang)}"
            out.append(
                Layer(
                    f"uncovered_{tier}",
                    name,
                    source("uncovered", uncovered),
                    "area",
                    PROPERTY_KEYS["area"],
                    _rows(table, PROPERTY_KEYS["area"]),
                    {"stroke": False, "fillColor": "#99000d", "fillOpacity": 0.28},
                    show=False,
                    swatch="#99000d",
                    index=position,
                )
            )
    return out


def _unit_rows(data: MapData, unit_layer: str) -> tuple[pd.DataFrame, str | None]:
    """Each unit of ``unit_layer`` measured against the finest tier that serves the layer."""
    units = data.frame("units")
    if not len(units):
        return pd.DataFrame(), None
    mine = units[units["unit_layer"] == unit_layer]
    if not len(mine):
        return pd.DataFrame(), None
    tier = min(mine["tier"].astype(str).unique(), key=lambda t: (data.radii.get(t, np.inf), t))
    return mine[mine["tier"] == tier].drop_duplicates("unit_id"), tier


def distance_class(rows: pd.DataFrame) -> np.ndarray:
    """The walking-distance class index (into :data:`~servicegrid.maps.text.DISTANCE_CLASSES`)."""
    walk = rows["walk_m"].astype(float).to_numpy()
    covered = rows["covered"].astype(bool).to_numpy()
    doorstep = rows["doorstep"].astype(bool).to_numpy() if "doorstep" in rows else walk <= 100
    return np.select([~np.isfinite(walk), doorstep, covered], [3, 0, 1], default=2).astype(int)


def _units(data: MapData, source, unit_layer: str, lang: Lang) -> Layer | None:
    frame = data.frame(unit_layer)
    if not len(frame):
        return None
    rows, tier = _unit_rows(data, unit_layer)
    table = pd.DataFrame(
        {"name": frame["name"].fillna(frame["id"]).to_numpy(), "households": _col(frame, "households")}
    )
    if len(rows):
        measured = rows.set_index(rows["unit_id"].astype("string"))
        ids = frame["id"].astype("string")
        found = ids.isin(measured.index).to_numpy()
        picked = measured.reindex(ids.to_numpy())
        cls = np.full(len(frame), -1)
        cls[found] = distance_class(picked[found])
        table = table.assign(
            facility=picked["facility_name"].to_numpy(),
            walk_m=picked["walk_m"].astype(float).round(0).to_numpy(),
            straight_m=picked["straight_m"].astype(float).round(0).to_numpy(),
            cls=np.where(cls >= 0, cls, np.nan),
        )
    colours = [DISTANCE_COLOURS[c] for c in DISTANCE_CLASSES]
    radius = _radius_text(data, tier, lang) if tier else ""
    return Layer(
        unit_layer,
        _named(say(unit_layer, lang), len(frame), lang),
        source(unit_layer, frame, tiles=True),
        "unit",
        PROPERTY_KEYS["unit"],
        _rows(table, PROPERTY_KEYS["unit"]),
        {
            "color": "#4d4d4d",
            "weight": 0.5,
            "fillOpacity": 0.75,
            "classes": {"key": "cls", "colors": colours, "none": NO_DATA_COLOUR},
            "tier": radius,
        },
        swatch=DISTANCE_COLOURS["within"],
        search=True,
        legend={"distance": radius},
    )


def _gaps(data: MapData, source, lang: Lang) -> list[Layer]:
    gaps = data.frame("gaps")
    if not len(gaps):
        return []
    out = []
    order = {"last_hundred_meters": 0, "last_kilometer": 1}
    for (gap, tier), mine in sorted(
        gaps.groupby(["gap", "tier"]), key=lambda kv: (order.get(kv[0][0], 2), kv[0][1])
    ):
        unit_layer = finest_unit_layer(mine["unit_layer"])
        frame = data.frame(unit_layer) if unit_layer else gpd.GeoDataFrame()
        if not len(frame):
            continue
        mine = mine[mine["unit_layer"] == unit_layer].drop_duplicates("unit_id")
        position = pd.Index(frame["id"].astype("string")).get_indexer(mine["unit_id"].astype("string"))
        mine, position = mine[position >= 0], position[position >= 0]
        if not len(mine):
            continue
        table = pd.DataFrame(
            {
                "name": mine["unit_name"].fillna(mine["unit_id"]).to_numpy(),
                "households": mine["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                "facility": mine["facility_name"].to_numpy(),
                "walk_m": mine["walk_m"].astype(float).round(0).to_numpy(),
                "to_go_m": mine["to_go_m"].astype(float).round(0).to_numpy(),
            }
        )
        colour = GAP_COLOURS.get(gap, GAP_COLOURS["beyond_radius"])
        title = say(f"gap_{gap}", lang) if f"gap_{gap}" in _GAP_KEYS else gap
        radius = _radius_text(data, tier, lang)
        name = f"{title}：{radius}" if lang == "zh" else f"{title}: {radius}"
        out.append(
            Layer(
                f"gap_{gap}_{tier}",
                _named(name, len(mine), lang),
                source(unit_layer, frame, tiles=True),
                "gap",
                PROPERTY_KEYS["gap"],
                _rows(table, PROPERTY_KEYS["gap"]),
                {"color": colour, "weight": 2.4, "fill": True, "fillOpacity": 0},
                swatch=colour,
                index=position,
                legend={"gap": name},
            )
        )
    return out


_GAP_KEYS = {"gap_last_hundred_meters", "gap_last_kilometer", "gap_beyond_radius"}


def _before_after(data: MapData, source, lang: Lang) -> list[Layer]:
    table = data.before_after
    towns = data.frame("townships")
    if not len(table) or not len(towns):
        return []
    position = pd.Index(towns["id"].astype("string")).get_indexer(table["township_id"].astype("string"))
    table, position = table[position >= 0], position[position >= 0]
    values = pd.DataFrame(
        {
            "name": towns["name"].to_numpy()[position],
            "rate_before": table["rate_before"].astype(float).round(3).to_numpy(),
            "rate_after": table["rate_after"].astype(float).round(3).to_numpy(),
            "households": table["households"].astype(float).round(0).to_numpy(),
            "households_before": table["households_before"].astype(float).round(0).to_numpy(),
            "households_after": table["households_after"].astype(float).round(0).to_numpy(),
        }
    )
    radius = _radius_text(data, data.plan_tier, lang) if data.plan_tier else ""
    out = []
    for key in ("before", "after"):
        name = f"{say(key, lang)}：{radius}" if lang == "zh" else f"{say(key, lang)}: {radius}"
        out.append(
            Layer(
                key,
                name,
                source("townships", towns, tiles=True),
                "before_after",
                PROPERTY_KEYS["before_after"],
                _rows(values, PROPERTY_KEYS["before_after"]),
                {
                    "color": "#ffffff",
                    "weight": 1,
                    "fillOpacity": 0.6,
                    "ramp": {"key": f"rate_{key}", "breaks": list(RATE_BREAKS), "colors": list(RATE_COLOURS)},
                },
                show=False,
                swatch=RATE_COLOURS[-1 if key == "after" else 1],
                index=position,
            )
        )
    return out


def facility_class(facilities: pd.DataFrame) -> np.ndarray:
    """Marker class of each facility: its grade, or planned, out of service, not audited."""
    status = _col(facilities, "status_class", "status").astype(object)
    grade = _col(facilities, "grade").astype(object)
    out = np.where(pd.isna(grade), "none", grade.astype(str))
    out = np.where(np.isin(status, ["suspended", "closed"]), "out", out)
    return np.where(status == "planned", "planned", out)


def _facilities(data: MapData, source, lang: Lang) -> Layer:
    frame = data.frame("facilities")
    tiers = data.preset.tiers
    level = frame["tier"].map(lambda t: tiers[t].level if t in tiers else 9).astype(int)
    order = np.argsort(-level.to_numpy(), kind="stable")  # the big centres drawn last, on top
    frame, level = frame.iloc[order].reset_index(drop=True), level.iloc[order].reset_index(drop=True)
    status_words = {"planned": say("planned", lang), "suspended": say("out_of_service", lang)}
    status_words["closed"] = status_words["suspended"]
    status = _col(frame, "status_class", "status").astype(object)
    table = pd.DataFrame(
        {
            "name": frame["name"].fillna(frame["id"]).to_numpy(),
            "tier": frame["tier_label"].to_numpy()
            if "tier_label" in frame
            else frame["tier"].map(lambda t: tier_label(data.preset, t, lang)).to_numpy(),
            "grade": _col(frame, "grade_label"),
            "cls": facility_class(frame),
            "r": level.map(lambda v: _MARKER_RADIUS.get(v, 4.5)).to_numpy(),
            "stars": _col(frame, "stars"),
            "score": _col(frame, "score").astype(float).round(1),
            "area": _col(frame, "floor_area_m2").astype(float).round(0),
            "area_min": _col(frame, "area_min_m2").astype(float).round(0),
            "missing": _col(frame, "missing_items_label"),
            "windows": _col(frame, "missing_windows_label"),
            "zones": _col(frame, "missing_zones_label"),
            "rooms": _col(frame, "missing_rooms_label"),
            "hours": _col(frame, "hours_problem"),
            "status": pd.Series(status).map(status_words).to_numpy(),
        }
    )
    table = table.replace({"": None})
    return Layer(
        "facilities",
        _named(say("facilities", lang), len(frame), lang),
        source("facilities", frame),
        "facility",
        PROPERTY_KEYS["facility"],
        _rows(table, PROPERTY_KEYS["facility"]),
        {"colors": GRADE_COLOURS, "weight": 1.2, "color": "#ffffff", "fillOpacity": 0.95},
        swatch=GRADE_COLOURS["compliant"],
        search=True,
    )


def _proposed(data: MapData, source, lang: Lang) -> Layer:
    frame = data.frame("proposed")
    table = pd.DataFrame(
        {
            "name": frame["name"].fillna(frame["site_id"]).to_numpy(),
            "order": _col(frame, "build_order"),
            "kind": _col(frame, "kind"),
            "cost": _col(frame, "cost").astype(float).round(0),
            "households_new": _col(frame, "households_new").astype(float).round(0),
            "households_served": _col(frame, "households_served").astype(float).round(0),
        }
    )
    radius = _radius_text(data, data.plan_tier, lang) if data.plan_tier else ""
    name = f"{say('proposed', lang)}：{radius}" if lang == "zh" else f"{say('proposed', lang)}: {radius}"
    return Layer(
        "proposed",
        _named(name, len(frame), lang),
        source("proposed", frame),
        "site",
        PROPERTY_KEYS["site"],
        _rows(table, PROPERTY_KEYS["site"]),
        {"colors": SITE_COLOURS},
        swatch=SITE_COLOURS["new"],
        search=True,
    )


def _col(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first of the columns ``names`` present (values by position), else blanks."""
    for name in names:
        if name in frame.columns:
            return pd.Series(frame[name].to_numpy(), dtype=frame[name].dtype)
    return pd.Series([None] * len(frame), dtype=object)


def _lookup_names(frame: pd.DataFrame) -> pd.Series:
    if not len(frame) or "name" not in frame:
        return pd.Series(dtype="string")
    return pd.Series(frame["name"].astype("string").to_numpy(), index=frame["id"].astype("string").to_numpy())


def _rows(table: pd.DataFrame, keys: Sequence[str]) -> list[list[object]]:
    from .encode import table_rows

    return table_rows(table, keys)
