"""The 0/1 structure of a covering problem and the bookkeeping every covering heuristic shares.

:class:`Incidence` keeps a demand × site matrix both column- and row-wise; the helpers here
subtract newly covered rows from marginal gains, rank gains per unit of cost, and order a plan's
sites by what each next one newly covers (the build order every covering result reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

from ..reduce import gather_positions, gather_rows
from ..result import BoolArray, FloatArray, IntArray

__all__ = ["Incidence", "cover_build_order", "mask", "ratio", "subtract_newly_covered"]


@dataclass(frozen=True)
class Incidence:
    """The 0/1 structure of a demand × site matrix, kept both column- and row-wise."""

    n_rows: int
    n_cols: int
    col_ptr: IntArray
    col_rows: IntArray
    row_ptr: IntArray
    row_cols: IntArray

    @classmethod
    def from_sparse(cls, a: sparse.sparray | sparse.spmatrix) -> Incidence:
        """Index a 0/1 sparse matrix (stored entries count as ones)."""
        csc = sparse.csc_array(a)
        csc.sum_duplicates()
        csc.sort_indices()
        csr = csc.tocsr()
        csr.sort_indices()
        n, m = csc.shape
        col_ptr = csc.indptr.astype(np.int64)
        return cls(
            n_rows=int(n),
            n_cols=int(m),
            col_ptr=col_ptr,
            col_rows=csc.indices.astype(np.int64),
            row_ptr=csr.indptr.astype(np.int64),
            row_cols=csr.indices.astype(np.int64),
        )

    def to_csc(self) -> sparse.csc_array:
        """The matrix as a float CSC array of ones."""
        return sparse.csc_array(
            (np.ones(self.col_rows.size), self.col_rows, self.col_ptr),
            shape=(self.n_rows, self.n_cols),
        )

    @cached_property
    def col_of(self) -> IntArray:
        """The column of each stored entry, in column order (built once)."""
        return np.repeat(np.arange(self.n_cols, dtype=np.int64), np.diff(self.col_ptr))

    @cached_property
    def transpose(self) -> sparse.csr_array:
        """The transposed matrix (site × demand) as a float CSR array of ones, built once."""
        return sparse.csr_array(
            (np.ones(self.col_rows.size), self.col_rows, self.col_ptr), shape=(self.n_cols, self.n_rows)
        )

    def col_weight(self, w: FloatArray) -> FloatArray:
        """Sum of ``w`` over the rows of each column."""
        return np.asarray(self.transpose @ np.asarray(w, dtype=np.float64), dtype=np.float64)

    def rows_of(self, j: int) -> IntArray:
        """The rows column ``j`` covers."""
        return self.col_rows[self.col_ptr[j] : self.col_ptr[j + 1]]

    def open_count(self, is_open: BoolArray) -> IntArray:
        """For each row, how many open columns cover it (work: the open columns' entries)."""
        pos, _ = gather_positions(self.col_ptr, np.flatnonzero(is_open))
        return np.bincount(self.col_rows[pos], minlength=self.n_rows).astype(np.int64)

    def open_index_sum(self, is_open: BoolArray) -> IntArray:
        """For each row, the sum of the indices of the open columns covering it."""
        cols = np.flatnonzero(is_open)
        pos, owner = gather_positions(self.col_ptr, cols)
        return np.bincount(
            self.col_rows[pos], weights=cols[owner].astype(np.float64), minlength=self.n_rows
        ).astype(np.int64)


def subtract_newly_covered(inc: Incidence, gains: FloatArray, w: FloatArray, new_rows: IntArray) -> None:
    cols, owner = gather_rows(inc.row_ptr, inc.row_cols, new_rows)
    gains -= np.bincount(cols, weights=w[new_rows][owner], minlength=inc.n_cols)


def ratio(gains: FloatArray, cost: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(cost > 0, gains / np.where(cost > 0, cost, 1.0), np.inf)
    return np.where(gains > 0, r, 0.0)


def mask(m: int, sites: IntArray) -> BoolArray:
    out = np.zeros(m, dtype=bool)
    out[sites] = True
    return out


def cover_build_order(
    inc: Incidence, w: FloatArray, chosen: IntArray, *, already: BoolArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Order chosen sites by marginal gain: each next site newly covers the most weight.

    ``already`` marks rows covered before any chosen site opens (by the fixed sites). Returns
    the sites in build order and the weight each newly covers.
    """
    covered = np.zeros(inc.n_rows, dtype=bool) if already is None else already.copy()
    gains = inc.col_weight(np.where(covered, 0.0, w))
    left = np.zeros(inc.n_cols, dtype=bool)
    left[chosen] = True
    order: list[int] = []
    marginal: list[float] = []
    for _ in range(int(chosen.size)):
        j = int(np.argmax(np.where(left, gains, -np.inf)))
        order.append(j)
        marginal.append(float(max(gains[j], 0.0)))
        left[j] = False
        rows = inc.rows_of(j)
        new = rows[~covered[rows]]
        covered[new] = True
        subtract_newly_covered(inc, gains, w, new)
    return np.asarray(order, dtype=np.int64), np.asarray(marginal, dtype=np.float64)
