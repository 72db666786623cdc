"""Sharing a limit between parts: the exact step mends a greedy split, bounds hold at every share."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from servicegrid.siting import max_cover
from servicegrid.siting.allocate import Coverage, Shared, _best, allocate
from servicegrid.siting.decompose import Part, split_parts
from servicegrid.siting.exact import Clock
from servicegrid.siting.heuristics.incidence import Incidence
from servicegrid.siting.heuristics.max_cover import greedy_max_cover

fast = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def _coverage(a: sparse.csr_array, w: np.ndarray, usage: np.ndarray, part: Part) -> Coverage:
    """Plain coverage of a part without required sites."""
    sub = sparse.csr_array(a[part.rows][:, part.sites])
    free = np.arange(part.sites.size)
    return Coverage(
        sub,
        w[part.rows],
        np.zeros(part.rows.size, dtype=np.int64),
        np.array([np.inf]),
        usage[part.sites],
        0.0,
        free,
    )


def _split(a: sparse.csr_array, w: np.ndarray, usage: np.ndarray):
    parts, _ = split_parts(sparse.csc_array(a), np.ones(a.shape[1], dtype=bool), bin_rows=1)
    return parts, [_coverage(a, w, usage, p) for p in parts]


def _evaluate(a: sparse.csr_array, w: np.ndarray, parts, *, kind: str, cost: np.ndarray | None = None):
    def evaluate(k: int, share: float, how, limit: float):
        part = parts[k]
        sub = a[part.rows][:, part.sites]
        if share <= 0:
            return max_cover(sub, w[part.rows], budget=1e-9, cost=np.ones(part.sites.size), method=how)
        if kind == "p":
            return max_cover(sub, w[part.rows], p=round(share), method=how, time_limit=limit)
        return max_cover(sub, w[part.rows], budget=share, cost=cost[part.sites], method=how, time_limit=limit)

    return evaluate


def _greedy_split(a, w, parts, *, p=None, cost=None, budget=None) -> np.ndarray:
    """The split of the plain greedy of the whole problem."""
    picks = greedy_max_cover(Incidence.from_sparse(a), w, p=p, cost=cost, budget=budget)
    usage = np.ones(a.shape[1]) if cost is None else cost
    return np.array([usage[np.intersect1d(picks, part.sites)].sum() for part in parts])


def test_the_exact_step_mends_a_greedy_split_of_the_sites() -> None:
    # part A: one site covering 5. Part B: b1 covers P (5) and Q (4), b2 covers R (5) and S (2),
    # b3 covers P and R. With p = 2 the greedy opens b3 (10), then A (5): 15. B alone: b1 and b2, 16.
    a = sparse.csr_array(
        sparse.block_diag([np.ones((1, 1)), np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]])])
    )
    w = np.array([5.0, 5.0, 4.0, 5.0, 2.0])
    parts, cover = _split(a, w, np.ones(4))
    start = _greedy_split(a, w, parts, p=2)
    assert sorted(start.tolist()) == [1.0, 1.0]  # the greedy split
    result = allocate(
        parts,
        cover,
        _evaluate(a, w, parts, kind="p"),
        Shared("p", 2.0, np.ones(4)),
        start,
        np.inf,
        Clock(30.0),
        method="exact",
        rel_gap=1e-6,
        integral=True,
        workers=1,
    )
    best = max(w[a.toarray()[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(4), 2))
    assert best == 16.0
    assert result.closed
    assert not result.stalled
    assert result.objective == 16.0
    assert result.bound == 16.0
    assert result.rounds >= 2  # the first split was not the best: a round mended it
    chosen = [p.sites[r.sites].tolist() for p, r in zip(parts, result.results, strict=True)]
    assert sorted(site for sites in chosen for site in sites) == [1, 2]


def test_the_exact_step_mends_a_greedy_split_of_the_budget() -> None:
    # part A: a site of cost 4 covering 5; part B: sites of cost 6 covering 6 and of cost 10
    # covering 12. The ratio greedy with a budget of 10 spends 4 on A and 6 on B: 11; B's big site, 12.
    a = sparse.csr_array(sparse.block_diag([np.ones((1, 1)), np.array([[1.0, 1.0], [0.0, 1.0]])]))
    w, cost = np.array([5.0, 6.0, 6.0]), np.array([4.0, 6.0, 10.0])
    parts, cover = _split(a, w, cost)
    start = np.array([4.0, 6.0]) if parts[0].sites.tolist() == [0] else np.array([6.0, 4.0])
    result = allocate(
        parts,
        cover,
        _evaluate(a, w, parts, kind="budget", cost=cost),
        Shared("budget", 10.0, cost),
        start,
        np.inf,
        Clock(30.0),
        method="exact",
        rel_gap=1e-6,
        integral=True,
        workers=1,
    )
    assert result.closed
    assert result.objective == 12.0
    assert [r.cost for r in result.results] == (
        [0.0, 10.0] if parts[0].sites.tolist() == [0] else [10.0, 0.0]
    )


def test_a_spent_clock_stops_the_split_with_a_valid_bound() -> None:
    rng = np.random.default_rng(3)
    a = sparse.csr_array(sparse.block_diag([(rng.random((6, 4)) < 0.5).astype(float) for _ in range(3)]))
    w = rng.integers(1, 9, a.shape[0]).astype(float)
    parts, cover = _split(a, w, np.ones(a.shape[1]))
    result = allocate(
        parts,
        cover,
        _evaluate(a, w, parts, kind="p"),
        Shared("p", 3.0, np.ones(a.shape[1])),
        np.ones(len(parts)),
        np.inf,
        Clock(1e-9),
        method="exact",
        rel_gap=1e-6,
        integral=True,
        workers=1,
    )
    best = max_cover(a, w, p=3).objective
    assert result.rounds == 1
    assert result.objective <= best <= result.bound


@fast
@given(seed=seeds, groups=st.booleans())
def test_the_submodular_bound_holds_at_every_share(seed: int, groups: bool) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 7)), int(rng.integers(1, 6))
    a = sparse.csr_array((rng.random((n, m)) < 0.5).astype(float))
    w = rng.integers(0, 9, n).astype(float)
    usage = rng.integers(0, 5, m).astype(float)
    group = rng.integers(0, 2, n) if groups else np.zeros(n, dtype=np.int64)
    need = rng.integers(0, 20, 2).astype(float) if groups else np.array([np.inf])
    cov = Coverage(a, w, group, need, usage, 1.5, np.arange(m))
    plans = [np.array(s, dtype=np.int64) for k in range(m + 1) for s in itertools.combinations(range(m), k)]

    def value(plan: np.ndarray) -> float:
        is_open = np.zeros(m, dtype=bool)
        is_open[plan] = True
        return cov.gains(is_open)[0]

    shares = np.arange(0, usage.sum() + 2, 0.5)
    best = np.array([max(value(s) for s in plans if usage[s].sum() <= share) for share in shares])
    for plan in plans[:: max(1, len(plans) // 6)]:
        is_open = np.zeros(m, dtype=bool)
        is_open[plan] = True
        bound = cov.bound(is_open, shares)
        assert np.all(bound >= best - 1e-9)
        assert bound[-1] >= value(plan) - 1e-9


@fast
@given(seed=seeds)
def test_the_split_knapsack_is_the_best_combination(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = int(rng.integers(0, 7))
    values = [np.cumsum(rng.integers(0, 6, int(rng.integers(1, cells + 2)))).astype(float) for _ in range(3)]
    value, picks = _best(values, cells)
    combos = [
        (sum(v[j] for v, j in zip(values, pick, strict=True)), pick)
        for pick in itertools.product(*(range(v.size) for v in values))
        if sum(pick) <= cells
    ]
    assert value == pytest.approx(max(c[0] for c in combos))
    assert sum(picks) <= cells
    assert sum(v[j] for v, j in zip(values, picks, strict=True)) == pytest.approx(value)
