"""What every page route shares: the pages' refusals, safe redirects, form keys and refusals.

The logged-in user and checked form posts are dependencies (``workflow.web.dependencies``);
how each refusal is answered is in ``workflow.web.error_answers``.
"""

from __future__ import annotations

from workflow.engine.model import Rejection
from workflow.settings import Settings
from workflow.texts import text
from workflow.web.context import scoped_key
from workflow.web.forms import FormData
from workflow.web.identity import Authenticated


class LoginRequiredError(Exception):
    """The page needs a logged-in user."""


class PageNotFoundError(Exception):
    """A case, step or page that does not exist (or the user may not see)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfError(Exception):
    """A form post without the session's CSRF token."""


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies are marked Secure (the site is served over https)."""
    return settings.base_url.startswith("https://")


def form_key(auth: Authenticated, form: FormData) -> str | None:
    """The form's one-time key, scoped to the user: a resent form repeats nothing."""
    return scoped_key("web", auth.user, form.get("idempotency_key"))


def refusal(rejection: Rejection, lang: str) -> tuple[str, dict[str, str]]:
    """The message above a refused form, and the errors beside its fields."""
    errors = {e.name: e.text(lang) for e in rejection.field_errors}
    message = text("errors_heading", lang) if errors else rejection.text(lang)
    return message, errors
