"""Writing the maps: ``county.html`` and ``townships/<code>_<name>.html`` (named the same safe way
as the audit workbooks), each written atomically, with its size and vertices per layer.

:func:`write_maps` is what ``servicegrid map`` runs; :func:`write_stage_maps` what ``servicegrid
demo`` and ``servicegrid batch`` add after the pipeline's stages (the pipeline cannot import the
maps, which sit above it, so :func:`servicegrid.pipeline.run_demo` takes :func:`write_demo_maps`
as its ``maps`` step): the maps into ``<out>/maps/``, a PNG per township beside them and on the
summary sheet of its audit workbook.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..geo.workspace import atomic_path
from ..progress import Progress, Steps
from ..standards.workbook import township_file_name
from .basemaps import Basemap
from .render import VERTEX_BUDGET, LayerReport, render_map

if TYPE_CHECKING:
    from ..pipeline import DemoRun, StagesRun
    from .data import MapData
    from .text import Lang

__all__ = ["MapFile", "MapsWritten", "map_file_name", "write_demo_maps", "write_maps", "write_stage_maps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapFile:
    """One written map: where, for which township (None: the county), how big, what it holds."""

    path: Path
    township_id: str | None
    title: str
    bytes: int
    vertices: int
    layers: tuple[LayerReport, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapsWritten:
    """The county map, the township maps and the township pictures written (``png``: the
    pictures' bytes by township id, for :func:`~servicegrid.maps.pictures.add_pictures`)."""

    county: MapFile | None
    townships: tuple[MapFile, ...]
    pictures: tuple[Path, ...] = ()
    png: Mapping[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def maps(self) -> tuple[MapFile, ...]:
        """Every map written, the county first."""
        return ((self.county,) if self.county else ()) + self.townships

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written."""
        return tuple(m.path for m in self.maps) + self.pictures


def map_file_name(code: str | None, name: str | None, township_id: str, *, suffix: str = ".html") -> str:
    """A township map's file name: its workbook's name with ``suffix``.

    Examples
    --------
    >>> map_file_name("610101001", "城关镇", "T1")
    '610101001_城关镇.html'
    """
    return township_file_name(code, name, township_id).removesuffix(".xlsx") + suffix


def write_maps(
    out_dir: str | os.PathLike[str],
    data: MapData,
    *,
    townships: Sequence[str] | None = None,
    county: bool = True,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    tier: str | None = None,
    lang: Lang = "zh",
    vertex_budget: int = VERTEX_BUDGET,
    pictures: bool = True,
    progress: Progress | None = None,
) -> MapsWritten:
    """Write the county map and one map per township (``townships``: those ids only) into
    ``out_dir``, and with ``pictures`` each township's PNG beside its map."""
    out_dir = Path(out_dir)
    table = data.townships
    wanted = list(table["township_id"]) if townships is None else list(townships)
    for tid in wanted:
        data.township(tid)  # an unknown id is refused before anything is written
    step = Steps(progress, int(county) + len(wanted) + int(pictures and bool(wanted)))
    county_file = None
    if county:
        step("county map")
        county_file = _write(
            out_dir / "county.html", data, None, basemap, tianditu_key, tier, lang, vertex_budget
        )
    files = []
    for tid in wanted:
        row = table[table["township_id"] == tid].iloc[0]
        step(f"map of {row['name']}")
        path = out_dir / "townships" / map_file_name(_text(row["code"]), _text(row["name"]), tid)
        files.append(_write(path, data, tid, basemap, tianditu_key, tier, lang, vertex_budget))
    written_pictures: list[Path] = []
    drawn: dict[str, bytes] = {}
    if pictures and wanted:
        from .pictures import township_pictures

        step("township pictures")
        drawn = township_pictures(data, townships=wanted, lang=lang)
        for tid, png in drawn.items():
            row = table[table["township_id"] == tid].iloc[0]
            path = (
                out_dir
                / "townships"
                / map_file_name(_text(row["code"]), _text(row["name"]), tid, suffix=".png")
            )
            with atomic_path(path) as tmp:
                tmp.write_bytes(png)
            written_pictures.append(path)
    step.finish()
    return MapsWritten(county_file, tuple(files), tuple(written_pictures), drawn)


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _write(
    path: Path,
    data: MapData,
    township: str | None,
    basemap: Basemap,
    tianditu_key: str | None,
    tier: str | None,
    lang: Lang,
    vertex_budget: int,
) -> MapFile:
    rendered = render_map(
        data,
        township=township,
        basemap=basemap,
        tianditu_key=tianditu_key,
        tier=tier,
        lang=lang,
        vertex_budget=vertex_budget,
    )
    html = rendered.map.get_root().render()
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    size = path.stat().st_size
    logger.info("wrote %s: %.2f MB, %d vertices", path, size / 1e6, rendered.vertices)
    return MapFile(
        path=path,
        township_id=township,
        title=rendered.map.get_root().title or "",
        bytes=size,
        vertices=rendered.vertices,
        layers=rendered.layers,
        notes=rendered.notes,
    )


def write_stage_maps(
    out: str | os.PathLike[str], run: StagesRun | DemoRun, *, plan_tier: str = "compound_station"
) -> tuple[Path, ...]:
    """The maps of a run of every stage (:func:`servicegrid.pipeline.run_stages`): every map into
    ``<out>/maps/``, and each township's picture also on the summary sheet of its audit workbook
    in ``<out>/audit/townships/``. Returns the files written."""
    from .data import map_data
    from .pictures import add_pictures

    out = Path(out)
    lang = run.audit.lang
    data = map_data(
        run.project, audit=run.audit, coverage=run.coverage, plan=run.plan, plan_tier=plan_tier, lang=lang
    )
    written = write_maps(out / "maps", data, lang=lang)
    workbooks = add_pictures(out / "audit", written.png, data, lang=lang)
    logger.info("added township pictures to %d audit workbooks", len(workbooks))
    return written.paths


def write_demo_maps(run: DemoRun) -> tuple[Path, ...]:
    """What ``servicegrid demo`` draws: :func:`write_stage_maps` beside the demo workspace."""
    return write_stage_maps(run.files.workspace.parent, run)
