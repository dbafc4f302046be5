"""YAML reading that remembers where every value came from.

We compose YAML with PyYAML and build the values ourselves, so that:

* every mapping and sequence knows the file:line:column of each of its entries;
* plain scalars follow the YAML 1.2 core schema: ``on``, ``off``, ``yes`` and
  ``no`` are text, not booleans (YAML 1.1 surprises authors with them);
* a key written twice in one mapping is an error, never a silent overwrite;
* merge keys (``<<: *defaults``) lay the keys of other maps under a map, as YAML
  specifies: keys written in the map override merged ones, and each merged value keeps
  the location it was written at (where the anchor's map is).

Composing uses libyaml (PyYAML's C extension) when it is installed: it reads the
definitions about ten times faster than PyYAML's own Python code and yields the same
nodes. Whenever it refuses a file, the file is read again the Python way, so every
error message, line and column is exactly PyYAML's own.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workflow.definitions.yaml_errors import syntax_problem
from workflow.errors import Location, Problem, did_you_mean

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}

#: Words YAML 1.1 read as booleans; we keep them as text and explain when that matters.
YAML11_BOOLEAN_WORDS = frozenset(
    w for base in ("yes", "no", "on", "off", "y", "n") for w in (base, base.title(), base.upper())
)

#: The tag of a plain ``<<`` key: a merge key (``<<: *defaults``).
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlMap(dict[str, Any]):
    """A mapping read from YAML, with the location of the mapping and of each key and value."""

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[str, Location] = {}
        self.value_locs: dict[str, Location] = {}
        #: Ids removed by an extending definition, and where (set by merging).
        self.removed: dict[str, Location] = {}


class YamlSeq(list[Any]):
    """A sequence read from YAML, with the location of the sequence and of each item."""

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Location] = []


def resolve_plain_scalar(text: str) -> Any:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _INT_OCT.match(text):
        return int(text[2:], 8)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
        return float(text)
    if text.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[text.lower()]
    return text


MAX_DEPTH = 64
MAX_NODES = 200_000
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Positions:
    """Turns a character offset into a line and column as an editor counts them.

    PyYAML's own marks also count NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR as line
    breaks; editors do not, so a mark's line could point past the end of the file. The
    offset (``mark.index``) is exact, so we count from it: only ``\\n`` ends a line.
    """

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, index: int) -> Location:
        line = bisect_right(self.starts, index)
        return Location(self.file, line, index - self.starts[line - 1] + 1)


class _TooBigError(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message


class _Builder:
    def __init__(self, positions: _Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []
        self.nodes = 0
        self.path: list[int] = []  # ids of the nodes being built (an alias into one loops)

    def loc(self, node: yaml.Node) -> Location:
        return self.positions.at(node.start_mark.index)

    def build(self, node: yaml.Node) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBigError(
                node,
                f"the document is too large (over {MAX_NODES} values); "
                "are aliases (*name) repeating large parts?",
            )
        if id(node) in self.path:
            raise _TooBigError(node, "an alias refers to a value that contains it")
        if len(self.path) >= MAX_DEPTH:
            raise _TooBigError(node, f"values are nested more than {MAX_DEPTH} levels deep")
        self.path.append(id(node))
        try:
            return self._build(node)
        finally:
            self.path.pop()

    def _build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            seq = YamlSeq(self.loc(node))
            for item in node.value:
                seq.append(self.build(item))
                seq.item_locs.append(self.loc(item))
            return seq
        assert isinstance(node, yaml.ScalarNode)
        if _SURROGATE.search(node.value):
            self.problems.append(
                Problem(self.loc(node), "", "invalid character in text", "save the file as UTF-8")
            )
            return ""
        if not node.style:  # plain, unquoted (PyYAML says None, libyaml '')
            return resolve_plain_scalar(node.value)
        return node.value

    def _mapping(self, node: yaml.MappingNode) -> YamlMap:
        result = YamlMap(self.loc(node))
        merged: list[YamlMap] = []
        merge_at: Location | None = None
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(self.loc(key_node), "", "a key must be a plain name, not a list or map")
                )
                continue
            key = key_node.value
            if key_node.tag == _MERGE_TAG:
                if merge_at is None:
                    merge_at = self.loc(key_node)
                    merged += self._merged(value_node, merge_at)
                else:
                    self.problems.append(self._duplicate(key_node, merge_at, merging=True))
                continue
            if key in result:
                self.problems.append(self._duplicate(key_node, result.key_locs[key]))
                continue
            result[key] = self.build(value_node)
            result.key_locs[key] = self.loc(key_node)
            result.value_locs[key] = self.loc(value_node)
        # Keys written in the map override merged ones; of the maps merged, the first wins.
        for source in merged:
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    result.key_locs[key] = source.key_locs[key]
                    result.value_locs[key] = source.value_locs[key]
        return result

    def _duplicate(self, key: yaml.ScalarNode, first: Location, merging: bool = False) -> Problem:
        hint = (
            "merge several maps with one list: <<: [*first, *second]"
            if merging
            else f"first given at line {first.line}; keep one of them"
        )
        return Problem(self.loc(key), "", f"duplicate key '{key.value}'", hint)

    def _merged(self, node: yaml.Node, key_at: Location) -> list[YamlMap]:
        """The maps a merge key (``<<: *defaults`` or ``<<: [*a, *b]``) lays under its map.

        A wrong value is reported at the key: an alias's node is the anchored one, which
        may be far away.
        """
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        maps: list[YamlMap] = []
        for item in items:
            value = self.build(item) if isinstance(item, yaml.MappingNode) else None
            if isinstance(value, YamlMap):
                maps.append(value)
            else:
                self.problems.append(
                    Problem(
                        key_at,
                        "",
                        "a merge key (<<) takes a map, or a list of maps",
                        "e.g. <<: *defaults, where '&defaults' names a map",
                    )
                )
        return maps


#: Characters YAML 1.1 (PyYAML) reads as line breaks, YAML 1.2 and editors do not: text
#: pasted from a word processor can hold them, and would be cut in two where they are.
_HIDDEN_BREAKS = {"\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}
_HIDDEN_BREAK = re.compile("[\x85\u2028\u2029]")


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; returns its located value and the problems found."""
    positions = _Positions(file, text)
    hidden = [
        Problem(
            positions.at(found.start()),
            "",
            f"the character {_codepoint(found.group())} ({_HIDDEN_BREAKS[found.group()]}) "
            "would be read as a line break",
            "delete it; to break a line in a text, use a block (|) or \\n in double quotes",
        )
        for found in _HIDDEN_BREAK.finditer(text)
    ]
    if hidden:
        return None, hidden
    node = _compose_fast(text)
    try:
        if node is None:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = positions.at(mark.index) if mark else Location(file, 1, 1)
        return None, [syntax_problem(exc, text, loc, positions.at)]
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return None, [
            Problem(
                positions.at(exc.position),
                "",
                f"the character {_codepoint(character)} is not allowed in YAML",
                'delete it, or write it as an escape inside double quotes, e.g. "\\t"',
            )
        ]
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, [Problem(Location(file, 1, 1), "", f"YAML error: {first}")]
    except RecursionError:
        return None, [Problem(Location(file, 1, 1), "", "YAML nested too deeply to read")]
    if node is None:
        return None, [Problem(Location(file, 1, 1), "", "the file is empty")]
    builder = _Builder(positions)
    try:
        value = builder.build(node)
    except _TooBigError as exc:
        return None, [*builder.problems, Problem(builder.loc(exc.node), "", exc.message)]
    if value is None:
        return None, [Problem(Location(file, 1, 1), "", "the file holds no values")]
    return value, builder.problems


