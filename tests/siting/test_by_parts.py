"""Solving by independent parts answers what the whole model proves.

Each instance is a block-diagonal stack of small random problems (the blocks share no
candidate), with rows no candidate reaches and blocks without demand; the parts' answer is
compared with the whole model's (objective equal, bound valid, same status), and where the
parts share a limit with brute force.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from servicegrid.errors import InputError
from servicegrid.siting import max_cover, p_median, set_cover, solve_by_parts, upgrade_or_build

fast = settings(max_examples=40, deadline=None)
slow = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)
SPLIT = {"bin_rows": 1, "whole_rows": 0}  # every component its own part, every shared limit split


def _blocks(seed: int, *, capacities: bool = False, m_max: int = 4):
    """Blocks of 1-5 rows and 1-``m_max`` candidates, two rows no candidate reaches, one block
    without demand; candidates free, required or excluded; a group per block, but blocks 0 and
    2 share theirs (one part with two components)."""
    rng = np.random.default_rng(seed)
    covers, weights, costs, roles, caps, groups = [], [], [], [], [], []
    k = int(rng.integers(2, 5))
    for b in range(k):
        n, m = int(rng.integers(1, 6)), int(rng.integers(1, m_max + 1))
        cover = (rng.random((n, m)) < rng.uniform(0.3, 0.8)).astype(float)
        cover[0, 0] = 1.0  # every block has a choice: its first candidate is free
        covers.append(cover)
        weights.append(rng.integers(1, 10, n).astype(float) * (b != 1))  # block 1: no demand
        costs.append(rng.integers(1, 6, m).astype(float))
        role = rng.choice(3, size=m, p=[0.75, 0.15, 0.1])  # free, required, excluded
        role[0] = 0
        roles.append(role)
        cap = rng.integers(2, 15, m).astype(float)
        caps.append(np.where(rng.random(m) < 0.6, cap, np.nan) if capacities else np.full(m, np.nan))
        groups.append(np.full(n, 0 if b == 2 else b))  # block 2 shares block 0's group
    covers.append(np.zeros((2, 0)))  # unreachable rows
    weights.append(rng.integers(1, 10, 2).astype(float))
    groups.append(np.array([0, 0]))
    cover = sparse.csc_array(sparse.block_diag(covers))
    role = np.concatenate(roles)
    return {
        "cover": cover,
        "weight": np.concatenate(weights),
        "cost": np.concatenate(costs),
        "required": np.flatnonzero(role == 1),
        "excluded": np.flatnonzero(role == 2),
        "capacity": np.concatenate(caps),
        "group": np.concatenate(groups),
    }


def _same(parts, whole, *, sense: str) -> None:
    """The split answer is the whole model's: split, optimal, same value, a valid bound."""
    assert parts.decomposition is not None
    assert parts.status == whole.status == "optimal"
    assert parts.objective == pytest.approx(whole.objective, abs=1e-6)
    if sense == "min":
        assert parts.bound <= whole.objective + 1e-6
    else:
        assert parts.bound >= whole.objective - 1e-6
    assert parts.gap == pytest.approx(0.0, abs=1e-6)
    assert sorted(parts.uncoverable.tolist()) == sorted(whole.uncoverable.tolist())
    assert np.array_equal(parts.fixed, whole.fixed)
    if whole.model == "set_cover":  # every coverable row, or the most capacities allow
        assert parts.covered_weight == pytest.approx(whole.covered_weight, abs=1e-6)
    if parts.shares is None:  # one build order: each next site newly covers the most
        assert np.all(np.diff(parts.marginal_gain) <= 1e-9)


def _check_plan(result, x) -> None:
    """Sites are choosable, rows are served only by open sites within reach, capacities hold."""
    a = x["cover"].toarray() > 0
    assert not set(result.sites.tolist()) & (set(x["required"].tolist()) | set(x["excluded"].tolist()))
    opened = np.zeros(a.shape[1], dtype=bool)
    opened[result.open_sites] = True
    hit = result.assignment >= 0
    assert np.all(a[np.flatnonzero(hit), result.assignment[hit]])
    assert np.all(opened[result.assignment[hit]])
    if result.shares is not None:
        shares = result.shares.toarray()
        assert np.all(shares[~a] == 0)
        assert np.all(shares[:, ~opened] == 0)
        load = (shares * x["weight"][:, None]).sum(axis=0)
        assert np.all(load <= np.nan_to_num(x["capacity"], nan=np.inf) + 1e-6)


