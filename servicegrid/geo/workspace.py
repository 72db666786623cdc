"""The planning workspace: one GeoPackage holding the standard layers and the settings.

A workspace is read whole into a :class:`Workspace` (layers as GeoDataFrames in WGS-84) and
written back with :func:`write_layers`, which always writes to a temporary copy beside the
file and renames it over the original, so an interrupted write leaves the previous workspace
intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pyproj import CRS

from ..errors import CRSError, InputError
from .chinacoords import CoordSystem
from .crs import STORAGE_CRS, metric_crs, metric_crs_for_lonlat, to_storage
from .schema import LAYERS

__all__ = [
    "SETTINGS_TABLE",
    "Workspace",
    "WorkspaceSettings",
    "atomic_path",
    "read_workspace",
    "write_layers",
]

SETTINGS_TABLE = "servicegrid_settings"


class WorkspaceSettings(BaseModel):
    """Settings stored inside the workspace (table ``servicegrid_settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", description="Name of the county or district the workspace plans.")
    preset: str = Field("cn-default", description="Standards preset name or path to a preset YAML file.")
    source_coords: CoordSystem = Field(
        "wgs84", description="Coordinate system the source registers used (for the record)."
    )
    radii_m: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Walking radius per tier id, overriding the preset (metres)."
    )
    walk_speed_m_per_min: float = Field(60.0, gt=0, description="Walking speed for minutes (m/min).")
    snap_limit_m: float = Field(
        300.0, gt=0, description="Points farther than this from every path are unreachable (metres)."
    )
    synthetic: bool = Field(False, description="True for generated data such as the demo county.")


@dataclass(frozen=True)
class Workspace:
    """The layers and settings of one workspace, in WGS-84.

    ``settings_problems`` lists the settings that could not be read, as (key, message) pairs;
    those settings keep their defaults and validation reports each one as an error.
    """

    path: Path | None
    layers: Mapping[str, gpd.GeoDataFrame]
    settings: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    settings_problems: tuple[tuple[str, str], ...] = ()

    def __contains__(self, name: str) -> bool:
        return name in self.layers and len(self.layers[name]) > 0

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name``, or an empty frame with its columns when the workspace lacks it."""
        if name in self.layers:
            return self.layers[name]
        columns = LAYERS[name].column_names if name in LAYERS else []
        return gpd.GeoDataFrame({c: pd.Series(dtype="string") for c in columns}, geometry=[], crs=STORAGE_CRS)

    @cached_property
    def metric_crs(self) -> CRS:
        """The metric CRS of the planning area (see :mod:`servicegrid.geo.crs`).

        Chosen from the townships, else the villages, else the middle of the demand units (the
        median position, so that one compound far away does not move it), else every layer: a
        facility with wrong coordinates never changes how the county is measured.
        """
        for name in ("townships", "villages"):
            if name in self:
                return metric_crs(self.layers[name])
        demand = [self.layers[n] for n in ("compounds", "settlements", "grids") if n in self]
        frames = demand or [g for g in self.layers.values() if len(g)]
        if not frames:
            msg = "cannot choose a metric CRS: every layer is empty"
            raise CRSError(msg)
        return metric_crs_for_lonlat(*_median_position(frames))

    def metric(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` in the workspace's metric CRS."""
        return self.layer(name).to_crs(self.metric_crs)

    def with_layers(self, **layers: gpd.GeoDataFrame) -> Workspace:
        """A copy with ``layers`` replaced or added."""
        return replace(self, layers={**self.layers, **layers})


def _median_position(frames: list[gpd.GeoDataFrame]) -> tuple[float, float]:
    """The median longitude and latitude of the features of ``frames`` (any CRS)."""
    lon, lat = [], []
    for frame in frames:
        geom = frame.geometry
        geom = geom[~(geom.is_empty | geom.isna())]
        if len(geom) == 0:
            continue
        bounds = geom.to_crs(STORAGE_CRS).bounds if not geom.crs.equals(STORAGE_CRS) else geom.bounds
        lon.append((bounds["minx"] + bounds["maxx"]).to_numpy() / 2)
        lat.append((bounds["miny"] + bounds["maxy"]).to_numpy() / 2)
    if not lon:
        msg = "cannot choose a metric CRS: every layer is empty"
        raise CRSError(msg)
    return float(np.nanmedian(np.concatenate(lon))), float(np.nanmedian(np.concatenate(lat)))


