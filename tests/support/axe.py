"""axe-core in the browser tests: installed on demand (devtools/axe, npm ci), injected by
Playwright, no serious or critical violation allowed.

The page's context must be opened with ``bypass_csp=True``: the pages allow only
``script-src 'self'`` and axe is injected by the test.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from workflow.web.dev_oidc import PROVIDER_FOLDER, ensure_installed

AXE_FOLDER = PROVIDER_FOLDER.parent / "axe"
AXE = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.2 A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def ensure_axe() -> None:
    """axe-core's pinned npm package in devtools/axe (``npm ci`` unless in place)."""
    ensure_installed(AXE_FOLDER)


def check_axe(page: Page, name: str) -> list[str]:
    """axe-core on the page as shown: fails on a serious or critical violation; the
    lesser findings in words (for printing)."""
    page.add_script_tag(path=str(AXE))
    found: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return {passes: result.passes.length, violations: result.violations.map(v => (
                {id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(' '))}))};
        }""",
        TAGS,
    )
    assert found["passes"] > 10, f"axe did not check {name}"  # it ran: contrast, labels...
    violations: list[dict[str, Any]] = found["violations"]
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not serious, f"axe on {name}: {serious}"
    return [f"{name}: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}" for v in violations]
