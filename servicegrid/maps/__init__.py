"""Coverage maps planners open in a browser, offline: one self-contained HTML file per county and
per township, and a static picture per township for its audit workbook.

- :func:`build_map` — a project and its results in, a :class:`folium.Map` out (for a notebook);
- :func:`write_maps` — ``county.html`` and ``townships/<code>_<name>.html`` into a folder, with
  the size and vertices of each (what ``servicegrid map`` runs);
- :func:`write_demo_maps` — what ``servicegrid demo`` adds: the maps into ``<out>/maps/`` and
  a picture on the summary sheet of every township workbook;
- :func:`township_pictures`, :func:`add_pictures` — the static PNG maps (matplotlib) and
  putting them into the audit workbooks.

The parts: :mod:`.data` (what a map shows), :mod:`.layers` (what each layer draws),
:mod:`.encode` (compact coordinates and the vertex budget), :mod:`.basemaps`, :mod:`.assets`
(Leaflet inlined), :mod:`.controls` and :mod:`.legend` (the page's controls), :mod:`.render`,
:mod:`.files` and :mod:`.pictures`. Maps read results through :mod:`servicegrid.pipeline` only.
"""

from __future__ import annotations

from .data import MapData, map_data
from .files import MapFile, MapsWritten, write_demo_maps, write_maps, write_stage_maps
from .pictures import add_pictures, township_pictures
from .render import RenderedMap, build_map, render_map

__all__ = [
    "MapData",
    "MapFile",
    "MapsWritten",
    "RenderedMap",
    "add_pictures",
    "build_map",
    "map_data",
    "render_map",
    "township_pictures",
    "write_demo_maps",
    "write_maps",
    "write_stage_maps",
]