@fast
@given(seed=seeds)
def test_set_cover_by_parts_equals_the_whole_model(seed: int) -> None:
    x = _blocks(seed)
    common = {"weight": x["weight"], "required": x["required"], "excluded": x["excluded"]}
    whole = set_cover(x["cover"], x["cost"], **common)
    parts = solve_by_parts("set_cover", x["cover"], cost=x["cost"], **common, **SPLIT)
    _same(parts, whole, sense="min")
    assert sorted(parts.covered.tolist()) == sorted(whole.covered.tolist())  # every coverable row
    _check_plan(parts, x)


@fast
@given(seed=seeds, target=st.sampled_from([0.5, 0.8, 0.98, 1.0]))
def test_upgrade_or_build_by_parts_equals_the_whole_model(seed: int, target: float) -> None:
    x = _blocks(seed)
    kind = np.where(np.arange(x["cost"].size) % 2, "upgrade", "new")
    common = {"required": x["required"], "excluded": x["excluded"], "kind": kind}
    whole = upgrade_or_build(x["cover"], x["weight"], x["cost"], x["group"], target, **common)
    parts = solve_by_parts(
        "upgrade_or_build",
        x["cover"],
        x["weight"],
        cost=x["cost"],
        group=x["group"],
        target=target,
        **common,
        **SPLIT,
    )
    _same(parts, whole, sense="min")
    g, h = parts.groups, whole.groups
    assert np.array_equal(g.labels, h.labels)
    for name in ("coverable_weight", "uncoverable_weight", "target_weight", "before"):
        assert np.allclose(getattr(g, name), getattr(h, name))
    assert g.met.all()
    assert h.met.all()
    assert np.all(g.after >= g.target_weight - 1e-9)
    assert np.array_equal(parts.site_kind, kind[parts.sites])
    _check_plan(parts, x)


@slow
@given(seed=seeds, target=st.sampled_from([0.6, 0.9, 1.0]))
def test_capacitated_models_by_parts_equal_the_whole_model(seed: int, target: float) -> None:
    x = _blocks(seed, capacities=True)
    common = {"required": x["required"], "excluded": x["excluded"], "capacity": x["capacity"]}
    whole = set_cover(x["cover"], x["cost"], weight=x["weight"], **common)
    parts = solve_by_parts("set_cover", x["cover"], x["weight"], cost=x["cost"], **common, **SPLIT)
    _same(parts, whole, sense="min")
    _check_plan(parts, x)
    whole = upgrade_or_build(x["cover"], x["weight"], x["cost"], x["group"], target, **common)
    parts = solve_by_parts(
        "upgrade_or_build",
        x["cover"],
        x["weight"],
        cost=x["cost"],
        group=x["group"],
        target=target,
        **common,
        **SPLIT,
    )
    _same(parts, whole, sense="min")
    assert np.array_equal(parts.groups.met, whole.groups.met)
    _check_plan(parts, x)


@slow
@given(seed=seeds, p=st.integers(1, 4), share=st.floats(0.1, 0.9), capacities=st.booleans())
def test_a_shared_limit_split_between_parts_equals_the_whole_model(
    seed: int, p: int, share: float, capacities: bool
) -> None:
    x = _blocks(seed, capacities=capacities)
    common = {"required": x["required"], "excluded": x["excluded"], "capacity": x["capacity"]}
    free = x["cost"].size - x["required"].size - x["excluded"].size
    if p <= free:
        whole = max_cover(x["cover"], x["weight"], p=p, **common)
        parts = solve_by_parts("max_cover", x["cover"], x["weight"], p=p, **common, **SPLIT)
        _same(parts, whole, sense="max")
        assert parts.sites.size <= p
        assert parts.decomposition.coupling == "p"
        _check_plan(parts, x)
    budget = np.floor(share * x["cost"].sum()) + 0.5
    whole = max_cover(x["cover"], x["weight"], budget=budget, cost=x["cost"], **common)
    parts = solve_by_parts(
        "max_cover", x["cover"], x["weight"], budget=budget, cost=x["cost"], **common, **SPLIT
    )
    _same(parts, whole, sense="max")
    assert parts.cost <= budget
    _check_plan(parts, x)
    whole = upgrade_or_build(x["cover"], x["weight"], x["cost"], x["group"], 0.9, budget=budget, **common)
    parts = solve_by_parts(
        "upgrade_or_build",
        x["cover"],
        x["weight"],
        cost=x["cost"],
        group=x["group"],
        target=0.9,
        budget=budget,
        **common,
        **SPLIT,
    )
    _same(parts, whole, sense="max")
    assert parts.cost <= budget
    _check_plan(parts, x)


