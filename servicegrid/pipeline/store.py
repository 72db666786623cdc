"""Writing imported layers into a workspace: added, replaced, merged or kept, with parent ids filled."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd

from ..errors import InputError
from ..geo.hierarchy import fill_parent_ids
from ..geo.workspace import Workspace, WorkspaceSettings, read_workspace, write_layers

__all__ = ["Stored", "community_point_notes", "store_layers"]


@dataclass(frozen=True)
class Stored:
    """Layers written into a workspace: which were given, what happened to each, the notes.

    ``added``: layers the workspace did not have; ``replaced``: layer → (rows before, rows
    now); ``merged``: layer → (rows kept, rows added, incoming rows that were already there);
    ``kept``: layers the workspace already had and that were left as they were → (rows in the
    workspace, rows offered); ``also_changed``: other layers whose blank parent ids the new
    layers filled; ``workspace``: the workspace as it stands after the write.
    """

    path: Path
    given: tuple[str, ...]
    also_changed: tuple[str, ...]
    notes: tuple[str, ...]
    added: tuple[str, ...] = ()
    replaced: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    merged: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    kept: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    workspace: Workspace | None = None

    def summary(self) -> list[str]:
        """One line per thing done to the workspace, for the user."""
        lines = [f"added {name}" for name in self.added]
        lines += [f"replaced {name}: {old:,} rows → {new:,}" for name, (old, new) in self.replaced.items()]
        lines += [
            f"merged into {name}: {kept:,} rows kept, {new:,} added, {dup:,} already there"
            for name, (kept, new, dup) in self.merged.items()
        ]
        lines += [
            f"kept {name} as it is ({old:,} rows; the file has {offered:,}): --replace {name} replaces it, "
            f"--merge {name} adds the new ones"
            for name, (old, offered) in self.kept.items()
        ]
        return lines


def community_point_notes(points: gpd.GeoDataFrame, stored: Stored) -> list[str]:
    """How the community points of an OpenStreetMap import sit in the villages the workspace
    kept (its own register: the file's villages were not written, or merged into it); nothing
    when the villages written are the file's own (their notes came with the file's)."""
    from ..geo.osm_places import community_point_notes as notes_for

    if not len(points) or "villages" in stored.added or "villages" in stored.replaced:
        return []
    villages = stored.workspace.layers.get("villages") if stored.workspace is not None else None
    if villages is None or not len(villages):
        return []
    return notes_for(points, villages, where="in the workspace")


def store_layers(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    description: str,
    existing: Literal["replace", "keep"] = "replace",
    replace: Sequence[str] = (),
    merge: Sequence[str] = (),
    source_coords: str | None = None,
) -> Stored:
    """Write ``layers`` into the workspace at ``path`` (created if new) with parent ids filled,
    atomically; layers whose parent ids the new ones let fill in are written too.

    Parameters
    ----------
    existing
        What to do with a layer the workspace already has: ``"replace"`` it (``servicegrid
        import``, which names the one layer it writes) or ``"keep"`` it (``import-osm``, which
        offers several): then only the layers in ``replace`` are replaced and those in ``merge``
        get the new features that duplicate none of theirs (:func:`servicegrid.geo.merge.merge_features`).
    source_coords
        The coordinate system the source declared (``--coords``), recorded in the settings.
    """
    from ..geo.merge import merge_features
    from ..geo.schema import layer_spec

    path = Path(path)
    replace_set = {layer_spec(n).name for n in replace}
    merge_set = {layer_spec(n).name for n in merge}
    for name in sorted((replace_set | merge_set) - set(layers)):
        msg = f"--replace/--merge {name}: the file has no {name} (it has: {', '.join(layers) or 'nothing'})"
        raise InputError(msg, source=path)
    if replace_set & merge_set:
        msg = f"{', '.join(sorted(replace_set & merge_set))}: give --replace or --merge, not both"
        raise InputError(msg, source=path)
    current = read_workspace(path) if path.exists() else Workspace(path, {}, WorkspaceSettings())
    writing: dict[str, gpd.GeoDataFrame] = {}
    added: list[str] = []
    replaced: dict[str, tuple[int, int]] = {}
    merged: dict[str, tuple[int, int, int]] = {}
    kept: dict[str, tuple[int, int]] = {}
    for name, frame in layers.items():
        old = current.layers.get(name)
        if old is None or len(old) == 0:
            writing[name] = frame
            added.append(name)
        elif name in merge_set:
            result = merge_features(old, frame)
            writing[name] = result.frame
            merged[name] = (len(old), result.added, result.duplicates)
        elif existing == "replace" or name in replace_set:
            writing[name] = frame
            replaced[name] = (len(old), len(frame))
        else:
            kept[name] = (len(old), len(frame))
    filled = fill_parent_ids(current.with_layers(**writing))
    touched = set(writing) | set(filled.changed)
    settings = None if path.exists() else current.settings
    if source_coords is not None and not current.settings_problems:
        settings = current.settings.model_copy(update={"source_coords": source_coords})
    if touched or settings is not None:
        write_layers(
            path,
            {name: filled.workspace.layers[name] for name in sorted(touched)},
            settings=settings,
            description=description,
        )
    return Stored(
        path=path,
        given=tuple(writing),
        also_changed=tuple(sorted(touched - set(writing))),
        notes=filled.notes,
        added=tuple(added),
        replaced=replaced,
        merged=merged,
        kept=kept,
        workspace=filled.workspace,
    )
