"""Loading a case for a step: its row and its live timers, in one query.

A step needs the case row (to check access, pin the definition and decide) and the
timers that are running or have fired (to decide, and to know whether starting a
timer moves its row or inserts one). One LEFT JOIN on the driver's cursor gives both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, make_dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from workflow.engine.model import CaseState, Timing
from workflow.store.driver import DriverStatement
from workflow.store.states import TimerState
from workflow.store.tables import (
    Base,
    Case,
    CaseTimer,
    Consent,
    ConsentDepartment,
    HistoryEvent,
    YoungPerson,
)


class StoredCase(Protocol):
    """What the step path reads of a case: the ORM ``Case`` and a ``CaseRow`` both."""

    @property
    def id(self) -> int: ...
    @property
    def reference(self) -> str: ...
    @property
    def municipality_code(self) -> str: ...
    @property
    def definition_version_id(self) -> int: ...
    @property
    def caseworker(self) -> str | None: ...
    @property
    def young_person_id(self) -> int | None: ...
    @property
    def version(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def closed_at(self) -> datetime | None: ...


_Model = TypeVar("_Model", bound=Base)


@cache
def record_of(model: type[_Model]) -> Callable[..., _Model]:
    """A light record class with ``model``'s table columns as fields, in the table's order.

    Made from a row by position, without the ORM's bookkeeping (building an ORM object
    costs several times more). Typed as the model, whose column attributes it has, with
    the same types: it is a copy to read, never an object to add to a session.
    """
    columns = [column.key for column in model.__table__.columns]
    record = make_dataclass(f"{model.__name__}Row", columns, slots=True)
    record.__module__ = __name__
    return cast(Callable[..., _Model], record)


#: A case row as the step path loads it: the cases table's columns (see record_of).
CaseRow = record_of(Case)


class Records(Generic[_Model]):
    """A SELECT of a model's rows, prebuilt for the driver and read as light records
    (:func:`record_of`): for pages that read many small sets of rows, where SQLAlchemy's
    execution and the ORM's objects cost more Python time than the queries themselves.

    Read through a session, its pending changes are flushed first, as the ORM's own
    queries would (autoflush): a record never misses a row the session holds.
    """

    def __init__(
        self,
        model: type[_Model],
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int | None = None,
    ) -> None:
        statement = select(*model.__table__.columns).where(*where).order_by(*order_by)
        self.statement = DriverStatement(statement if limit is None else statement.limit(limit))
        self.record = record_of(model)

    def all(self, session: Session, params: Mapping[str, Any]) -> list[_Model]:
        """The rows, in the statement's order."""
        return self.made(self.statement.rows(connection_of(session), params))

    def made(self, rows: Sequence[Sequence[Any]]) -> list[_Model]:
        """Records of rows this statement read (e.g. through :func:`read_together`)."""
        record = self.record
        return [record(*row) for row in rows]

    def first(self, session: Session, params: Mapping[str, Any]) -> _Model | None:
        """The first row, or None."""
        rows = self.statement.rows(connection_of(session), params)
        return self.record(*rows[0]) if rows else None


def connection_of(session: Session, *, flush: bool = True) -> Connection:
    """The session's connection (its transaction), its pending changes flushed first: a
    statement sent on it directly sees what the session's own queries would.

    A step's session (:meth:`~workflow.store.unit_of_work.UnitOfWork.step`) is bound to
    the connection its transaction was begun on: that connection is returned as it is,
    so the session begins nothing of its own (~30 µs of the ORM's bookkeeping a step)."""
    if flush:
        session.flush()
    bind = session.bind
    return bind if isinstance(bind, Connection) else session.connection()


@dataclass(frozen=True, slots=True)
class LiveTimer:
    """A timer row that is running, or has fired and may be started again."""

    state: TimerState  # running or fired
    due_at: datetime
    firings: int


@dataclass(slots=True)
class LoadedCase:
    """A case and its live timers, as one step reads them."""

    case: Case  # a CaseRow
    timers: dict[str, LiveTimer] = field(default_factory=dict)
    #: The young person's birth date (the engine derives ``person.*`` from it).
    born: date | None = None

    def state(self, consent: Mapping[str, Any] | None = None) -> CaseState:
        """The engine's view of the case: its running timers, and how often each timer
        that is running or has fired has fired (a timer that ended by firing is not
        started again by its anchor). ``consent``: as :func:`consent_state` reads it."""
        case = self.case
        running = {n: t for n, t in self.timers.items() if t.state is TimerState.RUNNING}
        return CaseState(
            reference=case.reference,
            stage=case.stage,
            opened_at=case.opened_at,
            previous_stage=case.previous_stage,
            data=dict(case.data),
            milestones=frozenset(case.milestones),
            timers={name: t.due_at for name, t in running.items()},
            timer_firings={name: t.firings for name, t in self.timers.items() if t.firings},
            counts=dict(case.counts),
            born=self.born,
            consent=consent,
            timing=Timing.from_data(case.timing),
        )

    def live_timers(self) -> dict[str, str]:
        """Timer name -> state, for :func:`workflow.store.repository.write_decision`."""
        return {name: t.state for name, t in self.timers.items()}


