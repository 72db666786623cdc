"""Opening a workspace: the checked project, its preset and its walking network."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import pandas as pd

from ..errors import WorkspaceErrors
from ..geo.findings import count_errors
from ..geo.validate import validate_layers
from ..geo.workspace import Workspace, WorkspaceSettings, read_workspace
from ..standards.loader import load_preset, resolve_preset_path
from ..standards.models import Preset

if TYPE_CHECKING:
    from ..coverage.network import StreetNetwork

__all__ = [
    "CACHE_FOLDER",
    "Lang",
    "Project",
    "choose_preset",
    "load_network",
    "open_workspace",
    "require_valid",
]


CACHE_FOLDER = ".servicegrid-cache"  # beside the workspace: cached walking networks
Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Project:
    """An opened workspace: its layers conformed and checked, the preset it is planned with and
    everything that was found on the way.

    ``workspace`` holds the conformed layers (canonical column names and types, enumerations and
    tiers by their canonical ids, parent ids filled, invalid geometries repaired) and ``raw`` the
    layers as they are stored. ``findings`` has one row per problem (see
    :mod:`servicegrid.geo.findings`); ``notes`` says what opening filled in.
    """

    workspace: Workspace
    raw: Workspace
    preset: Preset
    findings: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    @property
    def path(self) -> Path | None:
        """The workspace file, if it was read from one."""
        return self.workspace.path

    @property
    def settings(self) -> WorkspaceSettings:
        """The workspace settings."""
        return self.workspace.settings

    @property
    def errors(self) -> int:
        """Number of error findings: a stage refuses the project when there is any."""
        return count_errors(self.findings)

    @property
    def warnings(self) -> pd.DataFrame:
        """The warning findings (the stages go on past them)."""
        return self.findings[self.findings["severity"] == "warning"].reset_index(drop=True)

    @property
    def cache_dir(self) -> Path | None:
        """Where walking networks are cached: beside the workspace file."""
        return self.path.parent / CACHE_FOLDER if self.path is not None else None


def choose_preset(workspace: Workspace, preset: str | os.PathLike[str] | Preset | None = None) -> Preset:
    """The preset given, else the workspace's setting (a relative path is relative to the workspace)."""
    if isinstance(preset, Preset):
        return preset
    name = preset or workspace.settings.preset
    base = workspace.path.parent if workspace.path is not None else None
    return load_preset(resolve_preset_path(name, relative_to=base))


def open_workspace(
    source: str | os.PathLike[str] | Workspace,
    *,
    preset: str | os.PathLike[str] | Preset | None = None,
) -> Project:
    """Read, conform, fill and validate a workspace: what every stage starts from.

    Parameters
    ----------
    source
        A workspace GeoPackage, or a :class:`~servicegrid.geo.workspace.Workspace` built in memory.
    preset
        Standards preset (name, YAML path or loaded preset); default the workspace's setting.

    Returns
    -------
    Project
        Bad values never raise: each is a finding (layer, id, row, field, value, what was
        expected) and the value is blank in the conformed layers.

    Raises
    ------
    InputError
        The file is missing or is not a GeoPackage.
    StandardsError
        The preset cannot be loaded.
    """
    raw = source if isinstance(source, Workspace) else read_workspace(source)
    chosen = choose_preset(raw, preset)
    report = validate_layers(raw, vocabularies={"tier": chosen.tier_vocabulary})
    return Project(
        workspace=report.workspace, raw=raw, preset=chosen, findings=report.findings, notes=report.notes
    )


def require_valid(project: Project) -> None:
    """Refuse a project whose workspace has errors (the stages call this first)."""
    if project.errors:
        raise WorkspaceErrors(project.findings, source=project.path)


def load_network(
    project: Project,
    source: str | os.PathLike[str] | None = None,
    *,
    include_private: bool = False,
) -> StreetNetwork | None:
    """The walking network: the file ``source``, else the workspace's ``roads`` layer, else none.

    Built in the workspace's metric CRS and cached beside the workspace (:attr:`Project.cache_dir`),
    so the second run loads it in a fraction of a second. ``network.summary()`` and
    ``network.problems`` say what was built and what was left out.
    """
    from ..coverage.cache import load_network as build_or_load

    if source is not None:
        chosen: Path | gpd.GeoDataFrame = Path(source)
    elif "roads" in project.workspace:
        chosen = project.workspace.layer("roads")
    else:
        return None
    return build_or_load(
        chosen, cache_dir=project.cache_dir, crs=project.workspace.metric_crs, include_private=include_private
    )
