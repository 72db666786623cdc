"""Fast siting heuristics and bounds: greedy, swap search, tabu, Lagrangian relaxations.

These give the first plan in milliseconds, the MIP start for HiGHS, and the answer (with a valid
bound) when an instance is too large to prove. Every step is numpy over the stored entries of a
sparse matrix; loops run over picks and moves, never over rows or pairs.

- Greedy keeps every site's marginal gain exact: after each pick it subtracts the weight of the
  rows that pick newly covered (one bincount over those rows' entries). That is the work a lazy
  greedy's priority queue of stale gains saves, done for all sites at once, so no queue is kept.
- Swap search (maximal covering) keeps an incremental state: every row books its weight to the
  'gain' row of a table while uncovered, to its site's row while covered once, so that the
  table holds what each site would add and, per open site, the weight only it covers that each
  other site also covers. All (open, closed) swaps are scored at once, and a move re-books only
  the rows whose booking changes (one scatter over their entries). Greedy makes the best swap
  after each pick; a short tabu search then walks out of 1-swap local optima.
- Set covering with equal costs (fewest sites) also searches for covers one site smaller as
  maximal covering with growing row weights (the weighting scheme of unicost set-covering local
  search), which finds covers that greedy, pruning and exchanges miss.
- p-median uses greedy plus vertex substitution scored for all swaps at once (Resende and
  Werneck's decomposition) and a Lagrangian relaxation whose bound fixes sites and pairs.
- Lagrangian relaxations of maximal covering and set covering give bounds near the LP bound in
  milliseconds and their subproblem solutions as further plans.

Covering problems come as an ``Incidence`` (both CSC and CSR structure of a 0/1 matrix);
p-median problems as ``Assignment`` (the allowed demand–site pairs with their weighted costs).

Modules:

- :mod:`.incidence`: ``Incidence``, marginal-gain bookkeeping and the build order of a plan;
- :mod:`.cover_search`: the incremental maximal-covering state, local search, tabu, best plan;
- :mod:`.max_cover`: greedy, the max-cover heuristic, its local search and Lagrangian bound;
- :mod:`.set_cover`: greedy, pruning, exchanges, Lagrangian bound and fewer-sites search;
- :mod:`.targets`: greedy, pruning and drop-and-repair for per-group coverage targets;
- :mod:`.median`: ``Assignment``, greedy, vertex substitution and the Lagrangian of p-median.
"""
