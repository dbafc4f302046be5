"""Every example in docs/definitions.md runs (the guide's own promise, stated in it).

Each fenced ``yaml`` block is one of:

* a complete definition (it has ``id:``): written to a folder next to a copy of
  ``definitions/base.yaml`` and loaded with the real loader;
* a part of a definition (``transitions:``, ``timers:``...): written into Eksempelkøbing's
  file (``id: eksempel``, ``extends: base``, next to a base whose placeholder addresses are
  made the municipality's own) and loaded;
* a simulation script (``definition:`` and ``steps:``): simulated against the definition
  of the nearest block before it with that id (else the shipped one), with no problem.

An ``expr`` block holds ``<expression> => <result>`` lines, evaluated with the engine's
own context (:func:`workflow.engine.context.expression_context`) as the guard of the last
step of the script marked ``<!-- example: expression-case -->`` sees it. A block marked
``<!-- example: invalid -->`` must fail. The tutorial is followed as written: its files
are written where it says, and the commands it names are run.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.definitions import expressions
from workflow.definitions.checks import PLACEHOLDER_DOMAIN
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.engine.context import expression_context
from workflow.engine.inputs import validate_inputs
from workflow.engine.model import Actor, CaseState, Notify, StartTimer, TimerFired
from workflow.engine.simulation import Script, Timeline, format_timeline, load_script, simulate
from workflow.errors import DefinitionError

DOC = Path("docs/definitions.md")
BASE = Path("definitions/base.yaml")
#: What a part of a definition is written into (the tutorial's municipality).
FRAGMENT_HEAD = """\
id: eksempel
extends: base
version: 1
title: Ungeforløb – Eksempelkøbing Kommune
municipality: {name: Eksempelkøbing Kommune, code: "999", case_prefix: EKS}
"""


@dataclass
class Block:
    """One fenced block of the guide, with the marks written just before it."""

    lang: str
    text: str
    line: int
    marks: set[str] = field(default_factory=set)

    @property
    def where(self) -> str:
        return f"{DOC}:{self.line}"

    @property
    def kind(self) -> str:
        data = yaml.safe_load(self.text)
        if not isinstance(data, dict):
            return "other"
        if "definition" in data and "steps" in data:
            return "script"
        return "definition" if "id" in data else "fragment"


_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_MARK = re.compile(r"<!--\s*example:\s*([\w\- ]+?)\s*-->\s*$")


def blocks(text: str | None = None) -> list[Block]:
    """The guide's fenced blocks, in order, with their marks."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = _MARK.search(before)
        found.append(
            Block(
                match.group(1),
                match.group(2),
                text.count("\n", 0, match.start()) + 2,
                set(marked.group(1).split()) if marked else set(),
            )
        )
    return found


def yaml_blocks() -> list[Block]:
    return [b for b in blocks() if b.lang == "yaml"]


class Examples:
    """The guide's examples run in order: definitions as they come, scripts against them."""

    def __init__(self, root: Path) -> None:
        self.plain = root / "plain"  # complete definitions, next to the base as shipped
        self.parts = root / "parts"  # parts of Eksempelkøbing's file
        for folder in (self.plain, self.parts):
            folder.mkdir()
        shutil.copy(BASE, self.plain / "base.yaml")
        own = BASE.read_text(encoding="utf-8").replace(PLACEHOLDER_DOMAIN, "@eksempel.example")
        (self.parts / "base.yaml").write_text(own, encoding="utf-8")
        self.defined: dict[str, Definition] = {}
        self.timelines: dict[int, Timeline] = {}

    def load(self, block: Block) -> Definition:
        if block.kind == "definition":
            ident = yaml.safe_load(block.text)["id"]
            path = self.plain / f"{ident}.yaml"
            path.write_text(block.text, encoding="utf-8")
            definition = load_definition(path, definitions_dir=self.plain)
        else:
            folder = self.parts / f"line_{block.line}"  # the base: found in the parts folder
            folder.mkdir()
            path = folder / "eksempel.yaml"
            path.write_text(FRAGMENT_HEAD + block.text, encoding="utf-8")
            definition = load_definition(path, definitions_dir=self.parts)
        self.defined[definition.id] = definition
        return definition

    def definition_for(self, script: Script) -> Definition:
        if script.definition in self.defined:
            return self.defined[script.definition]
        return load_definition(f"definitions/{script.definition}.yaml")

    def run(self, block: Block) -> Timeline:
        path = self.plain / f"script_{block.line}.yaml"
        path.write_text(block.text, encoding="utf-8")
        script = load_script(path)
        timeline = simulate(self.definition_for(script), script)
        self.timelines[block.line] = timeline
        return timeline

    def check(self, block: Block) -> list[str]:
        """What is wrong with a block (nothing for a good example)."""
        try:
            if block.kind == "script":
                return self.run(block).problems
            self.load(block)
        except DefinitionError as exc:
            return [str(p) for p in exc.problems]
        return []


