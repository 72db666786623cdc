"""Planning on a workspace: candidates, the reach matrix and the models, on a hand-built county."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import shapely

from servicegrid.coverage.sources import network_from_lines
from servicegrid.errors import InputError
from servicegrid.geo.workspace import Workspace
from servicegrid.siting import plan_candidates, plan_layers
from servicegrid.standards.loader import load_preset
from tests.builders import box, frame, lattice

PRESET = load_preset("cn-default")

# A station that meets the 八有 standard, and one that lacks two items (an upgrade candidate).
EIGHT_HAVES = "有固定场所; 有统一标识; 有党旗(国旗); 有人员; 有制度上墙; 有设施; 有活动(台账); 有公示"
GOOD = {
    "tier": "compound_station",
    "items": EIGHT_HAVES,
    "floor_area_m2": 60,
    "opening_hours": "Mo-Fr 09:00-17:00",
}
FAILING = {**GOOD, "items": "有固定场所; 有统一标识; 有党旗(国旗); 有人员; 有制度上墙; 有设施"}


def county(with_candidates: bool = True) -> dict:
    """Four compounds along the south edge of a 100 m lattice, each with a gate 10 m from the
    path y = 0; a compliant station in C0, a failing one in C1, and three candidate rooms."""
    xs = (0, 600, 1200, 1600)
    compounds = frame(
        [
            {"id": f"C{i}", "households": hh, "population": 3 * hh}
            for i, hh in enumerate([500, 300, 200, 400])
        ],
        [box(x + 10, 10, x + 90, 90) for x in xs],
    )
    layers = {
        "roads": lattice(size=2000),
        "compounds": compounds,
        "gates": frame(
            [{"id": f"G{i}", "compound_id": f"C{i}"} for i in range(4)],
            [shapely.Point(x + 50, 10) for x in xs],
        ),
        "facilities": frame(
            [{"id": "F1", **GOOD}, {"id": "F2", **FAILING}], [shapely.Point(50, 50), shapely.Point(650, 50)]
        ),
    }
    if with_candidates:
        layers["candidates"] = frame(
            [
                {"id": "P1", "cost": 100_000},  # inside C2
                {"id": "P2", "cost": 60_000},  # inside C3
                {"id": "P3", "cost": 150_000},  # on the path between them: 210 m from both gates
            ],
            [shapely.Point(1250, 50), shapely.Point(1650, 50), shapely.Point(1450, 0)],
        )
    return layers


def plan(layers, **options):
    """A plan with the listed candidates and facilities alone (generated sites are tested apart)."""
    ws = Workspace(None, layers)
    net = network_from_lines(layers["roads"], crs=ws.metric_crs)
    options.setdefault("generate", "candidates" not in layers)
    return plan_layers(ws, PRESET, tier="compound_station", network=net, **options)


def test_candidates_are_fixed_upgrades_and_new_sites():
    layers = county()
    ws = Workspace(None, layers)
    sites, _ = plan_candidates(ws, PRESET, tier="compound_station", crs=ws.metric_crs, generate=False)
    by_id = sites.set_index("site_id")
    assert by_id.loc["F:F1", "kind"] == "existing"
    assert by_id.loc["F:F1", "decision"] == "required"
    assert by_id.loc["F:F2", "kind"] == "upgrade"
    # Two missing items at the preset's default cost per item.
    assert by_id.loc["F:F2", "cost"] == pytest.approx(2 * PRESET.upgrade_costs.per_missing_item.value)
    assert by_id.loc["C:P3", "kind"] == "new"
    assert list(sites["site_id"]) == ["F:F1", "F:F2", "C:P1", "C:P2", "C:P3"]


def test_set_cover_matches_brute_force_on_the_small_county():
    layers = county()
    result = plan(layers, model="set-cover")
    sites = result.candidates
    cost = sites["cost"].to_numpy()
    # Reach by hand: F1 → C0 (inside), F2 → C1 (inside), P1 → C2, P2 → C3, P3 → C2 and C3.
    reach = {0: {0}, 1: {1}, 2: {2}, 3: {3}, 4: {2, 3}}
    need = {1, 2, 3}
    best = min(
        sum(cost[j] for j in combo)
        for k in range(1, 5)
        for combo in itertools.combinations([1, 2, 3, 4], k)
        if need <= set().union(*(reach[j] for j in combo))
    )
    assert best == 10_000 + 150_000  # upgrade F2, open P3
    row = result.summary.iloc[0]
    assert row["status"] == "optimal"
    assert row["cost"] == pytest.approx(best)
    assert row["rate_after"] == 1.0
    assert sorted(result.proposed_sites["site_id"]) == ["C:P3", "F:F2"]


def test_upgrade_or_build_reports_households_newly_covered_in_build_order():
    result = plan(county(), model="upgrade-or-build", target=1.0)
    proposed = result.proposed_sites
    assert proposed["build_order"].tolist() == list(range(1, len(proposed) + 1))
    assert set(proposed["kind"]) <= {"new", "upgrade"}
    assert "F:F2" in set(proposed["site_id"])  # the cheap upgrade of the failing station
    # Every household not covered by F1 is covered once, by the first site that reaches it.
    assert proposed["households_new"].sum() == pytest.approx(300 + 200 + 400)
    assert proposed["population_new"].sum() == pytest.approx(3 * (300 + 200 + 400))
    summary = result.summary.iloc[0]
    assert summary["households_before"] == 500  # only F1 meets the standard
    assert summary["households_after"] == 1400
    assert summary["gap"] == 0


def test_capacities_are_constraints_and_each_site_reports_its_load():
    layers = county()
    free = plan(layers, model="set-cover").proposed_sites.set_index("site_id")
    assert set(free.index) == {"F:F2", "C:P3"}  # P3 reaches C2 and C3: 600 households
    assert free.loc["C:P3", "households_served"] == 600
    assert not free["over_capacity"].any()  # no capacities given
    # P3 can serve only 500: covering all takes P1 and P2 (170,000) rather than P3 and either
    layers["candidates"] = layers["candidates"].assign(capacity=[1000, 1000, 500])
    result = plan(layers, model="set-cover")
    proposed = result.proposed_sites.set_index("site_id")
    assert set(proposed.index) == {"F:F2", "C:P1", "C:P2"}
    assert result.summary.iloc[0]["cost"] == 10_000 + 100_000 + 60_000
    assert result.summary.iloc[0]["households_after"] == 1400
    assert proposed.loc["C:P2", "households_served"] == 400
    assert proposed.loc["C:P2", "capacity"] == 1000
    assert np.isnan(proposed.loc["F:F2", "capacity"])
    # one site: P3 serves 500 of the 600 households it reaches, split between C2 and C3
    one = plan(layers, model="max-cover", p=1)
    assert one.proposed_sites["site_id"].tolist() == ["C:P3"]
    assert one.proposed_sites["households_served"].tolist() == [500]
    assert one.summary.iloc[0]["households_after"] == 500 + 500
    assert one.siting.shares is not None
    # p-median does not take capacities: the plan says where it exceeds them
    layers["candidates"] = layers["candidates"].assign(capacity=[1000, 100, 500])
    median = plan(layers, model="p-median", p=1)
    row = median.proposed_sites.set_index("site_id").loc["C:P2"]
    assert row["households_served"] == 400
    assert row["over_capacity"]
    assert any("C:P2 (400 > 100); p-median does not take capacities" in n for n in median.notes)


def test_capacities_that_cannot_serve_everyone_give_the_plan_serving_the_most():
    layers = county()
    layers["candidates"] = layers["candidates"].assign(capacity=[150, 300, 100])
    result = plan(layers, model="set-cover")
    # C2 (200) and C3 (400) can get at most 150 + 300 + 100 = 550 of their 600 households
    summary = result.summary.iloc[0]
    assert summary["households_after"] == 500 + 300 + 550
    assert any("capacities leave 50 households within reach unserved" in n for n in result.notes)
    target = plan(layers, model="upgrade-or-build", target=1.0)
    assert target.summary.iloc[0]["households_after"] == 500 + 300 + 550
    assert any("capacities keep 1 township(s) below the target" in n for n in target.notes)


def test_max_cover_with_p_and_budget():
    one = plan(county(), model="max-cover", p=1).summary.iloc[0]
    assert one["households_after"] == 500 + 600  # P3 reaches C2 and C3 (600 households)
    tight = plan(county(), model="max-cover", budget=10_000).summary.iloc[0]
    assert tight["households_after"] == 500 + 300  # only the upgrade of F2 fits the budget


def test_generated_candidates_when_none_are_listed():
    layers = county(with_candidates=False)
    ws = Workspace(None, layers)
    net = network_from_lines(layers["roads"], crs=ws.metric_crs)
    sites, notes = plan_candidates(ws, PRESET, tier="compound_station", crs=ws.metric_crs, network=net)
    generated = sites[sites["source"] == "generated"]
    assert len(generated) > 0
    assert (generated["cost"] == PRESET.tiers["compound_station"].new_build_cost.value).all()
    assert any("generated" in n for n in notes)
    inside = generated["name"].str.endswith("（小区内）").to_numpy()
    # a station inside each of the three compounds no standard station reaches, then thinned
    assert sorted(generated.loc[inside, "name"]) == ["C1（小区内）", "C2（小区内）", "C3（小区内）"]
    xy = np.column_stack([generated.geometry.x, generated.geometry.y])[~inside]
    cells = np.floor(xy / (0.4 * 300)).astype(int)
    assert len(np.unique(cells, axis=0)) == len(xy)  # thinned: one per cell


def test_bad_candidates_and_options_are_refused():
    layers = county()
    layers["candidates"] = layers["candidates"].assign(cost=[100_000, -5, 1])
    with pytest.raises(InputError, match=r"layer 'candidates', row 2, field 'cost': negative cost -5"):
        plan(layers, model="set-cover")
    layers["candidates"] = county()["candidates"].assign(capacity=[100, 200, -1])
    with pytest.raises(InputError, match=r"row 3, field 'capacity': negative capacity -1"):
        plan(layers, model="set-cover")
    with pytest.raises(InputError, match="p-median needs --p"):
        plan(county(), model="p-median")
    with pytest.raises(InputError, match="tier 'town_center' has no walking radius"):
        ws = Workspace(None, county())
        plan_layers(ws, PRESET, tier="town_center")


def test_generated_sites_gather_around_units_no_standard_station_reaches():
    layers = county(with_candidates=False)
    ws = Workspace(None, layers)
    net = network_from_lines(layers["roads"], crs=ws.metric_crs)
    sites, notes = plan_candidates(ws, PRESET, tier="compound_station", crs=ws.metric_crs, network=net)
    generated = sites[sites["source"] == "generated"]
    # C0 is served by the compliant F1 (inside it): nothing is generated within reach of C0 only.
    near_c0 = (
        generated.geometry.distance(shapely.Point(ws.metric("compounds").geometry.iloc[0].centroid)) < 250
    )
    assert not near_c0.any()
    assert any("near the 3 units it misses" in n for n in notes)


def test_user_decisions_require_and_exclude_sites():
    result = plan(county(), model="set-cover", require=["P1"], exclude=["P3"])
    proposed = result.proposed_sites.set_index("site_id")
    # the required room is part of the plan, listed first, with its cost; P3 may not be used
    assert proposed.index[0] == "C:P1"
    assert proposed.loc["C:P1", "decision"] == "required"
    assert np.isnan(proposed.loc["C:P1", "marginal_gain"])
    assert set(proposed.index) == {"C:P1", "C:P2", "F:F2"}
    assert (proposed.drop("C:P1")["decision"] == "chosen").all()
    summary = result.summary.iloc[0]
    assert summary["cost"] == 100_000 + 60_000 + 10_000
    assert summary["required_sites"] == 1
    assert summary["standing_sites"] == 1  # F1
    assert summary["households_before"] == 500  # a required room is not there yet
    assert proposed.loc["C:P1", "households_new"] == 200
    # its cost comes out of a budget first
    capped = plan(county(), model="max-cover", budget=110_000, require=["P1"])
    assert set(capped.proposed_sites["site_id"]) == {"C:P1", "F:F2"}  # 10,000 left: the upgrade
    with pytest.raises(InputError, match="required new sites and upgrades cost 100,000, which leaves"):
        plan(county(), model="max-cover", budget=100_000, require=["P1"])
    with pytest.raises(InputError, match="no candidate site or facility of this tier has id P9"):
        plan(county(), model="set-cover", require=["P9"])
    with pytest.raises(InputError, match="both required and excluded"):
        plan(county(), model="set-cover", require=["P1"], exclude=["P1"])


def test_candidate_outside_the_planning_area_is_refused():
    layers = county()
    layers["villages"] = frame([{"id": "V1", "kind": "community"}], [box(0, 0, 2000, 2000)])
    layers["candidates"] = frame(
        [{"id": "P1", "cost": 1}, {"id": "P9", "cost": 1}], [shapely.Point(1250, 50), shapely.Point(5000, 50)]
    )
    with pytest.raises(
        InputError, match=r"1 candidate\(s\) lie outside the planning area \(villages\): P9 \(3,000 m\)"
    ):
        plan(layers, model="set-cover")


def test_zero_budget_and_too_large_p_are_clear_errors():
    with pytest.raises(InputError, match="field 'budget': budget must be a positive amount, got 0"):
        plan(county(), model="max-cover", budget=0)
    with pytest.raises(
        InputError, match=r"p=50 new sites but only 4 candidates can be chosen \(5 candidates, 1 required"
    ):
        plan(county(), model="max-cover", p=50)


def test_a_compound_with_no_site_in_reach_is_its_own_candidate():
    """A compound far from every listed room and path node is not "uncoverable": a station can
    open inside it. Only with generated sites off is it listed as beyond every candidate."""
    layers = county()
    far = frame([{"id": "C9", "name": "远山小区", "households": 250}], [box(1900, 1700, 1980, 1780)])
    layers["compounds"] = pd.concat([layers["compounds"], far], ignore_index=True)
    result = plan(layers, model="set-cover", generate=True)
    assert result.uncoverable.empty
    built = result.proposed_sites.set_index("name")
    assert "远山小区（小区内）" in built.index
    assert built.loc["远山小区（小区内）", "households_new"] == 250
    strict = plan(layers, model="set-cover", generate=False)
    assert strict.uncoverable["unit_id"].tolist() == ["C9"]
    assert strict.uncoverable["reason"].tolist() == ["no candidate site within walking reach"]


def test_a_compound_with_blank_households_is_its_own_candidate_too():
    # It weighs its layer's median in the plan: it must be reachable like any other compound.
    layers = county()
    far = frame([{"id": "C9", "name": "远山小区", "households": None}], [box(1900, 1700, 1980, 1780)])
    layers["compounds"] = pd.concat([layers["compounds"], far], ignore_index=True)
    result = plan(layers, model="set-cover", generate=True)
    assert result.uncoverable.empty
    assert "远山小区（小区内）" in set(result.proposed_sites["name"])


def test_plan_households_count_nested_units_once():
    """A community-centre plan over compounds inside communities: the register's households."""
    layers = county(with_candidates=False)
    layers["villages"] = frame(
        [{"id": "V1", "name": "新华社区", "kind": "community", "households": 2000}], [box(0, 0, 2000, 2000)]
    )
    layers["compounds"] = layers["compounds"].assign(village_id="V1")
    ws = Workspace(None, layers)
    net = network_from_lines(layers["roads"], crs=ws.metric_crs)
    result = plan_layers(ws, PRESET, tier="community_center", model="set-cover", network=net)
    assert result.summary["households"].iloc[0] == 2000  # not 2000 + 1400 of its compounds
    assert result.before_after["households"].sum() == 2000


def test_units_without_households_weigh_the_median_of_their_layer():
    layers = county(with_candidates=False)
    layers["compounds"] = layers["compounds"].assign(households=[500, 300, None, 400])
    result = plan(layers, model="set-cover")
    assert any(
        n.startswith(
            "1 of 4 units have no households recorded: each weighs the median of its layer (compounds 400)"
        )
        for n in result.notes
    )
    assert result.summary["households"].iloc[0] == 500 + 300 + 400 + 400


def test_a_plan_without_a_network_still_builds_from_the_same_places():
    """No roads: reach is the straight line × the detour factor from the gates, and every compound
    can still have a station inside it — nothing is called uncoverable for want of a network."""
    layers = county(with_candidates=False)
    del layers["roads"]
    ws = Workspace(None, layers)
    result = plan_layers(ws, PRESET, tier="compound_station", model="set-cover", network=None)
    assert result.uncoverable.empty
    assert result.summary["rate_after"].iloc[0] == 1.0
    assert any(n == "no walking network: reach is the straight line × 1.3" for n in result.notes)
    assert len(result.proposed_sites) >= 1
