"""Fixed texts of the pages are put in when a template is compiled, per language."""

from __future__ import annotations

from typing import Any

import pytest

from workflow.web.rendering import make_environment


def refusing_t(key: str, **_params: Any) -> str:
    raise AssertionError(f"t({key!r}) was called when the page was rendered")


@pytest.mark.parametrize(("lang", "words"), [("da", "Mine sager"), ("en", "My cases")])
def test_a_fixed_text_is_in_the_compiled_template_in_its_language(lang: str, words: str) -> None:
    page = make_environment(lang).from_string(
        '<h1>{{ t("caseload") }}</h1><a aria-label="{{ t(\'caseload\') }}">x</a>'
    )
    assert page.render(t=refusing_t) == f'<h1>{words}</h1><a aria-label="{words}">x</a>'


def test_a_fixed_text_is_escaped_once() -> None:
    page = make_environment("en").from_string('{{ t("no_such_key <b>") }}')
    assert page.render(t=refusing_t) == "no_such_key &lt;b&gt;"


def test_texts_with_parameters_or_computed_keys_stay_calls() -> None:
    calls: list[str] = []

    def t(key: str, **params: Any) -> str:
        calls.append(key)
        return key + "".join(f" {k}={v}" for k, v in sorted(params.items()))

    page = make_environment("da").from_string(
        '{{ t("count_cases", shown=1, total=2) }}|{{ t("relation_" ~ r) }}|{{ x.t("caseload") }}'
    )

    class Other:
        def t(self, key: str) -> str:
            return f"other {key}"

    assert page.render(t=t, r="coordinator", x=Other()) == (
        "count_cases shown=1 total=2|relation_coordinator|other caseload"
    )
    assert calls == ["count_cases", "relation_coordinator"]
