"""Walking networks, distances, coverage and gaps, and siting of new stations."""
