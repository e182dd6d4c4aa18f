"""What one ``validate`` run found, as every reporter receives it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rke2image.spec.problems import Problem
from rke2image.spec.suppress import Suppressed


@dataclass(frozen=True)
class Outcome:
    """Standing findings (they fail the run), suppressed ones, and how many files were read.

    ``summary`` is true when the findings also went to GitHub's step summary, so the
    annotations can say where the rest are.
    """

    problems: list[Problem]
    suppressed: list[Suppressed] = field(default_factory=list)
    files: int = 0
    summary: bool = False

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)
