"""Errors and problems: one clean line for people, a code for machines."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


class StoryWallError(Exception):
    """A failure the user can fix. The CLI prints ``str(err)`` as one line and exits 1."""

    exit_code = 1


class SettingsError(StoryWallError):
    """The STORYWALL settings dict in pelicanconf.py is invalid."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, printed as ``path:line: field: message — hint``."""

    path: str
    line: int
    field: str
    message: str
    hint: str = ""
    severity: str = ERROR
    code: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.field}: {self.message}"
        if self.hint:
            text += f" — {self.hint}"
        if self.severity != ERROR:
            text += f" [{self.severity}]"
        return text


class ProblemsFound(StoryWallError):
    """Raised when a set of files has errors; carries every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        super().__init__(f"{len(errors)} problem(s) found")
