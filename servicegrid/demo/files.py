"""The demo county's files: its workspace GeoPackage and its walking network as OSM XML."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..geo.osmxml import write_osm_xml
from ..geo.workspace import atomic_path, write_layers
from .county import build_demo_county, check_scale

__all__ = ["DemoFiles", "write_demo_county"]


@dataclass(frozen=True)
class DemoFiles:
    """The files :func:`write_demo_county` wrote, with the size of the walking network file."""

    workspace: Path
    network: Path
    network_nodes: int
    network_ways: int


def write_demo_county(out_dir: str | os.PathLike[str], *, seed: int = 0, scale: int = 1) -> DemoFiles:
    """Build the demo county (or one ``scale`` times its size) and write it to ``out_dir``.

    Writes ``demo-county.gpkg`` (every standard layer, each described as synthetic, and the
    settings with ``synthetic=True``) and ``demo-county-walk.osm`` (the roads layer as
    OpenStreetMap XML). Both files are replaced atomically; an existing workspace of that name
    is replaced whole, so no stale layers survive.

    Parameters
    ----------
    out_dir
        Folder to write into (created when missing).
    seed
        Seed of the random generator.
    scale
        How many times the demo county's size (see :func:`~servicegrid.demo.build_demo_county`).

    Returns
    -------
    DemoFiles
        The paths written and the numbers of nodes and ways in the walking network file.
    """
    check_scale(scale)  # before anything is written
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    county = build_demo_county(seed=seed, scale=scale)
    workspace = out_dir / "demo-county.gpkg"
    with atomic_path(workspace) as tmp:
        write_layers(tmp, county.layers, settings=county.settings, description=county.description)
    osm = write_osm_xml(
        county.layers["roads"],
        out_dir / "demo-county-walk.osm",
        bounds=county.bounds,
        generator=f"servicegrid demo county (synthetic, seed {seed}{'' if scale == 1 else f', scale {scale}'})",
    )
    return DemoFiles(workspace=workspace, network=osm.path, network_nodes=osm.nodes, network_ways=osm.ways)