#: The deepest nesting libyaml must refuse for its composer to be used: the composer
#: recurses in C, one stack frame pair (some 400 bytes) per level, so a file nested
#: many thousand levels deep would overflow the stack instead of raising an error.
_LIBYAML_NESTING_LIMIT = 1000


@cache
def _fast_loader() -> type[yaml.SafeLoader] | None:
    """libyaml's safe loader, if it is installed and limits nesting as it should."""
    loader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return None
    try:
        for _token in yaml.scan("[" * (_LIBYAML_NESTING_LIMIT + 1), Loader=loader):
            pass
    except yaml.YAMLError as exc:
        return loader if "maximum nesting depth" in str(exc) else None
    return None


def _compose_fast(text: str) -> yaml.Node | None:
    """The document's node composed by libyaml; None to compose it the Python way.

    libyaml yields the same nodes, positions included (its marks count characters as
    Python does), except that a plain scalar's style is '' where PyYAML says None.
    Anything it refuses, or an empty document, is left to PyYAML, whose messages and
    positions the problems report. So is anything newer libyaml reads differently
    from PyYAML (see :func:`_read_alike`).
    """
    loader = _fast_loader()
    if loader is None or "\t" in text or "\ufeff" in text:
        return None  # libyaml allows tabs and byte order marks in more places
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=loader)
    except Exception:  # PyYAML reads it again and reports the problem
        return None
    return node if node is not None and _read_alike(node, text) else None


#: The tags PyYAML's safe resolver gives values without an explicit tag.
_RESOLVED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "null", "bool", "int", "float", "timestamp", "merge")
)


#: A block scalar's header as PyYAML reads it: indicators, then a space or the line's end.
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*(?:[ \n]|\Z)")


