"""Helpers shared by the benchmark scripts: load average, timing, and Markdown output.

Every script prints the machine's load average before and after its run beside its figures
(:class:`LoadAverage`), times with :func:`time.perf_counter`, and prints its results as a
Markdown table (:func:`table`) that can be pasted into ``benchmarks/README.md`` as it is.
Ratios are taken per seed (or per run) between figures of the same run and summarised by their
median (:func:`median_ratio`); a peer that found no answer gets no ratio.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (``os.getloadavg()``)."""
    return os.getloadavg()


class LoadAverage:
    """The load average when the run started; :meth:`line` adds the one when it ended."""

    def __init__(self) -> None:
        self.before = load_average()
        self.after: tuple[float, float, float] | None = None

    def stop(self) -> None:
        self.after = load_average()

    def line(self) -> str:
        """``load average before / after (1, 5, 15 min): a, b, c / d, e, f; N cores``."""
        if self.after is None:
            self.stop()
        assert self.after is not None
        before = ", ".join(f"{x:.2f}" for x in self.before)
        after = ", ".join(f"{x:.2f}" for x in self.after)
        return f"load average before / after (1, 5, 15 min): {before} / {after}; {os.cpu_count()} cores"


def command_line() -> str:
    """How this script was run, as a Markdown code span: ``benchmarks/x.py --seeds 2``."""
    script = os.path.relpath(sys.argv[0]) if sys.argv else "?"
    return "`" + " ".join([script, *sys.argv[1:]]) + "`"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def machine_line(*packages: str) -> str:
    """Python, numpy, scipy and ``packages``' versions and the platform, for the record."""
    import numpy as np
    import scipy

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"scipy {scipy.__version__}"]
    for name in packages:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts.append(f"{name} {importlib.metadata.version(name)}")
    return f"{', '.join(parts)}; {platform.system()} {platform.machine()}"


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` and the wall-clock seconds it took."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def repeated(fn: Callable[[], T], repeats: int) -> tuple[list[float], T]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` and the last call's result."""
    seconds: list[float] = []
    out: T | None = None
    for _ in range(max(1, repeats)):
        out, secs = timed(fn)
        seconds.append(secs)
    assert out is not None
    return seconds, out


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def seconds(value: float) -> str:
    """A duration in the unit that reads best: ``7.5 ms``, ``0.95 s``, ``232 s``."""
    if value < 0.1:
        return f"{value * 1e3:.1f} ms"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:,.0f} s"


def milliseconds(value: float) -> str:
    return f"{value * 1e3:,.0f} ms" if value >= 0.01 else f"{value * 1e3:.1f} ms"


def spread(values: Sequence[float], unit: Callable[[float], str] = seconds) -> str:
    """``median (max …)`` of several runs, or the one value."""
    if not values:
        return "–"
    if len(values) == 1:
        return unit(values[0])
    return f"{unit(median(values))} (max {unit(max(values))})"


def ratio_text(value: float) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×"


def slower(ratio: float) -> str:
    """``4.1× slower`` for a peer's time over ours, ``1.7× faster`` when it is below 1."""
    return f"{ratio_text(ratio)} slower" if ratio >= 1 else f"{ratio_text(1 / ratio)} faster"


def median_ratio(theirs: Mapping[Any, float], ours: Mapping[Any, float]) -> tuple[float, list[Any]] | None:
    """Median over the keys (seeds) both have of ``theirs[k] / ours[k]``, and those keys."""
    keys = [k for k in ours if k in theirs]
    if not keys:
        return None
    return median(theirs[k] / ours[k] for k in keys), keys


def ratio_cell(theirs: Mapping[Any, float], ours: Mapping[Any, float]) -> str:
    """``64× (40–80×, 5 seeds)``: the median of the per-seed ratios and their range."""
    found = median_ratio(theirs, ours)
    if found is None:
        return "–"
    mid, keys = found
    each = [theirs[k] / ours[k] for k in keys]
    if len(keys) == 1:
        return f"{ratio_text(mid)} (1 seed)"
    return f"{ratio_text(mid)} ({ratio_text(min(each))[:-1]}–{ratio_text(max(each))}, {len(keys)} seeds)"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence what C and C++ code prints (pandana's core, HiGHS's banner) at the file-descriptor
    level, so that standard output stays the Markdown result."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def progress(text: str) -> None:
    """A progress line on stderr, so that stdout stays the pasteable result."""
    print(text, file=sys.stderr, flush=True)
