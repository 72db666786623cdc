"""The planning workspace: one GeoPackage holding the standard layers and the settings.

A workspace is read whole into a :class:`Workspace` (layers as GeoDataFrames in WGS-84) and
written back with :func:`write_layers`, which always writes to a temporary copy beside the
file and renames it over the original, so an interrupted write leaves the previous workspace
intact.

A GeoPackage is an SQLite database, which another program (QGIS) may hold open, in WAL mode
with committed edits still in its ``-wal`` file. Copying the main file without them and renaming
the copy over it would lose those edits and leave QGIS writing a WAL that belongs to another
file, so :func:`check_not_open` refuses a workspace another process has open ("is open in
another program") and folds a WAL left behind by a program that has gone into the file first.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
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
    "OPEN_ELSEWHERE",
    "SETTINGS_TABLE",
    "Workspace",
    "WorkspaceSettings",
    "atomic_path",
    "check_not_open",
    "clean_stale_temps",
    "read_workspace",
    "write_layers",
]

SETTINGS_TABLE = "servicegrid_settings"
OPEN_ELSEWHERE = (
    "is open in another program (close it in QGIS first, or save your edits and close the project)"
)


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
    walk_speed_m_per_min: float = Field(
        60.0, gt=0, allow_inf_nan=False, description="Walking speed for minutes (m/min)."
    )
    snap_limit_m: float = Field(
        300.0,
        gt=0,
        allow_inf_nan=False,
        description="Points farther than this from every path are unreachable (metres).",
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
        if "locked" in str(exc).lower() or _open_elsewhere(path):
            raise InputError(OPEN_ELSEWHERE, source=path) from exc
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
            got = error.get("input", raw.get(key))  # the value at fault, not the whole mapping
            problems.append((where or key, f"{error['msg']} (got {got!r})"))
            bad.add(key)
        kept = {k: v for k, v in raw.items() if k not in bad}
        return WorkspaceSettings(**kept), problems


STALE_AFTER_S = 600.0
"""A temporary file of unknown writer older than this (seconds) is left over from a killed run."""
_SIDECARS = r"(?:-wal|-shm|-journal)?"


def clean_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed run left beside ``target``; returns those removed.

    :class:`atomic_path` names its files ``.<stem>.<pid>.<random><suffix>`` (the audit export
    its staging folders likewise): one whose writer
    process is gone is stale, one whose process runs is never touched. Files named without the
    pid (by older versions) count as stale after :data:`STALE_AFTER_S`.
    """
    import re
    import time

    target = Path(target)
    folder = target.parent
    if not folder.is_dir():
        return []
    stem, suffix = re.escape(target.stem), re.escape(target.suffix)
    with_pid = re.compile(rf"^\.{stem}\.(\d+)\.[A-Za-z0-9_]+{suffix}{_SIDECARS}$")
    folder_pid = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[A-Za-z0-9_]+$")
    legacy = re.compile(rf"^\.{stem}\.[A-Za-z0-9_]{{8}}{suffix}{_SIDECARS}$")
    removed = []
    now = time.time()
    for entry in folder.iterdir():
        match = with_pid.match(entry.name) or folder_pid.match(entry.name)
        if match:
            stale = not _alive(int(match.group(1)))
        elif legacy.match(entry.name):
            stale = now - entry.stat().st_mtime > STALE_AFTER_S
        else:
            continue
        if stale:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask_mode(target: Path) -> int:
    """The mode a file written at ``target`` should have: the old file's, else 0o666 less the umask."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class atomic_path:
    """A temporary path beside ``target`` that replaces ``target`` only if the block succeeds.

    With ``copy=True`` the temporary file starts as a copy of ``target`` (when it exists), so a
    block can change part of a multi-layer file. ``before_replace`` runs right before the
    rename and may refuse it by raising. The file written keeps the old file's permissions, or
    gets the user's umask (not the 0600 of a private temporary file); temporary files that a
    killed run left beside ``target`` are removed first (:func:`clean_stale_temps`).

    Examples
    --------
    >>> with atomic_path(Path("out.csv")) as tmp:   # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        copy: bool = False,
        before_replace: Callable[[], None] | None = None,
    ) -> None:
        self.target = Path(target)
        self.copy = copy
        self.before_replace = before_replace

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(self.target)
        fd, name = tempfile.mkstemp(
            prefix=f".{self.target.stem}.{os.getpid()}.", suffix=self.target.suffix, dir=self.target.parent
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
            try:
                if self.before_replace is not None:
                    self.before_replace()
                os.chmod(self.tmp, _umask_mode(self.target))
            except BaseException:
                self.tmp.unlink(missing_ok=True)
                raise
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


def _shm_locked(path: Path) -> bool:
    """Whether another process holds the SQLite shared-memory file of ``path`` open: every
    connection to a WAL database keeps a read lock on its ``-shm`` byte 128 (SQLite's DMS lock)."""
    shm = Path(f"{path}-shm")
    if not shm.is_file():
        return False
    try:
        import fcntl
        import struct
    except ImportError:  # not POSIX: fall back on the size of the WAL
        return Path(f"{path}-wal").is_file() and Path(f"{path}-wal").stat().st_size > 0
    with open(shm, "rb") as handle:
        probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 128, 1, 0)
        answer = fcntl.fcntl(handle, fcntl.F_GETLK, probe)
    return struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK


def _open_elsewhere(path: Path) -> bool:
    """Whether another process has the database open (WAL) or locked (rollback journal)."""
    if _shm_locked(path):
        return True
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return False
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc).lower()
    except sqlite3.DatabaseError:
        return False
    finally:
        con.close()
    return False


def check_not_open(path: str | os.PathLike[str]) -> None:
    """Refuse to rewrite a GeoPackage another program has open; fold a left-over WAL into it.

    A ``-wal`` that no process holds (a program that crashed or was killed) is checkpointed into
    the main file through SQLite, so its committed edits are kept; a database another process
    has open or locked is refused with :data:`OPEN_ELSEWHERE`.

    Raises
    ------
    InputError
        The workspace is open in another program.
    """
    import sqlite3

    path = Path(path)
    if not path.is_file():
        return
    if _shm_locked(path):
        raise InputError(OPEN_ELSEWHERE, source=path)
    try:
        con = sqlite3.connect(path, timeout=0.2)
    except sqlite3.Error:
        return  # not a database: the GeoPackage driver says so
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            busy, _log, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise InputError(OPEN_ELSEWHERE, source=path)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise InputError(OPEN_ELSEWHERE, source=path) from exc
    except sqlite3.DatabaseError:
        return
    finally:
        con.close()


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
    check_not_open(path)
    with atomic_path(path, copy=True, before_replace=lambda: _refuse_if_opened(path)) as tmp:
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


def _refuse_if_opened(path: Path) -> None:
    """Right before the rename: refuse if another program opened the workspace meanwhile."""
    wal = Path(f"{path}-wal")
    if _shm_locked(path) or (wal.is_file() and wal.stat().st_size > 0):
        raise InputError(OPEN_ELSEWHERE, source=path)


# GeoPackage reserves these names for the feature id and geometry columns.
_RESERVED = ("fid", "geom")


def _without_reserved_names(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with attribute columns named like GeoPackage's own columns renamed (geom → geom_1)."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    clash = [c for c in frame.columns if c != geometry and str(c).lower() in _RESERVED]
    return frame.rename(columns={c: f"{c}_1" for c in clash}) if clash else frame
