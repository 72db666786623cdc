"""Capacitated township targets by component equal the whole integer program."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from servicegrid.siting import frontier, pareto, upgrade_or_build
from servicegrid.siting.capacitated import CapacitatedQuestion, solve_capacitated
from servicegrid.siting.exact import Clock

fast = settings(max_examples=60, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def _question(seed: int, target: float) -> CapacitatedQuestion:
    """Blocks of 1-4 rows and 1-4 sites in two townships (now and then a block in both),
    capacities on most sites, required sites with a capacity, excluded sites."""
    rng = np.random.default_rng(seed)
    covers, groups = [], []
    for _ in range(int(rng.integers(2, 6))):
        n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        cover = rng.random((n, m)) < 0.6
        cover[:, 0] = True  # every row can be reached
        covers.append(cover.astype(float))
        g = np.full(n, int(rng.integers(0, 2)))
        if n > 1 and rng.random() < 0.2:
            g[0] = 1 - g[0]  # a block in both townships
        groups.append(g)
    a = sparse.csc_array(sparse.block_diag(covers))
    a.eliminate_zeros()
    n, m = a.shape
    w = rng.integers(1, 10, n).astype(float)
    cost = rng.integers(1, 7, m).astype(float)
    cap = np.where(rng.random(m) < 0.7, rng.integers(2, 16, m).astype(float), np.inf)
    role = rng.choice(3, size=m, p=[0.8, 0.1, 0.1])
    role[np.flatnonzero(np.isinf(cap) & (role == 1))] = 0  # a required site has a capacity
    group = np.concatenate(groups)
    lower, upper = (role == 1).astype(float), (role != 2).astype(float)
    rows = (a @ upper) > 0
    coverable = np.bincount(group, weights=w * rows, minlength=2)
    return CapacitatedQuestion(
        a=a,
        w=w,
        cost=np.where(role == 1, 0.0, cost),
        cap=cap,
        rows=rows,
        lower=lower,
        upper=upper,
        minimise="cost",
        group=group,
        target=target * coverable,
        base=np.zeros(2),
    )


def _check(answer, q: CapacitatedQuestion) -> None:
    """Required sites open, shares only from open sites within reach, capacities and targets met."""
    x, shares = answer.x, answer.shares.toarray()
    assert np.all(x[q.lower > 0] == 1)
    assert np.all(x[q.upper == 0] == 0)
    assert np.all(shares[q.a.toarray() == 0] == 0)
    assert np.all(shares[:, x < 0.5] == 0)
    assert np.all(shares.sum(axis=1) <= 1 + 1e-9)
    assert np.all((shares * q.w[:, None]).sum(axis=0) <= q.cap + 1e-6)
    served = np.bincount(q.group, weights=q.w * shares.sum(axis=1), minlength=2)
    assert np.all(served >= (q.target - q.base) * (1 - 1e-6) - 1e-5)  # within HiGHS tolerances
    assert float(q.cost @ x) == pytest.approx(answer.objective)


@fast
@given(seed=seeds, target=st.sampled_from([0.5, 0.8, 0.9, 1.0]), bits=st.sampled_from([2, 6, 14]))
def test_targets_by_component_equal_the_whole_program(seed: int, target: float, bits: int) -> None:
    q = _question(seed, target)
    whole = solve_capacitated(q, time_limit=30, rel_gap=1e-9)
    with pytest.MonkeyPatch.context() as patch:
        # few bits keep most components whole in the master; more enumerate them
        patch.setattr(frontier, "ENUM_BITS", bits)
        split = pareto.targets_by_component(q, Clock(30), rel_gap=1e-9)
    if split is None:  # fewer than two components to enumerate
        return
    assert split.outcome == whole.outcome
    if whole.outcome == "infeasible":
        return
    assert whole.outcome == "optimal"
    assert split.objective == pytest.approx(whole.objective)
    assert split.bound == pytest.approx(whole.objective)
    _check(split, q)


def test_a_target_beyond_the_capacities_is_reported_out_of_reach() -> None:
    # two one-row components of 5 households, each with one site of capacity 2: 4 of 10 at most
    q = CapacitatedQuestion(
        a=sparse.csc_array(np.eye(2)),
        w=np.array([5.0, 5.0]),
        cost=np.array([1.0, 1.0]),
        cap=np.array([2.0, 2.0]),
        rows=np.ones(2, dtype=bool),
        lower=np.zeros(2),
        upper=np.ones(2),
        minimise="cost",
        group=np.array([0, 0]),
        target=np.array([5.0]),
        base=np.zeros(1),
    )
    assert pareto.targets_by_component(q, Clock(30), rel_gap=1e-6).outcome == "infeasible"
    q = CapacitatedQuestion(**{**q.__dict__, "target": np.array([4.0])})
    answer = pareto.targets_by_component(q, Clock(30), rel_gap=1e-6)
    assert answer.outcome == "optimal"
    assert answer.objective == 2.0
    # other questions are left to the whole program
    assert (
        pareto.targets_by_component(
            CapacitatedQuestion(**{**q.__dict__, "budget": 1.0}), Clock(30), rel_gap=1e-6
        )
        is None
    )


def test_the_model_takes_the_components_path_and_agrees_without_it(monkeypatch) -> None:
    rng = np.random.default_rng(11)
    blocks = [(rng.random((3, 3)) < 0.7) | np.eye(3, dtype=bool) for _ in range(6)]
    cover = sparse.csc_array(sparse.block_diag([b.astype(float) for b in blocks]))
    n, m = cover.shape
    w = rng.integers(1, 9, n).astype(float)
    cost = rng.integers(1, 6, m).astype(float)
    cap = rng.integers(3, 12, m).astype(float)
    group = np.repeat([0, 1], n // 2)
    calls = []
    real = pareto.targets_by_component

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("servicegrid.siting.upgrade.targets_by_component", spy)
    split = upgrade_or_build(cover, w, cost, group, 0.9, capacity=cap)
    monkeypatch.setattr("servicegrid.siting.upgrade.targets_by_component", lambda *a, **k: None)
    whole = upgrade_or_build(cover, w, cost, group, 0.9, capacity=cap)
    assert calls
    assert split.decomposition.enumerated >= 6
    assert split.decomposition.note.startswith("capacitated township targets by component: ")
    assert whole.decomposition is None
    assert split.status == whole.status == "optimal"
    assert split.objective == pytest.approx(whole.objective)
    assert split.groups.met.all()
    assert whole.groups.met.all()
