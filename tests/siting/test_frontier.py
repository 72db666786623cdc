"""The plans of a small component: what each serves equals a maximum flow, and every plan of the
component is matched by a listed one costing no more and serving no less, brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from servicegrid.siting import frontier
from servicegrid.siting.capacitated import CapacitatedQuestion

fast = settings(max_examples=60, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def _question(seed: int) -> CapacitatedQuestion:
    """One component: 1-6 rows in 1-3 townships, 1-7 sites (capacities on most, now and then a
    required site with or without one, an excluded one), costs with ties and zeros."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 7)), int(rng.integers(1, 8))
    cover = rng.random((n, m)) < 0.5
    cover[:, 0] = True  # one component: every row reached by site 0
    w = rng.integers(1, 12, n).astype(float)
    cap = np.where(rng.random(m) < 0.7, rng.integers(1, 20, m).astype(float), np.inf)
    role = rng.choice(3, size=m, p=[0.8, 0.12, 0.08])
    role[0] = 0  # site 0 stays choosable (the component stays joined)
    return CapacitatedQuestion(
        a=sparse.csc_array(cover.astype(float)),
        w=w,
        cost=np.where(role == 1, 0.0, rng.integers(0, 5, m).astype(float)),
        cap=cap,
        rows=np.ones(n, dtype=bool),
        lower=(role == 1).astype(float),
        upper=(role != 2).astype(float),
        minimise="cost",
        group=rng.integers(0, int(rng.integers(1, 4)), n),
        target=np.zeros(3),
    )


def _max_flow(q: CapacitatedQuestion, open_: np.ndarray, rows: np.ndarray) -> float:
    """The most the open sites serve in ``rows``: a transportation LP."""
    a = q.a.toarray() > 0
    pairs = [(i, j) for i in rows for j in np.flatnonzero(open_) if a[i, j]]
    if not pairs:
        return 0.0
    i, j = np.array(pairs).T
    rows_used, sites_used = np.unique(i), np.unique(j)
    a_ub = np.vstack(
        [(i == r).astype(float) for r in rows_used] + [(j == s).astype(float) for s in sites_used]
    )
    b_ub = np.r_[q.w[rows_used], np.where(np.isfinite(q.cap[sites_used]), q.cap[sites_used], 1e9)]
    out = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    return float(-out.fun)


