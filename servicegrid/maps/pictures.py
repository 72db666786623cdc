"""Static township pictures (PNG, matplotlib, no tiles) and putting them into the audit workbooks.

A township that prints its audit workbook should see where its gaps are: the township boundary
and its villages, the walking paths faintly, compounds and settlements coloured by walking
distance (the map's colours), facilities by grade, and the proposed sites. Drawn in the
workspace's metric CRS (no distortion), with a scale bar and a legend.

:func:`add_pictures` puts each picture on the summary sheet of the township's workbook,
below the table, after the workbooks are written: the standards package that writes them knows
nothing of maps, the same step serves the demo and ``servicegrid map --audit DIR`` (whose
workbooks were written by an earlier ``servicegrid audit``), and each workbook is saved
atomically; a picture already there is replaced, not doubled.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo.workspace import atomic_path
from ..standards.workbook import township_file_name
from .layers import (
    DISTANCE_COLOURS,
    GRADE_COLOURS,
    NO_DATA_COLOUR,
    SITE_COLOURS,
    _unit_rows,
    distance_class,
    facility_class,
)
from .text import DISTANCE_CLASSES, say

if TYPE_CHECKING:
    from .data import MapData
    from .text import Lang

__all__ = ["CJK_FONTS", "add_pictures", "township_picture", "township_pictures"]

logger = logging.getLogger(__name__)

CJK_FONTS = (
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
"""Fonts with Chinese glyphs, tried in this order (Debian's fonts-wqy-zenhei first)."""
PICTURE_INCHES = (8.0, 6.4)
PICTURE_DPI = 110
WORKBOOK_PICTURE_WIDTH_PX = 760


@cache
def _font() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        logger.warning(
            "no font with Chinese glyphs found (tried %s); township pictures show boxes for "
            "Chinese text (Debian: apt-get install fonts-wqy-zenhei)",
            ", ".join(CJK_FONTS),
        )
    return found


def township_pictures(
    data: MapData, *, townships: Sequence[str] | None = None, lang: Lang = "zh"
) -> dict[str, bytes]:
    """One PNG per township (``townships``: those ids only), by township id."""
    ids = list(data.townships["township_id"]) if townships is None else list(townships)
    return {tid: township_picture(data.township(tid), lang=lang) for tid in ids}


def township_picture(data: MapData, *, lang: Lang = "zh") -> bytes:
    """The PNG of ``data`` cut to one township (:meth:`MapData.township`)."""
    quiet = logging.getLogger("matplotlib.font_manager")  # wqy's weight is 500: it says so per text
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return _draw(data, lang)
    finally:
        quiet.setLevel(level)


def _draw(data: MapData, lang: Lang) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    font = _font()
    crs = data.metric_crs
    frame = {name: data.frame(name).to_crs(crs) for name in ("townships", "villages", "paths")}
    style = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    with rc_context(style), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig = Figure(figsize=PICTURE_INCHES, dpi=PICTURE_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.01, 0.02, 0.75, 0.88))
        ax.set_axis_off()
        ax.set_aspect("equal")
        towns = frame["townships"]
        if len(frame["paths"]) and len(towns):
            clipped = gpd.clip(frame["paths"], towns)
            if len(clipped):
                clipped.plot(ax=ax, color="#cfcfcf", linewidth=0.5, zorder=1)
        for unit_layer in ("settlements", "compounds"):
            if len(data.frame(unit_layer)):
                units = _units(data, unit_layer).to_crs(crs)
                units.plot(
                    ax=ax, color=units["colour"].tolist(), edgecolor="#555555", linewidth=0.3, zorder=2
                )
        villages = frame["villages"]
        if len(villages):
            villages.boundary.plot(ax=ax, color="#777777", linewidth=0.6, zorder=3)
            if "name" in villages and len(villages) <= 60:
                spots = villages.geometry.representative_point()
                for x, y, text in zip(spots.x, spots.y, villages["name"].astype(str), strict=True):
                    ax.text(x, y, text, fontsize=7, color="#444444", ha="center", va="center", zorder=4)
        if len(towns):
            towns.boundary.plot(ax=ax, color="#222222", linewidth=1.6, zorder=4)
        facilities = data.frame("facilities")
        if len(facilities):
            cls = facility_class(facilities)
            facilities.to_crs(crs).plot(
                ax=ax,
                color=[GRADE_COLOURS.get(c, GRADE_COLOURS["none"]) for c in cls],
                markersize=26,
                edgecolor="white",
                linewidth=0.6,
                zorder=5,
            )
        proposed = data.frame("proposed")
        if len(proposed):
            for kind, marker in (("new", "s"), ("upgrade", "D")):
                mine = proposed[proposed["kind"].astype(str) == kind]
                if len(mine):
                    mine.to_crs(crs).plot(
                        ax=ax,
                        color=SITE_COLOURS[kind],
                        marker=marker,
                        markersize=44,
                        edgecolor="black",
                        linewidth=0.7,
                        zorder=6,
                    )
        name = str(towns["name"].iloc[0]) if len(towns) and "name" in towns else (data.township_id or "")
        fig.suptitle(f"{name} — {say('map_title', lang)}", fontsize=13, y=0.975)
        sub = [data.name]
        if data.date:
            sub.append(f"{say('data_date', lang)} {data.date}")
        fig.text(0.5, 0.925, " · ".join(sub), ha="center", fontsize=8.5, color="#555555")
        handles = [
            Patch(facecolor=DISTANCE_COLOURS[c], edgecolor="#555555", label=say(c, lang))
            for c in DISTANCE_CLASSES
        ]
        grades = data.preset.grades
        for grade in ("model", "compliant", "noncompliant"):
            if grade in grades:
                label = grades[grade].zh if lang == "zh" else grades[grade].en
                handles.append(_dot(Line2D, GRADE_COLOURS[grade], label))
        handles.append(_dot(Line2D, GRADE_COLOURS["planned"], say("planned", lang)))
        if len(proposed):
            handles += [
                Line2D(
                    [],
                    [],
                    marker=m,
                    linestyle="",
                    markerfacecolor=SITE_COLOURS[k],
                    markeredgecolor="black",
                    markersize=7,
                    label=say(k, lang),
                )
                for k, m in (("new", "s"), ("upgrade", "D"))
            ]
        fig.legend(
            handles=handles, loc="center right", bbox_to_anchor=(0.995, 0.5), fontsize=8, frameon=False
        )
        _scale_bar(ax)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=PICTURE_DPI, facecolor="white")
    return buffer.getvalue()


