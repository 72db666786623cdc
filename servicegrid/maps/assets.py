"""Offline assets: Leaflet from the ``xstatic-leaflet`` package and the map's own script and style,
inlined into the page so a written map makes no network request.

Folium links Leaflet, jQuery, Bootstrap and Font Awesome from four CDN hosts (the main one is
blocked in China): a map opened offline would be blank. :class:`OfflineMap` is a
:class:`folium.Map` whose ``default_js``/``default_css`` are empty and whose page header carries
Leaflet 1.9.3 (the version folium is written for) and ``static/servicegrid-map.{js,css}`` inline,
with the images Leaflet's stylesheet refers to as ``data:`` URIs. Nothing here needs jQuery,
Bootstrap or icon fonts: markers are circles and small HTML boxes.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import folium
from branca.element import Element

__all__ = ["LEAFLET_VERSION", "OfflineMap", "external_references", "leaflet_files"]

LEAFLET_VERSION = "1.9.3"
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
_CSS_URL = re.compile(r"url\((images/[\w.\-]+\.png)\)")


def leaflet_files() -> Path:
    """The folder of Leaflet's files in ``xstatic-leaflet`` (checked to be the expected version)."""
    from xstatic.pkg import leaflet

    if leaflet.VERSION != LEAFLET_VERSION:
        from ..errors import InputError

        msg = (
            f"xstatic-leaflet ships Leaflet {leaflet.VERSION}; the maps are written for "
            f"{LEAFLET_VERSION} (pip install 'xstatic-leaflet=={LEAFLET_VERSION}.*')"
        )
        raise InputError(msg)
    return Path(leaflet.BASE_DIR)


@cache
def _leaflet_js() -> str:
    text = (leaflet_files() / "leaflet.js").read_text(encoding="utf-8")
    return _script_safe(_SOURCE_MAP.sub("", text))


@cache
def _leaflet_css() -> str:
    base = leaflet_files()

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return _CSS_URL.sub(inline, (base / "leaflet.css").read_text(encoding="utf-8"))


@cache
def _own(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """Text that can sit inside ``<script>`` or ``<style>``: no closing tag within it."""
    if re.search(r"</(script|style)", text, flags=re.IGNORECASE):
        msg = "an inlined asset contains a closing </script> or </style> tag"
        raise ValueError(msg)
    return text


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that carries Leaflet and the servicegrid runtime inline.

    The page declares ``<meta charset="utf-8">`` first, then Leaflet's stylesheet and script,
    then the servicegrid style and script; no CDN link is written.
    """

    default_js: list[tuple[str, str]] = []  # noqa: RUF012  (folium's class attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012

    def render(self, **kwargs: object) -> None:
        figure = self.get_root()
        header = figure.header
        header._children.pop("meta_http", None)  # the charset is declared once, below
        assets = [
            ("meta_charset", '<meta charset="utf-8">'),
            ("leaflet_css", f"<style>{_script_safe(_leaflet_css())}</style>"),
            ("leaflet_js", f"<script>{_leaflet_js()}</script>"),
            ("servicegrid_css", f"<style>{_script_safe(_own('servicegrid-map.css'))}</style>"),
            ("servicegrid_js", f"<script>{_script_safe(_own('servicegrid-map.js'))}</script>"),
        ]
        for index, (name, html) in enumerate(assets):
            if name not in header._children:
                header.add_child(Element(html), name=name, index=index)
        super().render(**kwargs)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"\s*(https?:)?//", value):
                self.found.append(f"<{tag} {name}={value}>")


def external_references(html: str) -> list[str]:
    """Every ``src``/``href`` of the page's tags that points to another host (``http(s)://`` or
    ``//``); the text of scripts and styles is not markup and is not searched."""
    parser = _References()
    parser.feed(html)
    return parser.found