def _hand():
    """Part A: two rows, sites 0 (cost 2, reaches both) and 1, 2 (cost 1.5 each). Part B: one row
    without demand and its site 3. Part C: a row only an excluded site (4) reaches, and a row no
    site reaches at all."""
    cover = np.zeros((5, 5))
    cover[0, [0, 1]] = 1
    cover[1, [0, 2]] = 1
    cover[2, 3] = 1
    cover[3, 4] = 1
    return sparse.csc_array(cover), np.array([4.0, 3.0, 0.0, 6.0, 2.0]), np.array([2.0, 1.5, 1.5, 1.0, 1.0])


def test_rows_no_one_can_reach_and_parts_without_demand() -> None:
    cover, weight, cost = _hand()
    parts = solve_by_parts("set_cover", cover, weight, cost=cost, excluded=[4], **SPLIT)
    whole = set_cover(cover, cost, weight=weight, excluded=[4])
    assert parts.decomposition is not None
    assert parts.decomposition.parts == 2
    assert parts.sites.tolist() == [0, 3] == sorted(whole.sites.tolist())
    assert parts.objective == whole.objective == 3.0
    assert parts.status == "optimal"
    assert parts.uncoverable.tolist() == [3, 4]
    assert parts.uncoverable_reason.tolist() == ["only_excluded", "no_candidate"]
    assert parts.assignment.tolist() == [0, 0, 3, -1, -1]
    # the part without demand costs nothing when only weight counts
    parts = solve_by_parts("max_cover", cover, weight, p=1, excluded=[4], **SPLIT)
    assert parts.sites.tolist() == [0]
    assert parts.objective == 7.0
    assert parts.status == "optimal"


