"""Counties for the batch tests: three synthetic demo counties and one with a broken register."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest

from servicegrid.demo import write_demo_county
from servicegrid.geo.workspace import read_workspace, write_layers

NAMES = ("甲县", "乙县", "丙县")


@dataclass(frozen=True)
class Counties:
    """Workspaces (and their walking networks) of the good counties, and the broken one."""

    good: tuple[Path, ...]
    networks: tuple[Path, ...]
    broken: Path


def rename(workspace: Path, name: str) -> None:
    """Give the workspace's county another name (the folder a batch writes it to)."""
    settings = read_workspace(workspace).settings.model_copy(update={"name": name})
    write_layers(workspace, {}, settings=settings)


def break_households(workspace: Path) -> None:
    """The first compound's households written as the office wrote them: 约四百 (about four hundred)."""
    compounds = pyogrio.read_dataframe(workspace, layer="compounds")
    compounds["households"] = compounds["households"].astype("string")
    compounds.loc[0, "households"] = "约四百"
    write_layers(workspace, {"compounds": compounds})


@pytest.fixture(scope="session")
def counties(tmp_path_factory) -> Counties:
    """Demo counties of seeds 0, 1, 2 named 甲县, 乙县, 丙县 (each with demo-county-walk.osm beside
    it), and 丁县: seed 0's workspace as county.gpkg with one compound's households 约四百."""
    root = tmp_path_factory.mktemp("counties")
    files = [write_demo_county(root / f"seed{seed}", seed=seed) for seed in range(3)]
    for written, name in zip(files, NAMES, strict=True):
        rename(written.workspace, name)
    broken = root / "broken" / "county.gpkg"
    broken.parent.mkdir()
    shutil.copyfile(files[0].workspace, broken)
    shutil.copyfile(files[0].network, broken.with_name("county-walk.osm"))
    rename(broken, "丁县")
    break_households(broken)
    return Counties(
        good=tuple(f.workspace for f in files), networks=tuple(f.network for f in files), broken=broken
    )
