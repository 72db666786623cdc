"""Input checks of the siting models: the options, the coverage and distance matrices, vectors
per demand row or candidate, required and excluded sites, ``p``, budgets, capacities, groups,
targets, site kinds and the unserved penalty. Each returns the value in the form the models use,
or raises :class:`~servicegrid.errors.InputError` naming the field at fault."""

from __future__ import annotations

from typing import get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from ..errors import InputError
from .result import BoolArray, FloatArray, IntArray, Method, SiteKind

__all__ = [
    "capacities",
    "check_budget",
    "check_options",
    "check_p",
    "check_penalty",
    "check_target",
    "cover_matrix",
    "distance_pairs",
    "group_labels",
    "site_kinds",
    "site_masks",
    "vector",
]


def check_options(time_limit: float, method: str, rel_gap: float) -> None:
    if not (isinstance(time_limit, int | float) and np.isfinite(time_limit) and time_limit > 0):
        msg = f"time_limit must be a positive number of seconds, got {time_limit!r}"
        raise InputError(msg, field="time_limit")
    if method not in get_args(Method):
        msg = f"method={method!r} is not supported; use one of {get_args(Method)}"
        raise InputError(msg, field="method")
    if not (isinstance(rel_gap, int | float) and 0 <= rel_gap < 1):
        msg = f"rel_gap must be in [0, 1), got {rel_gap!r}"
        raise InputError(msg, field="rel_gap")


def cover_matrix(cover: object) -> sparse.csc_array:
    if sparse.issparse(cover):
        a = sparse.csc_array(cover, copy=True)  # type: ignore[arg-type]
    elif isinstance(cover, np.ndarray):
        if cover.ndim != 2:
            msg = f"the coverage matrix must be 2-D (demand × candidate), got {cover.ndim}-D"
            raise InputError(msg, field="cover")
        a = sparse.csc_array(cover)
    else:
        msg = (
            "the coverage matrix must be a scipy.sparse matrix or a 2-D numpy array, "
            f"got {type(cover).__name__}"
        )
        raise InputError(msg, field="cover")
    if a.ndim != 2:
        msg = "the coverage matrix must be 2-D (demand × candidate)"
        raise InputError(msg, field="cover")
    a.sum_duplicates()
    data = np.asarray(a.data)
    if data.dtype != np.bool_:
        bad = ~((data == 0) | (data == 1))
        if bad.any():
            rows = a.indices[np.flatnonzero(bad)[:3]]
            msg = (
                f"the coverage matrix must hold 0/1 (or boolean) values; found {data[bad][0].item()!r} "
                f"(demand rows {rows.tolist()}); pass `distances <= radius` rather than distances"
            )
            raise InputError(msg, field="cover")
    out = sparse.csc_array(
        (np.ones(a.nnz), a.indices.astype(np.int64), a.indptr.astype(np.int64)), shape=a.shape
    )
    out.data[np.asarray(data, dtype=np.float64) == 0] = 0.0
    out.eliminate_zeros()
    out.sort_indices()
    return out


def vector(values: ArrayLike, size: int, *, name: str, what: str) -> FloatArray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != size:
        msg = f"{name} must have one value per {what} ({size}), got shape {arr.shape}"
        raise InputError(msg, field=name)
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
        msg = f"{name} must be numeric, got dtype {arr.dtype}"
        raise InputError(msg, field=name)
    out = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        msg = f"{name} must be finite; {what} {int(bad[0])} has {float(out[bad[0]])!r}"
        raise InputError(msg, field=name)
    neg = np.flatnonzero(out < 0)
    if neg.size:
        msg = f"{name} must not be negative; {what} {int(neg[0])} has {float(out[neg[0]])!r}"
        raise InputError(msg, field=name)
    return out


def _site_mask(sites: ArrayLike | None, m: int, *, name: str) -> BoolArray:
    mask = np.zeros(m, dtype=bool)
    if sites is None:
        return mask
    arr = np.asarray(sites)
    if arr.dtype == np.bool_:
        if arr.shape != (m,):
            msg = f"{name} as a boolean mask needs one value per candidate ({m}), got shape {arr.shape}"
            raise InputError(msg, field=name)
        return arr.copy()
    arr = arr.ravel()
    if arr.size == 0:
        return mask
    if not np.issubdtype(arr.dtype, np.integer):
        msg = f"{name} must be candidate indices (integers) or a boolean mask, got dtype {arr.dtype}"
        raise InputError(msg, field=name)
    bad = arr[(arr < 0) | (arr >= m)]
    if bad.size:
        msg = f"{name} holds candidate index {int(bad[0])}, outside 0..{m - 1}"
        raise InputError(msg, field=name)
    mask[arr] = True
    return mask


def site_masks(required: ArrayLike | None, excluded: ArrayLike | None, m: int) -> tuple[BoolArray, BoolArray]:
    req = _site_mask(required, m, name="required")
    exc = _site_mask(excluded, m, name="excluded")
    both = np.flatnonzero(req & exc)
    if both.size:
        msg = (
            f"candidates {both[:10].tolist()} are both required and excluded; a site can be one or the other"
        )
        raise InputError(msg, field="required")
    return req, exc


def check_p(p: object, req: BoolArray, exc: BoolArray) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        msg = f"p must be a whole number of new sites, got {p!r}"
        raise InputError(msg, field="p")
    free = int((~req & ~exc).sum())
    if p < 1:
        msg = f"p must be at least 1, got {p}"
        raise InputError(msg, field="p")
    if p > free:
        msg = (
            f"p={p} new sites but only {free} candidates can be chosen "
            f"({req.size} candidates, {int(req.sum())} required, {int(exc.sum())} excluded)"
        )
        raise InputError(msg, field="p")
    return int(p)


