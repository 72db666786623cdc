"""Independent parts: components of the reach graph, batching, threads, statuses."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import sparse

from servicegrid.siting.decompose import (
    LARGE_ROWS,
    Part,
    combined_status,
    solve_parts,
    split_parts,
    workers_for,
)
from servicegrid.siting.exact import Clock


def _matrix(pairs: list[tuple[int, int]], shape: tuple[int, int]) -> sparse.csc_array:
    rows, cols = zip(*pairs, strict=True)
    return sparse.csc_array((np.ones(len(pairs)), (rows, cols)), shape=shape)


# rows 0-1 reached by site 0; rows 2-3 by site 1; row 4 by nobody; row 5 by site 2 only, which
# is required; site 3 (required) reaches rows 1 and 2 and so joins nothing when it decides nothing
PAIRS = [(0, 0), (1, 0), (2, 1), (3, 1), (5, 2), (1, 3), (2, 3)]
SHAPE = (6, 5)


def _rows(parts: list[Part]) -> list[list[int]]:
    return sorted(p.rows.tolist() for p in parts)


def test_components_are_joined_only_by_sites_that_decide_something() -> None:
    a = _matrix(PAIRS, SHAPE)
    linking = np.array([True, True, False, False, True])  # sites 2 and 3 are required
    parts, components = split_parts(a, linking, bin_rows=1)
    assert components == 2
    # rows 4 and 5 decide nothing: they ride with the smallest part
    assert _rows(parts) == [[0, 1], [2, 3, 4, 5]]
    by_first = {p.rows[0]: p for p in parts}
    # a part holds every site reaching its rows: the required site 3 sits in both
    assert by_first[0].sites.tolist() == [0, 3]
    assert by_first[2].sites.tolist() == [1, 2, 3]
    assert all(p.components == 1 and p.decisions == 1 for p in parts)


def test_a_site_whose_capacity_the_rows_share_joins_them() -> None:
    a = _matrix(PAIRS, SHAPE)
    linking = np.array([True, True, False, True, True])  # site 3 is required with a capacity
    parts, components = split_parts(a, linking, bin_rows=1)
    assert components == 1
    assert len(parts) == 1


def test_groups_join_their_rows_and_no_choice_means_no_parts() -> None:
    a = _matrix(PAIRS, SHAPE)
    linking = np.array([True, True, False, False, True])
    group = np.array([0, 0, 1, 0, 1, 1])  # row 3 is in group 0 with rows 0-1
    parts, components = split_parts(a, linking, group=group, bin_rows=1)
    assert components == 1
    assert len(parts) == 1
    parts, components = split_parts(a, np.zeros(5, dtype=bool), bin_rows=1)
    assert parts == []
    assert components == 0


def test_small_components_are_batched_and_large_ones_stand_alone() -> None:
    # ten components of 2 rows and one of 8 rows, each with its own site
    pairs = [(2 * k + i, k) for k in range(10) for i in range(2)]
    pairs += [(20 + i, 10) for i in range(8)]
    a = _matrix(pairs, (28, 11))
    parts, components = split_parts(a, np.ones(11, dtype=bool), bin_rows=6)
    assert components == 11
    sizes = sorted(p.rows.size for p in parts)
    assert sizes == [2, 6, 6, 6, 8]  # the 8-row component alone, the others packed by 6 rows
    assert sum(p.components for p in parts) == 11
    assert np.array_equal(np.sort(np.concatenate([p.rows for p in parts])), np.arange(28))


def test_solve_parts_keeps_part_order_and_uses_threads_for_large_parts() -> None:
    rows = [np.arange(LARGE_ROWS), np.arange(3), np.arange(LARGE_ROWS + 5)]
    parts = [Part(r, np.zeros(1, dtype=np.int64), 1, 1) for r in rows]
    assert workers_for(parts, None) >= 1
    assert workers_for(parts, 2) == 2  # two large parts
    assert workers_for(parts[:2], 2) == 1  # one large part: no threads
    seen: list[tuple[int, str]] = []
    limits: list[float] = []

    def solve(k: int, limit: float) -> int:
        seen.append((k, threading.current_thread().name))
        limits.append(limit)
        return 10 * k

    clock = Clock(30.0)
    assert solve_parts(parts, solve, clock, workers=2) == [0, 10, 20]
    assert all(name.startswith("siting-part") for _, name in seen)
    assert all(0 < limit <= 30.0 for limit in limits)
    seen.clear()
    assert solve_parts(parts, solve, clock, workers=1) == [0, 10, 20]
    # inline: the small part first, then the large ones from the largest down
    assert [k for k, _ in seen] == [1, 2, 0]


def test_a_spent_clock_gives_every_part_a_token_limit() -> None:
    parts = [Part(np.arange(2), np.zeros(1, dtype=np.int64), 1, 1) for _ in range(3)]
    clock = Clock(1e-9)
    limits = solve_parts(parts, lambda k, limit: limit, clock, workers=1)
    assert all(0 < limit <= 1e-6 for limit in limits)


@pytest.mark.parametrize(
    ("statuses", "combined"),
    [
        (["optimal", "optimal"], "optimal"),
        (["optimal", "time_limit"], "time_limit"),
        (["heuristic", "optimal"], "heuristic"),
        (["time_limit", "infeasible"], "infeasible"),
    ],
)
def test_the_whole_is_optimal_only_when_every_part_is(statuses, combined) -> None:
    assert combined_status(statuses) == combined


class _Still(Clock):
    """A clock that stands at 30 seconds left: the shares, not the wall clock, are tested."""

    def left(self) -> float:
        return 30.0


def test_each_part_gets_its_share_of_what_remains_and_the_last_all_of_it() -> None:
    parts = [Part(np.arange(r), np.zeros(1, dtype=np.int64), 1, 1) for r in (20, 10, 10)]
    limits: dict[int, float] = {}

    def solve(k: int, limit: float) -> None:
        limits[k] = limit

    solve_parts(parts, solve, _Still(30.0), workers=1)
    # inline, largest first among the small: 20 of 40 rows, 10 of the 20 left, the last 10 of 10
    assert limits == {0: pytest.approx(15.0), 1: pytest.approx(15.0), 2: pytest.approx(30.0)}
