"""A refusal's message with the definition's fixed values written in."""

from __future__ import annotations

from workflow.definitions.loader import load_definition
from workflow.definitions.message_values import filled, fixed_values


def test_numbers_are_written_as_each_language_writes_them() -> None:
    ballerup = load_definition("definitions/ballerup.yaml")
    words = {
        "da": "op til {{ params.team_grant_limit_dkk }} kr.",
        "en": "up to DKK {{params.team_grant_limit_dkk}}",
    }
    assert filled(words, ballerup) == {"da": "op til 15.000 kr.", "en": "up to DKK 15,000"}


def test_a_municipality_that_extends_the_base_is_told_its_own_ages() -> None:
    words = {"da": "mellem {{ target_ages.min }} og {{ target_ages.max }} år"}
    assert filled(words, load_definition("definitions/silkeborg.yaml")) == {
        "da": "mellem 16 og 25 år"
    }
    assert filled(words, load_definition("definitions/soroe.yaml")) == {"da": "mellem 14 og 29 år"}


def test_only_fixed_values_may_be_named_and_text_without_them_is_kept() -> None:
    koebenhavn = load_definition("definitions/koebenhavn.yaml")
    assert set(fixed_values(koebenhavn)) == {
        "target_ages.min",
        "target_ages.max",
        "params.budget_dkk",
    }
    plain = {"da": "Pengene bruges kun efter den unges egen beslutning."}
    assert filled(plain, koebenhavn) == plain
    # A name no definition value has (refused when the definition loads) stays as written:
    assert filled({"da": "{{ case.data.budget_remaining }} kr."}, koebenhavn) == {
        "da": "{{ case.data.budget_remaining }} kr."
    }