def check_budget(budget: object) -> float:
    if isinstance(budget, bool) or not isinstance(budget, int | float | np.integer | np.floating):
        msg = f"budget must be a number, got {budget!r}"
        raise InputError(msg, field="budget")
    if not np.isfinite(budget) or budget <= 0:
        msg = f"budget must be a positive amount, got {budget!r}"
        raise InputError(msg, field="budget")
    return float(budget)


def capacities(capacity: ArrayLike | None, m: int) -> FloatArray:
    """Capacities per candidate with ``inf`` for none (``nan`` or ``inf`` given, or no array)."""
    if capacity is None:
        return np.full(m, np.inf)
    arr = np.asarray(capacity, dtype=np.float64)
    if arr.shape != (m,):
        msg = f"capacity must have one value per candidate ({m}), got shape {arr.shape}"
        raise InputError(msg, field="capacity")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        msg = f"capacity must not be negative; candidate {int(neg[0])} has {float(arr[neg[0]])!r}"
        raise InputError(msg, field="capacity")
    return np.where(np.isnan(arr), np.inf, arr)


def group_labels(group: ArrayLike, n: int) -> tuple[NDArray[np.generic], IntArray]:
    """The distinct group labels (sorted) and each demand row's index into them."""
    groups_in = np.asarray(group)
    if groups_in.ndim != 1 or groups_in.shape[0] != n:
        msg = f"group must have one label per demand row ({n}), got shape {groups_in.shape}"
        raise InputError(msg, field="group")
    labels, g = np.unique(groups_in, return_inverse=True)
    return labels, g.ravel().astype(np.int64)


def check_target(target: object) -> None:
    """A coverage target is a share in (0, 1]."""
    if isinstance(target, bool) or not isinstance(target, int | float | np.floating) or not 0 < target <= 1:
        msg = f"target must be a share in (0, 1], e.g. 0.98, got {target!r}"
        raise InputError(msg, field="target")


def site_kinds(kind: ArrayLike | None, m: int) -> NDArray[np.str_] | None:
    """``"new"`` or ``"upgrade"`` per candidate, or None when no kinds are given."""
    if kind is None:
        return None
    kinds = np.asarray(kind).astype(np.str_)
    if kinds.shape != (m,):
        msg = f"kind must have one value per candidate ({m}), got shape {kinds.shape}"
        raise InputError(msg, field="kind")
    bad = np.flatnonzero(~np.isin(kinds, get_args(SiteKind)))
    if bad.size:
        msg = f"kind of candidate {int(bad[0])} is {str(kinds[bad[0]])!r}; use 'new' or 'upgrade'"
        raise InputError(msg, field="kind")
    return kinds


def check_penalty(unserved_penalty: object) -> None:
    """An unserved penalty is a non-negative distance, or None."""
    if unserved_penalty is not None and (
        isinstance(unserved_penalty, bool)
        or not isinstance(unserved_penalty, int | float | np.integer | np.floating)
        or not np.isfinite(unserved_penalty)
        or unserved_penalty < 0
    ):
        msg = f"unserved_penalty must be a non-negative distance or None, got {unserved_penalty!r}"
        raise InputError(msg, field="unserved_penalty")


def distance_pairs(
    dist: object,
) -> tuple[IntArray, IntArray, FloatArray, tuple[int, int]]:
    """Row pointers, columns and values of the allowed pairs (CSR order)."""
    if sparse.issparse(dist):
        d = dist  # type: ignore[assignment]
        if d.ndim != 2:  # type: ignore[union-attr]
            msg = "the distance matrix must be 2-D (demand × candidate)"
            raise InputError(msg, field="dist")
        coo = sparse.coo_array(d)
        key = coo.row.astype(np.int64) * coo.shape[1] + coo.col
        if np.unique(key).size != key.size:
            msg = "the distance matrix has duplicate entries for the same demand–candidate pair"
            raise InputError(msg, field="dist")
        order = np.lexsort((coo.col, coo.row))
        r = coo.row[order].astype(np.int64)
        c = coo.col[order].astype(np.int64)
        v = np.asarray(coo.data[order], dtype=np.float64)
        shape = (int(coo.shape[0]), int(coo.shape[1]))
        keep = ~np.isposinf(v)
        r, c, v = r[keep], c[keep], v[keep]
    elif isinstance(dist, np.ndarray):
        if dist.ndim != 2:
            msg = f"the distance matrix must be 2-D (demand × candidate), got {dist.ndim}-D"
            raise InputError(msg, field="dist")
        if not np.issubdtype(dist.dtype, np.number):
            msg = f"the distance matrix must be numeric, got dtype {dist.dtype}"
            raise InputError(msg, field="dist")
        shape = (int(dist.shape[0]), int(dist.shape[1]))
        flat = np.asarray(dist, dtype=np.float64)
        r, c = np.nonzero(~np.isposinf(flat))
        v = flat[r, c]
        r, c = r.astype(np.int64), c.astype(np.int64)
    else:
        msg = (
            "the distance matrix must be a scipy.sparse matrix or a 2-D numpy array, "
            f"got {type(dist).__name__}"
        )
        raise InputError(msg, field="dist")
    bad = np.flatnonzero(np.isnan(v) | (v < 0))
    if bad.size:
        k = int(bad[0])
        msg = (
            f"distances must be non-negative numbers; demand row {int(r[k])}, candidate "
            f"{int(c[k])} has {float(v[k])!r}"
        )
        raise InputError(msg, field="dist")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=shape[0]))]).astype(np.int64)
    return ptr, c, v, shape
