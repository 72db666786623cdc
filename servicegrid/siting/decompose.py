"""Independent parts of a siting problem: finding them, solving them side by side, and putting
their answers back together exactly.

:func:`split_parts` finds the connected components of the graph whose nodes are the demand rows,
the candidates that link rows (those a plan may still open, and with capacities the required
ones whose capacity the rows share) and, when every group has its own target, the groups. Rows of
different components share no decision, so each component is a problem of its own and the
optimum of the whole is the sum of theirs. Components of fewer than ``bin_rows`` rows are packed
together into one part (solving many tiny problems one by one costs more in set-up than in
solving), and the rows no linking candidate reaches ride along with the smallest part. Every row
is in exactly one part; a part holds every candidate that reaches one of its rows (a required or
excluded one may sit in several parts, where it decides nothing).

:func:`solve_parts` runs a solver on each part: in threads when more than one part is large
(HiGHS releases the GIL while it solves), small parts first, each with its share of the time that
remains of the whole. :func:`combine` maps the parts' answers back onto the whole problem's rows and
candidates: the sites in one build order, assignments, shares, coverage per group.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .exact import Clock, relative_gap
from .result import (
    BoolArray,
    Decomposition,
    GroupCoverage,
    IntArray,
    ModelName,
    Sense,
    SitingResult,
    Status,
)

__all__ = [
    "BIN_ROWS",
    "LARGE_ROWS",
    "Part",
    "available_cores",
    "combine",
    "combined_status",
    "solve_parts",
    "split_parts",
    "workers_for",
]

logger = logging.getLogger(__name__)

#: Components with fewer rows are batched into parts of about this many rows.
BIN_ROWS = 150
#: A part with at least this many rows is worth a thread of its own.
LARGE_ROWS = 60
#: The time limit a part gets when the whole problem's time is already spent.
SPENT = 1e-9

T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    """One independent part: its demand rows and every candidate that reaches one of them
    (global indices, ascending), the components it holds and its linking candidates."""

    rows: IntArray
    sites: IntArray
    components: int
    decisions: int

    @property
    def size(self) -> tuple[int, int]:
        """Rows × candidates."""
        return int(self.rows.size), int(self.sites.size)


def split_parts(
    a: sparse.csc_array,
    linking: BoolArray,
    *,
    group: IntArray | None = None,
    bin_rows: int = BIN_ROWS,
) -> tuple[list[Part], int]:
    """The independent parts of ``a`` (demand × candidate, stored entries are the pairs within
    reach) and the number of components holding a choice.

    ``linking`` marks the candidates whose decision the rows they reach share; ``group`` (one
    index per row) joins the rows of each group as well. Returns no parts when no linking
    candidate reaches a row (there is nothing to split).
    """
    n, m = a.shape
    coo = sparse.coo_array(a)
    row_e, col_e = coo.row.astype(np.int64), coo.col.astype(np.int64)
    link_slot = np.cumsum(linking) - 1
    on_link = linking[col_e]
    src = [row_e[on_link]]
    dst = [n + link_slot[col_e[on_link]]]
    n_link = int(linking.sum())
    n_groups = 0
    if group is not None and group.size:
        n_groups = int(group.max()) + 1
        src.append(np.arange(n, dtype=np.int64))
        dst.append(n + n_link + group)
    size = n + n_link + n_groups
    s, d = np.concatenate(src), np.concatenate(dst)
    graph = sparse.coo_array((np.ones(s.size, dtype=np.int8), (s, d)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    row_label = label[:n]
    # components holding a choice: a linking candidate that reaches a row
    chooses = np.zeros(int(label.max(initial=-1)) + 1, dtype=bool)
    chooses[row_label[row_e[on_link]]] = True
    choice = np.flatnonzero(chooses)
    if choice.size == 0:
        return [], 0
    comp_rows = np.bincount(row_label, minlength=chooses.size)
    comp_links = np.bincount(label[n : n + n_link], minlength=chooses.size)
    # big components alone, the others packed in order of size into bins of about bin_rows
    order = choice[np.lexsort((choice, -comp_rows[choice]))]
    big = comp_rows[order] >= bin_rows
    packed = np.cumsum(comp_rows[order[~big]])
    bin_of_small = (packed - 1) // max(bin_rows, 1)
    part_of_comp = np.full(chooses.size, -1, dtype=np.int64)
    part_of_comp[order[big]] = np.arange(int(big.sum()))
    part_of_comp[order[~big]] = int(big.sum()) + bin_of_small
    n_parts = int(part_of_comp.max()) + 1
    part_of_row = part_of_comp[row_label]
    part_of_row[part_of_row < 0] = n_parts - 1  # rows without a choice ride with the smallest part
    by_part = np.argsort(part_of_row, kind="stable")
    row_bounds = np.searchsorted(part_of_row[by_part], np.arange(n_parts + 1))
    # every candidate that reaches a row of a part belongs to that part's problem
    pair = np.unique(part_of_row[row_e] * np.int64(m) + col_e)
    pair_part, pair_col = pair // m, pair % m
    col_bounds = np.searchsorted(pair_part, np.arange(n_parts + 1))
    n_comps = np.bincount(part_of_comp[choice], minlength=n_parts)
    n_dec = np.bincount(part_of_comp[choice], weights=comp_links[choice], minlength=n_parts)
    parts = [
        Part(
            rows=by_part[row_bounds[k] : row_bounds[k + 1]].astype(np.int64),
            sites=pair_col[col_bounds[k] : col_bounds[k + 1]].astype(np.int64),
            components=int(n_comps[k]),
            decisions=int(n_dec[k]),
        )
        for k in range(n_parts)
    ]
    return parts, int(choice.size)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def solve_parts(
    parts: Sequence[Part],
    solve: Callable[[int, float], T],
    clock: Clock,
    *,
    workers: int,
) -> list[T]:
    """``solve(k, time_limit)`` for every part, in part order.

    Small parts go first, then the large ones, each from the largest down; with ``workers > 1``
    they run in that many threads. A part starting gets its share of the time that remains: in
    proportion to its rows among the parts not started yet, times the threads, and at most all
    of it. The last part gets all that remains, and no part is left without time because one
    before it took it all (a token limit once the time is spent: the part then returns its first
    plan and bound).
    """
    rows = np.array([max(p.rows.size, 1) for p in parts], dtype=np.int64)
    order = np.lexsort((-rows, rows >= LARGE_ROWS)).tolist()  # small ones, then large; largest first
    threads = max(1, min(workers, len(parts)))
    lock = threading.Lock()
    pending = [int(rows.sum())]

    def run(k: int) -> T:
        with lock:
            share = min(1.0, threads * float(rows[k]) / pending[0])
            pending[0] -= int(rows[k])
        return solve(k, max(clock.left() * share, SPENT))

    out: dict[int, T] = {}
    if threads == 1:
        for k in order:
            out[k] = run(k)
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="siting-part") as pool:
            futures = {k: pool.submit(run, k) for k in order}
            out = {k: f.result() for k, f in futures.items()}
    return [out[k] for k in range(len(parts))]


def workers_for(parts: Sequence[Part], workers: int | None) -> int:
    """Threads for ``parts``: one unless at least two parts are large, then up to the cores."""
    large = sum(p.rows.size >= LARGE_ROWS for p in parts)
    if large < 2:
        return 1
    cap = available_cores() if workers is None else max(int(workers), 1)
    return min(cap, large)


def combined_status(statuses: Sequence[Status]) -> Status:
    """Optimal when every part is; infeasible when one is; else a time limit, or heuristic."""
    if all(s == "optimal" for s in statuses):
        return "optimal"
    if any(s == "infeasible" for s in statuses):
        return "infeasible"
    if any(s == "time_limit" for s in statuses):
        return "time_limit"
    return "heuristic"


def combine(
    model: ModelName,
    sense: Sense,
    parts: Sequence[Part],
    results: Sequence[SitingResult],
    *,
    shape: tuple[int, int],
    required: BoolArray,
    labels: NDArray[np.generic] | None,
    capacitated: bool,
    objective: float,
    bound: float,
    status: Status,
    clock: Clock,
    report: Decomposition,
) -> SitingResult:
    """The whole problem's result from its parts' results (objective, bound and status given).

    Sites come in one build order: each part's sites are already in the order of their
    marginal gain, and a site's gain depends only on the sites of its own part, so merging the
    parts' sequences by gain is the build order of the whole. With capacities every part is
    answered by the capacitated model, with the shares of its rows.
    """
    n, m = shape
    sites, gains, kinds = [], [], []
    covered, unc, reason = [], [], []
    assignment = np.full(n, -1, dtype=np.int64)
    share_r, share_c, share_v = [], [], []
    timings: dict[str, float] = dict(clock.timings)
    for part, res in zip(parts, results, strict=True):
        local_sites, local_gain = res.sites, res.marginal_gain
        local_kind = res.site_kind
        if res.shares is not None:
            s = res.shares.tocoo()
            share_r.append(part.rows[s.row])
            share_c.append(part.sites[s.col])
            share_v.append(np.asarray(s.data, dtype=np.float64))
        sites.append(part.sites[local_sites])
        gains.append(local_gain)
        if local_kind is not None:
            kinds.append(local_kind)
        covered.append(part.rows[res.covered])
        unc.append(part.rows[res.uncoverable])
        reason.append(res.uncoverable_reason)
        hit = res.assignment >= 0
        assignment[part.rows[hit]] = part.sites[res.assignment[hit]]
        for phase, seconds in res.timings.items():
            timings[phase] = timings.get(phase, 0.0) + seconds
    all_sites = np.concatenate(sites).astype(np.int64)
    all_gains = np.concatenate(gains).astype(np.float64)
    order = np.argsort(-all_gains, kind="stable")
    unc_rows = np.concatenate(unc).astype(np.int64)
    unc_order = np.argsort(unc_rows, kind="stable")
    shares = None
    if capacitated:
        shares = sparse.csr_array(
            (np.concatenate(share_v), (np.concatenate(share_r), np.concatenate(share_c))), shape=(n, m)
        )
    covered_rows = np.sort(np.concatenate(covered)).astype(np.int64)
    covered_weight = float(sum(r.covered_weight for r in results))
    gap = relative_gap(objective, bound) if status != "infeasible" else np.inf
    if status == "heuristic" and gap == 0.0:
        status = "optimal"  # the bound proves the plan
    return SitingResult(
        model=model,
        status=status,
        sense=sense,
        sites=all_sites[order] if status != "infeasible" else all_sites[:0],
        marginal_gain=all_gains[order] if status != "infeasible" else all_gains[:0],
        fixed=np.flatnonzero(required).astype(np.int64),
        objective=float(objective),
        bound=float(bound),
        gap=gap,
        cost=float(sum(r.cost for r in results)),
        covered=covered_rows,
        covered_weight=covered_weight,
        uncoverable=unc_rows[unc_order],
        uncoverable_reason=np.concatenate(reason).astype(np.str_)[unc_order],
        assignment=assignment,
        solve_time=clock.total(),
        timings=MappingProxyType(timings),
        groups=_groups(labels, results),
        site_kind=np.concatenate(kinds)[order] if kinds else None,
        shares=shares,
        decomposition=report,
    )


def _groups(labels: NDArray[np.generic] | None, results: Sequence[SitingResult]) -> GroupCoverage | None:
    """Coverage per group of the whole, from the parts' (each group lies in one part)."""
    if labels is None or any(r.groups is None for r in results):
        return None
    size = labels.size
    fields = {
        name: np.zeros(size)
        for name in ("coverable_weight", "uncoverable_weight", "target_weight", "before", "after")
    }
    met = np.zeros(size, dtype=bool)
    for res in results:
        g = res.groups
        if g is None:
            continue
        at = np.searchsorted(labels, g.labels)
        for name, values in fields.items():
            values[at] = getattr(g, name)
        met[at] = g.met
    return GroupCoverage(labels=labels, met=met, **fields)