def _dot(line2d: type, colour: str, label: str) -> object:
    return line2d(
        [],
        [],
        marker="o",
        linestyle="",
        markerfacecolor=colour,
        markeredgecolor="white",
        markersize=7,
        label=label,
    )


def _units(data: MapData, unit_layer: str) -> gpd.GeoDataFrame:
    """The polygons of ``unit_layer`` with the colour of their walking-distance class."""
    frame = data.frame(unit_layer)
    rows, _ = _unit_rows(data, unit_layer)
    colour = np.full(len(frame), NO_DATA_COLOUR, dtype=object)
    if len(rows):
        measured = rows.set_index(rows["unit_id"].astype("string"))
        ids = frame["id"].astype("string")
        found = ids.isin(measured.index).to_numpy()
        cls = distance_class(measured.reindex(ids.to_numpy())[found])
        colour[found] = np.array([DISTANCE_COLOURS[c] for c in DISTANCE_CLASSES], dtype=object)[cls]
    return frame.assign(colour=colour)


def _scale_bar(ax: object) -> None:
    """A scale bar of a round length, about a fifth of the picture's width, bottom left."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    y0 -= (y1 - y0) * 0.07  # room below the township for the bar
    ax.set_ylim(y0, y1)
    width = x1 - x0
    target = width / 5
    length = max(n * 10**e for e in range(0, 6) for n in (1, 2, 5) if n * 10**e <= max(target, 1))
    left, bottom = x0 + width * 0.03, y0 + (y1 - y0) * 0.02
    ax.plot(
        [left, left + length], [bottom, bottom], color="black", linewidth=2.5, solid_capstyle="butt", zorder=7
    )
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(
        left + length / 2, bottom + (y1 - y0) * 0.012, text, ha="center", va="bottom", fontsize=8, zorder=7
    )


def add_pictures(
    audit_dir: str | os.PathLike[str],
    pictures: Mapping[str, bytes],
    data: MapData,
    *,
    lang: Lang = "zh",
) -> list[Path]:
    """Put each township's picture (by township id) on the summary sheet of its workbook in
    ``audit_dir/townships/``, below the table; returns the workbooks changed. A township whose
    workbook is not there (it has no facilities, or the folder is another county's) is skipped."""
    from openpyxl import load_workbook
    from openpyxl.drawing.image import Image

    folder = Path(audit_dir) / "townships"
    table = data.townships.set_index("township_id")
    changed = []
    for tid, png in pictures.items():
        if tid not in table.index:
            continue
        code, name = table.loc[tid, "code"], table.loc[tid, "name"]
        path = folder / township_file_name(
            None if pd.isna(code) else str(code), None if pd.isna(name) else str(name), tid, lang=lang
        )
        if not path.exists():
            logger.info("no audit workbook %s; its picture is not added", path)
            continue
        workbook = load_workbook(path)
        sheet = workbook.worksheets[0]
        sheet._images = []  # a picture from an earlier run is replaced
        image = Image(io.BytesIO(png))
        scale = WORKBOOK_PICTURE_WIDTH_PX / image.width
        image.width, image.height = int(image.width * scale), int(image.height * scale)
        sheet.add_image(image, f"A{sheet.max_row + 2}")
        with atomic_path(path) as tmp:
            workbook.save(tmp)
        changed.append(path)
    return changed