_CASE_COLUMNS = tuple(Case.__table__.c)  # in CaseRow's order
_TIMER_JOIN = and_(
    CaseTimer.case_id == Case.id,
    or_(CaseTimer.state == TimerState.RUNNING, CaseTimer.state == TimerState.FIRED),
)
_LOAD = (
    select(
        *_CASE_COLUMNS,
        YoungPerson.birth_date,
        CaseTimer.timer,
        CaseTimer.state,
        CaseTimer.due_at,
        CaseTimer.firings,
    )
    .outerjoin(YoungPerson, YoungPerson.id == Case.young_person_id)
    .outerjoin(CaseTimer, _TIMER_JOIN)
)
#: The case's columns and the young person's birth date: the same in each timer's row.
_SHARED = len(_CASE_COLUMNS) + 1
LOAD_BY_REFERENCE = DriverStatement(_LOAD.where(Case.reference == bindparam("b_reference")))
LOAD_BY_ID = DriverStatement(_LOAD.where(Case.id == bindparam("b_case")))


_FIRED = LiveTimer(TimerState.FIRED, datetime.min, 0)


def _loaded(rows: list[tuple[Any, ...]]) -> LoadedCase | None:
    if not rows:
        return None
    width = len(_CASE_COLUMNS)
    loaded = LoadedCase(CaseRow(*rows[0][:width]), born=rows[0][width])
    for row in rows:
        timer, state, due_at, firings = row[width + 1 :]
        # A store written by an early version may hold a fired row beside the running
        # row of the same timer: the running one is the timer.
        if timer is not None and loaded.timers.get(timer, _FIRED).state is not TimerState.RUNNING:
            loaded.timers[timer] = LiveTimer(TimerState(state), due_at, firings or 0)
    return loaded


def load_case(connection: Connection, reference: str) -> LoadedCase | None:
    """The case with this reference and its live timers (None if there is none).

    Not pipelined with the step's other reads: for one or two reads, psycopg's pipeline
    mode costs more Python than the round trip it saves (measured: 630 µs against
    490 µs for a step's read).
    """
    return _loaded(LOAD_BY_REFERENCE.rows(connection, {"b_reference": reference}, _SHARED))


def load_case_by_id(connection: Connection, case_id: int) -> LoadedCase | None:
    """The case with this id and its live timers (None if there is none)."""
    return _loaded(LOAD_BY_ID.rows(connection, {"b_case": case_id}, _SHARED))


def consent_state(connection: Connection, case_id: int) -> dict[str, Any]:
    """The case's consent as expressions see it: whether one is in force, the departments
    and data categories it covers now, the departments consents named that it no longer
    covers (taken back), and whether a custodial parent consented too."""
    named: dict[str, bool] = {}  # department -> covered by a consent in force
    for department, withdrawn_at in connection.execute(
        select(ConsentDepartment.department, ConsentDepartment.withdrawn_at).where(
            ConsentDepartment.case_id == case_id
        )
    ):
        named[str(department)] = named.get(str(department), False) or withdrawn_at is None
    departments = sorted(d for d, covered in named.items() if covered)
    categories: set[str] = set()
    guardian = False
    for given_by, covered in connection.execute(
        select(Consent.given_by, Consent.categories).where(
            Consent.case_id == case_id, Consent.withdrawn_at.is_(None)
        )
    ):
        categories |= {str(c) for c in covered or []}
        guardian = guardian or "guardian" in (given_by or [])
    return {
        "given": bool(departments),
        "departments": departments,
        # Named by consents, all of them taken back: no longer part of the course.
        "withdrawn": sorted(d for d, covered in named.items() if not covered),
        "categories": sorted(categories),
        "guardian": guardian,
    }


_STEP_ACTORS = DriverStatement(
    select(HistoryEvent.transition, HistoryEvent.actor_id)
    .where(
        HistoryEvent.case_id == bindparam("b_case"),
        HistoryEvent.actor_id.is_not(None),
        HistoryEvent.transition.not_like("timer:%"),
    )
    .distinct()
)


def step_actors_of(history: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    """Who took each step, from a case view's history (its entries' ``transition`` and
    ``actor_id``), as :func:`step_actors` reads it for a step: the pages offer no step
    that separation of duties would refuse the reader."""
    found: dict[str, set[str]] = {}
    for entry in history:
        transition, actor = entry.get("transition"), entry.get("actor_id")
        if transition and actor and not str(transition).startswith("timer:"):
            found.setdefault(str(transition), set()).add(str(actor))
    return {step: frozenset(actors) for step, actors in found.items()}


def step_actors(connection: Connection, case_id: int) -> dict[str, frozenset[str]]:
    """Who took each step of a case (transition id -> actor ids), from its history.

    Loaded only for definitions with ``not_by`` (separation of duties). A timer's own
    entries (``timer:<id>``: a reminder, or an event the case refused) are no step anyone
    took, as the engine counts them.
    """
    found: dict[str, set[str]] = {}
    for transition, actor in _STEP_ACTORS.rows(connection, {"b_case": case_id}):
        found.setdefault(transition, set()).add(str(actor))
    return {step: frozenset(actors) for step, actors in found.items()}
