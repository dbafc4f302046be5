"""`workflow report`: the outcome figures on the command line, as CSV or JSON.

The same figures as the leader's page (``/outcomes``) and the national comparison
(``/outcomes/national``), with the same rules: a leader of the municipality sees its
figures, any leader or a national analyst the comparison; no cell from fewer than five
young people (hidden cells are empty); every use is in the audit log as the ``--actor``.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import typer

from workflow.cli.cases import actor_option, fail, known_actor
from workflow.errors import WorkflowError

FORMATS = ("csv", "json")


def report_command(
    municipality: str | None = typer.Option(
        None, "--municipality", metavar="CODE", help="The municipality's code, e.g. 340 (Sorø)."
    ),
    national: bool = typer.Option(
        False, "--national", help="Every municipality side by side, and the country."
    ),
    year: int | None = typer.Option(
        None, "--year", help="The calendar year (default: the newest with referrals)."
    ),
    output: str = typer.Option("csv", "--format", help="csv or json."),
    lang: str = typer.Option("da", "--lang", help="The labels' language: da or en."),
    actor: str | None = actor_option("leader:leder-leif"),
) -> None:
    """The outcome figures of a municipality (or, with --national, of every one)."""
    if output not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    if lang not in ("da", "en"):
        raise typer.BadParameter("use da or en", param_hint="--lang")
    if national == (municipality is not None):
        raise typer.BadParameter(
            "give --municipality CODE or --national (one of them)", param_hint="--municipality"
        )
    from workflow.cases.outcome_tables import (
        municipality_csv,
        municipality_tables,
        national_csv,
        national_lines,
    )
    from workflow.runtime import get_runtime

    who = known_actor(actor)
    try:
        runtime = get_runtime()
        names = {
            d.municipality.code: d.municipality.name
            for d in runtime.catalog.current.values()
            if d.municipality is not None
        }
        if national:
            comparison = runtime.outcomes.national(who, year)
            rows = national_csv(comparison, names, lang)
            document: Any = {
                "year": comparison.year,
                "municipalities": [
                    {"code": code, "name": name, **{i.code: _value(i) for i in figures}}
                    for code, name, figures in national_lines(comparison, names, lang)
                ],
            }
        else:
            assert municipality is not None
            report = runtime.outcomes.municipality(who, municipality, year)
            definition = next(
                d
                for d in runtime.catalog.current.values()
                if d.municipality and d.municipality.code == municipality
            )
            rows = municipality_csv(report, definition, lang)
            document = {
                "municipality": municipality,
                "year": report.year,
                "tables": [
                    {
                        "code": table.code,
                        "heading": table.heading,
                        "figures": {i.code: _value(i) for i in table.lines},
                        "rows": {
                            label: {i.code: _value(i) for i in cells} for label, cells in table.rows
                        },
                    }
                    for table in municipality_tables(report, definition, lang)
                ],
            }
    except WorkflowError as exc:
        fail(exc)
        return
    if output == "json":
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows)


def _value(item: Any) -> float | str | None:
    """A figure in JSON: its number, or "hidden" (fewer than five young people)."""
    return "hidden" if item.hidden else item.raw


def register(main: typer.Typer) -> None:
    """Add `workflow report` to the main app."""
    main.command("report")(report_command)