def test_a_part_whose_capacities_cannot_serve_it_is_served_as_far_as_it_can() -> None:
    # part A: a site of capacity 3 for two rows of 2 households: one row and a half at best;
    # part B: an ample site for its row
    cover = sparse.csc_array(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    weight, cost, capacity = np.array([2.0, 2.0, 5.0]), np.array([1.0, 4.0]), np.array([3.0, np.nan])
    whole = set_cover(cover, cost, weight=weight, capacity=capacity)
    parts = solve_by_parts("set_cover", cover, weight, cost=cost, capacity=capacity, **SPLIT)
    assert parts.decomposition is not None
    assert parts.objective == whole.objective == 5.0
    assert parts.covered_weight == pytest.approx(whole.covered_weight) == pytest.approx(8.0)
    assert parts.status == whole.status == "optimal"
    assert parts.shares.toarray()[:, 0] @ weight == pytest.approx(3.0)


def _odd_cycle(k: int) -> np.ndarray:
    cover = np.zeros((k, k))
    cover[np.arange(k), np.arange(k)] = 1
    cover[np.arange(k), (np.arange(k) + 1) % k] = 1
    return cover


def test_a_part_that_hits_the_time_limit_leaves_the_others_proven() -> None:
    # part A: each row has one candidate (the reductions settle it without a search); part B:
    # an odd cycle of 9 with uneven costs, which needs a search the spent clock does not allow
    cycle = _odd_cycle(9)
    cover = sparse.csc_array(sparse.block_diag([np.eye(3), cycle]))
    cost = np.r_[[2.0, 3.0, 4.0], 1 + (np.arange(9) % 3) * 0.37]
    exact = set_cover(cover, cost)
    cut = solve_by_parts("set_cover", cover, cost=cost, time_limit=1e-9, **SPLIT)
    assert cut.decomposition.parts == 4  # three one-row parts and the cycle
    assert cut.status == "time_limit"
    assert exact.status == "optimal"
    assert cut.bound <= exact.objective <= cut.objective
    assert {0, 1, 2} <= set(cut.sites.tolist())  # part A's plan is its optimum regardless
    assert cut.gap > 0
    again = solve_by_parts("set_cover", cover, cost=cost, **SPLIT)
    assert again.status == "optimal"
    assert again.objective == pytest.approx(exact.objective)


def test_a_split_that_needs_it_is_solved_in_threads() -> None:
    rng = np.random.default_rng(5)
    band = np.zeros((70, 12))  # each row reaches two neighbouring sites: one component
    first = np.arange(70) * 11 // 70
    band[np.arange(70), first] = band[np.arange(70), first + 1] = 1
    cover = sparse.csc_array(sparse.block_diag([band] * 3))
    cost = rng.integers(1, 5, cover.shape[1]).astype(float)
    parts = solve_by_parts("set_cover", cover, cost=cost, workers=2, bin_rows=50)
    whole = set_cover(cover, cost)
    assert parts.decomposition.workers == 2
    assert parts.decomposition.parts == 3
    assert parts.objective == pytest.approx(whole.objective)
    assert parts.status == "optimal"
    assert "solved as 3 independent parts" in parts.decomposition.note
    assert "2 threads" in parts.decomposition.note


def test_p_median_is_solved_whole_and_says_why() -> None:
    dist = sparse.csr_array(np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 0, 2.0], [0, 0, 1.0]]))
    dist = sparse.csr_array(([0.0, 1.0, 2.0, 1.0], ([0, 1, 2, 3], [0, 0, 2, 2])), shape=(4, 3))
    result = solve_by_parts("p_median", dist, [1, 1, 1, 1], p=2, unserved_penalty=10.0)
    whole = p_median(dist, [1, 1, 1, 1], 2, unserved_penalty=10.0)
    assert result.objective == whole.objective
    assert result.decomposition is not None
    assert result.decomposition.parts == 2
    assert "solved whole: p couples its 2 independent parts" in result.decomposition.note
    with pytest.raises(InputError, match="p-median needs p"):
        solve_by_parts("p_median", dist, [1, 1, 1, 1])


def test_a_limit_shared_by_p_and_a_budget_is_solved_whole() -> None:
    cover, weight, cost = _hand()
    result = solve_by_parts("max_cover", cover, weight, p=1, budget=2.5, cost=cost, **SPLIT)
    whole = max_cover(cover, weight, p=1, budget=2.5, cost=cost)
    assert result.objective == whole.objective == 7.0
    assert result.decomposition.whole == "solved whole: p and the budget couple its 3 independent parts"


def test_a_shared_limit_is_solved_whole_unless_a_split_is_asked_for() -> None:
    cover, weight, cost = _hand()
    whole = solve_by_parts("max_cover", cover, weight, budget=2.5, cost=cost, excluded=[4], bin_rows=1)
    assert whole.decomposition.whole == "solved whole: the budget couples its 2 independent parts"
    split = solve_by_parts(
        "max_cover", cover, weight, budget=2.5, cost=cost, excluded=[4], bin_rows=1, whole_rows=5
    )
    assert split.decomposition.coupling == "budget"
    assert split.objective == whole.objective == 7.0


def test_input_errors_are_the_models() -> None:
    cover, weight, cost = _hand()
    with pytest.raises(InputError, match="give p"):
        solve_by_parts("max_cover", cover, weight)
    with pytest.raises(InputError, match="a budget needs the cost"):
        solve_by_parts("max_cover", cover, weight, budget=3.0)
    with pytest.raises(InputError, match="target must be a share"):
        solve_by_parts("upgrade_or_build", cover, weight, cost=cost, group=[0] * 5, target=1.5)
    with pytest.raises(InputError, match="time_limit must be a positive"):
        solve_by_parts("set_cover", cover, weight, cost=cost, time_limit=0)


