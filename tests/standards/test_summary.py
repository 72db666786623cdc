"""Township and county summaries, and the "1+1+2+N" position-system check on a hand-built county."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from servicegrid.standards.audit import audit_facilities
from servicegrid.standards.records import StandardsWarning
from servicegrid.standards.summary import facility_status, summarize_audit

from .conftest import small_county


@pytest.fixture
def summary(preset):
    county = small_county()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        audit = audit_facilities(county["facilities"], preset)
    return summarize_audit(
        audit,
        county["townships"],
        county["villages"],
        county["compounds"],
        preset=preset,
        county_name="示范县",
    )


def test_ids_are_filled_from_the_polygons(summary):
    fac = summary.facilities.set_index("id")
    assert fac.loc["F3", "township_id"] == "T2"  # from its point
    assert fac.loc["F2", "township_id"] == "T1"  # from its village V1
    assert fac.loc["F4", "village_id"] == "C1"
    assert fac.loc["F6", "compound_id"] == "K2"  # point inside 乙小区
    assert fac.loc["F6", "status_class"] == "planned"


def test_position_system_per_unit(summary):
    pos = summary.positions
    by = {(r.tier, r.unit_id): (r.n_facilities, r.n_planned, r.ok) for r in pos.itertuples()}
    assert by[("county_center", "county")] == (0, 0, False)
    assert by[("town_center", "T1")] == (1, 0, True)
    assert by[("town_center", "T2")] == (1, 0, True)
    assert by[("community_center", "C1")] == (1, 0, True)
    assert by[("community_center", "C2")] == (0, 0, False)
    assert by[("village_center", "V1")] == (1, 0, True)
    assert by[("village_center", "V2")] == (0, 0, False)
    assert by[("compound_station", "K1")] == (1, 0, True)
    assert by[("compound_station", "K2")] == (0, 1, False)  # planned does not count as present
    assert by[("compound_station", "K3")] == (0, 0, False)
    assert pos.loc[pos["unit_id"] == "county", "unit_name"].tolist() == ["示范县"]
    assert set(pos.loc[pos["tier"] == "compound_station", "township_id"]) == {"T2"}


def test_position_summary_county_and_townships(summary):
    s = summary.position_summary
    county = s[s["township_id"] == ""].set_index("tier")
    assert county.loc["town_center", ["units", "units_ok"]].tolist() == [2, 2]
    assert county.loc["community_center", ["units", "units_ok"]].tolist() == [2, 1]
    assert county.loc["village_center", ["units", "units_ok"]].tolist() == [2, 1]
    assert county.loc["compound_station", ["units", "units_ok", "n_planned"]].tolist() == [3, 1, 1]
    assert county.loc["compound_station", "rate_ok"] == pytest.approx(1 / 3)
    assert county.loc["county_center", "rule_label"] == "全县1个县级党群服务中心"
    t2 = s[s["township_id"] == "T2"].set_index("tier")
    assert sorted(t2.index) == ["community_center", "compound_station", "town_center"]
    assert t2.loc["community_center", "rule_label"] == "每个社区1个社区党群服务中心"


def test_counts_by_tier_and_grade(summary):
    county = summary.county.set_index("tier")
    assert county.loc["town_center", "n"] == 2
    assert county.loc["compound_station", ["n", "n_planned"]].tolist() == [1, 1]
    assert county.loc["total", "n"] == 5
    assert county.loc["total", "n_noncompliant"] == 5  # the register records no items
    assert county.loc["total", "tier_label"] == "合计"
    assert pd.isna(county.loc["county_center", "rate_meets"])
    by = summary.by_township.set_index(["township_id", "tier"])
    assert by.loc[("T1", "village_center"), "n"] == 1
    assert by.loc[("T2", "compound_station"), "township_name"] == "东街道"
    towns = summary.townships.set_index("township_id")
    assert towns.loc["T2", ["n", "n_town_center", "n_compound_station", "n_planned"]].tolist() == [3, 1, 1, 1]
    assert towns.loc["T2", "position_rate_community_center"] == pytest.approx(0.5)
    assert towns.loc["T1", "code"] == "990101001"
    assert summary.townships.geometry.notna().all()


def test_meeting_standard_is_counted_apart(preset):
    county = small_county()
    facilities = county["facilities"].copy()
    facilities["items"] = [
        "",
        "",
        "",
        "",
        "site_fixed; sign_unified; flag; staff; rules_posted; "
        "facilities_basic; activities_log; contact_notice",
        "",
    ]
    facilities["opening_hours"] = "Sa 09:00-12:00"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        audit = audit_facilities(facilities, preset)
    got = summarize_audit(audit, county["townships"], county["villages"], county["compounds"], preset=preset)
    k1 = got.positions[(got.positions["unit_id"] == "K1")].iloc[0]
    assert (k1["n_facilities"], k1["n_meeting_standard"], k1["ok_standard"]) == (1, 1, True)
    c1 = got.positions[(got.positions["unit_id"] == "C1")].iloc[0]
    assert (c1["n_meeting_standard"], c1["ok_standard"]) == (0, False)


def test_without_unit_layers(preset):
    county = small_county()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        audit = audit_facilities(county["facilities"], preset, lang="en")
    got = summarize_audit(audit, preset=preset, lang="en")
    # only F1 says its township; the others fall into 'no township'
    towns = got.townships.set_index("township_id")
    assert towns.loc["T1", "n"] == 1
    assert towns.loc["", "township_name"] == "no township"
    assert towns.loc["", "n"] == 4
    assert got.county.set_index("tier").loc["total", "tier_label"] == "Total"


def test_facility_status():
    values = pd.Series([None, "existing", "规划", "在建", "停用", "Closed", "在用"])
    assert facility_status(values).tolist() == [
        "existing",
        "existing",
        "planned",
        "planned",
        "closed",
        "closed",
        "existing",
    ]
