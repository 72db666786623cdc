"""The folium elements of a servicegrid map: the runtime and its data, one element per layer, the
layer control, the title, the legend, and the search box and measuring tool.

Folium's plugins for search (Leaflet.Search) and measuring (Leaflet.Measure) load their scripts
from CDNs, and no maintained Python package ships them; the page's own script
(``static/servicegrid-map.js``) has both, a few dozen lines each, and these elements switch them
on. Folium's :class:`~folium.map.LayerControl` writes layer names as ``\\uXXXX`` escapes; the one
here writes them as UTF-8, each with a colour swatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from branca.element import MacroElement
from folium.map import LayerControl
from folium.template import Template

from .encode import Encoded, dumps
from .layers import Layer

__all__ = ["DataLayer", "MapControls", "NamedLayerControl", "Overlay", "Runtime"]


class Runtime(MacroElement):
    """Hands the page's script its words and every geometry source (each written once), and
    fits the map to ``bounds`` before anything is drawn."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        SG.init({{ this._parent.get_name() }}, {{ this.options }});
        {%- for key, kind, data, decimals in this.sources %}
        SG.source({{ key }}, {{ kind }}, {{ data }}, {{ decimals }});
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        words: Mapping[str, str],
        lang: str,
        sources: Mapping[str, Encoded],
        bounds: Sequence[Sequence[float]],
    ) -> None:
        super().__init__()
        self._name = "Runtime"
        self.options = dumps({"words": dict(words), "lang": lang, "bounds": [list(b) for b in bounds]})
        self.sources = [(dumps(key), dumps(enc.kind), enc.json, enc.decimals) for key, enc in sources.items()]


class DataLayer(MacroElement):
    """Draws one :class:`~servicegrid.maps.layers.Layer` into its parent feature group."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        SG.layer({{ this._parent.get_name() }}, {{ this.spec }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        self._name = "DataLayer"
        spec = {
            "key": layer.key,
            "name": layer.name,
            "source": layer.source,
            "kind": layer.kind,
            "keys": list(layer.keys),
            "rows": layer.rows,
            "style": layer.style,
            "index": None if layer.index is None else [int(i) for i in layer.index],
            "search": layer.search,
            "labels": layer.labels,
        }
        self.spec = dumps(spec)


class Overlay:
    """What the layer control shows for a feature group: its name and swatch colour."""

    def __init__(self, name: str, swatch: str, *, line: bool = False) -> None:
        self.name = name
        self.swatch = swatch
        self.line = line

    def html(self) -> str:
        shape = "sg-swatch sg-swatch-line" if self.line else "sg-swatch"
        return f'<span class="{shape}" style="background:{escape(self.swatch)}"></span>{escape(self.name)}'


class NamedLayerControl(LayerControl):
    """Folium's layer control with names written literally (UTF-8) and a swatch before each.

    ``overlays`` maps a feature group's name in the page to its :class:`Overlay`.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control.layers(
            {},
            {
            {%- for label, name in this.named %}
                {{ label }}: {{ name }},
            {%- endfor %}
            },
            {{ this.options|tojavascript }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, overlays: Mapping[str, Overlay], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._overlays = dict(overlays)
        self.named: list[tuple[str, str]] = []

    def render(self, **kwargs: object) -> None:
        self.named = [(dumps(overlay.html()), name) for name, overlay in self._overlays.items()]
        super().render(**kwargs)


class MapControls(MacroElement):
    """The title, the legend, the search box, the measuring tool; records when the first frame
    was drawn (``window.servicegrid.rendered``) and when every layer was (``.complete``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var title = L.DomUtil.create("div", "sg-title", map.getContainer());
            title.innerHTML = {{ this.title }};
            L.DomEvent.disableClickPropagation(title);
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var box = L.DomUtil.create("div", "sg-legend leaflet-control");
                box.innerHTML = {{ this.legend }};
                return box;
            };
            legend.addTo(map);
            L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
            SG.controls(map, {{ this.options }});
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        title_html: str,
        legend_html: str,
        search: bool = True,
        measure: bool = True,
    ) -> None:
        super().__init__()
        self._name = "MapControls"
        self.title = dumps(title_html)
        self.legend = dumps(legend_html)
        self.options = dumps({"search": search, "measure": measure})
