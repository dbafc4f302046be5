"""The outcome figures as tables in words: what the page, the CSV and the CLI show.

Each figure is a :class:`Line` (a code, its label in the reader's language, the figure
as written — "< 5" when hidden); a :class:`Table` is one part of a municipality's page
(open cases by stage, month by month, time to the meetings, goals met, progression, how
cases ended, deadlines). Labels come from the municipality's definition (stage, timer,
level and status names) and :mod:`workflow.texts`. The web page adds a chart to each.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.cases.outcomes import (
    NATIONAL_COLUMNS,
    MunicipalityReport,
    NationalReport,
    TimeFigure,
)
from workflow.definitions.models import Definition
from workflow.definitions.types import LocalizedText, text_in
from workflow.privacy.small_cells import MIN_PEOPLE, Cell
from workflow.texts import text


def local(value: str | LocalizedText | None, lang: str) -> str:
    """A definition text in ``lang`` (Danish when missing)."""
    return "" if value is None else text_in(value, lang)


#: The national comparison's columns that are shares (shown as per cent).
SHARES = frozenset(
    {"within_deadlines", "goals_met_meeting_2", "goals_met", "moved_up", "education_or_work"}
)


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


def meeting_name(number_: int, lang: str) -> str:
    """'Formøde', '1. møde', '2. møde' ... (English: 'Pre-meeting', 'Meeting 1' ...)."""
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


def level_names(definition: Definition, lang: str) -> list[str]:
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
class Table:
    """A part of the outcome page: a heading, what it counts, and its figures."""

    code: str
    heading: str
    explain: str
    lines: list[Line]
    columns: tuple[str, ...] = ()
    #: Rows of several figures (months): label and lines.
    rows: tuple[tuple[str, list[Line]], ...] = ()


def municipality_tables(
    report: MunicipalityReport, definition: Definition, lang: str
) -> list[Table]:
    """The outcome page's tables, labelled from the municipality's definition."""
    stage = {s.id: local(s.name, lang) for s in definition.stages}
    stages = [line(k, stage.get(k, k), c, lang) for k, c in report.open_by_stage.items()]
    total = line("total", text("outcomes_total", lang), report.open_total, lang)
    sections = [
        Table(
            "open",
            text("outcomes_open_h", lang),
            text("outcomes_open_explain", lang),
            [*stages, total],
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
        Table(
            "months",
            text("outcomes_months_h", lang, year=report.year),
            text("outcomes_months_explain", lang),
            [
                line(
                    "referred_total", text("outcomes_referred", lang), report.referred_total, lang
                ),
                line("ended_total", text("outcomes_ended", lang), report.ended_total, lang),
            ],
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
            Table(
                code,
                text(heading, lang),
                text("outcomes_time_explain", lang, deadlines=deadlines.get(code, "–")),
                _time_lines(figure, lang),
            )
        )
    goals = [
        line(str(n), meeting_name(n, lang), c, lang, percent=True)
        for n, c in report.goals_met.items()
    ]
    sections.append(
        Table(
            "goals",
            text("outcomes_goals_h", lang),
            text("outcomes_goals_explain", lang),
            goals,
        )
    )
    sections.append(_progression_table(report, lang))
    ends = [line(k, _ending_name(definition, k, lang), c, lang) for k, c in report.endings.items()]
    sections.append(
        Table(
            "endings",
            text("outcomes_endings_h", lang),
            text("outcomes_endings_explain", lang),
            [*ends, line("total", text("outcomes_total", lang), report.endings_total, lang)],
        )
    )
    overdue = [
        line(k, _timer_name(definition, k, lang), c, lang) for k, c in report.overdue_now.items()
    ]
    fired = [
        line(k, _timer_name(definition, k, lang), c, lang) for k, c in report.deadlines.items()
    ]
    sections.append(
        Table(
            "deadlines",
            text("outcomes_deadlines_h", lang),
            text("outcomes_deadlines_explain", lang),
            fired,
        )
    )
    sections.append(
        Table(
            "overdue",
            text("outcomes_overdue_h", lang),
            text("outcomes_overdue_explain", lang),
            [*overdue, line("total", text("outcomes_total", lang), report.overdue_total, lang)],
        )
    )
    return sections


def _progression_table(report: MunicipalityReport, lang: str) -> Table:
    progression = report.progression
    moved = [
        line("up", text("outcomes_moved_up", lang), progression.up, lang),
        line("same", text("outcomes_moved_same", lang), progression.same, lang),
        line("down", text("outcomes_moved_down", lang), progression.down, lang),
        line("total", text("outcomes_total", lang), progression.total, lang),
    ]
    return Table(
        "progression",
        text("outcomes_progression_h", lang),
        text("outcomes_progression_explain", lang),
        moved,
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


def municipality_csv(
    report: MunicipalityReport, definition: Definition, lang: str
) -> list[list[object]]:
    """The figures as CSV rows: table, code, label, value ('' when hidden), hidden."""
    rows: list[list[object]] = [["section", "code", "label", "value", "hidden"]]
    for table in municipality_tables(report, definition, lang):
        for item in table.lines:
            rows.append([table.code, item.code, item.label, raw(item), item.hidden])
        for label, cells in table.rows:
            for item in cells:
                rows.append([table.code, f"{item.code}:{label}", label, raw(item), item.hidden])
    return rows


def raw(item: Line) -> str:
    """A figure as a machine reads it ('' when hidden or none)."""
    return "" if item.raw is None else f"{item.raw:g}"


def national_lines(
    report: NationalReport, names: dict[str, str], lang: str
) -> list[tuple[str, str, list[Line]]]:
    """The comparison's rows (code, municipality name, its figures), the country last."""
    rows = []
    for code, cells in [*report.rows.items(), ("*", report.total)]:
        name = names.get(code, code) if code != "*" else text("outcomes_country", lang)
        figures = [
            line(column, "", cells[column], lang, percent=column in SHARES)
            for column in NATIONAL_COLUMNS
        ]
        rows.append((code, name, figures))
    return rows


def national_csv(report: NationalReport, names: dict[str, str], lang: str) -> list[list[object]]:
    """The comparison as CSV rows (hidden cells empty)."""
    rows: list[list[object]] = [["municipality", "name", *NATIONAL_COLUMNS]]
    for code, name, figures in national_lines(report, names, lang):
        rows.append([code, name, *(raw(item) for item in figures)])
    return rows
