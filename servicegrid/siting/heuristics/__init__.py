"""Fast siting heuristics and bounds (greedy, swap search, tabu, Lagrangian relaxations)."""
