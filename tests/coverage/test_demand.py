"""Demand units counted once however they nest: compounds in grids in villages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from servicegrid.coverage.demand import counted_households


def units(*rows):
    return pd.DataFrame(rows, columns=["unit_layer", "unit_id", "households", "village_id", "grid_id"])


NESTED = units(
    ("villages", "V", 1000, "V", None),
    ("grids", "G1", 600, "V", "G1"),
    ("grids", "G2", 400, "V", "G2"),
    ("compounds", "K1", 500, "V", "G1"),
    ("compounds", "K2", 450, "V", "G2"),  # more than its grid says: registers disagree
)


def test_every_nested_layer_served_adds_up_to_the_village_register():
    got = counted_households(NESTED, np.ones(5, dtype=bool))
    assert got.tolist() == [0.0, 50.0, 0.0, 500.0, 450.0]
    assert got.sum() == 1000.0


def test_without_grids_the_village_counts_what_its_compounds_do_not():
    served = np.array([True, False, False, True, True])
    assert counted_households(NESTED, served).tolist() == [50.0, 0.0, 0.0, 500.0, 450.0]


def test_a_tier_serving_compounds_only_counts_the_compounds():
    served = np.array([False, False, False, True, True])
    assert counted_households(NESTED, served).tolist() == [0.0, 0.0, 0.0, 500.0, 450.0]


def test_without_a_village_figure_grids_count_their_own_rest():
    frame = NESTED.assign(households=NESTED["households"].astype("Float64"))
    frame.loc[0, "households"] = pd.NA
    got = counted_households(frame, np.array([False, True, True, True, True]))
    assert got.tolist() == [0.0, 100.0, 0.0, 500.0, 450.0]
