"""The municipality's word for the coordinator on the young person's pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.definitions.loader import load_definition
from workflow.web.role_words import coordinator_word, in_own_words

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


@pytest.mark.parametrize(
    ("said", "own"),
    [
        ("Min koordinator", "Min tovholder"),
        ("Koordinatoren læste forløbet", "Tovholderen læste forløbet"),
        ("din koordinator og din sagsbehandler", "din tovholder og din sagsbehandler"),
        (
            "Tak! Det er gemt, og din koordinator får besked.",
            "Tak! Det er gemt, og din tovholder får besked.",
        ),
        ("ungekoordinatoren", "ungekoordinatoren"),  # part of another word: left
    ],
)
def test_the_texts_word_is_said_in_the_municipalitys_word(said: str, own: str) -> None:
    assert in_own_words(said, "tovholder") == own


def test_a_word_ending_in_e_takes_n_in_its_definite_form() -> None:
    assert in_own_words("Koordinatoren", "støtte") == "Støtten"
    assert in_own_words("koordinatoren", "vejleder") == "vejlederen"


def test_the_word_comes_from_the_definition_in_danish_only() -> None:
    soroe = load_definition(DEFINITIONS / "soroe.yaml")
    base = load_definition(DEFINITIONS / "base.yaml")
    assert coordinator_word(soroe, "da") == "tovholder"
    assert coordinator_word(base, "da") == "ungekoordinator"
    assert coordinator_word(soroe, "en") is None  # the English texts keep "coordinator"
    assert coordinator_word(None, "da") is None
    assert in_own_words("Min koordinator", None) == "Min koordinator"
