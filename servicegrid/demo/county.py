"""The demo county 示范县: a deterministic, clearly synthetic planning workspace.

:func:`build_demo_county` generates every standard layer of a fictional county placed near
113.6°E, 37.7°N, so the Gauss–Krüger zone (CGCS2000, central meridian 114°E) and the WGS-84
storage path are exercised as with real data. :func:`write_demo_county` writes it as a workspace
GeoPackage labelled "synthetic" plus its walking network as an OpenStreetMap XML file, so the
demo takes the same OSM network path as a real county.

What the county holds:

- a county seat: a jittered street lattice cut by a river that three bridges cross, three
  streets (街道) made of communities (社区), residential compounds (小区) with gates that open onto
  the streets and footpaths inside;
- six townships (乡镇) tiling the rest of the county, administrative villages tiling each
  township, rural settlements (自然村) and a rural road network (a spanning tree with a few loops
  over the settlements; the river is crossed at a few bridges only, so walking distance differs
  from straight-line distance);
- management grids (网格) tiling each village or community, built by clustering ~10-household
  points so that urban grids hold about 300–500 households and rural grids about 100–200; dedicated
  grids (专属网格) are the blocks of schools, hospitals, offices and enterprises; micro-grids (微网格,
  ~10 households) cover a pilot township and a few pilot communities;
- facilities of every tier with a spread of compliance under the standards preset cn-default
  (:data:`~servicegrid.demo.attributes.DEMO_PRESET`): about a quarter model, nearly half
  compliant and the rest non-compliant for one reason each (a missing item, a floor or hall area
  below the minimum, a missing window, no weekend duty or too few opening days, no opening hours
  posted), all read from the preset's tiers, so that its audit grades each facility as
  generated; and candidate sites near compounds that no station serves.

``scale`` makes a county that many times the demo's size, still one county: every area is
``scale`` times larger (a wider county seat with more streets, communities and compounds, a
longer river with more bridges, more townships, villages and settlements, one rural road network
joining them all), so every layer has about ``scale`` times the features and the walking network
is still one connected whole. Scale 1 is the demo county, identical for every seed.

Everything is built in the metric CRS of :mod:`servicegrid.geo.crs` and converted to WGS-84 at
the end. All names are invented; codes use the non-existent province prefix 99.

Each module of :mod:`servicegrid.demo` generates one part: :mod:`~servicegrid.demo.places` (the
county seat's lattice and compounds, the countryside, river, bridges, townships and villages),
:mod:`~servicegrid.demo.demand` (settlements, compounds' households, household points),
:mod:`~servicegrid.demo.grids`, :mod:`~servicegrid.demo.roads`,
:mod:`~servicegrid.demo.facilities` with :mod:`~servicegrid.demo.attributes` (their registers,
from the preset) and :mod:`~servicegrid.demo.candidates`; this module puts them together and
:mod:`~servicegrid.demo.files` writes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..geo.conform import conform
from ..geo.crs import STORAGE_CRS, metric_crs_for_lonlat
from ..geo.workspace import WorkspaceSettings
from ._arrays import _ids
from .attributes import DEMO_PRESET
from .candidates import _build_candidates
from .demand import _build_demand
from .facilities import _build_facilities
from .grids import _build_grids
from .places import DEMO_NAME, DEMO_ORIGIN, MAX_SCALE, _build_city, _build_countryside, _layout
from .roads import _build_rural_roads, _city_paths

__all__ = ["DemoCounty", "build_demo_county", "check_scale"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class DemoCounty:
    """The synthetic demo county: standard workspace layers plus what was used to make them.

    Attributes
    ----------
    layers
        Every standard layer (``servicegrid.geo.schema.LAYERS``) in WGS-84, as a read-only
        mapping; treat the frames as read-only too.
    settings
        Workspace settings (``synthetic=True``).
    seed
        The seed the county was generated from.
    scale
        How many times the demo county's size it is (1: the demo county).
    metric_crs
        The metric CRS the county was built in.
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` of the county in WGS-84, with a small margin.
    facility_profile
        One row per facility: ``id``, ``tier``, the ``grade`` it was generated to have under the
        preset :data:`~servicegrid.demo.attributes.DEMO_PRESET` (the audit's grade ids ``model``, ``compliant``,
        ``noncompliant``), the ``reason`` of a non-compliant grade (``missing_item``,
        ``too_small``, ``missing_window``, ``no_weekend_duty``, ``short_hours`` (fewer weekdays
        open than the tier needs), ``no_hours_posted``; blank otherwise) and what falls short
        (``missing``): the item or window ids, ``floor_area_m2`` or ``hall_area_m2``,
        ``weekend_duty`` or ``opening_hours``. Not written to the workspace.
    """

    layers: Mapping[str, gpd.GeoDataFrame]
    settings: WorkspaceSettings
    seed: int
    scale: int
    metric_crs: CRS
    bounds: tuple[float, float, float, float]
    facility_profile: pd.DataFrame

    @property
    def description(self) -> str:
        """The text stored as every layer's description in the GeoPackage."""
        size = "" if self.scale == 1 else f" at {self.scale}× the demo's size"
        return (
            f"servicegrid demo county {DEMO_NAME}: SYNTHETIC data generated with seed {self.seed}{size}; "
            "all places, names, codes and numbers are fictional"
        )


def check_scale(scale: object) -> int:
    """``scale`` as a whole number from 1 to :data:`~servicegrid.demo.places.MAX_SCALE`.

    Raises
    ------
    InputError
        Naming ``--scale`` (``scale``) and the value.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= MAX_SCALE:
        msg = (
            f"--scale (scale) {scale!r}: must be a whole number from 1 (the demo county) to {MAX_SCALE}, "
            "how many times the demo county's size to generate"
        )
        raise InputError(msg)
    return int(scale)


def build_demo_county(*, seed: int = 0, scale: int = 1) -> DemoCounty:
    """Generate the synthetic demo county, or one ``scale`` times its size.

    The same ``seed`` and ``scale`` always give identical layers; another seed gives another
    county of the same size and structure. Scale 1 is the demo county.

    Parameters
    ----------
    seed
        Seed of the random generator (``numpy.random.default_rng``).
    scale
        How many times the demo county's size (area, and so about every count of features):
        a whole number from 1 to :data:`~servicegrid.demo.places.MAX_SCALE`.

    Returns
    -------
    DemoCounty
        The layers in WGS-84 and the settings (``synthetic=True``).

    Raises
    ------
    InputError
        ``scale`` is not a whole number from 1 to ``MAX_SCALE``.

    Examples
    --------
    >>> county = build_demo_county(seed=0)
    >>> from servicegrid.geo.schema import LAYERS
    >>> county.settings.synthetic, sorted(county.layers) == sorted(LAYERS)
    (True, True)
    >>> county.metric_crs.to_epsg()   # CGCS2000 3-degree Gauss–Krüger, central meridian 114°E
    4547
    """
    scale = check_scale(scale)
    rng = np.random.default_rng(seed)
    crs = metric_crs_for_lonlat(*DEMO_ORIGIN)
    ox, oy = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True).transform(*DEMO_ORIGIN)
    offset = np.array([ox, oy])

    city = _build_city(rng, _layout(scale))
    paths = _city_paths(rng, city)
    rural = _build_countryside(rng, city)
    units = _build_demand(rng, city, rural)
    grids = _build_grids(rng, city, rural, units)
    rural_roads = _build_rural_roads(rng, city, rural, units)
    facilities, profile = _build_facilities(rng, city, rural, units)
    candidates = _build_candidates(rng, city, units, facilities)

    def frame(layer: str, data: Mapping[str, np.ndarray]) -> gpd.GeoDataFrame:
        columns = {key: value for key, value in data.items() if key != "geometry"}
        moved = shapely.transform(data["geometry"], lambda xy: xy + offset)
        return conform(gpd.GeoDataFrame(columns, geometry=moved, crs=crs), layer).to_crs(STORAGE_CRS)

    roads = {
        key: np.concatenate([paths["roads"][key], rural_roads[key]])
        for key in ("highway", "name", "geometry")
    }
    roads["id"] = _ids("R", len(roads["highway"]), 5)
    gates = {
        "id": _ids("K", len(paths["gates"]["compound"]), 5),
        "compound_id": units["compounds"]["id"][paths["gates"]["compound"]],
        "geometry": paths["gates"]["geometry"],
    }
    layers = {
        "townships": frame("townships", rural["townships"]),
        "villages": frame("villages", units["villages"]),
        "grids": frame("grids", grids["grids"]),
        "microgrids": frame("microgrids", grids["microgrids"]),
        "compounds": frame("compounds", units["compounds"]),
        "settlements": frame("settlements", units["settlements"]),
        "facilities": frame("facilities", facilities),
        "gates": frame("gates", gates),
        "roads": frame("roads", roads),
        "candidates": frame("candidates", candidates),
    }
    county = shapely.transform(rural["county"], lambda xy: xy + offset)
    west, south, east, north = gpd.GeoSeries([county], crs=crs).to_crs(STORAGE_CRS).total_bounds
    pad = 0.002  # degrees, about 200 m: the margin of <bounds> in the OSM file
    bounds = (float(west - pad), float(south - pad), float(east + pad), float(north + pad))
    logger.info(
        "demo county (seed %d, scale %d): %s",
        seed,
        scale,
        ", ".join(f"{len(f)} {name}" for name, f in layers.items()),
    )
    label = "合成示例数据" if scale == 1 else f"合成示例数据，{scale}倍规模"
    return DemoCounty(
        layers=MappingProxyType(layers),
        settings=WorkspaceSettings(name=f"{DEMO_NAME}（{label}）", preset=DEMO_PRESET, synthetic=True),
        seed=seed,
        scale=scale,
        metric_crs=crs,
        bounds=bounds,
        facility_profile=profile,
    )