def _every_plan(q: CapacitatedQuestion, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost and served households (per set of townships) of every set of choosable sites."""
    choosable = np.flatnonzero(q.lower < q.upper)
    rows_of = [
        np.flatnonzero(((u >> np.searchsorted(groups, q.group)) & 1) > 0) for u in range(1, 1 << groups.size)
    ]
    costs, most = [], []
    for k in range(choosable.size + 1):
        for chosen in itertools.combinations(choosable, k):
            open_ = q.lower.astype(bool).copy()
            open_[list(chosen)] = True
            open_ &= q.upper > 0
            costs.append(float(q.cost[list(chosen)].sum()))
            most.append([_max_flow(q, open_, rows) for rows in rows_of])
    return np.array(costs), np.array(most)


@fast
@given(seed=seeds, loose=st.booleans())
def test_the_plans_are_every_plan_worth_having(seed: int, loose: bool) -> None:
    q = _question(seed)
    csr = sparse.csr_array(q.a)
    rows = np.arange(q.a.shape[0])
    comp = frontier.component(q, csr, rows)
    assert comp is not None
    groups = comp.groups
    top = frontier.top(comp)
    cost, most = _every_plan(q, groups)
    single = frontier.singles(groups.size)
    assert top == pytest.approx(most[:, single].max(axis=0))
    slack = np.full(3, np.inf) if loose else np.full(3, float(np.random.default_rng(seed).integers(0, 8)))
    listed = frontier.plans(comp, slack)
    # each listed plan serves what a maximum flow from its sites serves
    rows_of = [
        np.flatnonzero(((u >> np.searchsorted(groups, q.group)) & 1) > 0) for u in range(1, 1 << groups.size)
    ]
    for i in range(listed.cost.size):
        open_ = q.lower.astype(bool) & (q.upper > 0)
        open_[listed.opened(i)] = True
        assert listed.most[i] == pytest.approx([_max_flow(q, open_, r) for r in rows_of], abs=1e-6)
        assert listed.cost[i] == pytest.approx(q.cost[listed.opened(i)].sum())
        assert np.all(top - listed.most[i, single] <= slack[groups] + 1e-6) or i == listed.cost.size - 1
    assert listed.most[-1] == pytest.approx(most.max(axis=0))  # every site open is listed
    # every plan inside the window is matched by a listed one costing no more, serving no less
    inside = np.all(top - most[:, single] <= slack[groups] + 1e-6, axis=1)
    for c, f in zip(cost[inside], most[inside], strict=True):
        assert np.any((listed.cost <= c + 1e-9) & np.all(listed.most >= f - 1e-6, axis=1))
    # and no listed plan is beaten by another listed one
    for i in range(listed.cost.size):
        others = np.arange(listed.cost.size) != i
        beaten = (listed.cost[others] <= listed.cost[i]) & np.all(
            listed.most[others] >= listed.most[i], axis=1
        )
        strictly = (listed.cost[others] < listed.cost[i]) | np.any(
            listed.most[others] > listed.most[i] + 1e-9, axis=1
        )
        assert not np.any(beaten & strictly)


def test_a_capped_site_serves_up_to_its_capacity_and_an_uncapped_one_everything() -> None:
    # rows of 5 and 7 households; site 0 (capacity 6) reaches both, site 1 (no capacity) row 1
    q = CapacitatedQuestion(
        a=sparse.csc_array(np.array([[1.0, 0.0], [1.0, 1.0]])),
        w=np.array([5.0, 7.0]),
        cost=np.array([2.0, 3.0]),
        cap=np.array([6.0, np.inf]),
        rows=np.ones(2, dtype=bool),
        lower=np.zeros(2),
        upper=np.ones(2),
        minimise="cost",
        group=np.array([0, 0]),
        target=np.zeros(1),
    )
    comp = frontier.component(q, sparse.csr_array(q.a), np.arange(2))
    listed = frontier.plans(comp, np.array([np.inf]))
    got = {
        tuple(np.sort(listed.opened(i))): (listed.cost[i], listed.most[i, 0]) for i in range(listed.cost.size)
    }
    # nothing open serves nothing; site 0 serves 6; site 1 serves 7; both serve 5 + 7
    assert got == {(): (0.0, 0.0), (0,): (2.0, 6.0), (1,): (3.0, 7.0), (0, 1): (5.0, 12.0)}
    # a slack of 6 households leaves out the plans serving less than 6
    listed = frontier.plans(comp, np.array([6.0]))
    assert set(listed.most[:, 0]) == {6.0, 7.0, 12.0}


def test_townships_no_site_joins_add_up_and_one_site_joins_them() -> None:
    # two rows in two townships; site 0 reaches row 0, site 1 row 1, site 2 (capacity 4) both
    a = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    q = CapacitatedQuestion(
        a=sparse.csc_array(a),
        w=np.array([3.0, 3.0]),
        cost=np.array([1.0, 1.0, 1.0]),
        cap=np.array([np.inf, np.inf, 4.0]),
        rows=np.ones(2, dtype=bool),
        lower=np.zeros(3),
        upper=np.array([1.0, 1.0, 0.0]),  # site 2 excluded: nothing joins the townships
        minimise="cost",
        group=np.array([0, 1]),
        target=np.zeros(2),
    )
    comp = frontier.component(q, sparse.csr_array(q.a), np.arange(2))
    assert frontier._apart(comp, 0b11) == 0b01
    joined = CapacitatedQuestion(**{**q.__dict__, "upper": np.ones(3)})
    comp = frontier.component(joined, sparse.csr_array(q.a), np.arange(2))
    assert frontier._apart(comp, 0b11) == 0
    listed = frontier.plans(comp, np.full(2, np.inf))
    alone = {tuple(np.sort(listed.opened(i))): tuple(listed.most[i]) for i in range(listed.cost.size)}
    assert alone[(2,)] == (3.0, 3.0, 4.0)  # 3 in either township, 4 in both: not 3 + 3


def test_too_large_components_are_left_whole(monkeypatch) -> None:
    q = _question(3)
    csr = sparse.csr_array(q.a)
    rows = np.arange(q.a.shape[0])
    assert frontier.component(q, csr, rows) is not None
    monkeypatch.setattr(frontier, "ENUM_BITS", 0)
    assert frontier.component(q, csr, rows) is None
    monkeypatch.setattr(frontier, "ENUM_BITS", 22)
    monkeypatch.setattr(frontier, "_WORK", 1)
    assert frontier.component(q, csr, rows) is None


def test_plans_serving_the_same_are_told_apart_exactly() -> None:
    # rows whose fixed combination of the columns coincides without being equal
    m = np.array([[np.sqrt(3), 0.0], [0.0, np.sqrt(2)], [np.sqrt(3), 0.0]])
    assert m[0] @ np.sqrt([2.0, 3.0]) == m[1] @ np.sqrt([2.0, 3.0])
    assert list(frontier._first_of_each(m)) == [0, 1]
