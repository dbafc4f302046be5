"""The store's own column types: how a value is written to and read from a column.

``UTCDateTime``: aware datetimes, stored as UTC. On SQLite, which keeps text and drops
zones, the text is SQLAlchemy's own (``2026-03-02 08:00:00.000000``), written and read
by one function each way (tests/unit/test_store_types.py holds them side by side with
SQLAlchemy's).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes, stored as UTC; SQLite (which drops zones) reads back as UTC too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite the two conversions (ours above, then SQLAlchemy's text format) are done
    # in one function each, ~0.9 µs a value faster both ways (a step binds ten and reads
    # a few; a page reads hundreds). The text is SQLAlchemy's, written and read as its
    # own processors do (tests/unit/test_store_types.py holds them side by side).

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store; pass an aware datetime")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return _SQLITE_TEXT % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
            )

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            if len(value) in _SQLITE_LENGTHS:  # as written: UTC without an offset
                try:
                    return parse(value + "+00:00")
                except ValueError:  # a text of that length with an offset of its own
                    pass
            moment = parse(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

        return process


#: SQLAlchemy's text of a datetime on SQLite, and its lengths (without microseconds too).
_SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_SQLITE_LENGTHS = frozenset({19, 26})


UTC_TIME = UTCDateTime()
