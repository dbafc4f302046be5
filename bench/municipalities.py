"""The 98 Danish municipalities, as definitions for the national benchmark.

Each municipality gets a definition that ``extends: base``: the seven shipped municipal
files keep their own; every other municipality is a copy of one of them (in turn), with
its own id, name, municipality code and case prefix. Populations are rough (thousands,
for weighting the number of cases per municipality, nothing else).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

#: (code, name, population in thousands, roughly)
MUNICIPALITIES: tuple[tuple[str, str, int], ...] = (
    ("101", "København", 660),
    ("147", "Frederiksberg", 105),
    ("151", "Ballerup", 52),
    ("153", "Brøndby", 40),
    ("155", "Dragør", 15),
    ("157", "Gentofte", 75),
    ("159", "Gladsaxe", 70),
    ("161", "Glostrup", 24),
    ("163", "Herlev", 30),
    ("165", "Albertslund", 28),
    ("167", "Hvidovre", 54),
    ("169", "Høje-Taastrup", 58),
    ("173", "Lyngby-Taarbæk", 57),
    ("175", "Rødovre", 41),
    ("183", "Ishøj", 24),
    ("185", "Tårnby", 44),
    ("187", "Vallensbæk", 17),
    ("190", "Furesø", 42),
    ("201", "Allerød", 26),
    ("210", "Fredensborg", 41),
    ("217", "Helsingør", 64),
    ("219", "Hillerød", 52),
    ("223", "Hørsholm", 25),
    ("230", "Rudersdal", 57),
    ("240", "Egedal", 45),
    ("250", "Frederikssund", 46),
    ("253", "Greve", 51),
    ("259", "Køge", 63),
    ("260", "Halsnæs", 31),
    ("265", "Roskilde", 90),
    ("269", "Solrød", 24),
    ("270", "Gribskov", 41),
    ("306", "Odsherred", 33),
    ("316", "Holbæk", 73),
    ("320", "Faxe", 37),
    ("326", "Kalundborg", 49),
    ("329", "Ringsted", 36),
    ("330", "Slagelse", 80),
    ("336", "Stevns", 23),
    ("340", "Sorø", 30),
    ("350", "Lejre", 29),
    ("360", "Lolland", 40),
    ("370", "Næstved", 84),
    ("376", "Guldborgsund", 60),
    ("390", "Vordingborg", 45),
    ("400", "Bornholm", 39),
    ("410", "Middelfart", 39),
    ("420", "Assens", 41),
    ("430", "Faaborg-Midtfyn", 51),
    ("440", "Kerteminde", 24),
    ("450", "Nyborg", 32),
    ("461", "Odense", 207),
    ("479", "Svendborg", 59),
    ("480", "Nordfyns", 30),
    ("482", "Langeland", 12),
    ("492", "Ærø", 6),
    ("510", "Haderslev", 55),
    ("530", "Billund", 27),
    ("540", "Sønderborg", 74),
    ("550", "Tønder", 37),
    ("561", "Esbjerg", 116),
    ("563", "Fanø", 3),
    ("573", "Varde", 50),
    ("575", "Vejen", 43),
    ("580", "Aabenraa", 58),
    ("607", "Fredericia", 52),
    ("615", "Horsens", 98),
    ("621", "Kolding", 95),
    ("630", "Vejle", 121),
    ("657", "Herning", 90),
    ("661", "Holstebro", 59),
    ("665", "Lemvig", 19),
    ("671", "Struer", 21),
    ("706", "Syddjurs", 43),
    ("707", "Norddjurs", 37),
    ("710", "Favrskov", 50),
    ("727", "Odder", 23),
    ("730", "Randers", 99),
    ("740", "Silkeborg", 98),
    ("741", "Samsø", 4),
    ("746", "Skanderborg", 64),
    ("751", "Aarhus", 367),
    ("756", "Ikast-Brande", 42),
    ("760", "Ringkøbing-Skjern", 56),
    ("766", "Hedensted", 47),
    ("773", "Morsø", 20),
    ("779", "Skive", 46),
    ("787", "Thisted", 43),
    ("791", "Viborg", 98),
    ("810", "Brønderslev", 36),
    ("813", "Frederikshavn", 59),
    ("820", "Vesthimmerlands", 36),
    ("825", "Læsø", 2),
    ("840", "Rebild", 30),
    ("846", "Mariagerfjord", 42),
    ("849", "Jammerbugt", 38),
    ("851", "Aalborg", 222),
    ("860", "Hjørring", 64),
)

#: The shipped municipal definitions (their files are used as they are).
SHIPPED = {
    "101": "koebenhavn",
    "151": "ballerup",
    "265": "roskilde",
    "340": "soroe",
    "615": "horsens",
    "740": "silkeborg",
    "746": "skanderborg",
}
TEMPLATES = tuple(sorted(SHIPPED.values()))


@dataclass(frozen=True)
class Municipality:
    """One municipality's definition in the benchmark's definitions folder."""

    code: str
    name: str
    population: int
    definition: str  # the definition id (= file name)
    template: str  # the shipped definition it is a copy of (itself, if shipped)
    prefix: str  # case prefix


def _ascii(name: str) -> str:
    folded = name.lower()
    for danish, plain in (("æ", "ae"), ("ø", "oe"), ("å", "aa")):
        folded = folded.replace(danish, plain)
    return folded


def _prefix(name: str, taken: set[str]) -> str:
    letters = re.sub(r"[^A-Z]", "", _ascii(name).upper())
    candidates = [letters[:3]]
    candidates += [letters[0] + a + b for i, a in enumerate(letters[1:]) for b in letters[i + 2 :]]
    candidates += [letters[:4], letters[:5]]
    for candidate in candidates:
        if len(candidate) >= 2 and candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"no free case prefix for {name}")


def municipalities(definitions: Path) -> list[Municipality]:
    """All 98, with the prefixes the shipped files use kept as they are."""
    taken: set[str] = set()
    shipped_prefix: dict[str, str] = {}
    for code, ident in SHIPPED.items():
        text = (definitions / f"{ident}.yaml").read_text(encoding="utf-8")
        found = re.search(r"case_prefix: ([A-Z]+)", text)
        assert found, ident
        shipped_prefix[code] = found.group(1)
        taken.add(found.group(1))
    result = []
    for index, (code, name, population) in enumerate(MUNICIPALITIES):
        if code in SHIPPED:
            ident = SHIPPED[code]
            result.append(Municipality(code, name, population, ident, ident, shipped_prefix[code]))
            continue
        ident = re.sub(r"[^a-z0-9]+", "_", _ascii(name)).strip("_")
        template = TEMPLATES[index % len(TEMPLATES)]
        result.append(Municipality(code, name, population, ident, template, _prefix(name, taken)))
    assert len(result) == 98
    assert len({m.definition for m in result}) == 98
    return result


def sample(found: list[Municipality], count: int) -> list[Municipality]:
    """``count`` of the municipalities: every shipped definition, and the others spread
    evenly over the list (large and small alike), in the list's order."""
    shipped = [m for m in found if m.definition == m.template]
    others = [m for m in found if m.definition != m.template]
    wanted = max(0, count - len(shipped))
    step = len(others) / wanted if wanted else 0
    kept = {id(m) for m in shipped} | {id(others[int(i * step)]) for i in range(wanted)}
    return [m for m in found if id(m) in kept]


def write_definitions(source: Path, target: Path, count: int | None = None) -> list[Municipality]:
    """base.yaml, the shipped files, and a copy per other municipality, into ``target``
    (``count``: only that many municipalities, see :func:`sample`)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "base.yaml", target / "base.yaml")
    found = municipalities(source)
    if count is not None and count < len(found):
        found = sample(found, count)
    for m in found:
        text = (source / f"{m.template}.yaml").read_text(encoding="utf-8")
        if m.definition != m.template:
            text = re.sub(r"(?m)^id: .*$", f"id: {m.definition}", text, count=1)
            text = re.sub(
                r"(?m)^municipality: .*$",
                f'municipality: {{name: {m.name} Kommune, code: "{m.code}", '
                f'case_prefix: {m.prefix}, kle: "27.24.00"}}',
                text,
                count=1,
            )
            text = re.sub(
                r"(?m)^title: .*$", f"title: Ungeindsatsen – {m.name} Kommune", text, count=1
            )
        (target / f"{m.definition}.yaml").write_text(text, encoding="utf-8")
    return found