def _read_alike(root: yaml.Node, text: str) -> bool:
    """Whether PyYAML would compose the same nodes from the text libyaml composed these from.

    libyaml (since 0.2.5) reads a few things PyYAML refuses or places differently: a
    ``?`` inside an unquoted text in a flow collection (``{a?b: 1}``), a flow indicator
    in a tag (``!x,``), a comment right after a block scalar's header (``|#``), and the
    empty value in a flow mapping (``{a: }``), which it places one column later. Files
    holding any of them are read the Python way; so are values nested more than
    ``MAX_DEPTH`` deep, which PyYAML may be unable to read at all (its composer
    recurses in Python), so that they are reported as they always were.
    """
    seen: set[tuple[int, bool, int]] = set()  # an alias repeats a node: look at it once
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, in_flow, depth = stack.pop()
        if depth > MAX_DEPTH or node.tag not in _RESOLVED_TAGS:
            return False
        if (id(node), in_flow, depth) in seen:
            continue
        seen.add((id(node), in_flow, depth))
        if isinstance(node, yaml.ScalarNode):
            if not node.style and (not node.value or (in_flow and "?" in node.value)):
                return False
            if node.style in ("|", ">") and not _BLOCK_HEADER.match(text, node.start_mark.index):
                return False
        elif isinstance(node, yaml.SequenceNode):
            flow = in_flow or bool(node.flow_style)
            stack.extend((item, flow, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            flow = in_flow or bool(node.flow_style)
            for key, value in node.value:
                stack.append((key, flow, depth + 1))
                stack.append((value, flow, depth + 1))
        else:
            return False
    return True


def _codepoint(character: str) -> str:
    return f"U+{ord(character):04X}" if len(character) == 1 else repr(character)


def read_yaml_file(path: Path, display: str | None = None) -> tuple[Any, list[Problem]]:
    """Read and parse a YAML file; unreadable files become a located problem."""
    shown = display or str(path)
    data, problems = read_source(path, shown)
    if data is None:
        return None, problems
    return parse_yaml_bytes(data, shown)


#: The largest definition or script file read (the national base is about 40 kB): a
#: larger one is refused before it is read, so a huge file cannot stall a load.
MAX_FILE_BYTES = 1_000_000


def read_source(path: Path, shown: str) -> tuple[bytes | None, list[Problem]]:
    """The bytes of a file, or the problem that it cannot be read (named ``shown``)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [
                Problem(
                    Location(shown, 1, 1),
                    "",
                    f"the file is {size:,} bytes; a definition or script is at most "
                    f"{MAX_FILE_BYTES:,} bytes",
                    "split it, or move repeated parts into the definition it extends",
                )
            ]
        return path.read_bytes(), []
    except FileNotFoundError:
        near = sorted(p.stem for p in path.parent.glob("*.y*ml")) if path.parent.is_dir() else []
        close = did_you_mean(path.stem, near, list_known=False)  # by name: sorow -> soroe
        return None, [Problem(None, "", f"{shown}: file not found", close)]
    except OSError as exc:
        return None, [Problem(None, "", f"{shown}: cannot read the file: {exc.strerror or exc}")]


def parse_yaml_bytes(data: bytes, shown: str) -> tuple[Any, list[Problem]]:
    """Parse a file's bytes (UTF-8, any line ends, an optional byte order mark)."""
    try:
        text = _universal_newlines(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, [_not_utf8(shown, data, exc)]
    # A byte order mark is not shown by editors, so columns are counted after it.
    return parse_yaml(text.removeprefix("\ufeff"), shown)


def _universal_newlines(text: str) -> str:
    """Line ends as text mode reads them: CRLF and a lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _not_utf8(shown: str, data: bytes, error: UnicodeDecodeError) -> Problem:
    """Where the first byte that is not UTF-8 is, counted in the characters before it."""
    before = _universal_newlines(data[: error.start].decode("utf-8", errors="replace"))
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return Problem(
        Location(shown, line, column),
        "",
        f"the file is not UTF-8 text: byte 0x{data[error.start]:02x} cannot be read",
        "save the file as UTF-8 (in most editors: 'Save with encoding')",
    )


def locate(root: Any, path: tuple[str | int, ...]) -> tuple[Location | None, str]:
    """Follow ``path`` through a located YAML value.

    Returns the most precise location known (the value's own if it exists, else
    the nearest enclosing node's) and the path written for people: list items
    that have an ``id`` are named by it, e.g. ``transitions[hold_meeting].to``.
    """
    node = root
    loc: Location | None = getattr(root, "loc", None)
    shown = ""
    for step in path:
        if isinstance(node, YamlMap) and isinstance(step, str):
            shown += f".{step}" if shown else step
            if step in node:
                loc = node.value_locs.get(step, loc)
                node = node[step]
            else:
                node = None
        elif isinstance(node, YamlSeq) and isinstance(step, int) and 0 <= step < len(node):
            item = node[step]
            label = item.get("id") if isinstance(item, YamlMap) else None
            shown += f"[{label}]" if isinstance(label, str) else f"[{step}]"
            loc = node.item_locs[step]
            node = item
        else:
            shown += f"[{step}]" if isinstance(step, int) else (f".{step}" if shown else step)
            node = None
    return loc, shown


def _child(node: Any, step: str | int) -> Any:
    """The value at one step of a path, or None when there is none."""
    if isinstance(node, YamlMap) and isinstance(step, str):
        return node.get(step)
    if isinstance(node, YamlSeq) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def key_location(root: Any, path: tuple[str | int, ...]) -> Location | None:
    """The location of the last key of ``path`` itself (for 'unknown field' errors)."""
    if not path or not isinstance(path[-1], str):
        return None
    parent = root
    for step in path[:-1]:
        parent = _child(parent, step)
        if parent is None:
            return None
    if isinstance(parent, YamlMap):
        return parent.key_locs.get(path[-1])
    return None
