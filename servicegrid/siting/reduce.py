"""Cheap exact reductions of covering problems before they reach the solver.

Each function looks at the 0/1 structure of a (demand × candidate) matrix and returns masks or
groupings; none changes the optimum. Identical demand rows are merged, rows whose candidate set
contains another row's are redundant in set covering, columns whose rows are a subset of a
cheaper column's are dominated, a row with one candidate forces it. All of it is sparse algebra
(column overlaps are ``AᵀA``, row overlaps ``AAᵀ``), never a Python loop over pairs; the
products are skipped when their estimated size would outgrow the saving.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = [
    "PRODUCT_LIMIT",
    "dominated_columns",
    "dominated_rows",
    "gather_positions",
    "gather_rows",
    "merge_identical_rows",
    "set_cover_column_bound",
]

logger = logging.getLogger(__name__)

#: Largest number of multiply-adds spent on a dominance product (``AᵀA`` or ``AAᵀ``).
PRODUCT_LIMIT = 60_000_000


def gather_positions(
    indptr: NDArray[np.int64], rows: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions of the stored entries of ``rows`` of a CSR (or CSC) structure.

    Returns ``(pos, owner)``: ``pos`` indexes the ``indices``/``data`` arrays and ``owner[k]`` is
    the position in ``rows`` that entry ``pos[k]`` belongs to.
    """
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lengths)
    offsets = np.cumsum(lengths) - lengths
    pos = np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return pos, owner


def gather_rows(
    indptr: NDArray[np.int64], indices: NDArray[np.int32], rows: NDArray[np.int64]
) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """The stored column indices of ``rows`` of a CSR (or CSC) structure, with their owners.

    Returns ``(cols, owner)`` where ``owner[k]`` is the position in ``rows`` that ``cols[k]``
    belongs to.
    """
    pos, owner = gather_positions(indptr, rows)
    return indices[pos], owner


