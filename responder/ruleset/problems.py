"""Problems found in a rule set, located as path:line:column, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from responder.errors import ResponderError

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or suspicious (warning) in a rule file."""

    path: str
    line: int | None
    column: int | None
    level: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"

    @property
    def where(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    @property
    def is_error(self) -> bool:
        return self.level == ERROR


def show_path(path: Path, base: Path | None = None) -> str:
    """*path* as a location names it: relative to *base* (default: the current directory).

    Under /work/main, `/work/main/rules/00-shop.yaml` reads `rules/00-shop.yaml`; a path
    outside *base*, or a relative one, stays as given.
    """
    if path.is_absolute():
        try:
            return str(path.relative_to((base or Path.cwd()).absolute()))
        except ValueError:
            pass
    return str(path)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in path, line, column order, each once."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.path, p.line or 0, p.column or 0, p.message))


class RuleSetError(ResponderError):
    """A rule set that cannot be used; .problems lists every problem found, errors first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.is_error]
        shown = errors[:10]
        more = f"\n  ... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(
            f"rule set refused ({len(errors)} error{'s' if len(errors) != 1 else ''}):\n"
            + "\n".join(f"  {p}" for p in shown)
            + more
        )