def test_brute_force_agrees_with_a_split_budget_on_a_hand_example() -> None:
    # part A: one site of cost 4 covering 5; part B: sites of cost 6 covering 6 and of cost 10
    # covering 12. With a budget of 10, the ratio-greedy split (A 4, B 6) covers 11; B alone 12.
    cover = sparse.csc_array(sparse.block_diag([np.ones((1, 1)), np.array([[1.0, 1.0], [0.0, 1.0]])]))
    weight, cost = np.array([5.0, 6.0, 6.0]), np.array([4.0, 6.0, 10.0])
    best = max(
        weight[cover.toarray()[:, list(s)].any(axis=1)].sum()
        for k in range(4)
        for s in itertools.combinations(range(3), k)
        if cost[list(s)].sum() <= 10
    )
    result = solve_by_parts("max_cover", cover, weight, budget=10.0, cost=cost, **SPLIT)
    assert best == 12.0
    assert result.objective == best
    assert result.status == "optimal"
    assert result.sites.tolist() == [2]


def test_a_plan_says_how_many_parts_it_was_solved_in(monkeypatch) -> None:
    from tests.siting.test_planning import county, plan

    # C1 (its failing station the only upgrade) and C2-C3 (joined by the room between them) share
    # no candidate: two parts once every component is one
    monkeypatch.setattr("servicegrid.siting.by_parts.BIN_ROWS", 1)
    split = plan(county(), model="set-cover")
    assert "solved as 2 independent parts (2 components; largest 2 rows × 3 sites), 1 thread" in split.notes
    monkeypatch.undo()
    whole = plan(county(), model="set-cover")
    assert not any("independent parts" in note for note in whole.notes)
    assert split.siting.objective == whole.siting.objective
    assert split.proposed_sites["site_id"].tolist() == whole.proposed_sites["site_id"].tolist()


def test_a_split_that_runs_out_of_rounds_is_decided_by_the_whole_model(monkeypatch) -> None:
    # the greedy split of p = 2 (A's site, then B's best) covers 15; B's two other sites, 16
    from servicegrid.siting import allocate as allocation

    cover = sparse.csc_array(
        sparse.block_diag([np.ones((1, 1)), np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]])])
    )
    weight = np.array([5.0, 5.0, 4.0, 5.0, 2.0])

    def one_round(parts, coverage, evaluate, shared, start, bound, clock, **options):
        # from nothing, without the whole problem's bound, for one round only
        zero = np.zeros_like(start)
        return allocation.allocate(
            parts, coverage, evaluate, shared, zero, np.inf, clock, **options, max_rounds=1
        )

    monkeypatch.setattr("servicegrid.siting.by_parts.allocate", one_round)
    result = solve_by_parts("max_cover", cover, weight, p=2, **SPLIT)
    assert result.objective == 16.0
    assert result.status == "optimal"
    assert result.bound == 16.0
    assert result.decomposition.note.endswith("with its gap open it was solved whole as well")


def test_parts_their_share_did_not_let_finish_are_solved_again_with_the_time_left() -> None:
    from servicegrid.siting.by_parts import _again
    from servicegrid.siting.decompose import split_parts
    from servicegrid.siting.exact import Clock

    class Plenty(Clock):  # the first pass took no time, and all of it is left
        def left(self) -> float:
            return 30.0

    cycle = _odd_cycle(9)
    cover = sparse.csc_array(sparse.block_diag([np.eye(3), cycle]))
    cost = np.r_[[2.0, 3.0, 4.0], 1 + (np.arange(9) % 3) * 0.37]
    parts, _ = split_parts(cover, np.ones(12, dtype=bool), bin_rows=1)

    def on_part(part, limit, how, share):
        return set_cover(
            cover.tocsr()[part.rows][:, part.sites], cost[part.sites], time_limit=limit, method=how
        )

    first = [on_part(part, 1e-9, "exact", None) for part in parts]  # out of time: the cycle is unfinished
    assert [r.status for r in first].count("time_limit") == 1
    second = _again(parts, first, on_part, Plenty(30.0), method="exact", rel_gap=1e-6, workers=1)
    cycle_part = next(k for k, r in enumerate(first) if r.status == "time_limit")
    assert second[cycle_part].status == "optimal"
    assert second[cycle_part].objective == pytest.approx(set_cover(cycle, cost[3:]).objective)
    assert second[cycle_part].objective <= first[cycle_part].objective
    assert all(second[k] is first[k] for k in range(len(parts)) if k != cycle_part)
