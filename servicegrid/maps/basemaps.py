"""Basemaps that line up with the data: none (the walking paths drawn instead), Tianditu, OSM, Amap.

- ``none`` (default): no tiles at all, so the map reads without internet; the page draws the
  workspace's walking paths as a light layer instead.
- ``tianditu`` (天地图): vector map and its annotation layer, CGCS2000 (the same as WGS-84 to
  well under a metre at map scale); needs a key from the Tianditu console.
- ``osm``: OpenStreetMap's standard tiles (WGS-84), through :mod:`xyzservices`.
- ``amap`` (高德): Amap tiles are drawn in GCJ-02, about half a kilometre off WGS-84 in most of
  China, more than a compound station's radius. With ``amap`` every overlay is converted with
  :func:`servicegrid.geo.chinacoords.wgs84_to_gcj02` before it is written (:func:`transform`),
  and the legend says so. The provider comes from :mod:`xyzservices` (``Gaode.Normal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import folium
import xyzservices
import xyzservices.providers as xyz

from ..errors import InputError
from ..geo.chinacoords import wgs84_to_gcj02
from .encode import Transform

__all__ = ["Basemap", "add_basemap", "check_basemap", "transform"]

Basemap = Literal["none", "tianditu", "amap", "osm"]

_TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
_TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'


@dataclass(frozen=True)
class _Tiles:
    provider: xyzservices.TileProvider
    overlay: bool = False


def check_basemap(basemap: str, *, tianditu_key: str | None = None) -> Basemap:
    """``basemap`` if it is known (and has its key), else a one-line error naming the choices."""
    if basemap not in get_args(Basemap):
        msg = f"unknown basemap '{basemap}'; choose one of {', '.join(get_args(Basemap))}"
        raise InputError(msg)
    if basemap == "tianditu" and not tianditu_key:
        msg = "the tianditu basemap needs a key (--tianditu-key, from the Tianditu developer console)"
        raise InputError(msg)
    return basemap  # type: ignore[return-value]


def transform(basemap: Basemap) -> Transform | None:
    """How overlay coordinates are converted to line up with ``basemap`` (``None``: as stored)."""
    return wgs84_to_gcj02 if basemap == "amap" else None


def _tiles(basemap: Basemap, tianditu_key: str | None) -> list[_Tiles]:
    if basemap == "osm":
        return [_Tiles(xyz.OpenStreetMap.Mapnik)]
    if basemap == "amap":
        return [_Tiles(xyz.Gaode.Normal)]
    if basemap == "tianditu":
        common = {"subdomains": "01234567", "max_zoom": 18, "html_attribution": _TIANDITU_ATTRIBUTION}
        return [
            _Tiles(
                xyzservices.TileProvider(
                    name=f"Tianditu.{layer}",
                    url=_TIANDITU_URL.replace("{layer}", layer).replace("{key}", str(tianditu_key)),
                    attribution="© Tianditu",
                    **common,
                ),
                overlay=layer == "cva",
            )
            for layer in ("vec", "cva")
        ]
    return []


def add_basemap(m: folium.Map, basemap: Basemap, *, tianditu_key: str | None = None) -> None:
    """Add the tiles of ``basemap`` to ``m`` (nothing for ``none``), left out of the layer control."""
    for tiles in _tiles(basemap, tianditu_key):
        provider = tiles.provider
        folium.TileLayer(
            tiles=provider.build_url(scale_factor="{r}") if "{r}" in provider.url else provider.url,
            attr=provider.html_attribution,
            name=provider.name,
            max_zoom=provider.get("max_zoom", 18),
            subdomains=provider.get("subdomains", "abc"),
            overlay=tiles.overlay,
            control=False,
        ).add_to(m)
