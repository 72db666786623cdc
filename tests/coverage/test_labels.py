"""Tests for servicegrid.coverage.labels: how coverage results read in the planner's language."""

from __future__ import annotations

import pandas as pd
import pytest

from servicegrid.coverage.labels import beyond_text, reason_labels


@pytest.mark.parametrize(
    ("walk", "radius", "text"),
    [
        (1306.4, 1000, "1,306"),
        (1000.6, 1000, "1,001"),
        (1000.21, 1000, "1,000.2"),  # never "1,000 m, beyond the 1,000 m radius"
        (1000.04, 1000, "1,000.04"),
        (300.5, 300, "300.5"),
    ],
)
def test_a_distance_beyond_the_radius_never_reads_as_the_radius(walk, radius, text):
    assert beyond_text(walk, radius) == text


def test_every_reason_coverage_gives_reads_in_chinese():
    reasons = pd.Series(
        [
            "1,306 m on foot, beyond the 1,000 m radius",
            "1,125 m estimated from the straight line (no walking network), beyond the 1,000 m radius",
            "no facility of this tier",
            "not connected: no facility on the same piece of the walking network",
            "no facility to reach (none was snapped to the network)",
            "no facility within 3,000 m on foot",
            "unreachable: 412 m from the nearest path",
            "unreachable: no path in the network",
            None,
            "something new",
        ],
        dtype="string",
    )
    zh = reason_labels(reasons, "zh").tolist()
    assert zh[:8] == [
        "步行1,306米，超出1,000米服务半径",
        "按直线估算1,125米（无步行路网），超出1,000米服务半径",
        "没有该层级（或可替代层级）的在用阵地",
        "不连通：所在步行路网片区没有该层级的阵地",
        "没有可到达的阵地（阵地均未接入路网）",
        "步行3,000米内没有阵地",
        "无法步行到达：距最近道路412米",
        "无法步行到达：路网中没有道路",
    ]
    assert zh[8] is pd.NA
    assert zh[9] == "something new"
    assert reason_labels(reasons, "en").tolist()[:8] == reasons.tolist()[:8]
