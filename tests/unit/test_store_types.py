"""The store's own column types write and read what SQLAlchemy's would.

UTCDateTime does its two conversions in one function on SQLite (a step's hot path);
the text it stores and the datetimes it reads must be SQLAlchemy's own, or rows
written before and after would not compare.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from workflow.store.column_types import UTC_TIME
from workflow.store.json_text import dumps, loads

SQLITE = sqlite.dialect()
OURS_IN = UTC_TIME.bind_processor(SQLITE)
OURS_OUT = UTC_TIME.result_processor(SQLITE, None)
PLAIN = DateTime(timezone=True).dialect_impl(SQLITE)
THEIRS_IN = PLAIN.bind_processor(SQLITE)
THEIRS_OUT = PLAIN.result_processor(SQLITE, None)

zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
).flatmap(lambda moment: zones.map(lambda zone: moment.astimezone(zone)))


@given(aware)
def test_sqlite_text_is_sqlalchemys(moment: datetime) -> None:
    stored = OURS_IN(moment)
    assert stored == THEIRS_IN(moment.astimezone(UTC))
    read = OURS_OUT(stored)
    assert read == moment
    assert read.tzinfo is UTC
    assert read == THEIRS_OUT(stored).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02 08:00:00.000000",
        "2026-03-02 08:00:00",
        "2026-03-02 09:00:00+01:00",
        "2026-03-02 09:00:00.0+0100",  # as long as our own text, with an offset
    ],
)
def test_sqlite_reads_what_sqlalchemy_reads(text: str) -> None:
    theirs = THEIRS_OUT(text)
    theirs = theirs.replace(tzinfo=UTC) if theirs.tzinfo is None else theirs.astimezone(UTC)
    ours = OURS_OUT(text)
    assert ours == theirs == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert ours.tzinfo is UTC


def test_none_and_naive() -> None:
    assert OURS_IN(None) is None
    assert OURS_OUT(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        OURS_IN(datetime(2026, 3, 2, 8))


def test_other_stores_keep_sqlalchemys_processing() -> None:
    dialect = postgresql.dialect()
    process = UTC_TIME.bind_processor(dialect)
    moment = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=1)))
    value = process(moment) if process else UTC_TIME.process_bind_param(moment, dialect)
    assert value == datetime(2026, 3, 2, 8, tzinfo=UTC)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_json_text_reads_back_as_json_dumps_does(value: object) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


def test_json_text_refuses_what_json_refuses() -> None:
    for value in (
        datetime(2026, 1, 1, tzinfo=UTC),
        object(),
        {1, 2},
        {datetime(2026, 1, 1): 1},
        {(1, 2): "a"},
    ):
        with pytest.raises(TypeError):
            dumps(value)
    assert dumps({"n": 2**70, 1: "a"}) == '{"n": 1180591620717411303424, "1": "a"}'


@given(json_values)
def test_json_text_reads_as_json_loads_does(value: object) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)  # psycopg hands over bytes


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 123456789012345678901}',
        "[-9223372036854775809]",
        "[NaN]",
        '["\\ud800"]',
        "[1e400]",
        '["Søren Ærø", 18446744073709551616]',  # a long number after letters beyond ASCII
        '{"n": 9223372036854775808, "s": "\u00e6"}',
    ],
)
def test_json_text_reads_what_orjson_would_not_exactly(text: str) -> None:
    read, expected = loads(text), json.loads(text)
    assert repr(read) == repr(expected)
    assert type(read[0] if isinstance(read, list) else read["n"]) is type(
        expected[0] if isinstance(expected, list) else expected["n"]
    )


@pytest.mark.parametrize(("text", "why"), [("x", "Expecting value"), ("[1] x", "Extra data")])
def test_json_text_refuses_what_is_not_json(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        loads(text)