def read_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read every standard layer and the settings of the workspace at ``path``.

    Settings that cannot be read keep their defaults and are listed in
    :attr:`Workspace.settings_problems`.

    Raises
    ------
    InputError
        If the file is missing or is not a GeoPackage.
    """
    path = Path(path)
    if not path.exists():
        msg = "workspace not found; create one with 'servicegrid import' or 'servicegrid demo'"
        raise InputError(msg, source=path)
    try:
        listed = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"not a readable GeoPackage ({exc})"
        raise InputError(msg, source=path) from exc
    names = {str(row[0]) for row in listed}
    layers = {name: _read_layer(path, name) for name in LAYERS if name in names}
    settings, problems = _read_settings(path) if SETTINGS_TABLE in names else (WorkspaceSettings(), [])
    return Workspace(path=path, layers=layers, settings=settings, settings_problems=tuple(problems))


def _read_layer(path: Path, name: str) -> gpd.GeoDataFrame:
    frame = pyogrio.read_dataframe(path, layer=name, use_arrow=True)
    if frame.crs is None:
        msg = "layer has no coordinate system; re-import it with 'servicegrid import'"
        raise InputError(msg, source=path, layer=name)
    frame = to_storage(frame)
    text = [c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == object]
    return frame.astype({c: "string" for c in text}) if text else frame


def _read_settings(path: Path) -> tuple[WorkspaceSettings, list[tuple[str, str]]]:
    """The settings table, with every value that cannot be read reported and left at its default."""
    table = pyogrio.read_dataframe(path, layer=SETTINGS_TABLE, read_geometry=False)
    raw: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    for key, value in zip(table["key"].astype(str), table["value"], strict=True):
        try:
            raw[key] = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            problems.append((key, f"{value!r} is not a readable value (JSON text expected)"))
    try:
        return WorkspaceSettings(**raw), problems
    except ValidationError as exc:
        bad = set()
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            where = ".".join(map(str, error["loc"]))
            got = raw.get(key)
            problems.append((where or key, f"{error['msg']} (got {got!r})"))
            bad.add(key)
        kept = {k: v for k, v in raw.items() if k not in bad}
        return WorkspaceSettings(**kept), problems


class atomic_path:
    """A temporary path beside ``target`` that replaces ``target`` only if the block succeeds.

    With ``copy=True`` the temporary file starts as a copy of ``target`` (when it exists), so a
    block can change part of a multi-layer file.

    Examples
    --------
    >>> with atomic_path(Path("out.csv")) as tmp:   # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """

    def __init__(self, target: str | os.PathLike[str], *, copy: bool = False) -> None:
        self.target = Path(target)
        self.copy = copy

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{self.target.stem}.", suffix=self.target.suffix, dir=self.target.parent
        )
        os.close(fd)
        self.tmp = Path(name)
        if self.copy and self.target.exists():
            shutil.copyfile(self.target, self.tmp)
        else:
            self.tmp.unlink()
        return self.tmp

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


def write_layers(
    path: str | os.PathLike[str],
    layers: Mapping[str, pd.DataFrame],
    *,
    settings: WorkspaceSettings | None = None,
    description: str | None = None,
) -> Path:
    """Write ``layers`` (and ``settings``) into the GeoPackage at ``path``, atomically.

    Layers not named in ``layers`` are kept. Geometries are stored in WGS-84; list columns as
    '; '-separated text so QGIS and Excel show them as they are. A plain DataFrame (no geometry)
    becomes an attribute table, as summaries are.
    """
    path = Path(path)
    with atomic_path(path, copy=True) as tmp:
        for name, frame in layers.items():
            out = _without_reserved_names(to_storage(frame) if isinstance(frame, gpd.GeoDataFrame) else frame)
            options = {"DESCRIPTION": description} if description else None
            try:
                pyogrio.write_dataframe(
                    out, tmp, layer=name, driver="GPKG", layer_options=options, promote_to_multi=False
                )
            except (pyogrio.errors.DataLayerError, pyogrio.errors.FieldError, OSError) as exc:
                msg = f"cannot write the layer: {exc}"
                raise InputError(msg, source=path, layer=name) from exc
        if settings is not None:
            table = pd.DataFrame(
                {
                    "key": list(settings.model_dump()),
                    "value": [json.dumps(v, ensure_ascii=False) for v in settings.model_dump().values()],
                }
            )
            pyogrio.write_dataframe(table, tmp, layer=SETTINGS_TABLE, driver="GPKG")
    return path


# GeoPackage reserves these names for the feature id and geometry columns.
_RESERVED = ("fid", "geom")


def _without_reserved_names(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with attribute columns named like GeoPackage's own columns renamed (geom → geom_1)."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    clash = [c for c in frame.columns if c != geometry and str(c).lower() in _RESERVED]
    return frame.rename(columns={c: f"{c}_1" for c in clash}) if clash else frame
