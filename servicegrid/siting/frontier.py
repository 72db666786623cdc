"""The plans of one small component of a capacitated question with township targets: every set
of its choosable sites, what it serves in each set of its townships, and the Pareto-optimal ones
(no other plan serves as much for as little) that a township's slack lets take part.

A component is the rows that candidates join (:mod:`.pareto`). Before enumerating, a choosable
candidate is dropped when a candidate without a capacity reaches all its rows for no more (rank:
cost, then more rows, then no capacity, then index): a plan using it does as well with the
other. A component is enumerated when its choosable sites plus its required sites with a
capacity are at most :data:`ENUM_BITS`, its rows fit in the bits of one integer, it lies in
at most :data:`MAX_GROUPS` townships and the cuts below are a bounded amount of work; the others
are kept whole by the caller.

What a set ``S`` of open sites serves in the rows of a set of townships ``U`` is a maximum flow
from the sites (each up to its capacity; without one, unlimited) to the rows (each up to its
households, rows outside ``U`` taking nothing). By the max-flow min-cut theorem it is the least,
over the capped open sites ``D`` left uncut, of the capacities of the capped open sites cut plus
the households in ``U`` reached by the uncapped open sites or by ``D``::

    f_S(U) = cap(capped ∩ S) + min over D ⊆ capped ∩ S of [ w_U(N(uncapped ∩ S) ∪ N(D)) - cap(D) ]

(an uncapped open site cannot be cut, so the rows it reaches are always on the cut's sink side).
The minimum over all subsets ``D`` of every capped set at once is a subset-minimum transform,
one pass per capped site, vectorised over the sets of rows the uncapped sites reach (many sets
of sites reach the same rows and share their cuts): the work is those sets of rows times
``2^(capped sites)`` times the capped sites, whatever the number of rows (cutting over sets of
rows instead costs ``2^rows``). Only the sites reaching ``U`` take part in ``f_S(U)``, and a
set of townships that no site joins is served as the sum of its parts. The households in a set
of rows are summed from tables of 11 rows each.

``f_S`` is the rank function of a polymatroid (what ``S`` can serve in each township at once);
plans are compared on it. A plan with an open site whose rows the open sites without a capacity
already reach is left out: the plan without that site serves the same for no more. Only plans
short of the component's most, in each of its townships, by no more than that township's slack
can take part in a plan meeting every target (the others need more from the rest of the
township than it has); that window is applied before the Pareto filter, which gives the same
plans as filtering first (a plan beating one inside the window is inside it too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .capacitated import CapacitatedQuestion
from .result import BoolArray, FloatArray, IntArray

__all__ = ["ENUM_BITS", "MAX_GROUPS", "Component", "Plans", "component", "plans", "singles", "top"]

#: Most choosable sites plus required sites with a capacity of an enumerated component: the
#: plans of one set of townships are ``2^bits`` numbers (32 MB at 22 bits) ...
ENUM_BITS = 22
#: ... in at most this many townships ...
MAX_GROUPS = 4
#: ... with its rows the bits of one int64, and at most this much work (:func:`_work`).
_MAX_ROWS = 62
_WORK = 1 << 26
#: Rows per table of households (:func:`_weigher`).
_CHUNK_BITS = 11
#: Plans compared pair by pair in blocks of this many (the Pareto filter of several townships).
_BLOCK = 256
#: Households within which two amounts count as equal when plans are compared and the most a
#: component serves is weighed against a township's slack.
TOL = 1e-6


@dataclass(frozen=True)
class Plans:
    """The Pareto-optimal plans of one enumerated component: its rows, its townships, its
    choosable sites, and per plan the cost, the most it serves in the rows of every nonempty
    set of its townships (column ``u - 1`` for the set with bit mask ``u``) and its open sites."""

    rows: IntArray
    groups: IntArray
    sites: IntArray
    cost: FloatArray
    most: FloatArray
    open: BoolArray
    pick: Callable[[int], IntArray] | None = field(default=None, compare=False)

    def opened(self, i: int) -> IntArray:
        """The sites plan ``i`` opens."""
        return self.pick(i) if self.pick is not None else self.sites[self.open[i]]


@dataclass(frozen=True)
class Component:
    """One component ready to enumerate. ``sites`` are its choosable sites, those without a
    capacity first (``n_free`` of them); ``reach_free`` and ``reach_capped`` are the rows each
    site reaches as bits (the choosable capped sites, then the required capped ones, whose
    capacities are ``cap``), ``towns_free`` and ``towns_capped`` the townships it reaches as
    bits; ``always`` the rows reached by required sites without a capacity."""

    rows: IntArray
    groups: IntArray
    row_group: IntArray
    w: FloatArray
    sites: IntArray
    cost: FloatArray
    n_free: int
    reach_free: IntArray
    reach_capped: IntArray
    towns_free: IntArray
    towns_capped: IntArray
    cap: FloatArray
    always: int

    @property
    def n_choosable_capped(self) -> int:
        return self.sites.size - self.n_free


def component(q: CapacitatedQuestion, csr: sparse.csr_array, rows: IntArray) -> Component | None:
    """The component of ``rows`` ready to enumerate; None when it is too large (module notes)."""
    groups = np.unique(np.asarray(q.group)[rows])
    # the rows' entries straight from the CSR arrays: a component is a few rows, and slicing
    # the sparse matrix costs more in checks than in work
    lengths = csr.indptr[rows + 1] - csr.indptr[rows]
    at = np.repeat(csr.indptr[rows] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    row_of, col = np.repeat(np.arange(rows.size), lengths), csr.indices[at]
    inside = (q.upper[col] > 0) & (csr.data[at] != 0)
    sites = np.unique(col[inside])
    fixed = q.lower[sites] >= q.upper[sites]
    reach = np.zeros((rows.size, sites.size), dtype=bool)
    reach[row_of[inside], np.searchsorted(sites, col[inside])] = True
    choosable = ~fixed
    choosable[choosable] = _undominated(
        reach[:, choosable], q.cost[sites[choosable]], q.cap[sites[choosable]]
    )
    capped = np.isfinite(q.cap[sites])
    free, cf = np.flatnonzero(choosable & ~capped), np.flatnonzero(choosable & capped)
    xc, xu = np.flatnonzero(fixed & capped), np.flatnonzero(fixed & ~capped)
    if rows.size > _MAX_ROWS or groups.size > MAX_GROUPS or free.size + cf.size + xc.size > ENUM_BITS:
        return None
    row_group = np.searchsorted(groups, np.asarray(q.group)[rows])
    bits = (reach.astype(np.int64) << np.arange(rows.size, dtype=np.int64)[:, None]).sum(axis=0)
    towns = np.bitwise_or.reduce(np.where(reach, np.int64(1) << row_group[:, None], 0), axis=0)
    order, capped_order = np.r_[free, cf], np.r_[cf, xc]
    comp = Component(
        rows=rows,
        groups=groups,
        row_group=row_group,
        w=q.w[rows].astype(np.float64),
        sites=sites[order],
        cost=q.cost[sites[order]].astype(np.float64),
        n_free=int(free.size),
        reach_free=bits[free],
        reach_capped=bits[capped_order],
        towns_free=towns[free],
        towns_capped=towns[capped_order],
        cap=q.cap[sites[capped_order]].astype(np.float64),
        always=int(np.bitwise_or.reduce(bits[xu], initial=0)),
    )
    return comp if _work(comp) <= _WORK else None


def _work(comp: Component) -> int:
    """The work of :func:`plans`: per set of townships no site splits, the cuts (the distinct
    rows its free sites reach, times its sets of capped sites, times a pass per capped site),
    and per township the look-ups of every plan."""
    work = comp.groups.size << comp.sites.size
    for u in range(1, 1 << comp.groups.size):  # one per set of townships
        if not _apart(comp, u):
            free, capped = _relevant(comp, u)
            reached = np.unique(_subset_or(comp.reach_free[free]) | comp.always).size
            work += (reached << int(capped.sum())) * (int(capped.sum()) + 4)
    return work


def singles(h: int) -> IntArray:
    """The columns of ``Plans.most`` for each township alone."""
    return (np.int64(1) << np.arange(h, dtype=np.int64)) - 1


def top(comp: Component) -> FloatArray:
    """The most the component serves in each of its townships with every site open."""
    return np.array([_served(comp, 1 << g, every_site=True)[-1] for g in range(comp.groups.size)])


def plans(comp: Component, slack: FloatArray) -> Plans:
    """The Pareto-optimal plans of ``comp`` short of its most, in each township ``g`` of it, by
    at most ``slack[g]`` (indexed by the question's groups); the plan opening every site is
    always one of them."""
    h = comp.groups.size
    served = {1 << g: _served(comp, 1 << g) for g in range(h)}  # over the sites reaching g
    keep = np.ones(1 << comp.sites.size, dtype=bool)
    for g in range(h):  # one per township: the window
        f = served[1 << g]
        keep &= (f[-1] - f <= slack[comp.groups[g]] + TOL)[_index(comp, 1 << g)]
    keep &= _needed(comp)
    keep[-1] = True
    inside = np.flatnonzero(keep)
    most = np.empty((inside.size, (1 << h) - 1))
    for u in range(1, 1 << h):  # one per set of townships, smaller sets first
        apart = _apart(comp, u)
        if apart:  # no site reaches both parts: what the plan serves in each adds up
            most[:, u - 1] = most[:, apart - 1] + most[:, (u ^ apart) - 1]
            continue
        f = served[u] if u in served else _served(comp, u)
        most[:, u - 1] = f[_index(comp, u)[inside]]
    most = np.round(most, 9)
    cost = _subset_sums(comp.cost)[inside]
    best = _pareto(cost, most)
    chosen = inside[best]
    open_ = ((chosen[:, None] >> np.arange(comp.sites.size)) & 1) > 0
    return Plans(comp.rows, comp.groups, comp.sites, cost[best], most[best], open_)


def _needed(comp: Component) -> BoolArray:
    """Per plan, whether each of its open sites can serve a household the others leave: a site
    whose rows the open sites without a capacity (required ones included) already reach adds
    nothing anywhere, and the plan without it (no dearer: its cost is not negative) serves the
    same, so the plan is beaten or matched by another. Bit operations over the sets of free
    sites, then over their pairs with the sets of capped ones."""
    reached = _subset_or(comp.reach_free) | comp.always
    sets = np.arange(reached.size, dtype=np.int64)
    spare = np.zeros(reached.size, dtype=bool)
    for k in np.flatnonzero(comp.cost[: comp.n_free] >= 0):  # one per free site
        bit = np.int64(1) << k
        spare |= ((sets & bit) > 0) & (reached[sets ^ bit] == reached)
    n_cf = comp.n_choosable_capped
    capped = comp.reach_capped[:n_cf]
    useless = (capped[None, :] & ~reached[:, None]) == 0  # [A, j]: A reaches all of j's rows
    useless &= comp.cost[comp.n_free :][None, :] >= 0
    covered = (useless.astype(np.int64) << np.arange(n_cf, dtype=np.int64)).sum(axis=1)
    spare_capped = (np.arange(1 << n_cf, dtype=np.int64)[:, None] & covered[None, :]) > 0  # [P, A]
    return ~(spare_capped | spare[None, :]).ravel()


def _relevant(comp: Component, u: int) -> tuple[BoolArray, BoolArray]:
    """The free and the capped sites (choosable, then required) reaching rows in townships ``u``."""
    return (comp.towns_free & u) > 0, (comp.towns_capped & u) > 0


def _apart(comp: Component, u: int) -> int:
    """A nonempty proper part of townships ``u`` that no site joins to the rest, else 0."""
    towns = np.r_[comp.towns_free, comp.towns_capped] & u
    part = u & -u  # the lowest township, grown by every site reaching the part
    while True:  # at most one round per township
        grown = part | int(np.bitwise_or.reduce(towns[(towns & part) > 0], initial=0))
        if grown == part:
            return 0 if part == u else part
        part = grown


def _served(comp: Component, u: int, *, every_site: bool = False) -> FloatArray:
    """What each plan of the sites reaching townships ``u`` serves there (plan ``A + P·2^a``:
    the free sites ``A`` and the choosable capped sites ``P`` among them open, the required
    ones always), by the cut formula of the module notes; with ``every_site``, only the plans
    with every free site open (the last is every site open)."""
    free, capped = _relevant(comp, u)
    reach_free = comp.reach_free[free]
    if every_site:  # the free sites as one: none or all open
        reach_free = np.array([int(np.bitwise_or.reduce(reach_free, initial=0))], dtype=np.int64)
    n_cf = int(capped[: comp.n_choosable_capped].sum())
    n_required = int(capped.sum()) - n_cf
    cap = comp.cap[capped]
    weigh = _weigher(np.where(((u >> comp.row_group) & 1) > 0, comp.w, 0.0))
    cap_sums = _subset_sums(cap)
    # the cuts depend on the free sites only through the rows they reach: sets of free sites
    # reaching the same rows (most of them) share one row of cuts
    reached, same = np.unique(_subset_or(reach_free) | comp.always, return_inverse=True)
    cut = weigh(reached[:, None] | _subset_or(comp.reach_capped[capped])[None, :]) - cap_sums[None, :]
    for b in range(cap.size):  # subset minimum over the capped sites left uncut
        halves = cut.reshape(cut.shape[0], -1, 2, 1 << b)
        np.minimum(halves[:, :, 1, :], halves[:, :, 0, :], out=halves[:, :, 1, :])
    every = np.arange(1 << n_cf) + (((1 << n_required) - 1) << n_cf)  # P with the required
    return (cap_sums[every][None, :] + cut[:, every])[same.ravel()].T.ravel()


def _index(comp: Component, u: int) -> IntArray:
    """For every plan of the component, its plan among the sites reaching townships ``u``."""
    free, capped = _relevant(comp, u)
    relevant = np.r_[free, capped[: comp.n_choosable_capped]]
    position = np.cumsum(relevant) - 1
    out = np.zeros(1, dtype=np.int64)
    for k in range(relevant.size):  # one per choosable site, in plan bit order
        out = np.concatenate([out, out + (np.int64(1) << position[k]) if relevant[k] else out])
    return out


def _weigher(w: FloatArray) -> Callable[[IntArray], FloatArray]:
    """The households of sets of rows given as bits: sums of tables of 11 rows each (two
    look-ups up to 22 rows; a table of 2,048 numbers stays in the cache)."""
    tables = [_subset_sums(w[k : k + _CHUNK_BITS]) for k in range(0, max(w.size, 1), _CHUNK_BITS)]
    low = (1 << _CHUNK_BITS) - 1

    def weigh(mask: IntArray) -> FloatArray:
        out = tables[0][mask & low] if w.size > _CHUNK_BITS else tables[0][mask]
        for k in range(1, len(tables)):  # one per further 11 rows
            out += tables[k][(mask >> (_CHUNK_BITS * k)) & low]
        return out

    return weigh


def _undominated(reach: BoolArray, cost: FloatArray, cap: FloatArray) -> BoolArray:
    """Free sites that no site without a capacity, reaching all their rows for no more, beats."""
    size = reach.sum(axis=0)
    rank = np.empty(cost.size, dtype=np.int64)
    rank[np.lexsort((np.arange(cost.size), np.isfinite(cap), -size, cost))] = np.arange(cost.size)
    inside = (reach.T.astype(np.int64) @ reach.astype(np.int64)) == size[:, None]  # [j, k]: rows(j) ⊆ rows(k)
    beats = inside & ~np.isfinite(cap)[None, :] & (rank[None, :] < rank[:, None])
    return ~beats.any(axis=1)


def _pareto(cost: FloatArray, most: FloatArray) -> IntArray:
    """The plans no other plan beats (no dearer, serving at least as much in every set of
    townships), cheapest first."""
    by = np.lexsort((-most[:, -1], cost))
    m = most[by]
    if m.shape[1] == 1:  # one township: more served than every cheaper plan
        best_before = np.maximum.accumulate(np.r_[-np.inf, m[:, 0]])[:-1]
        return by[m[:, 0] > best_before + TOL]
    first = _first_of_each(m)  # of plans serving the same everywhere only the cheapest can be kept
    by, m = by[first], m[first]
    kept = np.zeros(0, dtype=np.int64)
    for lo in range(0, by.size, _BLOCK):  # blocks of plans, cheapest first
        block = np.arange(lo, min(lo + _BLOCK, by.size))
        mb = m[block]
        beaten = np.all(m[kept][None, :, :] >= mb[:, None, :] - TOL, axis=2).any(axis=1)
        within = np.all(mb[None, :, :] >= mb[:, None, :] - TOL, axis=2)  # [i, j]: j serves as much as i
        beaten |= np.tril(within, k=-1).any(axis=1)  # ... and comes first: no dearer
        kept = np.r_[kept, block[~beaten]]
    return by[kept]


def _first_of_each(m: FloatArray) -> IntArray:
    """The first row of each distinct row of ``m``, in order. Rows are grouped by one number
    each (a fixed combination of the columns: sorting millions of rows by all their columns is
    many times slower), and the grouping is checked: rows that share a number without being
    equal are grouped exactly instead."""
    key = m @ np.sqrt(np.arange(2, m.shape[1] + 2, dtype=np.float64))
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    head = np.repeat(order[starts], np.diff(np.r_[starts, order.size]))
    if not np.array_equal(m[order], m[head]):
        _, first = np.unique(m, axis=0, return_index=True)
        return np.sort(first)
    return np.sort(order[starts])


def _subset_sums(values: FloatArray) -> FloatArray:
    """``out[mask]`` is the sum of ``values`` over the bits of ``mask``."""
    out = np.zeros(1)
    for v in values:  # one per site of a small component
        out = np.concatenate([out, out + v])
    return out


def _subset_or(bits: IntArray) -> IntArray:
    """``out[mask]`` is the union of ``bits`` over the bits of ``mask``."""
    out = np.zeros(1, dtype=np.int64)
    for b in bits:  # one per site of a small component
        out = np.concatenate([out, out | b])
    return out
