"""Progress of a long stage: the stage names its steps and how many there are; a consumer draws them.

A stage takes ``progress``, a callable given ``(step, done, total)`` as each step starts. The
library decides the steps and their number; the command line draws a bar, the HTTP service
ignores them. :class:`Steps` is the stage's side of it.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "Steps"]

Progress = Callable[[str, int, int], None]


class Steps:
    """Reports the named steps of a stage with ``total`` steps to ``progress`` (which may be None).

    Examples
    --------
    >>> seen = []
    >>> step = Steps(lambda name, done, total: seen.append((name, done, total)), total=2)
    >>> step("reading"); step("writing"); step.finish()
    >>> seen
    [('reading', 0, 2), ('writing', 1, 2), ('done', 2, 2)]
    """

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def __call__(self, name: str) -> None:
        if self.progress is not None:
            self.progress(name, min(self.done, self.total), self.total)
        self.done += 1

    def finish(self) -> None:
        """Report the stage complete."""
        if self.progress is not None:
            self.progress("done", self.total, self.total)
