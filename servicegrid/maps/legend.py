"""The map's title and legend as HTML: grades, tiers, walking-distance classes, coverage classes
with the tier's radius, gaps and the plan, and what the basemap and the data are.

Each legend section names the layers it explains (``data-layers``); the page's script shows a
section only while one of them is on the map, so the legend always matches what is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .basemaps import Basemap
from .data import MapData
from .layers import DISTANCE_COLOURS, GRADE_COLOURS, RATE_BREAKS, RATE_COLOURS, SITE_COLOURS, Layer
from .text import DISTANCE_CLASSES, Lang, say

__all__ = ["legend_html", "title_html"]


def title_html(data: MapData, *, lang: Lang, township_name: str | None = None) -> str:
    """County (and township) name, what the map is, the data's date and standard, and a
    "synthetic data" badge for generated data."""
    where = data.name + (f" · {township_name}" if township_name else "")
    badge = ""
    if data.synthetic and say("synthetic", lang) not in data.name:
        badge = f' <span class="sg-badge">{escape(say("synthetic", lang))}</span>'
    details = []
    if data.date:
        details.append(f"{say('data_date', lang)} {data.date}")
    details.append(f"{say('standard', lang)} {data.preset.zh if lang == 'zh' else data.preset.en}")
    if data.synthetic and not badge:
        details.append(say("synthetic", lang))
    return (
        f'<div class="sg-title-main">{escape(where)} {escape(say("map_title", lang))}{badge}</div>'
        f'<div class="sg-title-sub">{escape(" · ".join(details))}</div>'
    )


def _keys(layers: Sequence[Layer], *kinds: str) -> str:
    return " ".join(layer.key for layer in layers if layer.kind in kinds)


def _dot(colour: str, size: float = 10) -> str:
    return f'<i class="sg-dot" style="background:{colour};width:{size:.0f}px;height:{size:.0f}px"></i>'


def _box(colour: str, *, outline: str | None = None) -> str:
    border = f"border:2px solid {outline};background:transparent" if outline else f"background:{colour}"
    return f'<i class="sg-box" style="{border}"></i>'


def legend_html(data: MapData, layers: Sequence[Layer], *, lang: Lang, basemap: Basemap) -> str:
    """The legend's HTML for ``layers``."""
    parts = [f'<div class="sg-legend-head">{escape(say("legend", lang))}</div><div class="sg-legend-body">']
    facilities = _keys(layers, "facility")
    if facilities:
        grades = data.preset.grades
        rows = [
            (GRADE_COLOURS[g], grades[g].zh if lang == "zh" else grades[g].en)
            for g in ("model", "compliant", "noncompliant")
            if g in grades
        ]
        rows += [
            (GRADE_COLOURS["planned"], say("planned", lang)),
            (GRADE_COLOURS["out"], say("out_of_service", lang)),
        ]
        items = "".join(f"<div>{_dot(c)} {escape(t)}</div>" for c, t in rows)
        parts.append(
            f'<section data-layers="{facilities}"><h5>{escape(say("grades", lang))}</h5>{items}'
            f'<div class="sg-dim">{_dot("#777", 14)}{_dot("#777", 8)} {escape(say("marker_size", lang))}</div></section>'
        )
    units = [layer for layer in layers if layer.kind == "unit"]
    if units:
        tiers = sorted({str(layer.legend.get("distance")) for layer in units if layer.legend.get("distance")})
        items = "".join(
            f"<div>{_box(DISTANCE_COLOURS[c])} {escape(say(c, lang))}</div>" for c in DISTANCE_CLASSES
        )
        note = "".join(f'<div class="sg-dim">{escape(t)}</div>' for t in tiers)
        parts.append(
            f'<section data-layers="{_keys(layers, "unit")}"><h5>{escape(say("distance", lang))}</h5>{items}{note}</section>'
        )
    ramps = [layer for layer in layers if layer.kind in ("choropleth", "before_after")]
    if ramps:
        bounds = [0.0, *RATE_BREAKS, 1.0]
        items = "".join(
            f"<div>{_box(colour)} {_percent(lo)}–{_percent(hi)}</div>"
            for colour, lo, hi in zip(RATE_COLOURS, bounds[:-1], bounds[1:], strict=True)
        )
        tiers = "".join(
            f'<div class="sg-dim" data-layers="{layer.key}">{escape(str(layer.legend["ramp"]))}</div>'
            for layer in ramps
            if layer.legend.get("ramp")
        )
        parts.append(
            f'<section data-layers="{_keys(layers, "choropleth", "before_after")}">'
            f"<h5>{escape(say('coverage_rate', lang))}</h5>{items}{tiers}</section>"
        )
    gaps = [layer for layer in layers if layer.kind == "gap"]
    if gaps:
        items = "".join(
            f'<div data-layers="{layer.key}">{_box("", outline=str(layer.style["color"]))} {escape(str(layer.legend["gap"]))}</div>'
            for layer in gaps
        )
        parts.append(
            f'<section data-layers="{_keys(layers, "gap")}"><h5>{escape(say("gaps", lang))}</h5>{items}</section>'
        )
    if any(layer.kind == "site" for layer in layers):
        items = "".join(
            f'<div><i class="sg-site sg-site-{k} sg-site-legend"><span>1</span></i> {escape(say(k, lang))}</div>'
            for k in SITE_COLOURS
        )
        parts.append(
            f'<section data-layers="{_keys(layers, "site")}"><h5>{escape(say("plan", lang))}</h5>{items}'
            f'<div class="sg-dim">{escape(say("build_order", lang))}</div></section>'
        )
    notes = []
    if basemap == "amap":
        notes.append(say("gcj02", lang))
    elif basemap == "none" and any(layer.kind == "paths" for layer in layers):
        notes.append(say("no_basemap", lang))
    if data.synthetic:
        notes.append(say("synthetic", lang))
    if notes:
        parts.append("".join(f'<div class="sg-note">{escape(n)}</div>' for n in notes))
    parts.append("</div>")
    return "".join(parts)


def _percent(value: float) -> str:
    return f"{value * 100:g}%"
