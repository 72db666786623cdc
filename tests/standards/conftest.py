"""Builders for hand-made facility registers and small counties, shared by the standards tests."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from servicegrid.geo.workspace import Workspace, WorkspaceSettings
from servicegrid.standards.audit import audit_layers
from servicegrid.standards.export import write_audit
from servicegrid.standards.loader import load_preset
from servicegrid.standards.models import Preset
from servicegrid.standards.records import StandardsWarning

TEN_HAVES = (
    "site_fixed; sign_unified; flag; service_hall; party_room; council_room; sports_ground; "
    "rules_posted; duty_roster; disclosure_board"
)
OPTIONAL_VILLAGE = "sign_night; guide_sign; conv_facilities; books_papers"


@pytest.fixture(scope="session")
def preset() -> Preset:
    """The built-in preset (frozen, so one instance serves every test)."""
    return load_preset("cn-default")


def village(**overrides: object) -> dict[str, object]:
    """A village center that is compliant but not model under cn-default, with ``overrides``."""
    row: dict[str, object] = {
        "id": "V",
        "name": "张村党群服务中心",
        "tier": "village_center",
        "items": TEN_HAVES,
        "windows": "general; party_member",
        "floor_area_m2": 250.0,
        "hall_area_m2": 45.0,
        "opening_hours": "Mo-Fr 08:30-12:00,14:30-18:00",
        "weekend_duty": False,
        "evening_sessions_per_week": 0,
        "staff": 1,
    }
    row.update(overrides)
    return row


def model_village(**overrides: object) -> dict[str, object]:
    """A village center that meets every model requirement of cn-default."""
    model: dict[str, object] = {
        "items": f"{TEN_HAVES}; {OPTIONAL_VILLAGE}",
        "floor_area_m2": 300.0,
        "hall_area_m2": 50.0,
        "weekend_duty": True,
        "evening_sessions_per_week": 1,
    }
    return village(**{**model, **overrides})


def register(*rows: dict[str, object]) -> gpd.GeoDataFrame:
    """Rows as a facilities layer: points 0.001° apart near 114°E 35°N (WGS-84)."""
    geometry = [Point(114.0 + 0.001 * i, 35.0) for i in range(len(rows))]
    return gpd.GeoDataFrame([dict(r) for r in rows], geometry=geometry, crs=4326)


def small_county() -> dict[str, gpd.GeoDataFrame]:
    """Two townships: T1 (城关镇, villages V1 V2) and T2 (东街道, communities C1 C2, compounds K1–K3).

    Facilities: a township center in each township (F3 placed only by its point), a village
    center in V1, a community center in C1, an existing station in compound K1 and a planned one
    in K2. Nothing in V2, C2 or K3, and no county center.
    """
    x, y = 114.0, 35.0
    townships = gpd.GeoDataFrame(
        {"id": ["T1", "T2"], "name": ["城关镇", "东街道"], "code": ["990101001", "990101002"]},
        geometry=[box(x, y, x + 0.02, y + 0.02), box(x + 0.02, y, x + 0.04, y + 0.02)],
        crs=4326,
    )
    villages = gpd.GeoDataFrame(
        {
            "id": ["V1", "V2", "C1", "C2"],
            "name": ["张村", "李村", "东社区", "西社区"],
            "township_id": ["T1", "T1", "T2", "T2"],
            "kind": ["village", "village", "community", "community"],
        },
        geometry=[
            box(x, y, x + 0.01, y + 0.02),
            box(x + 0.01, y, x + 0.02, y + 0.02),
            box(x + 0.02, y, x + 0.03, y + 0.02),
            box(x + 0.03, y, x + 0.04, y + 0.02),
        ],
        crs=4326,
    )
    compounds = gpd.GeoDataFrame(
        {"id": ["K1", "K2", "K3"], "name": ["甲小区", "乙小区", "丙小区"], "village_id": ["C1", "C1", "C2"]},
        geometry=[
            box(x + 0.021, y + 0.001, x + 0.024, y + 0.004),
            box(x + 0.025, y + 0.005, x + 0.028, y + 0.008),
            box(x + 0.031, y + 0.001, x + 0.034, y + 0.004),
        ],
        crs=4326,
    )
    facilities = gpd.GeoDataFrame(
        {
            "id": ["F1", "F2", "F3", "F4", "F5", "F6"],
            "name": ["城关镇中心", "张村中心", "东街道中心", "东社区中心", "甲小区站", "乙小区站"],
            "tier": ["乡镇", "村", "街道", "社区", "小区", "红扁担驿站"],
            "status": [None, None, None, None, None, "规划"],
            "township_id": ["T1", None, None, None, None, None],
            "village_id": [None, "V1", None, None, None, None],
            "compound_id": [None, None, None, None, "K1", None],
            "floor_area_m2": [1200.0, 250.0, 900.0, 600.0, 40.0, 50.0],
        },
        geometry=[
            Point(x + 0.005, y + 0.005),
            Point(x + 0.005, y + 0.015),
            Point(x + 0.025, y + 0.015),
            Point(x + 0.022, y + 0.018),
            Point(x + 0.022, y + 0.002),
            Point(x + 0.026, y + 0.006),
        ],
        crs=4326,
    )
    return {"townships": townships, "villages": villages, "compounds": compounds, "facilities": facilities}


# Audit output: a county with every grade, audited and written once per test module that reads it


def audit_county() -> Workspace:
    """The small county with a model (F7) and a compliant (F8) village center added: every grade."""
    county = small_county()
    facilities = county["facilities"]
    extra = gpd.GeoDataFrame(
        [
            {**model_village(id="F7", name="张村示范中心"), "village_id": "V1"},
            {**village(id="F8", name="李村中心"), "village_id": "V2"},
        ],
        geometry=[Point(114.004, 35.012), Point(114.015, 35.01)],
        crs=4326,
    )
    layers = {**county, "facilities": pd.concat([facilities, extra], ignore_index=True)}
    return Workspace(path=None, layers=layers, settings=WorkspaceSettings(name="示范县"))


@pytest.fixture
def workspace() -> Workspace:
    return audit_county()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One Chinese audit of the workspace, written once and only read by the tests that use it."""
    out = tmp_path_factory.mktemp("written") / "audit"
    return out, run(audit_county(), out)


@dataclass(frozen=True)
class Written:
    """An audit and the files it wrote."""

    result: object
    files: tuple


def run(workspace, out, lang="zh"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_layers(workspace, lang=lang)
        return Written(result, tuple(write_audit(out, result, lang=lang)))


def rows(ws, first=1, last=None):
    return [list(r) for r in ws.iter_rows(min_row=first, max_row=last, values_only=True)]
