"""YAML syntax errors said the way a definition's author can act on them.

PyYAML says *what* its parser met ("expected <block end>, but found '<block mapping
start>'"); an author needs to know which line is wrong and how to mend it. The commonest
mistakes in a hand-written definition are a line indented so that it lines up with no
entry above it, a value with ``: `` in it left unquoted, and a key without its colon:
each gets its own message and hint. Any other error keeps PyYAML's words, with the
block it was reading named.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

from workflow.errors import Location, Problem

#: What PyYAML's parser says when a line is indented to no level of the lines above it.
_MISALIGNED = (
    "expected <block end>, but found '<block mapping start>'",
    "expected <block end>, but found '<block sequence start>'",
)


def syntax_problem(
    exc: yaml.MarkedYAMLError, text: str, where: Location, at: Callable[[int], Location]
) -> Problem:
    """The problem to report for a YAML syntax error found at ``where`` (``at``: the
    location of a character offset in ``text``, as an editor counts lines)."""
    what = exc.problem or exc.context or "invalid YAML"
    if what in _MISALIGNED:
        levels = _levels_above(text, where.line)
        indent = _indent(text.split("\n")[where.line - 1])
        if levels and indent not in levels:
            return Problem(
                where,
                "",
                f"YAML syntax error: line {where.line} is indented {_spaces(indent)}, "
                "which lines up with no entry above it",
                f"indent it {_choices(levels)}, as the entries it belongs with; a line "
                "indented further than the one above belongs under it, and that one must "
                "then end with ':' and nothing after it",
            )
    if what == "mapping values are not allowed here":
        lines = text.split("\n")
        above = _previous_entry(lines, where.line)
        if above is not None and _indent(lines[where.line - 1]) > _indent(lines[above - 1]):
            levels = _levels_above(text, where.line)
            return Problem(
                where,
                "",
                f"YAML syntax error: line {where.line} is indented further than line "
                f"{above}, so it is read as the rest of that line's value",
                f"indent it {_choices(levels)}, as the entries it belongs with",
            )
        return Problem(
            where,
            "",
            "YAML syntax error: a ': ' where no key can begin",
            "a text with ': ' in it must be in quotes, e.g. title: \"Forløb: Sorø\"; "
            "otherwise check this line's indentation against the line above",
        )
    if what == "could not find expected ':'":
        return Problem(
            at(exc.context_mark.index) if exc.context_mark else where,  # the key's line
            "",
            "YAML syntax error: a key without its ':' (or a text running over several lines)",
            "write a key and its value as 'key: value' (a colon, then a space); a text over "
            "several lines goes in quotes, or in a block after '|'",
        )
    if "character '\\t'" in what:  # PyYAML writes the tab as \t
        return Problem(
            where,
            "",
            "YAML syntax error: a tab character",
            "YAML indents and separates with spaces only: replace the tab with spaces",
        )
    line = text.split("\n")[where.line - 1] if 0 < where.line <= text.count("\n") + 1 else ""
    if _QUOTED_THEN_MORE.search(line):
        return Problem(
            where,
            "",
            "YAML syntax error: a value that begins with a quote ends at its closing quote, "
            "and more text follows it",
            "put the whole value in quotes of the other kind, e.g. "
            "rule: \"'consent_given' in case.milestones\"",
        )
    hint = "check the indentation and quoting around this point"
    flow = {"while parsing a flow mapping": "{}", "while parsing a flow sequence": "[]"}
    brackets = flow.get(exc.context or "")
    if brackets and exc.context_mark and exc.problem:
        start = at(exc.context_mark.index)
        opened, closing = brackets[0], brackets[1]
        hint = (
            f"the '{opened}' at line {start.line}, column {start.column} is not closed with "
            f"'{closing}' before this point, or a text in it with ',' or ': ' needs quotes"
        )
    elif exc.context and exc.context_mark and exc.problem:
        start = at(exc.context_mark.index)
        hint = f"{exc.context} that starts at line {start.line}, column {start.column}; {hint}"
    return Problem(where, "", f"YAML syntax error: {what}", hint)


#: A value that begins with a quoted text and goes on after it ("rule: 'x' in y").
_QUOTED_THEN_MORE = re.compile(r"""(?:^|[:\-]\s)\s*(?:'[^']*'|"[^"]*")[ \t]+[^\s#]""")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _choices(levels: list[int]) -> str:
    """'0, 2 or 4 spaces'."""
    words = [str(level) for level in levels]
    joined = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return f"{joined} space" if words == ["1"] else f"{joined} spaces"


def _previous_entry(lines: list[str], line: int) -> int | None:
    """The number of the last line before ``line`` (1-based) that holds more than a
    comment, or None."""
    for number in range(line - 1, 0, -1):
        content = lines[number - 1].strip()
        if content and not content.startswith("#"):
            return number
    return None


def _levels_above(text: str, line: int) -> list[int]:
    """The indentations a line at ``line`` (1-based) could line up with: the entry before
    it and each entry that encloses that one, read upwards (blank lines, comments and the
    lines inside a ``{...}`` or ``[...]`` left open are no entries)."""
    lines = text.split("\n")[: line - 1]
    entries = [i for i, depth in enumerate(_open_brackets(lines)) if depth == 0]
    levels: list[int] = []
    for number in reversed(entries):
        content = lines[number].strip()
        if not content or content.startswith("#"):
            continue
        indent = _indent(lines[number])
        # A list item that begins a mapping ("- id: mentor"): its keys line up with the
        # first one, after the dash (4 spaces under "  - id: mentor"), which is where the
        # next key of the item most likely belongs.
        item = _ITEM_KEY.match(content)
        if item is not None and (not levels or indent + len(item.group(1)) < levels[0]):
            levels.insert(0, indent + len(item.group(1)))
        if not levels or indent < levels[0]:
            levels.insert(0, indent)
        if indent == 0:
            break
    return levels


#: A list item whose content is a mapping key ("- id: x"), not a flow value ("- {...}").
_ITEM_KEY = re.compile(r"""^(-\s+)(?=[^\s{\[#'"][^:]*:(?:\s|$))""")


def _open_brackets(lines: list[str]) -> list[int]:
    """For each line, how many ``{`` and ``[`` are open where it begins (outside quotes
    and comments: enough to tell a flow collection's continued lines)."""
    depth, found = 0, []
    for line in lines:
        found.append(depth)
        quote = ""
        for index, char in enumerate(line):
            if quote:
                if char == quote:
                    quote = ""
            elif char in "\"'" and (index == 0 or line[index - 1] in " ,[{:"):
                quote = char
            elif char == "#" and (index == 0 or line[index - 1] == " "):
                break
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth = max(0, depth - 1)
    return found
