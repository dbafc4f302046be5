"""What every page route shares: the logged-in user, checked form posts, refusals."""

from __future__ import annotations

from starlette.requests import Request

from workflow.engine import Rejection
from workflow.privacy.accounts import same_token
from workflow.texts import text
from workflow.web.context import context_of as web
from workflow.web.context import scoped_key
from workflow.web.forms import FormData
from workflow.web.identity import Authenticated

__all__ = [
    "CsrfError",
    "LoginRequiredError",
    "PageNotFoundError",
    "form_key",
    "posted",
    "refusal",
    "safe_next",
    "secure_cookies",
    "signed_in",
    "web",
]


class LoginRequiredError(Exception):
    """The page needs a logged-in user."""


class PageNotFoundError(Exception):
    """A case, step or page that does not exist (or the user may not see)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfError(Exception):
    """A form post without the session's CSRF token."""


def signed_in(request: Request) -> Authenticated:
    """The logged-in user of a page request, else a redirect to the login page."""
    auth: Authenticated | None = request.state.auth
    if auth is None:
        raise LoginRequiredError
    return auth


async def posted(request: Request, auth: Authenticated) -> FormData:
    """A posted form whose CSRF token matches the session's."""
    raw = await request.form()
    form = FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])
    if auth.needs_csrf and not same_token(form.get("csrf_token"), auth.csrf_token):
        raise CsrfError
    return form


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def secure_cookies(request: Request) -> bool:
    return web(request).settings.base_url.startswith("https://")


# --- log in and out ---------------------------------------------------------------


def form_key(auth: Authenticated, form: FormData) -> str | None:
    """The form's one-time key, scoped to the user: a resent form repeats nothing."""
    return scoped_key("web", auth.user, form.get("idempotency_key"))


def refusal(rejection: Rejection, lang: str) -> tuple[str, dict[str, str]]:
    """The message above a refused form, and the errors beside its fields."""
    errors = {e.name: e.text(lang) for e in rejection.field_errors}
    message = text("errors_heading", lang) if errors else rejection.text(lang)
    return message, errors
