"""The development OpenID Connect provider (npm's oidc-provider) for tests, and logging in.

``oidc_provider`` runs it on a free port with made-up people; ``log_in`` walks its
development login and consent pages with httpx, the way a browser would, and hands back
what the provider sends to the redirect URI (``code``, ``state``, ``iss``) without
needing a server there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.services import free_port
from workflow.web.dev_oidc import PROVIDER_FOLDER, ProviderInfo, ensure_installed, running_provider

CLIENT_ID = "kui-borger"
CLIENT_SECRET = "test-secret-0123456789"
# Nothing listens here: the tests read the code off the provider's last redirect.
REDIRECT_URI = "http://127.0.0.1:9/citizen/login/callback"

_FORM_ACTION = re.compile(r'<form[^>]*\baction="([^"]+)"', re.IGNORECASE)


@contextmanager
def oidc_provider(
    accounts: Mapping[str, Mapping[str, str]], *, id_token_ttl: int = 600
) -> Iterator[ProviderInfo]:
    """A provider with one client (``CLIENT_ID``, ``REDIRECT_URI``) and these people."""
    ensure_installed(PROVIDER_FOLDER)
    with running_provider(
        port=free_port(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        accounts=accounts,
        id_token_ttl=id_token_ttl,
    ) as provider:
        yield provider


def log_in(
    authorization_url: str, login: str, *, redirect_uri: str = REDIRECT_URI
) -> dict[str, str]:
    """Log in as ``login`` on the provider's development pages; the redirect's parameters.

    The login form posts ``prompt=login``, ``login`` and ``password`` (ignored); the
    consent form posts ``prompt=consent`` (its button says "Continue"). A fresh client
    per login, so no provider session from an earlier login is reused.
    """
    with httpx.Client(follow_redirects=False, timeout=10.0) as browser:
        answer = browser.get(authorization_url)
        for _ in range(12):
            if answer.is_redirect:
                target = urljoin(str(answer.url), answer.headers["location"])
                if target.startswith(redirect_uri):
                    query = parse_qs(urlsplit(target).query)
                    return {name: values[0] for name, values in query.items()}
                answer = browser.get(target)
                continue
            page = answer.text
            found = _FORM_ACTION.search(page)
            if answer.status_code != httpx.codes.OK or found is None:
                raise AssertionError(f"unexpected page {answer.status_code}: {page[:500]}")
            action = urljoin(str(answer.url), html.unescape(found.group(1)))
            if 'name="login"' in page:
                form = {"prompt": "login", "login": login, "password": "any"}
            elif 'value="consent"' in page:
                form = {"prompt": "consent"}
            else:
                raise AssertionError(f"neither the login nor the consent page: {page[:500]}")
            answer = browser.post(action, data=form)
        raise AssertionError("the provider never redirected back to the client")
