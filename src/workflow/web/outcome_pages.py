"""The outcome pages: a municipality's figures for its leaders, the national comparison.

Aggregated, no names, no references; a cell from fewer than five young people is shown
as "< 5" (the figures come hidden from :class:`~workflow.cases.outcomes.OutcomeService`,
which also decides who may see them and logs every read). Charts are drawn on the server
(:mod:`workflow.web.charts`) with the same numbers in a table beside each; both pages
export their figures as CSV. The period is a calendar year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from workflow.cases.outcomes import (
    NATIONAL_COLUMNS,
    MunicipalityReport,
    NationalReport,
    TimeFigure,
)
from workflow.definitions.models import Definition
from workflow.errors import NotAllowedError
from workflow.privacy.accounts import User
from workflow.privacy.small_cells import MIN_PEOPLE, Cell
from workflow.texts import text
from workflow.web import charts
from workflow.web.context import WebContext
from workflow.web.definition_texts import local
from workflow.web.dependencies import SignedIn, Web
from workflow.web.page_support import PageNotFoundError
from workflow.web.rendering import locale_of

router = APIRouter(include_in_schema=False)

#: The national comparison's columns that are shares (shown as per cent).
SHARES = frozenset(
    {"within_deadlines", "goals_met_meeting_2", "goals_met", "moved_up", "education_or_work"}
)
DAYS = frozenset({"days_to_pre_meeting", "days_to_first_meeting"})


@dataclass(frozen=True)
class Line:
    """A row of a figures table: what, the figure as written, and whether it is hidden."""

    code: str
    label: str
    value: str
    hidden: bool
    raw: float | None


def number(value: float | None, lang: str, *, percent: bool = False) -> str:
    """A figure as the reader writes it: 3, 3,5 (da) or 3.5 (en), 83 %; none: '–'."""
    if value is None:
        return "–"
    if percent:
        return f"{value * 100:.0f} %"
    written = f"{value:.1f}".removesuffix(".0")
    return written.replace(".", ",") if lang == "da" else written


def line(code: str, label: str, figure: Cell, lang: str, *, percent: bool = False) -> Line:
    """A table row of one cell ('< 5' when hidden)."""
    if figure.hidden:
        return Line(code, label, f"< {MIN_PEOPLE}", True, None)
    return Line(code, label, number(figure.shown, lang, percent=percent), False, figure.shown)


def _definition(web: WebContext, code: str) -> Definition:
    for definition in sorted(web.catalog.current.values(), key=lambda d: d.id):
        if definition.municipality and definition.municipality.code == code:
            return definition
    raise PageNotFoundError(text("outcomes_none", "da"))


def _meeting_name(number_: int, lang: str) -> str:
    return (
        text("outcomes_pre_meeting", lang)
        if number_ == 0
        else text("outcomes_meeting_n", lang, n=number_)
    )


def _ending_name(definition: Definition, code: str, lang: str) -> str:
    if code in definition.stages_by_id:
        return local(definition.stages_by_id[code].name, lang)
    return definition.choice_label(code, lang)


def _timer_name(definition: Definition, code: str, lang: str) -> str:
    timer = definition.timers_by_id.get(code)
    return local(timer.name, lang) if timer else code


def _level_names(definition: Definition, lang: str) -> list[str]:
    levels = definition.progression.levels if definition.progression else []
    return [local(level.name, lang) for level in levels]


def _time_lines(figure: TimeFigure, lang: str) -> list[Line]:
    return [
        line("median_days", text("outcomes_median_days", lang), figure.median, lang),
        line("p90_days", text("outcomes_p90_days", lang), figure.p90, lang),
        line(
            "within_deadlines",
            text("outcomes_within_deadlines", lang),
            figure.within_deadlines,
            lang,
            percent=True,
        ),
        line("waiting", text("outcomes_waiting", lang), figure.waiting, lang),
    ]


@dataclass(frozen=True)
class Section:
    """A part of the outcome page: a heading, a table, and a chart of it (if any)."""

    code: str
    heading: str
    explain: str
    lines: list[Line]
    chart: charts.Chart | None = None
    columns: tuple[str, ...] = ()
    #: Rows of several figures (months): label and lines.
    rows: tuple[tuple[str, list[Line]], ...] = ()


def municipality_sections(
    report: MunicipalityReport, definition: Definition, lang: str
) -> list[Section]:
    """The outcome page's sections, labelled from the municipality's definition."""
    stage = {s.id: local(s.name, lang) for s in definition.stages}
    stages = [line(k, stage.get(k, k), c, lang) for k, c in report.open_by_stage.items()]
    total = line("total", text("outcomes_total", lang), report.open_total, lang)
    sections = [
        Section(
            "open",
            text("outcomes_open_h", lang),
            text("outcomes_open_explain", lang),
            [*stages, total],
            charts.bars(
                [x.label for x in stages],
                [x.raw for x in stages],
                text("outcomes_open_h", lang),
            )
            if charts.drawable([x.raw for x in stages])
            else None,
        )
    ]
    months = text("months_short", lang).split(",")
    rows = tuple(
        (
            months[start.month - 1],
            [
                line("referred", "", referred, lang),
                line("ended", "", ended, lang),
                line("open", "", open_now, lang),
            ],
        )
        for start, referred, ended, open_now in report.months
    )
    sections.append(
        Section(
            "months",
            text("outcomes_months_h", lang, year=report.year),
            text("outcomes_months_explain", lang),
            [
                line(
                    "referred_total", text("outcomes_referred", lang), report.referred_total, lang
                ),
                line("ended_total", text("outcomes_ended", lang), report.ended_total, lang),
            ],
            charts.lines(
                [label for label, _ in rows],
                {
                    text("outcomes_referred", lang): [r[0].raw for _, r in rows],
                    text("outcomes_ended", lang): [r[1].raw for _, r in rows],
                    text("outcomes_open_at_end", lang): [r[2].raw for _, r in rows],
                },
                text("outcomes_months_h", lang, year=report.year),
            ),
            columns=(
                text("outcomes_referred", lang),
                text("outcomes_ended", lang),
                text("outcomes_open_at_end", lang),
            ),
            rows=rows,
        )
    )
    deadlines = _deadline_text(definition, lang)
    for code, figure, heading in (
        ("pre_meeting", report.pre_meeting, "outcomes_to_pre_meeting_h"),
        ("first_meeting", report.first_meeting, "outcomes_to_first_meeting_h"),
    ):
        sections.append(
            Section(
                code,
                text(heading, lang),
                text("outcomes_time_explain", lang, deadlines=deadlines.get(code, "–")),
                _time_lines(figure, lang),
            )
        )
    goals = [
        line(str(n), _meeting_name(n, lang), c, lang, percent=True)
        for n, c in report.goals_met.items()
    ]
    sections.append(
        Section(
            "goals",
            text("outcomes_goals_h", lang),
            text("outcomes_goals_explain", lang),
            goals,
            charts.bars(
                [x.label for x in goals],
                [x.raw for x in goals],
                text("outcomes_goals_h", lang),
                percent=True,
            )
            if charts.drawable([x.raw for x in goals])
            else None,
        )
    )
    sections.append(_progression_section(report, definition, lang))
    ends = [line(k, _ending_name(definition, k, lang), c, lang) for k, c in report.endings.items()]
    sections.append(
        Section(
            "endings",
            text("outcomes_endings_h", lang),
            text("outcomes_endings_explain", lang),
            [*ends, line("total", text("outcomes_total", lang), report.endings_total, lang)],
            charts.bars(
                [x.label for x in ends], [x.raw for x in ends], text("outcomes_endings_h", lang)
            )
            if charts.drawable([x.raw for x in ends])
            else None,
        )
    )
    overdue = [
        line(k, _timer_name(definition, k, lang), c, lang) for k, c in report.overdue_now.items()
    ]
    fired = [
        line(k, _timer_name(definition, k, lang), c, lang) for k, c in report.deadlines.items()
    ]
    sections.append(
        Section(
            "deadlines",
            text("outcomes_deadlines_h", lang),
            text("outcomes_deadlines_explain", lang),
            fired,
        )
    )
    sections.append(
        Section(
            "overdue",
            text("outcomes_overdue_h", lang),
            text("outcomes_overdue_explain", lang),
            [*overdue, line("total", text("outcomes_total", lang), report.overdue_total, lang)],
        )
    )
    return sections


def _progression_section(report: MunicipalityReport, definition: Definition, lang: str) -> Section:
    progression = report.progression
    names = _level_names(definition, lang)
    moved = [
        line("up", text("outcomes_moved_up", lang), progression.up, lang),
        line("same", text("outcomes_moved_same", lang), progression.same, lang),
        line("down", text("outcomes_moved_down", lang), progression.down, lang),
        line("total", text("outcomes_total", lang), progression.total, lang),
    ]
    ranks = range(1, len(names) + 1)
    hidden = Cell(None, 0)
    chart = (
        charts.grouped_bars(
            names,
            {
                text("outcomes_first_level", lang): [
                    progression.first.get(r, hidden).shown for r in ranks
                ],
                text("outcomes_latest_level", lang): [
                    progression.latest.get(r, hidden).shown for r in ranks
                ],
            },
            text("outcomes_progression_h", lang),
        )
        if names and progression.total.people
        else None
    )
    return Section(
        "progression",
        text("outcomes_progression_h", lang),
        text("outcomes_progression_explain", lang),
        moved,
        chart,
    )


def _deadline_text(definition: Definition, lang: str) -> dict[str, str]:
    """The definition's own deadlines on the way to each meeting, in words."""
    found: dict[str, list[str]] = {"pre_meeting": [], "first_meeting": []}
    for stage in definition.stages:
        phase = stage.phase.value if stage.phase else None
        targets = {
            "referral": ("pre_meeting", "first_meeting"),
            "pre_meeting": ("pre_meeting", "first_meeting"),
            "first_meeting": ("first_meeting",),
        }.get(phase or "", ())
        for timer_id in stage.timers:
            timer = definition.timers_by_id.get(timer_id)
            if timer is None or timer.after is None:
                continue
            after = timer.after
            words = f"{local(timer.name, lang)} ({after.amount} {text(f'unit_{after.unit}', lang)})"
            for target in targets:
                found[target].append(words)
    return {k: "; ".join(v) for k, v in found.items() if v}


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
    return web.pages.render(
        request,
        "outcomes.html",
        200,
        municipality=definition.municipality.name,
        report=report,
        sections=municipality_sections(report, definition, lang),
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


def municipality_csv_rows(
    report: MunicipalityReport, definition: Definition, lang: str
) -> list[list[object]]:
    """The page's figures as CSV rows: section, code, label, value ('' when hidden)."""
    rows: list[list[object]] = [["section", "code", "label", "value", "hidden"]]
    for section in municipality_sections(report, definition, lang):
        for item in section.lines:
            rows.append([section.code, item.code, item.label, _raw(item), item.hidden])
        for label, cells in section.rows:
            for item in cells:
                rows.append([section.code, f"{item.code}:{label}", label, _raw(item), item.hidden])
    return rows


def _raw(item: Line) -> str:
    return "" if item.raw is None else f"{item.raw:g}"


@router.get("/outcomes.csv")
def outcome_csv(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The leader's page as CSV."""
    lang = locale_of(request, auth.user.locale)
    try:
        report, definition = _leader_report(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_not_allowed")
    rows = municipality_csv_rows(report, definition, lang)
    return _csv(rows, f"resultater-{report.municipality}-{report.year}.csv")


def national_rows(
    report: NationalReport, names: dict[str, str], lang: str
) -> list[tuple[str, list[Line]]]:
    """The comparison's rows (municipality name, its figures), the country last."""
    rows = []
    for code, cells in [*report.rows.items(), ("*", report.total)]:
        name = names.get(code, code) if code != "*" else text("outcomes_country", lang)
        rows.append(
            (
                name,
                [
                    line(column, "", cells[column], lang, percent=column in SHARES)
                    for column in NATIONAL_COLUMNS
                ],
            )
        )
    return rows


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
    rows = national_rows(report, _names(web), lang)
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
    )


@router.get("/outcomes/national.csv")
def national_csv(request: Request, web: Web, auth: SignedIn, year: str = "") -> Response:
    """The national comparison as CSV (hidden cells empty)."""
    lang = locale_of(request, auth.user.locale)
    try:
        report = _national(web, auth.user, year)
    except NotAllowedError:
        return _forbidden(web, request, lang, "outcomes_national_not_allowed")
    rows: list[list[object]] = [["municipality", "name", *NATIONAL_COLUMNS]]
    names = _names(web)
    for code, cells in [*report.rows.items(), ("*", report.total)]:
        name = names.get(code, code) if code != "*" else text("outcomes_country", lang)
        rows.append([code, name, *(_raw(line(c, "", cells[c], lang)) for c in NATIONAL_COLUMNS)])
    return _csv(rows, f"resultater-landet-{report.year}.csv")
