"""Capacitated coverage targets solved component by component: every small component's
Pareto-optimal plans (cost against households served, :mod:`.frontier`), and a master that
picks one per component.

Inside a county the rows fall into components that no candidate joins; only the townships'
targets couple them. The least cost is therefore the least cost of one plan per component
whose served households add up to every township's target, and only a component's
Pareto-optimal plans matter (no other plan serves as much for as little). Of those, only the
plans short of the component's most, in each of its townships, by no more than that township's
slack (the most every component can serve there, less the target) can take part: the most of
every component is worked out first (every site open), then each small component's plans
inside that window are enumerated (:func:`~.frontier.plans`: every set of its choosable sites,
what it serves by the cuts over its capped sites). The components of one township are joined
into one list of plans by a dynamic program over the households they leave unserved. The master
is a small integer program: one plan per enumerated component, its served households per
township bounded by the polymatroid of the plan (one number for a component in one township),
the other components kept whole with their sites and shares as in :mod:`.capacitated`, and
each township's target. It is an exact reformulation: every plan of the whole is matched,
component by component, by one costing no more and serving no less. A plan's list is a far
tighter model of a component than its sites and shares (the relaxation of capacities that open
sites by the fraction they are used is gone), so the more components are enumerated the less the
master branches. A last linear program assigns the shares of the chosen plans' rows.

Used for the least-cost question with township targets; None (the caller solves the whole
program) when the question does not fit or fewer than two components can be enumerated.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .capacitated import CapacitatedAnswer, CapacitatedQuestion, build_model
from .exact import Clock
from .frontier import TOL, Plans, component, plans, top
from .highs import LinearModel, solve
from .result import FloatArray, IntArray

__all__ = ["targets_by_component"]

logger = logging.getLogger(__name__)

#: Most households a township may leave unserved for its components to be joined by the
#: dynamic program (cells of its table).
_MAX_CELLS = 200_000
#: Seconds kept for the last linear program (the shares of the chosen plans), which runs even
#: when the time is spent: it is a transportation problem over open sites, solved in moments.
_RESERVE = 2.0


def targets_by_component(q: CapacitatedQuestion, clock: Clock, *, rel_gap: float) -> CapacitatedAnswer | None:
    """The least-cost plan meeting every group's target in ``q``, component by component (see
    the module notes); None when it is left to the whole program."""
    if q.group is None or q.target is None or q.minimise != "cost" or q.budget is not None:
        return None
    if q.max_sites is not None or q.served_floor is not None or q.serve_all:
        return None
    rows = np.flatnonzero(q.rows)
    csr = sparse.csr_array(q.a)
    csr.eliminate_zeros()
    label, n_comp = _components(q, csr, rows)
    if n_comp < 2:
        return None
    group = np.asarray(q.group)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n_comp + 1))
    ready, kept = [], []
    for k in range(n_comp):  # one per component
        r = rows[order[bounds[k] : bounds[k + 1]]]
        comp = component(q, csr, r)
        if comp is None:
            kept.append(r)
        else:
            ready.append(comp)
    if len(ready) < 2:
        return None
    target = np.asarray(q.target, dtype=np.float64)
    base = np.zeros(target.size) if q.base is None else np.asarray(q.base, dtype=np.float64)
    need = target - base
    kept_rows = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    # the most each township can be served: a kept component at most its households
    most = np.bincount(group[kept_rows], weights=q.w[kept_rows], minlength=target.size).astype(np.float64)
    for comp in ready:  # one per enumerated component: the most it serves in each township
        most[comp.groups] += top(comp)
    slack = most - need
    if np.any(slack < -TOL):  # a target out of reach: the caller answers with the most it can serve
        return CapacitatedAnswer("infeasible", None, None, np.inf, np.inf)
    n_small = len(ready)
    small = [plans(comp, slack) for comp in ready]  # one per enumerated component
    served_whole = np.all(q.w[rows] == np.round(q.w[rows])) and np.all(
        np.isin(q.cap, np.round(q.cap)) | ~np.isfinite(q.cap)
    )
    if served_whole:  # what a plan serves is a whole number of households
        small = _by_township(small, slack)
    clock.lap("reduce")
    logger.debug(
        "targets by component: %d enumerated components, %d plans, %d kept whole (%d rows)",
        len(small),
        sum(p.cost.size for p in small),
        len(kept),
        kept_rows.size,
    )
    answer = _master(q, csr, small, kept_rows, need, clock, rel_gap)
    return None if answer is None else replace(answer, components=(n_small, len(kept)))


def _components(q: CapacitatedQuestion, csr: sparse.csr_array, rows: IntArray) -> tuple[IntArray, int]:
    """The component of each model row: rows joined by the candidates that may serve them."""
    sub = csr[rows][:, np.flatnonzero(q.upper > 0)]
    graph = sparse.bmat([[None, sub], [sub.T, None]], format="csr")
    _, label = connected_components(graph, directed=False)
    used, own = np.unique(label[: rows.size], return_inverse=True)
    return own.astype(np.int64), int(used.size)


def _by_township(small: list[Plans], slack: FloatArray) -> list[Plans]:
    """The components of each township (those in it alone) as one: its Pareto plans, by a
    dynamic program over the households they leave unserved (a whole number, at most the
    township's slack in any plan meeting its target), the least cost for each."""
    single = [p for p in small if p.groups.size == 1]
    out = [p for p in small if p.groups.size > 1]
    township = np.array([p.groups[0] for p in single], dtype=np.int64)
    for g in np.unique(township):  # one per township
        comps = [p for p, t in zip(single, township, strict=True) if t == g]
        short = [np.round(p.most[-1, 0] - p.most[:, 0]).astype(np.int64) for p in comps]
        cells = int(min(sum(int(d.max()) for d in short), np.floor(slack[g] + TOL)))
        if len(comps) < 2 or cells > _MAX_CELLS or max(d.size for d in short) > np.iinfo(np.int16).max:
            out.extend(comps)
            continue
        least = np.zeros(cells + 1)  # least cost with at most that many households unserved
        choice = np.zeros((len(comps), cells + 1), dtype=np.int16)
        for k, (p, d) in enumerate(zip(comps, short, strict=True)):  # one per component
            best = np.full(cells + 1, np.inf)
            for i in np.flatnonzero(d <= cells):  # one per plan of the component
                option = np.full(cells + 1, np.inf)
                option[d[i] :] = least[: cells + 1 - d[i]] + p.cost[i]
                better = option < best
                best[better] = option[better]
                choice[k, better] = i
            least = best
        steps = np.flatnonzero(np.r_[True, least[1:] < least[:-1] - 1e-9])  # where it gets cheaper
        top = float(sum(p.most[-1, 0] for p in comps))

        def pick(i: int, comps=comps, short=short, choice=choice, steps=steps) -> IntArray:
            left, opened = int(steps[i]), []
            for k in range(len(comps) - 1, -1, -1):  # one per component, last first
                j = int(choice[k, left])
                opened.append(comps[k].opened(j))
                left -= int(short[k][j])
            return np.concatenate(opened)

        out.append(
            Plans(
                rows=np.concatenate([p.rows for p in comps]),
                groups=np.array([g]),
                sites=np.concatenate([p.sites for p in comps]),
                cost=least[steps][::-1],
                most=(top - steps[::-1].astype(np.float64))[:, None],
                open=np.zeros((steps.size, 0), dtype=bool),
                pick=lambda i, pick=pick, n=steps.size: pick(n - 1 - i),
            )
        )
    return out


def _master(
    q: CapacitatedQuestion,
    csr: sparse.csr_array,
    small: list[Plans],
    kept_rows: IntArray,
    need: FloatArray,
    clock: Clock,
    rel_gap: float,
) -> CapacitatedAnswer | None:
    """One plan per enumerated component, the kept components whole, every group's target.

    Columns: a binary per plan, then for every component in several townships its served
    households per township, then the kept components' program. Rows: one plan per component,
    the township targets, the components' ``Σ_{g in U} served_g ≤ f(U)``, then the kept program.
    """
    n, m = q.a.shape
    n_groups = need.size
    trip_r: list[IntArray] = []
    trip_c: list[IntArray] = []
    trip_v: list[FloatArray] = []
    n_plans = sum(p.cost.size for p in small)
    multi = [k for k, p in enumerate(small) if p.groups.size > 1]
    n_served = sum(small[k].groups.size for k in multi)
    row, col = len(small) + n_groups, n_plans
    served_col: dict[int, IntArray] = {}
    start = 0
    for k, p in enumerate(small):  # one per enumerated component
        cols = start + np.arange(p.cost.size)
        trip_r.append(np.full(cols.size, k))
        trip_c.append(cols)
        trip_v.append(np.ones(cols.size))
        if p.groups.size == 1:  # its served households count towards its township directly
            trip_r.append(np.full(cols.size, len(small) + p.groups[0]))
            trip_c.append(cols)
            trip_v.append(p.most[:, 0])
        else:
            served = col + np.arange(p.groups.size)
            served_col[k] = served
            trip_r.append(len(small) + p.groups)
            trip_c.append(served)
            trip_v.append(np.ones(p.groups.size))
            for u in range(1, 1 << p.groups.size):  # Σ_{g in U} served_g - Σ_plans f(U) x ≤ 0
                inside = served[((u >> np.arange(p.groups.size)) & 1) > 0]
                trip_r += [np.full(inside.size, row), np.full(cols.size, row)]
                trip_c += [inside, cols]
                trip_v += [np.ones(inside.size), -p.most[:, u - 1]]
                row += 1
            col += p.groups.size
        start += p.cost.size
    n_poly = row - len(small) - n_groups
    cost = [np.concatenate([p.cost for p in small]), np.zeros(n_served)]
    lower, upper = [np.zeros(n_plans), np.zeros(n_served)], [np.ones(n_plans), np.full(n_served, np.inf)]
    integer = [np.ones(n_plans, dtype=bool), np.zeros(n_served, dtype=bool)]
    row_lower = [np.ones(len(small)), need, np.full(n_poly, -np.inf)]
    row_upper = [np.ones(len(small)), np.full(n_groups, np.inf), np.zeros(n_poly)]
    kept_sites = pair_row = pair_col = np.zeros(0, dtype=np.int64)
    if kept_rows.size:
        kept_sites = np.unique(csr[kept_rows].indices)
        kept_sites = kept_sites[q.upper[kept_sites] > 0]
        block, pair_row, pair_col = build_model(_restricted(q, csr, kept_rows, kept_sites, "cost"))
        coo = block.matrix.tocoo()
        trip_r += [row + coo.row, len(small) + np.asarray(q.group)[kept_rows[pair_row]]]
        trip_c += [col + coo.col, col + kept_sites.size + np.arange(pair_row.size)]
        trip_v += [coo.data, q.w[kept_rows[pair_row]]]
        cost.append(block.cost)
        lower.append(block.lower)
        upper.append(block.upper)
        integer.append(block.integer)
        row_lower.append(block.row_lower)
        row_upper.append(block.row_upper)
        row += block.n_rows
    n_cols = col + (block.n_cols if kept_rows.size else 0)
    master = LinearModel(
        cost=np.concatenate(cost),
        lower=np.concatenate(lower),
        upper=np.concatenate(upper),
        integer=np.concatenate(integer),
        matrix=sparse.csc_array(
            (np.concatenate(trip_v), (np.concatenate(trip_r), np.concatenate(trip_c))), shape=(row, n_cols)
        ),
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
    )
    # keep a moment for the shares of the chosen plans: a master stopped by the time limit
    # still has its plan to give
    reserve = min(_RESERVE, 0.05 * max(clock.left(), 0.0))
    out = solve(master, time_limit=max(clock.left() - reserve, 1e-3), rel_gap=rel_gap)
    clock.lap("solve")
    if out.x is None:
        return (
            CapacitatedAnswer("infeasible", None, None, np.inf, np.inf)
            if out.outcome == "infeasible"
            else None
        )
    x = q.lower.astype(np.float64).copy()
    floors = []  # per enumerated component and township: the households its plan must serve
    start = 0
    for k, p in enumerate(small):  # one per enumerated component
        pick = start + int(np.argmax(out.x[start : start + p.cost.size]))
        x[p.opened(pick - start)] = 1.0
        amount = out.x[served_col[k]] if k in served_col else p.most[pick - start, :1]
        floors.append(amount)
        start += p.cost.size
    share_r, share_c, share_v = [], [], []
    if kept_rows.size:
        x[kept_sites[out.x[col : col + kept_sites.size] > 0.5]] = 1.0
        y = np.clip(out.x[col + kept_sites.size : col + kept_sites.size + pair_row.size], 0.0, 1.0)
        share_r.append(kept_rows[pair_row])
        share_c.append(kept_sites[pair_col])
        share_v.append(y)
    flow = _shares(q, csr, small, floors, x, clock)
    if flow is None:
        return None
    share_r.append(flow[0])
    share_c.append(flow[1])
    share_v.append(flow[2])
    v = np.concatenate(share_v)
    keep = v > 1e-9
    shares = sparse.csr_array(
        (v[keep], (np.concatenate(share_r)[keep], np.concatenate(share_c)[keep])), shape=(n, m)
    )
    return CapacitatedAnswer(out.outcome, x, shares, out.objective, out.bound)


def _restricted(
    q: CapacitatedQuestion, csr: sparse.csr_array, rows: IntArray, sites: IntArray, minimise: str
) -> CapacitatedQuestion:
    return CapacitatedQuestion(
        a=sparse.csc_array(csr[rows][:, sites]),
        w=q.w[rows],
        cost=q.cost[sites],
        cap=q.cap[sites],
        rows=np.ones(rows.size, dtype=bool),
        lower=q.lower[sites],
        upper=q.upper[sites],
        minimise=minimise,  # type: ignore[arg-type]
    )


def _shares(
    q: CapacitatedQuestion,
    csr: sparse.csr_array,
    small: list[Plans],
    floors: list[FloatArray],
    x: FloatArray,
    clock: Clock,
) -> tuple[IntArray, IntArray, FloatArray] | None:
    """Shares of the enumerated components' rows from the open sites, each component serving at
    least its amount in each of its townships (a linear program: the sites are fixed), as
    (row, site, share) triplets of the whole question."""
    rows = np.concatenate([p.rows for p in small])
    sites = np.unique(csr[rows].indices)
    sites = sites[(q.upper[sites] > 0) & (x[sites] > 0.5)]
    fixed = replace(
        _restricted(q, csr, rows, sites, "unserved"), lower=np.ones(sites.size), upper=np.ones(sites.size)
    )
    model, pair_row, pair_col = build_model(fixed)
    if pair_row.size == 0:  # nothing open within reach
        return pair_row, pair_col, np.zeros(0)
    # one floor row per component and township: Σ w y over its rows there >= its amount
    comp = np.repeat(np.arange(len(small)), [p.rows.size for p in small])
    local = np.concatenate([np.searchsorted(p.groups, np.asarray(q.group)[p.rows]) for p in small])
    offset = np.cumsum([0] + [p.groups.size for p in small])
    slot = offset[comp] + local
    coo = model.matrix.tocoo()
    r0 = model.n_rows
    amounts = np.concatenate(floors)
    model = replace(
        model,
        matrix=sparse.csc_array(
            (
                np.r_[coo.data, fixed.w[pair_row]],
                (np.r_[coo.row, r0 + slot[pair_row]], np.r_[coo.col, sites.size + np.arange(pair_row.size)]),
            ),
            shape=(r0 + amounts.size, model.n_cols),
        ),
        row_lower=np.r_[model.row_lower, amounts],
        row_upper=np.r_[model.row_upper, np.full(amounts.size, np.inf)],
    )
    out = solve(model, time_limit=max(clock.left(), _RESERVE), relax=True)
    clock.lap("solve")
    if out.x is None:
        return None
    y = np.clip(out.x[sites.size : sites.size + pair_row.size], 0.0, 1.0)
    return rows[pair_row], sites[pair_col], y
