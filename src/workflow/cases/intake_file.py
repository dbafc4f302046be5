"""A referral file as a municipality's spreadsheet writes it: read and its columns checked.

Excel saves "CSV UTF-8" with a byte order mark, and with a Danish list separator (``;``)
where the machine's regional settings say so; both are read as they come. A file whose
first line does not name the required columns is told once, for the file, not as every
row's missing fields.
"""

from __future__ import annotations

import csv
from pathlib import Path

#: The columns a referral file must have.
INTAKE_COLUMNS = ("definition", "name", "cpr", "birth_date")
#: The columns it may have besides (the responsible caseworker, who refers, a repeat key).
OPTIONAL_COLUMNS = ("caseworker", "source", "key")
#: The separators a file may use, the first in its header line that is found.
_SEPARATORS = (",", ";", "\t")


def _separator(header: str) -> str:
    """The header line's separator: the one it holds most of (a comma when none)."""
    counts = {s: header.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def read_rows(path: Path) -> list[dict[str, str]]:
    """The file's rows by column name (names trimmed and in lower case), the second line
    first: row ``i`` is line ``i + 2`` of a file without line breaks in its cells, as
    the intake's reports number them. Blank rows at the end (a spreadsheet's) are left
    out; one in between stays, to be told by its number. Raises
    :class:`UnicodeDecodeError` for a file not in UTF-8."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_separator(header))
        names = [name.strip().lower() for name in next(reader, [])]
        rows = [dict(zip(names, row, strict=False)) for row in reader]
    while rows and not any(value.strip() for value in rows[-1].values()):
        rows.pop()
    return rows


def missing_columns(path: Path) -> tuple[list[str], list[str]]:
    """The required columns the file's first line does not name, and the names it has."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    names = [
        n.strip().lower() for n in next(csv.reader([header], delimiter=_separator(header)), [])
    ]
    return [c for c in INTAKE_COLUMNS if c not in names], [n for n in names if n]
