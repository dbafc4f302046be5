"""``/api/docs`` in headless Chromium (Debian's, via Playwright): Swagger UI is served from
the package and runs under the app's own Content-Security-Policy (issue 17: the page was
blank, its assets from a CDN blocked by that policy)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.browser import FLAGS, ensure_chromium
from tests.support.services import free_port
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread

#: Collects the page's CSP violations from the moment it starts.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def site(sqlite_runtime: Runtime) -> Iterator[str]:
    port = free_port()
    server = serve_in_thread(create_app(sqlite_runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


def test_the_api_docs_show_the_operations_under_the_apps_csp(site: str, browser: Browser) -> None:
    page = browser.new_page()
    page.add_init_script(WATCH_CSP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(site) else outside.append(r.url))

    response = page.goto(f"{site}/api/docs")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")

    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/cases" in path for path in summaries), summaries
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert page.evaluate("window.cspViolations") == []
    assert errors == []
    assert outside == []  # nothing from a CDN


def test_the_swagger_ui_files_are_package_data() -> None:
    """The static files ship with the package (pyproject's package-data)."""
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["workflow"]
    package = Path("src/workflow")
    shipped = {p for pattern in patterns for p in package.glob(pattern)}  # setuptools' globs
    for name in (
        "web/static/api-docs.js",
        "web/static/swagger-ui/swagger-ui-bundle.js",
        "web/static/swagger-ui/swagger-ui.css",
        "web/static/swagger-ui/LICENSE",
    ):
        assert package / name in shipped, name