def merge_identical_rows(
    a: sparse.csr_array, *, key: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group rows with the same candidate set (and the same ``key``, e.g. township code).

    Rows are fingerprinted by two independent random 64-bit sums over their columns and then
    compared entry by entry, so a fingerprint collision can only split a group, never merge
    different rows.

    Returns
    -------
    tuple of arrays
        ``representative`` (the first row of each group, ascending) and ``group`` (for each row,
        the position of its group in ``representative``).
    """
    n, m = a.shape
    rng = np.random.default_rng(0x5EED)
    salt = rng.integers(0, np.iinfo(np.int64).max, size=(2, m), dtype=np.int64).view(np.uint64)
    lengths = np.diff(a.indptr)
    owner = np.repeat(np.arange(n), lengths)
    h1 = np.zeros(n, dtype=np.uint64)
    h2 = np.zeros(n, dtype=np.uint64)
    np.add.at(h1, owner, salt[0][a.indices])
    np.add.at(h2, owner, salt[1][a.indices])
    extra = np.zeros(n, dtype=np.int64) if key is None else np.asarray(key, dtype=np.int64)
    table = np.stack([h1.view(np.int64), h2.view(np.int64), lengths.astype(np.int64), extra], axis=1)
    _, first, group = np.unique(table, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    rep_of_row = first[group]
    # verify: each row's columns equal its representative's, entry by entry
    cols_row, _ = gather_rows(a.indptr, a.indices, np.arange(n))
    cols_rep, _ = gather_rows(a.indptr, a.indices, rep_of_row)
    mismatch_entry = cols_row != cols_rep
    if mismatch_entry.any():
        bad = np.unique(owner[mismatch_entry])
        logger.debug("fingerprint collision on %d rows; kept them apart", bad.size)
        rep_of_row = rep_of_row.copy()
        rep_of_row[bad] = bad
        representative, group = np.unique(rep_of_row, return_inverse=True)
        return representative.astype(np.int64), group.astype(np.int64)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[group].astype(np.int64)


def dominated_columns(a: sparse.csr_array, rank: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Columns whose row set is contained in the row set of a better-ranked column.

    ``rank`` orders the columns (smaller is better, all distinct): column ``j`` is dominated
    when some ``k`` with ``rank[k] < rank[j]`` covers every row ``j`` covers. Because the order is
    strict, every chain of dominance ends in a column that is kept.

    Parameters
    ----------
    a
        The 0/1 matrix, row-wise (the cost of ``AᵀA`` is the sum of squared row lengths).
    rank
        A permutation of ``range(n_cols)``.

    Returns
    -------
    ndarray of bool
        True for dominated columns; all False when the product would be too large.
    """
    m = a.shape[1]
    pairs = _overlaps(a, "column")
    if pairs is None:
        return np.zeros(m, dtype=bool)
    overlap, size = pairs
    j, k = overlap.row, overlap.col
    contained = (overlap.data == size[j]) & (j != k) & (rank[k] < rank[j]) & (size[j] > 0)
    out = np.zeros(m, dtype=bool)
    out[j[contained]] = True
    return out


def _overlaps(
    a: sparse.csr_array | sparse.csc_array, kind: Literal["row", "column"]
) -> tuple[sparse.coo_array, NDArray[np.int64]] | None:
    """Pairwise overlap counts of the rows (``a`` column-wise) or columns (``a`` row-wise) and
    their sizes; None when the product would cost more than ``PRODUCT_LIMIT`` multiply-adds."""
    count = a.shape[0] if kind == "row" else a.shape[1]
    cost = int(np.sum(np.diff(a.indptr).astype(np.int64) ** 2))
    if cost > PRODUCT_LIMIT or count == 0:
        logger.debug("%s dominance skipped (%d multiply-adds)", kind, cost)
        return None
    ones = np.ones(a.nnz, dtype=np.int32)
    if kind == "row":
        b = sparse.csc_array((ones, a.indices, a.indptr), shape=a.shape)
        return (b @ b.T).tocoo(), np.asarray(b.sum(axis=1)).ravel()
    b = sparse.csr_array((ones, a.indices, a.indptr), shape=a.shape)
    return (b.T @ b).tocoo(), np.asarray(b.sum(axis=0)).ravel()


def dominated_rows(a: sparse.csc_array) -> NDArray[np.bool_]:
    """Rows of a set-covering matrix that any cover of another row already covers.

    Row ``r`` is redundant when some row ``i`` has ``cover(i) ⊆ cover(r)`` (covering ``i`` covers
    ``r``); among identical rows the first one is kept.

    Parameters
    ----------
    a
        The 0/1 matrix, column-wise (the cost of ``AAᵀ`` is the sum of squared column lengths).

    Returns
    -------
    ndarray of bool
        True for redundant rows; all False when the product would be too large.
    """
    n = a.shape[0]
    pairs = _overlaps(a, "row")
    if pairs is None:
        return np.zeros(n, dtype=bool)
    overlap, size = pairs
    i, r = overlap.row, overlap.col
    # i ⊆ r, strictly ordered by (size, index) so that identical rows keep the first one
    smaller = (size[i] < size[r]) | ((size[i] == size[r]) & (i < r))
    redundant = (overlap.data == size[i]) & (i != r) & smaller
    out = np.zeros(n, dtype=bool)
    out[r[redundant]] = True
    return out


def set_cover_column_bound(a: sparse.csc_array, cost: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Columns dearer than covering their rows with the cheapest other column of each row.

    If ``cost[j]`` exceeds the sum over its rows of the cheapest other column covering that row,
    replacing ``j`` by those columns makes any cover strictly cheaper, so ``j`` is in no optimal
    cover (the strict inequality keeps this valid when many columns are dropped at once).

    Returns
    -------
    ndarray of bool
        True for columns that can be dropped.
    """
    n, m = a.shape
    if a.nnz == 0:
        return np.zeros(m, dtype=bool)
    col_of = np.repeat(np.arange(m), np.diff(a.indptr))
    row_of = a.indices
    c = cost[col_of]
    # cheapest and second cheapest column per row
    order = np.lexsort((c, row_of))
    r_sorted, c_sorted, j_sorted = row_of[order], c[order], col_of[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = r_sorted[1:] != r_sorted[:-1]
    best = np.full(n, np.inf)
    best_col = np.full(n, -1, dtype=np.int64)
    best[r_sorted[first]] = c_sorted[first]
    best_col[r_sorted[first]] = j_sorted[first]
    second_pos = np.flatnonzero(first) + 1
    has_second = second_pos < order.size
    has_second[has_second] = r_sorted[second_pos[has_second]] == r_sorted[first][has_second]
    second = np.full(n, np.inf)
    second[r_sorted[first][has_second]] = c_sorted[second_pos[has_second]]
    other = np.where(best_col[row_of] == col_of, second[row_of], best[row_of])
    alternative = np.bincount(col_of, weights=other, minlength=m)
    return cost > alternative * (1 + 1e-12) + 1e-12
