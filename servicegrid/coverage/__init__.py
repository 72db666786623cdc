"""Walking networks, distances, coverage and gaps (siting lives in :mod:`servicegrid.siting`)."""
