"""The project's one exception hierarchy and the located problem it reports.

Every error a user can cause carries what is wrong, where (file:line:column for
definitions, field for API input) and, where we can tell, how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


#: How bad a problem is: an error refuses the input; a warning is said, and the input is used.
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with user input, located and explained."""

    location: Location | None
    path: str
    message: str
    hint: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        level = "warning: " if self.is_warning else ""
        path = f"{self.path}: " if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{level}{path}{self.message}{hint}"

    @property
    def is_warning(self) -> bool:
        """Whether it is only a warning (the input is still used)."""
        return self.severity == "warning"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.message) if loc else ("", 0, 0, self.message)


class WorkflowError(Exception):
    """Base class of every error this package raises on purpose."""


class DefinitionError(WorkflowError):
    """A process definition (or simulation script) could not be loaded; holds every problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


class StoreUnavailableError(WorkflowError):
    """The case store cannot be opened (unreachable, or not a database the store can use);
    the message says which store (its address without a password) and what to do."""


def did_you_mean(name: str, known: Iterable[str], *, list_known: bool = True) -> str | None:
    """A 'did you mean' hint for a misspelt name, or (optionally) a list of the known names."""
    import difflib

    candidates = sorted(set(known))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not candidates or not list_known:
        return None
    shown = ", ".join(candidates[:12]) + (", ..." if len(candidates) > 12 else "")
    return f"known: {shown}"


# Refusals of the service layer (cases, privacy): each says what and how to go on.


class CaseNotFoundError(WorkflowError):
    """No case with that reference (or the user may not know it exists)."""


class ConflictError(WorkflowError):
    """Someone else changed the case at the same moment; reload and try again."""


class NotAllowedError(WorkflowError):
    """The person may see the case, but not do this with it.

    The message is the API's (English, for the developer); a page shows ``text_key``
    (of :mod:`workflow.texts`, with ``params``) in the reader's language."""

    def __init__(
        self, message: str, *, text_key: str = "not_allowed", params: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.text_key, self.params = text_key, params or {}


class PurposeRequiredError(WorkflowError):
    """Opening a case through a legal basis needs a stated purpose (kept in the audit log)."""

    def __init__(self, reference: str, basis: str) -> None:
        super().__init__(
            f"you see {reference} through a legal basis ({basis}), not as one of its team: "
            "state the purpose of opening it"
        )
        self.reference, self.basis = reference, basis


class InvalidRequestError(WorkflowError):
    """Input the service refuses, field by field; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class IdempotencyKeyReusedError(WorkflowError):
    """An idempotency key came back with a different request."""
