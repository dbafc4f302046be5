"""The outcome pages: a municipality's figures for its leaders, the national comparison.

Aggregated, no names, no references; a cell from fewer than five young people is shown
as "< 5" (the figures come hidden from :class:`~workflow.cases.outcomes.OutcomeService`,
which also decides who may see them and logs every read). The tables in words come from
:mod:`workflow.cases.outcome_tables` (as the CSV and ``workflow report`` give them);
this page draws a chart of each on the server (:mod:`workflow.web.charts`). The period
is a calendar year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from workflow.cases.outcome_tables import (
    Table,
    level_names,
    municipality_csv,
    municipality_tables,
    national_lines,
)
from workflow.cases.outcome_tables import national_csv as national_csv_rows
from workflow.cases.outcomes import NATIONAL_COLUMNS, MunicipalityReport, NationalReport
from workflow.definitions.models import Definition
from workflow.errors import NotAllowedError
from workflow.privacy.accounts import User
from workflow.privacy.small_cells import MIN_PEOPLE, Cell
from workflow.texts import text
from workflow.web import charts
from workflow.web.context import WebContext
from workflow.web.dependencies import SignedIn, Web
from workflow.web.page_support import PageNotFoundError
from workflow.web.rendering import locale_of

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Section:
    """A table of the page and its chart (None: nothing to draw)."""

    table: Table
    chart: charts.Chart | None


def _bars(table: Table, *, percent: bool = False) -> charts.Chart | None:
    shown = [item for item in table.lines if item.code != "total"]
    values = [item.raw for item in shown]
    if not charts.drawable(values):
        return None
    return charts.bars([item.label for item in shown], values, table.heading, percent=percent)


def _chart(
    table: Table, report: MunicipalityReport, definition: Definition, lang: str
) -> charts.Chart | None:
    if table.code in ("open", "endings"):
        return _bars(table)
    if table.code == "goals":
        return _bars(table, percent=True)
    if table.code == "months":
        series = {
            column: [cells[index].raw for _, cells in table.rows]
            for index, column in enumerate(table.columns)
        }
        return charts.lines([label for label, _ in table.rows], series, table.heading)
    if table.code == "progression":
        return _levels_chart(report, definition, lang, table.heading)
    return None


def _levels_chart(
    report: MunicipalityReport, definition: Definition, lang: str, heading: str
) -> charts.Chart | None:
    names = level_names(definition, lang)
    progression = report.progression
    if not names or not progression.total.people:
        return None
    nothing = Cell(None, 0)
    ranks = range(1, len(names) + 1)
    return charts.grouped_bars(
        names,
        {
            text("outcomes_first_level", lang): [
                progression.first.get(r, nothing).shown for r in ranks
            ],
            text("outcomes_latest_level", lang): [
                progression.latest.get(r, nothing).shown for r in ranks
            ],
        },
        heading,
    )


def _definition(web: WebContext, code: str) -> Definition:
    for definition in sorted(web.catalog.current.values(), key=lambda d: d.id):
        if definition.municipality and definition.municipality.code == code:
            return definition
    raise PageNotFoundError(text("outcomes_none", "da"))


def _year(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) == 4 else None


def _forbidden(web: WebContext, request: Request, lang: str, key: str) -> Response:
    return web.pages.render(
        request, "message.html", 403, heading=text("error", lang), message=text(key, lang)
    )


def _leader_report(web: WebContext, user: User, year: str) -> tuple[MunicipalityReport, Definition]:
    code = user.municipality_code or ""
    report = web.outcomes.municipality(
        user.actor("leader" if "leader" in user.roles else None), code, _year(year)
    )
    return report, _definition(web, code)


@router.get("/outcomes")
def outcome_page(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The leader's page: the municipality's figures for a year."""
    lang = locale_of(request, auth.user.locale)
    try:
        report, definition = _leader_report(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_not_allowed")
    assert definition.municipality is not None
    sections = [
        Section(table, _chart(table, report, definition, lang))
        for table in municipality_tables(report, definition, lang)
    ]
    return web.pages.render(
        request,
        "outcomes.html",
        200,
        municipality=definition.municipality.name,
        report=report,
        sections=sections,
        min_people=MIN_PEOPLE,
    )


def _csv(rows: Iterable[Iterable[object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/outcomes.csv")
def outcome_csv(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The leader's page as CSV."""
    lang = locale_of(request, auth.user.locale)
    try:
        report, definition = _leader_report(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_not_allowed")
    rows = municipality_csv(report, definition, lang)
    return _csv(rows, f"resultater-{report.municipality}-{report.year}.csv")


def _names(web: WebContext) -> dict[str, str]:
    return {
        d.municipality.code: d.municipality.name
        for d in web.catalog.current.values()
        if d.municipality is not None
    }


def _national(web: WebContext, user: User, year: str) -> NationalReport:
    role = "leader" if "leader" in user.roles else "analyst" if "analyst" in user.roles else None
    return web.outcomes.national(user.actor(role), _year(year))


@router.get("/outcomes/national")
def national_page(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The national comparison: every municipality's key figures side by side."""
    lang = locale_of(request, auth.user.locale)
    try:
        report = _national(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_national_not_allowed")
    rows = [(name, cells) for _, name, cells in national_lines(report, _names(web), lang)]
    shown = rows[:-1]
    days = [cells[NATIONAL_COLUMNS.index("days_to_first_meeting")].raw for _, cells in shown]
    chart = (
        charts.bars(
            [name for name, _ in shown], days, text("outcomes_col_days_to_first_meeting", lang)
        )
        if charts.drawable(days)
        else None
    )
    return web.pages.render(
        request,
        "outcomes_national.html",
        200,
        report=report,
        columns=[text(f"outcomes_col_{c}", lang) for c in NATIONAL_COLUMNS],
        rows=rows,
        chart=chart,
        min_people=MIN_PEOPLE,
        minutes=max(1, round(web.outcomes.national_ttl / 60)),
    )


@router.get("/outcomes/national.csv")
def national_csv(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The national comparison as CSV (hidden cells empty)."""
    lang = locale_of(request, auth.user.locale)
    try:
        report = _national(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_national_not_allowed")
    rows = national_csv_rows(report, _names(web), lang)
    return _csv(rows, f"resultater-landet-{report.year}.csv")
