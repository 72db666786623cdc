"""Compose a map: layers in feature groups, the layer control, title, legend and tools, in one
offline :class:`folium.Map`.

:func:`build_map` is the library entry: a project and its results (or nothing: the pipeline
computes them) in, a ``folium.Map`` out — the same map ``servicegrid map`` writes, for a
notebook. :func:`render_map` does the work on gathered :class:`~servicegrid.maps.data.MapData`
and also says what went into the map (:class:`RenderedMap`): features and vertices per layer,
and what was simplified to stay within the vertex budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np

from .assets import OfflineMap
from .basemaps import Basemap, add_basemap, check_basemap, transform
from .controls import DataLayer, MapControls, NamedLayerControl, Overlay, Runtime
from .data import MapData, map_data
from .encode import Encoded, decimals_for, encode_geometry, simplify_to_budget, vertex_count
from .layers import build_layers
from .legend import legend_html, title_html
from .text import Lang, say, words

if TYPE_CHECKING:
    from ..coverage.analysis import CoverageResult
    from ..coverage.network import StreetNetwork
    from ..pipeline import Project
    from ..siting.plan import PlanResult
    from ..standards.audit import AuditResult

__all__ = ["VERTEX_BUDGET", "LayerReport", "RenderedMap", "build_map", "render_map"]

logger = logging.getLogger(__name__)

VERTEX_BUDGET = 150_000
"""Vertices a map may carry before its polygons and lines are simplified (the demo county: ~60k)."""
CANVAS_ABOVE = 1_500
"""Visible vector features above which the map draws on one canvas instead of SVG elements."""
PATHS_TOLERANCE_M = 2.0  # the walking paths are a drawing aid: always simplified this much
LEFT_TO_TOWNSHIPS = ("microgrids", "grids")
"""Sources a county map over its vertex budget even at the largest step leaves to the township
maps, finest first (with the grids go their coverage choropleth)."""
_FINE_NAMES = {"microgrids": "micro-grids", "grids": "grids"}


@dataclass(frozen=True)
class LayerReport:
    """One layer of a written map: its name, features, and the vertices of what it draws."""

    key: str
    name: str
    features: int
    vertices: int
    shown: bool


@dataclass(frozen=True)
class RenderedMap:
    """A composed map and what it holds."""

    map: folium.Map
    layers: tuple[LayerReport, ...]
    sources: dict[str, Encoded]
    tier: str | None
    notes: tuple[str, ...] = ()

    @property
    def vertices(self) -> int:
        """Vertices written (a source drawn by several layers counts once)."""
        return sum(s.vertices for s in self.sources.values())


def build_map(
    project: Project,
    *,
    audit: AuditResult | str | Path | None = None,
    coverage: CoverageResult | str | Path | None = None,
    plan: PlanResult | str | Path | None = None,
    network: StreetNetwork | None = None,
    township: str | None = None,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    tier: str | None = None,
    lang: Lang = "zh",
) -> folium.Map:
    """The coverage map of ``project`` (or of one ``township``) as a :class:`folium.Map`.

    Results not given are computed through :mod:`servicegrid.pipeline` (see
    :func:`~servicegrid.maps.data.map_data`). ``m.save("county.html")`` writes it; the page
    needs no network (with ``basemap="none"``).

    Examples
    --------
    >>> from servicegrid import open_workspace                      # doctest: +SKIP
    >>> from servicegrid.maps import build_map                      # doctest: +SKIP
    >>> build_map(open_workspace("county.gpkg"), coverage="coverage.gpkg")  # doctest: +SKIP
    """
    data = map_data(project, audit=audit, coverage=coverage, plan=plan, network=network, lang=lang)
    return render_map(
        data, township=township, basemap=basemap, tianditu_key=tianditu_key, tier=tier, lang=lang
    ).map


def render_map(
    data: MapData,
    *,
    township: str | None = None,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    tier: str | None = None,
    lang: Lang = "zh",
    vertex_budget: int = VERTEX_BUDGET,
) -> RenderedMap:
    """Compose the map of ``data`` (cut to ``township`` when given)."""
    basemap = check_basemap(basemap, tianditu_key=tianditu_key)
    if tier is not None and data.radii and tier not in data.radii:
        from ..errors import InputError

        msg = f"tier '{tier}' was not measured; measured tiers: {', '.join(sorted(data.radii))}"
        raise InputError(msg)
    township_name = None
    if township is not None:
        data = data.township(township)
        names = data.frame("townships").get("name", [])
        township_name = str(names.iloc[0]) if len(names) else township
    sources, layers, tier = build_layers(data, tier=tier, lang=lang, paths=basemap == "none")
    geometry, tolerances, note = _within_budget(sources, data, vertex_budget)
    if township is None and note and _vertices_of(geometry) > vertex_budget:
        # a county over its budget even at the largest step: the finest boundaries (off at first
        # anyway) are left to the township maps, which draw them unsimplified
        dropped = _fine_sources_to_leave(geometry, vertex_budget)
        if dropped:
            sources = [s for s in sources if s.key not in dropped]
            layers = [layer for layer in layers if layer.source not in dropped]
            geometry, tolerances, note = _within_budget(sources, data, vertex_budget)
            left = f"the {' and '.join(_FINE_NAMES[k] for k in dropped)} are left to the township maps"
            note = f"{note}; {left}" if note else left
    notes = (note,) if note else ()
    if note:
        logger.warning("%s: %s", township_name or data.name, note)
    move = transform(basemap)
    encoded = {
        key: encode_geometry(geoms.to_numpy(), transform=move, decimals=decimals_for(tolerances[key]))
        for key, geoms in geometry.items()
    }

    visible = sum(layer.features for layer in layers if layer.show and layer.kind not in ("paths", "site"))
    south, west, north, east = _bounds(geometry, move)
    m = OfflineMap(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=12,
        tiles=None,
        prefer_canvas=visible > CANVAS_ABOVE,
        max_zoom=19,
        control_scale=False,
    )
    m.get_root().title = (
        f"{data.name}{' · ' + township_name if township_name else ''} {say('map_title', lang)}"
    )
    add_basemap(m, basemap, tianditu_key=tianditu_key)
    bounds = [[south, west], [north, east]]
    Runtime(words=words(lang), lang=lang, sources=encoded, bounds=bounds).add_to(m)
    overlays = {}
    for layer in layers:
        group = folium.FeatureGroup(name=layer.name, show=layer.show, control=False)
        DataLayer(layer).add_to(group)
        group.add_to(m)
        overlays[group.get_name()] = Overlay(
            layer.name, layer.swatch, line=layer.kind in ("paths", "boundary", "gap")
        )
    NamedLayerControl(overlays, collapsed=False, position="topright").add_to(m)
    MapControls(
        title_html=title_html(data, lang=lang, township_name=township_name),
        legend_html=legend_html(data, layers, lang=lang, basemap=basemap),
    ).add_to(m)
    reports = tuple(
        LayerReport(
            layer.key,
            layer.name,
            layer.features,
            _drawn_vertices(encoded[layer.source], geometry[layer.source], layer.index),
            layer.show,
        )
        for layer in layers
    )
    return RenderedMap(m, reports, encoded, tier, notes)


def _within_budget(
    sources: list, data: MapData, budget: int
) -> tuple[dict[str, gpd.GeoSeries], dict[str, float], str | None]:
    return simplify_to_budget(
        {s.key: s.geometry for s in sources},
        budget=budget,
        metric_crs=data.metric_crs,
        coverages=[s.key for s in sources if s.tiles],
        always={"paths": PATHS_TOLERANCE_M},
    )


def _fine_sources_to_leave(geometry: dict[str, gpd.GeoSeries], budget: int) -> list[str]:
    """The sources of :data:`LEFT_TO_TOWNSHIPS` a county map leaves out, finest first, until the
    rest (as simplified at the largest step) is within ``budget``, or all of them."""
    dropped: list[str] = []
    total = _vertices_of(geometry)
    for key in (k for k in LEFT_TO_TOWNSHIPS if k in geometry):
        dropped.append(key)
        total -= vertex_count(geometry[key].to_numpy())
        if total <= budget:
            break
    return dropped


def _vertices_of(geometry: dict[str, gpd.GeoSeries]) -> int:
    """Vertices of every source in ``geometry``."""
    return sum(vertex_count(g.to_numpy()) for g in geometry.values())


def _drawn_vertices(encoded: Encoded, geoms: gpd.GeoSeries, index: np.ndarray | None) -> int:
    if index is None:
        return encoded.vertices
    return vertex_count(geoms.to_numpy()[index])


def _bounds(geometry: dict[str, gpd.GeoSeries], move) -> tuple[float, float, float, float]:
    """South, west, north, east of everything drawn, in the coordinates written."""
    frame = {"townships": geometry["townships"]} if len(geometry.get("townships", ())) else geometry
    boxes = [g.total_bounds for g in frame.values() if len(g) and not np.isnan(g.total_bounds).any()]
    if not boxes:
        return (-1.0, -1.0, 1.0, 1.0)
    stack = np.array(boxes)
    west, south = stack[:, 0].min(), stack[:, 1].min()
    east, north = stack[:, 2].max(), stack[:, 3].max()
    if move is not None:
        (west, east), (south, north) = move(np.array([west, east]), np.array([south, north]))
    return float(south), float(west), float(north), float(east)