def _ran(tmp_path: Path) -> Examples:
    examples = Examples(tmp_path)
    for block in yaml_blocks():
        problems = examples.check(block)
        if "invalid" in block.marks:
            assert problems, f"{block.where}: marked invalid, but it is accepted"
        else:
            assert problems == [], f"{block.where}: " + "\n".join(problems)
    return examples


def test_every_yaml_example_loads_or_simulates_and_every_wrong_one_fails(tmp_path: Path) -> None:
    examples = _ran(tmp_path)
    kinds = [b.kind for b in yaml_blocks()]
    assert {"definition", "fragment", "script"} <= set(kinds)
    assert len(examples.timelines) == kinds.count("script")


def test_the_wrong_examples_fail_for_the_reason_they_give(tmp_path: Path) -> None:
    examples = Examples(tmp_path)
    reasons = []
    for block in yaml_blocks():
        if "invalid" in block.marks:
            reasons.append("\n".join(examples.check(block)))
        elif block.kind != "script":
            examples.load(block)
    assert len(reasons) == 2
    assert "under 18 a custodial parent must consent too" in reasons[0]
    assert "'3 month' is not a duration: the unit is plural for any amount but 1" in reasons[1]


# --- expressions --------------------------------------------------------------------------


def shown(value: Any, zone: ZoneInfo) -> str:
    """A value as the guide writes results: dates ISO, times local to the minute."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f"{value.astimezone(zone):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(shown(v, zone) for v in sorted(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v, zone) for v in value) + "]"
    return str(value)


def _as_if_written_in(definition: Definition, sources: list[str]) -> Definition:
    """The definition as if the expressions were written in it (what the engine reads for
    a definition can depend on what its expressions ask, e.g. the case's meetings)."""
    copy = definition.model_copy()
    for name, value in vars(Definition).items():
        if isinstance(value, cached_property):
            copy.__dict__.pop(name, None)
    copy.__dict__["expression_sources"] = (*definition.expression_sources, *sources)
    return copy


def _expression_case(tmp_path: Path) -> tuple[Definition, dict[str, Any]]:
    """The context the last step of the guide's expression case is decided in."""
    marked = [b for b in yaml_blocks() if "expression-case" in b.marks]
    assert len(marked) == 1
    examples = Examples(tmp_path)
    path = tmp_path / "case.yaml"
    path.write_text(marked[0].text, encoding="utf-8")
    script = load_script(path)
    sources = [source for _, source, _ in _expression_lines()]
    definition = _as_if_written_in(examples.definition_for(script), sources)
    *before, last = script.steps
    timeline = simulate(definition, script.model_copy(update={"steps": before}))
    assert timeline.problems == []
    case = timeline.case
    assert isinstance(case, CaseState)
    assert last.event is not None
    assert last.at is not None
    step = next(
        t
        for t in definition.transitions_by_event[last.event]
        if case.stage in definition.source_stages(t)
    )
    values, errors = validate_inputs(definition, step.inputs, last.inputs)
    assert errors == []
    zone = ZoneInfo(definition.calendar.timezone)
    role, _, ident = last.actor.partition(":")
    now = last.at.replace(tzinfo=zone)
    return definition, expression_context(definition, case, values, Actor(role, ident), now)


def _expression_lines() -> Iterator[tuple[int, str, str]]:
    for block in blocks():
        if block.lang != "expr":
            continue
        for offset, line in enumerate(block.text.splitlines()):
            if line.strip() and not line.lstrip().startswith("#"):
                source, _, expected = line.rpartition(" => ")
                yield block.line + offset, source.strip(), expected.strip()


def test_every_expression_example_gives_the_result_the_guide_says(tmp_path: Path) -> None:
    definition, context = _expression_case(tmp_path)
    zone = ZoneInfo(definition.calendar.timezone)
    lines = list(_expression_lines())
    assert len(lines) > 40
    wrong = []
    for number, source, expected in lines:
        assert source, f"{DOC}:{number}: write '<expression> => <result>'"
        assert expected, f"{DOC}:{number}: write '<expression> => <result>'"
        assert not expressions.syntax_error(source), f"{DOC}:{number}: {source}"
        try:
            got = shown(expressions.evaluate_raw(source, context), zone)
        except expressions.ExpressionError as exc:
            got = f"error: {exc}"
        if got != expected:
            wrong.append(f"{DOC}:{number}: {source} => {got} (the guide says {expected})")
    assert wrong == []


def test_every_name_and_function_of_an_expression_is_in_the_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    reference = text.split("### Expressions", 1)[1].split("### Templates", 1)[0]
    names = {f"case.{a}" for a in expressions.CASE_ATTRIBUTES - {"previous_stage"}}
    names |= {f"person.{a}" for a in expressions.PERSON_ATTRIBUTES}
    names |= {f"consent.{a}" for a in expressions.CONSENT_ATTRIBUTES}
    names |= {"actor.role", "actor.id", "target_ages.max", "params."}
    names |= set(expressions.EXPRESSION_NAMES) | set(expressions.HELPERS)
    names |= set(expressions.DATE_FUNCTIONS)
    missing = sorted(n for n in names if f"`{n}" not in reference)
    assert missing == []


# --- the timers and pauses the guide describes -----------------------------------------


def _timeline_of(tmp_path: Path, reference: str) -> Timeline:
    examples = Examples(tmp_path)
    for block in yaml_blocks():
        if "invalid" in block.marks:
            continue
        if block.kind != "script":
            examples.load(block)
        elif f"case: {reference}" in block.text:
            return examples.run(block)
    raise AssertionError(f"no script for {reference} in the guide")


def _fired(timeline: Timeline, timer: str) -> list[str]:
    return [
        f"{e.at:%Y-%m-%d %H:%M}"
        for e in timeline.entries
        for x in e.effects
        if isinstance(x, TimerFired) and x.timer == timer
    ]


def test_the_anchored_timers_and_the_pause_behave_as_the_guide_says(tmp_path: Path) -> None:
    timeline = _timeline_of(tmp_path, "EKS-2026-0012")
    # Two working days before the meeting booked for Tuesday 28 April at 09:00.
    assert _fired(timeline, "meeting_reminder") == ["2026-04-24 09:00"]
    # The birthday is 20 November; 30 days later is a Sunday: the Monday after, at 08:00.
    assert _fired(timeline, "eighteenth_birthday") == ["2026-11-20 08:00"]
    assert _fired(timeline, "transition_meeting_due") == ["2026-12-21 08:00"]
    # The monthly call runs on through the six weeks' pause (4 May - 15 June).
    calls = _fired(timeline, "monthly_call")
    assert calls[:3] == [
        "2026-04-17 11:00",
        "2026-05-17 11:00",
        "2026-06-17 11:00",
    ]
    # The follow-up deadline (17 June) had 44 days left when paused; after the pause it has
    # them still: due six weeks later than it would have been.
    follow_up = _fired(timeline, "follow_up_due")
    assert follow_up[0] == "2026-07-29 11:00"


def test_the_rules_name_every_failed_rule_beside_its_field(tmp_path: Path) -> None:
    timeline = _timeline_of(tmp_path, "EKS-2026-0007")
    refused = next(e for e in timeline.entries if e.rejection is not None)
    assert refused.rejection is not None
    assert [(f.name, f.text("en")) for f in refused.rejection.field_errors] == [
        ("plan", "The plan may only cover the themes the young person chose."),
        (
            "next_meeting_at",
            "The next meeting must be on a fixed meeting day (Tuesday or Thursday).",
        ),
        ("next_meeting_at", "Meet again within 6 weeks."),
    ]


def test_the_full_script_example_withdraws_consent_and_withholds(tmp_path: Path) -> None:
    timeline = _timeline_of(tmp_path, "SOR-2026-0107")
    assert timeline.case is not None
    assert timeline.case.stage == "withdrawn"
    assert timeline.case.consent == {
        "given": True,
        "departments": ["skole"],
        "categories": ["education"],
        "guardian": True,
        "withdrawn": ["uu"],
    }
    assert [e.event for e in timeline.entries if e.actor == "system:consent"] == [
        "consent_given",
        "consent_withdrawn",
    ]


# --- the tutorial -------------------------------------------------------------------------


def _tutorial() -> tuple[str, str]:
    definition, script = [b.text for b in yaml_blocks() if "tutorial" in b.marks]
    return definition, script


def test_the_tutorial_followed_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write the files where the tutorial says, run the commands it names."""
    definition, script = _tutorial()
    (tmp_path / "definitions" / "examples").mkdir(parents=True)
    shutil.copy(BASE, tmp_path / "definitions" / "base.yaml")
    (tmp_path / "definitions" / "eksempel.yaml").write_text(definition, encoding="utf-8")
    (tmp_path / "definitions" / "examples" / "eksempel.yaml").write_text(script, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "definitions/eksempel.yaml"])
    assert validated.exit_code == 0, validated.output
    assert "definitions/eksempel.yaml: ok (eksempel v1" in validated.output
    graph = runner.invoke(app, ["graph", "eksempel"])
    assert graph.exit_code == 0, graph.output
    assert graph.output.startswith("stateDiagram-v2")
    simulated = runner.invoke(app, ["simulate", "eksempel", "definitions/examples/eksempel.yaml"])
    assert simulated.exit_code == 0, simulated.output
    assert "hold_pre_meeting by caseworker:cw-mette: REFUSED invalid_input" in simulated.output
    assert "not_seen timer: follow_up -> follow_up" in simulated.output


def test_the_tutorials_definition_is_what_it_says(tmp_path: Path) -> None:
    definition, script = _tutorial()
    shutil.copy(BASE, tmp_path / "base.yaml")
    (tmp_path / "eksempel.yaml").write_text(definition, encoding="utf-8")
    d = load_definition(tmp_path / "eksempel.yaml")
    assert d.calendar.meeting_weekdays == ["wednesday"]
    assert d.meeting_rules.weekdays == ["wednesday"]
    assert d.calendar.closed_days  # kept from base
    assert d.departments_by_id["jobcenter"].name == "Jobcenter Eksempelkøbing"
    assert "mentor" in d.departments_by_id
    assert "okonomi" not in {t.id for t in d.themes}
    assert d.stages_by_id["follow_up"].timers == ["follow_up_due", "not_seen"]
    (tmp_path / "script.yaml").write_text(script, encoding="utf-8")
    timeline = simulate(d, load_script(tmp_path / "script.yaml"))
    assert timeline.problems == []
    assert timeline.stages()[-1] == "closed"
    escalated = [
        e
        for e in timeline.entries
        if e.event == "not_seen"
        and {x.recipient.id for x in e.effects if isinstance(x, Notify)} >= {"leader"}
    ]
    assert [f"{e.at:%Y-%m-%d %H:%M}" for e in escalated] == ["2026-04-29 11:00"]
    assert not [e for e in timeline.entries if e.problem]
    assert format_timeline(timeline).count("WITHHELD") == 0
    assert any(isinstance(x, StartTimer) for e in timeline.entries for x in e.effects)


def test_the_block_reader_sees_marks_and_kinds() -> None:
    text = (
        "Intro\n\n<!-- example: invalid -->\n```yaml\ntimers: []\n```\n\n"
        "```yaml\nid: x\n```\n\n```expr\n1 + 1 => 2\n```\n"
    )
    found = blocks(text)
    assert [(b.lang, b.marks, b.line) for b in found] == [
        ("yaml", {"invalid"}, 5),
        ("yaml", set(), 9),
        ("expr", set(), 13),
    ]
    assert [b.kind for b in found[:2]] == ["fragment", "definition"]
